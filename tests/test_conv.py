"""Tests for sonnet/python/modules/conv.py: helpers and forward convolutions.

Transposed convolutions and transpose() pairs: test_conv_transpose.py;
depthwise/in-plane/separable/causal variants: test_conv_variants.py.
"""

import conv_reference as ref
import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import conv
from sonnet.python.modules import conv_utils
import tensorflow.compat.v1 as tf

CLASSES = {1: snt.Conv1D, 2: snt.Conv2D, 3: snt.Conv3D}
FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
SIZES = {1: (7,), 2: (6, 5), 3: (5, 6, 5)}
PADDINGS = ("SAME", "VALID", "FULL", "CAUSAL", "REVERSE_CAUSAL")


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def _random_init(seed):
  return tf.random_normal_initializer(seed=seed)


# --- constants and helpers ----------------------------------------------------


def test_constants():
  assert (snt.SAME, snt.VALID, snt.FULL, snt.CAUSAL, snt.REVERSE_CAUSAL) == (
      "SAME", "VALID", "FULL", "CAUSAL", "REVERSE_CAUSAL")
  assert conv.CONV_OP_ALLOWED_PADDINGS == {"SAME", "VALID"}
  assert conv.ALLOWED_PADDINGS == set(PADDINGS)
  assert (snt.CONSTANT_PADDING, snt.REFLECT_PADDING,
          snt.SYMMETRIC_PADDING) == ("CONSTANT", "REFLECT", "SYMMETRIC")
  assert conv.ALLOWED_PADDING_VALUES == {"CONSTANT", "REFLECT", "SYMMETRIC"}
  assert conv.SUPPORTED_1D_DATA_FORMATS == {"NWC", "NCW"}
  assert conv.SUPPORTED_2D_DATA_FORMATS == {"NHWC", "NCHW"}
  assert conv.SUPPORTED_3D_DATA_FORMATS == {"NDHWC", "NCDHW"}
  assert (conv.DATA_FORMAT_NCW, conv.DATA_FORMAT_NWC, conv.DATA_FORMAT_NCHW,
          conv.DATA_FORMAT_NHWC, conv.DATA_FORMAT_NCDHW,
          conv.DATA_FORMAT_NDHWC) == ("NCW", "NWC", "NCHW", "NHWC", "NCDHW",
                                      "NDHWC")


def test_fill_shape():
  assert conv._fill_shape(3, 2) == (3, 3)
  assert conv._fill_shape([1, 2, 3], 3) == (1, 2, 3)
  assert conv._fill_shape(tf.Dimension(4), 1) == (tf.Dimension(4),)
  assert conv._fill_shape(tf.TensorShape([2, 3]), 2) == (2, 3)
  for bad_n in (0, -1, 1.5, "2"):
    with pytest.raises(TypeError, match="n must be a positive integer"):
      conv._fill_shape(1, bad_n)
  for bad_x in (0, -2, [1, 2], [1, 0, 1], "abc", None, 1.5, [1, None, 2]):
    with pytest.raises(TypeError, match="must be either a positive integer"):
      conv._fill_shape(bad_x, 3)


def test_fill_and_verify_parameter_shape():
  assert conv._fill_and_verify_parameter_shape(2, 3, "kernel") == (2, 2, 2)
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid rate shape"):
    conv._fill_and_verify_parameter_shape([1, 2], 3, "rate")


def test_fill_and_verify_padding():
  assert conv._fill_and_verify_padding("FULL", 2) == ("FULL", "FULL")
  assert conv._fill_and_verify_padding(["SAME", "CAUSAL"], 2) == (
      "SAME", "CAUSAL")
  for bad in ("same", "FOO", ["SAME"], ["SAME", "BAR"], 3, None, "SV"):
    with pytest.raises(TypeError, match="padding is"):
      conv._fill_and_verify_padding(bad, 2)
  with pytest.raises(TypeError, match="n must be a positive integer"):
    conv._fill_and_verify_padding("SAME", 0)


def test_padding_value_and_conv_op_padding_helpers():
  for value in ("CONSTANT", "REFLECT", "SYMMETRIC"):
    assert conv._verify_padding_value(value) == value
  with pytest.raises(ValueError):
    conv._verify_padding_value("WRAP")
  assert conv._verify_conv_op_supported_padding("VALID") == "VALID"
  with pytest.raises(ValueError):
    conv._verify_conv_op_supported_padding("FULL")
  p2c = conv._padding_to_conv_op_padding
  assert p2c(("SAME", "SAME"), "CONSTANT") == "SAME"
  assert p2c(("SAME", "SAME"), "REFLECT") == "VALID"
  assert p2c(("SAME", "VALID"), "CONSTANT") == "VALID"
  assert p2c(("VALID",), "CONSTANT") == "VALID"
  assert p2c(("FULL",), "CONSTANT") == "VALID"
  with pytest.raises(ValueError):
    p2c(["SAME"], "CONSTANT")


def test_fill_and_one_pad_stride():
  f = conv._fill_and_one_pad_stride
  assert f(2, 2, "NHWC") == (1, 2, 2, 1)
  assert f(2, 2, "NCHW") == (1, 1, 2, 2)
  assert f([2, 3], 2, "NHWC") == (1, 2, 3, 1)
  assert f([2], 1, "NCW") == (1, 1, 2)
  assert f((1, 2, 3, 1), 2, "NHWC") == (1, 2, 3, 1)
  with pytest.raises(ValueError):
    f(2, 2, "HWNC")
  with pytest.raises(snt.IncompatibleShapeError):
    f([1, 2, 3], 2, "NHWC")


def test_default_transpose_size():
  f = conv._default_transpose_size
  assert f([4, 5], 2) == (8, 10)
  assert f([4, 5], [2, 3], kernel_shape=[3, 2], padding="VALID") == (10, 16)
  assert f([4], 1, kernel_shape=5, padding="VALID") == (8,)
  for empty in (None, [], ()):
    with pytest.raises(TypeError, match="connected"):
      f(empty, 2)
  with pytest.raises(ValueError):
    f([4], 1, kernel_shape=3, padding="FULL")
  with pytest.raises(snt.UnderspecifiedError):
    f([None, 3], 2)
  with pytest.raises(TypeError):  # What upstream raised.
    f([None, 3], 2)


def test_verify_inputs_and_channel_index():
  assert conv._find_channel_index("NHWC") == 3
  assert conv._find_channel_index("NCDHW") == 1
  with pytest.raises(ValueError):
    conv._find_channel_index("NHW")
  x = tf.placeholder(tf.float32, [None, 4, 4, 3])
  conv._verify_inputs(x, 3, "NHWC")
  with pytest.raises(snt.IncompatibleShapeError, match="must have rank 5"):
    conv._verify_inputs(x, 4, "NDHWC")
  with pytest.raises(TypeError, match="Input must have dtype"):
    conv._verify_inputs(tf.placeholder(tf.int32, [1, 4, 4, 3]), 3, "NHWC")
  with pytest.raises(snt.UnderspecifiedError,
                     match="Number of input channels must be known"):
    conv._verify_inputs(tf.placeholder(tf.float32, [1, 4, 4, None]), 3,
                        "NHWC")


def test_create_initializers():
  w_init = conv.create_weight_initializer([3, 3, 4], dtype=tf.float64)
  assert isinstance(w_init, tf.truncated_normal_initializer)
  assert w_init.stddev == pytest.approx(1 / 6.0)
  assert w_init.dtype == tf.float64
  b_init = conv.create_bias_initializer([5], dtype=tf.float32)
  np.testing.assert_array_equal(_run(b_init([5])), np.zeros(5))


# --- forward convolution values -----------------------------------------------


def _check_conv(n, padding, stride, rate, data_format, padding_value="CONSTANT",
                use_bias=True, in_channels=2, out_channels=3, kernel=3):
  """Connects a ConvND and compares with the NumPy reference."""
  rng = np.random.RandomState(n)
  sizes = SIZES[n]
  x_last = rng.randn(2, *sizes, in_channels).astype(np.float32)
  channels_first = data_format.startswith("NC")
  x = ref.to_channels_first(x_last) if channels_first else x_last
  inits = {"w": _random_init(1)}
  if use_bias:
    inits["b"] = _random_init(2)
  module = CLASSES[n](out_channels, kernel, stride=stride, rate=rate,
                      padding=padding, use_bias=use_bias, initializers=inits,
                      data_format=data_format, padding_value=padding_value)
  inputs = tf.placeholder(tf.float32, [None] + list(x.shape[1:]))
  outputs = module(inputs)
  fetches = [outputs, module.w] + ([module.b] if use_bias else [])
  values = _run(fetches, {inputs: x})
  out, w = values[:2]
  stride_t = conv._fill_shape(stride, n)
  rate_t = conv._fill_shape(rate, n)
  padding_t = conv._fill_and_verify_padding(padding, n)
  expected = ref.module_conv(x_last.astype(np.float64), w, stride_t, rate_t,
                             padding_t, padding_value)
  if use_bias:
    expected += values[2]
  if channels_first:
    expected = ref.to_channels_first(expected)
  assert out.shape == expected.shape
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  # Static shape: channels known, spatial dims match where computable.
  static = outputs.get_shape().as_list()
  assert static[0] is None
  assert static[1:] == list(expected.shape[1:])
  return module


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("stride,rate", [(1, 1), (2, 1), (1, 2)])
def test_conv_values_channels_last(n, padding, stride, rate):
  _check_conv(n, padding, stride, rate, FORMATS[n][0])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("padding", PADDINGS)
def test_conv_values_channels_first(n, padding):
  _check_conv(n, padding, 2 if padding in ("SAME", "FULL") else 1,
              2 if padding in ("VALID", "CAUSAL") else 1, FORMATS[n][1])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("data_format_index", [0, 1])
@pytest.mark.parametrize("padding_value", ["REFLECT", "SYMMETRIC"])
def test_conv_padding_values(n, data_format_index, padding_value):
  module = _check_conv(n, "SAME", 1, 1, FORMATS[n][data_format_index],
                       padding_value=padding_value)
  assert module.conv_op_padding == "VALID"
  assert module.padding_value == padding_value


@pytest.mark.parametrize("n,padding,data_format", [
    (2, ("SAME", "CAUSAL"), "NHWC"),
    (2, ["FULL", "VALID"], "NCHW"),
    (3, ("REVERSE_CAUSAL", "SAME", "FULL"), "NDHWC"),
    (3, ("VALID", "CAUSAL", "SAME"), "NCDHW"),
])
def test_conv_mixed_paddings(n, padding, data_format):
  module = _check_conv(n, padding, 1, 2, data_format)
  assert module.paddings == tuple(padding)
  assert module.conv_op_padding == "VALID"
  with pytest.raises(ValueError, match="Use .paddings"):
    _ = module.padding


def test_conv_per_dimension_kernel_stride_rate_no_bias():
  _check_conv(2, "SAME", (2, 1), 1, "NHWC", kernel=(3, 2), use_bias=False)
  _check_conv(3, "FULL", 1, (1, 2, 1), "NCDHW", kernel=(2, 3, 1))


@pytest.mark.parametrize("padding,expected", [
    ("VALID", np.full((3, 3), 9.)),
    ("SAME", np.array([[4, 6, 6, 6, 4]] + [[6, 9, 9, 9, 6]] * 3 +
                      [[4, 6, 6, 6, 4]], dtype=np.float64)),
    ("CAUSAL", np.array([[1, 2, 3, 3, 3]] + [[2, 4, 6, 6, 6]] +
                        [[3, 6, 9, 9, 9]] * 3, dtype=np.float64)),
    ("REVERSE_CAUSAL", np.array([[9, 9, 9, 6, 3]] * 3 + [[6, 6, 6, 4, 2]] +
                                [[3, 3, 3, 2, 1]], dtype=np.float64)),
    ("FULL", np.outer([1, 2, 3, 3, 3, 2, 1], [1, 2, 3, 3, 3, 2, 1])),
])
def test_conv2d_known_values(padding, expected):
  module = snt.Conv2D(1, 3, padding=padding, use_bias=False,
                      initializers={"w": tf.ones_initializer()})
  out = _run(module(tf.ones([1, 5, 5, 1])))
  np.testing.assert_allclose(out[0, :, :, 0], expected)


def test_conv_unknown_spatial_dims_and_float64():
  module = snt.Conv2D(2, 3, stride=2)
  x = tf.placeholder(tf.float64, [None, None, None, 3])
  y = module(x)
  assert y.dtype == tf.float64
  assert y.get_shape().as_list() == [None, None, None, 2]
  assert module.w.dtype.base_dtype == tf.float64
  out = _run(y, {x: np.ones((1, 7, 5, 3))})
  assert out.shape == (1, 4, 3, 2)


def test_conv_float16():
  module = snt.Conv1D(2, 3)
  y = module(tf.ones([1, 5, 3], dtype=tf.float16))
  assert y.dtype == tf.float16
  assert _run(y).shape == (1, 5, 2)


def _identity_getter(getter, *args, **kwargs):
  # A tensor, not a resource variable, so that the gradient checker can feed
  # perturbed weights.
  return tf.identity(getter(*args, **kwargs))


def test_conv_gradients_channels_first():
  module = snt.Conv2D(2, 3, stride=(1, 2), padding=("SAME", "CAUSAL"),
                      data_format="NCHW", custom_getter=_identity_getter)
  x = tf.constant(np.random.RandomState(0).randn(1, 2, 4, 5))
  y = module(x)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    err = tf.test.compute_gradient_error(
        [x, module.w, module.b], [[1, 2, 4, 5], [3, 3, 2, 2], [2]],
        y, y.get_shape().as_list())
  assert err < 1e-6


# --- variables, properties ----------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_variables(n, use_bias):
  module = CLASSES[n](5, 3, use_bias=use_bias)
  assert module.module_name == "conv_{}d".format(n)
  with pytest.raises(snt.NotConnectedError):
    _ = module.w
  with pytest.raises(snt.NotConnectedError):
    _ = module.input_shape
  with pytest.raises(snt.NotConnectedError):
    _ = module.input_channels
  module(tf.placeholder(tf.float32, [None] + list(SIZES[n]) + [4]))
  names = sorted(v.name for v in module.get_variables())
  shapes = {v.name: v.get_shape().as_list() for v in module.get_variables()}
  prefix = "conv_{}d/".format(n)
  assert shapes[prefix + "w:0"] == [3] * n + [4, 5]
  if use_bias:
    assert names == [prefix + "b:0", prefix + "w:0"]
    assert shapes[prefix + "b:0"] == [5]
    assert module.b.name == prefix + "b:0"
    assert set(module.initializers) == {"w", "b"}
  else:
    assert names == [prefix + "w:0"]
    with pytest.raises(AttributeError,
                       match="No bias Variable in Conv2D Module when "
                             "`use_bias=False`."):
      _ = module.b
    assert set(module.initializers) == {"w"}
  assert module.has_bias == use_bias
  assert module.input_channels == 4
  assert module.input_shape == (None,) + SIZES[n] + (4,)
  stddev = module.initializers["w"].stddev
  assert stddev == pytest.approx(1 / np.sqrt(3 ** n * 4))


def test_conv_properties():
  module = snt.Conv2D(lambda: 4.0, [3, 2], stride=(2, 1), padding="VALID",
                      data_format="NCHW")
  assert module.output_channels == 4
  assert isinstance(module.output_channels, int)
  assert module.kernel_shape == (3, 2)
  assert module.stride == (1, 1, 2, 1)
  assert module.rate == (1, 1)
  assert module.padding == "VALID"
  assert module.paddings == ("VALID", "VALID")
  assert module.conv_op_padding == "VALID"
  assert module.data_format == "NCHW"
  assert module.mask is None
  assert module.partitioners == {} and module.regularizers == {}
  assert snt.Conv3D(1, 2, stride=(1, 2, 3)).stride == (1, 1, 2, 3, 1)
  assert snt.Conv1D(1, 2, rate=2).rate == (2,)
  # Legacy full-length strides keep only the spatial part.
  assert snt.Conv2D(1, 2, stride=(1, 3, 2, 1)).stride == (1, 3, 2, 1)
  assert snt.Conv2D(1, 2, stride=(1, 1, 3, 2),
                    data_format="NCHW").stride == (1, 1, 3, 2)
  assert snt.Conv2D.get_possible_initializer_keys() == {"w", "b"}
  assert snt.Conv2D.get_possible_initializer_keys(use_bias=False) == {"w"}


def test_conv_initializers_regularizers_partitioners():
  module = snt.Conv2D(
      4, 3,
      initializers={"w": tf.ones_initializer()},
      regularizers={"w": tf.nn.l2_loss, "b": tf.nn.l2_loss},
      partitioners={"w": tf.fixed_size_partitioner(2, axis=3)})
  out = module(tf.ones([1, 5, 5, 2]))
  losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  assert len(losses) == 3  # Two partitions of w, one b.
  assert len(list(module.w)) == 2
  names = sorted(v.name for v in module.get_variables())
  assert names == ["conv_2d/b:0", "conv_2d/w/part_0:0", "conv_2d/w/part_1:0"]
  assert isinstance(module.initializers["b"], tf.zeros_initializer)
  value, loss_values = _run([out, losses])
  assert value[0, 2, 2, 0] == 18.0
  assert loss_values[0] + loss_values[1] == pytest.approx(0.5 * 3 * 3 * 2 * 4)


@pytest.mark.parametrize("arg,bad,error", [
    ("initializers", {"w": tf.zeros_initializer(), "x": tf.zeros_initializer()},
     KeyError),
    ("initializers", {"w": 3}, TypeError),
    ("initializers", 3, TypeError),
    ("partitioners", {"b": tf.fixed_size_partitioner(2), "c": None}, KeyError),
    ("partitioners", {"w": "foo"}, TypeError),
    ("regularizers", {"bias": tf.nn.l2_loss}, KeyError),
    ("regularizers", {"b": 0.1}, TypeError),
])
def test_conv_dict_validation(arg, bad, error):
  with pytest.raises(error):
    snt.Conv2D(2, 3, **{arg: bad})


def test_conv_no_bias_rejects_b_key():
  with pytest.raises(KeyError, match="'w'"):
    snt.Conv1D(2, 3, use_bias=False, initializers={"b": tf.zeros_initializer()})


def test_conv_shares_variables_and_reconnects_other_sizes():
  module = snt.Conv2D(3, 3)
  a = module(tf.ones([1, 5, 5, 2]))
  b = module(tf.ones([2, 7, 4, 2]))
  assert len(module.get_variables()) == 2
  assert b.get_shape().as_list() == [2, 7, 4, 3]
  assert module.input_shape == (2, 7, 4, 2)
  va, vb = _run([a, b])
  np.testing.assert_allclose(va[0, 2, 2], vb[0, 2, 2], rtol=1e-6)


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_input_errors(n):
  module = CLASSES[n](3, 2)
  with pytest.raises(snt.IncompatibleShapeError, match="must have rank"):
    module(tf.placeholder(tf.float32, [1] * (n + 1)))
  with pytest.raises(snt.IncompatibleShapeError, match="rank is unknown"):
    module(tf.placeholder(tf.float32))
  with pytest.raises(snt.UnderspecifiedError, match="input channels"):
    module(tf.placeholder(tf.float32, [1] * (n + 1) + [None]))
  with pytest.raises(TypeError, match="Input must have dtype"):
    module(tf.placeholder(tf.int32, [1] * (n + 1) + [2]))
  module(tf.placeholder(tf.float32, [1] * (n + 1) + [2]))
  with pytest.raises(snt.IncompatibleShapeError, match="2 channels") as info:
    module(tf.placeholder(tf.float32, [1] * (n + 1) + [4]))
  assert isinstance(info.value, ValueError)  # As TF's shape-sharing error.
  assert module.scope_name in str(info.value)


def test_conv_constructor_errors():
  with pytest.raises(snt.NotSupportedError, match="stride > 1 with rate > 1"):
    snt.Conv2D(2, 3, stride=2, rate=2)
  with pytest.raises(snt.NotSupportedError):
    snt.Conv1D(2, 3, stride=[2], rate=[3])
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid kernel shape"):
    snt.Conv2D(2, [3, 3, 3])
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid kernel shape"):
    snt.Conv2D(2, 0)
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid stride shape"):
    snt.Conv3D(2, 3, stride=[1, 2])
  with pytest.raises(snt.IncompatibleShapeError, match="Invalid rate shape"):
    snt.Conv2D(2, 3, rate=-1)
  with pytest.raises(TypeError, match="padding is"):
    snt.Conv2D(2, 3, padding="same")
  with pytest.raises(TypeError, match="padding is"):
    snt.Conv2D(2, 3, padding=["SAME", "SAME", "SAME"])
  with pytest.raises(ValueError, match="Padding value"):
    snt.Conv2D(2, 3, padding_value="ZERO")
  for cls, bad in ((snt.Conv1D, "NHWC"), (snt.Conv2D, "NWC"),
                   (snt.Conv3D, "NCHW"), (snt.Conv2D, "HWCN")):
    with pytest.raises(ValueError, match="Invalid data_format"):
      cls(2, 3, data_format=bad)
  with pytest.raises(ValueError, match="output_channels"):
    snt.Conv2D(0, 3)
  with pytest.raises(TypeError, match="output_channels"):
    snt.Conv2D("four", 3)


# --- masks --------------------------------------------------------------------


@pytest.mark.parametrize("mask_shape", [(3, 3), (3, 3, 2), (3, 3, 2, 4)])
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_conv_mask_values(mask_shape, data_format):
  rng = np.random.RandomState(3)
  mask = (rng.rand(*mask_shape) > 0.5).astype(np.float32)
  module = snt.Conv2D(4, 3, mask=mask, data_format=data_format,
                      initializers={"w": _random_init(4)})
  x_last = rng.randn(2, 5, 4, 2).astype(np.float32)
  x = ref.to_channels_first(x_last) if data_format == "NCHW" else x_last
  out, w, b = _run([module(tf.constant(x)), module.w, module.b])
  full_mask = mask.reshape(mask_shape + (1,) * (4 - len(mask_shape)))
  expected = ref.module_conv(x_last.astype(np.float64), w * full_mask,
                             (1, 1), (1, 1), ("SAME", "SAME")) + b
  if data_format == "NCHW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  assert module.mask.get_shape().as_list() == [3, 3, 2, 4][:len(
      mask_shape)] + [1] * (4 - len(mask_shape))


def test_conv_mask_causal_1d_and_reconnection():
  mask = [1.0, 1.0, 0.0]
  module = snt.Conv1D(1, 3, mask=mask, use_bias=False,
                      initializers={"w": tf.ones_initializer()})
  x = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
  out1 = module(tf.constant(x))
  out2 = module(tf.constant(x[:, :4]))  # Second connection, same mask.
  v1, v2 = _run([out1, out2])
  np.testing.assert_allclose(v1[0, :, 0], [0, 1, 3, 5, 7])
  np.testing.assert_allclose(v2[0, :, 0], [0, 1, 3, 5])


def test_conv_mask_tensor_and_dtype_cast():
  mask = tf.constant(np.ones((2, 2)), dtype=tf.float64)
  module = snt.Conv2D(1, 2, mask=mask, use_bias=False,
                      initializers={"w": tf.ones_initializer()})
  out = _run(module(tf.ones([1, 3, 3, 1])))
  assert out.dtype == np.float32
  np.testing.assert_allclose(out[0, 0, 0, 0], 4.0)


def test_conv_mask_from_other_graph():
  module = snt.Conv2D(1, 2, mask=np.ones((2, 2), np.float32), use_bias=False,
                      initializers={"w": tf.ones_initializer()})
  with tf.Graph().as_default():
    out = _run(module(tf.ones([1, 3, 3, 1])))
  np.testing.assert_allclose(out[0, :, :, 0],
                             [[4, 4, 2], [4, 4, 2], [2, 2, 1]])


def test_conv_mask_errors():
  with pytest.raises(TypeError, match="Invalid type for mask"):
    snt.Conv2D(1, 3, mask="mask")
  with pytest.raises(TypeError, match="Mask needs to have dtype"):
    snt.Conv2D(1, 3, mask=np.ones((3, 3), np.int32))
  module = snt.Conv2D(1, 3, mask=np.ones((3, 3, 1, 1, 1), np.float32))
  with pytest.raises(snt.IncompatibleShapeError,
                     match=r"Invalid mask shape: 5. Max shape: 4"):
    module(tf.ones([1, 5, 5, 1]))
  module = snt.Conv2D(1, 3, mask=np.ones((3, 2), np.float32))
  with pytest.raises(snt.IncompatibleShapeError,
                     match=r"Invalid mask shape: \(3, 2\). Weight shape"):
    module(tf.ones([1, 5, 5, 1]))


# --- clone, CPU/GPU layout handling -------------------------------------------


def test_conv_clone():
  module = snt.Conv2D(4, (3, 2), stride=(1, 2), padding=("SAME", "CAUSAL"),
                      data_format="NCHW", padding_value="REFLECT",
                      mask=np.ones((3, 2), np.float32), name="orig")
  clone = module.clone()
  assert clone.module_name == "orig_clone"
  assert module.clone(name="other").module_name == "other"
  for attr in ("output_channels", "kernel_shape", "stride", "rate", "paddings",
               "data_format", "has_bias", "padding_value"):
    assert getattr(clone, attr) == getattr(module, attr)
  x = tf.ones([1, 2, 5, 5])
  assert module(x).get_shape() == clone(x).get_shape()
  assert clone.w.name == "orig_clone/w:0"


def test_channels_first_uses_transposes_without_gpu(monkeypatch):
  monkeypatch.setattr(conv_utils, "_GPU_AVAILABLE", [False])
  snt.Conv2D(2, 3, data_format="NCHW")(tf.ones([1, 3, 5, 5]))
  op_types = [op.type for op in tf.get_default_graph().get_operations()]
  assert "Transpose" in op_types
  conv_ops = [op for op in tf.get_default_graph().get_operations()
              if op.type == "Conv2D"]
  assert [op.get_attr("data_format") for op in conv_ops] == [b"NHWC"]


def test_channels_first_native_with_gpu_unless_pinned_to_cpu(monkeypatch):
  monkeypatch.setattr(conv_utils, "_GPU_AVAILABLE", [True])
  snt.Conv2D(2, 3, data_format="NCHW")(tf.ones([1, 3, 5, 5]))
  graph = tf.get_default_graph()
  formats = [op.get_attr("data_format") for op in graph.get_operations()
             if op.type == "Conv2D"]
  assert formats == [b"NCHW"]
  x = np.random.RandomState(0).randn(1, 3, 5, 5).astype(np.float32)
  with tf.device("/cpu:0"):
    module = snt.Conv2D(2, 3, data_format="NCHW", name="pinned")
    out = module(tf.constant(x))
  used = [op for op in graph.get_operations() if op.type == "Conv2D" and
          op.name.startswith("pinned")]
  assert len(used) == 2  # Native op left unused, channels-last op used.
  assert out.op.inputs[0].op.type == "Transpose"
  value, w, b = _run([out, module.w, module.b])
  expected = ref.to_channels_first(ref.module_conv(
      ref.to_channels_last(x).astype(np.float64), w, (1, 1), (1, 1),
      ("SAME", "SAME")) + b)
  np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4)


# --- the reference itself -----------------------------------------------------


def test_reference_conv_matches_hand_computed():
  x = np.arange(5, dtype=np.float64).reshape(1, 5, 1)
  w = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
  out = ref.conv(x, w, (1,), (1,), [(0, 0)])
  np.testing.assert_allclose(out[0, :, 0], [210, 321, 432])
  out = ref.conv(x, w, (2,), (2,), [(2, 2)])
  np.testing.assert_allclose(out[0, :, 0], [200, 420, 42])
  assert ref.same_pads([5], [3], [2], [1]) == [(1, 1)]
  assert ref.same_pads([6], [3], [2], [1]) == [(0, 1)]
  y = ref.conv_transpose(np.ones((1, 2, 1)), np.ones((3, 1, 1)), (2,), (4,),
                         "SAME")
  np.testing.assert_allclose(y[0, :, 0], [1, 1, 2, 1])
