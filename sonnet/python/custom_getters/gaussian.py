"""A diagonal Gaussian with the slice of the tensorflow-probability API that
Bayes-by-Backprop needs, so that it works without tensorflow-probability.

tensorflow-probability needs tf_keras, which installs the full `tensorflow`
beside `tensorflow-cpu`, so it cannot be a requirement of this package. When
the user has it, its distributions are accepted too (see bayes_by_backprop).
"""

import math

import tensorflow.compat.v1 as tf


class ReparameterizationType:
  """Names how samples depend on parameters (as `tfp.distributions` does)."""

  def __init__(self, rep_type):
    self._rep_type = rep_type

  def __repr__(self):
    return "<Reparameterization Type: {}>".format(self._rep_type)

  def __eq__(self, other):
    # Equal to tensorflow-probability's constant of the same name, too.
    return str(getattr(other, "_rep_type", None)) == self._rep_type

  def __hash__(self):
    return hash(self._rep_type)


FULLY_REPARAMETERIZED = ReparameterizationType("FULLY_REPARAMETERIZED")
NOT_REPARAMETERIZED = ReparameterizationType("NOT_REPARAMETERIZED")


class Normal:
  """Elementwise normal distribution N(loc, scale**2), reparameterized."""

  reparameterization_type = FULLY_REPARAMETERIZED

  def __init__(self, loc, scale, name="Normal"):
    with tf.name_scope(name) as scope:
      self._name = scope
      self._loc = tf.identity(loc, name="loc")
      self._scale = tf.identity(scale, name="scale")
    self._loc.shape.assert_is_compatible_with(self._scale.shape)

  @classmethod
  def param_static_shapes(cls, sample_shape):
    """Shapes of `loc` and `scale` giving samples of shape `sample_shape`."""
    shape = tf.TensorShape(sample_shape)
    return {"loc": shape, "scale": shape}

  @property
  def name(self):
    return self._name

  @property
  def loc(self):
    return self._loc

  @property
  def scale(self):
    return self._scale

  @property
  def dtype(self):
    return self._loc.dtype

  def _batch_shape(self):
    return tf.broadcast_dynamic_shape(tf.shape(self._loc), tf.shape(self._scale))

  def sample(self, sample_shape=(), seed=None, name="sample"):
    with tf.name_scope(self._name), tf.name_scope(name):
      shape = tf.concat([tf.cast(sample_shape, tf.int32), self._batch_shape()],
                        axis=0)
      noise = tf.random_normal(shape, dtype=self.dtype, seed=seed)
      return self._loc + self._scale * noise

  def mean(self, name="mean"):
    with tf.name_scope(self._name), tf.name_scope(name):
      return self._loc * tf.ones_like(self._scale)

  def stddev(self, name="stddev"):
    with tf.name_scope(self._name), tf.name_scope(name):
      return self._scale * tf.ones_like(self._loc)

  def variance(self, name="variance"):
    return tf.square(self.stddev(name=name))

  def log_prob(self, value, name="log_prob"):
    with tf.name_scope(self._name), tf.name_scope(name):
      z = (value - self._loc) / self._scale
      return (-0.5 * tf.square(z) - tf.log(self._scale) -
              0.5 * math.log(2. * math.pi))

  def entropy(self, name="entropy"):
    with tf.name_scope(self._name), tf.name_scope(name):
      return (0.5 * math.log(2. * math.pi * math.e) + tf.log(self._scale) *
              tf.ones_like(self._loc))


def kl_divergence(p, q, name="kl_divergence"):
  """Elementwise KL(p || q) of two `Normal`s, closed form.

  For other distributions this defers to tensorflow-probability.
  """
  if isinstance(p, Normal) and isinstance(q, Normal):
    with tf.name_scope(name):
      ratio = tf.square(p.scale / q.scale)
      diff = tf.square((p.loc - q.loc) / q.scale)
      return 0.5 * (ratio + diff - 1. - tf.log(ratio))
  try:
    import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise TypeError(
        "No built-in KL divergence between {} and {}; install "
        "tensorflow-probability for other distributions.".format(
            type(p).__name__, type(q).__name__))
  return tfp.distributions.kl_divergence(p, q, name=name)
