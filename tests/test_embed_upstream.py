"""Upstream-style tests for embed.py (tf.test.TestCase, graph mode)."""

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


class EmbedTest(tf.test.TestCase, parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self._batch_size = 3
    self._vocab_size = 7
    self._embed_dim = 1
    self._embed_mod = snt.Embed(vocab_size=self._vocab_size,
                                embed_dim=self._embed_dim)
    self._embed_mod_dense = snt.Embed(vocab_size=self._vocab_size,
                                      embed_dim=self._embed_dim,
                                      densify_gradients=True)
    self._ids = np.asarray([[0, 1, 2, 3], [4, 5, 6, 0], [1, 1, 3, 6]])

  def testName(self):
    with tf.variable_scope("scope"):
      mod = snt.Embed(vocab_size=3, name="unique_name")
    self.assertEqual(mod.scope_name, "scope/unique_name")
    self.assertEqual(mod.module_name, "unique_name")

  def testOutputType(self):
    for dtype in (tf.int32, tf.int64):
      ids = tf.constant(self._ids, dtype=dtype)
      output = self._embed_mod(ids)
      self.assertEqual(output.dtype, tf.float32)

  def testOutputShape(self):
    ids = tf.constant(self._ids)
    output = self._embed_mod(ids)
    expected_shape = list(self._ids.shape) + [self._embed_dim]
    self.assertEqual(output.get_shape().as_list(), expected_shape)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      output = sess.run(output)
    self.assertAllEqual(list(output.shape), expected_shape)
    unknown = tf.placeholder(tf.int32, [None, None])
    self.assertEqual(self._embed_mod(unknown).get_shape().as_list(),
                     [None, None, self._embed_dim])

  def testComputation(self):
    ids = tf.constant(self._ids)
    output = self._embed_mod(ids)
    self.assertEqual(self._embed_mod.embeddings.name, "embed/embeddings:0")
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, embeddings = sess.run([output, self._embed_mod.embeddings])
    self.assertAllClose(out, embeddings[self._ids])

  def testDefaultInitializer(self):
    mod = snt.Embed(vocab_size=2000, embed_dim=50)
    mod(tf.constant([0]))
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      table = sess.run(mod.embeddings)
    self.assertNear(table.mean(), 0.0, 0.02)
    self.assertNear(table.std(), 1.0, 0.02)
    self.assertIn("embeddings", mod._initializers)

  def testGradients(self):
    ids = tf.constant(self._ids)
    output = self._embed_mod(ids)
    doutput = tf.random_normal(tf.shape(output))
    grad = tf.gradients(output, self._embed_mod.embeddings, doutput)[0]
    self.assertIsInstance(grad, tf.IndexedSlices)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      dout, values, indices = sess.run([doutput, grad.values, grad.indices])
    dense = np.zeros([self._vocab_size, self._embed_dim])
    np.add.at(dense, indices, values)
    expected = np.zeros([self._vocab_size, self._embed_dim])
    np.add.at(expected, self._ids.reshape(-1),
              dout.reshape(-1, self._embed_dim))
    self.assertAllClose(dense, expected, atol=1e-5)

  def testGradientsDense(self):
    ids = tf.constant(self._ids)
    output = self._embed_mod_dense(ids)
    doutput = tf.random_normal(tf.shape(output))
    grad = tf.gradients(output, self._embed_mod_dense.embeddings, doutput)[0]
    self.assertIsInstance(grad, tf.Tensor)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      dout, grad_value = sess.run([doutput, grad])
    expected = np.zeros([self._vocab_size, self._embed_dim])
    np.add.at(expected, self._ids.reshape(-1),
              dout.reshape(-1, self._embed_dim))
    self.assertAllClose(grad_value, expected, atol=1e-5)

  def testTrainingStep(self):
    ids = tf.constant(self._ids)
    loss = tf.reduce_sum(self._embed_mod_dense(ids))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      before = sess.run(self._embed_mod_dense.embeddings)
      sess.run(train)
      after = sess.run(self._embed_mod_dense.embeddings)
    counts = np.bincount(self._ids.reshape(-1), minlength=self._vocab_size)
    self.assertAllClose(before - after, 0.5 * counts[:, None], atol=1e-5)

  def testInvalidRegularizationParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.Embed(vocab_size=self._vocab_size,
                regularizers={"not_embeddings": _l1(0.5)})
    err = "Regularizer for 'embeddings' is not a callable function"
    with self.assertRaisesRegexp(TypeError, err):
      snt.Embed(vocab_size=self._vocab_size,
                regularizers={"embeddings": tf.zeros([1, 2, 3])})

  def testInvalidInitializerParameters(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.Embed(vocab_size=3, initializers={"w": tf.zeros_initializer()})
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      snt.Embed(vocab_size=3, partitioners={"w": tf.fixed_size_partitioner(2)})

  def testRegularizersInRegularizationLosses(self):
    embed = snt.Embed(vocab_size=self._vocab_size,
                      regularizers={"embeddings": _l1(0.5)})
    embed(tf.convert_to_tensor(self._ids))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 1)
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")

  def testProperties(self):
    self.assertEqual(self._embed_mod.vocab_size, self._vocab_size)
    self.assertEqual(self._embed_mod.embed_dim, self._embed_dim)
    with self.assertRaises(snt.NotConnectedError):
      _ = self._embed_mod.embeddings
    self._embed_mod(tf.convert_to_tensor(self._ids))
    # tf_variables.Variable: the base of reference and resource variables.
    self.assertIsInstance(self._embed_mod.embeddings, tf_variables.Variable)

  @parameterized.parameters(1, 10, 100, 1000, 7919)
  def testDefaultEmbedDim(self, vocab_size):
    mod = snt.Embed(vocab_size=vocab_size)
    self.assertEqual(mod.embed_dim, int(round(6.0 * vocab_size ** 0.25)))

  def testInvalidConstruction(self):
    with self.assertRaises(ValueError):
      snt.Embed()
    with self.assertRaisesRegexp(ValueError, "Invalid vocab_size"):
      snt.Embed(vocab_size=0)
    with self.assertRaisesRegexp(ValueError, "Invalid vocab_size"):
      snt.Embed(vocab_size=-3)
    existing = np.zeros([3, 2])
    for kwargs in ({"vocab_size": 3}, {"embed_dim": 2},
                   {"initializers": {"embeddings": tf.zeros_initializer()}},
                   {"partitioners": {"embeddings":
                                     tf.fixed_size_partitioner(2)}}):
      with self.assertRaises(ValueError):
        snt.Embed(existing_vocab=existing, **kwargs)
    with self.assertRaises(ValueError):
      snt.Embed(existing_vocab=np.zeros([3]))
    with self.assertRaises(ValueError):
      snt.Embed(existing_vocab=tf.placeholder(tf.float32, [None, 3]))

  def testExistingVocab(self):
    existing = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
                        dtype=np.int32)
    expected = np.array([[1, 0, 0, 0], [0, 0, 1, 0]], dtype=np.float32)
    true_vocab_size, true_embed_dim = existing.shape
    inputs = tf.constant(np.array([0, 2]), dtype=tf.int32)
    embed_mod = snt.Embed(existing_vocab=existing)
    embeddings = embed_mod(inputs)
    self.assertEqual(embed_mod.vocab_size, true_vocab_size)
    self.assertEqual(embed_mod.embed_dim, true_embed_dim)
    self.assertEqual(embed_mod.embeddings.dtype.base_dtype, tf.float32)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      self.assertAllClose(sess.run(embeddings), expected)

  def testExistingVocabTensorAndRegularizer(self):
    existing = tf.constant(np.random.randn(4, 3), dtype=tf.float64)
    embed_mod = snt.Embed(existing_vocab=existing,
                          regularizers={"embeddings": _l1(1.0)})
    out = embed_mod(tf.constant([3, 1]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 1)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      table, value = sess.run([existing, out])
    self.assertAllClose(value, table[[3, 1]], atol=1e-6)

  @parameterized.parameters(True, False)
  def testTrainable(self, trainable):
    embed_mod = snt.Embed(vocab_size=self._vocab_size,
                          embed_dim=self._embed_dim, trainable=trainable)
    embed_mod(tf.convert_to_tensor(self._ids))
    self.assertLen(embed_mod.get_variables(tf.GraphKeys.TRAINABLE_VARIABLES),
                   1 if trainable else 0)
    self.assertLen(embed_mod.get_variables(tf.GraphKeys.GLOBAL_VARIABLES), 1)

  @parameterized.parameters(False, True)
  def testPartitioners(self, densify):
    # One partition per vocabulary entry.
    partitioners = {"embeddings": tf.variable_axis_size_partitioner(
        4 * self._embed_dim)}
    embed_mod = snt.Embed(vocab_size=self._vocab_size,
                          embed_dim=self._embed_dim,
                          partitioners=partitioners,
                          densify_gradients=densify)
    embeddings = embed_mod(tf.convert_to_tensor(self._ids))
    self.assertEqual(type(embed_mod.embeddings),
                     tf_variables.PartitionedVariable)
    self.assertLen(embed_mod.embeddings, self._vocab_size)
    grads = tf.gradients(tf.reduce_sum(embeddings), list(embed_mod.embeddings))
    self.assertNotIn(None, grads)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      out, table = sess.run([embeddings,
                             tf.convert_to_tensor(embed_mod.embeddings)])
    self.assertAllClose(out, table[self._ids])

  def testCustomGetter(self):
    def stop(getter, *args, **kwargs):
      return tf.stop_gradient(getter(*args, **kwargs))

    mod = snt.Embed(vocab_size=4, embed_dim=2, custom_getter=stop)
    out = mod(tf.constant([1, 2]))
    self.assertEqual(tf.gradients(tf.reduce_sum(out),
                                  tf.trainable_variables()), [None])

  def testInvalidIdsAtRunTime(self):
    ids = tf.placeholder(tf.int32, [2])
    out = self._embed_mod(ids)
    with self.test_session() as sess:
      tf.global_variables_initializer().run()
      with self.assertRaises(tf.errors.InvalidArgumentError):
        sess.run(out, {ids: [0, self._vocab_size]})


if __name__ == "__main__":
  tf.test.main()
