"""Upstream-style tests for basic.py (tf.test.TestCase, graph mode).

These exercise the modules the way Sonnet 1.36's own basic_test.py did:
`self.test_session()`, `assertRaisesRegexp` on the error texts, parameterized
bias/no-bias variants, partitioned variables and custom getters.
"""

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


_BIAS = (("WithBias", True), ("WithoutBias", False))


class LinearTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.batch_size = 11
    self.in_size = 13
    self.out_size = 17

  def testName(self):
    with tf.variable_scope("scope"):
      lin = snt.Linear(name="unique_name", output_size=self.out_size)
    self.assertEqual(lin.scope_name, "scope/unique_name")
    self.assertEqual(lin.module_name, "unique_name")

  @parameterized.named_parameters(*_BIAS)
  def testShape(self, use_bias):
    inputs = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias)
    output = lin(inputs)
    self.assertTrue(output.get_shape().is_compatible_with(
        [self.batch_size, self.out_size]))

  @parameterized.named_parameters(*_BIAS)
  def testCustomGetter(self, use_bias):
    def custom_getter(getter, *args, **kwargs):
      kwargs["trainable"] = False
      return getter(*args, **kwargs)

    inputs = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    lin1 = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                      custom_getter=custom_getter)
    lin1(inputs)
    self.assertEmpty(tf.trainable_variables())
    self.assertLen(tf.global_variables(), 2 if use_bias else 1)

    lin2 = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                      custom_getter={"w": custom_getter})
    lin2(inputs)
    self.assertLen(tf.trainable_variables(), 1 if use_bias else 0)
    self.assertLen(tf.global_variables(), 4 if use_bias else 2)

  @parameterized.named_parameters(*_BIAS)
  def testComputation(self, use_bias):
    types = (tf.float16, tf.float32, tf.float64)
    tolerance = {tf.float16: 1e-2, tf.float32: 1e-5, tf.float64: 1e-9}
    for dtype in types:
      input_data = np.random.randn(self.batch_size, self.in_size).astype(
          dtype.as_numpy_dtype)
      inputs = tf.placeholder(dtype, shape=[self.batch_size, self.in_size])
      lin = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                       name="linear_{}".format(dtype.name))
      output = lin(inputs)
      self.assertEqual(output.dtype, dtype)
      self.assertEqual(lin.w.dtype.base_dtype, dtype)
      with self.test_session() as sess:
        tf.global_variables_initializer().run()
        fetches = [output, lin.w] + ([lin.b] if use_bias else [])
        values = sess.run(fetches, {inputs: input_data})
      expected = np.dot(input_data.astype(np.float64),
                        values[1].astype(np.float64))
      if use_bias:
        expected += values[2]
      self.assertAllClose(expected, values[0], atol=tolerance[dtype],
                          rtol=tolerance[dtype])

  @parameterized.named_parameters(*_BIAS)
  def testSharing(self, use_bias):
    inputs1 = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    inputs2 = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias)
    out1 = lin(inputs1)
    out2 = lin(inputs2)
    self.assertLen(tf.trainable_variables(), 2 if use_bias else 1)
    data = np.random.randn(self.batch_size, self.in_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      a, b = sess.run([out1, out2], {inputs1: data, inputs2: data})
    self.assertAllClose(a, b)

  @parameterized.named_parameters(*_BIAS)
  def testUniquifying(self, use_bias):
    name = "unique_name"
    with tf.variable_scope("scope"):
      lins = [snt.Linear(output_size=self.out_size, use_bias=use_bias,
                         name=name) for _ in range(4)]
    inputs = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    for lin in reversed(lins):
      lin(inputs)
    for i, lin in enumerate(lins):
      suffix = "" if i == 0 else "_{}".format(i)
      self.assertEqual(lin.scope_name, "scope/" + name + suffix)
      self.assertEqual(lin.module_name, name + suffix)
      variables = lin.get_variables()
      self.assertLen(variables, 2 if use_bias else 1)
      self.assertEqual(variables[0].name, "scope/{}{}/w:0".format(name, suffix))
      if use_bias:
        self.assertEqual(variables[1].name,
                         "scope/{}{}/b:0".format(name, suffix))

  @parameterized.named_parameters(*_BIAS)
  def testIsConnectedAndVariables(self, use_bias):
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias)
    self.assertFalse(lin.is_connected)
    with self.assertRaisesRegexp(snt.NotConnectedError, "not instantiated yet"):
      lin.get_variables()
    with self.assertRaises(snt.NotConnectedError):
      _ = lin.w
    with self.assertRaises(snt.NotConnectedError):
      _ = lin.b
    with self.assertRaises(snt.NotConnectedError):
      _ = lin.input_shape
    lin(tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size]))
    self.assertTrue(lin.is_connected)
    self.assertEqual(lin.input_shape, (self.batch_size, self.in_size))
    self.assertLen(lin.get_variables(), 2 if use_bias else 1)
    self.assertEqual(lin.has_bias, use_bias)
    if not use_bias:
      with self.assertRaisesRegexp(AttributeError, "No bias Variable"):
        _ = lin.b

  @parameterized.named_parameters(*_BIAS)
  def testInvalidInitializationParameters(self, use_bias):
    init = tf.truncated_normal_initializer(stddev=1.0)
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.Linear(output_size=self.out_size, use_bias=use_bias,
                 initializers={"w": init, "b": init, "extra": init})
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.Linear(output_size=self.out_size, use_bias=use_bias,
                 initializers={"not_w": init})
    with self.assertRaisesRegexp(
        TypeError, "Initializer for 'w' is not a callable function or "
        "dictionary"):
      snt.Linear(output_size=self.out_size, use_bias=use_bias,
                 initializers={"w": tf.zeros([1, 2, 3])})
    if not use_bias:
      with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
        snt.Linear(output_size=self.out_size, use_bias=False,
                   initializers={"b": init})

  def testInvalidPartitionerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.Linear(output_size=self.out_size,
                 partitioners={"w": tf.fixed_size_partitioner(num_shards=2),
                               "extra": tf.fixed_size_partitioner(2)})
    with self.assertRaisesRegexp(
        TypeError, "Partitioner for 'w' is not a callable function"):
      snt.Linear(output_size=self.out_size,
                 partitioners={"w": tf.zeros([1, 2, 3])})

  def testInvalidRegularizationParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.Linear(output_size=self.out_size, regularizers={"not_w": _l1(0.5)})
    with self.assertRaisesRegexp(
        TypeError, "Regularizer for 'w' is not a callable function"):
      snt.Linear(output_size=self.out_size,
                 regularizers={"w": tf.zeros([1, 2, 3])})

  def testRegularizersInRegularizationLosses(self):
    lin = snt.Linear(output_size=100,
                     regularizers={"w": _l1(0.5), "b": _l2(0.5)})
    lin(tf.zeros([1, 100]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 2)
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")
    self.assertRegexpMatches(losses[1].name, ".*l2_regularizer.*")

  @parameterized.named_parameters(*_BIAS)
  def testInitializers(self, use_bias):
    initializers = {"w": tf.constant_initializer(1.5)}
    if use_bias:
      initializers["b"] = tf.constant_initializer(2.5)
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                     initializers=initializers)
    lin(tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size]))
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      self.assertAllClose(sess.run(lin.w),
                          np.full([self.in_size, self.out_size], 1.5))
      if use_bias:
        self.assertAllClose(sess.run(lin.b), np.full([self.out_size], 2.5))

  @parameterized.named_parameters(*_BIAS)
  def testDefaultInitializersStoredAfterBuild(self, use_bias):
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias)
    self.assertEqual(lin.initializers, {})
    lin(tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size]))
    self.assertEqual(set(lin.initializers), {"w", "b"} if use_bias else {"w"})
    self.assertAlmostEqual(lin.initializers["w"].stddev,
                           1 / np.sqrt(self.in_size))

  @parameterized.named_parameters(*_BIAS)
  def testPartitioners(self, use_bias):
    partitioners = {"w": tf.variable_axis_size_partitioner(10)}
    if use_bias:
      partitioners["b"] = tf.variable_axis_size_partitioner(10)
    inputs = tf.placeholder(tf.float32, shape=[self.batch_size, self.in_size])
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                     partitioners=partitioners)
    output = lin(inputs)
    self.assertEqual(type(lin.w), tf_variables.PartitionedVariable)
    if use_bias:
      self.assertEqual(type(lin.b), tf_variables.PartitionedVariable)
    data = np.random.randn(self.batch_size, self.in_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w = sess.run([output, tf.convert_to_tensor(lin.w)], {inputs: data})
    expected = data.dot(w)
    self.assertAllClose(out, expected, atol=1e-5)
    grads = tf.gradients(tf.reduce_sum(output), list(lin.w))
    self.assertNotIn(None, grads)

  @parameterized.named_parameters(*_BIAS)
  def testTranspose(self, use_bias):
    with tf.variable_scope("scope1"):
      linear1 = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                           name="linear")
      linear2 = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                           name="linear")
    with tf.variable_scope("scope2"):
      linear_transpose1 = linear1.transpose()
      linear_transpose2 = linear1.transpose()
      linear_transpose3 = linear2.transpose()

    self.assertEqual("scope1/linear", linear1.scope_name)
    self.assertEqual("linear", linear1.module_name)
    self.assertEqual("scope1/linear_1", linear2.scope_name)
    self.assertEqual("linear_1", linear2.module_name)
    self.assertEqual("scope2/linear_transpose", linear_transpose1.scope_name)
    self.assertEqual("linear_transpose", linear_transpose1.module_name)
    self.assertEqual("scope2/linear_transpose_1",
                     linear_transpose2.scope_name)
    self.assertEqual("linear_transpose_1", linear_transpose2.module_name)
    self.assertEqual("scope2/linear_1_transpose",
                     linear_transpose3.scope_name)
    self.assertEqual("linear_1_transpose", linear_transpose3.module_name)

    input_to_linear = tf.placeholder(tf.float32,
                                     shape=[self.batch_size, self.in_size])
    err = "Variables in {} not instantiated yet, __call__ the module first."
    with self.assertRaisesRegexp(snt.NotConnectedError,
                                 err.format(linear1.scope_name)):
      linear_transpose1(input_to_linear)

    linear_transpose1 = linear1.transpose()
    self.assertEqual(linear1.has_bias, linear_transpose1.has_bias)

    out = linear1(input_to_linear)
    out_transposed = linear_transpose1(out)
    self.assertEqual(out_transposed.get_shape().as_list(),
                     [self.batch_size, self.in_size])
    self.assertEqual(linear_transpose1.output_size, self.in_size)
    self.assertEqual(linear_transpose1.w.get_shape().as_list(),
                     [self.out_size, self.in_size])
    # Transposing twice gives back the configuration of the original.
    linear_tt = linear_transpose1.transpose()
    self.assertEqual(linear_tt.module_name, "linear_transpose_transpose")
    out_tt = linear_tt(out_transposed)
    self.assertEqual(out_tt.get_shape().as_list(),
                     [self.batch_size, self.out_size])
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run(out_tt, {input_to_linear: np.ones([self.batch_size,
                                                  self.in_size])})

  @parameterized.named_parameters(*_BIAS)
  def testClone(self, use_bias):
    initializers = {"w": tf.constant_initializer(0.5)}
    lin = snt.Linear(output_size=self.out_size, use_bias=use_bias,
                     initializers=initializers, name="linear")
    clone1 = lin.clone()
    clone2 = lin.clone(name="clone2")
    self.assertEqual(clone1.module_name, "linear_clone")
    self.assertEqual(clone2.module_name, "clone2")
    for clone in (clone1, clone2):
      self.assertEqual(clone.output_size, lin.output_size)
      self.assertEqual(clone.has_bias, lin.has_bias)
      self.assertEqual(clone.initializers, lin.initializers)
      self.assertEqual(clone.partitioners, lin.partitioners)
      self.assertEqual(clone.regularizers, lin.regularizers)
    inputs = tf.ones([self.batch_size, self.in_size])
    lin(inputs)
    clone1(inputs)
    self.assertIsNot(lin.w, clone1.w)
    self.assertEqual(clone1.w.name, "linear_clone/w:0")

  def testOutputSize(self):
    lin = snt.Linear(output_size=self.out_size)
    self.assertEqual(lin.output_size, self.out_size)
    calls = []

    def size():
      calls.append(1)
      return self.out_size + 1

    lin_lazy = snt.Linear(output_size=size)
    self.assertEqual(lin_lazy.output_size, self.out_size + 1)
    self.assertEqual(lin_lazy.output_size, self.out_size + 1)
    self.assertLen(calls, 1)

  def testIncompatibleInputs(self):
    lin = snt.Linear(output_size=self.out_size)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "rank of shape must be 2 not: 3"):
      lin(tf.placeholder(tf.float32, [1, 2, 3]))
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Input size must be specified"):
      lin(tf.placeholder(tf.float32, [1, None]))
    lin(tf.placeholder(tf.float32, [None, self.in_size]))
    with self.assertRaisesRegexp(
        snt.IncompatibleShapeError,
        r"linear: Input shape must be \[batch_size, 13\] not: "
        r"\[batch_size, 14\]"):
      lin(tf.placeholder(tf.float32, [5, self.in_size + 1]))

  def testManyBatchDims(self):
    lin = snt.Linear(output_size=self.out_size, allow_many_batch_dims=True)
    inputs = tf.placeholder(tf.float32, [2, 3, self.in_size])
    output = lin(inputs)
    self.assertEqual(output.get_shape().as_list(), [2, 3, self.out_size])
    data = np.random.randn(2, 3, self.in_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w, b = sess.run([output, lin.w, lin.b], {inputs: data})
    self.assertAllClose(out, data.dot(w) + b, atol=1e-5)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 r"\[\.\.\., 13\] not: \[\.\.\., 4\]"):
      lin(tf.placeholder(tf.float32, [2, 3, 4]))

  def testGradients(self):
    inputs = tf.constant(np.random.randn(3, 4))
    lin = snt.Linear(output_size=5)
    output = lin(inputs)
    grad_w, grad_b = tf.gradients(tf.reduce_sum(output), [lin.w, lin.b])
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      err = tf.test.compute_gradient_error(inputs, [3, 4], output, [3, 5])
      x, gw, gb = sess.run([inputs, grad_w, grad_b])
    self.assertLess(err, 1e-6)
    self.assertAllClose(gw, np.tile(x.sum(0)[:, None], [1, 5]))
    self.assertAllClose(gb, np.full([5], 3.0))

  def testUsedInBatchApply(self):
    lin = snt.Linear(output_size=self.out_size)
    inputs = tf.placeholder(tf.float32, [None, 7, self.in_size])
    output = snt.BatchApply(lin)(inputs)
    self.assertEqual(output.get_shape().as_list(), [None, 7, self.out_size])
    data = np.random.randn(2, 7, self.in_size)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w, b = sess.run([output, lin.w, lin.b], {inputs: data})
    self.assertAllClose(out, data.dot(w) + b, atol=1e-5)

  def testInWhileLoop(self):
    lin = snt.Linear(output_size=self.in_size)
    x0 = tf.ones([2, self.in_size])

    def body(i, x):
      return i + 1, tf.tanh(lin(x))

    _, x = tf.while_loop(lambda i, x: i < 3, body, [0, x0])
    grads = tf.gradients(tf.reduce_sum(x), [lin.w, lin.b])
    self.assertNotIn(None, grads)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      sess.run([x] + grads)

  def testModuleInEnterVariableScope(self):
    class Parent(snt.AbstractModule):

      def __init__(self):
        super(Parent, self).__init__(name="parent")
        with self._enter_variable_scope():
          self._lin = snt.Linear(3)

      def _build(self, x):
        return self._lin(x)

    parent = Parent()
    parent(tf.ones([2, 4]))
    self.assertEqual([v.name for v in parent.get_variables()],
                     ["parent/linear/w:0", "parent/linear/b:0"])


class ConcatLinearTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*_BIAS)
  def testComputation(self, use_bias):
    sizes = [2, 3, 4]
    inputs = [tf.placeholder(tf.float32, [5, size]) for size in sizes]
    mod = snt.ConcatLinear(output_size=6, use_bias=use_bias)
    output = mod(inputs)
    self.assertEqual(output.get_shape().as_list(), [5, 6])
    names = [v.name for v in mod.get_variables()]
    expected = ["concat_linear/linear/w:0"]
    if use_bias:
      expected.append("concat_linear/linear/b:0")
    expected += ["concat_linear/linear_1/w:0", "concat_linear/linear_2/w:0"]
    self.assertEqual(names, expected)
    data = [np.random.randn(5, size) for size in sizes]
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, variables = sess.run([output, mod.get_variables()],
                                dict(zip(inputs, data)))
    weights = [v for n, v in zip(names, variables) if n.endswith("w:0")]
    expected_out = np.concatenate(data, 1).dot(np.concatenate(weights, 0))
    if use_bias:
      expected_out += variables[1]
    self.assertAllClose(out, expected_out, atol=1e-5)
    # A second connection reuses the variables.
    mod(inputs)
    self.assertLen(tf.trainable_variables(), len(names))


class AddBiasTest(tf.test.TestCase, parameterized.TestCase):

  BATCH_SIZE = 11
  IN_SHAPE = (13, 7, 5)
  OUT_SHAPE = IN_SHAPE
  BIAS_DIMS_PARAMETERS = [
      ("DefaultBiasDims", None, IN_SHAPE),
      ("AllBiasDims", [1, 2, 3], IN_SHAPE),
      ("ScalarBiasDims", [], ()),
      ("LastBiasDims", [-1], (IN_SHAPE[2],)),
      ("ExplicitLastBiasDims", [3], (IN_SHAPE[2],)),
      ("FirstBiasDims", [1], (IN_SHAPE[0], 1, 1)),
      ("MiddleBiasDims", [2], (IN_SHAPE[1], 1)),
  ]

  def _inputs(self, dtype=tf.float32):
    return tf.placeholder(dtype, [self.BATCH_SIZE] + list(self.IN_SHAPE))

  def testName(self):
    with tf.variable_scope("scope"):
      add = snt.AddBias(name="unique_name")
    self.assertEqual(add.scope_name, "scope/unique_name")
    self.assertEqual(add.module_name, "unique_name")

  @parameterized.named_parameters(*BIAS_DIMS_PARAMETERS)
  def testShape(self, bias_dims, bias_shape):
    add = snt.AddBias(bias_dims=bias_dims)
    output = add(self._inputs())
    self.assertTrue(output.get_shape().is_compatible_with(
        [self.BATCH_SIZE] + list(self.OUT_SHAPE)))
    self.assertEqual(tuple(add.b.get_shape().as_list()), bias_shape)
    self.assertEqual(add.input_shape,
                     (self.BATCH_SIZE,) + tuple(self.IN_SHAPE))

  @parameterized.named_parameters(*BIAS_DIMS_PARAMETERS)
  def testComputation(self, bias_dims, bias_shape):
    tolerance = {tf.float16: 1e-2, tf.float32: 1e-6, tf.float64: 1e-12}
    for dtype in (tf.float16, tf.float32, tf.float64):
      input_data = np.random.randn(
          *([self.BATCH_SIZE] + list(self.IN_SHAPE))).astype(
              dtype.as_numpy_dtype)
      inputs = self._inputs(dtype)
      add = snt.AddBias(bias_dims=bias_dims,
                        initializers={"b": tf.random_normal_initializer()},
                        name="add_{}".format(dtype.name))
      output = add(inputs)
      output_subtract = add(inputs, multiplier=-1)
      self.assertEqual(output.dtype, dtype)
      with self.test_session() as sess:
        tf.global_variables_initializer().run()
        out, out_sub, b = sess.run([output, output_subtract, add.b],
                                   {inputs: input_data})
      self.assertEqual(b.shape, bias_shape)
      self.assertAllClose(out, input_data + b, atol=tolerance[dtype])
      self.assertAllClose(out_sub, input_data - b, atol=tolerance[dtype])

  def testTensorMultiplier(self):
    add = snt.AddBias(initializers={"b": tf.constant_initializer(2.0)})
    inputs = tf.zeros([2, 3])
    multiplier = tf.placeholder(tf.float32, [])
    output = add(inputs, multiplier=multiplier)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      self.assertAllClose(sess.run(output, {multiplier: 1.0}),
                          np.full([2, 3], 2.0))
      self.assertAllClose(sess.run(output, {multiplier: -3.0}),
                          np.full([2, 3], -6.0))

  @parameterized.named_parameters(*BIAS_DIMS_PARAMETERS)
  def testSharing(self, bias_dims, unused_bias_shape):
    add = snt.AddBias(bias_dims=bias_dims)
    add(self._inputs())
    add(self._inputs())
    self.assertLen(tf.trainable_variables(), 1)

  def testUniquifying(self):
    with tf.variable_scope("scope"):
      mods = [snt.AddBias(name="unique_name") for _ in range(3)]
    for mod in mods:
      mod(self._inputs())
    self.assertEqual([m.b.name for m in mods],
                     ["scope/unique_name/b:0", "scope/unique_name_1/b:0",
                      "scope/unique_name_2/b:0"])

  def testInvalidInitializationParameters(self):
    init = tf.truncated_normal_initializer(stddev=1.0)
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.AddBias(initializers={"b": init, "extra": init})
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.AddBias(initializers={"not_b": init})
    with self.assertRaisesRegexp(
        TypeError, "Initializer for 'b' is not a callable function"):
      snt.AddBias(initializers={"b": tf.zeros([1, 2, 3])})

  def testInvalidPartitionerAndRegularizerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.AddBias(partitioners={"not_b": tf.fixed_size_partitioner(2)})
    with self.assertRaisesRegexp(
        TypeError, "Partitioner for 'b' is not a callable function"):
      snt.AddBias(partitioners={"b": tf.zeros([1, 2, 3])})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.AddBias(regularizers={"not_b": _l1(0.5)})
    with self.assertRaisesRegexp(
        TypeError, "Regularizer for 'b' is not a callable function"):
      snt.AddBias(regularizers={"b": tf.zeros([1, 2, 3])})

  @parameterized.named_parameters(*BIAS_DIMS_PARAMETERS)
  def testRegularizersInRegularizationLosses(self, bias_dims,
                                             unused_bias_shape):
    add = snt.AddBias(bias_dims=bias_dims, regularizers={"b": _l2(0.5)})
    add(self._inputs())
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 1)
    self.assertRegexpMatches(losses[0].name, ".*l2_regularizer.*")

  def testPartitioners(self):
    add = snt.AddBias(partitioners={"b": tf.fixed_size_partitioner(2)})
    output = add(tf.zeros([3, 8]))
    self.assertEqual(type(add.b), tf_variables.PartitionedVariable)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      self.assertAllClose(sess.run(output), np.zeros([3, 8]))

  def testBiasOverBatchDimension(self):
    with self.assertRaisesRegexp(
        ValueError, "Cannot apply bias across the minibatch dimension."):
      snt.AddBias(bias_dims=[0])(self._inputs())
    with self.assertRaisesRegexp(
        ValueError, "Cannot apply bias across the minibatch dimension."):
      snt.AddBias(bias_dims=[-4])(self._inputs())

  def testIncompatibleShapes(self):
    add = snt.AddBias()
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Rank of input shape must be >=2 not: 1"):
      add(tf.zeros([3]))
    add(tf.zeros([3, 4]))
    add(tf.zeros([5, 4]))
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Input shape has changed."):
      add(tf.zeros([3, 5]))
    with self.assertRaises(snt.IncompatibleShapeError):
      snt.AddBias(output_shape=(3, 6))(tf.zeros([3, 4]))

  @parameterized.named_parameters(*BIAS_DIMS_PARAMETERS)
  def testTranspose(self, bias_dims, unused_bias_shape):
    add = snt.AddBias(bias_dims=bias_dims)
    input_to_add = self._inputs()
    add_transpose = add.transpose()
    with self.assertRaisesRegexp(
        snt.ParentNotBuiltError,
        "Build the original untransposed module before building this one."):
      add_transpose(input_to_add)

    add_transpose = add.transpose()
    self.assertEqual(add_transpose.module_name, "add_transpose_1")
    add_transpose_transpose = add_transpose.transpose()
    self.assertEqual(add_transpose_transpose.module_name,
                     "add_transpose_1_transpose")
    output = add(input_to_add)
    output_transpose = add_transpose(output)
    output_tt = add_transpose_transpose(output_transpose)
    self.assertEqual(output_tt.get_shape().as_list(),
                     input_to_add.get_shape().as_list())
    self.assertEqual(add_transpose.input_shape, add.input_shape)
    with self.assertRaises(snt.IncompatibleShapeError):
      add_transpose2 = add.transpose(name="other")
      add_transpose2(tf.zeros([self.BATCH_SIZE, 2, 2, 2]))


class TrainableVariableTest(tf.test.TestCase, parameterized.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.TrainableVariable(name="unique_name", shape=[1])
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(mod.module_name, "unique_name")

  @parameterized.parameters(tf.float16, tf.float32, tf.float64)
  def testShapeAndDtype(self, dtype):
    mod = snt.TrainableVariable(shape=[23, 42], dtype=dtype)
    var = mod()
    self.assertIs(var, mod.w)
    self.assertEqual(var.get_shape().as_list(), [23, 42])
    self.assertEqual(var.dtype.base_dtype, dtype)
    self.assertEqual(var.name, "trainable_variable/w:0")
    self.assertIs(mod(), var)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      value = sess.run(var).astype(np.float64)
    bound = 2.0 / np.sqrt(23 * 42) + 1e-3
    self.assertLessEqual(np.abs(value).max(), bound)
    self.assertNear(value.std(), 0.88 / np.sqrt(23 * 42), 0.01)

  def testComputation(self):
    mod = snt.TrainableVariable(
        shape=[2, 2], initializers={"w": tf.constant_initializer(3.0)})
    var = mod()
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      self.assertAllClose(sess.run(var), np.full([2, 2], 3.0))
      sess.run(tf.assign(var, np.ones([2, 2])))
      self.assertAllClose(sess.run(mod()), np.ones([2, 2]))

  def testInvalidInitializationParameters(self):
    init = tf.truncated_normal_initializer(stddev=1.0)
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.TrainableVariable(shape=[1], initializers={"w": init, "extra": init})
    with self.assertRaisesRegexp(
        TypeError, "Initializer for 'w' is not a callable function"):
      snt.TrainableVariable(shape=[1], initializers={"w": tf.zeros([1, 2])})
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.TrainableVariable(shape=[1], partitioners={"b": init})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.TrainableVariable(shape=[1], regularizers={"b": _l1(1.0)})

  def testRegularizersInRegularizationLosses(self):
    mod = snt.TrainableVariable(shape=[3], regularizers={"w": _l1(0.5)})
    mod()
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 1)
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")

  def testPartitioners(self):
    mod = snt.TrainableVariable(
        shape=[10, 10],
        partitioners={"w": tf.fixed_size_partitioner(num_shards=2)})
    var = mod()
    self.assertEqual(type(var), tf_variables.PartitionedVariable)
    self.assertLen(list(var), 2)

  def testCustomGetter(self):
    def custom_getter(getter, *args, **kwargs):
      kwargs["trainable"] = False
      return getter(*args, **kwargs)

    mod = snt.TrainableVariable(shape=[1], custom_getter=custom_getter)
    mod()
    self.assertEmpty(tf.trainable_variables())
    self.assertLen(tf.global_variables(), 1)


class BatchReshapeTest(tf.test.TestCase, parameterized.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.BatchReshape(name="unique_name", shape=[-1])
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(mod.module_name, "unique_name")

  def testReshape(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4, 5])
    output = snt.BatchReshape(shape=[6, 5, 4])(inputs)
    self.assertEqual(output.get_shape(), [10, 6, 5, 4])

  def testInvalidReshapeParameters(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4, 5])
    with self.assertRaisesRegexp(
        ValueError,
        "Wildcard -1 can appear only once in desired output shape. "):
      snt.BatchReshape(shape=[-1, -1])(inputs)
    err = ("Desired shape can only contain positive integral numbers and "
           "the wildcard -1. ")
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[2, 3, -2])(inputs)
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[7, "string"])(inputs)
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[7, 2.5])(inputs)
    err = "Output shape is incompatible with input shape"
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[4, 5, 4])(inputs)
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[10, 1])(tf.zeros([10, 2]))
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[3])(tf.zeros([10, 2]))

  def testCallable(self):
    inputs = tf.placeholder(tf.float32, shape=[2, 3])
    mod = snt.BatchReshape(shape=lambda: [3])
    self.assertEqual(mod(inputs).get_shape(), [2, 3])

  def testInferShape(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4, 5])
    output = snt.BatchReshape(shape=[2, -1, 5])(inputs)
    self.assertEqual(output.get_shape(), [10, 2, 12, 5])

  def testAddDimensions(self):
    inputs = tf.placeholder(tf.float32, shape=[10])
    mod = snt.BatchReshape(shape=[1, 1])
    output = mod(inputs)
    self.assertEqual(output.get_shape(), [10, 1, 1])
    mod_t = mod.transpose()
    t_output = mod_t(output)
    self.assertEqual(t_output.get_shape(), [10])

  def testFlatten(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4, 5])
    output = snt.BatchReshape(shape=[-1])(inputs)
    self.assertEqual(output.get_shape(), [10, 120])

  def testUnknown(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 2, 3, 4, 5])
    output = snt.BatchReshape(shape=[-1])(inputs)
    self.assertEqual(output.get_shape().as_list(), [None, 120])
    with self.test_session() as sess:
      out = sess.run(output, {inputs: np.ones([3, 2, 3, 4, 5])})
    self.assertEqual(out.shape, (3, 120))

  def testUnknownNonPreservedDimension(self):
    inputs = tf.placeholder(tf.float32, shape=[3, None])
    self.assertIs(snt.BatchReshape(shape=[-1])(inputs), inputs)
    err = "Unknown non-preserved dimensions are not allowed"
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[4])(inputs)
    with self.assertRaisesRegexp(ValueError, err):
      snt.BatchReshape(shape=[2, -1])(tf.placeholder(tf.float32, [3, None, 2]))

  def testTranspose(self):
    inputs = tf.random_uniform(shape=[10, 2, 3, 4, 5])
    mod = snt.BatchReshape(shape=[2, -1, 5])
    mod_t = mod.transpose()
    mod_t_t = mod_t.transpose()
    self.assertEqual(mod_t.module_name, "batch_reshape_transpose")
    intermediate_output = mod(inputs)
    self.assertEqual(intermediate_output.get_shape(), [10, 2, 12, 5])
    output = mod_t(intermediate_output)
    self.assertEqual(output.get_shape(), [10, 2, 3, 4, 5])
    further_output = mod_t_t(output)
    self.assertEqual(further_output.get_shape(), [10, 2, 12, 5])
    with self.test_session() as sess:
      input_data, out = sess.run([inputs, output])
    self.assertAllClose(out, input_data)

  def testTransposeBeforeConnection(self):
    mod = snt.BatchReshape(shape=[-1])
    with self.assertRaises(snt.NotConnectedError):
      mod.transpose()(tf.zeros([2, 6]))
    with self.assertRaises(snt.NotConnectedError):
      _ = mod.input_shape

  def testInvalidPreserveDimsError(self):
    with self.assertRaisesRegexp(ValueError, "preserve_dims"):
      snt.BatchReshape((-1,), preserve_dims=0)

  def testBuildDimError(self):
    mod = snt.BatchReshape((-1,), preserve_dims=2)
    with self.assertRaisesRegexp(ValueError, "preserve_dims"):
      mod(tf.placeholder(tf.float32, (50,)))

  @parameterized.named_parameters(
      ("Preserve1", 1, [2, 60, 5]),
      ("Preserve2", 2, [2, 3, 20, 5]),
      ("Preserve3", 3, [2, 3, 4, 5, 5]),
      ("Preserve4", 4, [2, 3, 4, 5, 1, 5]))
  def testPreserveDimsOk(self, preserve_dims, expected_shape):
    inputs = tf.placeholder(tf.float32, [2, 3, 4, 5, 5])
    output = snt.BatchReshape((-1, 5), preserve_dims=preserve_dims)(inputs)
    self.assertEqual(output.get_shape().as_list(), expected_shape)

  @parameterized.parameters(5, 6, 7)
  def testPreserveDimsError(self, preserve_dims):
    inputs = tf.placeholder(tf.float32, [2, 3, 4, 5, 5])
    with self.assertRaises(ValueError):
      snt.BatchReshape((-1, 5), preserve_dims=preserve_dims)(inputs)

  def testUnknownPreservedDims(self):
    inputs = tf.placeholder(tf.float32, [None, None, 4, 5])
    output = snt.BatchReshape([20], preserve_dims=2)(inputs)
    self.assertEqual(output.get_shape().as_list(), [None, None, 20])
    with self.test_session() as sess:
      out = sess.run(output, {inputs: np.ones([2, 3, 4, 5])})
    self.assertEqual(out.shape, (2, 3, 20))


class BatchFlattenTest(tf.test.TestCase, parameterized.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.BatchFlatten(name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(mod.module_name, "unique_name")

  def testFlatten(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4, 5])
    output = snt.BatchFlatten()(inputs)
    self.assertEqual(output.get_shape(), [10, 120])

  @parameterized.parameters(1, 2, 3, 4)
  def testPreserveDimsOk(self, preserve_dims):
    in_shape = [10, 2, 3, 4]
    inputs = tf.placeholder(tf.float32, shape=in_shape)
    output = snt.BatchFlatten(preserve_dims=preserve_dims)(inputs)
    flattened_shape = (in_shape[:preserve_dims] +
                       [np.prod(in_shape[preserve_dims:], dtype=int)])
    self.assertEqual(output.get_shape(), flattened_shape)

  @parameterized.parameters(5, 6, 7, 10)
  def testPreserveDimsError(self, preserve_dims):
    inputs = tf.placeholder(tf.float32, shape=[10, 2, 3, 4])
    with self.assertRaisesRegexp(ValueError, "Input tensor has 4 dimensions"):
      snt.BatchFlatten(preserve_dims=preserve_dims)(inputs)

  def testFlattenWithZeroDim(self):
    inputs = tf.placeholder(tf.float32, shape=[1, 0])
    output = snt.BatchFlatten()(inputs)
    self.assertEqual(output.get_shape(), [1, 0])
    output = snt.BatchFlatten()(tf.placeholder(tf.float32, [2, 0, 3]))
    self.assertEqual(output.get_shape(), [2, 0])

  def testTranspose(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 2, 3])
    mod = snt.BatchFlatten()
    back = mod.transpose()(mod(inputs))
    self.assertEqual(back.get_shape().as_list(), [None, 2, 3])


class FlattenTrailingDimensionsTest(tf.test.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.FlattenTrailingDimensions(dim_from=2, name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(snt.FlattenTrailingDimensions(2).module_name,
                     "batch_dim_from")

  def testFlatten(self):
    inputs = tf.placeholder(tf.float32, shape=[10, 3, 2, 3, 4, 5])
    output = snt.FlattenTrailingDimensions(dim_from=2)(inputs)
    self.assertEqual(output.get_shape(), [10, 3, 120])
    unknown = tf.placeholder(tf.float32, shape=[None, None, 2, 3])
    output = snt.FlattenTrailingDimensions(dim_from=2)(unknown)
    self.assertEqual(output.get_shape().as_list(), [None, None, 6])

  def testInvalidFlattenFromError(self):
    with self.assertRaisesRegexp(ValueError, "dim_from"):
      snt.FlattenTrailingDimensions(dim_from=0)


class BatchApplyTest(tf.test.TestCase, parameterized.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.BatchApply(tf.identity, name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(mod.module_name, "unique_name")

  @parameterized.parameters(*itertools.product([1, 2, 3], [False, True]))
  def testShapeAndValues(self, n_dims, dynamic):
    shape = [2, 3, 4, 5][:n_dims] + [6]
    static = [None] * n_dims + [6] if dynamic else shape
    inputs = tf.placeholder(tf.float32, static)
    lin = snt.Linear(4)
    output = snt.BatchApply(lin, n_dims=n_dims)(inputs)
    self.assertEqual(output.get_shape().as_list(), static[:-1] + [4])
    data = np.random.randn(*shape)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, w, b = sess.run([output, lin.w, lin.b], {inputs: data})
    self.assertAllClose(out, data.dot(w) + b, atol=1e-5)

  def testMultipleArgsAndKwargs(self):
    a = tf.placeholder(tf.float32, [2, 3, 4])
    b = tf.placeholder(tf.float32, [2, 3, 4])
    c = tf.placeholder(tf.float32, [2, 3, 4])

    def fn(x, y, z=None, scalar=None):
      self.assertEqual(x.get_shape().as_list(), [6, 4])
      self.assertIsNone(scalar)
      return x + y * z, {"sum": x + y, "none": None}

    out, extra = snt.BatchApply(fn)(a, b, z=c, scalar=None)
    self.assertEqual(out.get_shape().as_list(), [2, 3, 4])
    self.assertEqual(extra["sum"].get_shape().as_list(), [2, 3, 4])
    self.assertIsNone(extra["none"])
    data = [np.random.randn(2, 3, 4) for _ in range(3)]
    with self.test_session() as sess:
      out_v, sum_v = sess.run([out, extra["sum"]], dict(zip([a, b, c], data)))
    self.assertAllClose(out_v, data[0] + data[1] * data[2], atol=1e-5)
    self.assertAllClose(sum_v, data[0] + data[1], atol=1e-5)

  def testNestedInputsAndScalars(self):
    t0 = tf.placeholder(tf.float32, [2, 3, 4])
    t1 = tf.placeholder(tf.float32, [2, 3])

    def fn(inputs, factor):
      self.assertEqual(inputs["a"].get_shape().as_list(), [6, 4])
      self.assertEqual(inputs["b"][0].get_shape().as_list(), [6])
      return inputs["a"] * factor + tf.expand_dims(inputs["b"][0], -1)

    output = snt.BatchApply(fn)({"a": t0, "b": (t1,)}, 2.0)
    self.assertEqual(output.get_shape().as_list(), [2, 3, 4])

  def testInputExampleIndex(self):
    a = tf.placeholder(tf.float32, [3, 2, 4])
    b = tf.placeholder(tf.float32, [2, 3, 4])
    out0 = snt.BatchApply(tf.add)(a, b)
    self.assertEqual(out0.get_shape().as_list(), [3, 2, 4])
    out1 = snt.BatchApply(tf.add, input_example_index=1)(a, b)
    self.assertEqual(out1.get_shape().as_list(), [2, 3, 4])

  def testNumpyInputs(self):
    data = np.random.randn(2, 3, 4).astype(np.float32)
    output = snt.BatchApply(lambda x: 2 * x)(data)
    with self.test_session() as sess:
      self.assertAllClose(sess.run(output), 2 * data)

  def testVariablesOfWrappedModule(self):
    lin = snt.Linear(3)
    apply = snt.BatchApply(lin)
    apply(tf.zeros([2, 3, 4]))
    self.assertEqual(set(apply.variables), {lin.w, lin.b})

  def testInvalidNDims(self):
    with self.assertRaisesRegexp(TypeError, "n_dims should be an integer"):
      snt.BatchApply(tf.identity, n_dims=2.0)
    with self.assertRaisesRegexp(ValueError,
                                 "n_dims should be greater than zero."):
      snt.BatchApply(tf.identity, n_dims=0)

  def testUnknownRank(self):
    with self.assertRaisesRegexp(ValueError, "unknown rank"):
      snt.BatchApply(tf.identity)(tf.placeholder(tf.float32))


class MergeSplitLeadingDimsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      ([2, 3, 4], 2, [6, 4]),
      ([2, 3, 4], 3, [24]),
      ([None, 3, 4], 2, [None, 4]),
      ([2, None, 4], 1, [2, None, 4]),
      ([2, 3, None], 2, [6, None]))
  def testMergeShapes(self, shape, n_dims, expected):
    inputs = tf.placeholder(tf.float32, shape)
    merged = snt.merge_leading_dims(inputs, n_dims)
    self.assertEqual(merged.get_shape().as_list(), expected)
    split = snt.split_leading_dim(merged, inputs, n_dims)
    self.assertEqual(split.get_shape().as_list(), shape)
    data = np.random.randn(*[2 if d is None else d for d in shape])
    with self.test_session() as sess:
      out = sess.run(split, {inputs: data})
    self.assertAllClose(out, data)

  def testLowRankUnchanged(self):
    inputs = [1.0, 2.0]
    self.assertIs(snt.merge_leading_dims(inputs, 2), inputs)


class SliceByDimTest(tf.test.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.SliceByDim([0], [0], [1], name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")

  def testFunction(self):
    inputs = tf.placeholder(tf.float32, shape=[5, 4, 3, 2, 6])
    mod = snt.SliceByDim(dims=[0, 2, 4], begin=[0, 1, 2], size=[2, 2, -1])
    output = mod(inputs)
    self.assertEqual(output.get_shape().as_list(), [2, 4, 2, 2, 4])
    data = np.random.randn(5, 4, 3, 2, 6)
    with self.test_session() as sess:
      out = sess.run(output, {inputs: data})
    self.assertAllClose(out, data[0:2, :, 1:3, :, 2:])

  def testNegativeDims(self):
    data = np.random.randn(5, 4, 3)
    output = snt.SliceByDim(dims=[-1], begin=[1], size=[1])(tf.constant(data))
    with self.test_session() as sess:
      self.assertAllClose(sess.run(output), data[:, :, 1:2])

  def testInvalidSliceParameters(self):
    dims = [0, 2, 4]
    with self.assertRaisesRegexp(
        ValueError, "begin must have the same length as dims: 3."):
      snt.SliceByDim(dims=dims, begin=[0, 1], size=[1, 1, 1])
    with self.assertRaisesRegexp(
        ValueError, "size must have the same length as dims: 3."):
      snt.SliceByDim(dims=dims, begin=[0, 1, 2], size=[1, 1])
    with self.assertRaisesRegexp(
        ValueError, "dims must not have any repeated integers."):
      snt.SliceByDim(dims=[0, 2, 2], begin=[0, 1, 2], size=[1, 1, 1])
    with self.assertRaisesRegexp(ValueError,
                                 "Rank of inputs must be at least 5."):
      mod = snt.SliceByDim(dims=dims, begin=[0, 1, 2], size=[1, 1, 1])
      mod(tf.placeholder(tf.float32, shape=[5, 4, 3]))


class TileByDimTest(tf.test.TestCase):

  def testFunction(self):
    inputs = tf.placeholder(tf.float32, shape=[2, 3, 4])
    mod = snt.TileByDim(dims=[0, 2], multiples=[2, 3])
    output = mod(inputs)
    self.assertEqual(output.get_shape().as_list(), [4, 3, 12])
    data = np.random.randn(2, 3, 4)
    with self.test_session() as sess:
      out = sess.run(output, {inputs: data})
    self.assertAllClose(out, np.tile(data, [2, 1, 3]))

  def testInvalidTileParameters(self):
    with self.assertRaisesRegexp(
        ValueError, "multiples must have the same length as dims: 2."):
      snt.TileByDim(dims=[0, 1], multiples=[2])
    with self.assertRaisesRegexp(
        ValueError, "dims must not have any repeated integers."):
      snt.TileByDim(dims=[1, 1], multiples=[2, 2])
    with self.assertRaisesRegexp(ValueError,
                                 "Rank of inputs must be at least 4."):
      snt.TileByDim(dims=[3], multiples=[2])(tf.zeros([2, 3]))


class MergeDimsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      (1, 2, [2, 3, 4, 5], [2, 12, 5]),
      (0, 4, [2, 3, 4, 5], [120]),
      (-2, 2, [2, 3, 4, 5], [2, 3, 20]),
      (1, 2, [None, 3, 4, 5], [None, 12, 5]),
      (1, 2, [2, None, 4, 5], [2, None, 5]),
      (0, 2, [None, None, 4], [None, 4]),
      (1, 2, [None, None, 4, None], [None, None, None]))
  def testShapesAndValues(self, start, size, shape, expected):
    inputs = tf.placeholder(tf.float32, shape)
    output = snt.MergeDims(start=start, size=size)(inputs)
    self.assertEqual(output.get_shape().as_list(), expected)
    full = [2 if d is None else d for d in shape]
    data = np.random.randn(*full)
    with self.test_session() as sess:
      out = sess.run(output, {inputs: data})
    pos = start % len(shape)
    new_shape = full[:pos] + [-1] + full[pos + size:]
    self.assertAllClose(out, data.reshape(new_shape))

  def testZeroSizedDims(self):
    inputs = tf.placeholder(tf.float32, [None, 0, 3, None])
    output = snt.MergeDims(start=1, size=2)(inputs)
    self.assertEqual(output.get_shape().as_list(), [None, 0, None])
    with self.test_session() as sess:
      out = sess.run(output, {inputs: np.zeros([2, 0, 3, 4])})
    self.assertEqual(out.shape, (2, 0, 4))

  def testNested(self):
    inputs = [tf.zeros([2, 3, 4]), (tf.zeros([5, 6, 7, 8]),)]
    outputs = snt.MergeDims(start=0, size=2)(inputs)
    self.assertIsInstance(outputs, list)
    self.assertIsInstance(outputs[1], tuple)
    self.assertEqual(outputs[0].get_shape().as_list(), [6, 4])
    self.assertEqual(outputs[1][0].get_shape().as_list(), [30, 7, 8])

  def testInvalidParameters(self):
    with self.assertRaisesRegexp(ValueError,
                                 "`size` should be strictly greater than 1."):
      snt.MergeDims(start=0, size=1)
    with self.assertRaisesRegexp(ValueError,
                                 "Rank of inputs must be at least 4."):
      snt.MergeDims(start=2, size=2)(tf.zeros([2, 3, 4]))


class SelectInputTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.inputs = [tf.placeholder(tf.float32, shape)
                   for shape in ([2, 3], [2, 3, 8], [4])]
    self.data = [np.random.randn(*t.get_shape().as_list())
                 for t in self.inputs]

  def _check(self, output, expected):
    tf.nest.assert_same_structure(output, expected)
    with self.test_session() as sess:
      out = sess.run(output, dict(zip(self.inputs, self.data)))
    for got, want in zip(tf.nest.flatten(out), tf.nest.flatten(expected)):
      self.assertAllClose(got, want)

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.SelectInput(idx=0, name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")

  def testBasicSelect(self):
    output = snt.SelectInput(idx=0)(*self.inputs[:2])
    self.assertEqual(output.op.type, "Identity")
    self._check(output, self.data[0])

  def testTupleSelect(self):
    output = snt.SelectInput(idx=(0, 2))(*self.inputs)
    self._check(output, (self.data[0], self.data[2]))

  def testNestedListSelect(self):
    output = snt.SelectInput(idx=[2, [0, 1, [2]]])(*self.inputs)
    self._check(output, (self.data[2],
                         (self.data[0], self.data[1], (self.data[2],))))

  def testInvalidIdxValue(self):
    err = (r"`idx` contains out of bound entries \(they should be in the "
           r"range \[0, 2\)\)")
    with self.assertRaisesRegexp(ValueError, err):
      snt.SelectInput(idx=2)(*self.inputs[:2])
    with self.assertRaisesRegexp(ValueError, err):
      snt.SelectInput(idx=[0, [3]])(*self.inputs[:2])
    with self.assertRaisesRegexp(ValueError, err):
      snt.SelectInput(idx=-1)(*self.inputs[:2])

  def testInvalidIdxType(self):
    err = r"`idx` should be a \(nested\) array/tuple, or an integer."
    with self.assertRaisesRegexp(TypeError, err):
      snt.SelectInput(idx="not_a_valid_idx")
    with self.assertRaisesRegexp(TypeError, err):
      snt.SelectInput(idx=[0, 1.5])


if __name__ == "__main__":
  tf.test.main()


_V1_SCRIPT = r'''
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
import sonnet as snt

assert not tf.executing_eagerly()
x = tf.placeholder(tf.float32, [None, 3, 4])
mlp = snt.nets.MLP([5, 4], activation=tf.tanh)
seq = snt.Sequential([snt.BatchApply(mlp), snt.BatchFlatten(),
                      snt.LayerNorm(), snt.AddBias()])
y = seq(x)
assert y.get_shape().as_list() == [None, 12], y.get_shape()
back = mlp.transpose()(tf.reshape(y, [-1, 4]))
assert back.get_shape().as_list() == [None, 4]
lin_vars = mlp.layers[0].w
assert "_ref" in lin_vars.dtype.name, lin_vars.dtype  # reference variables

emb = snt.Embed(vocab_size=10, embed_dim=4, densify_gradients=True)
ids = tf.constant([[1, 2], [3, 9]])
e = snt.scale_gradient(emb(ids), 0.5)
e = snt.clip_gradient(e, -0.1, 0.1)

mva = snt.MovingAverage(decay=0.5)
def body(i, last):
  return i + 1, mva(tf.cast(i, tf.float32) + 0.0 * last)
_, avg = tf.while_loop(lambda i, _: i < 3, body, [0, 0.0])

loss = tf.reduce_sum(y) + tf.reduce_sum(back) + tf.reduce_sum(e)
grads = tf.gradients(loss, [emb.embeddings] + list(mlp.get_variables()))
assert None not in grads
train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.train.MonitoredSession() as sess:
  data = np.random.RandomState(0).randn(2, 3, 4)
  g = sess.run(grads[0], {x: data})
  counts = np.zeros(10); np.add.at(counts, [1, 2, 3, 9], 1)
  np.testing.assert_allclose(g, np.tile(0.05 * counts[:, None], [1, 4]))
  sess.run(train, {x: data})
  np.testing.assert_allclose(sess.run(avg), 1.25)
print("V1 OK")
'''


class V1BehaviorTest(tf.test.TestCase):
  """The modules under `tf.disable_v2_behavior()` (reference variables, v1
  control flow), as TF1 research code runs them; in a subprocess because the
  switch is process-wide."""

  def testModulesUnderV1Behavior(self):
    import os  # pylint: disable=g-import-not-at-top
    import subprocess  # pylint: disable=g-import-not-at-top
    import sys  # pylint: disable=g-import-not-at-top
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path)
    result = subprocess.run([sys.executable, "-c", _V1_SCRIPT],
                            capture_output=True, text=True, env=env, cwd=root,
                            timeout=300, check=False)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("V1 OK", result.stdout)


class ArrayInputsTest(tf.test.TestCase):
  """NumPy arrays are accepted wherever a tensor is (converted first)."""

  def testArrays(self):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    outputs = [
        snt.BatchReshape([-1])(data),
        snt.BatchFlatten(preserve_dims=2)(data),
        snt.SliceByDim(dims=[1], begin=[1], size=[2])(data),
        snt.TileByDim(dims=[2], multiples=[2])(data),
        snt.MergeDims(start=0, size=2)(data),
        snt.MergeDims(start=0, size=2)([data, data[0]]),
    ]
    mlp = snt.nets.MLP([3])
    mlp_out = mlp(data[0])
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      values = sess.run(outputs + [mlp_out, mlp.layers[0].w, mlp.layers[0].b])
    self.assertAllEqual(values[0], data.reshape(2, 12))
    self.assertAllEqual(values[1], data)
    self.assertAllEqual(values[2], data[:, 1:3])
    self.assertAllEqual(values[3], np.tile(data, [1, 1, 2]))
    self.assertAllEqual(values[4], data.reshape(6, 4))
    self.assertAllEqual(values[5][0], data.reshape(6, 4))
    self.assertAllEqual(values[5][1], data[0].reshape(12))
    self.assertAllClose(values[6], data[0].dot(values[7]) + values[8],
                        rtol=1e-5)
    self.assertEqual(mlp.input_shape, (3, 4))
