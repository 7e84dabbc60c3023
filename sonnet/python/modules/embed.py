"""`Embed`: a trainable lookup table mapping integer ids to vectors."""

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


def _embedding_dim(vocab_size):
  """Default embedding size: round(6 * vocab_size ** 0.25).

  Raises:
    ValueError: if `vocab_size` is not positive.
  """
  if not vocab_size or vocab_size <= 0:
    raise ValueError("Invalid vocab_size %g." % (vocab_size or 0))
  return int(round(6.0 * np.sqrt(np.sqrt(vocab_size))))


class Embed(base.AbstractModule):
  """Looks up the rows of the `embeddings` table `[vocab_size, embed_dim]`.

  The table is a new float32 variable (default initializer: standard normal),
  or is initialized from `existing_vocab`.
  """

  EMBEDDINGS = "embeddings"
  POSSIBLE_INITIALIZER_KEYS = {EMBEDDINGS}

  def __init__(self,
               vocab_size=None,
               embed_dim=None,
               existing_vocab=None,
               densify_gradients=False,
               initializers=None,
               partitioners=None,
               regularizers=None,
               trainable=True,
               custom_getter=None,
               name="embed"):
    """Constructs an Embed module.

    Args:
      vocab_size: number of rows of the table.
      embed_dim: size of each embedding; default `round(6 * vocab_size**0.25)`.
      existing_vocab: optional `[vocab_size, embed_dim]` array or tensor the
        table is initialized from (then `vocab_size`, `embed_dim`,
        `initializers` and `partitioners` must not be given).
      densify_gradients: if True, the table's gradient is a dense tensor
        rather than `tf.IndexedSlices`.
      initializers: optional dict with key "embeddings".
      partitioners: optional dict with key "embeddings".
      regularizers: optional dict with key "embeddings".
      trainable: whether the table is trainable.
      custom_getter: as for `AbstractModule`.
      name: module name.

    Raises:
      ValueError: neither `vocab_size` nor `existing_vocab`; `existing_vocab`
        with one of the arguments it replaces; a non-positive `vocab_size`;
        `existing_vocab` not of rank 2 with a fully known shape.
      KeyError: unknown key in a dict.
      TypeError: a non-callable value in a dict.
    """
    if vocab_size is None and existing_vocab is None:
      raise ValueError("Must provide one of vocab_size or existing_vocab.")
    if existing_vocab is not None and not all(
        arg is None
        for arg in (vocab_size, embed_dim, initializers, partitioners)):
      raise ValueError("If existing_vocab is provided, none of vocab_size, "
                       "embedding_dim, initializers, or partitioners is "
                       "needed.")

    super().__init__(custom_getter=custom_getter, name=name)
    self._existing_vocab = None
    if existing_vocab is None:
      self._vocab_size = vocab_size
      self._embed_dim = embed_dim or _embedding_dim(self._vocab_size)
    else:
      if isinstance(existing_vocab, (tf.Tensor, tf.Variable)):
        # Upstream converted with dtype=float32, which fails for a tensor of
        # any other dtype; casting keeps float32 tensors as they are.
        self._existing_vocab = tf.cast(existing_vocab, tf.float32)
        vocab_shape = self._existing_vocab.get_shape()
      else:
        # Kept as an array (converted at build time) so that the module can
        # be connected in any graph.
        self._existing_vocab = np.asarray(existing_vocab, dtype=np.float32)
        vocab_shape = tf.TensorShape(self._existing_vocab.shape)
      if vocab_shape.ndims != 2 or not vocab_shape.is_fully_defined():
        raise ValueError(
            "existing_vocab must have rank 2 and a fully defined shape, got "
            "shape {}.".format(vocab_shape))
      self._vocab_size, self._embed_dim = vocab_shape.as_list()

    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)
    self._trainable = trainable
    self._densify_gradients = densify_gradients
    self._embeddings = None

  def _build(self, ids):
    """Looks up the embeddings of `ids`.

    Args:
      ids: integer tensor of any shape. Ids outside `[0, vocab_size)` give an
        `InvalidArgumentError` when run (on CPU).

    Returns:
      float32 tensor of shape `ids.shape + [embed_dim]`.
    """
    if self._existing_vocab is None:
      if self.EMBEDDINGS not in self._initializers:
        self._initializers[self.EMBEDDINGS] = tf.initializers.random_normal()
      self._embeddings = tf.get_variable(
          "embeddings",
          shape=[self._vocab_size, self._embed_dim],
          dtype=tf.float32,
          initializer=self._initializers[self.EMBEDDINGS],
          partitioner=self._partitioners.get(self.EMBEDDINGS, None),
          regularizer=self._regularizers.get(self.EMBEDDINGS, None),
          trainable=self._trainable)
    else:
      self._embeddings = tf.get_variable(
          "embeddings",
          dtype=tf.float32,
          initializer=tf.convert_to_tensor(self._existing_vocab,
                                           dtype=tf.float32),
          regularizer=self._regularizers.get(self.EMBEDDINGS, None),
          trainable=self._trainable)

    if self._densify_gradients:
      embeddings = util.convert_gradient_to_tensor(self._embeddings)
    else:
      embeddings = self._embeddings
    return tf.nn.embedding_lookup(embeddings, ids, name="embedding_lookup")

  @property
  def vocab_size(self):
    return self._vocab_size

  @property
  def embed_dim(self):
    return self._embed_dim

  @property
  def embeddings(self):
    """The embedding table (NotConnectedError before a connection)."""
    self._ensure_is_connected()
    return self._embeddings
