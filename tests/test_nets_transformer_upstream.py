"""snt.nets.transformer, Sonnet 1 test style: masks, attention, XL cores."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
from sonnet.python.modules.nets import transformer
import tensorflow.compat.v1 as tf

nest = tf.nest


def _core_config(**kwargs):
  config = dict(value_size=3, num_heads=2, num_layers=2, mlp_hidden_sizes=[5],
                dropout_rate=0.)
  config.update(kwargs)
  return config


class FunctionsTest(tf.test.TestCase):

  def testRelShift(self):
    inputs = np.tile(np.array([5., 4., 3., 2., 1.]), [5, 1])[None, None]
    expected = np.array([[1, 0, 5, 4, 3], [2, 1, 0, 5, 4], [3, 2, 1, 0, 5],
                         [4, 3, 2, 1, 0], [5, 4, 3, 2, 1]], np.float32)
    result = transformer.rel_shift(tf.constant(inputs, tf.float32))
    self.assertEqual(result.get_shape(), [1, 1, 5, 5])
    self.assertAllEqual(self.evaluate(result)[0, 0], expected)
    with self.assertRaisesRegexp(ValueError, "Expected 4D position logits"):
      transformer.rel_shift(tf.ones([5, 5]))

  def testMasks(self):
    mask = snt.nets.future_mask(chunk_size=3, dtype=tf.float32)
    self.assertEqual(mask.get_shape(), [1, 1, 3, 3])
    self.assertAllClose(self.evaluate(mask)[0, 0],
                        [[0, -1e6, -1e6], [0, 0, -1e6], [0, 0, 0]])
    inputs = tf.ones([2, 3, 4])
    memory = [tf.ones([2, 2, 4]), tf.ones([2, 5, 4])]
    with_memory = transformer.create_mask(inputs, memory, False)
    self.assertEqual(with_memory.get_shape(), [1, 1, 3, 8])
    value = self.evaluate(with_memory)[0, 0]
    self.assertAllClose(value[:, :5], np.zeros([3, 5]))
    equal = self.evaluate(transformer.create_mask(inputs, None, True))[0, 0]
    self.assertAllClose(equal, [[0, -1e6, -1e6], [-1e6, 0, -1e6],
                                [-1e6, -1e6, 0]])
    compressed = transformer.CompressedMemoryState(
        episodic_memory=tf.ones([2, 4, 4]),
        compressed_memory=tf.ones([2, 2, 4]), index=tf.zeros([2, 1]))
    self.assertEqual(
        transformer.create_mask(inputs, (compressed,), False).get_shape(),
        [1, 1, 3, 9])

  def testPositionEncodings(self):
    encodings = transformer.get_position_encodings(
        sequence_length=4, hidden_size=6, clamp_value=2)
    self.assertEqual(encodings.get_shape(), [1, 4, 6])
    pos = np.minimum(np.arange(3, -1, -1.), 2)
    inv_freq = 1. / 10000 ** (np.arange(0, 6, 2.) / 6)
    angles = np.outer(pos, inv_freq)
    expected = np.concatenate([np.sin(angles), np.cos(angles)], -1)
    self.assertAllClose(self.evaluate(encodings)[0], expected, atol=1e-6)
    with self.assertRaisesRegexp(ValueError, "does not match"):
      transformer.get_position_encodings(4, 5, 0)

  def testSimpleAttention(self):
    q, k, v = (np.random.randn(2, 3, 4), np.random.randn(2, 5, 4),
               np.random.randn(2, 5, 6))
    logits = np.einsum("bik,bjk->bij", q, k)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    self.assertAllClose(
        self.evaluate(transformer.simple_attention(q, k, v)),
        np.einsum("bij,bjk->bik", weights, v))


class MultiheadAttentionTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(False, True)
  def testShapesAndVariableNames(self, relative):
    inputs = tf.random_normal([2, 4, 6])
    memory = tf.random_normal([2, 3, 6])
    positions = transformer.get_position_encodings(7, 6, 0)
    attention = transformer.MultiheadAttention(
        value_size=3, key_size=5, num_heads=2,
        mask=transformer.create_mask(inputs, memory, False),
        positional_encodings=[(positions, positions[:, -4:])],
        use_relative_positions=relative)
    output, state = attention(inputs, state=memory)
    self.assertEqual(output.get_shape(), [2, 4, 6])
    self.assertIsInstance(state, transformer.AttentionState)
    self.assertEqual(state.weights.get_shape(), [2, 2, 4, 7])
    self.assertEqual(state.queries.get_shape(), [2, 2, 4, 5])
    self.assertEqual(state.values.get_shape(), [2, 2, 7, 3])
    names = {v.op.name: v.get_shape().as_list()
             for v in attention.get_variables()}
    expected = {
        "multihead_attention/query/linear/w": [6, 10],
        "multihead_attention/key/linear/w": [6, 10],
        "multihead_attention/value/linear/w": [6, 6],
        "multihead_attention/linear/w": [6, 6],
        "multihead_attention/linear/b": [6],
    }
    if relative:
      expected.update({
          "multihead_attention/relative_keys/linear/w": [6, 10],
          "multihead_attention/r_w_bias": [1, 2, 1, 5],
          "multihead_attention/r_r_bias": [1, 2, 1, 5]})
    self.assertEqual(names, expected)
    self.evaluate(tf.global_variables_initializer())
    weights = self.evaluate(state.weights)
    self.assertAllClose(weights.sum(-1), np.ones([2, 2, 4]), atol=1e-5)
    # Causal: query i sees the 3 memory slots and chunk positions <= i.
    self.assertAllClose(weights[:, :, 0, 4:], np.zeros([2, 2, 3]))


  def testAbsolutePositionFormats(self):
    inputs = tf.random_normal([2, 4, 6])
    positions = transformer.get_position_encodings(4, 6, 0)
    pair = (positions, positions)
    modules, outputs = [], []
    for encodings in (pair, [pair], (pair,)):
      modules.append(transformer.MultiheadAttention(
          value_size=3, key_size=3, num_heads=2,
          positional_encodings=encodings))
      outputs.append(modules[-1](inputs)[0])
    self.evaluate(tf.global_variables_initializer())
    # Give the three modules the same weights.
    source = modules[0].get_variables()
    for module in modules[1:]:
      self.evaluate([tf.assign(target, value) for target, value
                     in zip(module.get_variables(), source)])
    values = self.evaluate(outputs)
    self.assertAllClose(values[0], values[1])
    self.assertAllClose(values[0], values[2])


class TransformerTowerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(True, False)
  def testCausality(self, relative):
    tower = snt.nets.TransformerTower(
        value_size=3, num_heads=2, num_layers=2, mlp_hidden_sizes=[4],
        dropout_rate=0., use_relative_positions=relative)
    inputs = tf.random_normal([2, 5, 6])
    output, states = tower(inputs, is_training=False)
    self.assertEqual(output.get_shape(), [2, 5, 6])
    self.assertLen(states, 2)
    grad = tf.gradients(output[:, 2], inputs)[0]
    self.evaluate(tf.global_variables_initializer())
    grad_value = self.evaluate(grad)
    self.assertAllClose(grad_value[:, 3:], np.zeros([2, 2, 6]))
    self.assertGreater(np.abs(grad_value[:, :3]).sum(), 0.)
    self.assertIs(tower.attention_module(1), tower.attention_module(1))

  def testOptions(self):
    tower = snt.nets.TransformerTower(
        value_size=2, num_heads=2, num_layers=3, output_size=7,
        shared_attention=True, layer_norm="both", causal=False)
    output, _ = tower(tf.ones([2, 3, 2]), condition=tf.ones([2, 2]),
                      is_training=True)
    self.assertEqual(output.get_shape(), [2, 3, 7])
    names = [v.op.name for v in tower.get_variables()]
    # One attention module is shared by every layer.
    self.assertLen([n for n in names if n.endswith("query/linear/w")], 1)
    self.assertLen([n for n in names if "/mlp/linear_0/w" in n], 3)
    with self.assertRaisesRegexp(ValueError, "width"):
      tower(tf.ones([2, 3, 5]))


class TransformerXLTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((0, 2), (3, 2), (4, 0))
  def testShapesAndMemory(self, chunk_size, memory_size):
    batch_size, input_size = 2, 5
    model = snt.nets.TransformerXL(core_config=_core_config(),
                                   memory_size=memory_size,
                                   chunk_size=chunk_size)
    self.assertEqual(model.state_size,
                     [tf.TensorShape([memory_size, 6])] * 2)
    expected_output = [6] if chunk_size == 0 else [chunk_size, 6]
    self.assertEqual(model.output_size.as_list(), expected_output)
    shape = ([batch_size, input_size] if chunk_size == 0 else
             [batch_size, chunk_size, input_size])
    inputs = tf.random_normal(shape)
    prev_state = [tf.random_normal([batch_size, memory_size, 6])
                  for _ in range(2)]
    output, next_state = model(inputs, prev_state)
    self.assertEqual(output.get_shape(), [batch_size] + expected_output)
    self.assertLen(next_state, 2)
    self.evaluate(tf.global_variables_initializer())
    prev_value, next_value = self.evaluate((prev_state, next_state))
    n = max(chunk_size, 1)
    for prev_i, next_i in zip(prev_value, next_value):
      self.assertEqual(next_i.shape, (batch_size, memory_size, 6))
      if memory_size > n:
        self.assertAllClose(next_i[:, :memory_size - n], prev_i[:, n:])

  def testNumpyInputsAndState(self):
    model = snt.nets.TransformerXL(core_config=_core_config(), memory_size=2,
                                   chunk_size=3)
    output, next_state = model(np.ones([2, 3, 4], np.float32),
                               [np.zeros([2, 2, 6], np.float32)] * 2)
    tower = snt.nets.TransformerTower(value_size=2, num_heads=2, num_layers=1)
    tower_output, _ = tower(np.ones([2, 3, 4], np.float32),
                            state=[np.zeros([2, 1, 4], np.float32)],
                            is_training=False)
    compressive = snt.nets.CompressiveTransformer(
        core_config=_core_config(num_layers=1), chunk_size=0,
        episodic_memory_size=2, compressed_memory_size=1)
    state = compressive.initial_state(2)
    numpy_state = tuple(transformer.CompressedMemoryState(
        *[np.zeros(s.get_shape().as_list(), np.float32) for s in layer])
                        for layer in state)
    compressive_output, _ = compressive(np.ones([2, 4], np.float32),
                                        numpy_state)
    self.assertEqual(output.get_shape(), [2, 3, 6])
    self.assertEqual(next_state[0].get_shape(), [2, 2, 6])
    self.assertEqual(tower_output.get_shape(), [2, 3, 4])
    self.assertEqual(compressive_output.get_shape(), [2, 6])

  def testDynamicRNN(self):
    model = snt.nets.TransformerXL(core_config=_core_config(), memory_size=3,
                                   chunk_size=0)
    inputs = tf.random_normal([2, 7, 4])
    initial_state = model.initial_state(2)
    self.assertIsInstance(initial_state, list)
    outputs, final_state = tf.nn.dynamic_rnn(model, inputs,
                                             initial_state=initial_state)
    self.assertEqual(outputs.get_shape(), [2, 7, 6])
    self.evaluate(tf.global_variables_initializer())
    outputs_value, final_value = self.evaluate((outputs, final_state))
    self.assertEqual(outputs_value.shape, (2, 7, 6))
    self.assertEqual(final_value[1].shape, (2, 3, 6))


class CompressiveTransformerTest(tf.test.TestCase, parameterized.TestCase):

  def testStateSizeAndCompressionSchedule(self):
    model = snt.nets.CompressiveTransformer(
        core_config=_core_config(num_layers=1), chunk_size=0,
        episodic_memory_size=2, compressed_memory_size=3,
        compression_rate=2, export_stats=True)
    state_size = model.state_size
    self.assertIsInstance(state_size, tuple)
    self.assertIsInstance(state_size[0], transformer.CompressedMemoryState)
    self.assertEqual(state_size[0].index, tf.TensorShape([1]))
    self.assertEqual(state_size[0].compressed_memory,
                     tf.TensorShape([3, 6]))
    state = model.initial_state(2)
    states = [state]
    for _ in range(4):
      _, state = model(tf.random_normal([2, 4]), state)
      states.append(state)
    self.assertLen(tf.get_collection("auxiliary_losses"), 4)
    stats = tf.get_collection("stats_export")[0]
    self.assertIn("compression_loss_l00", stats)
    self.assertIn("em_p0_l00", stats)
    self.assertIn("seq_p5", stats)
    self.evaluate(tf.global_variables_initializer())
    values = self.evaluate(states)
    self.assertAllClose([v[0].index[0, 0] for v in values], [0, 1, 2, 3, 4])
    compressed = [v[0].compressed_memory for v in values]
    # Compression happens when index % rate == rate - 1 (steps 2 and 4).
    self.assertAllClose(compressed[1], compressed[0])
    self.assertFalse(np.allclose(compressed[2], compressed[1]))
    self.assertAllClose(compressed[3], compressed[2])

  @parameterized.parameters(
      (transformer.ConvCompressor, {}), (transformer.ConvCompressor,
                                         {"loss": "ae"}),
      (transformer.PoolCompressor, {}))
  def testChunksInDynamicRNN(self, compression_ctor, compression_config):
    model = snt.nets.CompressiveTransformer(
        core_config=_core_config(), chunk_size=2, episodic_memory_size=4,
        compressed_memory_size=2, compression_ctor=compression_ctor,
        compression_config=compression_config)
    inputs = tf.random_normal([2, 3, 2, 5])  # [B, T, chunk, features]
    outputs, final_state = tf.nn.dynamic_rnn(
        model, inputs, initial_state=model.initial_state(2))
    self.assertEqual(outputs.get_shape(), [2, 3, 2, 6])
    self.evaluate(tf.global_variables_initializer())
    outputs_value, final_value = self.evaluate((outputs, final_state))
    self.assertTrue(np.all(np.isfinite(outputs_value)))
    self.assertEqual(final_value[0].episodic_memory.shape, (2, 4, 6))
    self.assertAllClose(final_value[1].index, np.full([2, 1], 3.))

  def testNoLossCollectedWhenNotTraining(self):
    model = snt.nets.CompressiveTransformer(
        core_config=_core_config(num_layers=1), chunk_size=2,
        episodic_memory_size=2, compressed_memory_size=1)
    model(tf.ones([2, 2, 3]), model.initial_state(2), is_training=False)
    self.assertEmpty(tf.get_collection("auxiliary_losses"))


if __name__ == "__main__":
  tf.test.main()
