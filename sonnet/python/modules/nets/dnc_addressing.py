"""Memory addressing for the Differentiable Neural Computer (Graves et al. 2016).

The parts of the DNC's memory access that hold no trainable variables:
content-based addressing (`CosineWeights`), temporal link matrices
(`TemporalLinkage`), dynamic memory allocation (`Freeness`), and the small
tensor helpers they use. All are re-exported by `snt.nets.dnc`.

Shape names used below: B batch, N memory size, W word size, R read heads,
V write heads.
"""

import collections

import numpy as np
import tensorflow.compat.v1 as tf

from sonnet.python.modules import base
from sonnet.python.modules import rnn_core

# Keeps norms and cumulative products away from zero.
_EPSILON = 1e-6

TemporalLinkageState = collections.namedtuple(
    'TemporalLinkageState', ('link', 'precedence_weights'))


def one_hot(length, index):
  """NumPy float vector of `length` zeros with a 1 at `index`."""
  result = np.zeros(length)
  result[index] = 1
  return result


def reduce_prod(x, axis, name=None):
  """Product of `x` along `axis`; its gradient is exact even where x has zeros."""
  with tf.name_scope(name, 'util_reduce_prod', values=[x]):
    # tf.reduce_prod's gradient treats zero factors correctly (the gradient
    # with respect to a zero entry is the product of the others), unlike a
    # gradient that divides the product by each factor.
    return tf.reduce_prod(x, axis=axis)


def batch_invert_permutation(permutations):
  """Inverts each row of an int tensor `[B, N]` of permutations of 0..N-1.

  Returns an int32 tensor `[B, N]` with `out[b, permutations[b, i]] == i`.
  """
  with tf.name_scope('batch_invert_permutation', values=[permutations]):
    permutations = tf.convert_to_tensor(permutations)
    if permutations.dtype not in (tf.int32, tf.int64):
      raise TypeError('batch_invert_permutation needs an integer tensor, got '
                      '{}.'.format(permutations.dtype))
    # Sorting a permutation yields, at position j, the index i holding value
    # j: exactly the inverse permutation.
    return tf.argsort(permutations, axis=-1, stable=True)


def batch_gather(values, indices):
  """Per batch row, `out[b, i] = values[b, indices[b, i]]` (both `[B, N]`)."""
  with tf.name_scope('batch_gather', values=[values, indices]):
    return tf.gather(values, indices, axis=1, batch_dims=1)


def _vector_norms(m):
  """L2 norms of the last axis of `m` (kept as size 1), never exactly zero."""
  squared_norms = tf.reduce_sum(m * m, axis=2, keepdims=True)
  return tf.sqrt(squared_norms + _EPSILON)


def weighted_softmax(activations, strengths, strengths_op):
  """Softmax over the last axis of `activations` sharpened per head.

  Args:
    activations: `[B, H, N]` tensor.
    strengths: `[B, H]` tensor; each head's logits are multiplied by
      `strengths_op(strengths)`.
    strengths_op: function applied to `strengths` (e.g. `tf.nn.softplus`).

  Returns:
    `[B, H, N]` tensor whose rows sum to 1.
  """
  transformed_strengths = tf.expand_dims(strengths_op(strengths), -1)
  sharp_activations = activations * transformed_strengths
  return tf.nn.softmax(sharp_activations, axis=-1)


class CosineWeights(base.AbstractModule):
  """Content-based addressing: softmax of sharpened cosine similarities.

  For every head, the cosine similarity between its key and each memory row is
  multiplied by `strength_op(strength)` and normalised with a softmax over the
  memory rows.
  """

  def __init__(self, num_heads, word_size, strength_op=tf.nn.softplus,
               name='cosine_weights'):
    """Constructs the module.

    Args:
      num_heads: number of keys (heads) addressing the memory.
      word_size: width W of each memory word (and each key).
      strength_op: function turning raw strengths into positive multipliers.
      name: module name.
    """
    super(CosineWeights, self).__init__(name=name)
    self._num_heads = num_heads
    self._word_size = word_size
    self._strength_op = strength_op

  def _build(self, memory, keys, strengths):
    """Computes the content weights.

    Args:
      memory: `[B, N, W]` memory.
      keys: `[B, H, W]` keys, H = num_heads.
      strengths: `[B, H]` raw strengths.

    Returns:
      `[B, H, N]` weights, each row a distribution over memory locations.
    """
    dot = tf.matmul(keys, memory, adjoint_b=True)
    memory_norms = _vector_norms(memory)
    key_norms = _vector_norms(keys)
    norm = tf.matmul(key_norms, memory_norms, adjoint_b=True)
    similarity = dot / (norm + _EPSILON)
    return weighted_softmax(similarity, strengths, self._strength_op)


class TemporalLinkage(rnn_core.RNNCore):
  """Keeps, per write head, a matrix of the order in which locations were written.

  `link[b, v, i, j]` is the degree to which location i was written right after
  location j by write head v. The state is a `TemporalLinkageState(link
  [B, V, N, N], precedence_weights [B, V, N])`.
  """

  def __init__(self, memory_size, num_writes, name='temporal_linkage'):
    """Constructs the module.

    Args:
      memory_size: number N of memory locations.
      num_writes: number V of write heads.
      name: module name.
    """
    super(TemporalLinkage, self).__init__(name=name)
    self._memory_size = memory_size
    self._num_writes = num_writes

  def _build(self, write_weights, prev_state):
    """Updates the link matrices and precedence weights.

    Args:
      write_weights: `[B, V, N]` write weights of this step.
      prev_state: `TemporalLinkageState` of the previous step.

    Returns:
      The new `TemporalLinkageState` (this core has no separate output).
    """
    link = self._link(prev_state.link, prev_state.precedence_weights,
                      write_weights)
    precedence_weights = self._precedence_weights(prev_state.precedence_weights,
                                                  write_weights)
    return TemporalLinkageState(link=link,
                                precedence_weights=precedence_weights)

  def directional_read_weights(self, link, prev_read_weights, forward):
    """Follows the links forwards or backwards from the previous read weights.

    Args:
      link: `[B, V, N, N]` link matrices.
      prev_read_weights: `[B, R, N]` read weights of the previous step.
      forward: True for `link . w` (where writing went next), False for
        `link^T . w` (where writing came from).

    Returns:
      `[B, R, V, N]` weights, one per pair of read head and write head.
    """
    with tf.name_scope('directional_read_weights'):
      # [B, V, R, N]: the read weights repeated for each write head.
      expanded_read_weights = tf.stack(
          [prev_read_weights] * self._num_writes, 1)
      # Row vectors times link^T (forward) or link (backward).
      result = tf.matmul(expanded_read_weights, link, adjoint_b=forward)
      return tf.transpose(result, perm=[0, 2, 1, 3])

  def _link(self, prev_link, prev_precedence_weights, write_weights):
    """L[i,j] = (1 - w[i] - w[j]) L_prev[i,j] + w[i] p_prev[j], zero diagonal."""
    with tf.name_scope('link'):
      write_weights_i = tf.expand_dims(write_weights, 3)
      write_weights_j = tf.expand_dims(write_weights, 2)
      prev_precedence_weights_j = tf.expand_dims(prev_precedence_weights, 2)
      prev_link_scale = 1 - write_weights_i - write_weights_j
      new_link = write_weights_i * prev_precedence_weights_j
      link = prev_link_scale * prev_link + new_link
      # No self-loops: a location never follows itself.
      return tf.linalg.set_diag(link, tf.zeros_like(write_weights))

  def _precedence_weights(self, prev_precedence_weights, write_weights):
    """p = (1 - sum_i w[i]) p_prev + w, per write head."""
    with tf.name_scope('precedence_weights'):
      write_sum = tf.reduce_sum(write_weights, 2, keepdims=True)
      return (1 - write_sum) * prev_precedence_weights + write_weights

  @property
  def state_size(self):
    return TemporalLinkageState(
        link=tf.TensorShape(
            [self._num_writes, self._memory_size, self._memory_size]),
        precedence_weights=tf.TensorShape(
            [self._num_writes, self._memory_size]))

  @property
  def output_size(self):
    # The core's "output" is its state.
    return self.state_size


class Freeness(rnn_core.RNNCore):
  """Tracks how much each memory location is in use, and allocates free ones.

  The state is the usage `[B, N]`, each entry in [0, 1].
  """

  def __init__(self, memory_size, name='freeness'):
    """Constructs the module.

    Args:
      memory_size: number N of memory locations.
      name: module name.
    """
    super(Freeness, self).__init__(name=name)
    self._memory_size = memory_size

  def _build(self, write_weights, free_gate, read_weights, prev_usage):
    """Updates the usage after the previous step's writes and reads.

    Args:
      write_weights: `[B, V, N]` write weights of the previous step.
      free_gate: `[B, R]` free gates in [0, 1] of this step.
      read_weights: `[B, R, N]` read weights of the previous step.
      prev_usage: `[B, N]` usage of the previous step.

    Returns:
      `[B, N]` new usage.
    """
    # As in the reference implementation, usage is not differentiated with
    # respect to the write weights.
    write_weights = tf.stop_gradient(write_weights)
    usage = self._usage_after_write(prev_usage, write_weights)
    usage = self._usage_after_read(usage, free_gate, read_weights)
    return usage

  def write_allocation_weights(self, usage, write_gates, num_writes):
    """Allocation weights for each write head, earlier heads claiming first.

    Args:
      usage: `[B, N]` current usage.
      write_gates: `[B, V]` how much each head will write (so later heads see
        the locations claimed by earlier ones as more used).
      num_writes: number V of write heads.

    Returns:
      `[B, V, N]` allocation weights.
    """
    with tf.name_scope('write_allocation_weights'):
      write_gates = tf.expand_dims(write_gates, -1)
      allocation_weights = []
      for i in range(num_writes):
        allocation_weights.append(self._allocation(usage))
        # What this head writes to its allocation is now in use.
        usage = usage + ((1 - usage) * write_gates[:, i, :] *
                         allocation_weights[i])
      return tf.stack(allocation_weights, axis=1)

  def _usage_after_write(self, prev_usage, write_weights):
    """u + (1 - u) * (1 - prod_v (1 - w_v))."""
    with tf.name_scope('usage_after_write'):
      write_weights = 1 - reduce_prod(1 - write_weights, 1)
      return prev_usage + (1 - prev_usage) * write_weights

  def _usage_after_read(self, prev_usage, free_gate, read_weights):
    """u * prod_r (1 - f_r w_r)."""
    with tf.name_scope('usage_after_read'):
      free_gate = tf.expand_dims(free_gate, -1)
      free_read_weights = free_gate * read_weights
      phi = reduce_prod(1 - free_read_weights, 1, name='phi')
      return prev_usage * phi

  def _allocation(self, usage):
    """a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], phi sorting u ascending."""
    with tf.name_scope('allocation'):
      usage = _EPSILON + (1 - _EPSILON) * usage
      nonusage = 1 - usage
      sorted_nonusage, indices = tf.nn.top_k(
          nonusage, k=self._memory_size, name='sort')
      sorted_usage = 1 - sorted_nonusage
      prod_sorted_usage = tf.math.cumprod(sorted_usage, axis=1, exclusive=True)
      sorted_allocation = sorted_nonusage * prod_sorted_usage
      inverse_indices = batch_invert_permutation(indices)
      return batch_gather(sorted_allocation, inverse_indices)

  @property
  def state_size(self):
    return tf.TensorShape([self._memory_size])

  @property
  def output_size(self):
    return self.state_size
