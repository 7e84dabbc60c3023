"""Tests for sonnet/python/modules/clip_gradient.py."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def test_forward_identity_and_clipped_gradient():
  x = tf.placeholder(tf.float32, [4])
  y = snt.clip_gradient(x, -1.0, 0.5)
  assert y.get_shape().as_list() == [4]
  assert y.op.name.startswith("clip_gradient/")
  upstream = tf.constant([-3.0, -0.5, 0.2, 2.0])
  grad = tf.gradients(y, x, grad_ys=upstream)[0]
  with tf.Session() as sess:
    y_v, grad_v = sess.run([y, grad], {x: [1.0, 2.0, 3.0, 4.0]})
  np.testing.assert_array_equal(y_v, [1.0, 2.0, 3.0, 4.0])
  np.testing.assert_allclose(grad_v, [-1.0, -0.5, 0.2, 0.5])


def test_gradient_error():
  x = tf.constant(np.random.rand(2, 3))
  wide = snt.clip_gradient(x, -2.0, 2.0)
  narrow = snt.clip_gradient(x, -0.5, 0.5, name="narrow")
  assert narrow.dtype == tf.float64
  with tf.Session():
    # Unit upstream gradients are not clipped by [-2, 2]: the true Jacobian.
    assert tf.test.compute_gradient_error(x, [2, 3], wide, [2, 3]) < 1e-8
    # With [-0.5, 0.5] they are halved, off the numeric Jacobian by 0.5.
    assert tf.test.compute_gradient_error(
        x, [2, 3], narrow, [2, 3]) == pytest.approx(0.5)


def test_tensor_bounds_get_no_gradient():
  x = tf.constant([1.0, 2.0])
  low = tf.constant(-0.1)
  y = snt.clip_gradient(x, low, 0.1)
  grads = tf.gradients(tf.reduce_sum(y * 3.0), [x, low])
  assert grads[1] is None
  with tf.Session() as sess:
    np.testing.assert_allclose(sess.run(grads[0]), [0.1, 0.1])


def test_non_float_raises():
  with pytest.raises(ValueError, match="non-float"):
    snt.clip_gradient(tf.constant([1, 2]), -1, 1)
