"""Tests for `snt.AttentiveRead` (attention.py)."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import attention
import tensorflow.compat.v1 as tf

BATCH, MEMORY, WORD, QUERY = 2, 4, 3, 5


def _data(seed=0):
  rng = np.random.RandomState(seed)
  return (rng.randn(BATCH, MEMORY, WORD).astype(np.float32),
          rng.randn(BATCH, QUERY).astype(np.float32))


def _reference(memory, query, w, b, mask=None):
  tiled = np.repeat(query[:, None, :], memory.shape[1], axis=1)
  logits = np.concatenate([memory, tiled], axis=2).dot(w)[..., 0] + b[0]
  masked = logits if mask is None else np.where(mask, logits, -np.inf)
  weights = np.exp(masked - masked.max(axis=1, keepdims=True))
  weights /= weights.sum(axis=1, keepdims=True)
  read = (memory * weights[..., None]).sum(axis=1)
  return read, weights, logits


def test_output_values_and_variables():
  memory_value, query_value = _data()
  with tf.Graph().as_default():
    logit_mod = snt.Linear(1, name="logit")
    attend = snt.AttentiveRead(logit_mod)
    assert attend.module_name == "attention"
    memory = tf.placeholder(tf.float32, [None, None, WORD])
    query = tf.placeholder(tf.float32, [None, QUERY])
    out = attend(memory, query)
    assert isinstance(out, attention.AttentionOutput)
    assert out._fields == ("read", "weights", "weight_logits")
    assert out.read.get_shape().as_list() == [None, WORD]
    assert [v.op.name for v in attend.variables] == ["logit/b", "logit/w"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w, b = sess.run([logit_mod.w, logit_mod.b])
      read, weights, logits = sess.run(
          out, {memory: memory_value, query: query_value})
  expected = _reference(memory_value, query_value, w, b)
  np.testing.assert_allclose(read, expected[0], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(weights, expected[1], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(logits, expected[2], rtol=1e-5, atol=1e-6)


def test_memory_mask():
  memory_value, query_value = _data(1)
  mask_value = np.array([[True, False, True, False],
                         [False, False, False, True]])
  with tf.Graph().as_default():
    logit_mod = snt.Linear(1)
    out = snt.AttentiveRead(logit_mod)(tf.constant(memory_value),
                                       tf.constant(query_value),
                                       memory_mask=tf.constant(mask_value))
    assert out.read.get_shape().as_list() == [BATCH, WORD]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w, b = sess.run([logit_mod.w, logit_mod.b])
      read, weights, logits = sess.run(out)
  expected_read, expected_weights, _ = _reference(memory_value, query_value,
                                                  w, b, mask_value)
  np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-7)
  assert np.all(weights[~mask_value] == 0)
  np.testing.assert_allclose(read[1], memory_value[1, 3], rtol=1e-5)
  np.testing.assert_allclose(read, expected_read, rtol=1e-5, atol=1e-6)
  assert np.all(logits[~mask_value] == np.finfo(np.float32).min)


def test_mask_with_empty_row_fails_at_run_time():
  memory_value, query_value = _data(2)
  with tf.Graph().as_default():
    mask = tf.placeholder(tf.bool, [BATCH, MEMORY])
    out = snt.AttentiveRead(snt.Linear(1))(memory_value, query_value,
                                           memory_mask=mask)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      bad = np.ones([BATCH, MEMORY], bool)
      bad[0] = False
      with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(out.read, {mask: bad})


def test_batch_size_mismatch_fails_at_run_time():
  with tf.Graph().as_default():
    memory = tf.placeholder(tf.float32, [None, MEMORY, WORD])
    query = tf.placeholder(tf.float32, [None, QUERY])
    out = snt.AttentiveRead(snt.Linear(1))(memory, query)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(out.read, {memory: np.zeros([2, MEMORY, WORD]),
                            query: np.zeros([3, QUERY])})


def test_gradients():
  memory_value, query_value = _data(3)
  with tf.Graph().as_default():
    memory = tf.constant(memory_value.astype(np.float64))
    query = tf.constant(query_value.astype(np.float64))
    out = snt.AttentiveRead(snt.Linear(1))(memory, query)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      err = tf.test.compute_gradient_error(
          [memory, query], [[BATCH, MEMORY, WORD], [BATCH, QUERY]],
          out.read, [BATCH, WORD])
  assert err < 1e-6


def test_shape_errors():
  with tf.Graph().as_default():
    attend = snt.AttentiveRead(snt.Linear(1))
    memory, query = tf.zeros([BATCH, MEMORY, WORD]), tf.zeros([BATCH, QUERY])
    with pytest.raises(snt.IncompatibleShapeError, match="memory must"):
      attend(tf.zeros([BATCH, WORD]), query)
    with pytest.raises(snt.IncompatibleShapeError, match="query must"):
      attend(memory, tf.zeros([BATCH, 1, QUERY]))
    with pytest.raises(snt.IncompatibleShapeError, match="memory_mask must"):
      attend(memory, query, memory_mask=tf.ones([BATCH], tf.bool))
    with pytest.raises(snt.UnderspecifiedError):
      attend(tf.placeholder(tf.float32, [BATCH, MEMORY, None]), query)
    with pytest.raises(snt.UnderspecifiedError):
      attend(memory, tf.placeholder(tf.float32, [BATCH, None]))
    with pytest.raises(snt.IncompatibleShapeError, match="rank-3"):
      snt.AttentiveRead(lambda x: tf.reduce_sum(x, axis=1))(memory, query)
