"""Upstream-style tests for scale_gradient.py (tf.test.TestCase, graph mode)."""

import itertools

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class ScaleGradientTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(*itertools.product([0, 2, 5], [0.0, 0.1, 0.9,
                                                           1.0, -2.0]))
  def testOpScale(self, x_, scale):
    x = tf.placeholder(tf.float32, [1])
    y = x * x
    y = snt.scale_gradient(y, scale)
    dydx = tf.gradients([y], [x])[0]

    if scale == 0.0:
      self.assertEqual(y.op.type, "StopGradient")
      self.assertIsNone(dydx)
    else:
      if scale == 1.0:
        self.assertEqual(y.op.type, "Identity")
      else:
        self.assertEqual(y.op.type, "ScaleGradient_float32")
      with self.test_session() as sess:
        dydx_, y_ = sess.run([dydx, y], feed_dict={x: [x_]})
      self.assertAlmostEqual(dydx_[0], 2 * scale * x_, places=5)
      self.assertAlmostEqual(y_[0], x_ ** 2, places=5)

  def testTwoOps(self):
    x = tf.placeholder(tf.float32, [1])
    y = x * x
    y = snt.scale_gradient(y, 0.1)
    y = snt.scale_gradient(y, 0.1)
    dydx = tf.gradients([y], [x])[0]
    with self.test_session() as sess:
      dydx_, y_ = sess.run([dydx, y], feed_dict={x: [3.0]})
    self.assertAlmostEqual(dydx_[0], 2 * 0.1**2 * 3.0, places=6)
    self.assertAlmostEqual(y_[0], 3.0 ** 2, places=6)

  def testShape(self):
    x = tf.placeholder(tf.float32, [None, 10, 13])
    y = snt.scale_gradient(x, 0.1)
    self.assertEqual(tuple(y.get_shape().as_list()), (None, 10, 13))

  @parameterized.parameters(tf.float16, tf.float32, tf.float64)
  def testDtypes(self, dtype):
    x = tf.placeholder(dtype, [2])
    y = snt.scale_gradient(x * 1, 0.5)
    self.assertEqual(y.dtype, dtype)
    self.assertEqual(y.op.type, "ScaleGradient_" + dtype.name)
    grad = tf.gradients(tf.reduce_sum(y), x)[0]
    with self.test_session() as sess:
      self.assertAllClose(sess.run(grad, {x: [1.0, 2.0]}), [0.5, 0.5])

  def testTensorScale(self):
    x = tf.placeholder(tf.float32, [2])
    scale = tf.placeholder(tf.float32, [])
    y = snt.scale_gradient(x, scale)
    grad = tf.gradients(tf.reduce_sum(y), x)[0]
    with self.test_session() as sess:
      self.assertAllClose(sess.run(grad, {x: [1.0, 2.0], scale: 0.0}),
                          [0.0, 0.0])
      self.assertAllClose(sess.run(grad, {x: [1.0, 2.0], scale: 3.0}),
                          [3.0, 3.0])

  def testNonFloat(self):
    with self.assertRaisesRegexp(ValueError, "non-float"):
      snt.scale_gradient(tf.constant([1, 2]), 0.5)

  def testInsideWhileLoopAndCond(self):
    x = tf.placeholder(tf.float32, [3])

    def body(i, acc):
      return i + 1, acc + tf.reduce_sum(snt.scale_gradient(2.0 * x, 0.1))

    _, acc = tf.while_loop(lambda i, _: i < 3, body, [0, 0.0])
    out = tf.cond(tf.constant(True),
                  lambda: snt.scale_gradient(x, 3.0), lambda: x)
    g_loop = tf.gradients(acc, x)[0]
    g_cond = tf.gradients(tf.reduce_sum(out), x)[0]
    with self.test_session() as sess:
      loop, cond = sess.run([g_loop, g_cond], {x: np.ones(3)})
    self.assertAllClose(loop, np.full(3, 0.6))
    self.assertAllClose(cond, np.full(3, 3.0))

  def testSeveralGraphs(self):
    for _ in range(2):
      with tf.Graph().as_default():
        x = tf.constant([1.0])
        y = snt.scale_gradient(x, 0.5)
        grad = tf.gradients(y, x)[0]
        with tf.Session() as sess:
          self.assertAllClose(sess.run(grad), [0.5])


if __name__ == "__main__":
  tf.test.main()
