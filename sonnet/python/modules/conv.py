"""Convolutional modules: Conv1D/2D/3D, their transposes, and variants.

All modules take channels-last (`NWC`, `NHWC`, `NDHWC`, the defaults) or
channels-first (`NCW`, `NCHW`, `NCDHW`) inputs. TensorFlow's stock CPU kernels
(without oneDNN) implement only channels-last convolutions; on a machine
without a GPU, channels-first convolutions are therefore computed by
transposing to channels-last around the convolution op, which gives exactly
the channels-first result (see `_channels_last_if_needed`).
"""

import collections.abc
import math
import numbers

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules.conv_utils import _channels_last_if_needed
from sonnet.python.modules.conv_utils import _depthwise_with_strides
from sonnet.python.modules.conv_utils import _full_stride
from sonnet.python.modules.conv_utils import _spatial
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf

# Padding types.
SAME = "SAME"
VALID = "VALID"
FULL = "FULL"
CAUSAL = "CAUSAL"
REVERSE_CAUSAL = "REVERSE_CAUSAL"
CONV_OP_ALLOWED_PADDINGS = {SAME, VALID}
ALLOWED_PADDINGS = {SAME, VALID, FULL, CAUSAL, REVERSE_CAUSAL}

# Values used to fill the padding (`tf.pad` modes).
CONSTANT_PADDING = "CONSTANT"
REFLECT_PADDING = "REFLECT"
SYMMETRIC_PADDING = "SYMMETRIC"
ALLOWED_PADDING_VALUES = {CONSTANT_PADDING, REFLECT_PADDING, SYMMETRIC_PADDING}

DATA_FORMAT_NCW = "NCW"
DATA_FORMAT_NWC = "NWC"
SUPPORTED_1D_DATA_FORMATS = {DATA_FORMAT_NCW, DATA_FORMAT_NWC}

DATA_FORMAT_NCHW = "NCHW"
DATA_FORMAT_NHWC = "NHWC"
SUPPORTED_2D_DATA_FORMATS = {DATA_FORMAT_NCHW, DATA_FORMAT_NHWC}

DATA_FORMAT_NDHWC = "NDHWC"
DATA_FORMAT_NCDHW = "NCDHW"
SUPPORTED_3D_DATA_FORMATS = {DATA_FORMAT_NDHWC, DATA_FORMAT_NCDHW}

_FLOAT_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)


def _is_float_dtype(dtype):
  return any(d.is_compatible_with(dtype) for d in _FLOAT_DTYPES)


def _fill_shape(x, n):
  """Returns `x` as an `n`-tuple: an int is repeated, a sequence is checked.

  Raises:
    TypeError: if `n` is not a positive integer, or `x` is neither a positive
      integer nor an iterable of `n` positive integers.
  """
  if not isinstance(n, numbers.Integral) or n < 1:
    raise TypeError("n must be a positive integer")

  if isinstance(x, (numbers.Integral, tf.Dimension)):
    value = x.value if isinstance(x, tf.Dimension) else x
    if value is not None and value > 0:
      return (x,) * n

  try:
    if len(x) == n and all(v is not None and v > 0 for v in x):
      return tuple(x)
  except TypeError:
    pass

  raise TypeError("x is {}, must be either a positive integer "
                  "or an iterable of positive integers of size {}".format(x, n))


def _fill_and_verify_parameter_shape(x, n, parameter_label):
  """`_fill_shape`, raising `IncompatibleShapeError` naming the parameter."""
  try:
    return _fill_shape(x, n)
  except TypeError as e:
    raise base.IncompatibleShapeError(
        "Invalid " + parameter_label + " shape: {}".format(e))


def _fill_and_verify_padding(padding, n):
  """Returns an `n`-tuple of padding types from a string or a sequence.

  Raises:
    TypeError: if `n` is not a positive integer, or `padding` is neither one
      of `ALLOWED_PADDINGS` nor a sequence of `n` of them.
  """
  if not isinstance(n, numbers.Integral) or n < 1:
    raise TypeError("n must be a positive integer")

  if isinstance(padding, str) and padding in ALLOWED_PADDINGS:
    return (padding,) * n

  try:
    if (not isinstance(padding, str) and len(padding) == n and
        all(isinstance(p, str) and p in ALLOWED_PADDINGS for p in padding)):
      return tuple(padding)
  except TypeError:
    pass

  raise TypeError("padding is {}, must be member of '{}' or an iterable of "
                  "these of size {}".format(padding, sorted(ALLOWED_PADDINGS),
                                            n))


def _verify_padding_value(padding_value):
  """Checks `padding_value` is one of `ALLOWED_PADDING_VALUES` (ValueError)."""
  if padding_value not in ALLOWED_PADDING_VALUES:
    raise ValueError(
        "Padding value must be one of '{}', but instead was '{}'.".format(
            sorted(ALLOWED_PADDING_VALUES), padding_value))
  return padding_value


def _verify_conv_op_supported_padding(padding):
  """Checks `padding` is SAME or VALID (ValueError otherwise)."""
  if padding not in CONV_OP_ALLOWED_PADDINGS:
    raise ValueError("Padding must be member of '{}', not {}".format(
        sorted(CONV_OP_ALLOWED_PADDINGS), padding))
  return padding


def _padding_to_conv_op_padding(padding, padding_value):
  """The padding of the conv op: SAME only if all SAME and constant-padded."""
  if not isinstance(padding, tuple):
    raise ValueError("padding should be a tuple.")
  if all(p == SAME for p in padding) and padding_value == CONSTANT_PADDING:
    # Only then can the conv op's own (zero) padding do the job; any other
    # combination pads the input explicitly and uses a VALID convolution.
    return SAME
  return VALID


def _fill_and_one_pad_stride(stride, n, data_format=DATA_FORMAT_NHWC):
  """Returns the full (n + 2)-element stride, with 1s for batch and channels.

  Raises:
    ValueError: if `data_format` is not `N...C` or `NC...`.
    IncompatibleShapeError: if `stride` has a length other than <= n or n + 2.
  """
  if isinstance(stride, numbers.Integral) or (
      isinstance(stride, collections.abc.Iterable) and len(stride) <= n):
    if data_format.startswith("NC"):
      return (1, 1,) + _fill_shape(stride, n)
    elif data_format.startswith("N") and data_format.endswith("C"):
      return (1,) + _fill_shape(stride, n) + (1,)
    else:
      raise ValueError(
          "Invalid data_format {}. Must start with N and have a channel dim "
          "either follow the N dim or come at the end".format(data_format))
  elif (isinstance(stride, collections.abc.Iterable) and
        len(stride) == n + 2):
    return stride
  else:
    raise base.IncompatibleShapeError(
        "stride is {} ({}), must be either a positive integer or an iterable "
        "of positive integers of size {}".format(stride, type(stride), n))


def _verify_inputs(inputs, channel_index, data_format):
  """Checks rank, dtype and a known channel count of a conv's inputs.

  Raises:
    IncompatibleShapeError: if the rank does not match `data_format`.
    TypeError: if the dtype is not a floating point type.
    UnderspecifiedError: if the number of channels is unknown.
  """
  if inputs.get_shape().ndims is None:
    raise base.IncompatibleShapeError(
        "Input Tensor must have rank {} corresponding to data_format {}, but "
        "instead its rank is unknown.".format(len(data_format), data_format))
  input_shape = tuple(inputs.get_shape().as_list())
  if len(input_shape) != len(data_format):
    raise base.IncompatibleShapeError((
        "Input Tensor must have rank {} corresponding to "
        "data_format {}, but instead was {} of rank {}.").format(
            len(data_format), data_format, input_shape, len(input_shape)))

  if not _is_float_dtype(inputs.dtype):
    raise TypeError(
        "Input must have dtype tf.float16, tf.bfloat16, tf.float32 or "
        "tf.float64, but dtype was {}".format(inputs.dtype))

  input_channels = input_shape[channel_index]
  if input_channels is None:
    raise base.UnderspecifiedError(
        "Number of input channels must be known at module build time")


def create_weight_initializer(fan_in_shape, dtype=tf.float32):
  """Truncated normal initializer with stddev 1 / sqrt(prod(fan_in_shape))."""
  stddev = 1 / math.sqrt(np.prod(fan_in_shape))
  return tf.truncated_normal_initializer(stddev=stddev, dtype=dtype)


def create_bias_initializer(unused_bias_shape, dtype=tf.float32):
  """Zeros initializer for a bias."""
  return tf.zeros_initializer(dtype=dtype)


def _find_channel_index(data_format):
  """Index of "C" in `data_format` (ValueError if there is none)."""
  for i, c in enumerate(data_format):
    if c == "C":
      return i
  raise ValueError("data_format requires a channel dimension. Got: {}".format(
      data_format))


def _apply_bias(inputs, outputs, channel_index, data_format, output_channels,
                initializers, partitioners, regularizers):
  """Creates the bias `b` of shape [output_channels] and adds it to `outputs`.

  Returns:
    `(b, outputs + b)`; the default initializer (zeros) is stored in
    `initializers["b"]` if none was given.
  """
  bias_shape = (output_channels,)
  if "b" not in initializers:
    initializers["b"] = create_bias_initializer(bias_shape, dtype=inputs.dtype)

  b = tf.get_variable("b",
                      shape=bias_shape,
                      dtype=inputs.dtype,
                      initializer=initializers["b"],
                      partitioner=partitioners.get("b", None),
                      regularizer=regularizers.get("b", None))

  if data_format in (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW):
    outputs = tf.nn.bias_add(outputs, b, data_format=data_format)
  else:
    # `bias_add` knows only the 2D formats: broadcast by hand.
    bias_correct_dim = [1] * len(data_format)
    bias_correct_dim[channel_index] = output_channels
    outputs += tf.reshape(b, bias_correct_dim)
  return b, outputs


class _UnknownSizeError(base.UnderspecifiedError, TypeError):
  """A spatial size needed to infer a transposed conv's output is unknown.

  Also a `TypeError`, which upstream raised here (from `None * stride`).
  """


def _default_transpose_size(input_shape, stride, kernel_shape=None,
                            padding=SAME):
  """Spatial output size of a transposed conv that inverts a forward conv.

  Args:
    input_shape: spatial input sizes (without batch and channels).
    stride: int or sequence of spatial strides.
    kernel_shape: int or sequence of kernel sizes (needed for VALID).
    padding: SAME (size `in * stride`) or VALID (`in * stride + k - 1`).

  Returns:
    A tuple of spatial output sizes.

  Raises:
    TypeError: if `input_shape` is empty or None.
    UnderspecifiedError: if an input size is unknown.
  """
  if not input_shape:
    raise TypeError("input_shape is None; if using Sonnet, are you sure you "
                    "have connected the module to inputs?")
  if any(size is None for size in input_shape):
    raise _UnknownSizeError(
        "Cannot infer the output_shape of a transposed convolution from input "
        "spatial shape {}: all spatial dimensions must be known; pass "
        "output_shape explicitly.".format(tuple(input_shape)))
  input_length = len(input_shape)
  stride = _fill_and_verify_parameter_shape(stride, input_length, "stride")
  padding = _verify_conv_op_supported_padding(padding)

  output_shape = tuple(x * y for x, y in zip(input_shape, stride))

  if padding == VALID:
    kernel_shape = _fill_and_verify_parameter_shape(kernel_shape, input_length,
                                                    "kernel")
    output_shape = tuple(x + y - 1 for x, y in zip(output_shape, kernel_shape))

  return output_shape


def _check_output_channels(output_channels):
  """Checks a non-callable `output_channels` is a positive integer."""
  if callable(output_channels):
    return
  try:
    value = int(output_channels)
  except (TypeError, ValueError):
    raise TypeError("output_channels must be a positive integer or a callable "
                    "returning one, got {!r}.".format(output_channels))
  if value < 1:
    raise ValueError(
        "output_channels must be >= 1, got {}.".format(output_channels))


def _check_channel_multiplier(channel_multiplier):
  if not isinstance(channel_multiplier, (numbers.Integral, tf.Dimension)):
    raise ValueError(("channel_multiplier ({}), must be of type "
                      "(`tf.Dimension`, `numbers.Integral`).").format(
                          channel_multiplier))
  value = (channel_multiplier.value
           if isinstance(channel_multiplier, tf.Dimension)
           else channel_multiplier)
  if value is None or value < 1:
    raise ValueError("channel_multiplier ({}), must be >= 1".format(
        channel_multiplier))
  return int(value)


def _check_data_format(data_format, supported):
  if data_format not in supported:
    raise ValueError("Invalid data_format {}. Allowed formats {}".format(
        data_format, sorted(supported)))


class _IncompatibleInputChannelsError(base.IncompatibleShapeError, ValueError):
  """Input channels differ from an earlier connection.

  Also a `ValueError`, the error TensorFlow raises when a reused variable's
  shape does not match (what code written for Sonnet 1 may catch).
  """


class _ConvBase(base.AbstractModule):
  """Parts shared by forward and transposed convolutions."""

  _BIAS_ERROR_NAME = "Conv2D"

  def _init_common(self, output_channels, use_bias, initializers,
                   partitioners, regularizers, custom_getter):
    # Passed on by clone()/transpose(): a dict of custom getters must be
    # routed relative to the new module's scope (upstream passed the router
    # bound to this module's scope name).
    self._custom_getter_arg = custom_getter
    _check_output_channels(output_channels)
    self._output_channels = output_channels
    self._input_shape = None
    self._input_channels = None
    self._use_bias = use_bias
    self.possible_keys = self.get_possible_initializer_keys(use_bias=use_bias)
    self._initializers = util.check_initializers(
        initializers, self.possible_keys)
    self._partitioners = util.check_partitioners(
        partitioners, self.possible_keys)
    self._regularizers = util.check_regularizers(
        regularizers, self.possible_keys)
    self._channel_index = _find_channel_index(self._data_format)

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):
    return {"w", "b"} if use_bias else {"w"}

  def _record_inputs(self, inputs):
    """Verifies `inputs`, records their shape and channels."""
    _verify_inputs(inputs, self._channel_index, self._data_format)
    input_shape = tuple(inputs.get_shape().as_list())
    input_channels = input_shape[self._channel_index]
    if (self._input_channels is not None and
        input_channels != self._input_channels):
      raise _IncompatibleInputChannelsError(
          "Module {} was first connected to inputs with {} channels, but is "
          "now connected to inputs of shape {} ({} channels).".format(
              self.scope_name, self._input_channels, input_shape,
              input_channels))
    self._input_shape = input_shape
    self._input_channels = input_channels

  def _get_weight(self, name, shape, dtype, fan_in_shape):
    """`tf.get_variable(name)`, default init truncated normal over fan-in."""
    if name not in self._initializers:
      self._initializers[name] = create_weight_initializer(fan_in_shape,
                                                          dtype=dtype)
    return tf.get_variable(name,
                           shape=shape,
                           dtype=dtype,
                           initializer=self._initializers[name],
                           partitioner=self._partitioners.get(name, None),
                           regularizer=self._regularizers.get(name, None))

  def _add_bias(self, inputs, outputs):
    if not self._use_bias:
      return outputs
    self._b, outputs = _apply_bias(
        inputs, outputs, self._channel_index, self._data_format,
        self.output_channels, self._initializers, self._partitioners,
        self._regularizers)
    return outputs

  @property
  def output_channels(self):
    """Number of output channels (a callable given is evaluated once)."""
    if callable(self._output_channels):
      self._output_channels = self._output_channels()
    self._output_channels = int(self._output_channels)
    return self._output_channels

  @property
  def kernel_shape(self):
    """Kernel size per spatial dimension."""
    return self._kernel_shape

  @property
  def w(self):
    """The weight variable (NotConnectedError before connection)."""
    self._ensure_is_connected()
    return self._w

  @property
  def b(self):
    """The bias variable (AttributeError if `use_bias=False`)."""
    self._ensure_is_connected()
    if not self._use_bias:
      raise AttributeError(
          "No bias Variable in {} Module when `use_bias=False`.".format(
              self._BIAS_ERROR_NAME))
    return self._b

  @property
  def has_bias(self):
    return self._use_bias

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
  def data_format(self):
    return self._data_format

  @property
  def input_shape(self):
    """Shape of the input at the last connection (NotConnectedError before)."""
    self._ensure_is_connected()
    return self._input_shape

  @property
  def input_channels(self):
    """Number of input channels (NotConnectedError before connection)."""
    if self._input_channels is None:
      self._ensure_is_connected()
    return self._input_channels


class _ConvND(_ConvBase):
  """N-dimensional convolution (base of Conv1D/2D/3D and the variants).

  Computes `conv(pad(inputs), w) + b` for N spatial dimensions, where the
  padding depends on `padding` (per dimension) and `padding_value`.
  """

  def __init__(self, output_channels, kernel_shape, stride=1, rate=1,
               padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None, mask=None,
               data_format=DATA_FORMAT_NHWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="conv_nd"):
    """Constructs the module (see the public subclasses for the arguments).

    Raises:
      IncompatibleShapeError: bad kernel_shape, stride or rate.
      NotSupportedError: stride > 1 together with rate > 1.
      TypeError: bad padding, initializers/partitioners/regularizers or mask.
      ValueError: bad padding_value or data_format.
      KeyError: unknown initializer/partitioner/regularizer keys.
    """
    super(_ConvND, self).__init__(custom_getter=custom_getter, name=name)
    self._n = len(data_format) - 2
    self._data_format = data_format
    self._init_common(output_channels, use_bias, initializers, partitioners,
                      regularizers, custom_getter)
    self._kernel_shape = _fill_and_verify_parameter_shape(kernel_shape, self._n,
                                                          "kernel")

    if (isinstance(stride, collections.abc.Sequence) and
        not isinstance(stride, str) and len(stride) == len(data_format)):
      # Legacy full-length stride (batch, ..., channels). Upstream always took
      # `[1:-1]`, wrong for channels-first formats; we take the spatial part.
      self._stride = tuple(_spatial(stride, data_format))
    else:
      self._stride = _fill_and_verify_parameter_shape(stride, self._n,
                                                      "stride")

    self._rate = _fill_and_verify_parameter_shape(rate, self._n, "rate")

    if any(x > 1 for x in self._stride) and any(x > 1 for x in self._rate):
      raise base.NotSupportedError("Cannot have stride > 1 with rate > 1")

    self._padding = _fill_and_verify_padding(padding, self._n)
    self._padding_value = _verify_padding_value(padding_value)
    self._conv_op_padding = _padding_to_conv_op_padding(self._padding,
                                                        self._padding_value)

    self._original_mask = mask
    if mask is not None:
      if not isinstance(mask, (tf.Tensor, list, tuple, np.ndarray)):
        raise TypeError("Invalid type for mask: {}".format(type(mask)))
      self._mask = tf.convert_to_tensor(mask)
      self._mask_tensor = self._mask
      if not _is_float_dtype(self._mask.dtype):
        raise TypeError(
            "Mask needs to have dtype float16, bfloat16, float32 or float64")
      # Upstream meant to reject masks whose shape is not fully defined but
      # never raised; such masks are checked against `w` at build time.
    else:
      self._mask = None

  def _build(self, inputs):
    """Connects the convolution to `inputs`.

    Args:
      inputs: a float tensor of rank N + 2 laid out as `data_format`, with a
        known number of channels.

    Returns:
      The convolved tensor, `output_channels` channels, same dtype.

    Raises:
      IncompatibleShapeError: wrong input rank, channel count changed since
        an earlier connection, or a mask incompatible with `w`.
      UnderspecifiedError: unknown number of input channels.
      TypeError: non-float inputs.
    """
    self._record_inputs(inputs)
    self._w = self._construct_w(inputs)

    if self._mask is not None:
      w = self._apply_mask()
    else:
      w = self._w

    inputs = self._pad_input(inputs)
    return self._add_bias(inputs, self._apply_conv(inputs, w))

  def _construct_w(self, inputs):
    """Creates `w` of shape kernel_shape + [input_channels, output_channels]."""
    weight_shape = self._kernel_shape + (self._input_channels,
                                         self.output_channels)
    return self._get_weight("w", weight_shape, inputs.dtype,
                            weight_shape[:-1])

  def _current_graph_mask(self):
    """The mask as a tensor of the graph being built."""
    if isinstance(self._original_mask, tf.Tensor):
      return self._original_mask
    if self._mask_tensor.graph is tf.get_default_graph():
      return self._mask_tensor
    # Constructed in another graph than the one connected to: convert again.
    return tf.convert_to_tensor(self._original_mask)

  def _apply_mask(self):
    """Returns `w * mask`, the mask expanded with trailing unit dimensions.

    Raises:
      IncompatibleShapeError: if the mask has higher rank than `w` or its
        shape is not a prefix of `w`'s shape.
    """
    w = self._w
    w_shape = w.get_shape()
    mask = self._current_graph_mask()
    mask_shape = mask.get_shape()

    if mask_shape.ndims is None or mask_shape.ndims > w_shape.ndims:
      raise base.IncompatibleShapeError(
          "Invalid mask shape: {}. Max shape: {}".format(
              mask_shape.ndims, len(self._data_format)))
    if not mask_shape.is_compatible_with(w_shape[:mask_shape.ndims]):
      raise base.IncompatibleShapeError(
          "Invalid mask shape: {}. Weight shape: {}".format(
              mask_shape, w_shape))

    # Expand explicitly to w's rank: broadcasting aligns trailing dims.
    while mask.get_shape().ndims < w_shape.ndims:
      mask = tf.expand_dims(mask, -1)
    self._mask = mask
    if mask.dtype.base_dtype != w.dtype.base_dtype:
      mask = tf.cast(mask, w.dtype.base_dtype)
    return w * mask

  def _pad_input(self, inputs):
    """Pads `inputs` for paddings the conv op cannot do (FULL, CAUSAL, ...).

    Returns:
      `inputs` unchanged if every dimension uses the conv op's own padding,
      else `tf.pad(inputs, ..., mode=padding_value)` (the conv op is VALID).
    """
    if all(p == self._conv_op_padding for p in self._padding):
      return inputs

    assert self._conv_op_padding == VALID

    def pad_amount(kernel_size, rate, padding):
      """[before, after] padding of one spatial dimension."""
      effective_kernel_size = int((kernel_size - 1) * rate + 1)
      if padding == FULL:
        return [effective_kernel_size - 1, effective_kernel_size - 1]
      if padding == CAUSAL:
        return [effective_kernel_size - 1, 0]
      if padding == REVERSE_CAUSAL:
        return [0, effective_kernel_size - 1]
      if padding == SAME:
        return [(effective_kernel_size - 1) // 2, effective_kernel_size // 2]
      return [0, 0]  # VALID

    paddings = [pad_amount(k, r, p) for k, r, p in
                zip(self._kernel_shape, self._rate, self._padding)]
    if self._data_format.startswith("NC"):
      paddings = [[0, 0], [0, 0]] + paddings
    else:
      paddings = [[0, 0]] + paddings + [[0, 0]]

    return tf.pad(inputs, paddings, mode=self._padding_value)

  def _apply_conv(self, inputs, w):
    """Applies the convolution op (`tf.nn.convolution`) to padded inputs."""
    def conv(x, data_format):
      return tf.nn.convolution(x, w, strides=self._stride,
                               padding=self._conv_op_padding,
                               dilation_rate=self._rate,
                               data_format=data_format)
    return _channels_last_if_needed(conv, inputs, self._data_format)

  @property
  def stride(self):
    """Full stride, with 1s inserted for the batch and channel dimensions."""
    return _full_stride(self._stride, self._data_format)

  @property
  def rate(self):
    """Dilation rate per spatial dimension."""
    return self._rate

  @property
  def padding(self):
    """The padding type, if the same in every dimension (else ValueError)."""
    if all(p == self._padding[0] for p in self._padding):
      return self._padding[0]
    raise ValueError("This layer uses different paddings for different "
                     "dimensions. Use .paddings if you want a tuple of "
                     "per-dimension padding settings.")

  @property
  def paddings(self):
    """Tuple of per-dimension padding types."""
    return self._padding

  @property
  def padding_value(self):
    """How explicit padding is filled (CONSTANT, REFLECT or SYMMETRIC)."""
    return self._padding_value

  @property
  def conv_op_padding(self):
    """The padding given to the conv op (SAME or VALID)."""
    return self._conv_op_padding

  @property
  def mask(self):
    return self._mask

  def clone(self, name=None):
    """A new module of the same class and configuration (no shared variables).

    Unlike upstream, which dropped it, `padding_value` is kept, and the mask
    given to the constructor is passed on.
    """
    if name is None:
      name = self.module_name + "_clone"
    return type(self)(output_channels=self.output_channels,
                      kernel_shape=self._kernel_shape,
                      stride=self._stride,
                      rate=self._rate,
                      padding=self._padding,
                      use_bias=self._use_bias,
                      initializers=self._initializers,
                      partitioners=self._partitioners,
                      regularizers=self._regularizers,
                      mask=self._original_mask,
                      data_format=self._data_format,
                      padding_value=self._padding_value,
                      custom_getter=self._custom_getter_arg,
                      name=name)

  def _transpose(self, transpose_cls, name):
    """Shared body of ConvND.transpose() (see Conv2D.transpose)."""
    if any(x > 1 for x in self._rate):
      raise base.NotSupportedError(
          "Cannot transpose a dilated convolution module.")
    if any(p != self._conv_op_padding for p in self._padding):
      raise base.NotSupportedError(
          "Cannot transpose a convolution using mixed paddings or paddings "
          "other than SAME or VALID (or SAME with a padding_value other than "
          "CONSTANT).")
    if name is None:
      name = self.module_name + "_transpose"

    def output_shape():
      return _spatial(self.input_shape, self._data_format)

    return transpose_cls(output_channels=lambda: self.input_channels,
                         output_shape=output_shape,
                         kernel_shape=self._kernel_shape,
                         stride=self._stride,
                         padding=self._conv_op_padding,
                         use_bias=self._use_bias,
                         initializers=self._initializers,
                         partitioners=self._partitioners,
                         regularizers=self._regularizers,
                         data_format=self._data_format,
                         custom_getter=self._custom_getter_arg,
                         name=name)


class _ConvNDTranspose(_ConvBase):
  """N-dimensional transposed convolution (base of Conv{1,2,3}DTranspose).

  Computes the gradient of a convolution with respect to its input: maps
  inputs of spatial size `in` to `output_shape` (by default `in * stride` for
  SAME, `in * stride + kernel - 1` for VALID).
  """

  _BIAS_ERROR_NAME = "Conv2DTranspose"

  def __init__(self, output_channels, output_shape=None, kernel_shape=None,
               stride=1, padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NHWC, custom_getter=None,
               name="conv_nd_transpose"):
    """Constructs the module (see the public subclasses for the arguments).

    Raises:
      NotSupportedError: more than 3 spatial dimensions.
      IncompatibleShapeError: bad output_shape, kernel_shape or stride.
      ValueError: kernel_shape None, padding not SAME/VALID.
      KeyError, TypeError: bad initializers/partitioners/regularizers.
    """
    super(_ConvNDTranspose, self).__init__(custom_getter=custom_getter,
                                           name=name)
    self._data_format = data_format
    self._n = len(self._data_format) - 2
    if self._n > 3:
      raise base.NotSupportedError(
          "We only support (1, 2, 3) convolution transpose operations. "
          "Received data format of: {}".format(self._data_format))
    self._init_common(output_channels, use_bias, initializers, partitioners,
                      regularizers, custom_getter)

    if output_shape is None:
      self._output_shape = None
      self._use_default_output_shape = True
    else:
      self._use_default_output_shape = False
      if callable(output_shape):
        self._output_shape = output_shape
      else:
        self._output_shape = _fill_and_verify_parameter_shape(
            output_shape, self._n, "output_shape")

    if kernel_shape is None:
      raise ValueError("`kernel_shape` cannot be None.")
    self._kernel_shape = _fill_and_verify_parameter_shape(kernel_shape, self._n,
                                                          "kernel")

    if (isinstance(stride, collections.abc.Sequence) and
        not isinstance(stride, str) and len(stride) == len(data_format)):
      if self._data_format.startswith("NC"):
        if not stride[0] == stride[1] == 1:
          raise base.IncompatibleShapeError(
              "Invalid stride: First and second element must be 1.")
      elif not stride[0] == stride[-1] == 1:
        raise base.IncompatibleShapeError(
            "Invalid stride: First and last element must be 1.")
      self._stride = tuple(stride)
    else:
      self._stride = tuple(_fill_and_one_pad_stride(stride, self._n,
                                                    self._data_format))

    self._padding = _verify_conv_op_supported_padding(padding)

  def _build(self, inputs):
    """Connects the transposed convolution to `inputs`.

    Args:
      inputs: a float tensor of rank N + 2 laid out as `data_format`, with a
        known number of channels.

    Returns:
      Tensor of spatial shape `output_shape` with `output_channels` channels.

    Raises:
      IncompatibleShapeError: wrong input rank or output_shape rank, or the
        channel count changed since an earlier connection.
      UnderspecifiedError: unknown channels, or an output_shape that cannot
        be inferred (unknown spatial input dimensions).
      TypeError: non-float inputs.
    """
    self._record_inputs(inputs)

    if self._use_default_output_shape:
      # Recomputed per connection, so inputs of other sizes work too.
      self._output_shape = _default_transpose_size(
          _spatial(self._input_shape, self._data_format),
          _spatial(self._stride, self._data_format),
          kernel_shape=self._kernel_shape, padding=self._padding)

    output_shape = self.output_shape
    if len(output_shape) != self._n:
      raise base.IncompatibleShapeError(
          "Output shape must have rank {}, but instead was {}".format(
              self._n, len(output_shape)))
    if any(size is None for size in output_shape):
      raise base.UnderspecifiedError(
          "The output_shape {} of {} is not fully known (did the module it "
          "was transposed from see inputs of unknown spatial size?).".format(
              output_shape, self.scope_name))

    self._w = self._construct_w(inputs)

    inputs_checked = self._check_input_size_matches_output_shape(inputs)
    outputs = _channels_last_if_needed(self._apply_conv_transpose,
                                       inputs_checked, self._data_format)
    outputs = self._add_bias(inputs, outputs)
    return self._recover_shape_information(inputs, outputs)

  def _check_input_size_matches_output_shape(self, inputs):
    """Makes a mismatch of input size and output_shape a clear run-time error.

    A transposed conv maps `output_shape` back to exactly one input size per
    dimension (SAME: ceil(out / stride), VALID: (out - k) // stride + 1).
    As upstream, a mismatch is an `InvalidArgumentError` at run time; the
    assertion gives it a message (the oneDNN kernels would raise an opaque
    `AbortedError` instead). Nothing is added when sizes are known and agree.
    """
    in_sizes = _spatial(inputs.get_shape().as_list(), self._data_format)
    expected = []
    for out, k, s in zip(self.output_shape, self._kernel_shape,
                         _spatial(self._stride, self._data_format)):
      if self._padding == SAME:
        expected.append(-(-int(out) // int(s)))
      else:
        expected.append((int(out) - int(k)) // int(s) + 1)
    if all(i is not None for i in in_sizes):
      if tuple(in_sizes) == tuple(expected):
        return inputs
      tf.logging.warning(
          "%s: input spatial shape %s cannot produce output_shape %s "
          "(expected input spatial shape %s); running it will fail.",
          self.scope_name, in_sizes, self.output_shape, expected)
    message = ("{}: the spatial input shape must be {} to produce "
               "output_shape {} with kernel {}, stride {} and padding {}; got "
               "input shape:").format(
                   self.scope_name, tuple(expected), tuple(self.output_shape),
                   self._kernel_shape,
                   _spatial(self._stride, self._data_format), self._padding)
    if self._data_format.startswith("NC"):
      actual = tf.shape(inputs)[2:]
    else:
      actual = tf.shape(inputs)[1:-1]
    check = tf.Assert(
        tf.reduce_all(tf.equal(actual, tf.constant(expected, actual.dtype))),
        [message, tf.shape(inputs)])
    with tf.control_dependencies([check]):
      return tf.identity(inputs)

  def _construct_w(self, inputs):
    """Creates `w`: kernel_shape + [output_channels, input_channels]."""
    # 1D transposed convs run as 2D ones with a unit height.
    if self._n == 1:
      weight_shape = (1,) + self._kernel_shape + (self.output_channels,
                                                  self._input_channels)
    else:
      weight_shape = self._kernel_shape + (self.output_channels,
                                           self._input_channels)

    return self._get_weight("w", weight_shape, inputs.dtype,
                            self._kernel_shape + (self._input_channels,))

  def _apply_conv_transpose(self, inputs, data_format):
    """The transposed conv op for `inputs` laid out as `data_format`."""
    spatial_stride = _spatial(self._stride, self._data_format)
    out_spatial = tuple(int(s) for s in self.output_shape)
    squeeze_dim = None
    if self._n == 1:
      squeeze_dim = 1 if data_format == DATA_FORMAT_NWC else 2
      data_format = (DATA_FORMAT_NHWC if data_format == DATA_FORMAT_NWC
                     else DATA_FORMAT_NCHW)
      inputs = tf.expand_dims(inputs, squeeze_dim)
      spatial_stride = (1,) + spatial_stride
      out_spatial = (1,) + out_spatial

    if data_format.startswith("NC"):
      non_batch = (self.output_channels,) + out_spatial
    else:
      non_batch = out_spatial + (self.output_channels,)
    batch_size = tf.expand_dims(tf.shape(inputs)[0], 0)
    output_shape = tf.concat(
        [batch_size, tf.constant(non_batch, dtype=batch_size.dtype)], 0)
    strides = _full_stride(spatial_stride, data_format)

    if self._n <= 2:
      outputs = tf.nn.conv2d_transpose(inputs, self._w, output_shape,
                                       strides=strides, padding=self._padding,
                                       data_format=data_format)
    else:
      outputs = tf.nn.conv3d_transpose(inputs, self._w, output_shape,
                                       strides=strides, padding=self._padding,
                                       data_format=data_format)
    if squeeze_dim is not None:
      outputs = tf.squeeze(outputs, [squeeze_dim])
    return outputs

  def _recover_shape_information(self, inputs, outputs):
    """Sets the static output shape (batch, output_shape, channels)."""
    batch_size = inputs.get_shape().as_list()[0]
    if self._data_format.startswith("NC"):
      shape = (batch_size, self.output_channels) + tuple(self.output_shape)
    else:
      shape = (batch_size,) + tuple(self.output_shape) + (
          self.output_channels,)
    outputs.set_shape(shape)
    return outputs

  @property
  def stride(self):
    """Full stride, including the unit batch and channel strides."""
    return self._stride

  @property
  def output_shape(self):
    """Spatial output size (NotConnectedError if unknown and unconnected)."""
    if self._output_shape is None:
      self._ensure_is_connected()
    if callable(self._output_shape):
      self._output_shape = tuple(self._output_shape())
    return self._output_shape

  @property
  def padding(self):
    return self._padding

  @property
  def conv_op_padding(self):
    return self._padding

  def _transpose(self, forward_cls, name):
    """Shared body of ConvNDTranspose.transpose()."""
    if name is None:
      name = self.module_name + "_transpose"
    return forward_cls(output_channels=lambda: self.input_channels,
                       kernel_shape=self._kernel_shape,
                       stride=_spatial(self._stride, self._data_format),
                       padding=self._padding,
                       use_bias=self._use_bias,
                       initializers=self._initializers,
                       partitioners=self._partitioners,
                       regularizers=self._regularizers,
                       data_format=self._data_format,
                       custom_getter=self._custom_getter_arg,
                       name=name)


_FORWARD_ARGS_DOC = """
    Args:
      output_channels: number of output channels (int, or a callable
        returning one, evaluated at connection time).
      kernel_shape: int, or sequence of one int per spatial dimension.
      stride: int or sequence of spatial strides (or a full-length stride).
      rate: int or sequence of dilation rates; rate > 1 with stride > 1 is not
        supported.
      padding: SAME, VALID, FULL, CAUSAL or REVERSE_CAUSAL, or a sequence of
        these, one per spatial dimension.
      use_bias: whether to add a bias `b`.
      initializers: optional dict for "w" and "b".
      partitioners: optional dict for "w" and "b".
      regularizers: optional dict for "w" and "b".
      mask: optional float mask (tensor, array or list) multiplied into `w`;
        its shape must be a prefix of `w`'s shape.
      data_format: channels-last or channels-first layout.
      padding_value: CONSTANT, REFLECT or SYMMETRIC filling of explicit
        padding.
      custom_getter: custom getter (or dict of them) for the variables.
      name: module name.
"""


class Conv1D(_ConvND, base.Transposable):
  """1D convolution: inputs [batch, width, channels] (NWC) or NCW.

  `w` has shape [kernel, input_channels, output_channels], `b`
  [output_channels].
  """

  def __init__(self, output_channels, kernel_shape, stride=1, rate=1,
               padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None, mask=None,
               data_format=DATA_FORMAT_NWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="conv_1d"):
    _check_data_format(data_format, SUPPORTED_1D_DATA_FORMATS)
    super(Conv1D, self).__init__(
        output_channels=output_channels, kernel_shape=kernel_shape,
        stride=stride, rate=rate, padding=padding, use_bias=use_bias,
        initializers=initializers, partitioners=partitioners,
        regularizers=regularizers, mask=mask, data_format=data_format,
        padding_value=padding_value, custom_getter=custom_getter, name=name)
  __init__.__doc__ = "Constructs a Conv1D module.\n" + _FORWARD_ARGS_DOC

  def transpose(self, name=None):
    """Returns a Conv1DTranspose mapping this module's outputs to its inputs.

    Raises:
      NotSupportedError: dilated module, or padding other than SAME/VALID.
    """
    return self._transpose(Conv1DTranspose, name)


class CausalConv1D(_ConvND):
  """Deprecated 1D convolution with CAUSAL padding (use Conv1D(padding=CAUSAL)).

  Output at time t depends only on inputs at times <= t.
  """

  def __init__(self, output_channels, kernel_shape, stride=1, rate=1,
               use_bias=True, initializers=None, partitioners=None,
               regularizers=None, mask=None, padding=CAUSAL,
               data_format=DATA_FORMAT_NWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="causal_conv_1d"):
    util.deprecation_warning(
        "CausalConv1D is deprecated, please use Conv1D with padding=CAUSAL.")
    _check_data_format(data_format, SUPPORTED_1D_DATA_FORMATS)
    if padding not in (CAUSAL, (CAUSAL,), [CAUSAL]):  # clone() gives a tuple.
      # As upstream: the argument is ignored, the padding is always CAUSAL.
      util.deprecation_warning(
          "You specified a non-causal padding type for CausalConv1D, this has "
          "been ignored and you will get CAUSAL padding. Note CausalConv1D is "
          "deprecated, please switch to Conv1D with padding=CAUSAL.")
    super(CausalConv1D, self).__init__(
        output_channels=output_channels, kernel_shape=kernel_shape,
        stride=stride, rate=rate, padding=CAUSAL, use_bias=use_bias,
        initializers=initializers, partitioners=partitioners,
        regularizers=regularizers, mask=mask, data_format=data_format,
        padding_value=padding_value, custom_getter=custom_getter, name=name)
  __init__.__doc__ = ("Constructs a CausalConv1D module (padding ignored).\n" +
                      _FORWARD_ARGS_DOC)


class Conv2D(_ConvND, base.Transposable):
  """2D convolution: inputs [batch, height, width, channels] (NHWC) or NCHW.

  `w` has shape [kh, kw, input_channels, output_channels], `b`
  [output_channels].
  """

  def __init__(self, output_channels, kernel_shape, stride=1, rate=1,
               padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None, mask=None,
               data_format=DATA_FORMAT_NHWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="conv_2d"):
    _check_data_format(data_format, SUPPORTED_2D_DATA_FORMATS)
    super(Conv2D, self).__init__(
        output_channels=output_channels, kernel_shape=kernel_shape,
        stride=stride, rate=rate, padding=padding, use_bias=use_bias,
        initializers=initializers, partitioners=partitioners,
        regularizers=regularizers, mask=mask, data_format=data_format,
        padding_value=padding_value, custom_getter=custom_getter, name=name)
  __init__.__doc__ = "Constructs a Conv2D module.\n" + _FORWARD_ARGS_DOC

  def transpose(self, name=None):
    """Returns a Conv2DTranspose mapping this module's outputs to its inputs.

    Its output_channels and output_shape come from this module's input once
    connected.

    Raises:
      NotSupportedError: dilated module, or padding other than SAME/VALID.
    """
    return self._transpose(Conv2DTranspose, name)


class Conv3D(_ConvND, base.Transposable):
  """3D convolution: inputs [batch, depth, height, width, channels] or NCDHW.

  `w` has shape [kd, kh, kw, input_channels, output_channels], `b`
  [output_channels].
  """

  def __init__(self, output_channels, kernel_shape, stride=1, rate=1,
               padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None, mask=None,
               data_format=DATA_FORMAT_NDHWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="conv_3d"):
    _check_data_format(data_format, SUPPORTED_3D_DATA_FORMATS)
    super(Conv3D, self).__init__(
        output_channels=output_channels, kernel_shape=kernel_shape,
        stride=stride, rate=rate, padding=padding, use_bias=use_bias,
        initializers=initializers, partitioners=partitioners,
        regularizers=regularizers, mask=mask, data_format=data_format,
        padding_value=padding_value, custom_getter=custom_getter, name=name)
  __init__.__doc__ = "Constructs a Conv3D module.\n" + _FORWARD_ARGS_DOC

  def transpose(self, name=None):
    """Returns a Conv3DTranspose mapping this module's outputs to its inputs.

    Raises:
      NotSupportedError: dilated module, or padding other than SAME/VALID.
    """
    return self._transpose(Conv3DTranspose, name)


_TRANSPOSE_ARGS_DOC = """
    Args:
      output_channels: number of output channels (int or callable).
      output_shape: spatial output size (ints, a TensorShape, or a callable
        returning them); None infers it per connection (SAME: in * stride,
        VALID: in * stride + kernel - 1).
      kernel_shape: int or sequence of kernel sizes (required).
      stride: int, sequence of spatial strides, or full-length stride.
      padding: SAME or VALID.
      use_bias: whether to add a bias `b`.
      initializers: optional dict for "w" and "b".
      partitioners: optional dict for "w" and "b".
      regularizers: optional dict for "w" and "b".
      data_format: channels-last or channels-first layout.
      custom_getter: custom getter (or dict of them) for the variables.
      name: module name.
"""


class Conv1DTranspose(_ConvNDTranspose, base.Transposable):
  """1D transposed convolution (NWC or NCW); `w`: [1, k, out, in]."""

  def __init__(self, output_channels, output_shape=None, kernel_shape=None,
               stride=1, padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NWC, custom_getter=None,
               name="conv_1d_transpose"):
    _check_data_format(data_format, SUPPORTED_1D_DATA_FORMATS)
    super(Conv1DTranspose, self).__init__(
        output_channels=output_channels, output_shape=output_shape,
        kernel_shape=kernel_shape, stride=stride, padding=padding,
        use_bias=use_bias, initializers=initializers,
        partitioners=partitioners, regularizers=regularizers,
        data_format=data_format, custom_getter=custom_getter, name=name)
  __init__.__doc__ = ("Constructs a Conv1DTranspose module.\n" +
                      _TRANSPOSE_ARGS_DOC)

  def transpose(self, name=None):
    """Returns a Conv1D mapping this module's outputs back to its inputs."""
    return self._transpose(Conv1D, name)


class Conv2DTranspose(_ConvNDTranspose, base.Transposable):
  """2D transposed convolution (NHWC or NCHW); `w`: [kh, kw, out, in]."""

  def __init__(self, output_channels, output_shape=None, kernel_shape=None,
               stride=1, padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NHWC, custom_getter=None,
               name="conv_2d_transpose"):
    _check_data_format(data_format, SUPPORTED_2D_DATA_FORMATS)
    super(Conv2DTranspose, self).__init__(
        output_channels=output_channels, output_shape=output_shape,
        kernel_shape=kernel_shape, stride=stride, padding=padding,
        use_bias=use_bias, initializers=initializers,
        partitioners=partitioners, regularizers=regularizers,
        data_format=data_format, custom_getter=custom_getter, name=name)
  __init__.__doc__ = ("Constructs a Conv2DTranspose module.\n" +
                      _TRANSPOSE_ARGS_DOC)

  def transpose(self, name=None):
    """Returns a Conv2D mapping this module's outputs back to its inputs."""
    return self._transpose(Conv2D, name)


class Conv3DTranspose(_ConvNDTranspose, base.Transposable):
  """3D transposed convolution (NDHWC or NCDHW); `w`: [kd, kh, kw, out, in]."""

  def __init__(self, output_channels, output_shape=None, kernel_shape=None,
               stride=1, padding=SAME, use_bias=True, initializers=None,
               partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NDHWC, custom_getter=None,
               name="conv_3d_transpose"):
    _check_data_format(data_format, SUPPORTED_3D_DATA_FORMATS)
    super(Conv3DTranspose, self).__init__(
        output_channels=output_channels, output_shape=output_shape,
        kernel_shape=kernel_shape, stride=stride, padding=padding,
        use_bias=use_bias, initializers=initializers,
        partitioners=partitioners, regularizers=regularizers,
        data_format=data_format, custom_getter=custom_getter, name=name)
  __init__.__doc__ = ("Constructs a Conv3DTranspose module.\n" +
                      _TRANSPOSE_ARGS_DOC)

  def transpose(self, name=None):
    """Returns a Conv3D mapping this module's outputs back to its inputs."""
    return self._transpose(Conv3D, name)


class DepthwiseConv2D(_ConvND):
  """Depthwise 2D convolution: each input channel convolved separately.

  Each of the `in` channels gets `channel_multiplier` filters, so the output
  has `in * channel_multiplier` channels. `w`: [kh, kw, in, multiplier],
  `b`: [in * multiplier].
  """

  def __init__(self, channel_multiplier, kernel_shape, stride=1, padding=SAME,
               use_bias=True, initializers=None, partitioners=None,
               regularizers=None, data_format=DATA_FORMAT_NHWC,
               padding_value=CONSTANT_PADDING, custom_getter=None,
               name="conv_2d_depthwise"):
    """Constructs a DepthwiseConv2D module.

    Args:
      channel_multiplier: int >= 1, filters per input channel.
      kernel_shape, stride, padding, use_bias, initializers, partitioners,
      regularizers, data_format, padding_value, custom_getter, name: as for
        Conv2D (no rate, no mask).

    Raises:
      ValueError: channel_multiplier not an integer >= 1, bad data_format.
    """
    self._channel_multiplier = _check_channel_multiplier(channel_multiplier)
    _check_data_format(data_format, SUPPORTED_2D_DATA_FORMATS)
    super(DepthwiseConv2D, self).__init__(
        output_channels=lambda: self.input_channels * self._channel_multiplier,
        kernel_shape=kernel_shape, stride=stride, padding=padding,
        use_bias=use_bias, initializers=initializers,
        partitioners=partitioners, regularizers=regularizers,
        data_format=data_format, padding_value=padding_value,
        custom_getter=custom_getter, name=name)

  def _construct_w(self, inputs):
    weight_shape = self._kernel_shape + (self._input_channels,
                                         self._channel_multiplier)
    return self._get_weight("w", weight_shape, inputs.dtype,
                            self._kernel_shape)

  def _apply_conv(self, inputs, w):
    def conv(x, data_format):
      def op(x, strides, padding):
        return tf.nn.depthwise_conv2d(x, w, strides=strides, padding=padding,
                                      data_format=data_format)
      return _depthwise_with_strides(op, x, self._stride, self._kernel_shape,
                                     self._conv_op_padding, data_format)
    return _channels_last_if_needed(conv, inputs, self._data_format)

  @property
  def channel_multiplier(self):
    return self._channel_multiplier

  def clone(self, name=None):
    """A new module with the same configuration (no shared variables)."""
    return DepthwiseConv2D(
        channel_multiplier=self._channel_multiplier,
        kernel_shape=self._kernel_shape, stride=self._stride,
        padding=self._padding, use_bias=self._use_bias,
        initializers=self._initializers, partitioners=self._partitioners,
        regularizers=self._regularizers, data_format=self._data_format,
        padding_value=self._padding_value,
        custom_getter=self._custom_getter_arg,
        name=name or self.module_name + "_clone")


class InPlaneConv2D(_ConvND):
  """2D convolution with one [kh, kw] filter shared by all channels.

  Each channel is convolved with the same filter; output channels = input
  channels. `w`: [kh, kw, 1, 1], `b`: [input_channels].
  """

  def __init__(self, kernel_shape, stride=1, padding=SAME, use_bias=True,
               initializers=None, partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NHWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="in_plane_conv2d"):
    """Constructs an InPlaneConv2D module (arguments as for Conv2D).

    Raises:
      ValueError: bad data_format.
    """
    _check_data_format(data_format, SUPPORTED_2D_DATA_FORMATS)
    super(InPlaneConv2D, self).__init__(
        output_channels=lambda: self.input_channels,
        kernel_shape=kernel_shape, stride=stride, padding=padding,
        use_bias=use_bias, initializers=initializers,
        partitioners=partitioners, regularizers=regularizers,
        data_format=data_format, padding_value=padding_value,
        custom_getter=custom_getter, name=name)

  def _construct_w(self, inputs):
    weight_shape = self._kernel_shape + (1, 1)
    return self._get_weight("w", weight_shape, inputs.dtype,
                            self._kernel_shape)

  def _apply_conv(self, inputs, w):
    tiled_weights = tf.tile(w, [1, 1, self._input_channels, 1])

    def conv(x, data_format):
      def op(x, strides, padding):
        return tf.nn.depthwise_conv2d(x, tiled_weights, strides=strides,
                                      padding=padding, data_format=data_format)
      return _depthwise_with_strides(op, x, self._stride, self._kernel_shape,
                                     self._conv_op_padding, data_format)
    return _channels_last_if_needed(conv, inputs, self._data_format)

  def clone(self, name=None):
    """A new module with the same configuration (no shared variables)."""
    return InPlaneConv2D(
        kernel_shape=self._kernel_shape, stride=self._stride,
        padding=self._padding, use_bias=self._use_bias,
        initializers=self._initializers, partitioners=self._partitioners,
        regularizers=self._regularizers, data_format=self._data_format,
        padding_value=self._padding_value,
        custom_getter=self._custom_getter_arg,
        name=name or self.module_name + "_clone")


class _SeparableConv(_ConvND):
  """Shared parts of SeparableConv1D/2D: depthwise then pointwise conv."""

  def __init__(self, output_channels, channel_multiplier, kernel_shape,
               stride, rate, padding, use_bias, initializers, partitioners,
               regularizers, data_format, padding_value, custom_getter, name):
    self._channel_multiplier = _check_channel_multiplier(channel_multiplier)
    super(_SeparableConv, self).__init__(
        output_channels=output_channels, kernel_shape=kernel_shape,
        stride=stride, rate=rate, padding=padding, use_bias=use_bias,
        initializers=initializers, partitioners=partitioners,
        regularizers=regularizers, data_format=data_format,
        padding_value=padding_value, custom_getter=custom_getter, name=name)

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):
    return {"w_dw", "w_pw", "b"} if use_bias else {"w_dw", "w_pw"}

  def _construct_w(self, inputs):
    """Creates `w_dw` and `w_pw`; returns them as a tuple."""
    kernel_shape = self._kernel_shape
    if self._n == 1:
      kernel_shape = (1,) + kernel_shape
    depthwise_weight_shape = kernel_shape + (self._input_channels,
                                             self._channel_multiplier)
    pointwise_input_size = self._channel_multiplier * self._input_channels
    pointwise_weight_shape = (1, 1, pointwise_input_size, self.output_channels)

    w_dw = self._get_weight("w_dw", depthwise_weight_shape, inputs.dtype,
                            depthwise_weight_shape[:2])
    w_pw = self._get_weight("w_pw", pointwise_weight_shape, inputs.dtype,
                            pointwise_weight_shape[:3])
    return w_dw, w_pw

  def _apply_conv(self, inputs, w):
    w_dw, w_pw = w

    def conv(x, data_format):
      stride = self._stride
      rate = self._rate
      kernel_shape = self._kernel_shape
      squeeze_dim = None
      if self._n == 1:
        # Run as a 2D convolution over a unit height. The height gets the
        # same stride as the width (it has no effect on a unit height with a
        # unit kernel height) because the CPU kernels need equal strides.
        squeeze_dim = 1 if data_format == DATA_FORMAT_NWC else 2
        data_format = (DATA_FORMAT_NHWC if data_format == DATA_FORMAT_NWC
                       else DATA_FORMAT_NCHW)
        x = tf.expand_dims(x, axis=squeeze_dim)
        stride = stride + stride
        rate = (1,) + rate
        kernel_shape = (1,) + kernel_shape

      def op(x, strides, padding):
        return tf.nn.separable_conv2d(x, w_dw, w_pw, strides=strides,
                                      rate=rate, padding=padding,
                                      data_format=data_format)
      outputs = _depthwise_with_strides(op, x, stride, kernel_shape,
                                        self._conv_op_padding, data_format)
      if squeeze_dim is not None:
        outputs = tf.squeeze(outputs, [squeeze_dim])
      return outputs
    return _channels_last_if_needed(conv, inputs, self._data_format)

  @property
  def channel_multiplier(self):
    return self._channel_multiplier

  @property
  def w_dw(self):
    """The depthwise weights."""
    self._ensure_is_connected()
    return self._w[0]

  @property
  def w_pw(self):
    """The pointwise (1x1) weights."""
    self._ensure_is_connected()
    return self._w[1]

  def clone(self, name=None):
    """A new module with the same configuration (no shared variables)."""
    if name is None:
      name = self.module_name + "_clone"
    return type(self)(output_channels=self.output_channels,
                      channel_multiplier=self._channel_multiplier,
                      kernel_shape=self._kernel_shape,
                      stride=self._stride,
                      rate=self._rate,
                      padding=self._padding,
                      use_bias=self._use_bias,
                      initializers=self._initializers,
                      partitioners=self._partitioners,
                      regularizers=self._regularizers,
                      data_format=self._data_format,
                      padding_value=self._padding_value,
                      custom_getter=self._custom_getter_arg,
                      name=name)


class SeparableConv2D(_SeparableConv):
  """Separable 2D convolution: depthwise conv, then a 1x1 pointwise conv.

  `w_dw`: [kh, kw, in, multiplier], `w_pw`: [1, 1, in * multiplier, out],
  `b`: [out]. The `w` property returns `(w_dw, w_pw)`.
  """

  def __init__(self, output_channels, channel_multiplier, kernel_shape,
               stride=1, rate=1, padding=SAME, use_bias=True,
               initializers=None, partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NHWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="separable_conv2d"):
    """Constructs a SeparableConv2D module.

    Args:
      output_channels: number of output channels.
      channel_multiplier: int >= 1, depthwise filters per input channel.
      kernel_shape, stride, rate, padding, use_bias, data_format,
      padding_value, custom_getter, name: as for Conv2D (no mask).
      initializers, partitioners, regularizers: dicts keyed by "w_dw",
        "w_pw" and "b".

    Raises:
      ValueError: bad channel_multiplier or data_format.
    """
    _check_data_format(data_format, SUPPORTED_2D_DATA_FORMATS)
    super(SeparableConv2D, self).__init__(
        output_channels, channel_multiplier, kernel_shape, stride, rate,
        padding, use_bias, initializers, partitioners, regularizers,
        data_format, padding_value, custom_getter, name)


class SeparableConv1D(_SeparableConv):
  """Separable 1D convolution: depthwise conv, then a pointwise conv.

  `w_dw`: [1, k, in, multiplier], `w_pw`: [1, 1, in * multiplier, out],
  `b`: [out]. The `w` property returns `(w_dw, w_pw)`.
  """

  def __init__(self, output_channels, channel_multiplier, kernel_shape,
               stride=1, rate=1, padding=SAME, use_bias=True,
               initializers=None, partitioners=None, regularizers=None,
               data_format=DATA_FORMAT_NWC, padding_value=CONSTANT_PADDING,
               custom_getter=None, name="separable_conv1d"):
    """Constructs a SeparableConv1D module (arguments as SeparableConv2D).

    Raises:
      ValueError: bad channel_multiplier or data_format.
    """
    _check_data_format(data_format, SUPPORTED_1D_DATA_FORMATS)
    super(SeparableConv1D, self).__init__(
        output_channels, channel_multiplier, kernel_shape, stride, rate,
        padding, use_bias, initializers, partitioners, regularizers,
        data_format, padding_value, custom_getter, name)
