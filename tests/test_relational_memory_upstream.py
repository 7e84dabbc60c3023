"""RelationalMemory in Sonnet 1 test style: shapes, gates, errors, dynamic_rnn."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class RelationalMemoryTest(tf.test.TestCase, parameterized.TestCase):

  def testStateSizeOutputSize(self):
    batch_size, mem_slots, head_size = 4, 4, 32
    mem = snt.RelationalMemory(mem_slots, head_size)
    self.assertEqual(mem.module_name, "relational_memory")
    init_state = mem.initial_state(batch_size)
    self.assertEqual(init_state.get_shape(), [batch_size, mem_slots,
                                              head_size])
    self.assertEqual(mem.state_size, tf.TensorShape([mem_slots, head_size]))
    self.assertEqual(mem.output_size, tf.TensorShape(mem_slots * head_size))
    self.assertEqual(mem.output_size, tf.TensorShape([mem_slots * head_size]))

  @parameterized.parameters((1, 1, 1), (4, 2, 1), (2, 3, 2), (5, 2, 2))
  def testOutputStateShapes(self, mem_slots, head_size, num_heads):
    batch_size = 5
    input_shape = (batch_size, 3, 3)
    mem = snt.RelationalMemory(mem_slots, head_size, num_heads)
    inputs = tf.placeholder(tf.float32, input_shape)
    init_state = mem.initial_state(batch_size)
    out = mem(inputs, init_state)
    self.evaluate(tf.global_variables_initializer())
    with self.cached_session() as sess:
      new_out, new_memory, init_value = sess.run(
          out + (init_state,), feed_dict={inputs: np.zeros(input_shape)})
    self.assertAllEqual(init_state.get_shape().as_list(), new_memory.shape)
    self.assertAllEqual(new_out.shape,
                        [batch_size, mem_slots * head_size * num_heads])
    # Identity rows, padded with zeros or truncated to mem_size columns.
    mem_size = head_size * num_heads
    expected = np.eye(mem_slots, max(mem_slots, mem_size))[:, :mem_size]
    self.assertAllClose(init_value, np.tile(expected, [batch_size, 1, 1]))

  @parameterized.parameters((1, 1, 1), (2, 3, 2))
  def testTreatInputAsMatrix(self, mem_slots, head_size, num_heads):
    batch_size = 5
    input_shape = (batch_size, 3, 3, 2)
    mem = snt.RelationalMemory(mem_slots, head_size, num_heads)
    inputs = tf.placeholder(tf.float32, input_shape)
    out, memory = mem(inputs, mem.initial_state(batch_size),
                      treat_input_as_matrix=True)
    self.evaluate(tf.global_variables_initializer())
    with self.cached_session() as sess:
      out_value, memory_value = sess.run(
          (out, memory), feed_dict={inputs: np.ones(input_shape)})
    self.assertEqual(out_value.shape,
                     (batch_size, mem_slots * head_size * num_heads))
    self.assertEqual(memory_value.shape,
                     (batch_size, mem_slots, head_size * num_heads))

  def testBadInputs(self):
    mem_slots, head_size = 4, 32
    with self.assertRaises(ValueError):
      snt.RelationalMemory(mem_slots, head_size, num_blocks=0)
    with self.assertRaises(ValueError):
      snt.RelationalMemory(mem_slots, head_size, gate_style="bad_gating")
    with self.assertRaises(ValueError):
      snt.RelationalMemory(mem_slots, head_size, attention_mlp_layers=0)

  @parameterized.parameters("unit", "memory", None)
  def testGateShapes(self, gate_style):
    batch_size, mem_slots, head_size = 4, 2, 3
    mem = snt.RelationalMemory(mem_slots, head_size, gate_style=gate_style)
    with self.assertRaises(snt.NotConnectedError):
      _ = mem.input_gate
    mem(tf.ones([batch_size, 5]), mem.initial_state(batch_size))
    gate_size = mem._calculate_gate_size()  # pylint: disable=protected-access
    if gate_style is None:
      self.assertEqual(gate_size, 0)
      self.assertIsNone(mem.input_gate)
      self.assertIsNone(mem.forget_gate)
    else:
      self.assertEqual(gate_size, head_size if gate_style == "unit" else 1)
      expected = [batch_size, mem_slots, gate_size]
      self.assertEqual(mem.input_gate.get_shape().as_list(), expected)
      self.assertEqual(mem.forget_gate.get_shape().as_list(), expected)

  def testMemoryUpdating(self):
    batch_size, mem_slots, head_size = 2, 3, 4
    inputs = tf.random_normal([batch_size, 5])
    # Closed input gate, open forget gate: the memory is kept as it was.
    frozen = snt.RelationalMemory(mem_slots, head_size,
                                  forget_bias=float("inf"),
                                  input_bias=float("-inf"))
    init_state = frozen.initial_state(batch_size)
    _, frozen_memory = frozen(inputs, init_state)
    ungated = snt.RelationalMemory(mem_slots, head_size, gate_style=None)
    _, ungated_memory = ungated(inputs, init_state)
    self.evaluate(tf.global_variables_initializer())
    init_value, frozen_value, ungated_value = self.evaluate(
        [init_state, frozen_memory, ungated_memory])
    self.assertAllClose(frozen_value, init_value)
    self.assertFalse(np.allclose(ungated_value, init_value))

  def testMultiheadAttentionShapes(self):
    batch_size, mem_slots, head_size, num_heads = 2, 3, 4, 2
    mem = snt.RelationalMemory(mem_slots, head_size, num_heads, key_size=5)
    memory = tf.random_normal([batch_size, mem_slots, head_size * num_heads])
    output = mem._multihead_attention(memory)  # pylint: disable=protected-access
    self.assertEqual(output.get_shape(),
                     [batch_size, mem_slots, head_size * num_heads])
    qkv = [v for v in tf.trainable_variables() if v.op.name == "linear/w"]
    self.assertEqual(qkv[0].get_shape(),
                     [head_size * num_heads, (2 * 5 + head_size) * num_heads])

  def testVariableNamesAndDynamicRNN(self):
    mem = snt.RelationalMemory(3, 4, num_heads=2, num_blocks=2)
    inputs = tf.random_normal([6, 2, 5])
    outputs, final_memory = tf.nn.dynamic_rnn(
        mem, inputs, time_major=True, initial_state=mem.initial_state(2))
    self.assertEqual(outputs.get_shape(), [6, 2, 24])
    self.assertEqual(final_memory.get_shape(), [2, 3, 8])
    names = [v.op.name for v in mem.get_variables()]
    self.assertEqual(names[:6], [
        "relational_memory/linear/w", "relational_memory/linear/b",
        "relational_memory/linear_1/w", "relational_memory/linear_1/b",
        "relational_memory/layer_norm/gamma",
        "relational_memory/layer_norm/beta"])
    self.assertIn("relational_memory/mlp/linear_1/w", names)
    self.assertIn("relational_memory/layer_norm_5/beta", names)
    self.assertEqual(names[-4:], [
        "relational_memory/linear_3/w", "relational_memory/linear_3/b",
        "relational_memory/linear_4/w", "relational_memory/linear_4/b"])
    self.evaluate(tf.global_variables_initializer())
    self.assertEqual(self.evaluate(outputs).shape, (6, 2, 24))

  def testInDeepRNN(self):
    deep_rnn = snt.DeepRNN([snt.RelationalMemory(2, 3), snt.BatchFlatten(),
                            snt.Linear(4)], skip_connections=False)
    output, state = deep_rnn(tf.ones([2, 5]), deep_rnn.initial_state(2))
    self.assertEqual(output.get_shape(), [2, 4])
    self.assertEqual(state[0].get_shape(), [2, 2, 3])


if __name__ == "__main__":
  tf.test.main()
