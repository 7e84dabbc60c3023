"""ACTCore, Sonnet 1 test style: LSTM and VanillaRNN cores in dynamic_rnn."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

nest = tf.nest


class _TupleOutputCore(snt.RNNCore):

  def __init__(self, output_size, name="tuple_core"):
    super(_TupleOutputCore, self).__init__(name=name)
    self._output_size_value = output_size

  def _build(self, inputs, prev_state):
    return inputs, prev_state

  @property
  def state_size(self):
    return tf.TensorShape([1])

  @property
  def output_size(self):
    return self._output_size_value


class ACTCoreTest(tf.test.TestCase, parameterized.TestCase):

  def _testACT(self, input_size, output_size, seq_len, batch_size, core,
               get_state_for_halting, threshold=0.1, max_steps=0,
               dtype=tf.float32):
    act = snt.ACTCore(core, output_size, threshold, get_state_for_halting,
                      max_steps=max_steps)
    self.assertEqual(act.module_name, "act_core")
    self.assertEqual(act.state_size, core.state_size)
    self.assertEqual(act.output_size, (tf.TensorShape([output_size]),
                                       (tf.TensorShape([1]),
                                        tf.TensorShape([1]))))
    with self.assertRaises(snt.NotConnectedError):
      _ = act.batch_size
    seq_input = tf.random_uniform(shape=(seq_len, batch_size, input_size),
                                  dtype=dtype)
    initial_state = act.initial_state(batch_size, dtype=dtype)
    seq_output = tf.nn.dynamic_rnn(act, seq_input, time_major=True,
                                   initial_state=initial_state)
    for tensor in nest.flatten(seq_output):
      self.assertEqual(seq_input.dtype, tensor.dtype)
    self.assertEqual(act.batch_size, batch_size)
    self.assertEqual(act.dtype, dtype)

    self.evaluate(tf.global_variables_initializer())
    (act_out, (iteration, remainder)), final_state = self.evaluate(
        seq_output)
    self.assertEqual((seq_len, batch_size, output_size), act_out.shape)
    self.assertEqual((seq_len, batch_size, 1), iteration.shape)
    self.assertEqual((seq_len, batch_size, 1), remainder.shape)
    self.assertTrue(np.all(iteration >= 1))
    if max_steps:
      self.assertTrue(np.all(iteration <= max_steps))
    self.assertTrue(np.all(remainder >= 0) and np.all(remainder <= 1))
    nest.assert_same_structure(final_state, core.state_size)
    names = sorted(v.op.name for v in act.get_variables())
    self.assertEqual(names, [
        "act_core/act_output_linear/b", "act_core/act_output_linear/w",
        "act_core/halting_linear/b", "act_core/halting_linear/w"])
    return iteration

  @parameterized.parameters((13, 11, 7, 3, 5), (3, 3, 3, 1, 5))
  def testACTLSTM(self, input_size, hidden_size, output_size, seq_len,
                  batch_size):
    core = snt.LSTM(hidden_size)
    # A low threshold halts on the first ponder step.
    iteration = self._testACT(input_size, output_size, seq_len, batch_size,
                              core, lambda state: state[0])
    self.assertTrue(np.all(iteration == 1))

  @parameterized.parameters(tf.float32, tf.float64)
  def testACTVanilla(self, dtype):
    core = snt.VanillaRNN(6)
    self._testACT(5, 4, 3, 2, core, lambda state: state, threshold=0.999,
                  max_steps=4, dtype=dtype)

  def testGradients(self):
    core = snt.VanillaRNN(3)
    act = snt.ACTCore(core, 2, 0.9, lambda state: state, max_steps=3)
    inputs = tf.random_normal([4, 2, 3])
    (out, _), _ = tf.nn.dynamic_rnn(act, inputs, time_major=True,
                                    initial_state=act.initial_state(2))
    grads = tf.gradients(tf.reduce_sum(out), tf.trainable_variables())
    self.assertLen(grads, 8)
    self.assertTrue(all(g is not None for g in grads))
    self.evaluate(tf.global_variables_initializer())
    for value in self.evaluate(grads):
      self.assertTrue(np.all(np.isfinite(value)))

  def testBadArguments(self):
    with self.assertRaisesRegexp(ValueError, "single Tensor"):
      snt.ACTCore(_TupleOutputCore((tf.TensorShape([2]),
                                    tf.TensorShape([3]))), 3, 0.1, tf.identity)
    with self.assertRaisesRegexp(ValueError, "1D"):
      snt.ACTCore(_TupleOutputCore(tf.TensorShape([2, 3])), 3, 0.1,
                  tf.identity)
    for threshold in (-0.1, 1.1):
      with self.assertRaisesRegexp(ValueError, "[Tt]hreshold"):
        snt.ACTCore(snt.VanillaRNN(3), 3, threshold, tf.identity)
    act = snt.ACTCore(snt.VanillaRNN(3), 3, 0.5, tf.identity)
    with self.assertRaises(ValueError):  # Not rank 2.
      act(tf.ones([2, 3, 4]), tf.zeros([2, 3]))


if __name__ == "__main__":
  tf.test.main()
