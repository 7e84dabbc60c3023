"""Batch normalization over all axes but the channel axis: `snt.BatchNormV2`.

Unlike `snt.BatchNorm`, the axes follow from a data format ("NHWC", "NCHW",
...), the variables are 1-D (`[num_channels]`), the fused kernel is used by
default for every rank, moving averages are used at test time by default and
update ops are control dependencies of the output by default.
"""

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import util
# The initializer helpers are the same as BatchNorm's (also public here).
from sonnet.python.modules.batch_norm import _constant_value
from sonnet.python.modules.batch_norm import create_beta_initializer
from sonnet.python.modules.batch_norm import create_gamma_initializer
from sonnet.python.modules.batch_norm import create_mean_initializer
from sonnet.python.modules.batch_norm import create_variance_initializer
from sonnet.python.modules.batch_norm import _smart_cond
from sonnet.python.modules.batch_norm import _use_batch_stats_flag
import tensorflow.compat.v1 as tf
from tensorflow.python.training import moving_averages

__all__ = ["BatchNormV2", "create_beta_initializer", "create_gamma_initializer",
           "create_mean_initializer", "create_variance_initializer"]

_DEFAULT_DATA_FORMATS = {2: "NC", 3: "NWC", 4: "NHWC", 5: "NDHWC"}


class BatchNormV2(base.AbstractModule):
  """Batch normalization over every axis except the channel axis.

  `out = gamma * (x - mean) / sqrt(variance + eps) + beta` per channel. The
  statistics come from the batch when `is_training or test_local_stats`,
  otherwise from the moving averages. When `is_training` may be True the
  moving averages are updated (`m <- m - (1 - decay_rate) * (m - value)`) by
  ops that are control dependencies of the output, or, if
  `update_ops_collection` is given, put in that collection instead.

  Variables, all `[num_channels]`: `moving_mean`, `moving_variance`
  (non-trainable, in `MOVING_AVERAGE_VARIABLES` and `GLOBAL_VARIABLES`), and
  `beta` if `offset`, `gamma` if `scale` (both always exist with
  `fused=True`, trainable only if asked for). The properties `moving_mean`,
  `moving_variance`, `beta`, `gamma` return them reshaped to broadcast
  against the input (e.g. `[1, 1, 1, C]` for "NHWC", `[1, C, 1, 1]` for
  "NCHW").
  """

  GAMMA = "gamma"
  BETA = "beta"
  MOVING_MEAN = "moving_mean"
  MOVING_VARIANCE = "moving_variance"
  POSSIBLE_INITIALIZER_KEYS = {GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE}
  POSSIBLE_PARTITIONER_KEYS = {GAMMA, BETA}
  POSSIBLE_REGULARIZER_KEYS = {GAMMA, BETA}
  SUPPORTED_DATA_FORMATS = {"NC", "NWC", "NCW", "NHWC", "NCHW", "NDHWC",
                            "NCDHW"}

  def __init__(self, data_format=None, offset=True, scale=False,
               decay_rate=0.999, eps=1e-3, initializers=None,
               partitioners=None, regularizers=None,
               update_ops_collection=None, fused=True, name="batch_norm"):
    """Constructs a BatchNormV2 module.

    Args:
      data_format: one of `SUPPORTED_DATA_FORMATS`, or None to infer it from
        the rank at the first connection ("NC", "NWC", "NHWC", "NDHWC").
      offset: whether to add a learned offset `beta`.
      scale: whether to multiply by a learned scale `gamma`.
      decay_rate: decay of the moving averages.
      eps: added to the variance for numerical stability.
      initializers: optional dict for keys "gamma", "beta", "moving_mean",
        "moving_variance".
      partitioners: optional dict for keys "gamma", "beta".
      regularizers: optional dict for keys "gamma", "beta".
      update_ops_collection: collection receiving the update ops; None makes
        them control dependencies of the output.
      fused: use `tf.nn.fused_batch_norm` (inputs reshaped to 4-D as needed).
      name: module name.

    Raises:
      ValueError: for an unsupported `data_format`.
      KeyError: for unknown keys in the dicts.
      TypeError: for non-callable initializers/partitioners/regularizers.
    """
    if data_format not in self.SUPPORTED_DATA_FORMATS.union({None}):
      raise ValueError("Invalid data_format: %r" % (data_format,))
    super(BatchNormV2, self).__init__(name=name)
    self._data_format = data_format
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

  def _build_statistics(self, input_batch, use_batch_stats, stat_dtype):
    """Creates the moving statistics; returns the statistics to normalize with.

    Both are returned in the expanded (broadcastable) shape.
    """
    if self.MOVING_MEAN not in self._initializers:
      self._initializers[self.MOVING_MEAN] = create_mean_initializer()
    self._moving_mean = tf.get_variable(
        "moving_mean",
        dtype=stat_dtype,
        shape=(self._num_channels,),
        collections=[tf.GraphKeys.MOVING_AVERAGE_VARIABLES,
                     tf.GraphKeys.GLOBAL_VARIABLES],
        initializer=self._initializers[self.MOVING_MEAN],
        trainable=False)

    if self.MOVING_VARIANCE not in self._initializers:
      self._initializers[self.MOVING_VARIANCE] = create_variance_initializer()
    self._moving_variance = tf.get_variable(
        "moving_variance",
        dtype=stat_dtype,
        shape=(self._num_channels,),
        collections=[tf.GraphKeys.MOVING_AVERAGE_VARIABLES,
                     tf.GraphKeys.GLOBAL_VARIABLES],
        initializer=self._initializers[self.MOVING_VARIANCE],
        trainable=False)

    def build_batch_stats():
      return tf.nn.moments(input_batch, self._axis, keep_dims=True,
                           name="normalize_moments")

    def build_moving_stats():
      input_dtype = input_batch.dtype.base_dtype
      mean = tf.reshape(self._moving_mean, self._expanded_mean_shape)
      variance = tf.reshape(self._moving_variance, self._expanded_mean_shape)
      if stat_dtype != input_dtype:
        mean = tf.cast(mean, input_dtype)
        variance = tf.cast(variance, input_dtype)
      return mean, variance

    return _smart_cond(use_batch_stats, build_batch_stats, build_moving_stats)

  def _build_update_ops(self, mean, variance, is_training):
    """Update ops of the moving averages, or None if `is_training` is False."""

    def build_update_ops():
      update_mean_op = moving_averages.assign_moving_average(
          variable=self._moving_mean,
          value=tf.reshape(mean, (self._num_channels,)),
          decay=self._decay_rate,
          zero_debias=False,
          name="update_moving_mean").op
      update_variance_op = moving_averages.assign_moving_average(
          variable=self._moving_variance,
          value=tf.reshape(variance, (self._num_channels,)),
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

  def _fused_batch_norm_op(self, input_batch, mean, variance, use_batch_stats):
    """Normalizes with `tf.nn.fused_batch_norm` (on a 4-D view of the input).

    Returns (out, mean, variance) with mean/variance of shape `[C]`.
    """
    gamma_flat = tf.reshape(self._gamma, shape=(self._num_channels,))
    beta_flat = tf.reshape(self._beta, shape=(self._num_channels,))
    mean_flat = tf.reshape(mean, shape=(self._num_channels,))
    variance_flat = tf.reshape(variance, shape=(self._num_channels,))

    if len(self._data_format) == 4:
      fusable_data_format = self._data_format
      fusable_batch = input_batch
    else:
      if None in self._image_shape:
        flat_image_size = tf.reduce_prod(
            tf.shape(input_batch)[1:-1] if self._channel_index != 1 else
            tf.shape(input_batch)[2:])
      else:
        flat_image_size = int(np.prod(self._image_shape, dtype=np.int64))
      if self._channel_index == 1 and self._image_shape:
        fusable_data_format = "NCHW"
        fusable_shape = [-1, self._num_channels, 1, flat_image_size]
      else:
        fusable_data_format = "NHWC"
        fusable_shape = [-1, 1, flat_image_size, self._num_channels]
      fusable_batch = tf.reshape(input_batch, tf.stack(fusable_shape)
                                 if tf.is_tensor(flat_image_size)
                                 else fusable_shape)

    common_args = {
        "scale": gamma_flat,
        "offset": beta_flat,
        "epsilon": self._eps,
        "data_format": fusable_data_format,
        "name": "batch_norm",
    }

    def use_batch_stats_fused_batch_norm():
      return tf.nn.fused_batch_norm(fusable_batch, mean=None, variance=None,
                                    is_training=True, **common_args)

    def moving_average_fused_batch_norm():
      return tf.nn.fused_batch_norm(fusable_batch, mean=mean_flat,
                                    variance=variance_flat, is_training=False,
                                    **common_args)

    out, mean, variance = _smart_cond(use_batch_stats,
                                     use_batch_stats_fused_batch_norm,
                                     moving_average_fused_batch_norm)
    if len(self._data_format) != 4:
      out = tf.reshape(out, tf.shape(input_batch))
      out.set_shape(input_batch.get_shape())
    return out, mean, variance

  def _batch_norm_op(self, input_batch, mean, variance, use_batch_stats,
                     stat_dtype):
    """Normalizes; returns (out, mean, variance), the latter in `stat_dtype`."""
    if self._fused:
      return self._fused_batch_norm_op(input_batch, self._moving_mean,
                                       self._moving_variance, use_batch_stats)
    beta = (None if self._beta is None
            else tf.reshape(self._beta, self._expanded_mean_shape))
    gamma = (None if self._gamma is None
             else tf.reshape(self._gamma, self._expanded_mean_shape))
    out = tf.nn.batch_normalization(input_batch, mean, variance, beta, gamma,
                                    self._eps, name="batch_norm")
    if input_batch.dtype.base_dtype != stat_dtype:
      mean = tf.cast(mean, stat_dtype)
      variance = tf.cast(variance, stat_dtype)
    return out, mean, variance

  def _build_scale_offset(self, dtype):
    """Creates `beta` and `gamma` as configured (always when fused)."""
    if self._fused and dtype == tf.float16:
      dtype = tf.float32

    self._beta = None
    if self._offset or self._fused:
      if self.BETA not in self._initializers:
        self._initializers[self.BETA] = create_beta_initializer()
      self._beta = tf.get_variable(
          self.BETA,
          dtype=dtype,
          shape=(self._num_channels,),
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
          shape=(self._num_channels,),
          initializer=self._initializers[self.GAMMA],
          partitioner=self._partitioners.get(self.GAMMA, None),
          regularizer=self._regularizers.get(self.GAMMA, None),
          trainable=self._scale)

  def _build(self, input_batch, is_training, test_local_stats=False):
    """Normalizes `input_batch`.

    Args:
      input_batch: float tensor of rank 2 to 5 laid out as `data_format`;
        the channel dimension must be known.
      is_training: Python bool or boolean tensor; True uses the batch
        statistics and updates the moving averages.
      test_local_stats: Python bool or boolean tensor; when not training,
        True uses the batch statistics, False (default) the moving averages.

    Returns:
      Tensor of the shape and dtype of `input_batch`.

    Raises:
      snt.IncompatibleShapeError: if the rank cannot be handled or does not
        match `data_format`.
      snt.UnderspecifiedError: if the number of channels is unknown.
      snt.NotSupportedError: for fused batch norm on bfloat16 (or float64).
    """
    input_batch = tf.convert_to_tensor(input_batch)
    input_shape = input_batch.get_shape()
    rank = input_shape.ndims
    if rank is None:
      raise base.IncompatibleShapeError(
          "{}: the rank of the input must be known.".format(self.scope_name))

    if not self._data_format:
      if rank not in _DEFAULT_DATA_FORMATS:
        raise base.IncompatibleShapeError(
            "Input shape {} has too many or too few dimensions.".format(
                input_shape))
      self._data_format = _DEFAULT_DATA_FORMATS[rank]

    self._channel_index = self._data_format.index("C")
    self._axis = list(range(len(self._data_format)))
    del self._axis[self._channel_index]

    if len(self._data_format) != rank:
      raise base.IncompatibleShapeError(
          "Incorrect data format {} for input shape {}.".format(
              self._data_format, input_shape))

    dtype = input_batch.dtype.base_dtype
    if self._fused:
      if dtype == tf.bfloat16:
        raise base.NotSupportedError(
            "Fused batch norm does not support tf.bfloat16.")
      if dtype not in (tf.float16, tf.float32):
        raise base.NotSupportedError(
            "Fused batch norm supports float16 and float32 inputs only, got "
            "{}; use fused=False.".format(dtype.name))
    stat_dtype = tf.float32 if dtype in (tf.float16, tf.bfloat16) else dtype

    num_channels = tf.compat.dimension_value(input_shape[self._channel_index])
    if num_channels is None:
      raise base.UnderspecifiedError(
          "{}: the number of channels (dimension {} of input shape {}) must "
          "be known.".format(self.scope_name, self._channel_index,
                             input_shape))
    self._num_channels = int(num_channels)
    dims = input_shape.as_list()
    self._image_shape = dims[2:] if self._channel_index == 1 else dims[1:-1]

    self._expanded_mean_shape = [1] * rank
    self._expanded_mean_shape[self._channel_index] = self._num_channels

    use_batch_stats = _use_batch_stats_flag(is_training, test_local_stats)
    mean, variance = self._build_statistics(input_batch, use_batch_stats,
                                            stat_dtype)
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
    """`moving_mean` reshaped to broadcast against the input."""
    self._ensure_is_connected()
    return tf.reshape(self._moving_mean, self._expanded_mean_shape)

  @property
  def moving_variance(self):
    """`moving_variance` reshaped to broadcast against the input."""
    self._ensure_is_connected()
    return tf.reshape(self._moving_variance, self._expanded_mean_shape)

  @property
  def beta(self):
    """The offset reshaped to broadcast; `snt.Error` if there is none."""
    self._ensure_is_connected()
    if self._beta is None:
      raise base.Error(
          "Batch normalization doesn't have an offset, so no beta")
    return tf.reshape(self._beta, self._expanded_mean_shape)

  @property
  def gamma(self):
    """The scale reshaped to broadcast; `snt.Error` if there is none."""
    self._ensure_is_connected()
    if self._gamma is None:
      raise base.Error(
          "Batch normalization doesn't have a scale, so no gamma")
    return tf.reshape(self._gamma, self._expanded_mean_shape)
