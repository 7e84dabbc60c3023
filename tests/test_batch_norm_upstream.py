"""snt.BatchNorm exercised the way Sonnet 1's batch_norm_test.py did.

tf.test.TestCase style: placeholders, `self.test_session()`, flags given as
Python bools, constant tensors and placeholders, update ops run from the
`UPDATE_OPS` collection, regularizers/partitioners/initializers dicts.
"""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables


def _l1(scale):
  return lambda x: tf.multiply(scale, tf.reduce_sum(tf.abs(x)),
                               name="l1_regularizer")


def _l2(scale):
  return lambda x: tf.multiply(scale, tf.nn.l2_loss(x), name="l2_regularizer")


class BatchNormUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def _get_inputs(self, dtype=tf.float32):
    v = np.array([1, 2, 3, 4, 5], dtype=dtype.as_numpy_dtype)
    input_v = np.array([v, v, v, v, v, v, v])
    inputs = tf.constant(input_v)
    return v, input_v, inputs

  def testConstruct(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 6, 6, 3])
    batch_norm1 = snt.BatchNorm(offset=False, scale=False)
    batch_norm1(inputs, is_training=True)
    with self.assertRaisesRegexp(
        snt.Error, "Batch normalization doesn't have an offset, so no beta"):
      _ = batch_norm1.beta
    with self.assertRaisesRegexp(
        snt.Error, "Batch normalization doesn't have a scale, so no gamma"):
      _ = batch_norm1.gamma

    batch_norm2 = snt.BatchNorm(offset=True, scale=False)
    batch_norm2(inputs, is_training=True)
    self.assertEqual(batch_norm2.beta.get_shape().as_list(), [1, 1, 1, 3])

    batch_norm3 = snt.BatchNorm(offset=False, scale=True)
    batch_norm3(inputs, is_training=True)
    self.assertEqual(batch_norm3.gamma.get_shape().as_list(), [1, 1, 1, 3])

    batch_norm4 = snt.BatchNorm(offset=True, scale=True)
    batch_norm4(inputs, is_training=True)
    _ = batch_norm4.beta, batch_norm4.gamma
    batch_norm4(inputs, is_training=True, test_local_stats=True)
    batch_norm4(inputs, is_training=tf.constant(True),
                test_local_stats=tf.constant(True))
    is_training_ph = tf.placeholder(tf.bool)
    test_local_stats_ph = tf.placeholder(tf.bool)
    batch_norm4(inputs, is_training=is_training_ph,
                test_local_stats=test_local_stats_ph)
    # One set of variables whatever the number of connections.
    self.assertLen(batch_norm4.get_variables(), 2)
    self.assertLen(
        batch_norm4.get_all_variables(tf.GraphKeys.GLOBAL_VARIABLES), 4)

  def testNotConnected(self):
    bn = snt.BatchNorm()
    for prop in ("moving_mean", "moving_variance", "beta", "gamma"):
      with self.assertRaises(snt.NotConnectedError):
        getattr(bn, prop)

  @parameterized.parameters(False, True)
  def testShapeAgreement(self, fused):
    inputs = tf.placeholder(tf.float32, shape=[None, 4, 4, 3])
    out = snt.BatchNorm(fused=fused)(inputs, is_training=True)
    self.assertEqual(inputs.get_shape().as_list(), out.get_shape().as_list())

  def testVariableNamesAndCollections(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 4, 4, 3])
    bn = snt.BatchNorm(scale=True, name="bn")
    bn(inputs, is_training=True)
    names = sorted(v.op.name for v in tf.global_variables())
    self.assertEqual(names, ["bn/beta", "bn/gamma", "bn/moving_mean",
                             "bn/moving_variance"])
    self.assertEqual(
        sorted(v.op.name for v in tf.trainable_variables()),
        ["bn/beta", "bn/gamma"])
    self.assertEqual(
        sorted(v.op.name for v in
               tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES)),
        ["bn/moving_mean", "bn/moving_variance"])
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)

  @parameterized.parameters(
      ((0,), [1, 4, 4, 3]), ((1, 2), [5, 1, 1, 3]), ((0, 3), [1, 4, 4, 1]),
      ((0, 1, 2, 3), [1, 1, 1, 1]))
  def testAxis(self, axis, mean_shape):
    inputs = tf.placeholder(tf.float32, shape=[5, 4, 4, 3])
    bn = snt.BatchNorm(axis=axis)
    bn(inputs, is_training=True)
    self.assertEqual(bn.moving_mean.get_shape().as_list(), mean_shape)

  def testInvalidAxis(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 4, 4, 3])
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Too many indices specified in axis"):
      snt.BatchNorm(axis=(0, 1, 2, 3, 4))(inputs, is_training=True)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "too large for input shape"):
      snt.BatchNorm(axis=(4,))(inputs, is_training=True)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "must be non-negative"):
      snt.BatchNorm(axis=(-1, 0))(inputs, is_training=True)

  def testFusedErrors(self):
    with self.assertRaisesRegexp(snt.NotSupportedError, "bfloat16"):
      snt.BatchNorm(fused=True)(
          tf.placeholder(tf.bfloat16, [2, 3, 3, 2]), is_training=True)
    with self.assertRaises(NotImplementedError):
      snt.BatchNorm(fused=True)(tf.placeholder(tf.float32, [2, 3]),
                                is_training=True)
    with self.assertRaisesRegexp(ValueError, "Invalid axis option"):
      snt.BatchNorm(fused=True, axis=(0, 1))(
          tf.placeholder(tf.float32, [2, 3, 3, 2]), is_training=True)

  def testCheckStatsPython(self):
    v, input_v, inputs = self._get_inputs()
    bn = snt.BatchNorm(offset=False, scale=False, decay_rate=0.5)
    out1 = bn(inputs, is_training=True)
    mm, mv = bn.moving_mean, bn.moving_variance
    update_ops = tuple(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    self.assertLen(update_ops, 2)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      out_v = sess.run(out1)
      # Every row is v: batch mean v, batch variance 0.
      self.assertAllClose(np.zeros_like(input_v), out_v)
      self.assertAllClose(np.zeros([1, 5]), sess.run(mm))
      self.assertAllClose(np.ones([1, 5]), sess.run(mv))
      sess.run(update_ops)
      self.assertAllClose(0.5 * v[None], sess.run(mm))
      self.assertAllClose(0.5 * np.ones([1, 5]), sess.run(mv))

  def testCheckStatsInGraph(self):
    v, input_v, inputs = self._get_inputs()
    bn = snt.BatchNorm(offset=False, scale=False, decay_rate=0.0,
                       update_ops_collection=None)
    is_training = tf.placeholder(tf.bool)
    test_local_stats = tf.placeholder(tf.bool)
    out = bn(inputs, is_training=is_training,
             test_local_stats=test_local_stats)
    self.assertEmpty(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      # Moving statistics, no update.
      out_v = sess.run(out, {is_training: False, test_local_stats: False})
      self.assertAllClose(input_v / np.sqrt(1.0 + bn._eps), out_v)
      self.assertAllClose(np.zeros([1, 5]), sess.run(bn.moving_mean))
      # Local statistics, no update.
      out_v = sess.run(out, {is_training: False, test_local_stats: True})
      self.assertAllClose(np.zeros_like(input_v), out_v)
      self.assertAllClose(np.zeros([1, 5]), sess.run(bn.moving_mean))
      # Training: update (decay 0 copies the batch statistics).
      sess.run(out, {is_training: True, test_local_stats: False})
      self.assertAllClose(v[None], sess.run(bn.moving_mean))
      self.assertAllClose(np.zeros([1, 5]), sess.run(bn.moving_variance))

  def testCheckStatsDoubleConnection(self):
    """Two connections share the moving averages; updates run in order."""
    v, _, inputs = self._get_inputs()
    bn = snt.BatchNorm(offset=False, scale=False, decay_rate=0.9)
    with tf.name_scope("net1"):
      bn(inputs, is_training=True)
    with tf.name_scope("net2"):
      bn(inputs, is_training=True)
    update_ops_1 = tuple(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "net1"))
    update_ops_2 = tuple(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "net2"))
    self.assertLen(update_ops_1, 2)
    self.assertLen(update_ops_2, 2)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(update_ops_1)
      sess.run(update_ops_2)
      mm, mv = sess.run([bn.moving_mean, bn.moving_variance])
    self.assertAllClose((1.0 - 0.9) * (1.0 + 0.9) * v[None], mm)
    self.assertAllClose(0.9 * 0.9 * np.ones([1, 5]), mv)

  def testUpdateImproveStatistics(self):
    _, input_v, inputs = self._get_inputs()
    bn = snt.BatchNorm(offset=False, scale=False, decay_rate=0.1)
    out1 = bn(inputs, is_training=False, test_local_stats=False)
    # Builds the update ops.
    bn(inputs, is_training=True)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      out_v = sess.run(out1)
      self.assertBetween(np.max(np.abs(out_v)), 4, 5)
      sess.run(tuple(tf.get_collection(tf.GraphKeys.UPDATE_OPS)))
      out_v = sess.run(out1)
      # Mean moved 90% of the way to v; variance 10% of its start.
      self.assertAllClose(
          (input_v - 0.9 * input_v) / np.sqrt(0.1 + bn._eps), out_v,
          rtol=1e-4, atol=1e-4)

  @parameterized.parameters(
      (tf.float64, False), (tf.float32, False), (tf.float32, True),
      (tf.float16, False), (tf.float16, True))
  def testDtypes(self, dtype, fused):
    rng = np.random.RandomState(0)
    x_np = rng.randn(4, 3, 3, 2).astype(dtype.as_numpy_dtype)
    inputs = tf.constant(x_np)
    bn = snt.BatchNorm(offset=True, scale=True, fused=fused,
                       update_ops_collection=None)
    out = bn(inputs, is_training=True)
    self.assertEqual(out.dtype, dtype)
    stat_dtype = tf.float64 if dtype == tf.float64 else tf.float32
    self.assertEqual(bn.moving_mean.dtype.base_dtype, stat_dtype)
    self.assertEqual(bn.moving_variance.dtype.base_dtype, stat_dtype)
    param_dtype = tf.float32 if (fused and dtype == tf.float16) else dtype
    self.assertEqual(bn.gamma.dtype.base_dtype, param_dtype)
    test_out = bn(inputs, is_training=False, test_local_stats=False)
    x64 = x_np.astype(np.float64)
    mean = x64.mean(axis=(0, 1, 2))
    var = x64.var(axis=(0, 1, 2))
    expected = (x64 - mean) / np.sqrt(var + bn._eps)
    tol = 1e-2 if dtype == tf.float16 else 1e-4
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertAllClose(expected, sess.run(out).astype(np.float64),
                          rtol=tol, atol=tol)
      moving_mean = sess.run(bn.moving_mean)
      self.assertAllClose(0.001 * mean.reshape([1, 1, 1, 2]), moving_mean,
                          rtol=tol, atol=1e-4)
      self.assertEqual(sess.run(test_out).dtype, dtype.as_numpy_dtype)

  def testUpdatesInsideCond(self):
    _, input_v, inputs = self._get_inputs()
    bn = snt.BatchNorm(offset=False, scale=False, decay_rate=0.0,
                       update_ops_collection=None)
    condition = tf.placeholder(tf.bool)
    cond = tf.cond(condition, lambda: bn(inputs, is_training=True),
                   lambda: inputs)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertAllClose(input_v, sess.run(cond, {condition: False}))
      self.assertAllClose(np.zeros_like(input_v),
                          sess.run(cond, {condition: True}))
      self.assertAllClose(input_v[:1], sess.run(bn.moving_mean))

  def testVariableBatchSize(self):
    inputs_shape = [10, 10]
    inputs = tf.placeholder(tf.float32, shape=[None] + inputs_shape)
    bn = snt.BatchNorm(offset=False, scale=False)
    out = bn(inputs, is_training=False, test_local_stats=False)
    update_ops = tuple(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    self.assertEmpty(update_ops)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      for batch_size in [1, 3, 10]:
        input_data = np.random.rand(batch_size, *inputs_shape)
        out_v = sess.run(out, feed_dict={inputs: input_data})
        self.assertAllClose(input_data / np.sqrt(1.0 + bn._eps), out_v)
        sess.run(update_ops, feed_dict={inputs: input_data})

  def testInvalidInitializerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.BatchNorm(initializers={"not_gamma": tf.ones_initializer()})
    with self.assertRaisesRegexp(
        TypeError, "Initializer for 'gamma' is not a callable function"):
      snt.BatchNorm(initializers={"gamma": tf.zeros([1, 2, 3])})

  def testInvalidPartitionerAndRegularizerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.BatchNorm(partitioners={
          "moving_mean": tf.fixed_size_partitioner(num_shards=2)})
    with self.assertRaisesRegexp(
        TypeError, "Partitioner for 'gamma' is not a callable function"):
      snt.BatchNorm(partitioners={"gamma": tf.zeros([1, 2, 3])})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.BatchNorm(regularizers={"not_gamma": _l1(0.5)})
    with self.assertRaisesRegexp(
        TypeError, "Regularizer for 'gamma' is not a callable function"):
      snt.BatchNorm(regularizers={"gamma": tf.zeros([1, 2, 3])})

  def testInitializers(self):
    initializers = {"gamma": tf.constant_initializer(2.0),
                    "beta": tf.constant_initializer(3.0),
                    "moving_mean": tf.constant_initializer(4.0)}
    inputs = tf.placeholder(tf.float32, shape=[None, 10])
    bn = snt.BatchNorm(scale=True, initializers=initializers)
    bn(inputs, is_training=True)
    self.assertEqual(set(bn.initializers), snt.BatchNorm.POSSIBLE_INITIALIZER_KEYS)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      gamma_v, beta_v, mm_v, mv_v = sess.run(
          [bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance])
      ones_v = np.ones([1, 10])
      self.assertAllClose(gamma_v, ones_v * 2.0)
      self.assertAllClose(beta_v, ones_v * 3.0)
      self.assertAllClose(mm_v, ones_v * 4.0)
      self.assertAllClose(mv_v, ones_v)

  def testRegularizersInRegularizationLosses(self):
    regularizers = {"gamma": _l1(0.5), "beta": _l2(0.5)}
    inputs = tf.placeholder(tf.float32, shape=[None, 10, 10])
    bn = snt.BatchNorm(scale=True, regularizers=regularizers)
    bn(inputs, is_training=True)
    graph_regularizers = tf.get_collection(
        tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(graph_regularizers, 2)
    names = sorted(r.name for r in graph_regularizers)
    self.assertRegexpMatches(names[0], "batch_norm/beta/.*l2_regularizer.*")
    self.assertRegexpMatches(names[1], "batch_norm/gamma/.*l1_regularizer.*")

  def testPartitioners(self):
    partitioners = {"gamma": tf.fixed_size_partitioner(num_shards=2),
                    "beta": tf.fixed_size_partitioner(num_shards=2)}
    inputs = tf.placeholder(tf.float32, shape=[None, 10])
    bn = snt.BatchNorm(scale=True, partitioners=partitioners, axis=(0,))
    out = bn(inputs, is_training=True)
    self.assertIsInstance(bn.gamma, variables.PartitionedVariable)
    self.assertIsInstance(bn.beta, variables.PartitionedVariable)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(out, {inputs: np.random.rand(2, 10)})

  def testGradients(self):
    x_np = np.random.RandomState(1).randn(4, 3).astype(np.float64)
    inputs = tf.constant(x_np)
    bn = snt.BatchNorm(scale=True, update_ops_collection=None)
    out = bn(inputs, is_training=True)
    with self.test_session():
      tf.global_variables_initializer().run()
      err = tf.test.compute_gradient_error(inputs, [4, 3], out, [4, 3],
                                           x_init_value=x_np)
    self.assertLess(err, 1e-6)

  def testTrainingLoop(self):
    """A train op run with the update ops as control dependencies."""
    inputs = tf.placeholder(tf.float32, [None, 3])
    bn = snt.BatchNorm(scale=True, decay_rate=0.5)
    lin = snt.Linear(1)
    loss = tf.reduce_mean(tf.square(lin(bn(inputs, is_training=True)) - 1.))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    data = np.random.RandomState(2).randn(8, 3) * 2. + 3.
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(20):
        sess.run(train_op, {inputs: data})
      self.assertAllClose(data.mean(axis=0, keepdims=True),
                          sess.run(bn.moving_mean), rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
  tf.test.main()
