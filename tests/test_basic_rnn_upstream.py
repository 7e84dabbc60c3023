"""VanillaRNN, DeepRNN, ModelRNN and BidirectionalRNN, Sonnet 1 test style."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables

nest = tf.nest


class VanillaRNNTest(tf.test.TestCase):

  def setUp(self):
    super(VanillaRNNTest, self).setUp()
    self.batch_size = 3
    self.in_size = 4
    self.hidden_size = 18

  def _placeholders(self):
    inputs = tf.placeholder(tf.float32, [self.batch_size, self.in_size])
    prev_state = tf.placeholder(tf.float32,
                                [self.batch_size, self.hidden_size])
    return inputs, prev_state

  def testShapeAndVariables(self):
    inputs, prev_state = self._placeholders()
    rnn = snt.VanillaRNN(name="rnn", hidden_size=self.hidden_size)
    for prop in ("in_to_hidden_variables", "hidden_to_hidden_variables",
                 "in_to_hidden_linear", "hidden_to_hidden_linear"):
      with self.assertRaises(snt.NotConnectedError):
        getattr(rnn, prop)
    output, next_state = rnn(inputs, prev_state)
    shape = np.ndarray((self.batch_size, self.hidden_size))
    self.assertShapeEqual(shape, output)
    self.assertShapeEqual(shape, next_state)
    self.assertEqual(rnn.state_size, tf.TensorShape([self.hidden_size]))
    self.assertEqual(rnn.output_size, tf.TensorShape([self.hidden_size]))
    w_ih, b_ih = rnn.in_to_hidden_variables
    w_hh, b_hh = rnn.hidden_to_hidden_variables
    self.assertShapeEqual(np.ndarray((self.in_size, self.hidden_size)),
                          w_ih.initial_value)
    self.assertShapeEqual(np.ndarray(self.hidden_size), b_ih.initial_value)
    self.assertShapeEqual(np.ndarray((self.hidden_size, self.hidden_size)),
                          w_hh.initial_value)
    self.assertShapeEqual(np.ndarray(self.hidden_size), b_hh.initial_value)
    self.assertEqual([v.op.name for v in rnn.get_variables()], [
        "rnn/in_to_hidden/w", "rnn/in_to_hidden/b", "rnn/hidden_to_hidden/w",
        "rnn/hidden_to_hidden/b"])
    self.assertIs(rnn.in_to_hidden_linear.w, w_ih)

  def testComputation(self):
    inputs, prev_state = self._placeholders()
    rnn = snt.VanillaRNN(name="rnn", hidden_size=self.hidden_size,
                         activation=tf.nn.relu)
    output, next_state = rnn(inputs, prev_state)
    self.evaluate(tf.global_variables_initializer())
    x = np.random.randn(self.batch_size, self.in_size)
    h = np.random.randn(self.batch_size, self.hidden_size)
    with self.cached_session() as sess:
      out, state, w_ih, b_ih, w_hh, b_hh = sess.run(
          (output, next_state) + rnn.in_to_hidden_variables +
          rnn.hidden_to_hidden_variables, {inputs: x, prev_state: h})
    expected = np.maximum(x.dot(w_ih) + b_ih + h.dot(w_hh) + b_hh, 0)
    self.assertAllClose(out, expected, atol=1e-5)
    self.assertAllClose(state, expected, atol=1e-5)

  def testInitializersPartitionersRegularizers(self):
    inputs, prev_state = self._placeholders()
    initializers = {
        "in_to_hidden": {"w": tf.constant_initializer(1.5),
                         "b": tf.constant_initializer(2.5)},
        "hidden_to_hidden": {"b": tf.constant_initializer(3.5)},
    }
    partitioners = {
        "in_to_hidden": {"w": tf.fixed_size_partitioner(num_shards=2)},
        "hidden_to_hidden": {"w": tf.fixed_size_partitioner(num_shards=3)},
    }
    regularizers = {
        "in_to_hidden": {"w": tf.nn.l2_loss, "b": tf.nn.l2_loss},
        "hidden_to_hidden": {"w": tf.nn.l2_loss, "b": tf.nn.l2_loss},
    }
    rnn = snt.VanillaRNN(hidden_size=self.hidden_size,
                         initializers=initializers, partitioners=partitioners,
                         regularizers=regularizers)
    rnn(inputs, prev_state)
    self.assertIsInstance(rnn.in_to_hidden_linear.w,
                          variables.PartitionedVariable)
    self.assertLen(list(rnn.hidden_to_hidden_linear.w), 3)
    # One loss per bias, and one per shard of each partitioned weight.
    self.assertLen(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES),
                   2 + 2 + 3)
    self.evaluate(tf.global_variables_initializer())
    self.assertAllClose(self.evaluate(rnn.in_to_hidden_linear.b),
                        np.full([self.hidden_size], 2.5))
    self.assertAllClose(self.evaluate(rnn.hidden_to_hidden_linear.b),
                        np.full([self.hidden_size], 3.5))
    self.assertAllClose(
        self.evaluate(tf.convert_to_tensor(rnn.in_to_hidden_linear.w)),
        np.full([self.in_size, self.hidden_size], 1.5))

  def testBadInitializers(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys"):
      snt.VanillaRNN(hidden_size=3, initializers={"invalid": {}})
    self.assertEqual(snt.VanillaRNN.get_possible_initializer_keys(),
                     {"in_to_hidden", "hidden_to_hidden"})
    rnn = snt.VanillaRNN(hidden_size=3,
                         initializers={"in_to_hidden":
                                       tf.constant_initializer(0.)})
    with self.assertRaises(TypeError):  # Not a {"w": ..., "b": ...} dict.
      rnn(tf.ones([2, 2]), tf.ones([2, 3]))


class DeepRNNTest(tf.test.TestCase, parameterized.TestCase):

  def testShapeWithSkipConnections(self):
    batch_size, in_size, hidden1_size, hidden2_size = 3, 2, 4, 5
    inputs = tf.placeholder(tf.float32, shape=[batch_size, in_size])
    prev_state = tuple(tf.placeholder(tf.float32, shape=[batch_size, size])
                       for size in (in_size, hidden1_size, hidden2_size))
    cores = [snt.VanillaRNN(name="rnn0", hidden_size=in_size),
             snt.VanillaRNN(name="rnn1", hidden_size=hidden1_size),
             snt.VanillaRNN(name="rnn2", hidden_size=hidden2_size)]
    deep_rnn = snt.DeepRNN(cores, name="deep_rnn", skip_connections=True)
    output, next_state = deep_rnn(inputs, prev_state)
    total = in_size + hidden1_size + hidden2_size
    self.assertEqual(output.get_shape(), [batch_size, total])
    self.assertEqual(deep_rnn.output_size, tf.TensorShape([total]))
    self.assertEqual(deep_rnn.state_size, tuple(c.state_size for c in cores))
    self.assertIsInstance(next_state, tuple)
    for state, size in zip(next_state, (in_size, hidden1_size, hidden2_size)):
      self.assertEqual(state.get_shape(), [batch_size, size])
    # Core i > 0 sees [inputs, output of core i-1].
    self.assertEqual(cores[1].in_to_hidden_linear.w.get_shape(),
                     [in_size + in_size, hidden1_size])
    self.assertEqual(cores[2].in_to_hidden_linear.w.get_shape(),
                     [in_size + hidden1_size, hidden2_size])

    no_concat = snt.DeepRNN(cores, skip_connections=True,
                            concat_final_output_if_skip=False)
    output, _ = no_concat(inputs, prev_state)
    self.assertEqual(output.get_shape(), [batch_size, hidden2_size])
    self.assertEqual(no_concat.output_size, tf.TensorShape([hidden2_size]))

  def testMixedRecurrentAndFeedForward(self):
    batch_size, in_size = 3, 2
    inputs = tf.ones([batch_size, in_size])
    cores = [snt.Linear(name="linear", output_size=6),
             snt.VanillaRNN(name="rnn", hidden_size=5), tf.nn.relu]
    with self.assertRaisesRegexp(ValueError,
                                 "skip_connections are only supported"):
      snt.DeepRNN(cores, skip_connections=True)
    deep_rnn = snt.DeepRNN(cores, skip_connections=False)
    self.assertEqual(deep_rnn.state_size, (tf.TensorShape([5]),))
    initial_state = deep_rnn.initial_state(batch_size)
    self.assertLen(initial_state, 1)
    output, next_state = deep_rnn(inputs, initial_state)
    self.assertEqual(output.get_shape(), [batch_size, 5])
    self.assertLen(next_state, 1)
    # relu has no output_size: the recorded shape of the last output is used.
    self.assertEqual(deep_rnn.output_size, tf.TensorShape([5]))
    unconnected = snt.DeepRNN([snt.VanillaRNN(4), tf.nn.relu],
                              skip_connections=False)
    self.assertEqual(unconnected.output_size, tf.TensorShape([4]))
    with self.assertRaisesRegexp(ValueError, "output_size information"):
      _ = snt.DeepRNN([tf.nn.relu], skip_connections=False).output_size

  def testFeedForwardOnly(self):
    deep_rnn = snt.DeepRNN([snt.Linear(3), tf.tanh], skip_connections=False)
    self.assertEqual(deep_rnn.state_size, ())
    self.assertEqual(deep_rnn.initial_state(2), ())
    output, next_state = deep_rnn(tf.ones([2, 4]), ())
    self.assertEqual(next_state, ())
    self.assertEqual(output.get_shape(), [2, 3])

  def testBadArguments(self):
    with self.assertRaisesRegexp(ValueError, "iterable"):
      snt.DeepRNN(snt.VanillaRNN(3))
    model = snt.Module(tf.identity)
    model.output_size = tf.TensorShape([2, 3])
    with self.assertRaisesRegexp(ValueError, "concatenated"):
      snt.DeepRNN([snt.ModelRNN(model), snt.VanillaRNN(3)])
    deep_rnn = snt.DeepRNN([snt.VanillaRNN(3), snt.VanillaRNN(3)])
    with self.assertRaisesRegexp(ValueError, "initializers"):
      deep_rnn.initial_state(2, trainable=True, trainable_initializers=[None])
    with self.assertRaisesRegexp(ValueError, "regularizers"):
      deep_rnn.initial_state(2, trainable=True,
                             trainable_regularizers=[None] * 3)

  def testInitialStateNames(self):
    deep_rnn = snt.DeepRNN([snt.LSTM(hidden_size=3), snt.LSTM(hidden_size=4)])
    state = deep_rnn.initial_state(5, trainable=True)
    self.assertEqual(
        state[0][0].name,
        "deep_rnn_initial_state/lstm_initial_state/state_hidden_tiled:0")
    self.assertEqual(
        state[0][1].name,
        "deep_rnn_initial_state/lstm_initial_state/state_cell_tiled:0")
    self.assertEqual(
        state[1][0].name,
        "deep_rnn_initial_state/lstm_1_initial_state/state_hidden_tiled:0")
    other = deep_rnn.initial_state(5, trainable=True, name="blah")
    self.assertEqual(other[1][1].name,
                     "blah/lstm_1_initial_state/state_cell_tiled:0")
    names = [v.op.name for v in tf.global_variables()]
    self.assertIn("lstm_initial_state_hidden/w", names)
    self.assertIn("lstm_1_initial_state_cell/w", names)

  @parameterized.parameters(True, False)
  def testTrainableInitializersAndRegularizers(self, trainable):
    cores = [snt.LSTM(hidden_size=3), snt.LSTM(hidden_size=4)]
    deep_rnn = snt.DeepRNN(cores)
    initializers = [snt.LSTMState(hidden=tf.constant_initializer(1.),
                                  cell=tf.constant_initializer(2.)), None]
    regularizers = [None, snt.LSTMState(hidden=tf.nn.l2_loss,
                                        cell=tf.nn.l2_loss)]
    state = deep_rnn.initial_state(2, trainable=trainable,
                                   trainable_initializers=initializers,
                                   trainable_regularizers=regularizers)
    self.assertLen(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES),
                   2 if trainable else 0)
    self.evaluate(tf.global_variables_initializer())
    value = self.evaluate(state)
    self.assertAllClose(value[0].hidden, np.full([2, 3], float(trainable)))
    self.assertAllClose(value[0].cell, np.full([2, 3], 2. * trainable))
    self.assertAllClose(value[1].cell, np.zeros([2, 4]))

  def testLSTMsWithSkipConnectionsInDynamicRNN(self):
    seq_len, batch_size, in_size = 5, 3, 2
    cores = [snt.LSTM(4, name="lstm_%d" % i) for i in range(3)]
    deep_rnn = snt.DeepRNN(cores, skip_connections=True)
    inputs = tf.random_normal([seq_len, batch_size, in_size])
    outputs, final_state = tf.nn.dynamic_rnn(
        deep_rnn, inputs, time_major=True,
        initial_state=deep_rnn.initial_state(batch_size, trainable=True))
    static_outputs, static_state = tf.nn.static_rnn(
        deep_rnn, tf.unstack(inputs), dtype=tf.float32)
    self.assertEqual(outputs.get_shape(), [seq_len, batch_size, 12])
    self.assertEqual(deep_rnn.output_size, tf.TensorShape([12]))
    self.assertIsInstance(final_state[2], snt.LSTMState)
    # Variables shared by dynamic_rnn, static_rnn and every time step.
    self.assertLen(tf.trainable_variables(), 6 + 6)
    self.evaluate(tf.global_variables_initializer())
    outputs_v, state_v, static_v, static_state_v, inputs_v = self.evaluate(
        (outputs, final_state, static_outputs, static_state, inputs))
    del inputs_v
    self.assertEqual(outputs_v.shape, (seq_len, batch_size, 12))
    self.assertEqual(len(static_v), seq_len)
    self.assertEqual(state_v[1].cell.shape, (batch_size, 4))
    self.assertEqual(static_state_v[1].cell.shape, (batch_size, 4))

  def testKwargsForwardedToEveryCore(self):
    seen = []

    class Core(snt.RNNCore):

      def _build(self, inputs, prev_state, is_training=None):
        seen.append(is_training)
        return inputs, prev_state

      @property
      def state_size(self):
        return tf.TensorShape([1])

      @property
      def output_size(self):
        return tf.TensorShape([2])

    deep_rnn = snt.DeepRNN([Core(), Core()], skip_connections=False)
    deep_rnn(tf.ones([1, 2]), deep_rnn.initial_state(1), is_training=True)
    self.assertEqual(seen, [True, True])

  def testNestedOutputs(self):

    class TupleCore(snt.RNNCore):

      def _build(self, inputs, prev_state):
        return (inputs[0][:, :2] * 2., inputs[1][..., :4] + 1.), prev_state

      @property
      def state_size(self):
        return tf.TensorShape([1])

      @property
      def output_size(self):
        return (tf.TensorShape([2]), tf.TensorShape([3, 4]))

    deep_rnn = snt.DeepRNN([TupleCore(), TupleCore()])
    self.assertEqual(deep_rnn.output_size,
                     (tf.TensorShape([4]), tf.TensorShape([3, 8])))
    inputs = (tf.ones([5, 2]), tf.ones([5, 3, 4]))
    output, _ = deep_rnn(inputs, deep_rnn.initial_state(5))
    self.assertEqual(output[0].get_shape(), [5, 4])
    self.assertEqual(output[1].get_shape(), [5, 3, 8])


class ModelRNNTest(tf.test.TestCase):

  def setUp(self):
    super(ModelRNNTest, self).setUp()
    self.batch_size = 3
    self.hidden_size = 4
    self.model = snt.Module(name="model", build=tf.identity)
    self.model.output_size = tf.TensorShape(self.hidden_size)

  def testSizesAndComputation(self):
    model_rnn = snt.ModelRNN(self.model)
    self.assertEqual(model_rnn.output_size, tf.TensorShape(self.hidden_size))
    self.assertEqual(model_rnn.state_size, tf.TensorShape(self.hidden_size))
    inputs = tf.random_normal([2, self.batch_size, 7])
    state = tf.random_normal([self.batch_size, self.hidden_size])
    outputs, final_state = tf.nn.dynamic_rnn(model_rnn, inputs,
                                             initial_state=state,
                                             time_major=True)
    outputs_v, final_v, state_v = self.evaluate((outputs, final_state, state))
    self.assertAllClose(outputs_v, np.stack([state_v, state_v]))
    self.assertAllClose(final_v, state_v)

  def testBadArguments(self):
    with self.assertRaisesRegexp(AttributeError, "output_size"):
      snt.ModelRNN(tf.identity)
    with self.assertRaisesRegexp(TypeError, "callable"):
      snt.ModelRNN(np.array([42]))
    with self.assertRaisesRegexp(TypeError, "RNNCore"):
      snt.ModelRNN(snt.VanillaRNN(3))


class BidirectionalRNNTest(tf.test.TestCase):

  def testShapesAndOrder(self):
    seq_len, batch_size, in_size, hidden_size = 4, 3, 2, 5
    forward = snt.VanillaRNN(hidden_size, name="forward")
    counter = snt.Module(lambda s: s + 1., name="counter")
    counter.output_size = tf.TensorShape([1])
    backward = snt.ModelRNN(counter)
    bidir = snt.BidirectionalRNN(forward, backward)
    self.assertEqual(bidir.state_size,
                     (tf.TensorShape([hidden_size]), tf.TensorShape([1])))
    self.assertEqual(bidir.output_size, bidir.state_size)
    inputs = tf.random_normal([seq_len, batch_size, in_size])
    initial_state = bidir.initial_state(batch_size)
    result = bidir(inputs, initial_state)
    self.assertEqual(result["outputs"]["forward"].get_shape(),
                     [seq_len, batch_size, hidden_size])
    self.assertEqual(result["state"]["backward"].get_shape(),
                     [seq_len, batch_size, 1])
    trainable = bidir.initial_state(batch_size, trainable=True,
                                    name="learned")
    self.assertEqual(trainable[0].name, "learned_forward/state_0_tiled:0")
    self.assertIn("learned_backward_0/w:0",
                  [v.name for v in tf.global_variables()])
    backward_out = self.evaluate(result["outputs"]["backward"])
    self.assertAllClose(backward_out[:, 0, 0], [1., 2., 3., 4.])

  def testBadArguments(self):
    with self.assertRaisesRegexp(ValueError, "RNNCore"):
      snt.BidirectionalRNN(snt.Linear(4), snt.VanillaRNN(3))
    bidir = snt.BidirectionalRNN(snt.VanillaRNN(3), snt.VanillaRNN(3))
    inputs = tf.placeholder(tf.float32, [None, 2, 4])
    with self.assertRaisesRegexp(ValueError, "statically"):
      bidir(inputs, bidir.initial_state(2))


if __name__ == "__main__":
  tf.test.main()
