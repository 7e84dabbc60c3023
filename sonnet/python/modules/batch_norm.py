"""Batch normalization with moving statistics: `snt.BatchNorm`.

In training the input is normalized with the statistics of the batch and the
moving averages of those statistics are updated; at test time either the batch
statistics (`test_local_stats=True`) or the moving averages are used.
"""

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import smart_cond as smart_module
from tensorflow.python.framework import tensor_util
from tensorflow.python.training import moving_averages


def create_beta_initializer():
  """Returns the default initializer for the offset `beta` (zeros)."""
  return tf.zeros_initializer()


def create_gamma_initializer():
  """Returns the default initializer for the scale `gamma` (ones)."""
  return tf.ones_initializer()


def create_mean_initializer():
  """Returns the default initializer for `moving_mean` (zeros)."""
  return tf.zeros_initializer()


def create_variance_initializer():
  """Returns the default initializer for `moving_variance` (ones)."""
  return tf.ones_initializer()


def _constant_value(pred, arg_name="is_training"):
  """Static value of a boolean flag: True/False, or None if only known at run time.

  Args:
    pred: a Python or NumPy bool (or 0/1), a boolean `tf.Tensor` or a
      `tf.Variable`.
    arg_name: name used in the error message.

  Raises:
    TypeError: if `pred` is none of those.
  """
  if isinstance(pred, (bool, np.bool_)):
    return bool(pred)
  if isinstance(pred, (int, np.integer)) and pred in (0, 1):
    return bool(pred)
  if isinstance(pred, tf.Variable):
    return None
  if tf.is_tensor(pred):
    value = tensor_util.constant_value(pred)
    return None if value is None else bool(value)
  raise TypeError("`{}` must be a Python bool or a boolean tensor, got {!r}."
                  .format(arg_name, pred))


def _smart_cond(pred, true_fn, false_fn):
  """`true_fn()` or `false_fn()` if `pred` is static, else a `tf.cond`."""
  value = _constant_value(pred)
  if value is not None:
    return true_fn() if value else false_fn()
  return smart_module.smart_cond(tf.convert_to_tensor(pred), true_fn, false_fn)


def _use_batch_stats_flag(is_training, test_local_stats):
  """`is_training or test_local_stats`, static where possible."""
  training_value = _constant_value(is_training, "is_training")
  local_value = _constant_value(test_local_stats, "test_local_stats")
  if training_value or local_value:
    return True
  if training_value is False and local_value is False:
    return False
  if training_value is False:
    return test_local_stats
  if local_value is False:
    return is_training
  return tf.logical_or(tf.convert_to_tensor(is_training),
                       tf.convert_to_tensor(test_local_stats))


class BatchNorm(base.AbstractModule):
  """Batch normalization over the given axes (all but the last by default).

  `out = gamma * (x - mean) / sqrt(variance + eps) + beta`, with `mean` and
  `variance` taken over `axis`. The statistics come from the batch when
  `is_training or test_local_stats`, otherwise from the moving averages
  `moving_mean` / `moving_variance` (non-trainable, in the
  `MOVING_AVERAGE_VARIABLES` and `GLOBAL_VARIABLES` collections). When
  `is_training` may be True, ops updating the moving averages
  (`m <- m - (1 - decay_rate) * (m - value)`) are added to
  `update_ops_collection` (run them, e.g. as control dependencies of the
  train op), or, if that is None/empty, made control dependencies of the
  output.

  Variables (shape: the input shape with reduced axes set to 1):
  `moving_mean`, `moving_variance`, and `beta` if `offset`, `gamma` if
  `scale` (both always exist with `fused=True`, trainable only if asked for).
  """

  GAMMA = "gamma"
  BETA = "beta"
  MOVING_MEAN = "moving_mean"
  MOVING_VARIANCE = "moving_variance"
  POSSIBLE_INITIALIZER_KEYS = {GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE}
  POSSIBLE_PARTITIONER_KEYS = {GAMMA, BETA}
  POSSIBLE_REGULARIZER_KEYS = {GAMMA, BETA}

  def __init__(self, axis=None, offset=True, scale=False, decay_rate=0.999,
               eps=1e-3, initializers=None, partitioners=None,
               regularizers=None, update_ops_collection="update_ops",
               fused=False, name="batch_norm"):
    """Constructs a BatchNorm module.

    Args:
      axis: sequence of axes to normalize over; None means all but the last.
      offset: whether to add a learned offset `beta`.
      scale: whether to multiply by a learned scale `gamma`.
      decay_rate: decay of the moving averages.
      eps: added to the variance for numerical stability.
      initializers: optional dict for keys "gamma", "beta", "moving_mean",
        "moving_variance".
      partitioners: optional dict for keys "gamma", "beta".
      regularizers: optional dict for keys "gamma", "beta".
      update_ops_collection: collection receiving the moving-average update
        ops; None or "" makes them control dependencies of the output.
      fused: use `tf.nn.fused_batch_norm` (4-D inputs, NHWC or NCHW axes).
      name: module name.

    Raises:
      KeyError: for unknown keys in the dicts.
      TypeError: for non-callable initializers/partitioners/regularizers.
    """
    super(BatchNorm, self).__init__(name=name)
    self._axis = axis
    self._offset = offset
    self._scale = scale
    self._decay_rate = decay_rate
    self._eps = eps
    self._update_ops_collection = update_ops_collection
    self._fused = fused
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_PARTITIONER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_REGULARIZER_KEYS)

  def _build_statistics(self, input_batch, axis, use_batch_stats, stat_dtype):
    """Creates the moving statistics; returns the statistics to normalize with."""
    if self.MOVING_MEAN not in self._initializers:
      self._initializers[self.MOVING_MEAN] = create_mean_initializer()
    self._moving_mean = tf.get_variable(
        "moving_mean",
        dtype=stat_dtype,
        shape=self._mean_shape,
        collections=[tf.GraphKeys.MOVING_AVERAGE_VARIABLES,
                     tf.GraphKeys.GLOBAL_VARIABLES],
        initializer=self._initializers[self.MOVING_MEAN],
        trainable=False)

    if self.MOVING_VARIANCE not in self._initializers:
      self._initializers[self.MOVING_VARIANCE] = create_variance_initializer()
    self._moving_variance = tf.get_variable(
        "moving_variance",
        dtype=stat_dtype,
        shape=self._mean_shape,
        collections=[tf.GraphKeys.MOVING_AVERAGE_VARIABLES,
                     tf.GraphKeys.GLOBAL_VARIABLES],
        initializer=self._initializers[self.MOVING_VARIANCE],
        trainable=False)

    def build_batch_stats():
      return tf.nn.moments(input_batch, axis, keep_dims=True,
                           name="normalize_moments")

    def build_moving_stats():
      # tf.nn.batch_normalization needs the statistics in the input's dtype.
      input_dtype = input_batch.dtype.base_dtype
      if stat_dtype == input_dtype:
        return (tf.identity(self._moving_mean),
                tf.identity(self._moving_variance))
      return (tf.cast(self._moving_mean, input_dtype),
              tf.cast(self._moving_variance, input_dtype))

    return _smart_cond(use_batch_stats, build_batch_stats, build_moving_stats)

  def _build_update_ops(self, mean, variance, is_training):
    """Update ops of the moving averages, or None if `is_training` is False."""

    def build_update_ops():
      update_mean_op = moving_averages.assign_moving_average(
          variable=self._moving_mean,
          value=mean,
          decay=self._decay_rate,
          zero_debias=False,
          name="update_moving_mean").op
      update_variance_op = moving_averages.assign_moving_average(
          variable=self._moving_variance,
          value=variance,
          decay=self._decay_rate,
          zero_debias=False,
          name="update_moving_variance").op
      return update_mean_op, update_variance_op

    def build_no_ops():
      return (tf.no_op(), tf.no_op())

    is_training_const = _constant_value(is_training)
    if is_training_const is None or is_training_const:
      return _smart_cond(is_training, build_update_ops, build_no_ops)
    return None

  def _infer_fused_data_format(self, input_batch):
    """"NHWC" or "NCHW" from the normalization axes, for the fused op."""
    input_shape_len = input_batch.get_shape().ndims
    if input_shape_len != 4:
      raise NotImplementedError(
          "fused batch norm supports only input with 4 dimensions, it "
          "received input of dimensionality {:d}".format(input_shape_len))
    axis = tuple(range(input_shape_len)[:-1] if self._axis is None
                 else self._axis)
    if axis == (0, 1, 2):
      return "NHWC"
    if axis == (0, 2, 3):
      return "NCHW"
    raise ValueError("Invalid axis option {}. This does not correspond to "
                     "either the NHWC format (0, 1, 2) or the NCHW "
                     "(0, 2, 3).".format(axis))

  def _fused_batch_norm_op(self, input_batch, mean, variance, use_batch_stats):
    """Normalizes with `tf.nn.fused_batch_norm`; returns (out, mean, variance)."""
    common_args = {
        "scale": tf.reshape(self._gamma, shape=(-1,)),
        "offset": tf.reshape(self._beta, shape=(-1,)),
        "epsilon": self._eps,
        "data_format": self._infer_fused_data_format(input_batch),
        "name": "batch_norm",
    }

    def use_batch_stats_fused_batch_norm():
      return tf.nn.fused_batch_norm(input_batch, mean=None, variance=None,
                                    is_training=True, **common_args)

    def moving_average_fused_batch_norm():
      return tf.nn.fused_batch_norm(input_batch,
                                    mean=tf.reshape(mean, shape=(-1,)),
                                    variance=tf.reshape(variance, shape=(-1,)),
                                    is_training=False, **common_args)

    out, mean, variance = _smart_cond(use_batch_stats,
                                     use_batch_stats_fused_batch_norm,
                                     moving_average_fused_batch_norm)
    mean = tf.reshape(mean, self._mean_shape)
    variance = tf.reshape(variance, self._mean_shape)
    return out, mean, variance

  def _batch_norm_op(self, input_batch, mean, variance, use_batch_stats,
                     stat_dtype):
    """Normalizes; returns (out, mean, variance), the latter in `stat_dtype`."""
    if self._fused:
      # The moving statistics go in directly: they already are float32 for
      # float16 inputs, which is what the fused op wants.
      return self._fused_batch_norm_op(input_batch, self._moving_mean,
                                       self._moving_variance, use_batch_stats)
    out = tf.nn.batch_normalization(input_batch, mean, variance, self._beta,
                                    self._gamma, self._eps, name="batch_norm")
    if input_batch.dtype.base_dtype != stat_dtype:
      mean = tf.cast(mean, stat_dtype)
      variance = tf.cast(variance, stat_dtype)
    return out, mean, variance

  def _build_scale_offset(self, dtype):
    """Creates `beta` and `gamma` as configured (always when fused)."""
    # The fused op takes float32 scale/offset for float16 inputs.
    if self._fused and dtype == tf.float16:
      dtype = tf.float32

    self._beta = None
    if self._offset or self._fused:
      if self.BETA not in self._initializers:
        self._initializers[self.BETA] = create_beta_initializer()
      self._beta = tf.get_variable(
          self.BETA,
          dtype=dtype,
          shape=self._mean_shape,
          initializer=self._initializers[self.BETA],
          partitioner=self._partitioners.get(self.BETA, None),
          regularizer=self._regularizers.get(self.BETA, None),
          trainable=self._offset)

    self._gamma = None
    if self._scale or self._fused:
      if self.GAMMA not in self._initializers:
        self._initializers[self.GAMMA] = create_gamma_initializer()
      self._gamma = tf.get_variable(
          self.GAMMA,
          dtype=dtype,
          shape=self._mean_shape,
          initializer=self._initializers[self.GAMMA],
          partitioner=self._partitioners.get(self.GAMMA, None),
          regularizer=self._regularizers.get(self.GAMMA, None),
          trainable=self._scale)

  def _build(self, input_batch, is_training, test_local_stats=True):
    """Normalizes `input_batch`.

    Args:
      input_batch: float tensor of known rank; the dimensions that are not
        reduced must be known.
      is_training: Python bool or boolean tensor; True uses the batch
        statistics and updates the moving averages.
      test_local_stats: Python bool or boolean tensor; when not training,
        True uses the batch statistics, False the moving averages.

    Returns:
      Tensor of the shape and dtype of `input_batch`.

    Raises:
      snt.IncompatibleShapeError: if `axis` does not fit the input's rank.
      snt.UnderspecifiedError: if the rank or a non-reduced dimension is
        unknown.
      snt.NotSupportedError: for fused batch norm on bfloat16 (or float64).
      NotImplementedError: for fused batch norm on inputs that are not 4-D.
      ValueError: for fused batch norm with axes other than NHWC/NCHW ones.
    """
    input_batch = tf.convert_to_tensor(input_batch)
    input_shape = input_batch.get_shape()
    if input_shape.ndims is None:
      raise base.UnderspecifiedError(
          "{}: the rank of the input must be known.".format(self.scope_name))
    rank = input_shape.ndims

    if self._axis is not None:
      if len(self._axis) > rank:
        raise base.IncompatibleShapeError(
            "Too many indices specified in axis: len({}) > len({}).".format(
                self._axis, input_shape))
      if max(self._axis) >= rank:
        raise base.IncompatibleShapeError(
            "One or more index in axis is too large for input shape: "
            "{} >= {:d}.".format(self._axis, rank))
      if min(self._axis) < 0:
        raise base.IncompatibleShapeError(
            "Indices in axis must be non-negative: {} < 0.".format(
                self._axis))
      axis = tuple(self._axis)
    else:
      axis = tuple(range(rank)[:-1])

    dtype = input_batch.dtype.base_dtype
    if self._fused:
      if dtype == tf.bfloat16:
        raise base.NotSupportedError(
            "Fused batch norm does not support tf.bfloat16.")
      if dtype not in (tf.float16, tf.float32):
        raise base.NotSupportedError(
            "Fused batch norm supports float16 and float32 inputs only, got "
            "{}; use fused=False.".format(dtype.name))
      self._infer_fused_data_format(input_batch)  # Fail before any variable.
    # Moving averages are kept in at least float32 precision.
    stat_dtype = tf.float32 if dtype in (tf.float16, tf.bfloat16) else dtype

    self._mean_shape = input_shape.as_list()
    for index in axis:
      self._mean_shape[index] = 1
    if None in self._mean_shape:
      raise base.UnderspecifiedError(
          "{}: the input dimensions that are not normalized over must be "
          "known, got input shape {} with axis {}.".format(
              self.scope_name, input_shape, axis))

    use_batch_stats = _use_batch_stats_flag(is_training, test_local_stats)
    mean, variance = self._build_statistics(input_batch, axis,
                                            use_batch_stats, stat_dtype)
    self._build_scale_offset(dtype)
    out, mean, variance = self._batch_norm_op(input_batch, mean, variance,
                                              use_batch_stats, stat_dtype)
    update_ops = self._build_update_ops(mean, variance, is_training)

    if update_ops:
      if self._update_ops_collection:
        for update_op in update_ops:
          tf.add_to_collection(self._update_ops_collection, update_op)
      else:
        with tf.control_dependencies(update_ops):
          out = tf.identity(out)
    return out

  @property
  def initializers(self):
    """The initializers dict (defaults filled in once connected)."""
    return self._initializers

  @property
  def partitioners(self):
    """The partitioners dict."""
    return self._partitioners

  @property
  def regularizers(self):
    """The regularizers dict."""
    return self._regularizers

  @property
  def moving_mean(self):
    """The `moving_mean` variable."""
    self._ensure_is_connected()
    return self._moving_mean

  @property
  def moving_variance(self):
    """The `moving_variance` variable."""
    self._ensure_is_connected()
    return self._moving_variance

  @property
  def beta(self):
    """The offset variable; `snt.Error` if the module has none."""
    self._ensure_is_connected()
    if self._beta is None:
      raise base.Error(
          "Batch normalization doesn't have an offset, so no beta")
    return self._beta

  @property
  def gamma(self):
    """The scale variable; `snt.Error` if the module has none."""
    self._ensure_is_connected()
    if self._gamma is None:
      raise base.Error(
          "Batch normalization doesn't have a scale, so no gamma")
    return self._gamma
