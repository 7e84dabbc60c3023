"""Layer normalization (Ba et al., 2016), optionally over chosen axes."""

import collections.abc

from sonnet.python.modules import base
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


def create_beta_initializer():
  """Default initializer of the offset `beta`: zeros."""
  return tf.zeros_initializer()


def create_gamma_initializer():
  """Default initializer of the scale `gamma`: ones."""
  return tf.ones_initializer()


class LayerNorm(base.AbstractModule):
  """Normalizes each example over `axis` (default: all non-batch axes).

  `y = gamma * (x - mean) / sqrt(var + eps) + beta`, where mean and variance
  are taken per example over `axis` and `gamma`, `beta` (shape `[C]`, the last
  dimension) are learnt. With `axis=[1, 2]` on NHWC inputs this is instance
  normalization.
  """

  GAMMA = "gamma"
  BETA = "beta"
  POSSIBLE_INITIALIZER_KEYS = {GAMMA, BETA}

  def __init__(self, axis=None, offset=True, scale=True, eps=1e-5,
               initializers=None, partitioners=None, regularizers=None,
               name="layer_norm"):
    """Constructs a LayerNorm module.

    Args:
      axis: int or iterable of ints, the axes to normalize over; None means
        every axis but the first.
      offset: whether to learn and add the offset `beta`.
      scale: whether to learn and apply the scale `gamma`.
      eps: small value added to the variance.
      initializers: optional dict with keys "gamma" and/or "beta".
      partitioners: optional dict with keys "gamma" and/or "beta".
      regularizers: optional dict with keys "gamma" and/or "beta".
      name: module name.

    Raises:
      ValueError: if `axis` is not an int or an iterable of ints.
      KeyError: unknown key in a dict.
      TypeError: a non-callable value in a dict.
    """
    super().__init__(name=name)
    if axis is not None:
      if isinstance(axis, int) and not isinstance(axis, bool):
        axis = [axis]
      def int_not_bool(value):
        return isinstance(value, int) and not isinstance(value, bool)
      if (not isinstance(axis, collections.abc.Iterable) or
          not all(int_not_bool(ax) for ax in axis)):
        raise ValueError("axis should be an int or an iterable of ints")
      axis = list(axis)
    self._axis = axis
    self._offset = offset
    self._scale = scale
    self._eps = eps
    self._gamma = None
    self._beta = None
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _build(self, inputs):
    """Normalizes `inputs`.

    Args:
      inputs: tensor of rank >= 2 with a known last dimension. float16 and
        bfloat16 inputs are normalized in float32 (the variables are float32)
        and the result cast back.

    Returns:
      Tensor of the shape and dtype of `inputs`.

    Raises:
      NotSupportedError: if the rank is below 2 (or unknown).
      IncompatibleShapeError: if the last dimension is unknown.
    """
    inputs = tf.convert_to_tensor(inputs)
    rank = inputs.get_shape().ndims
    if rank is None or rank < 2:
      raise base.NotSupportedError(
          "Layer normalization expects inputs of at least rank 2. Got inputs "
          "of rank {}.".format("unknown" if rank is None else rank))
    axis = list(range(1, rank)) if self._axis is None else self._axis

    original_dtype = inputs.dtype
    if original_dtype in (tf.float16, tf.bfloat16):
      inputs = tf.cast(inputs, tf.float32)

    params_shape = inputs.get_shape()[-1:]
    if not params_shape.is_fully_defined():
      raise base.IncompatibleShapeError(
          "{}: the last dimension of the input must be known, got shape {}."
          .format(self.scope_name, inputs.get_shape()))

    if self._scale:
      if self.GAMMA not in self._initializers:
        self._initializers[self.GAMMA] = create_gamma_initializer()
      self._gamma = tf.get_variable(
          self.GAMMA,
          shape=params_shape,
          dtype=inputs.dtype,
          initializer=self._initializers[self.GAMMA],
          partitioner=self._partitioners.get(self.GAMMA),
          regularizer=self._regularizers.get(self.GAMMA))
    else:
      self._gamma = None

    if self._offset:
      if self.BETA not in self._initializers:
        self._initializers[self.BETA] = create_beta_initializer()
      self._beta = tf.get_variable(
          self.BETA,
          shape=params_shape,
          dtype=inputs.dtype,
          initializer=self._initializers[self.BETA],
          partitioner=self._partitioners.get(self.BETA),
          regularizer=self._regularizers.get(self.BETA))
    else:
      self._beta = None

    mean, var = tf.nn.moments(inputs, axis, keep_dims=True)
    normalized = tf.nn.batch_normalization(inputs, mean, var, self._beta,
                                           self._gamma, self._eps)
    if normalized.dtype != original_dtype:
      normalized = tf.cast(normalized, original_dtype)
    return normalized

  @property
  def initializers(self):
    return self._initializers

  @property
  def partitioners(self):
    return self._partitioners

  @property
  def regularizers(self):
    return self._regularizers

  @property
  def beta(self):
    """The offset variable, or None without offset (NotConnectedError before)."""
    self._ensure_is_connected()
    return self._beta

  @property
  def gamma(self):
    """The scale variable, or None without scale (NotConnectedError before)."""
    self._ensure_is_connected()
    return self._gamma
