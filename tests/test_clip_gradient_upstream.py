"""Upstream-style tests for clip_gradient.py (tf.test.TestCase, graph mode)."""

import os
import subprocess
import sys

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class ClipGradientTest(tf.test.TestCase):

  def testOpClip(self):
    x = tf.placeholder(tf.float32, shape=[2, 1])
    y = snt.clip_gradient(x, 2, 3)
    z = tf.reduce_sum(y * y)
    dzdy = tf.gradients(z, y)[0]
    dzdx = tf.gradients(z, x)[0]
    self.assertEqual(y.op.type, "ClipGradient_float32")

    x_np = np.array([[0.5], [2]])
    with self.test_session() as sess:
      y_np, dzdy_np, dzdx_np = sess.run([y, dzdy, dzdx], feed_dict={x: x_np})
    self.assertAllEqual(y_np, x_np)
    # The gradient with respect to the output is not clipped...
    self.assertAllEqual(dzdy_np, np.array([[1], [4]]))
    # ...the one with respect to the input is, to [2, 3].
    self.assertAllEqual(dzdx_np, np.array([[2], [3]]))

  def testOpClipDifferentClipValues(self):
    x = tf.placeholder(tf.float32, shape=[2, 1])
    y_1 = snt.clip_gradient(x, 1, 2)
    y_2 = snt.clip_gradient(x, 2, 3)
    z_1 = tf.reduce_sum(y_1 * y_1)
    z_2 = tf.reduce_sum(y_2 * y_2)
    dzdx_1 = tf.gradients(z_1, x)[0]
    dzdx_2 = tf.gradients(z_2, x)[0]
    x_np = np.array([[0.5], [2]])
    with self.test_session() as sess:
      g1, g2 = sess.run([dzdx_1, dzdx_2], feed_dict={x: x_np})
    self.assertAllEqual(g1, np.array([[1], [2]]))
    self.assertAllEqual(g2, np.array([[2], [3]]))

  def testOpClipDifferentDtypes(self):
    x_1 = tf.placeholder(tf.float16, shape=())
    y_1 = snt.clip_gradient(x_1, 0, 1)
    x_2 = tf.placeholder(tf.float32, shape=())
    y_2 = snt.clip_gradient(x_2, 0, 1)
    x_3 = tf.placeholder(tf.float64, shape=())
    y_3 = snt.clip_gradient(x_3, -1, 0.5)
    self.assertEqual([y.dtype for y in (y_1, y_2, y_3)],
                     [tf.float16, tf.float32, tf.float64])
    grads = tf.gradients([y_1 * 4, y_2 * 4, y_3 * 4], [x_1, x_2, x_3])
    with self.test_session() as sess:
      values = sess.run(grads, {x_1: 1.0, x_2: 1.0, x_3: 1.0})
    self.assertAllClose(values, [1.0, 1.0, 0.5])

  def testShape(self):
    x = tf.placeholder(tf.float32, [None, 10, 13])
    y = snt.clip_gradient(x, 0, 1)
    z = tf.reduce_sum(y * y)
    dzdx = tf.gradients(z, x)[0]
    self.assertAllEqual(y.get_shape().as_list(), [None, 10, 13])
    self.assertAllEqual(dzdx.get_shape().as_list(), [None, 10, 13])

  def testTensorBoundsAndName(self):
    x = tf.placeholder(tf.float32, [3])
    low = tf.placeholder(tf.float32, [])
    y = snt.clip_gradient(x, low, 0.5, name="my_clip")
    self.assertTrue(y.name.startswith("my_clip/"))
    grad = tf.gradients(tf.reduce_sum(y * [-2.0, 0.1, 3.0]), [x, low])
    self.assertIsNone(grad[1])
    with self.test_session() as sess:
      self.assertAllClose(sess.run(grad[0], {x: np.ones(3), low: -1.0}),
                          [-1.0, 0.1, 0.5])

  def testNonFloat(self):
    with self.assertRaisesRegexp(
        ValueError, "clip_gradient does not support non-float `net` inputs."):
      snt.clip_gradient(tf.constant([1, 2]), 0, 1)

  def testInsideWhileLoop(self):
    x = tf.placeholder(tf.float32, [2])

    def body(i, acc):
      return i + 1, acc + tf.reduce_sum(5.0 * snt.clip_gradient(x, -1, 1))

    _, acc = tf.while_loop(lambda i, _: i < 2, body, [0, 0.0])
    grad = tf.gradients(acc, x)[0]
    with self.test_session() as sess:
      self.assertAllClose(sess.run(grad, {x: [1.0, 2.0]}), [2.0, 2.0])


_EAGER_SCRIPT = r'''
import numpy as np
import tensorflow as tf
import sonnet as snt
assert tf.executing_eagerly()
x = tf.constant([[0.5], [2.0]])
with tf.GradientTape() as tape:
  tape.watch(x)
  y = snt.clip_gradient(x, 2.0, 3.0)
  z = tf.reduce_sum(y * y)
np.testing.assert_allclose(y.numpy(), x.numpy())
np.testing.assert_allclose(tape.gradient(z, x).numpy(), [[2.0], [3.0]])
scaled = snt.scale_gradient(lambda t: t * t, 0.5)
with tf.GradientTape() as tape:
  tape.watch(x)
  y = scaled(x)
np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0.5], [2.0]])
try:
  snt.scale_gradient(x, 0.5)
  raise AssertionError("no error for a tensor in eager mode")
except ValueError:
  pass
print("EAGER OK")
'''


class EagerGradientOpsTest(tf.test.TestCase):
  """clip_gradient and scale_gradient when executing eagerly (a subprocess:
  the test suite runs with eager execution off)."""

  def testEager(self):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path)
    result = subprocess.run([sys.executable, "-c", _EAGER_SCRIPT],
                            capture_output=True, text=True, env=env, cwd=root,
                            timeout=300, check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("EAGER OK", result.stdout)


if __name__ == "__main__":
  tf.test.main()
