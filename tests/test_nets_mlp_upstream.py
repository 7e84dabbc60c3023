"""Upstream-style tests for nets/mlp.py (tf.test.TestCase, graph mode)."""

import itertools

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables as tf_variables


def _l1(scale):
  def regularizer(weights):
    return tf.multiply(scale, tf.reduce_sum(tf.abs(weights)),
                       name="l1_regularizer")
  return regularizer


def _l2(scale):
  def regularizer(weights):
    return tf.multiply(scale, tf.nn.l2_loss(weights), name="l2_regularizer")
  return regularizer


_FLAGS = list(itertools.product([True, False], [True, False], [True, False]))


class MLPTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.output_sizes = [11, 13, 17]
    self.batch_size = 5
    self.input_size = 7
    self.module_name = "mlp"
    self.initializers = {
        "w": tf.truncated_normal_initializer(stddev=0.15, seed=3),
        "b": tf.truncated_normal_initializer(stddev=0.2, seed=4)}
    self.regularizers = {"w": _l1(0.1), "b": _l2(0.1)}
    self.partitioners = {"w": tf.fixed_size_partitioner(num_shards=2),
                         "b": tf.fixed_size_partitioner(num_shards=2)}

  def testName(self):
    with tf.variable_scope("scope"):
      mlp = snt.nets.MLP(name="unique_name", output_sizes=self.output_sizes)
    self.assertEqual(mlp.scope_name, "scope/unique_name")
    self.assertEqual(mlp.module_name, "unique_name")
    self.assertEqual([layer.scope_name for layer in mlp.layers],
                     ["scope/unique_name/linear_{}".format(i)
                      for i in range(3)])

  def testConstructor(self):
    with self.assertRaisesRegexp(ValueError, "output_sizes must not be empty"):
      snt.nets.MLP(name=self.module_name, output_sizes=[])
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.nets.MLP(
          name=self.module_name, output_sizes=self.output_sizes,
          initializers={"not_w": tf.truncated_normal_initializer(stddev=1.0)})
    with self.assertRaisesRegexp(TypeError,
                                 "Initializer for 'w' is not a callable "
                                 "function or dictionary"):
      snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                   initializers={"w": tf.zeros([1, 2, 3])})
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                   use_bias=False, initializers={"b": tf.zeros_initializer()})
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                   partitioners={"not_w": tf.fixed_size_partitioner(2)})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                   regularizers={"not_w": _l1(0.1)})
    with self.assertRaisesRegexp(TypeError,
                                 "Input 'activation' must be callable"):
      snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                   activation="not_a_function")
    with self.assertRaisesRegexp(TypeError, "output_sizes must be iterable"):
      snt.nets.MLP(name=self.module_name, output_sizes=None)

    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes)
    self.assertEqual(mlp.output_sizes, tuple(self.output_sizes))
    self.assertEqual(mlp.output_size, self.output_sizes[-1])
    self.assertLen(mlp.layers, len(self.output_sizes))
    for i in range(len(mlp.layers)):
      self.assertEqual(mlp.layers[i].output_size, self.output_sizes[i])
    self.assertEqual(mlp.activation, tf.nn.relu)
    self.assertFalse(mlp.activate_final)
    self.assertTrue(mlp.use_bias)
    self.assertFalse(mlp.use_dropout)

  def testGetPossibleInitializerKeys(self):
    self.assertEqual(snt.nets.MLP.get_possible_initializer_keys(),
                     {"w", "b"})
    self.assertEqual(
        snt.nets.MLP.get_possible_initializer_keys(use_bias=False), {"w"})

  @parameterized.parameters(*_FLAGS)
  def testActivateBiasFlags(self, activate_final, use_bias, use_dropout):
    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                       activate_final=activate_final, use_bias=use_bias,
                       use_dropout=use_dropout)
    inputs = tf.random_normal(dtype=tf.float32,
                              shape=[self.batch_size, self.input_size])
    net = mlp(inputs)
    if activate_final:
      self.assertEqual(net.op.type, "Relu")
    elif use_bias:
      self.assertIn(net.op.type, ("Add", "AddV2"))
    else:
      self.assertEqual(net.op.type, "MatMul")
    variables = mlp.get_variables()
    self.assertLen(variables,
                   len(self.output_sizes) * (2 if use_bias else 1))

  @parameterized.parameters(*_FLAGS)
  def testShape(self, activate_final, use_bias, use_dropout):
    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                       activate_final=activate_final, use_bias=use_bias,
                       use_dropout=use_dropout)
    inputs = tf.random_normal(dtype=tf.float32,
                              shape=[self.batch_size, self.input_size])
    output = mlp(inputs)
    self.assertTrue(output.get_shape().is_compatible_with(
        [self.batch_size, self.output_sizes[-1]]))
    self.assertEqual((self.batch_size, self.input_size), mlp.input_shape)
    self.assertEqual(self.output_sizes, list(mlp.output_sizes))

  def testComputation(self):
    mlp = snt.nets.MLP(output_sizes=[4, 3], activation=tf.tanh,
                       initializers=self.initializers)
    inputs = tf.placeholder(tf.float64, [None, 5])
    output = mlp(inputs)
    self.assertEqual(output.dtype, tf.float64)
    data = np.random.randn(6, 5)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w0, b0, w1, b1 = sess.run(
          [output, mlp.layers[0].w, mlp.layers[0].b, mlp.layers[1].w,
           mlp.layers[1].b], {inputs: data})
    self.assertAllClose(out, np.tanh(data.dot(w0) + b0).dot(w1) + b1)

  @parameterized.parameters(True, False)
  def testDropoutValues(self, use_dropout):
    mlp = snt.nets.MLP(output_sizes=[200], activation=tf.identity,
                       activate_final=True, use_dropout=use_dropout,
                       use_bias=False,
                       initializers={"w": tf.ones_initializer()})
    inputs = tf.ones([10, 1])
    is_training = tf.placeholder(tf.bool, [])
    train_out = mlp(inputs, is_training=is_training, dropout_keep_prob=0.25)
    python_eval = mlp(inputs, is_training=False)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      train_value = sess.run(train_out, {is_training: True})
      eval_value = sess.run(train_out, {is_training: False})
      self.assertAllClose(sess.run(python_eval), np.ones([10, 200]))
    self.assertAllClose(eval_value, np.ones([10, 200]))
    if use_dropout:
      self.assertEqual(set(np.unique(train_value)), {0.0, 4.0})
      self.assertNear((train_value == 0).mean(), 0.75, 0.05)
    else:
      self.assertAllClose(train_value, np.ones([10, 200]))

  def testDropoutKeepProbTensor(self):
    mlp = snt.nets.MLP(output_sizes=[3, 3], use_dropout=True)
    keep = tf.placeholder(tf.float32, [])
    output = mlp(tf.ones([2, 4]), is_training=True, dropout_keep_prob=keep)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run(output, {keep: 1.0})

  def testDropoutOff(self):
    mlp_name = "test_dropout_on_mlp"
    mlp = snt.nets.MLP([1], use_dropout=False, use_bias=False,
                       activate_final=True, name=mlp_name)
    mlp(tf.ones([1, 1]), is_training=True, dropout_keep_prob=0.5)
    op_names = [op.name for op in tf.get_default_graph().get_operations()]
    self.assertFalse([name for name in op_names if "/dropout" in name])

  def testDropoutOn(self):
    mlp_name = "test_dropout_on_mlp"
    mlp = snt.nets.MLP([1], use_dropout=True, use_bias=False,
                       activate_final=True, name=mlp_name)
    mlp(tf.ones([1, 1]), is_training=True, dropout_keep_prob=0.5)
    op_names = [op.name for op in tf.get_default_graph().get_operations()]
    self.assertTrue([name for name in op_names if "/dropout/" in name])

  def testRegularizersInRegularizationLosses(self):
    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                       regularizers=self.regularizers)
    mlp(tf.random_normal([self.batch_size, self.input_size]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 2 * len(self.output_sizes))
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")
    self.assertRegexpMatches(losses[1].name, ".*l2_regularizer.*")

  def testPartitioners(self):
    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                       partitioners=self.partitioners)
    inputs = tf.placeholder(tf.float32, [None, self.input_size])
    output = mlp(inputs)
    for layer in mlp.layers:
      self.assertEqual(type(layer.w), tf_variables.PartitionedVariable)
      self.assertEqual(type(layer.b), tf_variables.PartitionedVariable)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run(output, {inputs: np.ones([2, self.input_size])})

  def testInitializers(self):
    mlp = snt.nets.MLP(output_sizes=[3, 2],
                       initializers={"w": tf.constant_initializer(0.5),
                                     "b": tf.constant_initializer(2.0)})
    mlp(tf.ones([1, 4]))
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      values = sess.run([mlp.layers[1].w, mlp.layers[1].b])
    self.assertAllClose(values[0], np.full([3, 2], 0.5))
    self.assertAllClose(values[1], np.full([2], 2.0))

  @parameterized.parameters(*itertools.product([True, False], [True, False]))
  def testClone(self, use_bias, use_dropout):
    with tf.variable_scope("scope1"):
      mlp = snt.nets.MLP(name=self.module_name,
                         output_sizes=self.output_sizes, use_bias=use_bias,
                         use_dropout=use_dropout,
                         activation=tf.tanh, activate_final=True)
      clone1 = mlp.clone()
      clone2 = mlp.clone()
    clone3 = mlp.clone(name="other")
    self.assertLen(clone1.layers, len(mlp.layers))
    self.assertEqual(mlp.output_sizes, clone1.output_sizes)
    self.assertEqual(clone1.module_name, self.module_name + "_clone")
    self.assertEqual(clone2.module_name, self.module_name + "_clone_1")
    self.assertEqual(clone1.scope_name, "scope1/mlp_clone")
    self.assertEqual(clone3.module_name, "other")
    for clone in (clone1, clone2, clone3):
      self.assertEqual(clone.use_bias, use_bias)
      self.assertEqual(clone.use_dropout, use_dropout)
      self.assertEqual(clone.activation, tf.tanh)
      self.assertTrue(clone.activate_final)
      self.assertEqual(clone.initializers, mlp.initializers)
      self.assertEqual(clone.partitioners, mlp.partitioners)
      self.assertEqual(clone.regularizers, mlp.regularizers)
    inputs = tf.ones([self.batch_size, self.input_size])
    mlp(inputs)
    clone1(inputs)
    self.assertEqual(len(mlp.get_variables()), len(clone1.get_variables()))
    self.assertFalse(set(mlp.get_variables()) & set(clone1.get_variables()))

  @parameterized.parameters(*_FLAGS)
  def testTranspose(self, activate_final, use_bias, use_dropout):
    with tf.variable_scope("scope1"):
      mlp = snt.nets.MLP(name=self.module_name,
                         output_sizes=self.output_sizes,
                         activate_final=activate_final, use_bias=use_bias,
                         use_dropout=use_dropout)
    with tf.variable_scope("scope2"):
      mlp_transpose = mlp.transpose()

    self.assertEqual("scope1/" + self.module_name, mlp.scope_name)
    self.assertEqual(self.module_name, mlp.module_name)
    self.assertEqual("scope2/" + self.module_name + "_transpose",
                     mlp_transpose.scope_name)
    self.assertEqual(self.module_name + "_transpose",
                     mlp_transpose.module_name)

    input_to_mlp = tf.placeholder(tf.float32,
                                  shape=[self.batch_size, self.input_size])
    with self.assertRaisesRegexp(
        snt.Error,
        "Variables in {} not instantiated yet, __call__ the module first."
        .format(mlp.layers[-1].scope_name)):
      mlp_transpose(input_to_mlp)

    mlp_transpose = mlp.transpose(name="another_mlp_transpose")
    mlp_out = mlp(input_to_mlp)
    mlp_transposed_output = mlp_transpose(mlp_out)
    self.assertEqual(mlp_transposed_output.get_shape(),
                     input_to_mlp.get_shape())
    self.assertEqual(mlp_transpose.use_bias, mlp.use_bias)
    self.assertEqual(mlp_transpose.activate_final, mlp.activate_final)
    self.assertEqual(mlp_transpose.use_dropout, mlp.use_dropout)
    if activate_final:
      self.assertEqual(mlp_transposed_output.op.type, "Relu")
    elif use_bias:
      self.assertIn(mlp_transposed_output.op.type, ("Add", "AddV2"))
    else:
      self.assertEqual(mlp_transposed_output.op.type, "MatMul")

    for i in range(len(mlp.layers)):
      self.assertEqual(mlp_transpose.layers[i].output_size,
                       mlp.layers[-1 - i].input_shape[1])

    data = np.random.rand(self.batch_size, self.input_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run(mlp_transposed_output, feed_dict={input_to_mlp: data})

    variables = mlp_transpose.get_variables()
    self.assertLen(variables,
                   len(self.output_sizes) * (2 if use_bias else 1))

    # The activate_final argument of transpose().
    self.assertTrue(mlp.transpose(activate_final=True).activate_final)
    self.assertFalse(mlp.transpose(activate_final=False).activate_final)
    self.assertEqual(mlp.transpose().activate_final, activate_final)

  def testVariableMap(self):
    var_names_w = [u"mlp/linear_0/w:0", u"mlp/linear_1/w:0",
                   u"mlp/linear_2/w:0"]
    var_names_b = [u"mlp/linear_0/b:0", u"mlp/linear_1/b:0",
                   u"mlp/linear_2/b:0"]
    mlp = snt.nets.MLP(name=self.module_name, output_sizes=self.output_sizes,
                       activate_final=False, use_bias=True, use_dropout=True)
    mlp(tf.placeholder(tf.float32, shape=[10, 100]))
    variable_names = [var.name for var in mlp.get_variables()]
    self.assertEqual(set(variable_names), set(var_names_w + var_names_b))
    self.assertEqual(set(v.name for v in mlp.variables),
                     set(var_names_w + var_names_b))

  def testCustomGettersUsed(self):
    pi = 3.1415

    def get_pi(getter, *args, **kwargs):
      variable = getter(*args, **kwargs)
      return variable * 0.0 + pi

    mlp = snt.nets.MLP(output_sizes=[10], custom_getter=get_pi)
    mlp(tf.zeros(shape=(2, 1)))
    mlp_variables = [mlp.layers[0].w, mlp.layers[0].b]
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      for value in sess.run(mlp_variables):
        self.assertAllClose(value, np.full_like(value, pi))

  def testCallableOutputSizes(self):
    sizes = [lambda: 4, 3]
    mlp = snt.nets.MLP(output_sizes=sizes)
    self.assertEqual(mlp.output_sizes, (4, 3))
    output = mlp(tf.ones([2, 5]))
    self.assertEqual(output.get_shape().as_list(), [2, 3])
    self.assertEqual(mlp.layers[0].w.get_shape().as_list(), [5, 4])

  def testInputShapeNotConnected(self):
    mlp = snt.nets.MLP(output_sizes=self.output_sizes)
    with self.assertRaises(snt.NotConnectedError):
      _ = mlp.input_shape

  def testRemoveUnsupportedKwargs(self):
    mlp = snt.nets.MLP([23, 42])
    kwargs = {"dropout_keep_prob": 0.4, "is_training": True, "blah": True}
    self.assertEqual(snt.remove_unsupported_kwargs(mlp, kwargs),
                     {"dropout_keep_prob": 0.4, "is_training": True})

  def testInsideBatchApplyAndDynamicRnn(self):
    mlp = snt.nets.MLP([6, 3], activate_final=True)
    seq = tf.ones([2, 4, 5])
    out = snt.BatchApply(mlp)(seq)
    self.assertEqual(out.get_shape().as_list(), [2, 4, 3])

    class Core(object):
      state_size = 3
      output_size = 3

      def zero_state(self, batch_size, dtype):
        return tf.zeros([batch_size, 3], dtype)

      def __call__(self, inputs, state):
        del state
        out = mlp(inputs)
        return out, out

    outputs, _ = tf.nn.dynamic_rnn(Core(), seq, dtype=tf.float32)
    grads = tf.gradients(tf.reduce_sum(outputs) + tf.reduce_sum(out),
                         mlp.get_variables())
    self.assertNotIn(None, grads)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      a, b = sess.run([out, outputs])
    self.assertAllClose(a, b)


if __name__ == "__main__":
  tf.test.main()
