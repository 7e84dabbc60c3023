"""Tests for sonnet/python/modules/embed.py."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import embed
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def test_lookup_values_and_variable():
  module = snt.Embed(vocab_size=10, embed_dim=4)
  ids = np.array([[1, 2, 9], [0, 0, 3]])
  out = module(tf.constant(ids))
  assert out.get_shape().as_list() == [2, 3, 4] and out.dtype == tf.float32
  assert module.embeddings.name == "embed/embeddings:0"
  assert module.embeddings.get_shape().as_list() == [10, 4]
  assert module.vocab_size == 10 and module.embed_dim == 4
  assert module.embeddings.trainable
  out_v, table = _run([out, module.embeddings])
  np.testing.assert_array_equal(out_v, table[ids])
  assert 0.5 < table.std() < 1.5  # Standard normal default.


def test_default_embed_dim():
  assert embed._embedding_dim(10000) == 60
  assert snt.Embed(vocab_size=100).embed_dim == int(round(6 * 100 ** 0.25))
  for bad in (0, -5):
    with pytest.raises(ValueError, match="Invalid vocab_size"):
      snt.Embed(vocab_size=bad)


def test_existing_vocab():
  vocab = np.random.rand(5, 3).astype(np.float32)
  module = snt.Embed(existing_vocab=vocab,
                     regularizers={"embeddings": tf.nn.l2_loss})
  assert module.vocab_size == 5 and module.embed_dim == 3
  out = module(tf.constant([4, 0]))
  assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
  np.testing.assert_allclose(_run(out), vocab[[4, 0]])
  tensor_vocab = snt.Embed(existing_vocab=tf.constant(vocab), name="e2")
  np.testing.assert_allclose(_run(tensor_vocab(tf.constant([1]))), vocab[[1]])


def test_constructor_errors():
  with pytest.raises(ValueError):
    snt.Embed()
  vocab = np.zeros([5, 3], np.float32)
  for kwargs in ({"vocab_size": 5}, {"embed_dim": 3},
                 {"initializers": {}}, {"partitioners": {}}):
    with pytest.raises(ValueError):
      snt.Embed(existing_vocab=vocab, **kwargs)
  with pytest.raises(ValueError):
    snt.Embed(existing_vocab=np.zeros([5], np.float32))
  with pytest.raises(ValueError):
    snt.Embed(existing_vocab=tf.placeholder(tf.float32, [None, 3]))
  with pytest.raises(KeyError):
    snt.Embed(vocab_size=3, initializers={"w": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.Embed(vocab_size=3, initializers={"embeddings": 1})
  with pytest.raises(snt.NotConnectedError):
    snt.Embed(vocab_size=3).embeddings  # pylint: disable=expression-not-assigned


def test_gradients_sparse_and_dense():
  ids = tf.constant([0, 2])
  sparse = snt.Embed(vocab_size=4, embed_dim=2)
  dense = snt.Embed(vocab_size=4, embed_dim=2, densify_gradients=True)
  grad_sparse = tf.gradients(tf.reduce_sum(sparse(ids)), sparse.embeddings)[0]
  grad_dense = tf.gradients(tf.reduce_sum(dense(ids)), dense.embeddings)[0]
  assert isinstance(grad_sparse, tf.IndexedSlices)
  assert isinstance(grad_dense, tf.Tensor)
  np.testing.assert_array_equal(_run(grad_dense),
                                [[1, 1], [0, 0], [1, 1], [0, 0]])


def test_not_trainable_initializer_partitioner():
  module = snt.Embed(vocab_size=6, embed_dim=2, trainable=False,
                     initializers={"embeddings": tf.ones_initializer()},
                     partitioners={"embeddings": tf.fixed_size_partitioner(2)})
  out = module(tf.constant([[5, 1]]))
  assert not tf.trainable_variables()
  assert len(list(module.embeddings)) == 2
  np.testing.assert_array_equal(_run(out), np.ones([1, 2, 2]))


def test_out_of_range_id():
  out = snt.Embed(vocab_size=3, embed_dim=2)(tf.constant([3]))
  with pytest.raises(tf.errors.InvalidArgumentError):
    _run(out)
