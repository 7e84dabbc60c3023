"""Tests for the transposed convolutions of conv.py and transpose() pairs."""

import conv_reference as ref
import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import conv
import tensorflow.compat.v1 as tf

FORWARD = {1: snt.Conv1D, 2: snt.Conv2D, 3: snt.Conv3D}
TRANSPOSE = {1: snt.Conv1DTranspose, 2: snt.Conv2DTranspose,
             3: snt.Conv3DTranspose}
FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
SIZES = {1: (5,), 2: (4, 3), 3: (3, 2, 3)}


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def _inits(use_bias=True):
  inits = {"w": tf.random_normal_initializer(seed=1)}
  if use_bias:
    inits["b"] = tf.random_normal_initializer(seed=2)
  return inits


def _check_transpose(n, padding, stride, data_format, output_shape=None,
                     kernel=3, in_channels=2, out_channels=3, use_bias=True):
  rng = np.random.RandomState(n)
  x_last = rng.randn(2, *SIZES[n], in_channels).astype(np.float32)
  channels_first = data_format.startswith("NC")
  x = ref.to_channels_first(x_last) if channels_first else x_last
  module = TRANSPOSE[n](out_channels, output_shape=output_shape,
                        kernel_shape=kernel, stride=stride, padding=padding,
                        use_bias=use_bias, initializers=_inits(use_bias),
                        data_format=data_format)
  inputs = tf.placeholder(tf.float32, [None] + list(x.shape[1:]))
  outputs = module(inputs)
  fetches = [outputs, module.w] + ([module.b] if use_bias else [])
  values = _run(fetches, {inputs: x})
  out, w = values[:2]
  if n == 1:
    w = w[0]  # Stored with a leading unit height.
  stride_t = conv._fill_shape(stride, n)
  out_sizes = module.output_shape
  expected = ref.conv_transpose(x_last.astype(np.float64), w, stride_t,
                                out_sizes, padding)
  if use_bias:
    expected += values[2]
  if channels_first:
    expected = ref.to_channels_first(expected)
  assert out.shape == expected.shape
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  static = outputs.get_shape().as_list()
  assert static == [None] + list(expected.shape[1:])
  return module


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("data_format_index", [0, 1])
def test_transpose_values_default_output_shape(n, padding, stride,
                                               data_format_index):
  module = _check_transpose(n, padding, stride,
                            FORMATS[n][data_format_index])
  sizes = SIZES[n]
  if padding == "SAME":
    expected = tuple(s * stride for s in sizes)
  else:
    expected = tuple(s * stride + 2 for s in sizes)
  assert module.output_shape == expected


@pytest.mark.parametrize("n,output_shape,stride,padding,data_format", [
    (1, [9], 2, "SAME", "NWC"),
    (1, (11,), 2, "VALID", "NCW"),
    (2, tf.TensorShape([7, 5]), (2, 2), "SAME", "NCHW"),
    (2, lambda: (4, 3), 1, "SAME", "NHWC"),
    (3, (5, 4, 6), 2, "SAME", "NCDHW"),
    (3, (5, 4, 5), 1, "VALID", "NDHWC"),
])
def test_transpose_values_explicit_output_shape(n, output_shape, stride,
                                                padding, data_format):
  module = _check_transpose(n, padding, stride, data_format,
                            output_shape=output_shape)
  expected = output_shape() if callable(output_shape) else output_shape
  assert module.output_shape == tuple(expected)


def test_transpose_per_dim_kernel_stride_no_bias():
  _check_transpose(2, "SAME", (2, 1), "NHWC", kernel=(3, 2), use_bias=False)
  _check_transpose(3, "VALID", (1, 2, 1), "NCDHW", kernel=(2, 1, 3))


def test_transpose_full_length_stride():
  module = snt.Conv2DTranspose(2, kernel_shape=3, stride=(1, 2, 3, 1))
  assert module.stride == (1, 2, 3, 1)
  out = module(tf.ones([1, 2, 2, 1]))
  assert out.get_shape().as_list() == [1, 4, 6, 2]
  module = snt.Conv2DTranspose(2, kernel_shape=3, stride=(1, 1, 2, 3),
                               data_format="NCHW")
  assert module(tf.ones([1, 1, 2, 2])).get_shape().as_list() == [1, 2, 4, 6]
  with pytest.raises(snt.IncompatibleShapeError, match="First and last"):
    snt.Conv2DTranspose(2, kernel_shape=3, stride=(2, 2, 2, 1))
  with pytest.raises(snt.IncompatibleShapeError, match="First and second"):
    snt.Conv2DTranspose(2, kernel_shape=3, stride=(1, 2, 2, 2),
                        data_format="NCHW")


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("use_bias", [True, False])
def test_transpose_variables_and_properties(n, use_bias):
  module = TRANSPOSE[n](5, kernel_shape=2, stride=2, use_bias=use_bias)
  assert module.module_name == "conv_{}d_transpose".format(n)
  for prop in ("w", "input_shape", "input_channels", "output_shape"):
    with pytest.raises(snt.NotConnectedError):
      getattr(module, prop)
  module(tf.placeholder(tf.float32, [None] + list(SIZES[n]) + [4]))
  prefix = "conv_{}d_transpose/".format(n)
  shapes = {v.name: v.get_shape().as_list() for v in module.get_variables()}
  w_shape = [1, 2, 5, 4] if n == 1 else [2] * n + [5, 4]
  assert shapes[prefix + "w:0"] == w_shape
  if use_bias:
    assert shapes[prefix + "b:0"] == [5]
    assert module.b.name == prefix + "b:0"
  else:
    assert len(shapes) == 1
    with pytest.raises(AttributeError, match="No bias Variable in "
                       "Conv2DTranspose Module when `use_bias=False`."):
      _ = module.b
  assert module.has_bias == use_bias
  assert module.initializers["w"].stddev == pytest.approx(
      1 / np.sqrt(2 ** n * 4))
  assert module.input_channels == 4
  assert module.input_shape == (None,) + SIZES[n] + (4,)
  assert module.kernel_shape == (2,) * n
  assert module.padding == module.conv_op_padding == "SAME"
  assert module.stride == (1,) + (2,) * n + (1,)
  assert module.output_channels == 5
  assert module.data_format == FORMATS[n][0]
  assert module.output_shape == tuple(2 * s for s in SIZES[n])


def test_transpose_default_output_shape_follows_each_connection():
  module = snt.Conv2DTranspose(2, kernel_shape=3, stride=2, padding="VALID")
  a = module(tf.ones([1, 3, 4, 1]))
  assert module.output_shape == (8, 10)
  b = module(tf.ones([2, 5, 2, 1]))
  assert module.output_shape == (12, 6)
  assert a.get_shape().as_list() == [1, 8, 10, 2]
  assert b.get_shape().as_list() == [2, 12, 6, 2]
  va, vb = _run([a, b])
  assert va.shape == (1, 8, 10, 2) and vb.shape == (2, 12, 6, 2)


def test_transpose_unknown_batch():
  module = snt.Conv1DTranspose(3, kernel_shape=3, stride=2)
  x = tf.placeholder(tf.float32, [None, 4, 2])
  y = module(x)
  assert y.get_shape().as_list() == [None, 8, 3]
  assert _run(y, {x: np.ones((5, 4, 2))}).shape == (5, 8, 3)


def test_transpose_errors():
  with pytest.raises(ValueError, match="`kernel_shape` cannot be None."):
    snt.Conv2DTranspose(2, output_shape=(4, 4))
  with pytest.raises(snt.IncompatibleShapeError,
                     match="Invalid output_shape shape"):
    snt.Conv2DTranspose(2, output_shape=(4, 4, 4), kernel_shape=3)
  with pytest.raises(snt.IncompatibleShapeError,
                     match="Invalid output_shape shape"):
    snt.Conv2DTranspose(2, output_shape=(4, None), kernel_shape=3)
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid kernel shape"):
    snt.Conv3DTranspose(2, kernel_shape=(3, 3))
  for padding in ("FULL", "CAUSAL", ("SAME", "SAME"), "same"):
    with pytest.raises(ValueError, match="Padding must be member"):
      snt.Conv2DTranspose(2, kernel_shape=3, padding=padding)
  for cls, bad in ((snt.Conv1DTranspose, "NHWC"),
                   (snt.Conv2DTranspose, "NDHWC"),
                   (snt.Conv3DTranspose, "NCHW")):
    with pytest.raises(ValueError, match="Invalid data_format"):
      cls(2, kernel_shape=3, data_format=bad)
  with pytest.raises(snt.NotSupportedError, match="1, 2, 3"):
    conv._ConvNDTranspose(2, kernel_shape=3, data_format="NXYZWC")
  with pytest.raises(KeyError):
    snt.Conv2DTranspose(2, kernel_shape=3, use_bias=False,
                        initializers={"b": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.Conv2DTranspose(2, kernel_shape=3, regularizers={"w": 0.5})

  module = snt.Conv2DTranspose(2, kernel_shape=3)
  with pytest.raises(snt.IncompatibleShapeError, match="must have rank 4"):
    module(tf.ones([1, 4, 4]))
  with pytest.raises(snt.UnderspecifiedError, match="input channels"):
    module(tf.placeholder(tf.float32, [1, 4, 4, None]))
  with pytest.raises(TypeError, match="Input must have dtype"):
    module(tf.ones([1, 4, 4, 1], dtype=tf.int32))
  with pytest.raises(snt.UnderspecifiedError, match="spatial"):
    module(tf.placeholder(tf.float32, [1, None, 4, 1]))
  module(tf.ones([1, 4, 4, 1]))
  with pytest.raises(snt.IncompatibleShapeError, match="1 channels"):
    module(tf.ones([1, 4, 4, 3]))

  module = snt.Conv2DTranspose(2, output_shape=lambda: (4, 4, 4),
                               kernel_shape=3)
  with pytest.raises(snt.IncompatibleShapeError,
                     match="Output shape must have rank 2, but instead was 3"):
    module(tf.ones([1, 2, 2, 1]))


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_transpose_incompatible_output_shape_fails_at_run_time(static,
                                                               data_format):
  module = snt.Conv2DTranspose(2, output_shape=(9, 9), kernel_shape=3,
                               stride=2, data_format=data_format)
  shape = [None, 1, 2, 2] if data_format == "NCHW" else [None, 2, 2, 1]
  if not static:
    shape = [None, 1, None, None] if data_format == "NCHW" else [
        None, None, None, 1]
  x = tf.placeholder(tf.float32, shape)
  y = module(x)
  assert y.get_shape().as_list()[1:] == ([2, 9, 9] if data_format == "NCHW"
                                         else [9, 9, 2])
  feed = np.ones((1, 1, 2, 2) if data_format == "NCHW" else (1, 2, 2, 1))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"must be \(5, 5\) to produce output_shape"):
    _run(y, {x: feed})
  ok = np.ones((1, 1, 5, 5) if data_format == "NCHW" else (1, 5, 5, 1))
  if not static:
    assert _run(y, {x: ok}).shape[1:] == ((2, 9, 9) if data_format == "NCHW"
                                          else (9, 9, 2))


def test_transpose_partitioned_and_regularized():
  module = snt.Conv2DTranspose(
      4, kernel_shape=2, stride=2,
      partitioners={"w": tf.fixed_size_partitioner(2, axis=0)},
      regularizers={"b": tf.nn.l2_loss})
  out = module(tf.ones([1, 2, 2, 3]))
  names = sorted(v.name for v in module.get_variables())
  assert names == ["conv_2d_transpose/b:0", "conv_2d_transpose/w/part_0:0",
                   "conv_2d_transpose/w/part_1:0"]
  assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
  assert _run(out).shape == (1, 4, 4, 4)


# --- transpose() pairs --------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("data_format_index", [0, 1])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_forward_transpose_pair(n, data_format_index, padding):
  data_format = FORMATS[n][data_format_index]
  forward = FORWARD[n](4, 3, stride=2, padding=padding, use_bias=False,
                       data_format=data_format, name="fwd")
  backward = forward.transpose()
  assert isinstance(backward, TRANSPOSE[n])
  assert backward.module_name == "fwd_transpose"
  with pytest.raises(snt.NotConnectedError, match="fwd"):
    _ = backward.output_channels
  sizes = {1: (7,), 2: (7, 6), 3: (5, 6, 5)}[n]
  channels_first = data_format.startswith("NC")
  shape = ([2, 3] + list(sizes)) if channels_first else (
      [2] + list(sizes) + [3])
  x = tf.constant(np.random.RandomState(0).randn(*shape).astype(np.float32))
  y = forward(x)
  z = backward(y)
  assert backward.output_channels == 3
  assert backward.output_shape == sizes
  assert z.get_shape().as_list() == shape
  assert backward.kernel_shape == forward.kernel_shape
  assert backward.stride == forward.stride
  assert backward.padding == padding
  assert backward.data_format == data_format
  assert backward.has_bias is False
  w_forward = forward.w.get_shape().as_list()
  assert backward.w.get_shape().as_list() == (
      [1] if n == 1 else []) + w_forward

  # Adjointness with the forward weights: <conv(x), y> == <x, conv_T(y)>.
  y_val = np.random.RandomState(1).randn(*y.get_shape().as_list())
  y_in = tf.constant(y_val.astype(np.float32))
  w_fwd = forward.w[tf.newaxis] if n == 1 else forward.w
  xt = _transpose_with_weights(backward, y_in, w_fwd, data_format)
  lhs_v, rhs_v = _run([tf.reduce_sum(y * y_in), tf.reduce_sum(x * xt)])
  assert lhs_v == pytest.approx(rhs_v, rel=1e-4)


def _transpose_with_weights(module, inputs, w, data_format):
  """Runs `module`'s transposed conv op with weights `w` (not its own)."""
  saved = module._w
  module._w = w
  try:
    return conv._channels_last_if_needed(module._apply_conv_transpose, inputs,
                                         data_format)
  finally:
    module._w = saved


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("data_format_index", [0, 1])
def test_transpose_module_transpose_pair(n, data_format_index):
  data_format = FORMATS[n][data_format_index]
  up = TRANSPOSE[n](4, kernel_shape=2, stride=2, padding="VALID",
                    data_format=data_format, name="up")
  down = up.transpose()
  assert isinstance(down, FORWARD[n])
  assert down.module_name == "up_transpose"
  with pytest.raises(snt.NotConnectedError):
    _ = down.output_channels
  channels_first = data_format.startswith("NC")
  shape = [2, 3] + list(SIZES[n]) if channels_first else (
      [2] + list(SIZES[n]) + [3])
  x = tf.ones(shape)
  y = up(x)
  z = down(y)
  assert down.output_channels == 3
  assert z.get_shape().as_list() == shape
  assert down.stride == up.stride
  assert down.kernel_shape == up.kernel_shape
  assert down.padding == "VALID"
  assert _run(z).shape == tuple(shape)
  # Transposing twice gives the original configuration.
  again = down.transpose(name="again")
  assert isinstance(again, TRANSPOSE[n])
  assert again.stride == up.stride and again.padding == up.padding
  assert again.kernel_shape == up.kernel_shape


def test_transpose_shares_dicts_and_custom_getter():
  initializers = {"w": tf.ones_initializer()}
  partitioners = {"w": tf.fixed_size_partitioner(1)}
  getter_calls = []

  def custom_getter(getter, name, *args, **kwargs):
    getter_calls.append(name)
    return getter(name, *args, **kwargs)

  forward = snt.Conv2D(3, 3, initializers=initializers,
                       partitioners=partitioners, custom_getter=custom_getter)
  backward = forward.transpose()
  assert backward.partitioners is forward.partitioners
  assert backward.initializers == forward.initializers
  assert backward.regularizers == forward.regularizers
  backward(forward(tf.ones([1, 4, 4, 2])))
  assert "conv_2d_transpose/w" in getter_calls


def test_transpose_errors_for_unsupported_forward_configs():
  with pytest.raises(snt.NotSupportedError,
                     match="Cannot transpose a dilated convolution module."):
    snt.Conv2D(2, 3, rate=2).transpose()
  for kwargs in (dict(padding="FULL"), dict(padding=("SAME", "VALID")),
                 dict(padding="CAUSAL"),
                 dict(padding="SAME", padding_value="REFLECT")):
    with pytest.raises(snt.NotSupportedError):
      snt.Conv2D(2, 3, **kwargs).transpose()
  for cls in (snt.CausalConv1D, snt.DepthwiseConv2D, snt.InPlaneConv2D,
              snt.SeparableConv1D, snt.SeparableConv2D):
    assert not hasattr(cls, "transpose")


def test_transposed_module_of_unconnected_original():
  forward = snt.Conv2D(3, 3)
  backward = forward.transpose()
  with pytest.raises(snt.NotConnectedError):
    backward(tf.ones([1, 4, 4, 3]))


def test_dict_custom_getter_routes_relative_to_each_module():
  seen = []

  def record(getter, name, *args, **kwargs):
    seen.append(name)
    return getter(name, *args, **kwargs)

  forward = snt.Conv2D(3, 3, custom_getter={"w": record}, name="enc")
  backward = forward.transpose()
  clone = forward.clone()
  x = tf.ones([1, 4, 4, 2])
  backward(forward(x))
  clone(x)
  assert seen == ["enc/w", "enc_transpose/w", "enc_clone/w"]
  again = backward.transpose(name="dec")
  again(backward(forward(x)))
  assert seen[-1] == "dec/w"


def _identity_getter(getter, *args, **kwargs):
  # A tensor, not a resource variable, so that the gradient checker can feed
  # perturbed weights.
  return tf.identity(getter(*args, **kwargs))


@pytest.mark.parametrize("data_format", ["NCHW", "NWC"])
def test_transpose_gradients(data_format):
  if data_format == "NCHW":
    module = snt.Conv2DTranspose(2, kernel_shape=(3, 2), stride=(2, 1),
                                 data_format="NCHW",
                                 custom_getter=_identity_getter)
    shape = [1, 2, 3, 2]
  else:
    module = snt.Conv1DTranspose(2, kernel_shape=3, stride=2,
                                 padding="VALID",
                                 custom_getter=_identity_getter)
    shape = [1, 3, 2]
  x = tf.constant(np.random.RandomState(0).randn(*shape))
  y = module(x)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    err = tf.test.compute_gradient_error(
        [x, module.w, module.b],
        [shape, module.w.get_shape().as_list(), [2]],
        y, y.get_shape().as_list())
  assert err < 1e-6
