"""Gated recurrent cores: LSTM and its variants, GRU, highway core.

Every core here is an `RNNCore`: `core(inputs, prev_state)` returns
`(output, next_state)`, and the core runs as the cell of
`tf.nn.dynamic_rnn` / `tf.nn.static_rnn` or in a Python loop, sharing its
variables across time steps.

Gate order in every LSTM weight matrix is `[i, j, f, o]` (input gate, cell
input, forget gate, output gate), as in Sonnet 1, so checkpoints restore.
"""

import collections
import numbers

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import basic
from sonnet.python.modules import batch_norm
from sonnet.python.modules import conv
from sonnet.python.modules import layer_norm
from sonnet.python.modules import rnn_core
from sonnet.python.modules import util
from sonnet.python.modules.gated_rnn_utils import _check_nonnegative
from sonnet.python.modules.gated_rnn_utils import _check_rank_2
from sonnet.python.modules.gated_rnn_utils import _check_state_shape
from sonnet.python.modules.gated_rnn_utils import _clip
from sonnet.python.modules.gated_rnn_utils import _dropout
from sonnet.python.modules.gated_rnn_utils import _keyed_variable
from sonnet.python.modules.gated_rnn_utils import _LSTMBlockCell
from sonnet.python.modules.gated_rnn_utils import _lstm_gates
from sonnet.python.modules.gated_rnn_utils import _to_tensors
from sonnet.python.modules.gated_rnn_utils import _unpack_pair
# LSTMBlockCell's state type, importable from here as before.
from sonnet.python.modules.gated_rnn_utils import LSTMStateTuple  # pylint: disable=unused-import
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import tensor_util as tf_utils

nest = tf.nest

LSTMState = collections.namedtuple("LSTMState", ("hidden", "cell"))


# --- LSTM ---------------------------------------------------------------------


class LSTM(rnn_core.RNNCore):
  """Long short-term memory core (Hochreiter & Schmidhuber 1997).

  With `x` the input and `(h, c)` the previous state:

      [i, j, f, o] = [x, h] W + b            (W = w_gates, b = b_gates)
      c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
      h' = tanh(c') * sigmoid(o)

  Options: peepholes (`f += w_f_diag * c`, `i += w_i_diag * c`, and the
  Sonnet 1 output peephole `tanh(c' + w_o_diag * c')`), layer normalisation of
  `[x, h] W` (before the bias), clipping of the incoming hidden / cell state,
  and a projection `h' <- h' w_h_projection` of the hidden state.

  Returns `(h', LSTMState(hidden=h', cell=c'))`.
  """

  # Keys that may be provided for parameter initializers.
  W_GATES = "w_gates"  # weight for gates
  B_GATES = "b_gates"  # bias of gates
  W_F_DIAG = "w_f_diag"  # weight for prev_cell -> forget gate peephole
  W_I_DIAG = "w_i_diag"  # weight for prev_cell -> input gate peephole
  W_O_DIAG = "w_o_diag"  # weight for prev_cell -> output gate peephole
  W_H_PROJECTION = "w_h_projection"  # weight for (optional) projection of h
  POSSIBLE_INITIALIZER_KEYS = {W_GATES, B_GATES, W_F_DIAG, W_I_DIAG, W_O_DIAG,
                               W_H_PROJECTION}

  def __init__(self,
               hidden_size,
               forget_bias=1.0,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_peepholes=False,
               use_layer_norm=False,
               hidden_clip_value=None,
               projection_size=None,
               cell_clip_value=None,
               custom_getter=None,
               name="lstm"):
    """Constructs an LSTM.

    Args:
      hidden_size: size of the cell state (and of the hidden state unless
        `projection_size` is given).
      forget_bias: added to the forget gate pre-activation.
      initializers: optional dict of initializers keyed by `w_gates`,
        `b_gates` (both default to truncated normal 1/sqrt(fan in)),
        `w_f_diag`, `w_i_diag`, `w_o_diag` (peepholes only) and
        `w_h_projection` (projection only).
      partitioners: optional dict of partitioners, same keys.
      regularizers: optional dict of regularizers, same keys.
      use_peepholes: whether to use peephole connections.
      use_layer_norm: whether to layer-normalise the gate pre-activations.
      hidden_clip_value: if set, the incoming hidden state is clipped to
        [-hidden_clip_value, hidden_clip_value].
      projection_size: if set, the hidden state is projected to this size.
      cell_clip_value: if set, the incoming cell state is clipped likewise.
      custom_getter: custom getter for the module's variables.
      name: module name.

    Raises:
      KeyError: if a dict has a key not allowed by the options.
      TypeError: if a dict value is not callable.
      ValueError: if a clip value is negative.
    """
    super(LSTM, self).__init__(custom_getter=custom_getter, name=name)
    self._hidden_size = hidden_size
    self._forget_bias = forget_bias
    self._use_peepholes = use_peepholes
    self._use_layer_norm = use_layer_norm
    self._hidden_clip_value = hidden_clip_value
    self._cell_clip_value = cell_clip_value
    self._use_projection = projection_size is not None
    self._hidden_state_size = projection_size or hidden_size
    self.possible_keys = self.get_possible_initializer_keys(
        use_peepholes=use_peepholes, use_projection=self._use_projection)
    # Upstream validates all three dicts with `check_initializers`.
    self._initializers = util.check_initializers(initializers,
                                                 self.possible_keys)
    self._partitioners = util.check_initializers(partitioners,
                                                 self.possible_keys)
    self._regularizers = util.check_initializers(regularizers,
                                                 self.possible_keys)
    _check_nonnegative(hidden_clip_value, "hidden_clip_value")
    _check_nonnegative(cell_clip_value, "cell_clip_value")

  @classmethod
  def get_possible_initializer_keys(cls, use_peepholes=False,
                                    use_projection=False):
    """The initializer keys allowed for the given options.

    Args:
      use_peepholes: whether peephole keys are allowed.
      use_projection: whether the projection key is allowed.

    Returns:
      A set of keys.
    """
    possible_keys = cls.POSSIBLE_INITIALIZER_KEYS.copy()
    if not use_peepholes:
      possible_keys.difference_update(
          {cls.W_F_DIAG, cls.W_I_DIAG, cls.W_O_DIAG})
    if not use_projection:
      possible_keys.difference_update({cls.W_H_PROJECTION})
    return possible_keys

  def _get_variable(self, key, shape, dtype, default_initializer=None):
    return _keyed_variable(self, key, shape, dtype, default_initializer)

  def _build(self, inputs, prev_state):
    """Connects the core for one time step.

    Args:
      inputs: `[batch_size, input_size]` tensor.
      prev_state: `(hidden, cell)` pair (e.g. an `LSTMState`) of
        `[batch_size, hidden_state_size]` and `[batch_size, hidden_size]`.

    Returns:
      `(next_hidden, LSTMState(hidden=next_hidden, cell=next_cell))`.

    Raises:
      ValueError: if `inputs` is not rank 2 with known size, or the state does
        not have the state sizes.
    """
    prev_hidden, prev_cell = _unpack_pair(prev_state, "LSTM")
    inputs, prev_hidden, prev_cell = _to_tensors(inputs, prev_hidden,
                                                 prev_cell)
    prev_hidden = _clip(prev_hidden, self._hidden_clip_value)
    prev_cell = _clip(prev_cell, self._cell_clip_value)
    input_size = _check_rank_2(inputs)
    _check_state_shape(prev_hidden, [self._hidden_state_size], "hidden")
    _check_state_shape(prev_cell, [self._hidden_size], "cell")
    dtype = inputs.dtype

    equiv_input_size = input_size + self._hidden_state_size
    initializer = basic.create_linear_initializer(equiv_input_size, dtype)
    w_gates = self._get_variable(
        self.W_GATES, [equiv_input_size, 4 * self._hidden_size], dtype,
        initializer)
    # Upstream quirk kept: the bias defaults to the weights' truncated normal
    # initializer, not zeros (checkpoint statistics and trained models rely
    # on the same initial distribution).
    b_gates = self._get_variable(self.B_GATES, [4 * self._hidden_size], dtype,
                                 initializer)
    self._w_xh, self._b = w_gates, b_gates
    if self._use_projection:
      self._w_h_projection = self._get_variable(
          self.W_H_PROJECTION, [self._hidden_size, self._hidden_state_size],
          dtype, basic.create_linear_initializer(self._hidden_size, dtype))

    if self._use_layer_norm:
      gates = tf.matmul(tf.concat([inputs, prev_hidden], 1), w_gates)
      gates = layer_norm.LayerNorm()(gates)
      gates += b_gates
      forget_bias = self._forget_bias
    else:
      # A numeric forget bias is added to the forget block of the bias vector
      # ([4h] elements) rather than to the [batch, h] forget gate.
      bias = tf.convert_to_tensor(b_gates)
      forget_bias = self._forget_bias
      if isinstance(forget_bias, numbers.Number):
        if forget_bias:
          hs = self._hidden_size
          bias += tf.constant(
              np.concatenate([np.zeros(2 * hs), np.full(hs, forget_bias),
                              np.zeros(hs)]), dtype=dtype)
        forget_bias = None
      gates = _lstm_gates(inputs, prev_hidden, tf.convert_to_tensor(w_gates),
                          bias)
    i, j, f, o = tf.split(value=gates, num_or_size_splits=4, axis=1)

    if self._use_peepholes:
      self._w_f_diag = self._get_variable(self.W_F_DIAG, [self._hidden_size],
                                          dtype)
      self._w_i_diag = self._get_variable(self.W_I_DIAG, [self._hidden_size],
                                          dtype)
      self._w_o_diag = self._get_variable(self.W_O_DIAG, [self._hidden_size],
                                          dtype)
      f += tf.convert_to_tensor(self._w_f_diag) * prev_cell
      i += tf.convert_to_tensor(self._w_i_diag) * prev_cell

    if forget_bias is not None:
      f += forget_bias
    next_cell = tf.sigmoid(f) * prev_cell + tf.sigmoid(i) * tf.tanh(j)
    cell_output = next_cell
    if self._use_peepholes:
      # Upstream quirk kept (checkpoints and trained models depend on it):
      # the output peephole scales the new cell inside the tanh instead of
      # feeding the output gate.
      cell_output += tf.convert_to_tensor(self._w_o_diag) * cell_output
    next_hidden = tf.tanh(cell_output) * tf.sigmoid(o)
    if self._use_projection:
      next_hidden = tf.matmul(next_hidden, self._w_h_projection)
    return next_hidden, LSTMState(hidden=next_hidden, cell=next_cell)

  @property
  def state_size(self):
    """`LSTMState` of `TensorShape`s: (hidden_state_size, hidden_size)."""
    return LSTMState(tf.TensorShape([self._hidden_state_size]),
                     tf.TensorShape([self._hidden_size]))

  @property
  def output_size(self):
    """`TensorShape([hidden_state_size])`."""
    return tf.TensorShape([self._hidden_state_size])

  @property
  def use_peepholes(self):
    return self._use_peepholes

  @property
  def use_layer_norm(self):
    return self._use_layer_norm


# --- recurrent dropout and zoneout ---------------------------------------------


class RecurrentDropoutWrapper(rnn_core.RNNCore):
  """Applies recurrent dropout (Gal & Ghahramani 2016) to a core's state.

  One dropout mask per selected state leaf is drawn in `initial_state` and
  reused at every time step: the masks travel in the state. The core's next
  state leaves are multiplied by their masks; the output is untouched.
  The wrapper's state is `(core_state, [masks])`.
  """

  def __init__(self, core, keep_probs):
    """Wraps `core`.

    Args:
      core: an `RNNCore`.
      keep_probs: structure like `core.state_size` of keep probabilities;
        `None` leaves get no dropout.
    """
    super(RecurrentDropoutWrapper, self).__init__(
        custom_getter=None, name=core.module_name + "_recdropout")
    self._core = core
    self._keep_probs = keep_probs
    # Sizes of the leaves with dropout, and for every leaf of the core state
    # its index in that list (or None).
    self._dropout_state_size = []

    def set_dropout_state_size(keep_prob, state_size):
      if keep_prob is not None:
        self._dropout_state_size.append(state_size)
        return len(self._dropout_state_size) - 1
      return None

    self._dropout_indexes = nest.map_structure(
        set_dropout_state_size, keep_probs, core.state_size)

  def _build(self, input_, prev_state):
    """Runs the core and applies the masks to its next state.

    Args:
      input_: the core's input.
      prev_state: `(core_state, masks)`.

    Returns:
      `(output, (next_core_state, masks))`.
    """
    prev_core_state, prev_dropout_masks = prev_state
    output, next_core_state = self._core(input_, prev_core_state)

    def apply_dropout(dropout_index, state):
      if dropout_index is None:
        return state
      return state * prev_dropout_masks[dropout_index]

    next_core_state = nest.map_structure(
        apply_dropout, self._dropout_indexes, next_core_state,
        check_types=False)
    return output, (next_core_state, prev_dropout_masks)

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None):
    """The core's initial state and freshly sampled dropout masks.

    Args:
      batch_size: int or scalar int32 tensor.
      dtype: dtype of the state.
      trainable: see `RNNCore.initial_state`.
      trainable_initializers: see `RNNCore.initial_state`.
      trainable_regularizers: see `RNNCore.initial_state`.
      name: see `RNNCore.initial_state`.

    Returns:
      `(core_initial_state, masks)`, masks a list of 0 or 1/keep_prob tensors.
    """
    core_initial_state = self._core.initial_state(
        batch_size, dtype=dtype, trainable=trainable,
        trainable_initializers=trainable_initializers,
        trainable_regularizers=trainable_regularizers, name=name)
    dropout_masks = [None] * len(self._dropout_state_size)

    def set_dropout_mask(index, state, keep_prob):
      if index is not None:
        ones = tf.ones_like(state, dtype=dtype)
        dropout_masks[index] = _dropout(ones, keep_prob)

    nest.map_structure(set_dropout_mask, self._dropout_indexes,
                       core_initial_state, self._keep_probs,
                       check_types=False)
    return core_initial_state, dropout_masks

  @property
  def state_size(self):
    return self._core.state_size, self._dropout_state_size

  @property
  def output_size(self):
    return self._core.output_size


def lstm_with_recurrent_dropout(hidden_size, keep_prob=0.5, **kwargs):
  """An LSTM with recurrent dropout on its hidden state.

  Args:
    hidden_size: the LSTM's hidden size.
    keep_prob: keep probability of the hidden state.
    **kwargs: passed to `LSTM`.

  Returns:
    `(train_core, test_core)`: the wrapped LSTM (dropout) and the LSTM itself,
    sharing weights.
  """
  lstm = LSTM(hidden_size, **kwargs)
  return RecurrentDropoutWrapper(lstm, LSTMState(keep_prob, None)), lstm


class ZoneoutWrapper(rnn_core.RNNCore):
  """Applies zoneout (Krueger et al. 2016) to a core's state.

  In training each state element keeps its previous value with probability
  `1 - keep_prob` (and takes the new one otherwise); at test time the state is
  the expectation `prev * (1 - keep_prob) + next * keep_prob`.
  """

  def __init__(self, core, keep_probs, is_training):
    """Wraps `core`.

    Args:
      core: an `RNNCore`.
      keep_probs: structure like `core.state_size` of probabilities of taking
        the new value; `None` leaves always take it.
      is_training: Python bool, training or test behaviour.
    """
    super(ZoneoutWrapper, self).__init__(
        custom_getter=None, name=core.module_name + "_zoneout")
    self._core = core
    self._keep_probs = keep_probs
    self._is_training = is_training

  def _build(self, input_, prev_state):
    """Runs the core and zones out its next state.

    Returns:
      `(output, zoned_next_state)`.
    """
    output, next_state = self._core(input_, prev_state)

    def apply_zoneout(keep_prob, next_s, prev_s):
      if keep_prob is None:
        return next_s
      if self._is_training:
        # dropout(d) * p is d with probability p, else 0.
        return prev_s + _dropout(next_s - prev_s, keep_prob) * keep_prob
      return prev_s * (1 - keep_prob) + next_s * keep_prob

    return output, nest.map_structure(apply_zoneout, self._keep_probs,
                                      next_state, prev_state,
                                      check_types=False)

  def initial_state(self, *args, **kwargs):
    """The core's initial state."""
    return self._core.initial_state(*args, **kwargs)

  @property
  def state_size(self):
    return self._core.state_size

  @property
  def output_size(self):
    return self._core.output_size


def lstm_with_zoneout(hidden_size, keep_prob_c=0.5, keep_prob_h=0.95,
                      **kwargs):
  """An LSTM with zoneout on its cell and hidden states.

  Args:
    hidden_size: the LSTM's hidden size.
    keep_prob_c: zoneout keep probability of the cell state.
    keep_prob_h: zoneout keep probability of the hidden state.
    **kwargs: passed to `LSTM`.

  Returns:
    `(train_core, test_core)`, sharing one LSTM.
  """
  lstm = LSTM(hidden_size, **kwargs)
  keep_probs = LSTMState(keep_prob_h, keep_prob_c)
  train_lstm = ZoneoutWrapper(lstm, keep_probs, is_training=True)
  test_lstm = ZoneoutWrapper(lstm, keep_probs, is_training=False)
  return train_lstm, test_lstm


# --- BatchNormLSTM ----------------------------------------------------------------


class BatchNormLSTM(rnn_core.RNNCore):
  """LSTM with recurrent batch normalisation (Cooijmans et al. 2016).

  Batch normalisation (without its own scale and offset) can be applied to
  the hidden-to-gates product (`gamma_h * BN(h W_h)`), the input-to-gates
  product (`gamma_x * BN(x W_x)`) and the cell before the output
  (`beta_c + gamma_c * BN(c')`). With `max_unique_stats > 1` each of the
  first `max_unique_stats - 1` time steps keeps its own statistics (the rest
  share the last set), and the state carries the time step.

  Connect with `is_training` (and optionally `test_local_stats`), or use
  `with_batch_norm_control` to get a core for `dynamic_rnn`.
  """

  # Keys that may be provided for parameter initializers.
  W_GATES = "w_gates"  # weight for gates
  B_GATES = "b_gates"  # bias of gates
  W_F_DIAG = "w_f_diag"  # weight for prev_cell -> forget gate peephole
  W_I_DIAG = "w_i_diag"  # weight for prev_cell -> input gate peephole
  W_O_DIAG = "w_o_diag"  # weight for prev_cell -> output gate peephole
  GAMMA_H = "gamma_h"  # batch norm scaling for previous_hidden -> gates
  GAMMA_X = "gamma_x"  # batch norm scaling for input -> gates
  GAMMA_C = "gamma_c"  # batch norm scaling for cell -> output
  BETA_C = "beta_c"  # (batch norm) bias for cell -> output
  POSSIBLE_INITIALIZER_KEYS = {W_GATES, B_GATES, W_F_DIAG, W_I_DIAG, W_O_DIAG,
                               GAMMA_H, GAMMA_X, GAMMA_C, BETA_C}

  def __init__(self,
               hidden_size,
               forget_bias=1.0,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_peepholes=False,
               use_batch_norm_h=True,
               use_batch_norm_x=False,
               use_batch_norm_c=False,
               max_unique_stats=1,
               hidden_clip_value=None,
               cell_clip_value=None,
               custom_getter=None,
               name="batch_norm_lstm"):
    """Constructs the core.

    Args:
      hidden_size: hidden (and cell) size.
      forget_bias: added to the forget gate pre-activation.
      initializers: optional dict keyed by `w_gates`, `b_gates`, peephole keys
        (with peepholes), `gamma_h`, `gamma_x`, `gamma_c`, `beta_c` (for the
        enabled batch norms).
      partitioners: optional dict, same keys.
      regularizers: optional dict, same keys.
      use_peepholes: whether to use peephole connections.
      use_batch_norm_h: batch-normalise the hidden-to-gates product.
      use_batch_norm_x: batch-normalise the input-to-gates product.
      use_batch_norm_c: batch-normalise the cell before the output.
      max_unique_stats: number of separate statistics sets over time.
      hidden_clip_value: optional clip of the incoming hidden state.
      cell_clip_value: optional clip of the incoming cell state.
      custom_getter: custom getter for the module's variables.
      name: module name.

    Raises:
      ValueError: if no batch norm is enabled, `max_unique_stats < 1`, or a
        clip value is negative.
      KeyError: for a dict key not allowed by the options.
    """
    if not any([use_batch_norm_h, use_batch_norm_x, use_batch_norm_c]):
      raise ValueError("At least one use_batch_norm_* option is required for "
                       "BatchNormLSTM")
    super(BatchNormLSTM, self).__init__(custom_getter=custom_getter, name=name)
    self._hidden_size = hidden_size
    self._forget_bias = forget_bias
    self._use_peepholes = use_peepholes
    self._max_unique_stats = max_unique_stats
    self._use_batch_norm_h = use_batch_norm_h
    self._use_batch_norm_x = use_batch_norm_x
    self._use_batch_norm_c = use_batch_norm_c
    self._hidden_clip_value = hidden_clip_value
    self._cell_clip_value = cell_clip_value
    self.possible_keys = self.get_possible_initializer_keys(
        use_peepholes=use_peepholes, use_batch_norm_h=use_batch_norm_h,
        use_batch_norm_x=use_batch_norm_x, use_batch_norm_c=use_batch_norm_c)
    self._initializers = util.check_initializers(initializers,
                                                 self.possible_keys)
    self._partitioners = util.check_initializers(partitioners,
                                                 self.possible_keys)
    self._regularizers = util.check_initializers(regularizers,
                                                 self.possible_keys)
    if max_unique_stats < 1:
      raise ValueError("max_unique_stats must be >= 1")
    _check_nonnegative(hidden_clip_value, "hidden_clip_value")
    _check_nonnegative(cell_clip_value, "cell_clip_value")

    # Built outside the core's scope (siblings of it), as in Sonnet 1.
    if use_batch_norm_h:
      self._batch_norm_h = BatchNormLSTM.IndexedStatsBatchNorm(
          max_unique_stats, "batch_norm_h")
    if use_batch_norm_x:
      self._batch_norm_x = BatchNormLSTM.IndexedStatsBatchNorm(
          max_unique_stats, "batch_norm_x")
    if use_batch_norm_c:
      self._batch_norm_c = BatchNormLSTM.IndexedStatsBatchNorm(
          max_unique_stats, "batch_norm_c")

  def with_batch_norm_control(self, is_training, test_local_stats=True):
    """A core that calls this one with fixed batch norm flags.

    Args:
      is_training: bool or boolean tensor.
      test_local_stats: bool or boolean tensor.

    Returns:
      A `BatchNormLSTM.CoreWithExtraBuildArgs` sharing this core's variables.
    """
    return BatchNormLSTM.CoreWithExtraBuildArgs(
        self, is_training=is_training, test_local_stats=test_local_stats)

  @classmethod
  def get_possible_initializer_keys(cls, use_peepholes=False,
                                    use_batch_norm_h=True,
                                    use_batch_norm_x=False,
                                    use_batch_norm_c=False):
    """The initializer keys allowed for the given options."""
    possible_keys = cls.POSSIBLE_INITIALIZER_KEYS.copy()
    if not use_peepholes:
      possible_keys.difference_update(
          {cls.W_F_DIAG, cls.W_I_DIAG, cls.W_O_DIAG})
    if not use_batch_norm_h:
      possible_keys.remove(cls.GAMMA_H)
    if not use_batch_norm_x:
      possible_keys.remove(cls.GAMMA_X)
    if not use_batch_norm_c:
      possible_keys.difference_update({cls.GAMMA_C, cls.BETA_C})
    return possible_keys

  def _get_variable(self, key, shape, dtype, default_initializer=None,
                    name=None):
    return _keyed_variable(self, key, shape, dtype, default_initializer, name)

  def _build(self, inputs, prev_state, is_training=None,
             test_local_stats=True):
    """Connects the core for one time step.

    Args:
      inputs: `[batch_size, input_size]` tensor.
      prev_state: `(hidden, cell)`, or `(hidden, cell, time_step)` when
        `max_unique_stats > 1`.
      is_training: bool or boolean tensor; required.
      test_local_stats: whether to use batch statistics at test time.

    Returns:
      `(next_hidden, (next_hidden, next_cell))`, plus `time_step + 1` in the
      state when `max_unique_stats > 1`.

    Raises:
      ValueError: if `is_training` is None, the input is not rank 2, or the
        state has the wrong structure or sizes.
    """
    if is_training is None:
      raise ValueError("Boolean is_training flag must be explicitly specified "
                       "when using batch normalization.")
    state_len = 2 if self._max_unique_stats == 1 else 3
    if (not isinstance(prev_state, (tuple, list)) or
        len(prev_state) != state_len):
      raise ValueError(
          "BatchNormLSTM with max_unique_stats={} expects a state of {} "
          "elements; got {}.".format(self._max_unique_stats, state_len,
                                     prev_state))
    if state_len == 2:
      prev_hidden, prev_cell = prev_state
      time_step = None
    else:
      prev_hidden, prev_cell, time_step = prev_state
    inputs, prev_hidden, prev_cell = _to_tensors(inputs, prev_hidden,
                                                 prev_cell)
    prev_hidden = _clip(prev_hidden, self._hidden_clip_value)
    prev_cell = _clip(prev_cell, self._cell_clip_value)
    input_size = _check_rank_2(inputs)
    _check_state_shape(prev_hidden, [self._hidden_size], "hidden")
    _check_state_shape(prev_cell, [self._hidden_size], "cell")
    dtype = inputs.dtype
    hidden_size = self._hidden_size

    # Variables, in Sonnet 1's creation order.
    initializer = basic.create_linear_initializer(hidden_size + input_size,
                                                  dtype)
    separate_weights = self._use_batch_norm_h or self._use_batch_norm_x
    if separate_weights:
      w_h = self._get_variable(self.W_GATES, [hidden_size, 4 * hidden_size],
                               dtype, initializer, name=self.W_GATES + "_H")
      w_x = self._get_variable(self.W_GATES, [input_size, 4 * hidden_size],
                               dtype, initializer, name=self.W_GATES + "_X")
      self._w_h, self._w_x = w_h, w_x
    else:
      w_xh = self._get_variable(self.W_GATES,
                                [input_size + hidden_size, 4 * hidden_size],
                                dtype, initializer)
      self._w_xh = w_xh
    self._b = self._get_variable(self.B_GATES, [4 * hidden_size], dtype,
                                 initializer)
    gamma_initializer = tf.constant_initializer(0.1)
    if self._use_batch_norm_h:
      self._gamma_h = self._get_variable(self.GAMMA_H, [4 * hidden_size],
                                         dtype, gamma_initializer)
    if self._use_batch_norm_x:
      self._gamma_x = self._get_variable(self.GAMMA_X, [4 * hidden_size],
                                         dtype, gamma_initializer)
    if self._use_batch_norm_c:
      self._gamma_c = self._get_variable(self.GAMMA_C, [hidden_size], dtype,
                                         gamma_initializer)
      self._beta_c = self._get_variable(self.BETA_C, [hidden_size], dtype)

    if separate_weights:
      gates_h = tf.matmul(prev_hidden, w_h)
      gates_x = tf.matmul(inputs, w_x)
      if self._use_batch_norm_h:
        gates_h = self._gamma_h * self._batch_norm_h(
            gates_h, time_step, is_training, test_local_stats)
      if self._use_batch_norm_x:
        gates_x = self._gamma_x * self._batch_norm_x(
            gates_x, time_step, is_training, test_local_stats)
      gates = gates_h + gates_x
    else:
      gates = tf.matmul(tf.concat([inputs, prev_hidden], 1), w_xh)
    gates += self._b
    i, j, f, o = tf.split(value=gates, num_or_size_splits=4, axis=1)

    if self._use_peepholes:
      self._w_f_diag = self._get_variable(self.W_F_DIAG, [hidden_size], dtype)
      self._w_i_diag = self._get_variable(self.W_I_DIAG, [hidden_size], dtype)
      self._w_o_diag = self._get_variable(self.W_O_DIAG, [hidden_size], dtype)
      f += tf.convert_to_tensor(self._w_f_diag) * prev_cell
      i += tf.convert_to_tensor(self._w_i_diag) * prev_cell

    next_cell = (tf.sigmoid(f + self._forget_bias) * prev_cell +
                 tf.sigmoid(i) * tf.tanh(j))
    cell_output = next_cell
    if self._use_batch_norm_c:
      cell_output = (self._beta_c + self._gamma_c * self._batch_norm_c(
          cell_output, time_step, is_training, test_local_stats))
    if self._use_peepholes:
      # Upstream quirk kept, as in `LSTM`: the output peephole scales the cell.
      cell_output += tf.convert_to_tensor(self._w_o_diag) * cell_output
    next_hidden = tf.tanh(cell_output) * tf.sigmoid(o)

    if self._max_unique_stats == 1:
      return next_hidden, (next_hidden, next_cell)
    return next_hidden, (next_hidden, next_cell, time_step + 1)

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None):
    """Initial state; with several statistics sets it ends with time step 0.

    Args:
      batch_size: int or scalar int32 tensor.
      dtype: dtype of the hidden and cell states.
      trainable: whether hidden and cell initial states are learnable.
      trainable_initializers: optional pair of initializers.
      trainable_regularizers: optional pair of regularizers.
      name: name scope / variable prefix.

    Returns:
      `(hidden, cell)` or `(hidden, cell, time_step)` (scalar int32 0).
    """
    if self._max_unique_stats == 1:
      return super(BatchNormLSTM, self).initial_state(
          batch_size, dtype=dtype, trainable=trainable,
          trainable_initializers=trainable_initializers,
          trainable_regularizers=trainable_regularizers, name=name)
    with tf.name_scope(self._initial_state_scope(name)):
      sizes = (tf.TensorShape([self._hidden_size]),
               tf.TensorShape([self._hidden_size]))
      if not trainable:
        state = rnn_core._zero_state_tensors(sizes, batch_size, dtype)  # pylint: disable=protected-access
      else:
        # Built by hand so that no variable is made for the time step.
        state = rnn_core.trainable_initial_state(
            batch_size, sizes, dtype=dtype,
            initializers=trainable_initializers,
            regularizers=trainable_regularizers,
            name=self._initial_state_scope(name))
      return (state[0], state[1], tf.constant(0, dtype=tf.int32))

  @property
  def state_size(self):
    if self._max_unique_stats == 1:
      return (tf.TensorShape([self._hidden_size]),
              tf.TensorShape([self._hidden_size]))
    return (tf.TensorShape([self._hidden_size]),
            tf.TensorShape([self._hidden_size]),
            tf.TensorShape(1))

  @property
  def output_size(self):
    return tf.TensorShape([self._hidden_size])

  @property
  def use_peepholes(self):
    return self._use_peepholes

  @property
  def use_batch_norm_h(self):
    return self._use_batch_norm_h

  @property
  def use_batch_norm_x(self):
    return self._use_batch_norm_x

  @property
  def use_batch_norm_c(self):
    return self._use_batch_norm_c

  class IndexedStatsBatchNorm(base.AbstractModule):
    """BatchNorm (no scale/offset) with one statistics set per index.

    Index `i` uses statistics set `min(i, max_unique_stats - 1)`.
    """

    def __init__(self, max_unique_stats, name=None):
      """Constructs the module.

      Args:
        max_unique_stats: number of statistics sets.
        name: module name.
      """
      super(BatchNormLSTM.IndexedStatsBatchNorm, self).__init__(name=name)
      self._max_unique_stats = max_unique_stats

    def _build(self, inputs, index, is_training, test_local_stats):
      """Normalises `inputs` with the statistics set chosen by `index`.

      Args:
        inputs: tensor to normalise.
        index: scalar int32 tensor (ignored with one statistics set).
        is_training: bool or boolean tensor.
        test_local_stats: bool or boolean tensor.

      Returns:
        The normalised tensor, same shape as `inputs`.
      """

      if self._max_unique_stats == 1:
        return batch_norm.BatchNorm(offset=False, scale=False)(
            inputs, is_training, test_local_stats)
      # Upstream picks the statistics set with `tf.case`, building one
      # BatchNorm per branch. Under TF2's functional control flow the update
      # ops built inside a branch land in the UPDATE_OPS collection but
      # cannot be run from outside it, so instead every set is built at the
      # top level (same names: batch_norm, batch_norm_1, ..., the default set
      # last), only the selected set is in training mode (so only its moving
      # averages are updated), and its output is selected.
      num_sets = self._max_unique_stats
      selected = [tf.equal(index, i) for i in range(num_sets - 1)]
      selected.append(tf.logical_not(tf.reduce_any(tf.stack(selected))))
      training_const = tf_utils.constant_value(
          tf.convert_to_tensor(is_training))
      outputs = []
      for is_selected in selected:
        if training_const is not None and not training_const:
          set_is_training = False  # Static: no update ops at all.
        elif training_const:
          set_is_training = is_selected
        else:
          set_is_training = tf.logical_and(is_training, is_selected)
        outputs.append(batch_norm.BatchNorm(offset=False, scale=False)(
            inputs, set_is_training, test_local_stats))
      out = outputs[-1]
      for is_selected, set_out in reversed(list(zip(selected[:-1],
                                                    outputs[:-1]))):
        out = tf.where_v2(is_selected, set_out, out)
      out.set_shape(inputs.get_shape())
      return out

  class CoreWithExtraBuildArgs(rnn_core.RNNCore):
    """Calls a core with extra fixed build arguments (e.g. `is_training`)."""

    def __init__(self, core, *args, **kwargs):
      """Constructs the wrapper.

      Args:
        core: the core to call.
        *args: extra positional arguments appended to `(inputs, state)`.
        **kwargs: extra keyword arguments.
      """
      super(BatchNormLSTM.CoreWithExtraBuildArgs, self).__init__(
          name=core.module_name + "_extra_args")
      self._core = core
      self._args = args
      self._kwargs = kwargs

    def _build(self, inputs, state):
      return self._core(inputs, state, *self._args, **self._kwargs)

    def initial_state(self, *args, **kwargs):
      """The wrapped core's initial state.

      Upstream inherited `RNNCore.initial_state`, which for a BatchNormLSTM
      with `max_unique_stats > 1` gives a float `[batch, 1]` time step that
      the core cannot use; delegating gives the core's own (int32 scalar).
      """
      return self._core.initial_state(*args, **kwargs)

    @property
    def state_size(self):
      return self._core.state_size

    @property
    def output_size(self):
      return self._core.output_size


# --- convolutional LSTMs ---------------------------------------------------------


class ConvLSTM(rnn_core.RNNCore):
  """Convolutional LSTM (Shi et al. 2015).

  The gates come from two convolutions with `4 * output_channels` outputs:

      [i, j, f, o] = conv_x(x) + conv_h(h)     (split on the channel axis)
      c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
      h' = tanh(c') * sigmoid(o)

  Inputs are `[batch] + input_shape` (channels last); the state is `(h, c)`.
  """

  def __init__(self,
               conv_ndims,
               input_shape,
               output_channels,
               kernel_shape,
               stride=1,
               rate=1,
               padding=conv.SAME,
               use_bias=True,
               legacy_bias_behaviour=True,
               forget_bias=1.0,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_layer_norm=False,
               custom_getter=None,
               name="conv_lstm"):
    """Constructs the core.

    Args:
      conv_ndims: 1, 2 or 3 spatial dimensions.
      input_shape: shape of one input without the batch dim, channels last.
      output_channels: channels of the hidden and cell states.
      kernel_shape: kernel shape of both convolutions.
      stride: stride of both convolutions.
      rate: dilation rate of both convolutions.
      padding: padding of both convolutions.
      use_bias: whether the input convolution has a bias.
      legacy_bias_behaviour: if True (Sonnet 1's default), the hidden
        convolution has a (redundant) bias too when `use_bias`.
      forget_bias: added to the forget gate pre-activation.
      initializers: optional dict for the convolutions (`w`, `b`).
      partitioners: optional dict for the convolutions.
      regularizers: optional dict for the convolutions.
      use_layer_norm: layer-normalise the gates over all non-batch dims
        (deprecated: gamma/beta then cover spatial dims too).
      custom_getter: custom getter for the module's variables.
      name: module name.

    Raises:
      ValueError: for an invalid `conv_ndims` or `input_shape`.
    """
    super(ConvLSTM, self).__init__(custom_getter=custom_getter, name=name)
    self._conv_class = self._get_conv_class(conv_ndims)
    if conv_ndims != len(input_shape) - 1:
      raise ValueError("Invalid input_shape {}: a ConvLSTM with conv_ndims={} "
                       "needs {} dimensions (spatial dims and channels)."
                       .format(input_shape, conv_ndims, conv_ndims + 1))
    if use_bias and legacy_bias_behaviour:
      tf.logging.warning(
          "ConvLSTM will create an additional bias in the hidden-to-gates "
          "convolution (legacy_bias_behaviour=True); this bias is redundant "
          "with the input convolution's. Pass legacy_bias_behaviour=False to "
          "avoid it.")
    if use_layer_norm:
      util.deprecation_warning(
          "`use_layer_norm` kwarg is being deprecated as the implementation is "
          "currently incorrect - scale and offset params are created for "
          "spatial_dims * channels instead of just channels.")
    self._conv_ndims = conv_ndims
    self._input_shape = tuple(input_shape)
    self._output_channels = output_channels
    self._kernel_shape = kernel_shape
    self._stride = stride
    self._rate = rate
    self._padding = padding
    self._use_bias = use_bias
    self._legacy_bias_behaviour = legacy_bias_behaviour
    self._forget_bias = forget_bias
    self._initializers = initializers
    self._partitioners = partitioners
    self._regularizers = regularizers
    self._use_layer_norm = use_layer_norm
    self._total_output_channels = output_channels
    if self._stride != 1:
      self._total_output_channels //= self._stride * self._stride
    self._convolutions = dict()

  @classmethod
  def get_possible_initializer_keys(cls, conv_ndims, use_bias=True):
    """The convolutions' initializer keys (`{"w", "b"}` or `{"w"}`)."""
    return cls._get_conv_class(conv_ndims).get_possible_initializer_keys(
        use_bias)

  @classmethod
  def _get_conv_class(cls, conv_ndims):
    if conv_ndims == 1:
      return conv.Conv1D
    elif conv_ndims == 2:
      return conv.Conv2D
    elif conv_ndims == 3:
      return conv.Conv3D
    raise ValueError("Invalid convolution dimensionality.")

  def _new_convolution(self, use_bias):
    """A convolution to `4 * output_channels` named `conv` in the core's scope."""

    def clean_dict(input_dict):
      if input_dict and not use_bias:
        cleaned_dict = dict(input_dict)
        cleaned_dict.pop("b", None)
        return cleaned_dict
      return input_dict

    return self._conv_class(
        output_channels=4 * self._output_channels,
        kernel_shape=self._kernel_shape,
        stride=self._stride,
        rate=self._rate,
        padding=self._padding,
        use_bias=use_bias,
        initializers=clean_dict(self._initializers),
        partitioners=clean_dict(self._partitioners),
        regularizers=clean_dict(self._regularizers),
        name="conv")

  @property
  def convolutions(self):
    """Dict with the `"input"` and `"hidden"` convolution modules."""
    self._ensure_is_connected()
    return self._convolutions

  @property
  def state_size(self):
    hidden_size = tf.TensorShape(self._input_shape[:-1] +
                                 (self._output_channels,))
    return (hidden_size, hidden_size)

  @property
  def output_size(self):
    return tf.TensorShape(self._input_shape[:-1] +
                          (self._total_output_channels,))

  @property
  def use_layer_norm(self):
    return self._use_layer_norm

  def _build(self, inputs, state):
    """Connects the core for one time step.

    Args:
      inputs: `[batch_size] + input_shape` tensor.
      state: `(hidden, cell)`.

    Returns:
      `(next_hidden, (next_hidden, next_cell))`.

    Raises:
      ValueError: if the state is not a pair.
    """
    hidden, cell = _unpack_pair(state, "ConvLSTM")
    if "input" not in self._convolutions:
      self._convolutions["input"] = self._new_convolution(self._use_bias)
    if "hidden" not in self._convolutions:
      if self._legacy_bias_behaviour:
        self._convolutions["hidden"] = self._new_convolution(self._use_bias)
      else:
        # The input convolution's bias is enough.
        self._convolutions["hidden"] = self._new_convolution(use_bias=False)
    input_conv = self._convolutions["input"]
    hidden_conv = self._convolutions["hidden"]
    next_hidden = input_conv(inputs) + hidden_conv(hidden)
    if self._use_layer_norm:
      # Normalises over all spatial dimensions and channels (deprecated).
      unflat_shape = next_hidden.get_shape().as_list()[1:]
      next_hidden = basic.BatchFlatten()(next_hidden)
      next_hidden = layer_norm.LayerNorm()(next_hidden)
      next_hidden = basic.BatchReshape(unflat_shape)(next_hidden)
    gates = tf.split(value=next_hidden, num_or_size_splits=4,
                     axis=self._conv_ndims + 1)
    input_gate, next_input, forget_gate, output_gate = gates
    next_cell = tf.sigmoid(forget_gate + self._forget_bias) * cell
    next_cell += tf.sigmoid(input_gate) * tf.tanh(next_input)
    output = tf.tanh(next_cell) * tf.sigmoid(output_gate)
    return output, (output, next_cell)


class Conv1DLSTM(ConvLSTM):
  """1-D convolutional LSTM: inputs `[batch, width, channels]`."""

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):  # pylint: disable=arguments-differ
    return super(Conv1DLSTM, cls).get_possible_initializer_keys(1, use_bias)

  def __init__(self, name="conv_1d_lstm", **kwargs):
    """Constructs the core; see `ConvLSTM` for the arguments."""
    super(Conv1DLSTM, self).__init__(conv_ndims=1, name=name, **kwargs)


class Conv2DLSTM(ConvLSTM):
  """2-D convolutional LSTM: inputs `[batch, height, width, channels]`."""

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):  # pylint: disable=arguments-differ
    return super(Conv2DLSTM, cls).get_possible_initializer_keys(2, use_bias)

  def __init__(self, name="conv_2d_lstm", **kwargs):
    """Constructs the core; see `ConvLSTM` for the arguments."""
    super(Conv2DLSTM, self).__init__(conv_ndims=2, name=name, **kwargs)


# --- GRU and highway core -----------------------------------------------------


class GRU(rnn_core.RNNCore):
  """Gated recurrent unit (Cho et al. 2014).

      z = sigmoid(x wz + h uz + bz)
      r = sigmoid(x wr + h ur + br)
      h~ = tanh(x wh + (r * h) uh + bh)
      h' = (1 - z) * h + z * h~

  Returns `(h', h')`.
  """

  # Keys that may be provided for parameter initializers.
  WZ = "wz"  # weight for input -> update cell
  UZ = "uz"  # weight for prev_state -> update cell
  BZ = "bz"  # bias for update_cell
  WR = "wr"  # weight for input -> reset cell
  UR = "ur"  # weight for prev_state -> reset cell
  BR = "br"  # bias for reset cell
  WH = "wh"  # weight for input -> candidate activation
  UH = "uh"  # weight for prev_state -> candidate activation
  BH = "bh"  # bias for candidate activation
  POSSIBLE_INITIALIZER_KEYS = {WZ, UZ, BZ, WR, UR, BR, WH, UH, BH}

  def __init__(self, hidden_size, initializers=None, partitioners=None,
               regularizers=None, custom_getter=None, name="gru"):
    """Constructs a GRU.

    Args:
      hidden_size: state size.
      initializers: optional dict keyed by the nine weight/bias keys (all
        default to `tf.get_variable`'s glorot uniform).
      partitioners: optional dict, same keys.
      regularizers: optional dict, same keys.
      custom_getter: custom getter for the module's variables.
      name: module name.

    Raises:
      KeyError: for an unknown dict key.
      TypeError: for a non-callable dict value.
    """
    super(GRU, self).__init__(custom_getter=custom_getter, name=name)
    self._hidden_size = hidden_size
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  @classmethod
  def get_possible_initializer_keys(cls):
    # Upstream forwarded an extra argument to the base classmethod and so
    # raised TypeError; this returns the intended key set.
    return cls.POSSIBLE_INITIALIZER_KEYS

  def _build(self, inputs, prev_state):
    """Connects the core for one time step.

    Args:
      inputs: `[batch_size, input_size]` tensor.
      prev_state: `[batch_size, hidden_size]` tensor.

    Returns:
      `(next_state, next_state)`.

    Raises:
      ValueError: for a non rank-2 input or a state of the wrong size.
    """
    inputs, prev_state = _to_tensors(inputs, prev_state)
    input_size = _check_rank_2(inputs)
    _check_state_shape(prev_state, [self._hidden_size], "GRU")
    weight_shape = (input_size, self._hidden_size)
    u_shape = (self._hidden_size, self._hidden_size)
    bias_shape = (self._hidden_size,)

    def get_variable(key, shape):
      return _keyed_variable(self, key, shape, inputs.dtype)

    self._wz = get_variable(GRU.WZ, weight_shape)
    self._uz = get_variable(GRU.UZ, u_shape)
    self._bz = get_variable(GRU.BZ, bias_shape)
    self._wr = get_variable(GRU.WR, weight_shape)
    self._ur = get_variable(GRU.UR, u_shape)
    self._br = get_variable(GRU.BR, bias_shape)
    self._wh = get_variable(GRU.WH, weight_shape)
    self._uh = get_variable(GRU.UH, u_shape)
    self._bh = get_variable(GRU.BH, bias_shape)

    z = tf.sigmoid(tf.matmul(inputs, self._wz) +
                   tf.matmul(prev_state, self._uz) + self._bz)
    r = tf.sigmoid(tf.matmul(inputs, self._wr) +
                   tf.matmul(prev_state, self._ur) + self._br)
    h_twiddle = tf.tanh(tf.matmul(inputs, self._wh) +
                        tf.matmul(r * prev_state, self._uh) + self._bh)
    state = (1 - z) * prev_state + z * h_twiddle
    return state, state

  @property
  def state_size(self):
    return tf.TensorShape([self._hidden_size])

  @property
  def output_size(self):
    return tf.TensorShape([self._hidden_size])


class HighwayCore(rnn_core.RNNCore):
  """Recurrent highway network core (Zilly et al. 2016).

  With `s` the previous state, for layers `l = 0 .. num_layers - 1`:

      t = sigmoid(s wt_l + bt_l [+ x wt if l == 0])
      h = tanh(s wh_l + bh_l [+ x wh if l == 0])
      s = s * (1 - t) + h * t

  Returns `(s, s)`.
  """

  # Keys that may be provided for parameter initializers.
  WT = "wt"  # weight for input or previous state -> T gate
  BT = "bt"  # bias for previous state -> T gate
  WH = "wh"  # weight for input or previous state -> H gate
  BH = "bh"  # bias for previous state -> H gate

  def __init__(self, hidden_size, num_layers, initializers=None,
               partitioners=None, regularizers=None, custom_getter=None,
               name="highwaycore"):
    """Constructs the core.

    Args:
      hidden_size: state size.
      num_layers: number of highway layers per time step.
      initializers: optional dict keyed by `wt`, `wh` and `wt{l}`, `bt{l}`,
        `wh{l}`, `bh{l}` per layer (defaults glorot uniform).
      partitioners: optional dict, same keys.
      regularizers: optional dict, same keys.
      custom_getter: custom getter for the module's variables.
      name: module name.

    Raises:
      KeyError: for an unknown dict key.
      TypeError: for a non-callable dict value.
    """
    super(HighwayCore, self).__init__(custom_getter=custom_getter, name=name)
    self._hidden_size = hidden_size
    self._num_layers = num_layers
    self.possible_keys = self.get_possible_initializer_keys(num_layers)
    self._initializers = util.check_initializers(initializers,
                                                 self.possible_keys)
    self._partitioners = util.check_partitioners(partitioners,
                                                 self.possible_keys)
    self._regularizers = util.check_regularizers(regularizers,
                                                 self.possible_keys)

  @classmethod
  def get_possible_initializer_keys(cls, num_layers):  # pylint: disable=arguments-differ
    """The keys for `num_layers` layers."""
    keys = [cls.WT, cls.WH]
    for layer_index in range(num_layers):
      layer_str = str(layer_index)
      keys += [cls.WT + layer_str, cls.BT + layer_str,
               cls.WH + layer_str, cls.BH + layer_str]
    return set(keys)

  def _build(self, inputs, prev_state):
    """Connects the core for one time step.

    Args:
      inputs: `[batch_size, input_size]` tensor.
      prev_state: `[batch_size, hidden_size]` tensor.

    Returns:
      `(next_state, next_state)`.

    Raises:
      ValueError: for a non rank-2 input or a state of the wrong size.
    """
    inputs, prev_state = _to_tensors(inputs, prev_state)
    input_size = _check_rank_2(inputs)
    _check_state_shape(prev_state, [self._hidden_size], "HighwayCore")
    weight_shape = (input_size, self._hidden_size)
    u_shape = (self._hidden_size, self._hidden_size)
    bias_shape = (self._hidden_size,)

    def get_variable(key, shape):
      return _keyed_variable(self, key, shape, inputs.dtype)

    pre_highway_wt = get_variable(self.WT, weight_shape)
    pre_highway_wh = get_variable(self.WH, weight_shape)
    state = prev_state
    for layer_index in range(self._num_layers):
      layer_str = str(layer_index)
      layer_wt = get_variable(self.WT + layer_str, u_shape)
      layer_bt = get_variable(self.BT + layer_str, bias_shape)
      layer_wh = get_variable(self.WH + layer_str, u_shape)
      layer_bh = get_variable(self.BH + layer_str, bias_shape)
      linear_t = tf.matmul(state, layer_wt) + layer_bt
      linear_h = tf.matmul(state, layer_wh) + layer_bh
      if layer_index == 0:
        linear_t += tf.matmul(inputs, pre_highway_wt)
        linear_h += tf.matmul(inputs, pre_highway_wh)
      output_t = tf.sigmoid(linear_t)
      output_h = tf.tanh(linear_h)
      state = state * (1 - output_t) + output_h * output_t
    return state, state

  @property
  def state_size(self):
    return tf.TensorShape([self._hidden_size])

  @property
  def output_size(self):
    return tf.TensorShape([self._hidden_size])


def highway_core_with_recurrent_dropout(hidden_size, num_layers,
                                        keep_prob=0.5, **kwargs):
  """A highway core with recurrent dropout on its state.

  Args:
    hidden_size: state size.
    num_layers: number of highway layers.
    keep_prob: keep probability of the state.
    **kwargs: passed to `HighwayCore`.

  Returns:
    `(train_core, test_core)`, sharing weights.
  """
  core = HighwayCore(hidden_size, num_layers, **kwargs)
  return RecurrentDropoutWrapper(core, keep_prob), core


# --- LSTMBlockCell ------------------------------------------------------------------


class LSTMBlockCell(rnn_core.RNNCellWrapper):
  """Sonnet core around an LSTM cell running TF's fused `LSTMBlockCell` op.

      [i, ci, f, o] = [x, h] kernel + bias
      i = sigmoid(i + w_i_diag * c);  f = sigmoid(f + forget_bias + w_f_diag * c)
      c' = tanh(ci) * i + c * f       (clipped to +-cell_clip if given)
      o = sigmoid(o + w_o_diag * c');  h' = tanh(c') * o

  The state is `LSTMStateTuple(c, h)` (cell first); the output is `h'`.
  """

  @rnn_core.with_doc(_LSTMBlockCell.__init__)
  def __init__(self, *args, **kwargs):
    if kwargs.get("name") is None:
      kwargs.pop("name", None)
    super(LSTMBlockCell, self).__init__(_LSTMBlockCell, *args, **kwargs)
