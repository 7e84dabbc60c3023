"""Upstream-style tests for moving_average.py (tf.test.TestCase, graph mode)."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class MovingAverageTest(tf.test.TestCase, parameterized.TestCase):

  def testFirst(self):
    var = tf.Variable(10.0)
    avg = snt.MovingAverage(decay=0.9)(var)
    with tf.train.MonitoredSession() as sess:
      avg_value = sess.run(avg)
    # After one step the average equals the input.
    self.assertEqual(avg_value, 10.0)

  def testReset(self):
    val = tf.placeholder(shape=(), dtype=tf.float32)
    module = snt.MovingAverage(decay=0.9)
    avg = module(val)
    reset = module.reset()
    with tf.train.MonitoredSession() as sess:
      self.assertEqual(sess.run(avg, feed_dict={val: 10.0}), 10.0)
      self.assertAllClose(sess.run(avg, feed_dict={val: 20.0}), 11.0)
      sess.run(reset)
      self.assertEqual(sess.run(avg, feed_dict={val: 100.0}), 100.0)

  @parameterized.named_parameters(("ResourceVars", True),
                                  ("RefVars", False))
  def testAverage(self, use_resource_vars):
    decay = 0.9
    num_steps = 10
    init_value = 3.14
    with tf.variable_scope("", use_resource=use_resource_vars):
      var = tf.get_variable(
          "var", (), initializer=tf.constant_initializer(init_value))
      avg = snt.MovingAverage(decay=decay)(tf.identity(var))
      with tf.control_dependencies([avg]):
        increment = tf.assign_add(var, 1.0)

    with tf.train.MonitoredSession() as sess:
      expected_value = init_value
      x = init_value
      for _ in range(num_steps):
        avg_value, _ = sess.run([avg, increment])
        self.assertNear(avg_value, expected_value, 1e-4)
        x += 1
        expected_value = expected_value * decay + x * (1 - decay)

  def testAssertDecayIsValid(self):
    with self.assertRaisesRegexp(ValueError, "Decay must be"):
      snt.MovingAverage(decay=2.0)
    with self.assertRaisesRegexp(ValueError, "Decay must be"):
      snt.MovingAverage(decay=-0.1)
    snt.MovingAverage(decay=0.0)
    snt.MovingAverage(decay=1.0)

  def testIsDifferentiable(self):
    x = tf.get_variable(name="x", shape=())
    mva = snt.MovingAverage(decay=0.99, local=False)
    y = mva(x)
    dydx = tf.gradients(y, x)
    z = mva(2 * x)
    dzdx = tf.gradients(z, x)
    with tf.train.MonitoredSession() as sess:
      df = sess.run([dydx, dzdx])
    self.assertEqual(df[0], [1.0])
    self.assertEqual(df[1], [2.0])

  @parameterized.named_parameters(("Local", True), ("Global", False))
  def testCollections(self, local):
    mva = snt.MovingAverage(local=local)
    mva(tf.zeros([2, 3]))
    names = sorted(v.name for v in mva.variables)
    self.assertEqual(names, ["moving_average/initialized:0",
                             "moving_average/moving_average:0"])
    self.assertEmpty(tf.trainable_variables())
    collection = tf.local_variables() if local else tf.global_variables()
    other = tf.global_variables() if local else tf.local_variables()
    self.assertLen(collection, 2)
    self.assertEmpty(other)
    self.assertEqual(
        mva.get_variables(tf.GraphKeys.LOCAL_VARIABLES if local
                          else tf.GraphKeys.GLOBAL_VARIABLES)[0].dtype
        .base_dtype, tf.bool)

  def testShapeAndValues(self):
    val = tf.placeholder(tf.float32, [2, 3])
    avg = snt.MovingAverage(decay=0.5)(val)
    self.assertEqual(avg.get_shape().as_list(), [2, 3])
    a = np.random.randn(2, 3)
    b = np.random.randn(2, 3)
    with tf.train.MonitoredSession() as sess:
      self.assertAllClose(sess.run(avg, {val: a}), a)
      self.assertAllClose(sess.run(avg, {val: b}), 0.5 * a + 0.5 * b)

  def testInsideWhileLoop(self):
    mva = snt.MovingAverage(decay=0.5)

    def body(i, last):
      # The input depends on the last output, as in an RNN, so the parallel
      # iterations of the loop see each other's updates in order.
      return i + 1, mva(tf.cast(i, tf.float32) + 0.0 * last)

    _, out = tf.while_loop(lambda i, _: i < 3, body, [0, 0.0])
    with tf.train.MonitoredSession() as sess:
      # Inputs 0, 1, 2: averages 0, 0.5, 1.25.
      self.assertAllClose(sess.run(out), 1.25)


if __name__ == "__main__":
  tf.test.main()
