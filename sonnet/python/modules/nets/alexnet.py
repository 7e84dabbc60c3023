"""`AlexNet` (Krizhevsky et al. 2012) in a full and a mini configuration."""

from sonnet.python.modules import base
from sonnet.python.modules import basic
from sonnet.python.modules import batch_norm
from sonnet.python.modules import conv
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


class AlexNet(base.AbstractModule):
  """AlexNet: five convolutions (some max-pooled), two fully connected layers.

  Convolutions use VALID padding and are followed by optional batch norm,
  a relu and optional max pooling; the fully connected layers by optional
  batch norm, a relu and optional dropout. Input images are NHWC; the output
  is `[batch_size, 4096]` (FULL) or `[batch_size, 1024]` (MINI).
  """

  FULL = "FULL"
  MINI = "MINI"

  POSSIBLE_INITIALIZER_KEYS = {"w", "b"}

  def __init__(self,
               mode,
               use_batch_norm=False,
               batch_norm_config=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               bn_on_fc_layers=True,
               custom_getter=None,
               name="alex_net"):
    """Constructs an AlexNet.

    Args:
      mode: `AlexNet.FULL` or `AlexNet.MINI`.
      use_batch_norm: whether to batch-normalize after each layer.
      batch_norm_config: kwargs for the `snt.BatchNorm` modules.
      initializers: optional dict with keys "w", "b".
      partitioners: optional dict with keys "w", "b".
      regularizers: optional dict with keys "w", "b" (applied to the
        convolutions only).
      bn_on_fc_layers: deprecated; whether batch norm also follows the fully
        connected layers.
      custom_getter: custom getter (or dict of them) for the variables.
      name: module name.

    Raises:
      snt.Error: unknown `mode`.
      KeyError, TypeError: invalid initializers/partitioners/regularizers.
    """
    super(AlexNet, self).__init__(custom_getter=custom_getter, name=name)

    self._mode = mode
    self._use_batch_norm = use_batch_norm
    self._bn_on_fc_layers = bn_on_fc_layers
    if self._bn_on_fc_layers:
      tf.logging.warning(
          "Using BatchNorm on the fully connected layers in AlexNet is not "
          "recommended. 'bn_on_fc_layers' is a deprecated option and will "
          "likely be removed.")
    self._batch_norm_config = batch_norm_config or {}

    # (output_channels, (kernel, stride), (pool_kernel, pool_stride) or None)
    if self._mode == self.FULL:
      self._conv_layers = [
          (96, (11, 4), (3, 2)),
          (256, (5, 1), (3, 2)),
          (384, (3, 1), None),
          (384, (3, 1), None),
          (256, (3, 1), (3, 2)),
      ]
      self._fc_layers = [4096, 4096]
    elif self._mode == self.MINI:
      self._conv_layers = [
          (48, (3, 1), (3, 1)),
          (128, (3, 1), (3, 1)),
          (192, (3, 1), None),
          (192, (3, 1), None),
          (128, (3, 1), (3, 1)),
      ]
      self._fc_layers = [1024, 1024]
    else:
      raise base.Error(
          "AlexNet construction mode '{}' not recognised, must be one of: "
          "'{}', '{}'".format(mode, self.FULL, self.MINI))

    self._min_size = self._calc_min_size(self._conv_layers)
    self._conv_modules = []
    self._linear_modules = []

    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _calc_min_size(self, conv_layers):
    """The smallest input height/width giving a 1x1 output for `conv_layers`.

    Walks the layers backwards from an output size of 1, undoing each layer's
    pooling and then its convolution: `size = size * stride + kernel -
    stride`.

    Args:
      conv_layers: list of `(output_channels, (kernel, stride), pooling)`
        where `pooling` is `(kernel, stride)` or None.

    Returns:
      The minimum input size, an int.
    """
    input_size = 1
    for _, conv_params, max_pooling in reversed(conv_layers):
      if max_pooling is not None:
        kernel_size, stride = max_pooling
        input_size = input_size * stride + (kernel_size - stride)
      if conv_params is not None:
        kernel_size, stride = conv_params
        input_size = input_size * stride + (kernel_size - stride)
    return input_size

  def _build(self, inputs, keep_prob=None, is_training=None,
             test_local_stats=True):
    """Applies AlexNet to a batch of NHWC images.

    Args:
      inputs: `[batch_size, height, width, channels]` tensor, height and width
        at least `min_input_size`.
      keep_prob: dropout keep probability for the fully connected layers
        (float or scalar tensor); None for no dropout. Must be 1 unless
        training (checked at run time).
      is_training: Python bool or boolean tensor; required with batch norm
        or dropout.
      test_local_stats: passed to the batch norm modules.

    Returns:
      `[batch_size, 4096]` (FULL) or `[batch_size, 1024]` (MINI) tensor.

    Raises:
      ValueError: `is_training` missing while needed.
      IncompatibleShapeError: input not 4-D, or spatially too small or
        unknown.
      tf.errors.InvalidArgumentError: (at run time) `keep_prob != 1` while
        not training.
    """
    if (self._use_batch_norm or keep_prob is not None) and is_training is None:
      raise ValueError("Boolean is_training flag must be explicitly specified "
                       "when using batch normalization or dropout.")

    input_shape = inputs.get_shape().as_list()
    if len(input_shape) != 4:
      raise base.IncompatibleShapeError(
          "{}: input must have shape [batch_size, height, width, channels], "
          "got {}".format(self.scope_name, input_shape))
    height, width = input_shape[1], input_shape[2]
    if height is None or width is None:
      raise base.IncompatibleShapeError(
          "{}: image height and width must be known at build time, got "
          "({}, {})".format(self.scope_name, height, width))
    if height < self._min_size or width < self._min_size:
      raise base.IncompatibleShapeError(
          "Image shape too small: ({:d}, {:d}) < {:d}".format(
              height, width, self._min_size))

    net = inputs

    if keep_prob is not None:
      valid_inputs = tf.logical_or(is_training, tf.equal(keep_prob, 1.))
      keep_prob_check = tf.assert_equal(
          valid_inputs, True,
          message="Input `keep_prob` must be None or 1 if `is_training=False`.")
      with tf.control_dependencies([keep_prob_check]):
        net = tf.identity(net)

    first_connection = not self.is_connected
    for i, (output_channels, conv_params, max_pooling) in enumerate(
        self._conv_layers):
      kernel_size, stride = conv_params
      conv_mod = conv.Conv2D(
          name="conv_{}".format(i),
          output_channels=output_channels,
          kernel_shape=kernel_size,
          stride=stride,
          padding=conv.VALID,
          initializers=self._initializers,
          partitioners=self._partitioners,
          regularizers=self._regularizers)
      if first_connection:
        self._conv_modules.append(conv_mod)
      net = conv_mod(net)
      if self._use_batch_norm:
        bn = batch_norm.BatchNorm(**self._batch_norm_config)
        net = bn(net, is_training, test_local_stats)
      net = tf.nn.relu(net)
      if max_pooling is not None:
        pooling_kernel_size, pooling_stride = max_pooling
        net = tf.nn.max_pool(
            net,
            ksize=[1, pooling_kernel_size, pooling_kernel_size, 1],
            strides=[1, pooling_stride, pooling_stride, 1],
            padding=conv.VALID)

    net = basic.BatchFlatten(name="flatten")(net)

    for i, output_size in enumerate(self._fc_layers):
      # Upstream passes no regularizers to the fully connected layers.
      linear_mod = basic.Linear(
          name="fc_{}".format(i),
          output_size=output_size,
          initializers=self._initializers,
          partitioners=self._partitioners)
      if first_connection:
        self._linear_modules.append(linear_mod)
      net = linear_mod(net)
      if self._use_batch_norm and self._bn_on_fc_layers:
        bn = batch_norm.BatchNorm(**self._batch_norm_config)
        net = bn(net, is_training, test_local_stats)
      net = tf.nn.relu(net)
      if keep_prob is not None:
        net = tf.nn.dropout(net, rate=1 - keep_prob)

    return net

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
  def min_input_size(self):
    """The minimum height and width of an input image."""
    return self._min_size

  @property
  def conv_modules(self):
    """The `Conv2D` modules of the first connection."""
    self._ensure_is_connected()
    return self._conv_modules

  @property
  def linear_modules(self):
    """The `Linear` modules of the first connection."""
    self._ensure_is_connected()
    return self._linear_modules


class AlexNetFull(AlexNet):
  """AlexNet in its FULL configuration, without batch norm on the FC layers."""

  def __init__(self,
               use_batch_norm=False,
               batch_norm_config=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               custom_getter=None,
               name="alex_net_full"):
    """Constructs an AlexNet in FULL mode; arguments as for `AlexNet`."""
    super(AlexNetFull, self).__init__(
        mode=self.FULL,
        use_batch_norm=use_batch_norm,
        batch_norm_config=batch_norm_config,
        initializers=initializers,
        partitioners=partitioners,
        regularizers=regularizers,
        bn_on_fc_layers=False,
        custom_getter=custom_getter,
        name=name)


class AlexNetMini(AlexNet):
  """AlexNet in its MINI configuration, without batch norm on the FC layers."""

  def __init__(self,
               use_batch_norm=False,
               batch_norm_config=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               custom_getter=None,
               name="alex_net_mini"):
    """Constructs an AlexNet in MINI mode; arguments as for `AlexNet`."""
    super(AlexNetMini, self).__init__(
        mode=self.MINI,
        use_batch_norm=use_batch_norm,
        batch_norm_config=batch_norm_config,
        initializers=initializers,
        partitioners=partitioners,
        regularizers=regularizers,
        bn_on_fc_layers=False,
        custom_getter=custom_getter,
        name=name)
