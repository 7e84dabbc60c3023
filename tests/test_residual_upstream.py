"""Residual, ResidualCore and SkipConnectionCore, Sonnet 1 test style."""

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class ResidualTest(tf.test.TestCase):

  def testNameAndComputation(self):
    with tf.variable_scope("scope"):
      linear = snt.Linear(name="linear", output_size=4)
      residual = snt.Residual(linear, name="unique_name")
    self.assertEqual(residual.scope_name, "scope/unique_name")
    self.assertEqual(residual.module_name, "unique_name")
    self.assertEqual(snt.Residual(linear).module_name, "residual")
    inputs = tf.random_normal([3, 4])
    output = residual(inputs)
    self.assertEqual(output.get_shape(), [3, 4])
    self.evaluate(tf.global_variables_initializer())
    x, y, w, b = self.evaluate((inputs, output, linear.w, linear.b))
    self.assertAllClose(y, x + x.dot(w) + b, atol=1e-5)

  def testNestedAndKwargs(self):

    def build(inputs, scale=1.):
      return {"a": inputs["a"] * scale, "b": inputs["b"] * 0.}

    residual = snt.Residual(snt.Module(build))
    output = residual({"a": tf.ones([2]), "b": tf.ones([2])}, scale=3.)
    value = self.evaluate(output)
    self.assertAllClose(value["a"], [4., 4.])
    self.assertAllClose(value["b"], [1., 1.])


class ResidualCoreTest(tf.test.TestCase):

  def testShapeSizesAndComputation(self):
    batch_size, in_size = 3, 4
    inputs = tf.random_normal([batch_size, in_size])
    prev_state = tf.random_normal([batch_size, in_size])
    vanilla_rnn = snt.VanillaRNN(in_size)
    residual = snt.ResidualCore(vanilla_rnn, name="rnn")
    self.assertEqual(residual.module_name, "rnn")
    self.assertEqual(snt.ResidualCore(vanilla_rnn).module_name,
                     "residual_core")
    self.assertEqual(residual.output_size, vanilla_rnn.output_size)
    self.assertEqual(residual.state_size, vanilla_rnn.state_size)
    self.assertEqual(residual.output_size, in_size)
    output, next_state = residual(inputs, prev_state)
    base_output, base_state = vanilla_rnn(inputs, prev_state)
    self.assertShapeEqual(np.ndarray((batch_size, in_size)), output)
    self.evaluate(tf.global_variables_initializer())
    x, y, s, by, bs = self.evaluate(
        (inputs, output, next_state, base_output, base_state))
    del x, y, s, by, bs  # Random inputs differ per run; check in one run.
    x, y, s, by, bs = self.evaluate(
        [inputs, output, next_state, base_output, base_state])
    self.assertAllClose(y, x + by, atol=1e-5)
    self.assertAllClose(s, bs, atol=1e-5)

  def testDelegatesInitialStateAndRunsInDynamicRNN(self):
    lstm = snt.LSTM(5, name="lstm")
    residual = snt.ResidualCore(lstm)
    state = residual.initial_state(2, trainable=True)
    self.assertEqual(state.hidden.name,
                     "lstm_initial_state/state_hidden_tiled:0")
    zero = residual.zero_state(2, tf.float32)
    self.assertIsInstance(zero, snt.LSTMState)
    inputs = tf.random_normal([2, 6, 5])
    outputs, final_state = tf.nn.dynamic_rnn(residual, inputs,
                                             initial_state=state)
    self.assertEqual(outputs.get_shape(), [2, 6, 5])
    self.assertIsInstance(final_state, snt.LSTMState)
    self.evaluate(tf.global_variables_initializer())
    self.assertEqual(self.evaluate(outputs).shape, (2, 6, 5))


class SkipConnectionCoreTest(tf.test.TestCase):

  def testOutputSize(self):
    batch_size, in_size, hidden_size = 3, 4, 5
    inputs = tf.random_normal([batch_size, in_size])
    prev_state = tf.random_normal([batch_size, hidden_size])
    vanilla_rnn = snt.VanillaRNN(hidden_size)
    skip = snt.SkipConnectionCore(vanilla_rnn, name="skip")
    with self.assertRaisesRegexp(ValueError, "Output size unknown"):
      _ = skip.output_size
    output, next_state = skip(inputs, prev_state)
    self.assertAllEqual([in_size + hidden_size], skip.output_size.as_list())
    self.assertEqual(output.get_shape(), [batch_size, in_size + hidden_size])
    self.assertEqual(skip.state_size, vanilla_rnn.state_size)
    given = snt.SkipConnectionCore(vanilla_rnn, input_shape=(in_size,))
    self.assertEqual(given.module_name, "skip_connection_core")
    self.assertAllEqual([in_size + hidden_size], given.output_size.as_list())
    self.evaluate(tf.global_variables_initializer())
    x, y, s = self.evaluate([inputs, output, next_state])
    self.assertAllClose(y[:, :in_size], x)
    self.assertAllClose(y[:, in_size:], s)

  def testNumpyInputs(self):
    skip = snt.SkipConnectionCore(snt.VanillaRNN(3))
    x = np.ones([2, 4], np.float32)
    output, _ = skip(x, np.zeros([2, 3], np.float32))
    self.assertEqual(skip.output_size, tf.TensorShape([7]))
    self.evaluate(tf.global_variables_initializer())
    self.assertAllClose(self.evaluate(output)[:, :4], x)

  def testInDeepRNNWithDynamicRNN(self):
    cores = [snt.SkipConnectionCore(snt.LSTM(3), input_shape=(2,)),
             snt.SkipConnectionCore(snt.LSTM(3), input_shape=(5,))]
    deep_rnn = snt.DeepRNN(cores, skip_connections=False)
    self.assertEqual(deep_rnn.output_size, tf.TensorShape([8]))
    inputs = tf.random_normal([4, 2, 2])
    outputs, _ = tf.nn.dynamic_rnn(
        deep_rnn, inputs, time_major=True,
        initial_state=deep_rnn.initial_state(2, trainable=True))
    self.assertEqual(outputs.get_shape(), [4, 2, 8])
    self.evaluate(tf.global_variables_initializer())
    out, x = self.evaluate([outputs, inputs])
    self.assertAllClose(out[..., :2], x)


if __name__ == "__main__":
  tf.test.main()
