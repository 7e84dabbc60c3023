"""Relational Memory Core (Santoro et al. 2018, arXiv:1806.01822)."""

from sonnet.python.modules import basic
from sonnet.python.modules import layer_norm
from sonnet.python.modules import rnn_core
from sonnet.python.modules.nets import mlp
import tensorflow.compat.v1 as tf


class RelationalMemory(rnn_core.RNNCore):
  """Memory of `mem_slots` rows updated by multi-head self-attention.

  Each step the input is projected to one (or, with
  `treat_input_as_matrix`, n) extra rows appended to the memory; `num_blocks`
  blocks of multi-head attention + MLP (each with a residual connection and
  layer norm) update the rows; the input rows are dropped and the result is
  optionally LSTM-style gated against the previous memory.

  State: `[B, mem_slots, mem_size]` with `mem_size = head_size * num_heads`.
  Output: the next memory flattened to `[B, mem_slots * mem_size]`.
  """

  def __init__(self, mem_slots, head_size, num_heads=1, num_blocks=1,
               forget_bias=1.0, input_bias=0.0, gate_style="unit",
               attention_mlp_layers=2, key_size=None,
               name="relational_memory"):
    """Constructs the core.

    Args:
      mem_slots: number of memory rows.
      head_size: size of each attention head's values.
      num_heads: number of attention heads.
      num_blocks: attention+MLP blocks applied per step (>= 1).
      forget_bias: added to the forget gate before the sigmoid.
      input_bias: added to the input gate before the sigmoid.
      gate_style: `"unit"` (per unit), `"memory"` (per row) or None.
      attention_mlp_layers: layers of the shared attention MLP (>= 1).
      key_size: size of queries/keys (default `head_size`).
      name: module name.

    Raises:
      ValueError: invalid `num_blocks`, `gate_style` or
        `attention_mlp_layers`.
    """
    super(RelationalMemory, self).__init__(name=name)
    self._mem_slots = mem_slots
    self._head_size = head_size
    self._num_heads = num_heads
    self._mem_size = self._head_size * self._num_heads

    if num_blocks < 1:
      raise ValueError("num_blocks must be >= 1. Got: {}.".format(num_blocks))
    self._num_blocks = num_blocks

    self._forget_bias = forget_bias
    self._input_bias = input_bias

    if gate_style not in ["unit", "memory", None]:
      raise ValueError(
          "gate_style must be one of ['unit', 'memory', None]. Got: "
          "{}.".format(gate_style))
    self._gate_style = gate_style

    if attention_mlp_layers < 1:
      raise ValueError("attention_mlp_layers must be >= 1. Got: {}.".format(
          attention_mlp_layers))
    self._attention_mlp_layers = attention_mlp_layers

    self._key_size = key_size if key_size else self._head_size
    # Stay None when gate_style is None.
    self._input_gate = None
    self._forget_gate = None

  def initial_state(self, batch_size, trainable=False, dtype=tf.float32,
                    **unused_kwargs):
    """Identity rows, zero-padded or truncated to `mem_size` columns.

    Args:
      batch_size: int or scalar int32 tensor.
      trainable: ignored (kept for the RNNCore interface).
      dtype: dtype of the state (default float32).
      **unused_kwargs: other `RNNCore.initial_state` arguments, ignored, so
        the core can sit inside a `DeepRNN`.

    Returns:
      `[batch_size, mem_slots, mem_size]` tensor.
    """
    del trainable
    init_state = tf.eye(self._mem_slots, batch_shape=[batch_size], dtype=dtype)
    if self._mem_size > self._mem_slots:
      difference = self._mem_size - self._mem_slots
      pad = tf.zeros((batch_size, self._mem_slots, difference), dtype=dtype)
      init_state = tf.concat([init_state, pad], -1)
    elif self._mem_size < self._mem_slots:
      init_state = init_state[:, :, :self._mem_size]
    return init_state

  def _multihead_attention(self, memory):
    """Multi-head dot-product self-attention over the rows of `memory`."""
    key_size = self._key_size
    value_size = self._head_size

    qkv_size = 2 * key_size + value_size
    total_size = qkv_size * self._num_heads
    qkv = basic.BatchApply(basic.Linear(total_size))(memory)
    qkv = basic.BatchApply(layer_norm.LayerNorm())(qkv)

    mem_slots = memory.get_shape().as_list()[1]
    # [B, N, F] -> [B, N, H, F/H] -> [B, H, N, F/H]
    qkv_reshape = basic.BatchReshape([mem_slots, self._num_heads,
                                      qkv_size])(qkv)
    qkv_transpose = tf.transpose(qkv_reshape, [0, 2, 1, 3])
    q, k, v = tf.split(qkv_transpose, [key_size, key_size, value_size], -1)

    q *= key_size ** -0.5
    dot_product = tf.matmul(q, k, transpose_b=True)  # [B, H, N, N]
    weights = tf.nn.softmax(dot_product)
    output = tf.matmul(weights, v)  # [B, H, N, V]
    output_transpose = tf.transpose(output, [0, 2, 1, 3])
    return basic.BatchFlatten(preserve_dims=2)(output_transpose)

  @property
  def state_size(self):
    return tf.TensorShape([self._mem_slots, self._mem_size])

  @property
  def output_size(self):
    return tf.TensorShape(self._mem_slots * self._mem_size)

  def _calculate_gate_size(self):
    if self._gate_style == "unit":
      return self._mem_size
    if self._gate_style == "memory":
      return 1
    return 0

  def _create_gates(self, inputs, memory):
    """Input and forget gates `[B, mem_slots, gate_size]` each."""
    num_gates = 2 * self._calculate_gate_size()
    memory = tf.tanh(memory)
    inputs = basic.BatchFlatten()(inputs)
    gate_inputs = basic.BatchApply(basic.Linear(num_gates), n_dims=1)(inputs)
    gate_inputs = tf.expand_dims(gate_inputs, axis=1)
    gate_memory = basic.BatchApply(basic.Linear(num_gates))(memory)
    input_gate, forget_gate = tf.split(gate_memory + gate_inputs,
                                       num_or_size_splits=2, axis=2)
    input_gate = tf.sigmoid(input_gate + self._input_bias)
    forget_gate = tf.sigmoid(forget_gate + self._forget_bias)
    return input_gate, forget_gate

  def _attend_over_memory(self, memory):
    """`num_blocks` rounds of attention and MLP, each residual + layer norm."""
    attention_mlp = basic.BatchApply(
        mlp.MLP([self._mem_size] * self._attention_mlp_layers))
    for _ in range(self._num_blocks):
      attended_memory = self._multihead_attention(memory)
      memory = basic.BatchApply(layer_norm.LayerNorm())(
          memory + attended_memory)
      memory = basic.BatchApply(layer_norm.LayerNorm())(
          attention_mlp(memory) + memory)
    return memory

  def _build(self, inputs, memory, treat_input_as_matrix=False):
    """Updates the memory with the input.

    Args:
      inputs: `[B, ...]` (flattened to a vector), or with
        `treat_input_as_matrix` `[B, n, ...]` (n input rows).
      memory: `[B, mem_slots, mem_size]`.
      treat_input_as_matrix: see `inputs`.

    Returns:
      `(output [B, mem_slots * mem_size], next_memory)`.
    """
    memory = tf.convert_to_tensor(memory)
    memory_shape = memory.get_shape()
    if (memory_shape.ndims != 3 or
        memory_shape[1:].as_list() != [self._mem_slots, self._mem_size]):
      raise ValueError(
          "memory must have shape [batch, mem_slots={}, mem_size={}], got "
          "{}.".format(self._mem_slots, self._mem_size, memory_shape))
    if treat_input_as_matrix:
      inputs = basic.BatchFlatten(preserve_dims=2)(inputs)
      inputs_reshape = basic.BatchApply(
          basic.Linear(self._mem_size), n_dims=2)(inputs)
    else:
      inputs = basic.BatchFlatten()(inputs)
      inputs = basic.Linear(self._mem_size)(inputs)
      inputs_reshape = tf.expand_dims(inputs, 1)

    memory_plus_input = tf.concat([memory, inputs_reshape], axis=1)
    next_memory = self._attend_over_memory(memory_plus_input)

    n = inputs_reshape.get_shape().as_list()[1]
    next_memory = next_memory[:, :-n, :]

    if self._gate_style == "unit" or self._gate_style == "memory":
      self._input_gate, self._forget_gate = self._create_gates(
          inputs_reshape, memory)
      next_memory = self._input_gate * tf.tanh(next_memory)
      next_memory += self._forget_gate * memory

    output = basic.BatchFlatten()(next_memory)
    return output, next_memory

  @property
  def input_gate(self):
    """Input gate of the last connection (`NotConnectedError` before)."""
    self._ensure_is_connected()
    return self._input_gate

  @property
  def forget_gate(self):
    """Forget gate of the last connection (`NotConnectedError` before)."""
    self._ensure_is_connected()
    return self._forget_gate
