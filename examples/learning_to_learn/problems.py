"""Optimizee problems for learning to learn.

A problem owns its data as (non-trainable) variables and computes a scalar
loss from a list of parameter tensors, so the optimizer can thread parameters
through an unrolled graph. `sample(rng)` draws a fresh instance as NumPy
arrays: `(data, initial_params)`, loaded with `load(session, data)`.
"""

import numpy as np
import tensorflow.compat.v1 as tf


class Problem(object):
  """Base class: `param_shapes`, `loss(params)`, `sample(rng)`, `load(...)`."""

  param_shapes = ()

  def __init__(self):
    self._data_vars = []

  def _data_variable(self, name, shape, dtype=tf.float32):
    var = tf.get_variable(name, shape=shape, dtype=dtype, trainable=False,
                          initializer=tf.zeros_initializer())
    self._data_vars.append(var)
    return var

  def load(self, session, data):
    """Assigns the NumPy arrays `data` (in `_data_vars` order)."""
    for var, value in zip(self._data_vars, data):
      var.load(value, session)

  def loss(self, params):
    raise NotImplementedError

  def sample(self, rng):
    raise NotImplementedError


class Quadratic(Problem):
  """`batch_size` functions f(theta) = ||W theta - y||^2, mean over the batch.

  theta has `num_dims` entries; W, y and the initial theta are drawn from a
  standard normal for each function.
  """

  def __init__(self, batch_size=128, num_dims=10, name='quadratic'):
    super(Quadratic, self).__init__()
    self._batch_size = batch_size
    self._num_dims = num_dims
    self.param_shapes = ([batch_size, num_dims],)
    with tf.variable_scope(name):
      self._w = self._data_variable('w', [batch_size, num_dims, num_dims])
      self._y = self._data_variable('y', [batch_size, num_dims])

  def loss(self, params):
    theta, = params
    product = tf.squeeze(tf.matmul(self._w, tf.expand_dims(theta, -1)), -1)
    return tf.reduce_mean(tf.reduce_sum(tf.square(product - self._y), 1))

  def sample(self, rng):
    b, d = self._batch_size, self._num_dims
    data = [rng.randn(b, d, d).astype(np.float32),
            rng.randn(b, d).astype(np.float32)]
    return data, [rng.randn(b, d).astype(np.float32)]


class Simple(Problem):
  """The one-variable quadratic x^2 (a sanity check)."""

  param_shapes = ([],)

  def loss(self, params):
    x, = params
    return tf.square(x)

  def sample(self, rng):
    return [], [np.float32(rng.randn())]


def load_digits():
  """scikit-learn's bundled 8x8 digits as (images [n, 64] in [0, 1], labels).

  scikit-learn is an optional extra (`pip install scikit-learn`); a clear
  ImportError says so when it is missing.
  """
  try:
    from sklearn import datasets  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        'The digits problem needs scikit-learn, an optional extra: '
        '`pip install scikit-learn`.') from e
  digits = datasets.load_digits()
  return (digits.data.astype(np.float32) / 16.,
          digits.target.astype(np.int32))


class DigitsMLP(Problem):
  """An MLP (one hidden layer of sigmoid units) classifying the 8x8 digits.

  The loss is the softmax cross-entropy of a random minibatch drawn afresh at
  every evaluation, as in the paper's MNIST problem.
  """

  def __init__(self, hidden=20, batch_size=128, name='digits_mlp'):
    super(DigitsMLP, self).__init__()
    images, labels = load_digits()
    self._images = tf.constant(images)
    self._labels = tf.constant(labels)
    self._batch_size = batch_size
    self.param_shapes = ([64, hidden], [hidden], [hidden, 10], [10])
    del name

  def loss(self, params):
    w1, b1, w2, b2 = params
    idx = tf.random_uniform([self._batch_size], 0,
                            tf.shape(self._labels)[0], dtype=tf.int32)
    x = tf.gather(self._images, idx)
    labels = tf.gather(self._labels, idx)
    logits = tf.matmul(tf.sigmoid(tf.matmul(x, w1) + b1), w2) + b2
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))

  def sample(self, rng):
    return [], [(0.01 * rng.randn(*s)).astype(np.float32)
                for s in self.param_shapes]


def make(name, **kwargs):
  """Problem by name: 'quadratic', 'simple' or 'digits'."""
  problems = {'quadratic': Quadratic, 'simple': Simple, 'digits': DigitsMLP}
  if name not in problems:
    raise ValueError('Unknown problem {!r}; choose from {}.'.format(
        name, sorted(problems)))
  return problems[name](**kwargs)
