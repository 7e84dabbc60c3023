"""Soft attention over a memory: `snt.AttentiveRead`."""

import collections

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import basic
import tensorflow.compat.v1 as tf

AttentionOutput = collections.namedtuple("AttentionOutput",
                                         ["read", "weights", "weight_logits"])


class AttentiveRead(base.AbstractModule):
  """Reads a weighted average of memory slots, weighted by attention.

  For each memory slot `m` and the query `q`, the logit is
  `attention_logit_mod(concat([m, q]))`; the weights are the softmax of the
  logits over the slots (masked slots excluded) and the read is the
  weighted sum of the slots.
  """

  def __init__(self, attention_logit_mod, name="attention"):
    """Constructs the module.

    Args:
      attention_logit_mod: module or callable mapping
        `[batch_size * memory_size, memory_word_size + query_word_size]` to
        `[batch_size * memory_size, 1]` logits (e.g. an `snt.Linear(1)` or an
        MLP ending in one unit).
      name: module name.
    """
    super(AttentiveRead, self).__init__(name=name)
    self._attention_logit_mod = attention_logit_mod

  def _build(self, memory, query, memory_mask=None):
    """Attends over `memory` with `query`.

    Args:
      memory: `[batch_size, memory_size, memory_word_size]` tensor.
      query: `[batch_size, query_word_size]` tensor.
      memory_mask: optional boolean `[batch_size, memory_size]`; False slots
        are ignored. Every row must keep at least one slot (checked at run
        time).

    Returns:
      `AttentionOutput(read [batch_size, memory_word_size],
      weights [batch_size, memory_size], weight_logits [batch_size,
      memory_size])`.

    Raises:
      snt.IncompatibleShapeError: for inputs of the wrong rank, or logits
        that are not `[batch_size * memory_size, 1]`.
      snt.UnderspecifiedError: if the memory word size or query size is not
        known at graph construction time.
    """
    memory = tf.convert_to_tensor(memory)
    query = tf.convert_to_tensor(query)
    if memory.get_shape().ndims != 3:
      raise base.IncompatibleShapeError(
          "memory must have shape [batch_size, memory_size, "
          "memory_word_size], got {}.".format(memory.get_shape()))
    if query.get_shape().ndims != 2:
      raise base.IncompatibleShapeError(
          "query must have shape [batch_size, query_word_size], got {}."
          .format(query.get_shape()))
    if memory_mask is not None:
      memory_mask = tf.convert_to_tensor(memory_mask)
      if memory_mask.get_shape().ndims != 2:
        raise base.IncompatibleShapeError(
            "memory_mask must have shape [batch_size, memory_size], got {}."
            .format(memory_mask.get_shape()))

    # The logit module needs its input size to create its variables.
    memory_word_size = tf.compat.dimension_value(memory.get_shape()[2])
    query_word_size = tf.compat.dimension_value(query.get_shape()[1])
    if memory_word_size is None or query_word_size is None:
      raise base.UnderspecifiedError(
          "memory_word_size and query_word_size must be known at graph "
          "construction time.")

    memory_shape = tf.shape(memory)
    batch_size = memory_shape[0]
    memory_size = memory_shape[1]
    query_batch_size = tf.shape(query)[0]

    expanded_query = tf.tile(tf.expand_dims(query, 1), [1, memory_size, 1])
    with tf.control_dependencies(
        [tf.assert_equal(batch_size, query_batch_size)]):
      concatenated_embeddings = tf.concat([memory, expanded_query], axis=2)

    batch_apply_attention_logit = basic.BatchApply(
        self._attention_logit_mod, n_dims=2,
        name="batch_apply_attention_logit")
    attention_weight_logits = batch_apply_attention_logit(
        concatenated_embeddings)
    if attention_weight_logits.get_shape().ndims != 3:
      raise base.IncompatibleShapeError(
          "attention_weight_logits must be a rank-3 Tensor. Are you sure that "
          "attention_logit_mod() returned [batch_size * memory_size, 1]-shaped"
          " Tensor?")
    attention_weight_logits = tf.squeeze(attention_weight_logits, [2])

    if memory_mask is not None:
      num_remaining_memory_slots = tf.reduce_sum(
          tf.cast(memory_mask, dtype=tf.int32), axis=[1])
      with tf.control_dependencies(
          [tf.assert_positive(num_remaining_memory_slots)]):
        finfo = np.finfo(np.float32)
        kept = tf.cast(memory_mask, dtype=tf.float32)
        ignored = tf.cast(tf.logical_not(memory_mask), dtype=tf.float32)
        bound = tf.cast(finfo.max * kept + finfo.min * ignored,
                        attention_weight_logits.dtype)
        attention_weight_logits = tf.minimum(attention_weight_logits, bound)

    attention_weight = tf.reshape(tf.nn.softmax(attention_weight_logits),
                                  shape=[batch_size, memory_size, 1])
    attended_memory = tf.reduce_sum(memory * attention_weight, axis=[1])
    inferred_batch_size, _, inferred_word_size = memory.get_shape().as_list()
    attended_memory.set_shape([inferred_batch_size, inferred_word_size])

    return AttentionOutput(
        read=attended_memory,
        weights=tf.squeeze(attention_weight, [2]),
        weight_logits=attention_weight_logits)
