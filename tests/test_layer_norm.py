"""Tests for sonnet/python/modules/layer_norm.py."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def _np_norm(x, axis, gamma=1.0, beta=0.0, eps=1e-5):
  mean = x.mean(axis=tuple(axis), keepdims=True)
  var = x.var(axis=tuple(axis), keepdims=True)
  return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_default_axes_values_and_variables():
  x = np.random.randn(4, 3, 5).astype(np.float32) * 3 + 1
  module = snt.LayerNorm(initializers={"gamma": tf.random_normal_initializer(),
                                       "beta": tf.random_normal_initializer()})
  out = module(tf.constant(x))
  assert module.gamma.name == "layer_norm/gamma:0"
  assert module.beta.name == "layer_norm/beta:0"
  assert module.gamma.get_shape().as_list() == [5]
  assert module.beta.get_shape().as_list() == [5]
  out_v, gamma, beta = _run([out, module.gamma, module.beta])
  np.testing.assert_allclose(out_v, _np_norm(x, [1, 2], gamma, beta),
                             rtol=1e-4, atol=1e-5)


def test_default_initializers_normalize():
  x = np.random.randn(2, 6).astype(np.float32)
  module = snt.LayerNorm()
  out = module(tf.constant(x))
  assert set(module.initializers) == {"gamma", "beta"}
  out_v = _run(out)
  np.testing.assert_allclose(out_v, _np_norm(x, [1]), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(out_v.mean(axis=1), 0, atol=1e-5)


@pytest.mark.parametrize("axis,np_axis", [([1, 2], [1, 2]), (3, [3]),
                                          ((2,), [2]), ([-1], [3])])
def test_axis(axis, np_axis):
  x = np.random.randn(2, 3, 4, 5).astype(np.float32)
  out = snt.LayerNorm(axis=axis)(tf.constant(x))
  np.testing.assert_allclose(_run(out), _np_norm(x, np_axis), rtol=1e-4,
                             atol=1e-4)


def test_no_offset_no_scale():
  module = snt.LayerNorm(offset=False, scale=False)
  module(tf.zeros([2, 3]))
  assert module.beta is None and module.gamma is None
  assert module.get_variables() == ()
  with pytest.raises(KeyError):
    snt.LayerNorm(initializers={"w": tf.zeros_initializer()})


def test_float16_input():
  x = np.random.randn(2, 8).astype(np.float16)
  module = snt.LayerNorm()
  out = module(tf.constant(x))
  assert out.dtype == tf.float16
  assert module.gamma.dtype.base_dtype == tf.float32
  np.testing.assert_allclose(_run(out), _np_norm(x.astype(np.float32), [1]),
                             atol=1e-2)


def test_errors():
  for axis in (True, "a", [1, 1.5], [False]):
    with pytest.raises(ValueError, match="int or an iterable of ints"):
      snt.LayerNorm(axis=axis)
  with pytest.raises(snt.NotSupportedError, match="at least rank 2"):
    snt.LayerNorm()(tf.zeros([3]))
  with pytest.raises(snt.NotSupportedError):
    snt.LayerNorm()(tf.placeholder(tf.float32))
  with pytest.raises(snt.IncompatibleShapeError):
    snt.LayerNorm()(tf.placeholder(tf.float32, [2, None]))
  with pytest.raises(snt.NotConnectedError):
    snt.LayerNorm().gamma  # pylint: disable=expression-not-assigned
  with pytest.raises(TypeError):
    snt.LayerNorm(regularizers={"gamma": 0.1})


def test_regularizers_and_partitioners():
  module = snt.LayerNorm(regularizers={"gamma": tf.nn.l2_loss,
                                       "beta": tf.nn.l2_loss},
                         partitioners={"gamma": tf.fixed_size_partitioner(2)})
  module(tf.ones([2, 4]))
  losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  assert len(losses) == 3  # Two parts of gamma, and beta.
  assert len(list(module.gamma)) == 2
  assert sum(_run(losses)) == pytest.approx(2.0)


def test_gradient():
  # Seeded: finite differences on an unlucky draw (small variance over only
  # five values) have a large truncation error.
  with tf.Graph().as_default():
    x = tf.constant(np.random.RandomState(0).randn(2, 5))
    out = snt.LayerNorm()(x)
    with tf.Session():
      tf.global_variables_initializer().run()
      err = tf.test.compute_gradient_error(x, [2, 5], out, [2, 5], delta=1e-5)
  assert err < 1e-4


def test_does_not_support_is_training():
  assert util.supports_kwargs(snt.LayerNorm(), "is_training") == (
      util.NOT_SUPPORTED)
