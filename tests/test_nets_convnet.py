"""Tests for snt.nets.ConvNet2D and snt.nets.ConvNet2DTranspose."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import batch_norm
from sonnet.python.modules import conv
from sonnet.python.modules import layer_norm
from sonnet.python.modules import nets
from sonnet.python.modules.nets import convnet
import tensorflow.compat.v1 as tf


def _np_conv_same(x, w, b, stride):
  """NHWC 2-D cross-correlation with TF's SAME padding (NumPy reference)."""
  batch, height, width, _ = x.shape
  kh, kw, _, out = w.shape
  out_h = -(-height // stride)
  out_w = -(-width // stride)
  pad_h = max((out_h - 1) * stride + kh - height, 0)
  pad_w = max((out_w - 1) * stride + kw - width, 0)
  xp = np.pad(x, [(0, 0), (pad_h // 2, pad_h - pad_h // 2),
                  (pad_w // 2, pad_w - pad_w // 2), (0, 0)])
  y = np.zeros([batch, out_h, out_w, out])
  for i in range(out_h):
    for j in range(out_w):
      patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
      y[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
  return y + b


def _make(**kwargs):
  defaults = dict(output_channels=[4, 5], kernel_shapes=[3], strides=[1],
                  paddings=[snt.SAME])
  defaults.update(kwargs)
  return nets.ConvNet2D(**defaults)


def test_constants_and_helper():
  assert convnet.DATA_FORMAT_NHWC == "NHWC"
  assert convnet.DATA_FORMAT_NCHW == "NCHW"
  assert convnet.SUPPORTED_2D_DATA_FORMATS == {"NHWC", "NCHW"}
  assert convnet._replicate_elements([3], 4) == (3, 3, 3, 3)
  assert convnet._replicate_elements([1, 2], 4) == (1, 2)
  assert nets.ConvNet2D.POSSIBLE_INITIALIZER_KEYS == {"w", "b"}


def test_constructor_errors():
  with tf.Graph().as_default():
    for arg in ("output_channels", "kernel_shapes", "strides", "paddings",
                "rates"):
      with pytest.raises(TypeError, match=arg + " must be iterable"):
        _make(**{arg: 3})
    with pytest.raises(TypeError, match="use_batch_norm"):
      _make(use_batch_norm=[True, False])
    with pytest.raises(ValueError):
      _make(output_channels=[])
    for arg in ("kernel_shapes", "strides", "paddings", "rates"):
      with pytest.raises(ValueError, match=arg + " must be of length 1 or"):
        _make(**{arg: [1, 1, 1]})
    with pytest.raises(ValueError):
      _make(use_bias=[True, False, True])
    with pytest.raises(TypeError):
      _make(use_bias=3)
    with pytest.raises(ValueError, match="data_format"):
      _make(data_format="NCWH")
    with pytest.raises(TypeError, match="activation"):
      _make(activation=3)
    with pytest.raises(KeyError):
      _make(initializers={"gamma": tf.ones_initializer()})
    with pytest.raises(TypeError):
      _make(regularizers={"w": 1})
    with pytest.raises(ValueError):
      _make(use_batch_norm=True, normalization_ctor=snt.LayerNorm)
    with pytest.raises(ValueError):
      _make(use_batch_norm=True, normalization_kwargs={})
    with pytest.raises(ValueError):
      _make(normalization_ctor=3)
    with pytest.raises(ValueError):
      _make(normalization_ctor="snt.NoSuchNormalizer")


@pytest.mark.parametrize("activate_final", [False, True])
def test_values_variables_and_shapes(activate_final):
  with tf.Graph().as_default():
    net = _make(output_channels=[4, lambda: 3], kernel_shapes=[3, [1, 2]],
                strides=[2, 1], activate_final=activate_final,
                normalize_final=False)
    assert [l.scope_name for l in net.layers] == [
        "conv_net_2d/conv_2d_0", "conv_net_2d/conv_2d_1"]
    assert all(isinstance(l, conv.Conv2D) for l in net.layers)
    with pytest.raises(snt.NotConnectedError):
      _ = net.input_shape
    x = tf.placeholder(tf.float32, [2, 7, 6, 2])
    y = net(x)
    assert net.input_shape == (2, 7, 6, 2)
    assert y.get_shape().as_list() == [2, 4, 3, 3]
    assert net.output_channels == (4, 3)
    variables = [(v.op.name, v.get_shape().as_list())
                 for v in net.get_variables()]
    assert variables == [("conv_net_2d/conv_2d_0/w", [3, 3, 2, 4]),
                         ("conv_net_2d/conv_2d_0/b", [4]),
                         ("conv_net_2d/conv_2d_1/w", [1, 2, 4, 3]),
                         ("conv_net_2d/conv_2d_1/b", [3])]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for layer in net.layers:
        sess.run(layer.b.assign(tf.random_normal(layer.b.get_shape())))
      xv = np.random.randn(2, 7, 6, 2).astype(np.float32)
      yv, params = sess.run(
          [y, [(l.w, l.b) for l in net.layers]], {x: xv})
    h = np.maximum(_np_conv_same(xv, params[0][0], params[0][1], 2), 0)
    expected = _np_conv_same(h, params[1][0], params[1][1], 1)
    if activate_final:
      expected = np.maximum(expected, 0)
    np.testing.assert_allclose(yv, expected, rtol=1e-4, atol=1e-4)


def test_properties():
  with tf.Graph().as_default():
    inits = {"w": tf.ones_initializer()}
    net = _make(output_channels=[4, 5, 6], kernel_shapes=[3], strides=[2],
                paddings=["VALID"], rates=[1], use_bias=False,
                activation=tf.nn.tanh, initializers=inits,
                normalize_final=True)
    assert net.kernel_shapes == (3, 3, 3)
    assert net.strides == (2, 2, 2)
    assert net.paddings == ("VALID",) * 3
    assert net.rates == (1, 1, 1)
    assert net.use_bias == (False, False, False)
    assert net.activation is tf.nn.tanh
    assert not net.activate_final
    assert net.normalize_final
    assert net.normalization_ctor is None
    assert net.normalization_kwargs == {}
    assert not net.use_batch_norm
    assert net.batch_norm_config == {}
    assert net.initializers == inits
    assert net.partitioners == {}
    assert net.regularizers == {}
    assert net.data_format == "NHWC"
    assert len(net.layers) == 3
    assert not any(l.has_bias for l in net.layers)
    # normalize_final defaults to activate_final.
    assert _make(activate_final=True).normalize_final
    assert not _make(activate_final=False).normalize_final


def test_per_layer_use_bias_and_rates():
  with tf.Graph().as_default():
    net = _make(output_channels=[2, 3], use_bias=[False, True], rates=[2, 1])
    net(tf.ones([1, 8, 8, 1]))
    names = [v.op.name for v in net.get_variables()]
    assert names == ["conv_net_2d/conv_2d_0/w", "conv_net_2d/conv_2d_1/w",
                     "conv_net_2d/conv_2d_1/b"]
    assert net.layers[0].rate == (2, 2)


def test_batch_norm_requires_is_training():
  with tf.Graph().as_default():
    for kwargs in ({"use_batch_norm": True},
                   {"normalization_ctor": snt.BatchNorm},
                   {"normalization_ctor": snt.BatchNormV2}):
      net = _make(**kwargs)
      with pytest.raises(ValueError, match="is_training"):
        net(tf.ones([2, 5, 5, 1]))


def test_batch_norm_variables_and_kwargs_forwarding():
  with tf.Graph().as_default():
    net = _make(output_channels=[2, 3, 4], use_batch_norm=True,
                batch_norm_config={"scale": True}, normalize_final=True)
    assert net.normalization_ctor is batch_norm.BatchNorm
    assert net.use_batch_norm
    assert net.batch_norm_config == {"scale": True}
    is_training = tf.placeholder(tf.bool, [])
    y = net(tf.ones([2, 5, 5, 1]), is_training=is_training,
            test_local_stats=False)
    net(tf.ones([2, 5, 5, 1]), is_training=False)
    names = sorted(v.op.name for v in net.get_variables(
        tf.GraphKeys.GLOBAL_VARIABLES))
    for i in range(3):
      for var in ("beta", "gamma", "moving_mean", "moving_variance"):
        assert "conv_net_2d/batch_norm_{}/{}".format(i, var) in names
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) > 0
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(y, {is_training: True})
    # Per-channel batch statistics normalize the output to mean 0.
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)


def test_layer_norm_from_string_drops_unsupported_kwargs():
  with tf.Graph().as_default():
    net = _make(output_channels=[2, 3], normalization_ctor="snt.LayerNorm",
                normalization_kwargs={"axis": [1, 2, 3]},
                normalize_final=False)
    assert net.normalization_ctor is layer_norm.LayerNorm
    # LayerNorm's _build has no is_training: it must be filtered out.
    y = net(tf.random_normal([2, 5, 5, 1]), is_training=True)
    assert y.get_shape().as_list() == [2, 5, 5, 3]
    names = [v.op.name for v in net.get_variables()]
    assert "conv_net_2d/batch_norm_0/gamma" in names
    assert not any("batch_norm_1" in n for n in names)


def test_kwargs_without_normalization_are_ignored():
  with tf.Graph().as_default():
    net = _make()
    y = net(tf.ones([1, 4, 4, 1]), is_training=True)
    assert y.get_shape().as_list() == [1, 4, 4, 5]


def test_variable_sharing():
  with tf.Graph().as_default():
    net = _make(normalization_ctor=snt.BatchNorm, normalize_final=True)
    net(tf.ones([2, 5, 5, 1]), is_training=True)
    n = len(tf.global_variables())
    net(tf.ones([3, 5, 5, 1]), is_training=False)
    assert len(tf.global_variables()) == n


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_transpose_round_trip(padding):
  with tf.Graph().as_default():
    net = _make(output_channels=[4, 6], kernel_shapes=[3, 2], strides=[2, 1],
                paddings=[padding], use_bias=[True, False],
                activation=tf.nn.tanh, normalize_final=False)
    x = tf.ones([2, 9, 8, 3])
    y = net(x)
    t = net.transpose()
    assert isinstance(t, nets.ConvNet2DTranspose)
    assert t.module_name == "conv_net_2d_transpose"
    assert t.kernel_shapes == (2, 3)
    assert t.strides == (1, 2)
    assert t.paddings == (padding, padding)
    assert t.use_bias == (False, True)
    assert t.activation is tf.nn.tanh
    assert t.output_channels == (4, 3)
    middle = (5, 4) if padding == "SAME" else (4, 3)
    assert t.output_shapes == (middle, (9, 8))
    z = t(y)
    assert z.get_shape().as_list() == [2, 9, 8, 3]
    variables = [(v.op.name, v.get_shape().as_list())
                 for v in t.get_variables()]
    assert variables == [
        ("conv_net_2d_transpose/conv_2d_transpose_0/w", [2, 2, 4, 6]),
        ("conv_net_2d_transpose/conv_2d_transpose_1/w", [3, 3, 3, 4]),
        ("conv_net_2d_transpose/conv_2d_transpose_1/b", [3])]
    tt = t.transpose()
    assert isinstance(tt, nets.ConvNet2D)
    assert not isinstance(tt, nets.ConvNet2DTranspose)
    assert tt.module_name == "conv_net_2d_transpose_transpose"
    assert tt.kernel_shapes == net.kernel_shapes
    assert tt.strides == net.strides
    assert tt.paddings == net.paddings
    assert tt.use_bias == net.use_bias
    assert tt(z).get_shape().as_list() == y.get_shape().as_list()
    assert tt.output_channels == net.output_channels


def test_transpose_arguments():
  with tf.Graph().as_default():
    net = _make(output_channels=[4, 6], activate_final=True,
                normalize_final=True, normalization_ctor=snt.LayerNorm)
    t = net.transpose(name="dec", output_channels=[7, 8], kernel_shapes=[5],
                      strides=[1], paddings=["SAME"], activation=tf.nn.tanh,
                      activate_final=False, normalize_final=False,
                      use_bias=[False])
    assert t.module_name == "dec"
    assert t.output_channels == (7, 8)
    assert t.kernel_shapes == (5, 5)
    assert t.activation is tf.nn.tanh
    assert not t.activate_final
    assert not t.normalize_final
    assert t.use_bias == (False, False)
    assert t.normalization_ctor is layer_norm.LayerNorm
    with pytest.raises(ValueError, match="output_channels length"):
      net.transpose(output_channels=[1])
    with pytest.raises(ValueError):
      net.transpose(data_format="NWHC")
    # Unconnected original: shapes are not known yet.
    t = net.transpose()
    with pytest.raises(snt.NotConnectedError):
      t(tf.ones([1, 4, 4, 6]))


def test_transpose_dilated_not_supported():
  with tf.Graph().as_default():
    with pytest.raises(NotImplementedError, match="dilated"):
      _make(rates=[1, 2]).transpose()


def test_conv_net_2d_transpose_constructor():
  with tf.Graph().as_default():
    with pytest.raises(TypeError, match="output_channels must be iterable"):
      nets.ConvNet2DTranspose(3, [[4, 4]], [3], [1], ["SAME"])
    with pytest.raises(TypeError, match="output_shapes must be iterable"):
      nets.ConvNet2DTranspose([3], 4, [3], [1], ["SAME"])
    with pytest.raises(ValueError, match="output_shapes"):
      nets.ConvNet2DTranspose([3, 4], [[4, 4], [5, 5], [6, 6]], [3], [1],
                              ["SAME"])
    net = nets.ConvNet2DTranspose([3, 2], [lambda: (6, 6), [12, 12]], [3],
                                  [2], ["SAME"], normalize_final=False)
    assert [tuple(s) for s in net.output_shapes] == [(6, 6), (12, 12)]
    assert all(isinstance(l, conv.Conv2DTranspose) for l in net.layers)
    y = net(tf.ones([2, 3, 3, 5]))
    assert y.get_shape().as_list() == [2, 12, 12, 2]
    assert net.layers[0].scope_name == (
        "conv_net_2d_transpose/conv_2d_transpose_0")


def test_conv_net_2d_transpose_transpose_use_batch_norm():
  with tf.Graph().as_default():
    net = nets.ConvNet2DTranspose([3, 2], [[6, 6], [12, 12]], [3], [2],
                                  ["SAME"], normalization_ctor=snt.LayerNorm,
                                  normalize_final=False)
    assert net.transpose().normalization_ctor is layer_norm.LayerNorm
    t = net.transpose(use_batch_norm=True, batch_norm_config={"scale": True})
    assert t.normalization_ctor is batch_norm.BatchNorm
    assert t.normalization_kwargs == {"scale": True}
    assert net.transpose(use_batch_norm=False).normalization_ctor is None
    with pytest.raises(ValueError):
      net.transpose(use_batch_norm=True, normalization_ctor=snt.LayerNorm)


def test_nchw_matches_nhwc():
  with tf.Graph().as_default():
    inits = {"w": tf.random_normal_initializer(seed=1),
             "b": tf.random_normal_initializer(seed=2)}
    nhwc = _make(output_channels=[4, 6], strides=[2, 1], initializers=inits)
    nchw = _make(output_channels=[4, 6], strides=[2, 1], initializers=inits,
                 data_format="NCHW")
    assert all(l.data_format == "NCHW" for l in nchw.layers)
    xv = np.random.randn(2, 8, 7, 3).astype(np.float32)
    y_nhwc = nhwc(tf.constant(xv))
    y_nchw = nchw(tf.constant(xv.transpose(0, 3, 1, 2)))
    assert y_nchw.get_shape().as_list() == [2, 6, 4, 4]
    t = nchw.transpose()
    assert t.data_format == "NCHW"
    assert t.output_channels == (4, 3)
    assert [tuple(s) for s in t.output_shapes] == [(4, 4), (8, 7)]
    z = t(y_nchw)
    assert z.get_shape().as_list() == [2, 3, 8, 7]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      a, b, _ = sess.run([y_nhwc, y_nchw, z])
    np.testing.assert_allclose(a, b.transpose(0, 2, 3, 1), rtol=1e-4,
                               atol=1e-4)


def test_custom_getter_and_regularizers():
  with tf.Graph().as_default():
    net = _make(custom_getter=snt.custom_getters.non_trainable,
                regularizers={"w": tf.nn.l2_loss})
    net(tf.ones([1, 4, 4, 1]))
    assert not net.trainable_variables
    assert len(net.variables) == 4
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 2
    # The transpose only gets an explicitly passed custom getter.
    t = net.transpose()
    t(tf.ones([1, 4, 4, 5]))
    assert len(t.trainable_variables) == 4


def test_per_dimension_paddings():
  with tf.Graph().as_default():
    net = _make(output_channels=[2, 3], paddings=[(snt.SAME, snt.VALID)])
    assert net.paddings == ((snt.SAME, snt.VALID),) * 2
    y = net(tf.ones([1, 8, 8, 1]))
    assert y.get_shape().as_list() == [1, 8, 4, 3]
    net = _make(output_channels=[2, 3], paddings=[snt.VALID, snt.SAME])
    assert net(tf.ones([1, 8, 8, 1])).get_shape().as_list() == [1, 6, 6, 3]


def test_batch_norm_eval_uses_moving_statistics():
  with tf.Graph().as_default():
    net = _make(output_channels=[2], normalization_ctor=snt.BatchNorm,
                normalize_final=True,
                initializers={"w": tf.ones_initializer()})
    x = tf.ones([2, 4, 4, 1])
    conv_out = net(x, is_training=False, test_local_stats=False)
    local = net(x, is_training=False, test_local_stats=True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      raw = sess.run(net.layers[0](x))
      out, local_out = sess.run([conv_out, local])
    # Fresh moving statistics (mean 0, variance 1): nearly the identity.
    np.testing.assert_allclose(out, raw / np.sqrt(1 + 1e-3), rtol=1e-3)
    # Local statistics normalize per channel instead.
    np.testing.assert_allclose(local_out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
