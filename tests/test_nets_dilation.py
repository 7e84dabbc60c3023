"""Tests for snt.nets.Dilation and its identity kernel initializers."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import nets
from sonnet.python.modules import sequential
from sonnet.python.modules.nets import dilation
import tensorflow.compat.v1 as tf


def _eval(tensor):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(tensor)


def test_range_along_dimension():
  with tf.Graph().as_default():
    np.testing.assert_array_equal(
        _eval(dilation._range_along_dimension(0, [2, 2])), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(
        _eval(dilation._range_along_dimension(1, [2, 2])), [[0, 1], [0, 1]])
    t = dilation._range_along_dimension(2, [2, 3, 4])
    assert t.dtype == tf.int32
    expected = np.broadcast_to(np.arange(4)[None, None, :], [2, 3, 4])
    np.testing.assert_array_equal(_eval(t), expected)
    with pytest.raises(ValueError):
      dilation._range_along_dimension(2, [2, 2])


def test_identity_kernel_initializer_values():
  with tf.Graph().as_default():
    k = _eval(nets.identity_kernel_initializer([3, 3, 4, 4]))
    expected = np.zeros([3, 3, 4, 4], np.float32)
    expected[1, 1] = np.eye(4)
    np.testing.assert_array_equal(k, expected)
    k64 = nets.identity_kernel_initializer([5, 5, 2, 2], dtype=tf.float64)
    assert k64.dtype == tf.float64
    expected = np.zeros([5, 5, 2, 2])
    expected[2, 2] = np.eye(2)
    np.testing.assert_array_equal(_eval(k64), expected)


@pytest.mark.parametrize("shape", [[3, 3, 4], [3, 5, 4, 4], [4, 4, 2, 2],
                                   [3, 3, 2, 4]])
def test_identity_kernel_initializer_errors(shape):
  with tf.Graph().as_default():
    with pytest.raises(ValueError):
      nets.identity_kernel_initializer(shape)


def test_noisy_identity_kernel_initializer_values():
  with tf.Graph().as_default():
    base = 2
    init = nets.noisy_identity_kernel_initializer(base, stddev=1e-3)
    shape = [3, 3, 4, 6]
    k = _eval(init(shape))
    expected_mask = np.zeros(shape, bool)
    for i in range(4):
      for o in range(6):
        if (i * base) // 4 == (o * base) // 6:
          expected_mask[1, 1, i, o] = True
    np.testing.assert_allclose(k[expected_mask], base / 6.0)
    noise = k[~expected_mask]
    assert np.abs(noise).max() <= 2e-3  # truncated at two stddevs
    assert np.abs(noise).max() > 0
    # Same channel counts and base == channels: identity plus noise.
    k = _eval(nets.noisy_identity_kernel_initializer(3)([3, 3, 3, 3]))
    np.testing.assert_allclose(k[1, 1], np.eye(3), atol=1e-7)


@pytest.mark.parametrize("shape", [[3, 3, 4], [3, 5, 4, 4], [2, 2, 4, 4],
                                   [3, 3, 3, 4], [3, 3, 4, 3]])
def test_noisy_identity_kernel_initializer_errors(shape):
  with tf.Graph().as_default():
    with pytest.raises(ValueError):
      nets.noisy_identity_kernel_initializer(2)(shape)


def test_constants():
  assert nets.Dilation.BASIC == "basic"
  assert nets.Dilation.LARGE == "large"
  assert nets.Dilation.WEIGHTS == "w"
  assert nets.Dilation.BIASES == "b"
  assert nets.Dilation.POSSIBLE_INITIALIZER_KEYS == {"w", "b"}


def test_basic_is_identity_with_default_init():
  with tf.Graph().as_default():
    net = nets.Dilation(num_output_classes=3)
    with pytest.raises(snt.NotConnectedError):
      _ = net.conv_modules
    x = tf.placeholder(tf.float32, [2, 9, 8, 3])
    y = net(x)
    assert y.get_shape().as_list() == [2, 9, 8, 3]
    variables = [(v.op.name, v.get_shape().as_list())
                 for v in net.get_variables()]
    expected = []
    for k in range(1, 9):
      expected.append(("dilation/dilated_conv_conv{}/w".format(k),
                       [3, 3, 3, 3]))
      expected.append(("dilation/dilated_conv_conv{}/b".format(k), [3]))
    assert variables == expected
    mods = net.conv_modules
    assert len(mods) == 8
    assert all(isinstance(m, sequential.Sequential) for m in mods)
    assert [m.module_name for m in mods] == ["conv{}".format(k)
                                             for k in range(1, 9)]
    rates = [m.layers[0].rate for m in mods]
    assert rates == [(r, r) for r in (1, 1, 2, 4, 8, 16, 1, 1)]
    assert [len(m.layers) for m in mods] == [2] * 7 + [1]
    xv = np.abs(np.random.randn(2, 9, 8, 3)).astype(np.float32)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(y, {x: xv}), xv, rtol=1e-6)
      # relus between layers: negative inputs are clipped by the first one.
      np.testing.assert_allclose(sess.run(y, {x: -xv}), 0.0)
    op_names = [op.name for op in tf.get_default_graph().get_operations()]
    assert any(n.endswith("relu_conv1") for n in op_names)
    assert not any(n.endswith("relu_conv8") for n in op_names)


def test_large_model_shapes():
  with tf.Graph().as_default():
    c = 1
    net = nets.Dilation(num_output_classes=c, model_size="large")
    y = net(tf.ones([1, 5, 5, 2]))
    assert y.get_shape().as_list() == [1, 5, 5, c]
    shapes = [v.get_shape().as_list() for v in net.get_variables()
              if v.op.name.endswith("/w")]
    widths = [2, 2, 4, 8, 16, 32, 32, 1]
    ins = [2] + [w * c for w in widths[:-1]]
    assert shapes == [[3, 3, i, w * c] for i, w in zip(ins, widths)]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert np.isfinite(sess.run(y)).all()


def test_errors_and_custom_initializers():
  with tf.Graph().as_default():
    with pytest.raises(snt.IncompatibleShapeError):
      nets.Dilation(3)(tf.ones([2, 4, 3]))
    with pytest.raises(ValueError, match="Unrecognized model_size"):
      nets.Dilation(3, model_size="huge")(tf.ones([1, 4, 4, 3]))
    with pytest.raises(KeyError):
      nets.Dilation(3, initializers={"gamma": tf.ones_initializer()})
    with pytest.raises(TypeError):
      nets.Dilation(3, regularizers={"w": 2})
    # The identity default needs depth == num_output_classes.
    with pytest.raises(ValueError):
      nets.Dilation(3)(tf.ones([1, 4, 4, 2]))
    net = nets.Dilation(3, initializers={"w": tf.zeros_initializer(),
                                         "b": tf.ones_initializer()},
                        regularizers={"w": tf.nn.l2_loss})
    y = net(tf.ones([1, 4, 4, 2]))
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 8
    np.testing.assert_allclose(_eval(y), 1.0)
