"""Tests for CausalConv1D, DepthwiseConv2D, InPlaneConv2D and SeparableConv*."""

import conv_reference as ref
import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import conv
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def _rand(seed):
  return tf.random_normal_initializer(seed=seed)


def _input(shape_last, channels_first, seed=0):
  x_last = np.random.RandomState(seed).randn(*shape_last).astype(np.float32)
  x = ref.to_channels_first(x_last) if channels_first else x_last
  return x_last, x


def _pads(padding, padding_value, in_sizes, kernel, stride, rate):
  padding = conv._fill_and_verify_padding(padding, len(kernel))
  if all(p == "SAME" for p in padding) and padding_value == "CONSTANT":
    return ref.same_pads(in_sizes, kernel, stride, rate)
  return ref.module_pads(padding, kernel, rate)


# --- DepthwiseConv2D ----------------------------------------------------------


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("padding,stride,padding_value", [
    ("SAME", 1, "CONSTANT"), ("SAME", 2, "CONSTANT"), ("VALID", (2, 1),
                                                       "CONSTANT"),
    ("FULL", 1, "CONSTANT"), (("CAUSAL", "REVERSE_CAUSAL"), 1, "CONSTANT"),
    ("SAME", 1, "REFLECT"), ("CAUSAL", 2, "SYMMETRIC"),
    ("SAME", (1, 2), "CONSTANT"), ("SAME", (3, 2), "CONSTANT")])
def test_depthwise_values(data_format, padding, stride, padding_value):
  x_last, x = _input((2, 6, 5, 3), data_format == "NCHW")
  module = snt.DepthwiseConv2D(2, 3, stride=stride, padding=padding,
                               data_format=data_format,
                               padding_value=padding_value,
                               initializers={"w": _rand(1), "b": _rand(2)})
  out, w, b = _run([module(tf.constant(x)), module.w, module.b])
  stride_t = conv._fill_shape(stride, 2)
  pads = _pads(padding, padding_value, (6, 5), (3, 3), stride_t, (1, 1))
  expected = ref.depthwise_conv(x_last.astype(np.float64), w, stride_t, (1, 1),
                                pads, mode=padding_value.lower()) + b
  if data_format == "NCHW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_depthwise_unequal_strides_unknown_sizes(data_format):
  # Stock CPU depthwise kernels need equal strides; the module must not.
  x_last, x = _input((1, 7, 6, 2), data_format == "NCHW")
  module = snt.DepthwiseConv2D(1, (3, 2), stride=(2, 3),
                               data_format=data_format,
                               initializers={"w": _rand(1)})
  shape = [None, 2, None, None] if data_format == "NCHW" else [None, None,
                                                               None, 2]
  inputs = tf.placeholder(tf.float32, shape)
  out, w = _run([module(inputs), module.w], {inputs: x})
  pads = ref.same_pads((7, 6), (3, 2), (2, 3), (1, 1))
  expected = ref.depthwise_conv(x_last.astype(np.float64), w, (2, 3), (1, 1),
                                pads)
  if data_format == "NCHW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_depthwise_variables_and_properties():
  module = snt.DepthwiseConv2D(3, (3, 2), stride=2)
  assert module.module_name == "conv_2d_depthwise"
  assert module.channel_multiplier == 3
  out = module(tf.ones([1, 6, 6, 4]))
  assert out.get_shape().as_list() == [1, 3, 3, 12]
  assert module.output_channels == 12
  assert module.w.get_shape().as_list() == [3, 2, 4, 3]
  assert module.b.get_shape().as_list() == [12]
  assert module.stride == (1, 2, 2, 1)
  assert module.initializers["w"].stddev == pytest.approx(1 / np.sqrt(6))
  assert sorted(v.name for v in module.get_variables()) == [
      "conv_2d_depthwise/b:0", "conv_2d_depthwise/w:0"]
  no_bias = snt.DepthwiseConv2D(1, 3, use_bias=False)
  no_bias(tf.ones([1, 4, 4, 2]))
  assert len(no_bias.get_variables()) == 1
  with pytest.raises(AttributeError, match="use_bias=False"):
    _ = no_bias.b
  assert snt.DepthwiseConv2D(tf.Dimension(2), 3).channel_multiplier == 2


def test_depthwise_errors():
  for bad in (1.5, "2", None):
    with pytest.raises(ValueError, match="must be of type"):
      snt.DepthwiseConv2D(bad, 3)
  for bad in (0, -1):
    with pytest.raises(ValueError, match="must be >= 1"):
      snt.DepthwiseConv2D(bad, 3)
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.DepthwiseConv2D(1, 3, data_format="NWC")
  with pytest.raises(KeyError):
    snt.DepthwiseConv2D(1, 3, initializers={"w_dw": tf.zeros_initializer()})
  module = snt.DepthwiseConv2D(1, 3)
  with pytest.raises(snt.IncompatibleShapeError):
    module(tf.ones([1, 4, 4]))
  module(tf.ones([1, 4, 4, 2]))
  with pytest.raises(snt.IncompatibleShapeError, match="2 channels"):
    module(tf.ones([1, 4, 4, 3]))


# --- InPlaneConv2D ------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("padding,stride,padding_value", [
    ("SAME", 1, "CONSTANT"), ("VALID", 2, "CONSTANT"),
    (("FULL", "SAME"), 1, "CONSTANT"), ("SAME", 1, "SYMMETRIC")])
def test_in_plane_values(data_format, padding, stride, padding_value):
  x_last, x = _input((2, 5, 6, 3), data_format == "NCHW")
  module = snt.InPlaneConv2D((3, 2), stride=stride, padding=padding,
                             data_format=data_format,
                             padding_value=padding_value,
                             initializers={"w": _rand(1), "b": _rand(2)})
  out, w, b = _run([module(tf.constant(x)), module.w, module.b])
  assert w.shape == (3, 2, 1, 1)
  stride_t = conv._fill_shape(stride, 2)
  pads = _pads(padding, padding_value, (5, 6), (3, 2), stride_t, (1, 1))
  expected = ref.depthwise_conv(x_last.astype(np.float64),
                                np.tile(w, [1, 1, 3, 1]), stride_t, (1, 1),
                                pads, mode=padding_value.lower()) + b
  if data_format == "NCHW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_in_plane_variables():
  module = snt.InPlaneConv2D(3)
  assert module.module_name == "in_plane_conv2d"
  out = module(tf.ones([2, 4, 4, 5]))
  assert out.get_shape().as_list() == [2, 4, 4, 5]
  assert module.output_channels == 5
  assert module.w.get_shape().as_list() == [3, 3, 1, 1]
  assert module.b.get_shape().as_list() == [5]
  assert module.initializers["w"].stddev == pytest.approx(1 / 3.0)
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.InPlaneConv2D(3, data_format="NDHWC")


# --- SeparableConv2D / SeparableConv1D ----------------------------------------


def _separable_reference(x_last, w_dw, w_pw, stride, rate, pads, mode):
  depthwise = ref.depthwise_conv(x_last.astype(np.float64), w_dw, stride, rate,
                                 pads, mode)
  n = x_last.ndim - 2
  return ref.conv(depthwise, w_pw.reshape(w_pw.shape[-2:]).reshape(
      (1,) * n + w_pw.shape[-2:]), (1,) * n, (1,) * n, [(0, 0)] * n)


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("padding,stride,rate,padding_value", [
    ("SAME", 1, 1, "CONSTANT"), ("SAME", 2, 1, "CONSTANT"),
    ("VALID", 1, 2, "CONSTANT"), (("CAUSAL", "FULL"), 1, (2, 1), "CONSTANT"),
    ("REVERSE_CAUSAL", (1, 2), 1, "REFLECT"), ("SAME", 1, 2, "CONSTANT"),
    ("SAME", (2, 1), 1, "CONSTANT")])
def test_separable_2d_values(data_format, padding, stride, rate,
                             padding_value):
  x_last, x = _input((2, 6, 7, 3), data_format == "NCHW")
  module = snt.SeparableConv2D(4, 2, 3, stride=stride, rate=rate,
                               padding=padding, data_format=data_format,
                               padding_value=padding_value,
                               initializers={"w_dw": _rand(1), "w_pw": _rand(2),
                                             "b": _rand(3)})
  out, w_dw, w_pw, b = _run([module(tf.constant(x)), module.w_dw, module.w_pw,
                             module.b])
  stride_t = conv._fill_shape(stride, 2)
  rate_t = conv._fill_shape(rate, 2)
  pads = _pads(padding, padding_value, (6, 7), (3, 3), stride_t, rate_t)
  expected = _separable_reference(x_last, w_dw, w_pw, stride_t, rate_t, pads,
                                  padding_value.lower()) + b
  if data_format == "NCHW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format", ["NWC", "NCW"])
@pytest.mark.parametrize("padding,stride,rate,padding_value", [
    ("SAME", 1, 1, "CONSTANT"), ("SAME", 2, 1, "CONSTANT"),
    ("VALID", 1, 2, "CONSTANT"), ("CAUSAL", 1, 2, "CONSTANT"),
    ("FULL", 2, 1, "SYMMETRIC"), ("SAME", 3, 1, "CONSTANT")])
def test_separable_1d_values(data_format, padding, stride, rate,
                             padding_value):
  x_last, x = _input((2, 9, 3), data_format == "NCW")
  module = snt.SeparableConv1D(4, 2, 3, stride=stride, rate=rate,
                               padding=padding, data_format=data_format,
                               padding_value=padding_value,
                               initializers={"w_dw": _rand(1), "w_pw": _rand(2),
                                             "b": _rand(3)})
  out, w_dw, w_pw, b = _run([module(tf.constant(x)), module.w_dw, module.w_pw,
                             module.b])
  assert w_dw.shape == (1, 3, 3, 2)
  assert w_pw.shape == (1, 1, 6, 4)
  pads = _pads(padding, padding_value, (9,), (3,), (stride,), (rate,))
  expected = _separable_reference(x_last, w_dw[0], w_pw[0], (stride,),
                                  (rate,), pads, padding_value.lower()) + b
  if data_format == "NCW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls,shape,name,w_dw_shape,fan_in_dw", [
    (snt.SeparableConv2D, [1, 5, 5, 3], "separable_conv2d", [3, 2, 3, 2], 6),
    (snt.SeparableConv1D, [1, 5, 3], "separable_conv1d", [1, 3, 3, 2], 3),
])
def test_separable_variables(cls, shape, name, w_dw_shape, fan_in_dw):
  kernel = (3, 2) if cls is snt.SeparableConv2D else 3
  module = cls(7, 2, kernel)
  assert module.module_name == name
  assert module.channel_multiplier == 2
  with pytest.raises(snt.NotConnectedError):
    _ = module.w_dw
  module(tf.ones(shape))
  shapes = {v.name: v.get_shape().as_list() for v in module.get_variables()}
  assert shapes == {name + "/w_dw:0": w_dw_shape,
                    name + "/w_pw:0": [1, 1, 6, 7],
                    name + "/b:0": [7]}
  assert module.w == (module.w_dw, module.w_pw)
  assert module.initializers["w_dw"].stddev == pytest.approx(
      1 / np.sqrt(fan_in_dw))
  assert module.initializers["w_pw"].stddev == pytest.approx(1 / np.sqrt(6))
  assert cls.get_possible_initializer_keys() == {"w_dw", "w_pw", "b"}
  assert cls.get_possible_initializer_keys(use_bias=False) == {"w_dw", "w_pw"}


def test_separable_errors_and_options():
  with pytest.raises(KeyError):
    snt.SeparableConv2D(2, 1, 3, initializers={"w": tf.zeros_initializer()})
  with pytest.raises(KeyError):
    snt.SeparableConv2D(2, 1, 3, use_bias=False,
                        regularizers={"b": tf.nn.l2_loss})
  with pytest.raises(ValueError, match="must be >= 1"):
    snt.SeparableConv1D(2, 0, 3)
  with pytest.raises(ValueError, match="must be of type"):
    snt.SeparableConv2D(2, 2.0, 3)
  with pytest.raises(snt.NotSupportedError):
    snt.SeparableConv2D(2, 1, 3, stride=2, rate=2)
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.SeparableConv1D(2, 1, 3, data_format="NHWC")
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.SeparableConv2D(2, 1, 3, data_format="NCW")
  with pytest.raises(TypeError):
    # pylint: disable=unexpected-keyword-arg
    snt.SeparableConv2D(2, 1, 3, mask=np.ones((3, 3)))
  module = snt.SeparableConv2D(
      3, 2, 3, use_bias=False,
      regularizers={"w_dw": tf.nn.l2_loss, "w_pw": tf.nn.l2_loss},
      partitioners={"w_pw": tf.fixed_size_partitioner(3, axis=3)})
  module(tf.ones([1, 4, 4, 2]))
  assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 4
  with pytest.raises(AttributeError, match="use_bias=False"):
    _ = module.b
  clone = module.clone()
  assert clone.module_name == module.module_name + "_clone"
  assert clone.channel_multiplier == 2 and clone.output_channels == 3
  clone(tf.ones([1, 4, 4, 2]))


# --- CausalConv1D -------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["NWC", "NCW"])
@pytest.mark.parametrize("stride,rate", [(1, 1), (1, 2), (2, 1)])
def test_causal_conv_1d_values(data_format, stride, rate):
  x_last, x = _input((2, 8, 3), data_format == "NCW")
  module = snt.CausalConv1D(4, 3, stride=stride, rate=rate,
                            data_format=data_format,
                            initializers={"w": _rand(1), "b": _rand(2)})
  out, w, b = _run([module(tf.constant(x)), module.w, module.b])
  expected = ref.conv(x_last.astype(np.float64), w, (stride,), (rate,),
                      [((3 - 1) * rate, 0)]) + b
  if data_format == "NCW":
    expected = ref.to_channels_first(expected)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_causal_conv_1d_is_causal_and_ignores_padding(caplog):
  module = snt.CausalConv1D(1, 3, padding="VALID", use_bias=False,
                            initializers={"w": tf.ones_initializer()})
  assert module.module_name == "causal_conv_1d"
  assert module.padding == "CAUSAL"
  assert module.conv_op_padding == "VALID"
  assert not hasattr(module, "transpose")
  x = np.zeros((1, 6, 1), np.float32)
  x[0, 3, 0] = 1.0
  out = _run(module(tf.constant(x)))
  # An impulse at t=3 affects only outputs t >= 3.
  np.testing.assert_allclose(out[0, :, 0], [0, 0, 0, 1, 1, 1])
  assert module.w.get_shape().as_list() == [3, 1, 1]
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.CausalConv1D(1, 3, data_format="NHWC")


def test_variant_clones_and_unconnected_output_channels():
  depthwise = snt.DepthwiseConv2D(2, (3, 1), stride=(1, 2), padding="VALID",
                                  padding_value="REFLECT", name="dw")
  in_plane = snt.InPlaneConv2D(3, use_bias=False, data_format="NCHW",
                               name="ip")
  causal = snt.CausalConv1D(2, 3, rate=2, name="causal")
  for module in (depthwise, in_plane):
    with pytest.raises(snt.NotConnectedError):
      _ = module.output_channels
  for module, shape in ((depthwise, [1, 5, 5, 3]), (in_plane, [1, 3, 5, 5]),
                        (causal, [1, 6, 2])):
    clone = module.clone()
    assert type(clone) is type(module)
    assert clone.module_name == module.module_name + "_clone"
    for attr in ("kernel_shape", "stride", "rate", "paddings", "data_format",
                 "has_bias", "padding_value"):
      assert getattr(clone, attr) == getattr(module, attr)
    assert module(tf.ones(shape)).get_shape() == clone(
        tf.ones(shape)).get_shape()
  assert depthwise.clone().channel_multiplier == 2
  assert depthwise.output_channels == 6


def _identity_getter(getter, *args, **kwargs):
  return tf.identity(getter(*args, **kwargs))  # Feedable for the checker.


def test_separable_gradients_unequal_strides_channels_first():
  module = snt.SeparableConv2D(2, 2, (2, 3), stride=(2, 1), data_format="NCHW",
                               custom_getter=_identity_getter)
  x = tf.constant(np.random.RandomState(0).randn(1, 2, 5, 4))
  y = module(x)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    err = tf.test.compute_gradient_error(
        [x, module.w_dw, module.w_pw, module.b],
        [[1, 2, 5, 4], [2, 3, 2, 2], [1, 1, 4, 2], [2]],
        y, y.get_shape().as_list())
  assert err < 1e-6


@pytest.mark.parametrize("padding", ["SAME", None, 3, ("CAUSAL",)])
def test_causal_conv_1d_any_padding_argument_gives_causal(padding):
  assert snt.CausalConv1D(1, 3, padding=padding).paddings == ("CAUSAL",)
