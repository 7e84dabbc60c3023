"""Upstream-style tests for sequential.py (tf.test.TestCase, graph mode)."""

from unittest import mock

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


def _make_tuple(x):
  return x, 2 * x


class SequentialTest(tf.test.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      seq = snt.Sequential([], name="unique_name")
    self.assertEqual(seq.scope_name, "scope/unique_name")
    self.assertEqual(snt.Sequential([]).module_name, "sequential")

  def testIdentity(self):
    id_inputs = tf.random_uniform([3, 2])
    identity_seq = snt.Sequential([])
    self.assertIs(identity_seq(id_inputs), id_inputs)
    a, b = tf.zeros([1]), tf.ones([2])
    self.assertEqual(identity_seq(a, b), (a, b))

  def testSequential(self):
    batch_size = 3
    in_size = 2
    seq = snt.Sequential([snt.Linear(output_size=10), tf.tanh,
                          snt.Linear(output_size=5)])
    inputs = tf.placeholder(tf.float32, [batch_size, in_size])
    output = seq(inputs)
    self.assertEqual(output.get_shape().as_list(), [batch_size, 5])
    lin1, _, lin2 = seq.layers
    data = np.random.randn(batch_size, in_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w1, b1, w2, b2 = sess.run(
          [output, lin1.w, lin1.b, lin2.w, lin2.b], {inputs: data})
    expected = np.tanh(data.dot(w1) + b1).dot(w2) + b2
    self.assertAllClose(out, expected, atol=1e-5)

  def testSharing(self):
    seq = snt.Sequential([snt.Linear(4), tf.nn.relu])
    inputs = tf.ones([2, 3])
    out1 = seq(inputs)
    out2 = seq(inputs)
    self.assertLen(tf.trainable_variables(), 2)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      a, b = sess.run([out1, out2])
    self.assertAllClose(a, b)

  def testTupleOutputsAreSplatted(self):
    seq = snt.Sequential([_make_tuple, tf.add, _make_tuple])
    out = seq(tf.constant(1.0))
    self.assertIsInstance(out, tuple)
    with self.test_session() as sess:
      self.assertAllClose(sess.run(out), (3.0, 6.0))
    seq2 = snt.Sequential([tf.add])
    with self.test_session() as sess:
      self.assertAllClose(sess.run(seq2(tf.constant(1.0), tf.constant(2.0))),
                          3.0)

  def testLayersProperty(self):
    layers = [tf.tanh, tf.nn.relu]
    seq = snt.Sequential(layers)
    self.assertIsInstance(seq.layers, tuple)
    self.assertEqual(seq.layers, tuple(layers))
    seq_from_generator = snt.Sequential(layer for layer in layers)
    self.assertEqual(seq_from_generator.layers, tuple(layers))

  def testNotCallable(self):
    err = "Items 1, 2 not callable with types: int, str"
    with self.assertRaisesRegexp(TypeError, err):
      snt.Sequential([tf.tanh, 1, "string"])

  def testWarning(self):
    seq = snt.Sequential([snt.Linear(output_size=23),
                          snt.Linear(output_size=42)])
    seq(tf.placeholder(dtype=tf.float32, shape=[2, 3]))
    expected_warning = (
        "Calling Sequential.get_variables, which will always return an empty "
        "tuple. get_variables() can only return variables created directly by "
        "a Module, or created by submodules directly created inside the "
        "Module. Sequential is constructed from already constructed submodules "
        "and so this will always be empty. See the documentation for more "
        "details, but tl;dr if you need to connect some modules sequentially "
        "and call get_variables on the result, writing a simple custom module "
        "is the simplest way. Another option is to call get_all_variables().")
    with mock.patch.object(tf.logging, "warning") as mocked_logging_warning:
      self.assertEqual(seq.get_variables(), ())
      mocked_logging_warning.assert_called_once_with(expected_warning)

  def testVariablesOfExternalLayers(self):
    lin1, lin2 = snt.Linear(3), snt.Linear(4)
    seq = snt.Sequential([lin1, lin2])
    with self.assertRaises(snt.NotConnectedError):
      _ = seq.variables
    seq(tf.zeros([2, 5]))
    expected = {lin1.w, lin1.b, lin2.w, lin2.b}
    self.assertEqual(set(seq.get_all_variables()), expected)
    self.assertEqual(set(seq.variables), expected)

  def testInsideDynamicRnn(self):

    class Core(object):
      state_size = 3
      output_size = 3

      def __init__(self):
        self._seq = snt.Sequential([snt.Linear(3), tf.tanh])

      def zero_state(self, batch_size, dtype):
        return tf.zeros([batch_size, 3], dtype)

      def __call__(self, inputs, state):
        out = self._seq(tf.concat([inputs, state], 1))
        return out, out

    core = Core()
    inputs = tf.ones([2, 4, 5])
    outputs, _ = tf.nn.dynamic_rnn(core, inputs, dtype=tf.float32)
    self.assertEqual(outputs.get_shape().as_list(), [2, 4, 3])
    grads = tf.gradients(tf.reduce_sum(outputs), core._seq.layers[0].w)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run([outputs, grads])


if __name__ == "__main__":
  tf.test.main()
