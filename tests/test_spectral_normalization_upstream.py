"""Spectral normalization exercised the way Sonnet 1's tests and GAN code did."""

import numpy as np
import sonnet as snt
from sonnet.python.modules import spectral_normalization
import tensorflow.compat.v1 as tf


class SpectralNormUpstreamTest(tf.test.TestCase):

  def testRawSpectralNorm(self):
    with tf.Graph().as_default():
      ones_weight = 4 * tf.eye(8, 8)
      sigma = spectral_normalization.spectral_norm(ones_weight)["sigma"]
      with self.test_session() as sess:
        sess.run(tf.global_variables_initializer())
        # eps=1e-4 under the square root: 4 * 4 / sqrt(16 + 1e-4).
        self.assertAllClose(4, sess.run(sigma), atol=1e-4)

  def testRawSpectralNormBfloat16(self):
    with tf.Graph().as_default():
      ones_weight = 4 * tf.eye(8, 8, dtype=tf.bfloat16)
      out = spectral_normalization.spectral_norm(ones_weight)
      self.assertEqual(out["sigma"].dtype, tf.bfloat16)
      self.assertEqual(out["w_bar"].dtype, tf.bfloat16)
      with self.test_session() as sess:
        sess.run(tf.global_variables_initializer())
        self.assertAllClose(4, sess.run(tf.cast(out["sigma"], tf.float32)))

  def testSpectralNormCreatesVariables(self):
    with tf.Graph().as_default():
      ones_weight = 4 * tf.eye(8, 8)
      self.assertEmpty(tf.global_variables())
      spectral_normalization.spectral_norm(ones_weight)
      post = tf.global_variables()
      self.assertLen(post, 1)
      self.assertEqual(post[0].name.split("/")[-1], "u0:0")
      self.assertEmpty(tf.trainable_variables())

  def testWrapperCreatesVariables(self):
    with tf.Graph().as_default():
      sn_linear = snt.wrap_with_spectral_norm(snt.Linear, {"eps": 1e-4})
      input_ = tf.zeros((8, 5), dtype=tf.float32)
      self.assertEmpty(tf.global_variables())
      sn_linear(16)(input_)
      names = sorted(v.op.name for v in tf.global_variables())
      self.assertEqual(names, ["sn_wrapper/linear/b", "sn_wrapper/linear/u0",
                               "sn_wrapper/linear/w"])

  def testWrapperNameAndPowerIterationCollection(self):
    with tf.Graph().as_default():
      sn_linear = snt.wrap_with_spectral_norm(
          snt.Linear, {"num_iters": 2}, pow_iter_collection="pow_iter")
      linear = sn_linear(output_size=3, name="lin")
      self.assertEqual(linear.module_name, "lin_wrapper")
      self.assertEqual(linear.pow_iter_collection, "pow_iter")
      inputs = tf.ones([2, 4])
      linear(inputs, enable_power_iteration=False)
      self.assertLen(tf.get_collection("pow_iter"), 1)
      linear(inputs, enable_power_iteration=True)
      self.assertLen(tf.get_collection("pow_iter"), 1)
      linear(inputs)
      self.assertLen(tf.get_collection("pow_iter"), 1)
      # A single set of variables.
      self.assertLen(tf.global_variables(), 3)

  def testUpdateConverges(self):
    """Repeated immediate updates converge to the top singular value."""
    with tf.Graph().as_default():
      rng = np.random.RandomState(0)
      w_np = rng.randn(6, 4).astype(np.float32)
      weight = tf.constant(w_np)
      out = spectral_normalization.spectral_norm(weight, num_iters=1)
      top = np.linalg.svd(w_np, compute_uv=False)[0]
      with self.test_session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(50):
          sigma_v, w_bar_v = sess.run([out["sigma"], out["w_bar"]])
        self.assertAllClose(top, sigma_v, rtol=1e-4)
        self.assertAllClose(1.0, np.linalg.svd(w_bar_v, compute_uv=False)[0],
                            rtol=1e-4)

  def testDeferredUpdateOnlyWhenRun(self):
    with tf.Graph().as_default():
      weight = tf.constant(np.diag([3., 1., 1.]).astype(np.float32))
      out = spectral_normalization.spectral_norm(
          weight, update_collection="updates")
      u0 = [v for v in tf.global_variables() if v.op.name == "u0"][0]
      with self.test_session() as sess:
        sess.run(tf.global_variables_initializer())
        u_before = sess.run(u0)
        sess.run(out["w_bar"])
        self.assertAllClose(u_before, sess.run(u0))
        sess.run(tf.get_collection("updates"))
        self.assertNotAllClose(u_before, sess.run(u0))

  def testConvAndNumItersValidation(self):
    with tf.Graph().as_default():
      sn_conv = snt.wrap_with_spectral_norm(snt.Conv2D, {"num_iters": 3})
      conv = sn_conv(output_channels=4, kernel_shape=3, name="conv")
      out = conv(tf.ones([1, 5, 5, 2]))
      self.assertEqual(out.get_shape().as_list(), [1, 5, 5, 4])
      u0 = [v for v in tf.global_variables() if "u0" in v.name][0]
      self.assertEqual(u0.op.name, "conv_wrapper/conv/u0")
      self.assertEqual(u0.get_shape().as_list(), [1, 4])
      with self.assertRaisesRegexp(ValueError, "num_iters"):
        spectral_normalization.spectral_norm(tf.ones([2, 2]), num_iters=0)

  def testGradientsDoNotFlowThroughU(self):
    with tf.Graph().as_default():
      w_np = np.random.RandomState(1).randn(3, 2)
      weight = tf.constant(w_np, dtype=tf.float64)
      out = spectral_normalization.spectral_norm(weight)
      with self.test_session() as sess:
        sess.run(tf.global_variables_initializer())
        grad = tf.gradients(tf.reduce_sum(out["w_bar"]), weight)[0]
        self.assertIsNotNone(grad)
        self.assertEqual(grad.dtype, tf.float64)
        self.assertTrue(np.all(np.isfinite(sess.run(grad))))


if __name__ == "__main__":
  tf.test.main()
