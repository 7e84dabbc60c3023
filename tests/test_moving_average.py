"""Tests for sonnet/python/modules/moving_average.py."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import moving_average
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def test_values_and_reset():
  decay = 0.9
  x = tf.placeholder(tf.float32, [2])
  module = snt.MovingAverage(decay=decay)
  avg = module(x)
  reset = module.reset()
  inputs = np.random.rand(5, 2).astype(np.float32)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    expected = inputs[0]
    np.testing.assert_allclose(sess.run(avg, {x: inputs[0]}), expected)
    for value in inputs[1:]:
      expected = decay * expected + (1 - decay) * value
      np.testing.assert_allclose(sess.run(avg, {x: value}), expected,
                                 rtol=1e-5, atol=1e-6)
    sess.run(reset)
    np.testing.assert_allclose(sess.run(avg, {x: inputs[3]}), inputs[3])


def test_variables_and_collections():
  module = snt.MovingAverage()
  module(tf.zeros([3, 2]))
  names = [v.name for v in module.get_variables(tf.GraphKeys.GLOBAL_VARIABLES)]
  assert names == ["moving_average/initialized:0",
                   "moving_average/moving_average:0"]
  assert not tf.trainable_variables() and not tf.local_variables()
  assert module.non_trainable_variables[1].get_shape().as_list() == [3, 2]
  local = snt.MovingAverage(local=True)
  local(tf.zeros([1]))
  assert len(tf.local_variables()) == 2 and len(tf.global_variables()) == 2


def test_gradient_passes_through():
  x = tf.constant(np.random.rand(2, 3).astype(np.float32))
  avg = snt.MovingAverage(decay=0.5)(x)
  grad = tf.gradients(avg * 3.0, x)[0]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(grad), np.full([2, 3], 3.0))


def test_pass_through_gradients_error():
  x = tf.constant(np.random.rand(3))
  target = tf.constant(np.random.rand(3))
  out = moving_average._pass_through_gradients(x, target)
  with tf.Session() as sess:
    np.testing.assert_array_equal(sess.run(out), sess.run(target))
    # The gradient is the identity although the output does not depend on x.
    theoretical, numerical = tf.test.compute_gradient(x, [3], out, [3])
  np.testing.assert_array_equal(theoretical, np.eye(3))
  np.testing.assert_array_equal(numerical, np.zeros([3, 3]))
  assert tf.gradients(out, target) == [None]
  with pytest.raises(TypeError):
    moving_average._pass_through_gradients(x, tf.zeros([3], tf.float32))


def test_works_in_two_graphs():
  for _ in range(2):
    with tf.Graph().as_default():
      x = tf.constant([1.0, 2.0])
      avg = snt.MovingAverage()(x)
      grad = tf.gradients(avg, x)[0]
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run([avg, grad]), [[1, 2], [1, 1]])


def test_errors():
  for decay in (-0.1, 1.5):
    with pytest.raises(ValueError, match=r"\[0, 1\] range"):
      snt.MovingAverage(decay=decay)
  with pytest.raises(snt.IncompatibleShapeError):
    snt.MovingAverage()(tf.placeholder(tf.float32, [None, 2]))
  with pytest.raises(snt.NotConnectedError):
    snt.MovingAverage().reset()


def test_gradient_reaches_upstream_variables():
  lin = snt.Linear(2)
  avg = snt.MovingAverage(local=True)(lin(tf.ones([1, 3])))
  grads = tf.gradients(tf.reduce_sum(avg), [lin.w, lin.b])
  with tf.Session() as sess:
    sess.run([tf.global_variables_initializer(),
              tf.local_variables_initializer()])
    grad_w, grad_b = sess.run(grads)
  np.testing.assert_allclose(grad_w, np.ones([3, 2]))
  np.testing.assert_allclose(grad_b, np.ones([2]))
