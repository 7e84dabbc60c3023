"""VectorQuantizer(EMA) exercised the way Sonnet 1's vqvae_test.py did."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

_CASES = (
    (snt.nets.VectorQuantizer,
     {"embedding_dim": 4, "num_embeddings": 8, "commitment_cost": 0.25}),
    (snt.nets.VectorQuantizerEMA,
     {"embedding_dim": 6, "num_embeddings": 13, "commitment_cost": 0.5,
      "decay": 0.1}))


class VqvaeUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  @parameterized.parameters(*_CASES)
  def testConstruct(self, constructor, kwargs):
    vqvae_module = constructor(**kwargs)
    inputs_np = np.random.randn(16, kwargs["embedding_dim"]).astype(np.float32)
    inputs = tf.constant(inputs_np)
    # is_training=False: with EMA the forward pass would move the codes.
    vq_output = vqvae_module(inputs, is_training=False)
    self.assertEqual(vq_output["quantize"].shape, inputs.shape)
    self.assertEqual(
        sorted(vq_output),
        ["encoding_indices", "encodings", "loss", "perplexity", "quantize"])
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      vq_output_np, embeddings_np = session.run(
          [vq_output, vqvae_module.embeddings])
    self.assertEqual(embeddings_np.shape,
                     (kwargs["embedding_dim"], kwargs["num_embeddings"]))
    distances = ((inputs_np**2).sum(axis=1, keepdims=True)
                 - 2 * np.dot(inputs_np, embeddings_np)
                 + (embeddings_np**2).sum(axis=0, keepdims=True))
    closest_index = np.argmax(-distances, axis=1)
    self.assertAllEqual(closest_index,
                        np.argmax(vq_output_np["encodings"], axis=1))
    self.assertAllEqual(closest_index, vq_output_np["encoding_indices"])
    quantized = embeddings_np[:, closest_index].T
    self.assertAllClose(quantized, vq_output_np["quantize"], atol=1e-6)
    e_latent = np.mean((quantized - inputs_np)**2)
    if constructor is snt.nets.VectorQuantizer:
      expected_loss = (1 + kwargs["commitment_cost"]) * e_latent
    else:
      expected_loss = kwargs["commitment_cost"] * e_latent
    self.assertAllClose(expected_loss, vq_output_np["loss"], rtol=1e-5)
    avg_probs = np.bincount(closest_index, minlength=kwargs["num_embeddings"])
    avg_probs = avg_probs / 16.
    perplexity = np.exp(-np.sum(avg_probs * np.log(avg_probs + 1e-10)))
    self.assertAllClose(perplexity, vq_output_np["perplexity"], rtol=1e-5)

  @parameterized.parameters(*_CASES)
  def testShapeChecking(self, constructor, kwargs):
    vqvae_module = constructor(**kwargs)
    wrong_shape_input = np.random.randn(100, kwargs["embedding_dim"] * 2)
    with self.assertRaisesRegexp(ValueError, "Cannot reshape a tensor with"):
      vqvae_module(tf.constant(wrong_shape_input.astype(np.float32)),
                   is_training=False)

  @parameterized.parameters(*_CASES)
  def testRuntimeShapeChecking(self, constructor, kwargs):
    vqvae_module = constructor(**kwargs)
    inputs = tf.placeholder(tf.float32, [None, None])
    out = vqvae_module(inputs, is_training=False)
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      with self.assertRaises(tf.errors.InvalidArgumentError):
        session.run(out["quantize"],
                    {inputs: np.zeros([3, kwargs["embedding_dim"] + 1])})

  @parameterized.parameters(*_CASES)
  def testNoneBatchSize(self, constructor, kwargs):
    vqvae_module = constructor(**kwargs)
    inputs = tf.placeholder(tf.float32, (None, 5, 5, kwargs["embedding_dim"]))
    out = vqvae_module(inputs, is_training=False)
    self.assertEqual(out["quantize"].get_shape().as_list(),
                     [None, 5, 5, kwargs["embedding_dim"]])
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      indices = session.run(
          out["encoding_indices"],
          {inputs: np.random.randn(2, 5, 5, kwargs["embedding_dim"])})
    self.assertEqual(indices.shape, (2, 5, 5))

  def testVariables(self):
    vq = snt.nets.VectorQuantizer(4, 8, 0.25)
    vq_ema = snt.nets.VectorQuantizerEMA(4, 8, 0.25, 0.99)
    self.assertEqual(vq.embeddings.op.name, "vq_layer/embedding")
    self.assertEqual(vq_ema.module_name, "VectorQuantizerEMA")
    names = sorted(v.op.name for v in tf.global_variables())
    self.assertEqual(names, ["VectorQuantizerEMA/ema_cluster_size",
                             "VectorQuantizerEMA/ema_dw",
                             "VectorQuantizerEMA/embedding",
                             "vq_layer/embedding"])
    self.assertEqual(
        sorted(v.op.name for v in tf.trainable_variables()),
        ["VectorQuantizerEMA/ema_cluster_size", "VectorQuantizerEMA/ema_dw",
         "VectorQuantizerEMA/embedding", "vq_layer/embedding"])
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      w, ema_dw = session.run([vq_ema.embeddings,
                               [v for v in tf.global_variables()
                                if v.op.name.endswith("ema_dw")][0]])
    self.assertAllClose(w, ema_dw)

  def testEmaUpdating(self):
    embedding_dim = 6
    vqvae_module = snt.nets.VectorQuantizerEMA(
        embedding_dim=embedding_dim, num_embeddings=7, commitment_cost=0.5,
        decay=0.1)
    batch_size = 16
    input_ph = tf.placeholder(shape=[batch_size, embedding_dim],
                              dtype=tf.float32)
    output = vqvae_module(input_ph, is_training=True)
    embeddings = vqvae_module.embeddings
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      prev_embeddings = session.run(embeddings)
      for _ in range(5):
        session.run(output, feed_dict={
            input_ph: np.random.randn(batch_size, embedding_dim)})
        current_embeddings = session.run(embeddings)
        self.assertFalse((prev_embeddings == current_embeddings).all())
        prev_embeddings = current_embeddings

  def testVqTraining(self):
    """The codebook loss moves the used codes towards their inputs."""
    vq = snt.nets.VectorQuantizer(2, 3, 0.25)
    inputs = tf.constant(np.random.randn(32, 2).astype(np.float32))
    out = vq(inputs, is_training=True)
    train_op = tf.train.AdamOptimizer(0.05).minimize(out["loss"])
    grad = tf.gradients(tf.reduce_sum(out["quantize"]), inputs)[0]
    with self.test_session() as session:
      session.run(tf.global_variables_initializer())
      loss0 = session.run(out["loss"])
      for _ in range(30):
        session.run(train_op)
      self.assertLess(session.run(out["loss"]), loss0)
      # Straight-through estimator: identity gradient.
      self.assertAllClose(np.ones([32, 2]), session.run(grad))


if __name__ == "__main__":
  tf.test.main()
