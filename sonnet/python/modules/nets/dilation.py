"""`Dilation`: the context module of Yu & Koltun (2016) and its initializers.

"Multi-Scale Context Aggregation by Dilated Convolutions",
https://arxiv.org/abs/1511.07122. Eight 3x3 convolutions with growing
dilation rates; with the default (identity) initialization the basic model
starts as the identity map.
"""

from sonnet.python.modules import base
from sonnet.python.modules import conv
from sonnet.python.modules import sequential
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


def _range_along_dimension(range_dim, shape):
  """Returns an int32 tensor of `shape` holding each entry's `range_dim` index.

  E.g. `_range_along_dimension(0, [2, 2])` is `[[0, 0], [1, 1]]` and
  `_range_along_dimension(1, [2, 2])` is `[[0, 1], [0, 1]]`.

  Args:
    range_dim: the dimension whose index is written.
    shape: list of ints, the output shape.

  Raises:
    ValueError: `range_dim` is not a dimension of `shape`.
  """
  rank = len(shape)
  if range_dim >= rank:
    raise ValueError("Cannot calculate range along non-existent index "
                     "{} of a shape of rank {}.".format(range_dim, rank))
  indices = tf.range(start=0, limit=shape[range_dim])
  indices = tf.reshape(
      indices,
      shape=[1 if i != range_dim else shape[range_dim] for i in range(rank)])
  return tf.tile(indices,
                 [shape[i] if i != range_dim else 1 for i in range(rank)])


def _check_kernel_shape(shape):
  """Checks a `[height, width, in, out]` kernel shape; returns it unpacked."""
  if len(shape) != 4:
    raise ValueError("Convolution kernels must be rank 4, got shape "
                     "{}.".format(list(shape)))
  filter_height, filter_width, in_channels, out_channels = (
      int(d) for d in shape)
  if filter_width != filter_height:
    raise ValueError("Identity initializer only works for square filters, "
                     "got {}x{}.".format(filter_height, filter_width))
  if filter_width % 2 != 1:
    raise ValueError("Identity initializer requires filters have odd height "
                     "and width, got {}.".format(filter_width))
  return filter_height, filter_width, in_channels, out_channels


def _is_middle_pixel(shape, filter_height):
  middle_pixel = filter_height // 2
  return tf.logical_and(
      tf.equal(_range_along_dimension(0, shape), middle_pixel),
      tf.equal(_range_along_dimension(1, shape), middle_pixel))


def identity_kernel_initializer(shape, dtype=tf.float32, partition_info=None):
  """An initializer making a convolution the identity map.

  The kernel is 1 at the centre pixel where input channel == output channel,
  and 0 elsewhere.

  Args:
    shape: `[height, width, in_channels, out_channels]`, square, odd-sized,
      with `in_channels == out_channels`.
    dtype: output dtype.
    partition_info: unused.

  Returns:
    Tensor of `shape` and `dtype`.

  Raises:
    ValueError: `shape` violates one of the conditions above.
  """
  del partition_info  # Unused.
  shape = list(shape)
  filter_height, _, in_channels, out_channels = _check_kernel_shape(shape)
  if in_channels != out_channels:
    raise ValueError("in_channels must equal out_channels in order to "
                     "construct per-channel identities, got {} and {}.".format(
                         in_channels, out_channels))
  is_same_channel = tf.equal(_range_along_dimension(2, shape),
                             _range_along_dimension(3, shape))
  return tf.cast(
      tf.logical_and(is_same_channel, _is_middle_pixel(shape, filter_height)),
      dtype=dtype)


def noisy_identity_kernel_initializer(base_num_channels, stddev=1e-8):
  """Returns an initializer making a convolution a noisy, grouped identity.

  Input and output channels are split into `base_num_channels` groups; the
  kernel's centre pixel is `base_num_channels / out_channels` between
  channels of the same group, and every other entry is truncated normal
  noise of `stddev`. Works when input and output channel counts differ.

  Args:
    base_num_channels: number of channel groups; must divide both the input
      and the output channel counts.
    stddev: standard deviation of the noise.

  Returns:
    An initializer `(shape, dtype=tf.float32, partition_info=None)` raising
    `ValueError` for a shape that is not `[h, w, in, out]` with square, odd
    `h == w` and channel counts divisible by `base_num_channels`.
  """

  def _noisy_identity_kernel_initializer(shape, dtype=tf.float32,
                                         partition_info=None):
    """Noisy grouped-identity kernel of `shape` (see the factory)."""
    del partition_info  # Unused.
    shape = list(shape)
    filter_height, _, in_channels, out_channels = _check_kernel_shape(shape)
    if in_channels % base_num_channels != 0:
      raise ValueError("in_channels ({}) must be a multiple of "
                       "base_num_channels ({}).".format(in_channels,
                                                        base_num_channels))
    if out_channels % base_num_channels != 0:
      raise ValueError("out_channels ({}) must be a multiple of "
                       "base_num_channels ({}).".format(out_channels,
                                                        base_num_channels))
    is_same_channel_multiple = tf.equal(
        tf.floordiv(_range_along_dimension(2, shape) * base_num_channels,
                    in_channels),
        tf.floordiv(_range_along_dimension(3, shape) * base_num_channels,
                    out_channels))
    noise = tf.truncated_normal(shape, stddev=stddev, dtype=dtype)
    return tf.where(
        tf.logical_and(is_same_channel_multiple,
                       _is_middle_pixel(shape, filter_height)),
        tf.ones(shape, dtype=dtype) * (base_num_channels / out_channels),
        noise)

  return _noisy_identity_kernel_initializer


class Dilation(base.AbstractModule):
  """The dilated-convolution context module of Yu & Koltun (2016).

  Maps `[batch_size, height, width, depth]` images to
  `[batch_size, height, width, num_output_classes]` with eight SAME-padded
  3x3 convolutions (dilation rates 1, 1, 2, 4, 8, 16, 1, 1), relus between
  them. Variables: `<name>/dilated_conv_conv<k>/w` and `.../b`, k = 1..8.
  """

  # Model sizes.
  BASIC = "basic"
  LARGE = "large"

  # Initializer keys.
  WEIGHTS = "w"
  BIASES = "b"
  POSSIBLE_INITIALIZER_KEYS = {WEIGHTS, BIASES}

  def __init__(self,
               num_output_classes,
               initializers=None,
               regularizers=None,
               model_size="basic",
               name="dilation"):
    """Constructs a Dilation module.

    Args:
      num_output_classes: number of output channels (classes).
      initializers: optional dict with keys "w", "b". The default "w" is
        `identity_kernel_initializer` (basic) or
        `noisy_identity_kernel_initializer(num_output_classes)` (large).
      regularizers: optional dict with keys "w", "b".
      model_size: "basic" (all layers `num_output_classes` wide) or "large"
        (layers up to 32 times wider).
      name: module name.

    Raises:
      KeyError, TypeError: invalid initializers/regularizers.
    """
    super(Dilation, self).__init__(name=name)
    self._num_output_classes = num_output_classes
    self._model_size = model_size
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _build(self, images):
    """Applies the module to `images`.

    Args:
      images: `[batch_size, height, width, depth]` tensor. With the default
        initializers `depth` must equal `num_output_classes` (basic) or be a
        multiple of it (large).

    Returns:
      `[batch_size, height, width, num_output_classes]` tensor.

    Raises:
      IncompatibleShapeError: `images` is not 4-D.
      ValueError: unknown `model_size`.
    """
    num_classes = self._num_output_classes

    if len(images.get_shape()) != 4:
      raise base.IncompatibleShapeError(
          "'images' must have shape [batch_size, height, width, depth], "
          "got {}.".format(images.get_shape()))

    if self._model_size not in (self.BASIC, self.LARGE):
      raise ValueError("Unrecognized model_size: %s" % self._model_size)

    if self.WEIGHTS not in self._initializers:
      if self._model_size == self.BASIC:
        self._initializers[self.WEIGHTS] = identity_kernel_initializer
      else:
        self._initializers[self.WEIGHTS] = noisy_identity_kernel_initializer(
            num_classes)
    if self.BIASES not in self._initializers:
      self._initializers[self.BIASES] = tf.zeros_initializer()

    if self._model_size == self.BASIC:
      widths = [1, 1, 1, 1, 1, 1, 1, 1]
    else:
      widths = [2, 2, 4, 8, 16, 32, 32, 1]
    rates = [1, 1, 2, 4, 8, 16, 1, 1]
    self._conv_modules = [
        self._dilated_conv_layer(width * num_classes, rate,
                                 apply_relu=(i != 7),
                                 name="conv{}".format(i + 1))
        for i, (width, rate) in enumerate(zip(widths, rates))]

    dilation_mod = sequential.Sequential(self._conv_modules, name="dilation")
    return dilation_mod(images)

  def _dilated_conv_layer(self, output_channels, dilation_rate, apply_relu,
                          name):
    """A `Sequential` of a dilated 3x3 convolution and (optionally) a relu."""
    layer_components = [
        conv.Conv2D(output_channels, [3, 3],
                    initializers=self._initializers,
                    regularizers=self._regularizers,
                    rate=dilation_rate,
                    name="dilated_conv_" + name),
    ]
    if apply_relu:
      layer_components.append(lambda net: tf.nn.relu(net, name="relu_" + name))
    return sequential.Sequential(layer_components, name=name)

  @property
  def conv_modules(self):
    """The eight per-layer `Sequential` modules of the last connection."""
    self._ensure_is_connected()
    return self._conv_modules
