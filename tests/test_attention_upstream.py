"""snt.AttentiveRead exercised the way Sonnet 1's attention_test.py did."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
from sonnet.python.modules import attention
import tensorflow.compat.v1 as tf


class AttentiveReadUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def setUp(self):
    super(AttentiveReadUpstreamTest, self).setUp()
    self._batch_size = 3
    self._memory_size = 4
    self._memory_word_size = 1
    self._query_word_size = 2
    self._memory = tf.placeholder(
        tf.float32, [self._batch_size, self._memory_size,
                     self._memory_word_size])
    self._query = tf.placeholder(
        tf.float32, [self._batch_size, self._query_word_size])
    self._memory_mask = tf.placeholder(
        tf.bool, [self._batch_size, self._memory_size])

  @parameterized.parameters(
      ("linear", lambda: snt.Linear(1)),
      ("mlp", lambda: snt.nets.MLP([4, 1])))
  def testShapeAndCommonModules(self, _, make_logit_module):
    attention_mod = snt.AttentiveRead(make_logit_module())
    out = attention_mod(self._memory, self._query)
    self.assertIsInstance(out, attention.AttentionOutput)
    self.assertEqual(out.read.get_shape().as_list(),
                     [self._batch_size, self._memory_word_size])
    self.assertEqual(out.weights.get_shape().as_list(),
                     [self._batch_size, self._memory_size])
    self.assertEqual(out.weight_logits.get_shape().as_list(),
                     [self._batch_size, self._memory_size])
    rng = np.random.RandomState(0)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      read, weights = sess.run(
          [out.read, out.weights],
          {self._memory: rng.randn(3, 4, 1), self._query: rng.randn(3, 2)})
    self.assertAllClose(np.ones(3), weights.sum(axis=1), rtol=1e-5)
    self.assertEqual(read.shape, (3, 1))

  def testMemoryMaskWithNonuniformLogits(self):
    memory = np.random.RandomState(0).randn(2, 3, 10)
    logits = np.array([[-1, 1, 0], [-1, 1, 0]])
    mask = np.array([[True, True, True], [True, True, False]])
    expected_weights = np.exp(logits).astype(np.float64)
    expected_weights[1, 2] = 0
    expected_weights /= np.sum(expected_weights, axis=1, keepdims=True)
    expected_output = np.matmul(expected_weights[:, np.newaxis, :],
                                memory)[:, 0]
    attention_mod = snt.AttentiveRead(
        lambda _: tf.constant(logits.reshape([6, 1]), dtype=tf.float32))
    out = attention_mod(memory=tf.constant(memory, dtype=tf.float32),
                        query=tf.constant(np.zeros([2, 5]), dtype=tf.float32),
                        memory_mask=tf.constant(mask))
    with self.test_session() as sess:
      read, weights, weight_logits = sess.run(out)
    self.assertAllClose(expected_output, read, rtol=1e-5, atol=1e-5)
    self.assertAllClose(expected_weights, weights, rtol=1e-5, atol=1e-6)
    self.assertAllClose(logits[0], weight_logits[0])
    self.assertEqual(weight_logits[1, 2], np.finfo(np.float32).min)

  def testMaskAllFalseFailsAtRunTime(self):
    attention_mod = snt.AttentiveRead(snt.Linear(1))
    out = attention_mod(self._memory, self._query, self._memory_mask)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      mask = np.ones([3, 4], dtype=bool)
      mask[1] = False
      with self.assertRaises(tf.errors.InvalidArgumentError):
        sess.run(out.read, {self._memory: np.zeros([3, 4, 1]),
                            self._query: np.zeros([3, 2]),
                            self._memory_mask: mask})

  def testUnknownBatchAndMemorySize(self):
    memory = tf.placeholder(tf.float32, [None, None, 5])
    query = tf.placeholder(tf.float32, [None, 3])
    attention_mod = snt.AttentiveRead(snt.Linear(1, name="logit"))
    out = attention_mod(memory, query)
    self.assertEqual(out.read.get_shape().as_list(), [None, 5])
    names = sorted(v.op.name for v in tf.global_variables())
    self.assertEqual(names, ["logit/b", "logit/w"])
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      read = sess.run(out.read, {memory: np.ones([2, 7, 5]),
                                 query: np.ones([2, 3])})
    self.assertAllClose(np.ones([2, 5]), read, rtol=1e-5)

  def testErrors(self):
    attention_mod = snt.AttentiveRead(snt.Linear(1))
    with self.assertRaises(snt.IncompatibleShapeError):
      attention_mod(tf.placeholder(tf.float32, [3, 4]), self._query)
    with self.assertRaises(snt.IncompatibleShapeError):
      attention_mod(self._memory, tf.placeholder(tf.float32, [3, 2, 1]))
    with self.assertRaises(snt.IncompatibleShapeError):
      attention_mod(self._memory, self._query,
                    tf.placeholder(tf.bool, [3, 4, 1]))
    with self.assertRaises(snt.UnderspecifiedError):
      attention_mod(tf.placeholder(tf.float32, [3, 4, None]), self._query)
    with self.assertRaises(snt.UnderspecifiedError):
      attention_mod(self._memory, tf.placeholder(tf.float32, [3, None]))
    with self.assertRaises(snt.IncompatibleShapeError):
      snt.AttentiveRead(lambda x: tf.reduce_sum(x, axis=1))(self._memory,
                                                       self._query)

  def testBatchSizeMismatchFailsAtRunTime(self):
    memory = tf.placeholder(tf.float32, [None, 4, 1])
    query = tf.placeholder(tf.float32, [None, 2])
    out = snt.AttentiveRead(snt.Linear(1))(memory, query)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      with self.assertRaises(tf.errors.InvalidArgumentError):
        sess.run(out.read, {memory: np.zeros([3, 4, 1]),
                            query: np.zeros([2, 2])})


if __name__ == "__main__":
  tf.test.main()
