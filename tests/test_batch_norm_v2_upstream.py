"""snt.BatchNormV2 exercised the way Sonnet 1's batch_norm_v2_test.py did."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

_DIM_SIZES = {"N": None, "D": 3, "H": 4, "W": 5, "C": 3}


class BatchNormV2UpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def testConstruct(self):
    inputs = tf.placeholder(tf.float32, shape=[None, 6, 6, 3])
    batch_norm1 = snt.BatchNormV2(offset=False, scale=False, fused=False)
    batch_norm1(inputs, is_training=True)
    with self.assertRaisesRegexp(
        snt.Error, "Batch normalization doesn't have an offset, so no beta"):
      _ = batch_norm1.beta
    with self.assertRaisesRegexp(
        snt.Error, "Batch normalization doesn't have a scale, so no gamma"):
      _ = batch_norm1.gamma

    batch_norm2 = snt.BatchNormV2(offset=True, scale=False)
    batch_norm2(inputs, is_training=True)
    self.assertEqual(batch_norm2.beta.get_shape().as_list(), [1, 1, 1, 3])
    # Fused: gamma exists (not trainable) even without scale.
    self.assertEqual(batch_norm2.gamma.get_shape().as_list(), [1, 1, 1, 3])
    self.assertEqual(
        sorted(v.op.name for v in batch_norm2.get_variables()),
        ["batch_norm_1/beta"])

    batch_norm3 = snt.BatchNormV2(offset=True, scale=True)
    batch_norm3(inputs, is_training=True, test_local_stats=True)
    batch_norm3(inputs, is_training=tf.constant(True),
                test_local_stats=tf.constant(True))
    batch_norm3(inputs, is_training=tf.placeholder(tf.bool),
                test_local_stats=tf.placeholder(tf.bool))
    names = sorted(v.op.name for v in
                   batch_norm3.get_all_variables(tf.GraphKeys.GLOBAL_VARIABLES))
    self.assertEqual(names, ["batch_norm_2/beta", "batch_norm_2/gamma",
                             "batch_norm_2/moving_mean",
                             "batch_norm_2/moving_variance"])
    for v in batch_norm3.get_all_variables(tf.GraphKeys.GLOBAL_VARIABLES):
      self.assertEqual(v.get_shape().as_list(), [3])
    # Update ops are control dependencies by default.
    self.assertEmpty(tf.get_collection(tf.GraphKeys.UPDATE_OPS))

  @parameterized.parameters("NC", "NWC", "NHWC", "NDHWC", "NCW", "NCHW",
                            "NCDHW")
  def testDataFormats(self, data_format):
    shape = [_DIM_SIZES[d] for d in data_format]
    inputs = tf.placeholder_with_default(
        tf.zeros([s or 2 for s in shape]), shape)
    bn_data_formats = [data_format]
    if data_format.endswith("C"):
      bn_data_formats.append(None)
    for bn_data_format in bn_data_formats:
      for fused in (True, False):
        bn = snt.BatchNormV2(data_format=bn_data_format, offset=False,
                             fused=fused)
        out = bn(inputs, is_training=True)
        self.assertEqual(out.get_shape().as_list(), shape)
        correct_mean_shape = [_DIM_SIZES["C"] if d == "C" else 1
                              for d in data_format]
        self.assertEqual(bn.moving_mean.get_shape().as_list(),
                         correct_mean_shape)

  def testDataFormatErrors(self):
    with self.assertRaisesRegexp(ValueError, "Invalid data_format"):
      snt.BatchNormV2(data_format="NHWCD")
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Incorrect data format"):
      snt.BatchNormV2(data_format="NHWC")(
          tf.placeholder(tf.float32, [None, 4, 3]), is_training=True)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "too many or too few dimensions"):
      snt.BatchNormV2()(tf.placeholder(tf.float32, [None]),
                        is_training=True)
    with self.assertRaisesRegexp(snt.NotSupportedError, "bfloat16"):
      snt.BatchNormV2(fused=True)(tf.placeholder(tf.bfloat16, [2, 3]),
                                  is_training=True)

  def testDataFormatInferredOnceAndKept(self):
    bn = snt.BatchNormV2()
    bn(tf.placeholder(tf.float32, [None, 4, 4, 3]), is_training=True)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "Incorrect data format NHWC"):
      bn(tf.placeholder(tf.float32, [None, 3]), is_training=True)

  @parameterized.parameters(
      ("NHWC", True), ("NHWC", False), ("NCHW", False), ("NCW", True),
      ("NWC", True), ("NC", True), ("NCDHW", True), ("NCDHW", False))
  def testValuesAgainstNumPy(self, data_format, fused):
    rng = np.random.RandomState(0)
    shape = [_DIM_SIZES[d] or 4 for d in data_format]
    channel_index = data_format.index("C")
    axes = tuple(i for i in range(len(shape)) if i != channel_index)
    x_np = (rng.randn(*shape) * 2 + 1).astype(np.float32)
    inputs = tf.constant(x_np)
    bn = snt.BatchNormV2(data_format=data_format, scale=True, fused=fused,
                         decay_rate=0.5)
    out_train = bn(inputs, is_training=True)
    out_test = bn(inputs, is_training=False)
    out_local = bn(inputs, is_training=False, test_local_stats=True)
    mean = x_np.mean(axis=axes, keepdims=True)
    var = x_np.var(axis=axes, keepdims=True)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      # Before any update the test path uses mean 0, variance 1.
      self.assertAllClose(x_np / np.sqrt(1 + bn._eps), sess.run(out_test),
                          rtol=1e-5, atol=1e-5)
      self.assertAllClose((x_np - mean) / np.sqrt(var + bn._eps),
                          sess.run(out_local), rtol=1e-4, atol=1e-4)
      self.assertAllClose((x_np - mean) / np.sqrt(var + bn._eps),
                          sess.run(out_train), rtol=1e-4, atol=1e-4)
      # One update with decay 0.5 (fused training variance is Bessel
      # corrected, as TensorFlow's op returns it).
      n = x_np.size // shape[channel_index]
      update_var = var * n / (n - 1) if fused else var
      self.assertAllClose(0.5 * mean, sess.run(bn.moving_mean),
                          rtol=1e-4, atol=1e-4)
      self.assertAllClose(0.5 + 0.5 * update_var,
                          sess.run(bn.moving_variance), rtol=1e-4, atol=1e-4)

  def testUpdateOpsCollection(self):
    inputs = tf.placeholder(tf.float32, [None, 3])
    bn = snt.BatchNormV2(update_ops_collection=tf.GraphKeys.UPDATE_OPS)
    bn(inputs, is_training=True)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)
    bn(inputs, is_training=False)
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 2)
    bn(inputs, is_training=tf.placeholder(tf.bool))
    self.assertLen(tf.get_collection(tf.GraphKeys.UPDATE_OPS), 4)

  def testFloat16(self):
    x_np = np.random.RandomState(0).randn(4, 2, 2, 3).astype(np.float16)
    bn = snt.BatchNormV2(scale=True)
    out = bn(tf.constant(x_np), is_training=True)
    self.assertEqual(out.dtype, tf.float16)
    gamma_var = [v for v in bn.get_variables() if "gamma" in v.name][0]
    self.assertEqual(gamma_var.dtype.base_dtype, tf.float32)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      x64 = x_np.astype(np.float64)
      expected = ((x64 - x64.mean(axis=(0, 1, 2)))
                  / np.sqrt(x64.var(axis=(0, 1, 2)) + bn._eps))
      self.assertAllClose(expected, sess.run(out).astype(np.float64),
                          rtol=1e-2, atol=1e-2)

  def testInitializersAndRegularizers(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.BatchNormV2(initializers={"not_gamma": tf.ones_initializer()})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.BatchNormV2(regularizers={"moving_mean": tf.nn.l2_loss})
    bn = snt.BatchNormV2(
        scale=True,
        initializers={"gamma": tf.constant_initializer(2.0),
                      "beta": tf.constant_initializer(3.0)},
        regularizers={"gamma": tf.nn.l2_loss, "beta": tf.nn.l2_loss})
    bn(tf.placeholder(tf.float32, [None, 4]), is_training=True)
    self.assertLen(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES), 2)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      gamma_v, beta_v = sess.run([bn.gamma, bn.beta])
      self.assertAllClose(2.0 * np.ones([1, 4]), gamma_v)
      self.assertAllClose(3.0 * np.ones([1, 4]), beta_v)


if __name__ == "__main__":
  tf.test.main()
