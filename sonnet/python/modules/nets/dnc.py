"""The Differentiable Neural Computer (Graves et al., Nature 2016) as Sonnet cores.

`DNC` is an RNN core made of an `snt.LSTM` controller and a `MemoryAccess`
core; `MemoryAccess` reads its interface vector from the controller output
with `snt.Linear` layers and addresses the memory with the modules of
`dnc_addressing` (re-exported here, so every public name is reachable as
`snt.nets.dnc.<name>`).

Shape names: B batch, N memory size, W word size, R read heads, V write heads.
"""

import collections

import numpy as np
import tensorflow.compat.v1 as tf

from sonnet.python.modules import basic
from sonnet.python.modules import gated_rnn
from sonnet.python.modules import rnn_core
from sonnet.python.modules.nets import dnc_addressing
# pylint: disable=unused-import
from sonnet.python.modules.nets.dnc_addressing import batch_gather
from sonnet.python.modules.nets.dnc_addressing import batch_invert_permutation
from sonnet.python.modules.nets.dnc_addressing import CosineWeights
from sonnet.python.modules.nets.dnc_addressing import Freeness
from sonnet.python.modules.nets.dnc_addressing import one_hot
from sonnet.python.modules.nets.dnc_addressing import reduce_prod
from sonnet.python.modules.nets.dnc_addressing import TemporalLinkage
from sonnet.python.modules.nets.dnc_addressing import TemporalLinkageState
from sonnet.python.modules.nets.dnc_addressing import weighted_softmax
# pylint: enable=unused-import

AccessState = collections.namedtuple(
    'AccessState',
    ('memory', 'read_weights', 'write_weights', 'linkage', 'usage'))

DNCState = collections.namedtuple(
    'DNCState', ('access_output', 'access_state', 'controller_state'))


def _erase_and_write(memory, address, reset_weights, values):
  """M = M_prev * prod_v (1 - w_v e_v^T) + sum_v w_v a_v^T.

  Args:
    memory: `[B, N, W]` memory.
    address: `[B, V, N]` write weights.
    reset_weights: `[B, V, W]` erase vectors in [0, 1].
    values: `[B, V, W]` write vectors.

  Returns:
    `[B, N, W]` memory after erasing and writing.
  """
  with tf.name_scope('erase_memory', values=[memory, address, reset_weights]):
    expand_address = tf.expand_dims(address, 3)
    reset_weights = tf.expand_dims(reset_weights, 2)
    weighted_resets = expand_address * reset_weights
    reset_gate = reduce_prod(1 - weighted_resets, 1)
    memory = memory * reset_gate

  with tf.name_scope('additive_write', values=[memory, address, values]):
    add_matrix = tf.matmul(address, values, adjoint_a=True)
    memory = memory + add_matrix

  return memory


class MemoryAccess(rnn_core.RNNCore):
  """Reads from and writes to an external memory, as in the DNC.

  Each step reads the interface vector from its input with linear layers,
  updates usage, writes with allocation- and content-based weights, updates
  the temporal links, and reads with content, forward and backward weights.
  Input `[B, input_size]`; output: the read words `[B, R, W]`; state an
  `AccessState`.
  """

  def __init__(self, memory_size=128, word_size=20, num_reads=1, num_writes=1,
               name='memory_access'):
    """Constructs the core.

    Args:
      memory_size: number N of memory locations.
      word_size: width W of each memory word.
      num_reads: number R of read heads.
      num_writes: number V of write heads.
      name: module name.
    """
    super(MemoryAccess, self).__init__(name=name)
    self._memory_size = memory_size
    self._word_size = word_size
    self._num_reads = num_reads
    self._num_writes = num_writes

    with self._enter_variable_scope(check_same_graph=False):
      self._write_content_weights_mod = CosineWeights(
          num_writes, word_size, name='write_content_weights')
      self._read_content_weights_mod = CosineWeights(
          num_reads, word_size, name='read_content_weights')
      self._linkage = TemporalLinkage(memory_size, num_writes)
      self._freeness = Freeness(memory_size)

  def _build(self, inputs, prev_state):
    """One memory step.

    Args:
      inputs: `[B, input_size]` controller output.
      prev_state: `AccessState` of the previous step.

    Returns:
      `(read_words [B, R, W], AccessState)`.
    """
    inputs = self._read_inputs(inputs)

    usage = self._freeness(
        write_weights=prev_state.write_weights,
        free_gate=inputs['free_gate'],
        read_weights=prev_state.read_weights,
        prev_usage=prev_state.usage)

    write_weights = self._write_weights(inputs, prev_state.memory, usage)
    memory = _erase_and_write(
        prev_state.memory,
        address=write_weights,
        reset_weights=inputs['erase_vectors'],
        values=inputs['write_vectors'])

    linkage_state = self._linkage(write_weights, prev_state.linkage)

    read_weights = self._read_weights(
        inputs,
        memory=memory,
        prev_read_weights=prev_state.read_weights,
        link=linkage_state.link)
    read_words = tf.matmul(read_weights, memory)

    return (read_words, AccessState(
        memory=memory,
        read_weights=read_weights,
        write_weights=write_weights,
        linkage=linkage_state,
        usage=usage))

  def _read_inputs(self, inputs):
    """Splits the input into the interface parts (a dict of tensors)."""

    def _linear(first_dim, second_dim, name, activation=None):
      """Linear layer to first_dim * second_dim units, reshaped to 2-D."""
      linear = basic.Linear(first_dim * second_dim, name=name)(inputs)
      if activation is not None:
        linear = activation(linear, name=name + '_activation')
      return tf.reshape(linear, [-1, first_dim, second_dim])

    # The vectors written to memory, per write head.
    write_vectors = _linear(self._num_writes, self._word_size, 'write_vectors')
    # How much each write head erases before writing.
    erase_vectors = _linear(self._num_writes, self._word_size, 'erase_vectors',
                            tf.sigmoid)
    # How much the locations read last step may be freed, per read head.
    free_gate = tf.sigmoid(
        basic.Linear(self._num_reads, name='free_gate')(inputs))
    # Allocation versus content-based writing, per write head.
    allocation_gate = tf.sigmoid(
        basic.Linear(self._num_writes, name='allocation_gate')(inputs))
    # Overall amount written, per write head.
    write_gate = tf.sigmoid(
        basic.Linear(self._num_writes, name='write_gate')(inputs))
    # Per read head: backward (V), forward (V) and content (1) read modes.
    num_read_modes = 1 + 2 * self._num_writes
    read_mode = basic.BatchApply(tf.nn.softmax)(
        _linear(self._num_reads, num_read_modes, name='read_mode'))

    write_keys = _linear(self._num_writes, self._word_size, 'write_keys')
    write_strengths = basic.Linear(self._num_writes,
                                   name='write_strengths')(inputs)
    read_keys = _linear(self._num_reads, self._word_size, 'read_keys')
    read_strengths = basic.Linear(self._num_reads,
                                  name='read_strengths')(inputs)

    return {
        'read_content_keys': read_keys,
        'read_content_strengths': read_strengths,
        'write_content_keys': write_keys,
        'write_content_strengths': write_strengths,
        'write_vectors': write_vectors,
        'erase_vectors': erase_vectors,
        'free_gate': free_gate,
        'allocation_gate': allocation_gate,
        'write_gate': write_gate,
        'read_mode': read_mode,
    }

  def _write_weights(self, inputs, memory, usage):
    """w = g_w (g_a a + (1 - g_a) c): `[B, V, N]` write weights.

    Args:
      inputs: dict with 'allocation_gate', 'write_gate' ([B, V]),
        'write_content_keys' ([B, V, W]) and 'write_content_strengths'
        ([B, V]).
      memory: `[B, N, W]` memory before this step's write.
      usage: `[B, N]` usage after the free gates.
    """
    with tf.name_scope('write_weights', values=[inputs, memory, usage]):
      write_content_weights = self._write_content_weights_mod(
          memory, inputs['write_content_keys'],
          inputs['write_content_strengths'])
      write_allocation_weights = self._freeness.write_allocation_weights(
          usage=usage,
          write_gates=(inputs['allocation_gate'] * inputs['write_gate']),
          num_writes=self._num_writes)

      allocation_gate = tf.expand_dims(inputs['allocation_gate'], -1)
      write_gate = tf.expand_dims(inputs['write_gate'], -1)
      return write_gate * (allocation_gate * write_allocation_weights +
                           (1 - allocation_gate) * write_content_weights)

  def _read_weights(self, inputs, memory, prev_read_weights, link):
    """Mixes content, forward and backward weights: `[B, R, N]` read weights.

    Args:
      inputs: dict with 'read_content_keys' ([B, R, W]),
        'read_content_strengths' ([B, R]) and 'read_mode' ([B, R, 1 + 2V]).
      memory: `[B, N, W]` memory after this step's write.
      prev_read_weights: `[B, R, N]`.
      link: `[B, V, N, N]` link matrices after this step's write.
    """
    with tf.name_scope(
        'read_weights', values=[inputs, memory, prev_read_weights, link]):
      content_weights = self._read_content_weights_mod(
          memory, inputs['read_content_keys'], inputs['read_content_strengths'])

      forward_weights = self._linkage.directional_read_weights(
          link, prev_read_weights, forward=True)
      backward_weights = self._linkage.directional_read_weights(
          link, prev_read_weights, forward=False)

      read_mode = inputs['read_mode']
      backward_mode = read_mode[:, :, :self._num_writes]
      forward_mode = read_mode[:, :, self._num_writes:2 * self._num_writes]
      content_mode = read_mode[:, :, 2 * self._num_writes]

      return (tf.expand_dims(content_mode, 2) * content_weights +
              tf.reduce_sum(tf.expand_dims(forward_mode, 3) * forward_weights,
                            2) +
              tf.reduce_sum(tf.expand_dims(backward_mode, 3) *
                            backward_weights, 2))

  @property
  def state_size(self):
    return AccessState(
        memory=tf.TensorShape([self._memory_size, self._word_size]),
        read_weights=tf.TensorShape([self._num_reads, self._memory_size]),
        write_weights=tf.TensorShape([self._num_writes, self._memory_size]),
        linkage=self._linkage.state_size,
        usage=self._freeness.state_size)

  @property
  def output_size(self):
    return tf.TensorShape([self._num_reads, self._word_size])


class DNC(rnn_core.RNNCore):
  """The DNC core: an LSTM controller with a differentiable memory.

  Each step the controller reads the input and the previous read words; its
  output drives the memory access; the step's output is a linear map of the
  controller output and the new read words. Input `[B, ...]`; output
  `[B, output_size]`; state a `DNCState`.
  """

  def __init__(self, access_config, controller_config, output_size,
               clip_value=None, name='dnc'):
    """Constructs the core.

    Args:
      access_config: keyword arguments of `MemoryAccess`.
      controller_config: keyword arguments of `snt.LSTM` (e.g.
        `{'hidden_size': 64}`).
      output_size: size of the output at each step.
      clip_value: if positive, the controller output, the controller state
        and the final output are clipped to [-clip_value, clip_value].
      name: module name.
    """
    super(DNC, self).__init__(name=name)

    with self._enter_variable_scope(check_same_graph=False):
      self._controller = gated_rnn.LSTM(**controller_config)
      self._access = MemoryAccess(**access_config)

    self._access_output_size = int(np.prod(self._access.output_size.as_list()))
    self._clip_value = clip_value or 0
    self._output_size = tf.TensorShape([output_size])
    # The reference code declared access_output's size flattened (R * W) while
    # the state actually carries [B, R, W] read words; the true shape is
    # declared here so that zero_state() and dynamic_rnn agree with
    # initial_state().
    self._state_size = DNCState(
        access_output=self._access.output_size,
        access_state=self._access.state_size,
        controller_state=self._controller.state_size)

  def _clip_if_enabled(self, x):
    if self._clip_value > 0:
      return tf.clip_by_value(x, -self._clip_value, self._clip_value)
    return x

  def _build(self, inputs, prev_state):
    """One DNC step.

    Args:
      inputs: `[B, ...]` input (flattened to `[B, -1]`).
      prev_state: `DNCState` of the previous step.

    Returns:
      `(output [B, output_size], DNCState)`.
    """
    prev_access_output = prev_state.access_output
    prev_access_state = prev_state.access_state
    prev_controller_state = prev_state.controller_state

    batch_flatten = basic.BatchFlatten()
    controller_input = tf.concat(
        [batch_flatten(inputs), batch_flatten(prev_access_output)], 1)

    controller_output, controller_state = self._controller(
        controller_input, prev_controller_state)

    controller_output = self._clip_if_enabled(controller_output)
    controller_state = tf.nest.map_structure(self._clip_if_enabled,
                                             controller_state)

    access_output, access_state = self._access(controller_output,
                                               prev_access_state)

    output = tf.concat([controller_output, batch_flatten(access_output)], 1)
    output = basic.Linear(
        output_size=self._output_size.as_list()[0],
        name='output_linear')(output)
    output = self._clip_if_enabled(output)

    return output, DNCState(
        access_output=access_output,
        access_state=access_state,
        controller_state=controller_state)

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None, **unused_kwargs):
    """Zero `DNCState` for `batch_size` (controller part from the LSTM).

    With `trainable=True` the whole state is learned (`RNNCore.initial_state`).
    """
    if trainable:
      return super(DNC, self).initial_state(
          batch_size, dtype=dtype, trainable=True,
          trainable_initializers=trainable_initializers,
          trainable_regularizers=trainable_regularizers, name=name)
    with tf.name_scope(self._initial_state_scope(name)):
      return DNCState(
          controller_state=self._controller.initial_state(batch_size, dtype),
          access_state=self._access.initial_state(batch_size, dtype),
          access_output=tf.zeros(
              [batch_size] + self._access.output_size.as_list(), dtype))

  @property
  def state_size(self):
    return self._state_size

  @property
  def output_size(self):
    return self._output_size
