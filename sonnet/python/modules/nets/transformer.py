"""Transformer family: multi-head attention, TransformerTower, TransformerXL
(Dai et al. 2019) and the Compressive Transformer (Rae et al. 2019).

Sizes: B batch, N chunk (sequence) length, M memory length, H heads, K key
size, V value size, HV = H * V the embedding size.
"""

import collections
import functools

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import basic
from sonnet.python.modules import conv
from sonnet.python.modules import layer_norm as snt_layer_norm
from sonnet.python.modules import rnn_core
from sonnet.python.modules import util
from sonnet.python.modules.nets import mlp as snt_mlp
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import smart_cond

AttentionState = collections.namedtuple(
    "AttentionState", ("queries", "keys", "values", "logits", "weights",
                       "embeddings", "read_words"))

CompressedMemoryState = collections.namedtuple(
    "CompressedMemoryState", ("episodic_memory", "compressed_memory", "index"))


def rel_shift(position_logits):
  """Shifts row i of `[B, H, T1, T2]` relative logits right by `T1 - 1 - i`.

  Implements the Transformer-XL "relative shift" (pad a zero column, reshape,
  drop the first row, reshape back).

  Args:
    position_logits: rank-4 tensor `[B, H, T1, T2]`.

  Returns:
    Tensor of the same shape.

  Raises:
    ValueError: if the input is not rank 4.
  """
  position_logits = tf.convert_to_tensor(position_logits)
  if position_logits.get_shape().ndims != 4:
    raise ValueError("Expected 4D position logits.")
  input_shape = tf.shape(position_logits)
  batch_size = input_shape[0]
  num_heads = input_shape[1]
  t1 = input_shape[2]
  t2 = input_shape[3]
  to_pad = tf.zeros([batch_size, num_heads, t1, 1],
                    dtype=position_logits.dtype)
  padded = tf.concat([to_pad, position_logits], -1)
  padded = tf.reshape(padded, [batch_size, num_heads, t2 + 1, t1])
  shifted = tf.reshape(padded[:, :, 1:], input_shape)
  shifted.set_shape(position_logits.get_shape())
  return shifted


def _maybe_dropout(x, is_training, rate):
  """Dropout when `is_training` (a Python bool or a boolean tensor)."""
  return smart_cond.smart_cond(
      is_training, lambda: tf.nn.dropout(x, rate=rate), lambda: x)


def _to_tensors(structure):
  """Converts every leaf (e.g. a NumPy array) to a tensor; None stays."""
  return tf.nest.map_structure(
      lambda x: x if x is None else tf.convert_to_tensor(x), structure)


def _layer_norm(inputs):
  """LayerNorm over the last axis (through BatchApply for rank > 2)."""
  if inputs.get_shape().ndims > 2:
    return basic.BatchApply(snt_layer_norm.LayerNorm())(inputs)
  return snt_layer_norm.LayerNorm()(inputs)


def _concat_and_slice(prev_memory, new_memory):
  """Appends `new_memory` on axis 1; returns (last prev-size rows, concat)."""
  original_memory_size = prev_memory.get_shape().as_list()[1]
  concat_memory = tf.concat([prev_memory, new_memory], 1)
  # Upstream sliced `[:, -size:]`, which keeps everything when size is 0.
  if original_memory_size == 0:
    return concat_memory[:, :0], concat_memory
  return concat_memory[:, -original_memory_size:], concat_memory


def simple_attention(queries, keys, values):
  """`softmax(queries keys^T) values` over the last two axes."""
  logits = tf.matmul(queries, keys, transpose_b=True)
  att_weights = tf.nn.softmax(logits)
  return tf.matmul(att_weights, values)


class ResidualDropoutWrapper(base.AbstractModule):
  """`inputs + dropout(layer(layer_norm(inputs)))`, optional output norm.

  `layer_norm` is one of `"input"`, `"output"`, `"both"` or `"none"`. The
  wrapped layer may return `(output, state)`; the state is passed through.
  Calls must pass `is_training` (a Python bool or boolean tensor) as a
  keyword argument.
  """

  def __init__(self, layer, dropout_rate, layer_norm="input",
               name="residual_dropout_wrapper"):
    self._module = layer
    self._dropout_rate = dropout_rate
    self._layer_norm = layer_norm
    super(ResidualDropoutWrapper, self).__init__(name=name)

  def _build(self, inputs, *args, **kwargs):
    if "is_training" not in kwargs:
      raise ValueError("ResidualDropoutWrapper must be called with an "
                       "`is_training` keyword argument.")
    if self._layer_norm in ("both", "input"):
      normed_inputs = _layer_norm(inputs)
    else:
      normed_inputs = inputs
    module_output = self._module(normed_inputs, *args, **kwargs)
    module_state = None
    if isinstance(module_output, tuple):
      module_output, module_state = module_output
    module_output = _maybe_dropout(module_output, kwargs["is_training"],
                                   self._dropout_rate)
    output = inputs + module_output
    if self._layer_norm in ("both", "output"):
      output = _layer_norm(output)
    if module_state is None:
      return output
    return output, module_state


def future_mask(chunk_size, dtype):
  """`[1, 1, N, N]` additive mask: -1e6 where key j is after query i."""
  square = tf.ones([chunk_size, chunk_size], dtype=dtype)
  upper = tf.matrix_band_part(square, 0, -1) - tf.matrix_band_part(square, 0, 0)
  return tf.reshape(-1e6 * upper, [1, 1, chunk_size, chunk_size])


def _memory_size(state):
  if isinstance(state, CompressedMemoryState):
    return (state.episodic_memory.get_shape().as_list()[1] +
            state.compressed_memory.get_shape().as_list()[1])
  return state.get_shape().as_list()[1]


def create_mask(inputs, state, equal_window):
  """Causal mask `[1, 1, N, M + N]` for a chunk attending over memory + itself.

  Args:
    inputs: `[B, N, D]` chunk.
    state: None, a memory tensor `[B, M, D]`, a `CompressedMemoryState`, or a
      list/tuple of those (one per layer: the largest memory is used).
    equal_window: if True, query i also ignores chunk positions before i, so
      every query sees the same number of keys.

  Returns:
    The additive mask (0 = visible, -1e6 = masked).
  """
  inputs = tf.convert_to_tensor(inputs)
  chunk_size = inputs.get_shape().as_list()[1]
  dtype = inputs.dtype
  mask = future_mask(chunk_size, dtype)
  if state is not None:
    if (isinstance(state, (tuple, list)) and
        not isinstance(state, CompressedMemoryState)):
      largest_memory_layer = int(np.argmax([_memory_size(s) for s in state]))
      state = state[largest_memory_layer]
    mem_size = _memory_size(state)
    mask = tf.concat(
        [tf.zeros([1, 1, chunk_size, mem_size], dtype=dtype), mask], 3)

  if equal_window:
    attn_mask = tf.ones([chunk_size, chunk_size], dtype=dtype)
    mask_dia = tf.matrix_band_part(attn_mask, 0, 0)
    mask_l = tf.matrix_band_part(attn_mask, -1, 0)
    start_mask = tf.reshape(mask_l - mask_dia,
                            [1, 1, chunk_size, chunk_size]) * -1e6
    mask = tf.concat(
        [mask[:, :, :, :chunk_size] + start_mask, mask[:, :, :, chunk_size:]],
        3)
  return mask


def default_mlp(hidden_sizes, activate_final=False, init_std=2., **kwargs):
  """`BatchApply(MLP)` with dropout and variance-scaling weights.

  Call it with `is_training` and `dropout_keep_prob` keyword arguments.
  """
  w_init = tf.variance_scaling_initializer(scale=init_std,
                                           distribution="normal")
  mlp_module = snt_mlp.MLP(hidden_sizes, activate_final=activate_final,
                           use_dropout=True, initializers={"w": w_init},
                           **kwargs)
  return basic.BatchApply(mlp_module)


def get_position_encodings(sequence_length, hidden_size, clamp_value,
                           max_timescale=10000., min_timescale=2.0):
  """Sinusoid encodings `[1, L, hidden_size]` of descending positions L-1..0.

  Args:
    sequence_length: L.
    hidden_size: D (must be even with the default `min_timescale`).
    clamp_value: if > 0, positions are clamped to at most this value.
    max_timescale: maximum timescale.
    min_timescale: step of the frequency range.

  Returns:
    `[1, L, D]` tensor `concat([sin(pos * f), cos(pos * f)], -1)`.

  Raises:
    ValueError: if the encoding size differs from `hidden_size`.
  """
  pos_seq = tf.range(sequence_length - 1, -1, -1.0)
  if clamp_value > 0:
    pos_seq = tf.minimum(pos_seq, clamp_value)
  freqs = tf.range(0, hidden_size, min_timescale)
  inv_freq = 1 / (max_timescale**(freqs / hidden_size))
  sinusoid_inp = tf.einsum("i,j->ij", pos_seq, inv_freq)
  pos_emb = tf.concat([tf.sin(sinusoid_inp), tf.cos(sinusoid_inp)], -1)
  pos_emb = tf.expand_dims(pos_emb, 0)
  output_dim = pos_emb.get_shape().as_list()[-1]
  if output_dim != hidden_size:
    raise ValueError(
        "position embedding dimension ({}) does not match that of the input "
        "({}).".format(output_dim, hidden_size))
  return pos_emb


class MultiheadAttention(base.AbstractModule):
  """Multi-head dot-product attention, optionally with relative positions.

  Keys/values attend over `concat(memory, inputs)`; queries come from
  `query_inputs` (default `inputs`). Output `[B, L, HV]` after a final
  linear layer mixing the heads, plus an `AttentionState`.
  """

  def __init__(self, value_size, key_size, num_heads, mask=None,
               scaling=True, positional_encodings=None,
               use_relative_positions=False, init_std=2.,
               name="multihead_attention"):
    """Constructs the module.

    Args:
      value_size: V, size of each head's values.
      key_size: K, size of each head's queries and keys.
      num_heads: H.
      mask: optional additive mask broadcastable to `[B, H, L, N + M]`
        (cropped to its last N + M columns if wider).
      scaling: scale queries by `K ** -0.5`.
      positional_encodings: list of `(key_positions, query_positions)` pairs
        (one per memory type), or a single pair for absolute encodings.
      use_relative_positions: Transformer-XL relative attention.
      init_std: scale of the weights' variance-scaling initializer.
      name: module name.
    """
    super(MultiheadAttention, self).__init__(name=name)
    self._value_size = value_size
    self._key_size = key_size
    self._sizes = {
        "value": self._value_size,
        "key": self._key_size,
        "query": self._key_size,
        "relative_keys": self._key_size,
        "relative_keys_0": self._key_size,
    }
    self._num_heads = num_heads
    self._mask = mask
    self._scaling = scaling
    self._positional_encodings = positional_encodings
    self._use_relative_positions = use_relative_positions
    self._init = {"w": tf.variance_scaling_initializer(init_std)}

  @util.reuse_variables
  def multihead_linear(self, inputs, name):
    """Projects `[B, L, D]` to `[B, H, L, size]` (variable `name/linear/w`)."""
    with tf.variable_scope(name, reuse=tf.AUTO_REUSE):
      hidden_size = self._sizes.get(name, self._key_size)
      input_size = tf.dimension_value(inputs.shape[-1])
      w = tf.get_variable(
          "linear/w", shape=[input_size, self._num_heads * hidden_size],
          dtype=inputs.dtype, initializer=self._init["w"])
      w = tf.reshape(w, [input_size, self._num_heads, hidden_size])
      return tf.einsum("bij,jhk->bhik", inputs, w)

  def _absolute_positions(self, att_size):
    encodings = self._positional_encodings
    if (isinstance(encodings, (list, tuple)) and encodings and
        isinstance(encodings[0], (list, tuple))):
      # A list of (key, query) pairs, one per memory type: the last one
      # covers the episodic memory and the chunk.
      encodings = encodings[-1]
    key_positions, query_positions = encodings
    key_len = key_positions.get_shape().as_list()[1]
    if key_len is not None and key_len > att_size:
      key_positions = key_positions[:, -att_size:]
    elif key_len is not None and key_len < att_size:
      raise ValueError(
          "Absolute key positional encodings cover {} positions but the "
          "attention spans {}.".format(key_len, att_size))
    return key_positions, query_positions

  def _build(self, inputs, query_inputs=None, state=None, is_training=False,
             dropout_keep_prob=0.5):
    """Attends; see the class docstring.

    Args:
      inputs: `[B, N, D]`.
      query_inputs: optional `[B, L, D]` queries (default `inputs`).
      state: optional memory `[B, M, D]` or `CompressedMemoryState`.
      is_training: apply dropout to the attention weights.
      dropout_keep_prob: keep probability of that dropout.

    Returns:
      `(output [B, L, HV], AttentionState)`.
    """
    inputs, query_inputs, state = _to_tensors((inputs, query_inputs, state))
    embedding_size = self._value_size * self._num_heads

    q_inputs = inputs if query_inputs is None else query_inputs
    query_size = q_inputs.get_shape().as_list()[1]

    if state is not None:
      if isinstance(state, CompressedMemoryState):
        state_memory_list = [state.compressed_memory, state.episodic_memory]
      else:
        state_memory_list = [state]
      k_inputs = tf.concat(state_memory_list + [inputs], 1)
      v_inputs = k_inputs
    else:
      k_inputs = inputs
      v_inputs = inputs

    batch_size = tf.shape(inputs)[0]
    chunk_size = inputs.get_shape().as_list()[1]
    att_size = k_inputs.get_shape().as_list()[1]

    if self._positional_encodings and not self._use_relative_positions:
      key_positions, query_positions = self._absolute_positions(att_size)
      k_inputs += key_positions
      q_inputs += query_positions

    q = self.multihead_linear(q_inputs, "query")  # [B, H, L, K]
    k = self.multihead_linear(k_inputs, "key")  # [B, H, N + M, K]
    v = self.multihead_linear(v_inputs, "value")  # [B, H, N + M, V]

    if self._scaling:
      q *= self._key_size**-0.5

    if self._use_relative_positions:
      r_w_bias = tf.get_variable(
          "r_w_bias", [1, self._num_heads, 1, self._key_size],
          dtype=inputs.dtype)
      content_logits = tf.matmul(q + r_w_bias, k, transpose_b=True)
      all_relative_logits = []
      for i, positional_encodings in enumerate(self._positional_encodings):
        key_positions, _ = positional_encodings
        # Upstream compared the last (feature) axis here; the crop is over
        # positions (axis 1), which is what is compared.
        if key_positions.get_shape().as_list()[1] > att_size:
          key_positions = key_positions[:, -att_size:]
        is_final = i == len(self._positional_encodings) - 1
        suffix = "" if is_final else "_%d" % i
        relative_keys = self.multihead_linear(
            key_positions, name="relative_keys" + suffix)
        r_r_bias = tf.get_variable(
            "r_r_bias" + suffix, [1, self._num_heads, 1, self._key_size],
            dtype=inputs.dtype)
        relative_keys = tf.tile(relative_keys, [batch_size, 1, 1, 1])
        relative_logits = tf.matmul(
            q + r_r_bias, relative_keys, transpose_b=True)
        relative_logits = rel_shift(relative_logits)
        if not is_final:  # The chunk's own positions come with the last.
          relative_logits = relative_logits[:, :, :, :-chunk_size]
        all_relative_logits.append(relative_logits)
      all_relative_logits = tf.concat(all_relative_logits, 3)
      logits = content_logits + all_relative_logits
    else:
      logits = tf.matmul(q, k, transpose_b=True)  # [B, H, L, N + M]
      content_logits = logits

    if self._mask is not None:
      if self._mask.get_shape().as_list()[-1] != att_size:
        mask = self._mask[:, :, :, -att_size:]
      else:
        mask = self._mask
      logits += mask

    weights = tf.nn.softmax(logits)
    weights = _maybe_dropout(weights, is_training, 1. - dropout_keep_prob)
    output_transpose = tf.einsum("bhij,bhjk->bihk", weights, v)  # [B,L,H,V]
    attended_inputs = basic.BatchReshape([query_size, embedding_size])(
        output_transpose)
    output = basic.BatchApply(basic.Linear(embedding_size))(attended_inputs)

    attention_state = AttentionState(
        queries=q, keys=k, values=v, weights=weights, logits=content_logits,
        embeddings=inputs, read_words=output)
    return output, attention_state


class TransformerTower(base.AbstractModule):
  """A stack of (attention, MLP) layers, each in a ResidualDropoutWrapper.

  Inputs `[B, N, HV]` (the residual connections need width HV after the
  optional `condition` is appended). Returns `(output, [AttentionState per
  layer])`; output is `[B, N, HV]` or `[B, N, output_size]`.
  """

  def __init__(self, value_size, num_heads, num_layers, causal=True,
               key_size=None, shared_attention=False, output_size=None,
               mlp_hidden_sizes=tuple([1024]), dropout_rate=0.1,
               use_relative_positions=True, clamp_time_range=0,
               same_attention_length=False, layer_norm="input",
               name="transformer_tower"):
    """Constructs the tower.

    Args:
      value_size: V.
      num_heads: H.
      num_layers: number of layers.
      causal: mask attention to future positions.
      key_size: K (default V).
      shared_attention: reuse layer 0's attention module in every layer.
      output_size: optional size of a final bias-free linear projection.
      mlp_hidden_sizes: hidden sizes of each layer's MLP (HV is appended).
      dropout_rate: dropout rate (positions, residual branches, MLPs).
      use_relative_positions: Transformer-XL relative attention.
      clamp_time_range: clamp relative positions to this value if > 0.
      same_attention_length: equal attention window for every query.
      layer_norm: "input", "output", "both" or "none".
      name: module name.
    """
    super(TransformerTower, self).__init__(name=name)
    self._causal = causal
    self._mask = None
    if key_size is None:
      key_size = value_size
    self._key_size = key_size
    self._value_size = value_size
    self._shared_attention = shared_attention
    self._num_heads = num_heads
    self._num_layers = num_layers
    self._output_size = output_size
    self._embedding_size = self._value_size * self._num_heads
    self._mlp_hidden_sizes = list(mlp_hidden_sizes) + [self._embedding_size]
    self._multihead_attention = None
    self._dropout_rate = dropout_rate
    self._positional_encodings = None
    self._use_relative_positions = use_relative_positions
    self._clamp_time_range = clamp_time_range
    self._same_attention_length = same_attention_length
    self._layer_norm = layer_norm
    self._attention_modules = []

  def get_sublayers(self, is_training):
    """Creates one layer's (attention, MLP) residual sublayers."""
    del is_training
    if self._multihead_attention is None or not self._shared_attention:
      attention_module = MultiheadAttention(
          value_size=self._value_size,
          key_size=self._key_size,
          num_heads=self._num_heads,
          mask=self._mask,
          positional_encodings=self._positional_encodings,
          use_relative_positions=self._use_relative_positions,
          init_std=2. / np.sqrt(self._num_layers),
      )
      self._multihead_attention = ResidualDropoutWrapper(
          attention_module, self._dropout_rate, layer_norm=self._layer_norm)
    else:
      # Upstream raised UnboundLocalError here (shared_attention on the
      # second layer); the shared module is reused instead.
      attention_module = self._multihead_attention._module  # pylint: disable=protected-access
    self._attention_modules.append(attention_module)
    mlp = default_mlp(self._mlp_hidden_sizes,
                      init_std=2. / np.sqrt(self._num_layers))
    dense_layer = ResidualDropoutWrapper(
        mlp, self._dropout_rate, layer_norm=self._layer_norm)
    return self._multihead_attention, dense_layer

  def _build(self, inputs, state=None, condition=None, is_training=True):
    """Runs the tower.

    Args:
      inputs: `[B, N, D]`.
      state: optional per-layer memories (tensors `[B, M, HV]` or
        `CompressedMemoryState`s).
      condition: optional `[B, D']` appended to every time step.
      is_training: Python bool or boolean tensor, enables dropout.

    Returns:
      `(output, list of AttentionState)`.
    """
    inputs, state, condition = _to_tensors((inputs, state, condition))
    if condition is not None:
      condition_tile = tf.tile(
          tf.expand_dims(condition, 1), [1, tf.shape(inputs)[1], 1])
      inputs = tf.concat([inputs, condition_tile], -1)
    input_width = inputs.get_shape().as_list()[-1]
    if input_width != self._embedding_size:
      raise ValueError(
          "TransformerTower inputs (with any condition) must have width "
          "value_size * num_heads = {} for the residual connections, got "
          "{}.".format(self._embedding_size, input_width))
    if state is not None and len(state) != self._num_layers:
      raise ValueError("Expected one memory state per layer ({}), got "
                       "{}.".format(self._num_layers, len(state)))

    if state is None:
      memory_sizes = [0]
    elif isinstance(state[0], CompressedMemoryState):
      cm_mem_size = max(_memory_size(s.compressed_memory) for s in state)
      em_mem_size = max(_memory_size(s.episodic_memory) for s in state)
      memory_sizes = [cm_mem_size, em_mem_size]
    else:
      memory_sizes = [max(_memory_size(s) for s in state)]
    chunk_size = inputs.get_shape().as_list()[1]
    self._positional_encodings = []
    for memory_size in memory_sizes:
      key_positions = get_position_encodings(
          sequence_length=chunk_size + memory_size,
          hidden_size=input_width,
          clamp_value=self._clamp_time_range)
      key_positions = _maybe_dropout(key_positions, is_training,
                                     self._dropout_rate)
      key_positions = tf.cast(key_positions, dtype=inputs.dtype)
      query_positions = key_positions[:, -chunk_size:, :]
      self._positional_encodings.append((key_positions, query_positions))

    if self._causal:
      self._mask = create_mask(inputs, state, self._same_attention_length)

    layer_i_inputs = inputs
    attention_states = []
    output = inputs
    for i in range(self._num_layers):
      with tf.variable_scope("layer_%d" % i, reuse=tf.AUTO_REUSE):
        multihead_attention, mlp = self.get_sublayers(is_training)
        state_i = None if state is None else state[i]
        attention_outputs, attention_state = multihead_attention(
            layer_i_inputs, state=state_i, is_training=is_training,
            dropout_keep_prob=1. - self._dropout_rate)
        attention_states.append(attention_state)
        output = mlp(attention_outputs, is_training=is_training,
                     dropout_keep_prob=1. - self._dropout_rate)
        layer_i_inputs = output

    if self._output_size is not None:
      output = basic.BatchApply(
          basic.Linear(self._output_size, use_bias=False))(output)
    return output, attention_states

  def attention_module(self, i):
    """The i-th recorded MultiheadAttention (one per layer and connection)."""
    return self._attention_modules[i]


def _core_sizes(core_config):
  num_layers = core_config["num_layers"]
  value_size = core_config["value_size"]
  num_heads = core_config["num_heads"]
  dropout_rate = core_config.get("dropout_rate", 0.)
  return num_layers, value_size, num_heads, dropout_rate


def _embed_inputs(inputs, embedding_size, dropout_rate, is_training):
  """Rank-2 inputs get a time axis; then an MLP maps them to width HV."""
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) == 2:
    inputs = tf.expand_dims(inputs, 1)
    chunk_size = 1
  elif len(input_shape) == 3:
    chunk_size = input_shape[1]
  else:
    raise ValueError("Inputs must be [batch, features] or [batch, time, "
                     "features], got shape {}.".format(input_shape))
  inputs = default_mlp([embedding_size], activate_final=True)(
      inputs, is_training=is_training, dropout_keep_prob=1 - dropout_rate)
  return inputs, chunk_size


class TransformerXL(rnn_core.RNNCore):
  """Transformer-XL as a recurrent core: each layer keeps a memory.

  State: a list (one per layer) of `[B, memory_size, HV]` memories of past
  layer inputs. Inputs `[B, D]` (one step, `chunk_size=0`) or `[B, N, D]`.
  """

  def __init__(self, core_config, memory_size, chunk_size,
               name="transformer_xl"):
    """Constructs the core.

    Args:
      core_config: kwargs of `TransformerTower` (needs `num_layers`,
        `value_size`, `num_heads`).
      memory_size: memory length M per layer.
      chunk_size: N, or 0 for single steps (the time axis is squeezed).
      name: module name.
    """
    super(TransformerXL, self).__init__(name=name)
    self._core_config = core_config
    self._memory_size = memory_size
    self._chunk_size = chunk_size
    (self._num_layers, self._value_size, self._num_heads,
     self._dropout_rate) = _core_sizes(core_config)
    self._key_size = core_config.get("key_size") or self._value_size
    self._embedding_size = self._num_heads * self._value_size

  def _build(self, inputs, prev_state, is_training=True):
    """`(inputs, memories) -> (output, next memories)`."""
    inputs, prev_state = _to_tensors((inputs, prev_state))
    inputs, chunk_size = _embed_inputs(inputs, self._embedding_size,
                                       self._dropout_rate, is_training)
    transformer = TransformerTower(**self._core_config)
    state_for_transformer = None if self._memory_size == 0 else prev_state
    output, attention_state = transformer(
        inputs, state=state_for_transformer, is_training=is_training)

    next_state = []
    for i, state_i in enumerate(prev_state):
      attn_state_i = attention_state[i]
      memory = tf.concat([state_i, attn_state_i.embeddings], 1)[:, chunk_size:]
      next_state.append(memory)

    if self._chunk_size == 0:
      output = tf.squeeze(output, 1)
    return output, next_state

  @property
  def state_size(self):
    memory_shape = tf.TensorShape([self._memory_size, self._embedding_size])
    return [memory_shape] * self._num_layers

  @property
  def output_size(self):
    if self._chunk_size == 0:
      return tf.TensorShape([self._embedding_size])
    return tf.TensorShape([self._chunk_size, self._embedding_size])


class PoolCompressor(base.AbstractModule):
  """Compresses memory by 1-D pooling over time (window rate + kernel_size)."""

  def __init__(self, compression_rate=2, kernel_size=0, pooling="AVG",
               compressed_memory_size=None, episodic_memory_size=None,
               name="pool_compressor"):
    super(PoolCompressor, self).__init__(name=name)
    self._rate = compression_rate
    self._kernel_size = kernel_size
    self._pooling = pooling
    self._compressed_memory_size = compressed_memory_size
    self._episodic_memory_size = episodic_memory_size

  def _build(self, memory, **unused_kwargs):
    """`memory [B, T, D]` -> `(pooled [B, T', D], zero loss)`."""
    pooled_memories = tf.nn.pool(
        memory,
        window_shape=(self._rate + self._kernel_size,),
        pooling_type=self._pooling,
        strides=(self._rate,),
        padding="VALID",
        data_format="NWC")
    return pooled_memories, tf.zeros([], dtype=memory.dtype)


class ConvCompressor(base.AbstractModule):
  """Compresses memory with a strided 1-D convolution; returns an aux loss.

  Loss `"ae"`: reconstruction error of the transposed convolution.
  Loss `"mha"`: squared difference between attending (with the layer's
  queries, keys and values projections) over the memory and over the
  compressed memory.
  """

  def __init__(self, compression_rate, compressed_memory_size,
               episodic_memory_size, kernel_size=0, dilation_rates=None,
               loss="mha", name="conv_compressor"):
    super(ConvCompressor, self).__init__(name=name)
    self._rate = compression_rate
    self._loss = loss
    self._cm_size = compressed_memory_size
    self._em_size = episodic_memory_size
    self._kernel_size = kernel_size
    self._dilation_rates = dilation_rates

  def _build(self, memory, attention_state=None, attention_module=None,
             is_training=False, dropout_keep_prob=0.5):
    """Compresses `memory [B, T, D]`.

    Args:
      memory: memory to compress.
      attention_state: the layer's AttentionState (needed for `"mha"`).
      attention_module: the layer's MultiheadAttention (needed for `"mha"`).
      is_training: unused.
      dropout_keep_prob: unused.

    Returns:
      `(compressed [B, T', D], scalar loss)`.

    Raises:
      NotImplementedError: unknown loss.
      ValueError: `"mha"` without attention state/module.
    """
    del is_training, dropout_keep_prob
    if self._loss not in ("ae", "mha"):
      raise NotImplementedError(
          "Unrecognised loss: {!r}, expected 'ae' or 'mha'.".format(
              self._loss))
    hidden_size = memory.get_shape().as_list()[-1]
    memory = tf.stop_gradient(memory)
    conv_inputs = memory
    if self._dilation_rates:
      for rate in self._dilation_rates:
        conv_inputs = conv.Conv1D(
            hidden_size, kernel_shape=2, rate=rate, use_bias=False,
            padding=conv.VALID, name="conv_rate_%d" % rate)(conv_inputs)
        conv_inputs = tf.nn.relu(conv_inputs)
    conv_module = conv.Conv1D(
        hidden_size, kernel_shape=self._rate + self._kernel_size,
        stride=self._rate, use_bias=False, padding=conv.VALID)
    compressed_memory = conv_module(conv_inputs)

    if self._loss == "ae":
      recovered_memory = conv_module.transpose()(compressed_memory)
      aux_loss = tf.reduce_mean(tf.square(recovered_memory - conv_inputs))
    else:
      if attention_state is None or attention_module is None:
        raise ValueError("The 'mha' loss needs attention_state and "
                         "attention_module.")
      chunk_size = attention_state.queries.get_shape().as_list()[2]
      seq_s = max(chunk_size - self._em_size, 0)
      queries = tf.stop_gradient(attention_state.queries[:, :, seq_s:])
      # (Upstream wrapped these in an unattached stop-gradient Context, which
      # has no effect; gradients reach the projections only via
      # compressed_memory.)
      k_mem = attention_module.multihead_linear(memory, "key")
      v_mem = attention_module.multihead_linear(memory, "value")
      k_cm = attention_module.multihead_linear(compressed_memory, "key")
      v_cm = attention_module.multihead_linear(compressed_memory, "value")
      attended_memory = simple_attention(queries, k_mem, v_mem)
      attended_compressed = simple_attention(queries, k_cm, v_cm)
      aux_loss = tf.reduce_mean(
          tf.square(attended_memory - attended_compressed))
    return compressed_memory, aux_loss


def _compute_avg_attention(attention_state, compressed_memory_size,
                           episodic_memory_size, chunk_size, n_buckets=6):
  """Sums of the mean attention weight over buckets of each memory region."""
  avg_attention = tf.reduce_mean(attention_state.weights, axis=[0, 1, 2])
  sizes, names = [], []
  if compressed_memory_size > 0:
    sizes.append(compressed_memory_size)
    names.append("cm")
  if episodic_memory_size > 0:
    sizes.append(episodic_memory_size)
    names.append("em")
  sizes.append(chunk_size)
  names.append("seq")
  stats = {}
  for name, size, attention in zip(names, sizes,
                                   tf.split(avg_attention, sizes)):
    bucket_size = int(size / n_buckets)
    bucket_sizes = ([bucket_size] * (n_buckets - 1) +
                    [size - bucket_size * (n_buckets - 1)])
    for k, bucket in enumerate(tf.split(attention, bucket_sizes)):
      stats["%s_p%d" % (name, k)] = tf.reduce_sum(bucket)
  return stats


class CompressiveTransformer(rnn_core.RNNCore):
  """Transformer-XL whose evicted memories are compressed, not dropped.

  State: a tuple (one per layer) of `CompressedMemoryState(episodic_memory
  [B, em, HV], compressed_memory [B, cm, HV], index [B, 1])`. The
  compression loss (mean over layers) is added to the `"auxiliary_losses"`
  collection when training.
  """

  def __init__(self, core_config, chunk_size, episodic_memory_size,
               compressed_memory_size, compression_rate=2,
               compression_ctor=ConvCompressor, compression_config=None,
               export_stats=False, name="compressive_transformer"):
    """Constructs the core.

    Args:
      core_config: kwargs of `TransformerTower`.
      chunk_size: N, or 0 for single steps.
      episodic_memory_size: em.
      compressed_memory_size: cm.
      compression_rate: memories per compressed memory.
      compression_ctor: compressor module constructor.
      compression_config: extra compressor kwargs.
      export_stats: add attention statistics to the `"stats_export"`
        collection.
      name: module name.
    """
    super(CompressiveTransformer, self).__init__(name=name)
    self._core_config = core_config
    self._episodic_memory_size = episodic_memory_size
    self._compressed_memory_size = compressed_memory_size
    self._chunk_size = chunk_size
    self._compression_config = dict(compression_config or [])
    self._compression_rate = compression_rate
    self._compression_config.update({
        "compression_rate": compression_rate,
        "compressed_memory_size": self._compressed_memory_size,
        "episodic_memory_size": self._episodic_memory_size,
    })
    self._compression_ctor = compression_ctor
    self._export_stats = export_stats
    (self._num_layers, self._value_size, self._num_heads,
     self._dropout_rate) = _core_sizes(core_config)
    self._key_size = core_config.get("key_size") or self._value_size
    self._embedding_size = self._num_heads * self._value_size

  def _build(self, inputs, prev_state, is_training=True):
    """`(inputs, per-layer CompressedMemoryState) -> (output, next state)`."""
    inputs, prev_state = _to_tensors((inputs, prev_state))
    inputs, chunk_size = _embed_inputs(inputs, self._embedding_size,
                                       self._dropout_rate, is_training)
    transformer = TransformerTower(**self._core_config)
    state_for_transformer = (None if self._episodic_memory_size == 0
                             else prev_state)
    output, attention_state = transformer(
        inputs, state=state_for_transformer, is_training=is_training)

    min_num_to_compress = (self._compression_rate +
                           self._compression_config.get("kernel_size", 0))
    num_to_compress = min(max(min_num_to_compress, chunk_size),
                          chunk_size + self._episodic_memory_size - 1)

    def apply_compression(attn_state, attn_module, mem_to_compress,
                          prev_compressed_memory):
      compressor = self._compression_ctor(**self._compression_config)
      compressed_memory, compression_loss = compressor(
          mem_to_compress, attention_state=attn_state,
          attention_module=attn_module, is_training=is_training,
          dropout_keep_prob=1 - self._dropout_rate)
      compressed_memory, _ = _concat_and_slice(prev_compressed_memory,
                                               compressed_memory)
      return compressed_memory, tf.cast(compression_loss, inputs.dtype)

    def no_compression(prev_compressed_memory):
      return prev_compressed_memory, tf.zeros([], dtype=inputs.dtype)

    compression_losses = []
    next_state = []
    for i, state_i in enumerate(prev_state):
      attn_state_i = attention_state[i]
      memory, concat_memory = _concat_and_slice(state_i.episodic_memory,
                                                attn_state_i.embeddings)
      mem_to_compress = concat_memory[:, :num_to_compress]
      compress_fn = functools.partial(
          apply_compression, attn_state_i, transformer.attention_module(i),
          mem_to_compress, state_i.compressed_memory)
      keep_fn = functools.partial(no_compression, state_i.compressed_memory)
      if chunk_size > 1:
        to_compress = tf.constant(True)
      else:
        index = tf.reshape(state_i.index[0], [])
        rate = tf.cast(self._compression_rate, index.dtype)
        to_compress = tf.equal(tf.floormod(index, rate), rate - 1)
      compressed_memory, compression_loss = tf.cond(
          to_compress, compress_fn, keep_fn)
      compressed_memory.set_shape(state_i.compressed_memory.get_shape())
      compression_losses.append(compression_loss)
      next_state.append(CompressedMemoryState(
          index=state_i.index + 1, episodic_memory=memory,
          compressed_memory=compressed_memory))
    next_state = tuple(next_state)

    compression_loss = tf.add_n(compression_losses) / self._num_layers
    # A boolean tensor may be True at run time, so its loss is collected too.
    if smart_cond.smart_constant_value(is_training) is not False:
      tf.add_to_collections("auxiliary_losses", compression_loss)
    if self._export_stats:
      self._export_attention_stats(attention_state, compression_losses,
                                   chunk_size)

    if self._chunk_size == 0:
      output = tf.squeeze(output, 1)
    return output, next_state

  def _export_attention_stats(self, attention_state, compression_losses,
                              chunk_size):
    stats = {}
    per_layer = []
    for i in range(self._num_layers):
      stats["compression_loss_l%02d" % i] = compression_losses[i]
      layer_stats = _compute_avg_attention(
          attention_state[i], self._compressed_memory_size,
          self._episodic_memory_size, chunk_size)
      per_layer.append(layer_stats)
      for key, value in layer_stats.items():
        stats["%s_l%02d" % (key, i)] = value
    for key in per_layer[0]:
      stats[key] = tf.add_n([s[key] for s in per_layer]) / self._num_layers
    tf.add_to_collections("stats_export", stats)

  @property
  def state_size(self):
    memory_shape = tf.TensorShape([self._episodic_memory_size,
                                   self._embedding_size])
    cm_shape = tf.TensorShape([self._compressed_memory_size,
                               self._embedding_size])
    shape_per_layer = CompressedMemoryState(
        index=tf.TensorShape([1]), episodic_memory=memory_shape,
        compressed_memory=cm_shape)
    return tuple([shape_per_layer] * self._num_layers)

  @property
  def output_size(self):
    if self._chunk_size == 0:
      return tf.TensorShape([self._embedding_size])
    return tf.TensorShape([self._chunk_size, self._embedding_size])
