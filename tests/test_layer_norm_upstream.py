"""Upstream-style tests for layer_norm.py (tf.test.TestCase, graph mode)."""

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


def _reference(x, axis, gamma, beta, eps=1e-5):
  mean = x.mean(axis=tuple(axis), keepdims=True)
  var = x.var(axis=tuple(axis), keepdims=True)
  return (x - mean) / np.sqrt(var + eps) * gamma + beta


class LayerNormTest(tf.test.TestCase, parameterized.TestCase):

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.LayerNorm(name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(snt.LayerNorm().module_name, "layer_norm")

  def testConstruct(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 64])
    layer_norm1 = snt.LayerNorm()
    layer_norm1(inputs)
    err = "Layer normalization expects inputs of at least rank 2."
    with self.assertRaisesRegexp(snt.NotSupportedError, err):
      snt.LayerNorm()(tf.placeholder(tf.float32, shape=[None]))
    # Ranks above 2 are supported.
    output = snt.LayerNorm()(tf.placeholder(tf.float32, [None, 4, 5]))
    self.assertEqual(output.get_shape().as_list(), [None, 4, 5])

  def testVariableNamesAndShapes(self):
    mod = snt.LayerNorm()
    mod(tf.placeholder(tf.float32, [None, 3, 8]))
    self.assertEqual(mod.gamma.name, "layer_norm/gamma:0")
    self.assertEqual(mod.beta.name, "layer_norm/beta:0")
    self.assertEqual(mod.gamma.get_shape().as_list(), [8])
    self.assertEqual(mod.beta.get_shape().as_list(), [8])
    self.assertEqual([v.name for v in mod.get_variables()],
                     ["layer_norm/gamma:0", "layer_norm/beta:0"])

  def testInvalidInitializerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.LayerNorm(initializers={"not_gamma": tf.constant_initializer(0.0)})
    err = "Initializer for 'gamma' is not a callable function"
    with self.assertRaisesRegexp(TypeError, err):
      snt.LayerNorm(initializers={"gamma": tf.zeros([1, 2, 3])})

  def testInvalidPartitionerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.LayerNorm(partitioners={"not_gamma": tf.fixed_size_partitioner(2)})
    err = "Partitioner for 'gamma' is not a callable function"
    with self.assertRaisesRegexp(TypeError, err):
      snt.LayerNorm(partitioners={"gamma": tf.zeros([1, 2, 3])})

  def testInvalidRegularizationParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.LayerNorm(regularizers={"not_gamma": _l1(0.5)})
    err = "Regularizer for 'gamma' is not a callable function"
    with self.assertRaisesRegexp(TypeError, err):
      snt.LayerNorm(regularizers={"gamma": tf.zeros([1, 2, 3])})

  def testInitializers(self):
    initializers = {"gamma": tf.constant_initializer(2.0),
                    "beta": tf.constant_initializer(3.0)}
    inputs = tf.placeholder(tf.float32, shape=[None, 10])
    layer_norm = snt.LayerNorm(initializers=initializers)
    self.assertEqual(layer_norm.initializers, initializers)
    layer_norm(inputs)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      ones_v = np.ones([10])
      self.assertAllClose(sess.run(layer_norm.beta), ones_v * 3.0)
      self.assertAllClose(sess.run(layer_norm.gamma), ones_v * 2.0)

  def testRegularizersInRegularizationLosses(self):
    regularizers = {"gamma": _l1(0.5), "beta": _l2(0.5)}
    layer_norm = snt.LayerNorm(regularizers=regularizers)
    self.assertEqual(layer_norm.regularizers, regularizers)
    layer_norm(tf.placeholder(tf.float32, shape=[None, 10]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 2)
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")
    self.assertRegexpMatches(losses[1].name, ".*l2_regularizer.*")

  def testPartitioners(self):
    layer_norm = snt.LayerNorm(
        partitioners={"gamma": tf.fixed_size_partitioner(2),
                      "beta": tf.fixed_size_partitioner(2)})
    inputs = tf.placeholder(tf.float32, [None, 10])
    output = layer_norm(inputs)
    self.assertEqual(type(layer_norm.gamma), tf_variables.PartitionedVariable)
    self.assertEqual(type(layer_norm.beta), tf_variables.PartitionedVariable)
    data = np.random.randn(3, 10)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out = sess.run(output, {inputs: data})
    self.assertAllClose(out, _reference(data, [1], 1.0, 0.0), atol=1e-4)

  @parameterized.parameters(tf.float16, tf.bfloat16, tf.float32, tf.float64)
  def testDataType(self, dtype):
    inputs = tf.placeholder(dtype, shape=[None, 64])
    layer_norm = snt.LayerNorm()
    output = layer_norm(inputs)
    self.assertEqual(dtype, output.dtype)
    var_dtype = tf.float64 if dtype == tf.float64 else tf.float32
    self.assertEqual(layer_norm.gamma.dtype.base_dtype, var_dtype)
    self.assertEqual(layer_norm.beta.dtype.base_dtype, var_dtype)
    data = np.random.randn(3, 64)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out = sess.run(output, {inputs: data})
    tolerance = 5e-2 if dtype in (tf.float16, tf.bfloat16) else 1e-4
    self.assertAllClose(out.astype(np.float64), _reference(data, [1], 1, 0),
                        atol=tolerance, rtol=tolerance)

  def testNormalization(self):
    inputs = tf.constant([[1., 2., 3.], [6., 4., 7.]], dtype=tf.float32)
    outputs = snt.LayerNorm()(inputs)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      outputs_ = sess.run(outputs)
    self.assertAllClose(outputs_.mean(axis=1), [0., 0.], atol=1e-04)
    self.assertAllClose(outputs_.var(axis=1), [1., 1.], atol=1e-04)

  def testSharing(self):
    inputs1 = tf.placeholder(tf.float32, shape=[None, 64])
    inputs2 = tf.placeholder(tf.float32, shape=[None, 64])
    ln = snt.LayerNorm()
    ln(inputs1)
    ln(inputs2)
    self.assertLen(tf.trainable_variables(), 2)

  @parameterized.parameters(("a",), (["a"],), ([1, "a"],), (1.5,),
                            ([1, 2.0],), (True,), ([True],))
  def testInvalidAxis(self, axis):
    with self.assertRaisesRegexp(ValueError,
                                 "axis should be an int or an iterable of "
                                 "ints"):
      snt.LayerNorm(axis=axis)

  @parameterized.parameters(
      (None, [1, 2, 3]), (1, [1]), (-1, [3]), ([1, 2], [1, 2]),
      ((2, 3), [2, 3]), (range(1, 4), [1, 2, 3]))
  def testAxis(self, axis, np_axis):
    inputs = tf.placeholder(tf.float32, [None, 3, 4, 5])
    ln = snt.LayerNorm(axis=axis,
                       initializers={"gamma": tf.random_normal_initializer(),
                                     "beta": tf.random_normal_initializer()})
    output = ln(inputs)
    data = np.random.randn(2, 3, 4, 5)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, gamma, beta = sess.run([output, ln.gamma, ln.beta], {inputs: data})
    self.assertEqual(gamma.shape, (5,))
    self.assertAllClose(out, _reference(data, np_axis, gamma, beta),
                        atol=1e-4)

  def testInstanceNorm(self):
    inputs = tf.random_normal([5, 4, 3, 2], seed=1) * 3.0 + 2.0
    outputs = snt.LayerNorm(axis=[1, 2])(inputs)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out = sess.run(outputs)
    self.assertAllClose(out.mean(axis=(1, 2)), np.zeros([5, 2]), atol=1e-4)
    self.assertAllClose(out.var(axis=(1, 2)), np.ones([5, 2]), atol=1e-3)

  @parameterized.parameters(*itertools.product([True, False], [True, False]))
  def testOffsetScaleFlags(self, offset, scale):
    ln = snt.LayerNorm(offset=offset, scale=scale)
    with self.assertRaises(snt.NotConnectedError):
      _ = ln.gamma
    with self.assertRaises(snt.NotConnectedError):
      _ = ln.beta
    output = ln(tf.constant(np.random.randn(3, 6), dtype=tf.float32))
    self.assertEqual(ln.gamma is None, not scale)
    self.assertEqual(ln.beta is None, not offset)
    self.assertLen(ln.get_variables(), int(offset) + int(scale))
    self.assertEqual(set(ln.initializers),
                     {k for k, used in (("gamma", scale), ("beta", offset))
                      if used})
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out = sess.run(output)
    self.assertAllClose(out.mean(axis=1), np.zeros(3), atol=1e-4)

  def testEps(self):
    inputs = tf.constant([[0.0, 2.0]])
    output = snt.LayerNorm(eps=1.0)(inputs)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out = sess.run(output)
    self.assertAllClose(out, [[-1 / np.sqrt(2.0), 1 / np.sqrt(2.0)]])

  def testGradient(self):
    inputs = tf.constant(np.random.randn(2, 5))
    output = snt.LayerNorm(
        initializers={"gamma": tf.random_normal_initializer(),
                      "beta": tf.random_normal_initializer()})(inputs)
    with self.test_session():
      tf.global_variables_initializer().run()
      err = tf.test.compute_gradient_error(inputs, [2, 5], output, [2, 5])
    self.assertLess(err, 1e-5)


if __name__ == "__main__":
  tf.test.main()
