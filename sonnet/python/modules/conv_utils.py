"""Private helpers of conv.py: layouts, and ops the CPU kernels lack.

TensorFlow's stock CPU kernels (oneDNN off) implement convolutions only for
channels-last data and depthwise convolutions only for equal row and column
strides; these helpers compute such cases exactly with supported ops.
The public conv API lives in `sonnet.python.modules.conv`.
"""

import tensorflow.compat.v1 as tf

# Conv-op padding types (the same strings as `conv.SAME` / `conv.VALID`).
SAME = "SAME"
VALID = "VALID"


def _spatial(values, data_format):
  """The spatial entries of a full (batch, ..., channels) tuple."""
  values = tuple(values)
  if data_format.startswith("NC"):
    return values[2:]
  return values[1:-1]


def _full_stride(spatial_stride, data_format):
  """Inserts unit batch and channel strides for `data_format`."""
  spatial_stride = tuple(spatial_stride)
  if data_format.startswith("NC"):
    return (1, 1) + spatial_stride
  return (1,) + spatial_stride + (1,)


def _channels_last_format(data_format):
  return "N" + data_format[2:] + "C"


_GPU_AVAILABLE = []


def _gpu_available():
  """Whether TensorFlow sees a GPU (checked once per process)."""
  if not _GPU_AVAILABLE:
    try:
      _GPU_AVAILABLE.append(bool(tf.config.list_physical_devices("GPU")))
    except Exception:  # pylint: disable=broad-except
      _GPU_AVAILABLE.append(False)
  return _GPU_AVAILABLE[0]


def _channels_last_if_needed(op_fn, inputs, data_format):
  """Runs `op_fn(inputs, data_format)`, channels-last where needed on CPU.

  TensorFlow's default CPU kernels implement Conv2D, Conv3D, depthwise and
  transposed convolutions for channels-last data only (channels-first ones
  fail at run time with "only supports NHWC" / Unimplemented errors unless
  the oneDNN kernels happen to be active). So unless a GPU is present and the
  op is not pinned to a CPU, a channels-first op is computed as
  `transpose(op_fn(transpose(inputs), channels-last format))`, which is
  exactly the channels-first result.

  Args:
    op_fn: `op_fn(inputs, data_format)`, computing the op for `inputs` laid
      out as `data_format` and returning outputs in the same layout.
    inputs: input tensor in `data_format`.
    data_format: the module's data format.

  Returns:
    The outputs in `data_format`.
  """
  if not data_format.startswith("NC"):
    return op_fn(inputs, data_format)
  if _gpu_available():
    outputs = op_fn(inputs, data_format)
    if "CPU" not in outputs.op.device.upper():
      return outputs
    # Pinned to a CPU: build the channels-last version instead (the native op
    # just built is left unused, so it never runs).
  rank = len(data_format)
  to_last = [0] + list(range(2, rank)) + [1]
  to_first = [0, rank - 1] + list(range(1, rank - 1))
  outputs = op_fn(tf.transpose(inputs, to_last),
                  _channels_last_format(data_format))
  return tf.transpose(outputs, to_first)


def _same_paddings(inputs, spatial_stride, kernel_shape, data_format):
  """The [before, after] paddings the SAME conv op would use (rate 1)."""
  spatial_axes = (range(2, len(data_format)) if data_format.startswith("NC")
                  else range(1, len(data_format) - 1))
  static = inputs.get_shape().as_list()
  paddings = [[0, 0] for _ in data_format]
  for axis, s, k in zip(spatial_axes, spatial_stride, kernel_shape):
    size = static[axis]
    if size is None:
      size = tf.shape(inputs)[axis]
      total = tf.maximum(((size + s - 1) // s - 1) * s + k - size, 0)
    else:
      total = max(((size + s - 1) // s - 1) * s + k - size, 0)
    paddings[axis] = [total // 2, total - total // 2]
  return paddings


def _depthwise_with_strides(op, inputs, spatial_stride, kernel_shape, padding,
                            data_format):
  """Runs `op(inputs, full_strides, padding)`, a depthwise-based conv op.

  TensorFlow's stock CPU depthwise kernel only supports equal row and column
  strides. For unequal ones the stride-1 result of the (explicitly SAME
  padded) input is computed and subsampled, which is exactly the strided
  result (a pointwise conv after the depthwise one commutes with this).
  """
  if len(set(spatial_stride)) <= 1:
    return op(inputs, _full_stride(spatial_stride, data_format), padding)
  if padding == SAME:
    inputs = tf.pad(inputs, _same_paddings(inputs, spatial_stride,
                                           kernel_shape, data_format))
  outputs = op(inputs, (1,) * len(data_format), VALID)
  offset = 2 if data_format.startswith("NC") else 1
  slices = [slice(None)] * len(data_format)
  for i, s in enumerate(spatial_stride):
    slices[offset + i] = slice(None, None, s)
  return outputs[tuple(slices)]
