"""Basic recurrent cores: VanillaRNN, DeepRNN, ModelRNN, BidirectionalRNN."""

import collections.abc

from sonnet.python.modules import base
from sonnet.python.modules import basic
from sonnet.python.modules import rnn_core
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf

nest = tf.nest


def _get_flat_core_sizes(cores):
  """Per core, the list of its flattened output sizes as lists of dims."""
  core_sizes_lists = []
  for core in cores:
    flat_output_size = nest.flatten(core.output_size)
    core_sizes_lists.append(
        [tf.TensorShape(size).as_list() for size in flat_output_size])
  return core_sizes_lists


def _get_shape_without_batch_dimension(tensor_nest):
  return nest.map_structure(lambda t: t.get_shape()[1:], tensor_nest)


class VanillaRNN(rnn_core.RNNCore):
  """Basic fully connected recurrent core.

  `h' = activation(W_ih x + b_ih + W_hh h + b_hh)`; output and next state are
  both `h'` (`[batch, hidden_size]`).
  """

  IN_TO_HIDDEN = "in_to_hidden"
  HIDDEN_TO_HIDDEN = "hidden_to_hidden"
  POSSIBLE_INITIALIZER_KEYS = {IN_TO_HIDDEN, HIDDEN_TO_HIDDEN}

  def __init__(self, hidden_size, activation=tf.tanh, initializers=None,
               partitioners=None, regularizers=None, name="vanilla_rnn"):
    """Constructs the core.

    Args:
      hidden_size: size of the hidden state and output.
      activation: the nonlinearity.
      initializers: optional dict with keys `"in_to_hidden"` and/or
        `"hidden_to_hidden"`, each a dict of `"w"`/`"b"` initializers for
        the corresponding `Linear`.
      partitioners: same structure, partitioners.
      regularizers: same structure, regularizers.
      name: module name.

    Raises:
      KeyError: unknown keys in initializers/partitioners/regularizers.
      TypeError: values are neither callables nor dicts.
    """
    super(VanillaRNN, self).__init__(name=name)
    self._hidden_size = hidden_size
    self._activation = activation
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _build(self, input_, prev_state):
    """Connects the core: `(input [B, in], state [B, h]) -> (h', h')`."""
    prev_state = tf.convert_to_tensor(prev_state)
    state_width = tf.dimension_value(prev_state.get_shape()[-1]) if (
        prev_state.get_shape().ndims) else None
    if state_width is not None and state_width != self._hidden_size:
      # Otherwise the first connection would silently build a wrongly shaped
      # hidden_to_hidden weight.
      raise base.IncompatibleShapeError(
          "{}: prev_state must have shape [batch, {}], got {}.".format(
              self.scope_name, self._hidden_size, prev_state.get_shape()))
    self._in_to_hidden_linear = basic.Linear(
        self._hidden_size, name="in_to_hidden",
        initializers=self._initializers.get(self.IN_TO_HIDDEN),
        partitioners=self._partitioners.get(self.IN_TO_HIDDEN),
        regularizers=self._regularizers.get(self.IN_TO_HIDDEN))
    self._hidden_to_hidden_linear = basic.Linear(
        self._hidden_size, name="hidden_to_hidden",
        initializers=self._initializers.get(self.HIDDEN_TO_HIDDEN),
        partitioners=self._partitioners.get(self.HIDDEN_TO_HIDDEN),
        regularizers=self._regularizers.get(self.HIDDEN_TO_HIDDEN))
    in_to_hidden = self._in_to_hidden_linear(input_)
    hidden_to_hidden = self._hidden_to_hidden_linear(prev_state)
    output = self._activation(in_to_hidden + hidden_to_hidden)
    return output, output

  @property
  def in_to_hidden_linear(self):
    self._ensure_is_connected()
    return self._in_to_hidden_linear

  @property
  def hidden_to_hidden_linear(self):
    self._ensure_is_connected()
    return self._hidden_to_hidden_linear

  @property
  def in_to_hidden_variables(self):
    self._ensure_is_connected()
    return self._in_to_hidden_linear.get_variables()

  @property
  def hidden_to_hidden_variables(self):
    self._ensure_is_connected()
    return self._hidden_to_hidden_linear.get_variables()

  @property
  def state_size(self):
    return tf.TensorShape([self._hidden_size])

  @property
  def output_size(self):
    return tf.TensorShape([self._hidden_size])


class DeepRNN(rnn_core.RNNCore):
  """Stacks cores (recurrent or feed-forward) into one deep core.

  With `skip_connections`, every core after the first also sees the original
  input (concatenated on the last axis), and the output is the concatenation
  of all cores' outputs (or just the last one's when
  `concat_final_output_if_skip=False`). The state is a tuple with one entry
  per recurrent core. Extra keyword arguments of `_build` are passed to every
  core.
  """

  def __init__(self, cores, skip_connections=True,
               concat_final_output_if_skip=True, name="deep_rnn"):
    """Constructs the stack.

    Args:
      cores: iterable of RNNCores and/or feed-forward callables.
      skip_connections: see class docstring (all cores must be RNNCores).
      concat_final_output_if_skip: concatenate all outputs when skipping.
      name: module name.

    Raises:
      ValueError: `cores` is not iterable; skip connections with a
        non-recurrent core; core output sizes that cannot be concatenated.
    """
    super(DeepRNN, self).__init__(name=name)
    if not isinstance(cores, collections.abc.Iterable):
      raise ValueError("Cores should be an iterable object.")
    self._cores = tuple(cores)
    self._skip_connections = skip_connections
    self._concat_final_output_if_skip = concat_final_output_if_skip
    self._is_recurrent_list = [isinstance(core, rnn_core.RNNCore)
                               for core in self._cores]

    if self._skip_connections:
      tf.logging.log_first_n(
          tf.logging.WARN,
          "The `skip_connections` argument will be deprecated.", 1)
      if not all(self._is_recurrent_list):
        raise ValueError("skip_connections are only supported if all cores "
                         "are recurrent.")
      self._check_cores_output_sizes()

    self._num_recurrent = sum(self._is_recurrent_list)
    self._last_output_size = None

  def _check_cores_output_sizes(self):
    """Raises ValueError if core outputs cannot be concatenated."""
    for core_sizes in zip(*tuple(_get_flat_core_sizes(self._cores))):
      first_core_list = core_sizes[0][1:]
      for i, core_list in enumerate(core_sizes[1:]):
        if core_list[1:] != first_core_list:
          raise ValueError(
              "The outputs of the provided cores are not able to be "
              "concatenated along the first feature dimension. Core 0 has "
              "shape %s, whereas Core %d has shape %s - these must only "
              "differ in the first dimension" % (core_sizes[0], i + 1,
                                                 core_list))

  def _build(self, inputs, prev_state, **kwargs):
    """Connects the stack: `(inputs, state tuple) -> (output, state tuple)`."""
    if (not isinstance(prev_state, collections.abc.Sequence) or
        len(prev_state) != self._num_recurrent):
      raise ValueError(
          "prev_state must be a sequence with one state per recurrent core "
          "({}), got {!r}.".format(self._num_recurrent, prev_state))
    current_input = inputs
    next_states = []
    outputs = []
    recurrent_idx = 0
    concatenate = lambda *args: tf.concat(args, axis=-1)
    for i, core in enumerate(self._cores):
      if self._skip_connections and i > 0:
        current_input = nest.map_structure(concatenate, inputs, current_input)
      if self._is_recurrent_list[i]:
        current_input, next_state = core(current_input,
                                         prev_state[recurrent_idx], **kwargs)
        next_states.append(next_state)
        recurrent_idx += 1
      else:
        current_input = core(current_input, **kwargs)
      if self._skip_connections:
        outputs.append(current_input)

    if self._skip_connections and self._concat_final_output_if_skip:
      output = nest.map_structure(concatenate, *outputs)
    else:
      output = current_input

    self._last_output_size = _get_shape_without_batch_dimension(output)
    return output, tuple(next_states)

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None):
    """Tuple of the recurrent cores' initial states.

    Args:
      batch_size: int or scalar int32 tensor.
      dtype: state dtype.
      trainable: learnable initial states.
      trainable_initializers: one entry (or None) per recurrent core.
      trainable_regularizers: one entry (or None) per recurrent core.
      name: name scope.

    Returns:
      Tuple of states, one per recurrent core.

    Raises:
      ValueError: number of initializers/regularizers differs from the
        number of recurrent cores.
    """
    if trainable_initializers is None:
      trainable_initializers = [None] * self._num_recurrent
    if trainable_regularizers is None:
      trainable_regularizers = [None] * self._num_recurrent

    if len(trainable_initializers) != self._num_recurrent:
      raise ValueError("The number of initializers and recurrent cores should "
                       "be the same. Received %d initializers for %d specified "
                       "recurrent cores." % (len(trainable_initializers),
                                             self._num_recurrent))
    if len(trainable_regularizers) != self._num_recurrent:
      raise ValueError("The number of regularizers and recurrent cores should "
                       "be the same. Received %d regularizers for %d specified "
                       "recurrent cores." % (len(trainable_regularizers),
                                             self._num_recurrent))

    initial_state = []
    with tf.name_scope(self._initial_state_scope(name)):
      recurrent_idx = 0
      for is_recurrent, core in zip(self._is_recurrent_list, self._cores):
        if is_recurrent:
          initial_state.append(core.initial_state(
              batch_size, dtype=dtype, trainable=trainable,
              trainable_initializers=trainable_initializers[recurrent_idx],
              trainable_regularizers=trainable_regularizers[recurrent_idx]))
          recurrent_idx += 1
    return tuple(initial_state)

  @property
  def state_size(self):
    return tuple(core.state_size for is_recurrent, core
                 in zip(self._is_recurrent_list, self._cores) if is_recurrent)

  @property
  def output_size(self):
    if self._skip_connections and self._concat_final_output_if_skip:
      output_size = []
      for core_sizes in zip(*tuple(_get_flat_core_sizes(self._cores))):
        added_core_size = list(core_sizes[0])
        added_core_size[-1] = sum(size[-1] for size in core_sizes)
        output_size.append(tf.TensorShape(added_core_size))
      return nest.pack_sequence_as(structure=self._cores[0].output_size,
                                   flat_sequence=output_size)
    # A core without `output_size` is assumed not to change the shape, so the
    # last core that has one gives the stack's output size.
    if hasattr(self._cores[-1], "output_size"):
      return self._cores[-1].output_size
    if self._last_output_size is not None:
      tf.logging.warning(
          "The final core does not contain an output_size property; using "
          "the output shape recorded at the last connection.")
      return self._last_output_size
    for core in reversed(self._cores):
      if hasattr(core, "output_size"):
        tf.logging.warning(
            "The final core does not contain an output_size property; "
            "assuming the last core with one, %s, gives the output size.",
            core)
        return core.output_size
    raise ValueError("None of the 'cores' have output_size information.")

  @property
  def cores(self):
    return self._cores


class ModelRNN(rnn_core.RNNCore):
  """Core that ignores its input and applies `model` to its state.

  `(inputs, state) -> (model(state), model(state))`.
  """

  def __init__(self, model, name="model_rnn"):
    """Constructs the core.

    Args:
      model: callable with an `output_size` attribute (not an RNNCore).
      name: module name.

    Raises:
      TypeError: `model` is not callable, or is an RNNCore.
      AttributeError: `model` has no `output_size`.
    """
    super(ModelRNN, self).__init__(name=name)
    if not callable(model):
      raise TypeError("Model must be callable.")
    if isinstance(model, rnn_core.RNNCore):
      raise TypeError("Model should not be an RNNCore.")
    try:
      self._output_size = model.output_size
    except AttributeError:
      raise AttributeError("Model should have an output_size attribute.")
    self._model = model

  def _build(self, inputs, prev_state):
    """Returns `(model(prev_state), model(prev_state))`; `inputs` unused."""
    next_state = self._model(prev_state)
    return next_state, next_state

  @property
  def state_size(self):
    return self._output_size

  @property
  def output_size(self):
    return self._output_size


def _is_recurrent(core):
  return isinstance(core, rnn_core.RNNCore) or (
      hasattr(core, "initial_state") and hasattr(core, "output_size") and
      hasattr(core, "state_size"))


class BidirectionalRNN(base.AbstractModule):
  """Runs a forward core and a backward core over a time-major sequence.

  Connect with `(input_sequence [T, B, ...], (forward_state,
  backward_state))`; T must be static. Returns
  `{"outputs": {"forward", "backward"}, "state": {"forward", "backward"}}`,
  each stacked over time in processing order (for the backward core, index 0
  is the last time step).
  """

  def __init__(self, forward_core, backward_core, name="bidir_rnn"):
    """Constructs the module.

    Args:
      forward_core: an RNNCore (or object with its interface).
      backward_core: an RNNCore (or object with its interface).
      name: module name.

    Raises:
      ValueError: a core lacks the RNNCore interface.
    """
    super(BidirectionalRNN, self).__init__(name=name)
    self._forward_core = forward_core
    self._backward_core = backward_core
    if not (_is_recurrent(forward_core) and _is_recurrent(backward_core)):
      raise ValueError("Forward and backward cores must both be instances of "
                       "RNNCore.")

  def _build(self, input_sequence, state):
    """Unrolls both cores; see class docstring."""
    input_sequence = tf.convert_to_tensor(input_sequence)
    input_shape = input_sequence.get_shape()
    if (input_shape.ndims is None or
        tf.dimension_value(input_shape[0]) is None):
      raise ValueError("Time dimension of input (dim 0) must be statically "
                       "known.")
    seq_length = int(tf.dimension_value(input_shape[0]))
    forward_state, backward_state = state

    def stack(steps):
      return nest.map_structure(lambda *vals: tf.stack(vals), *steps)

    output_sequence_f = []
    with tf.name_scope("forward_rnn"):
      core_state = forward_state
      for i in range(seq_length):
        core_output, core_state = self._forward_core(input_sequence[i],
                                                     core_state)
        output_sequence_f.append((core_output, core_state))
      output_sequence_f = stack(output_sequence_f)

    output_sequence_b = []
    with tf.name_scope("backward_rnn"):
      core_state = backward_state
      for i in range(seq_length - 1, -1, -1):
        core_output, core_state = self._backward_core(input_sequence[i],
                                                      core_state)
        output_sequence_b.append((core_output, core_state))
      output_sequence_b = stack(output_sequence_b)

    return {
        "outputs": {
            "forward": output_sequence_f[0],
            "backward": output_sequence_b[0],
        },
        "state": {
            "forward": output_sequence_f[1],
            "backward": output_sequence_b[1],
        },
    }

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None):
    """`(forward_initial_state, backward_initial_state)`."""
    name = "state" if name is None else name
    forward_initial_state = self._forward_core.initial_state(
        batch_size, dtype, trainable, trainable_initializers,
        trainable_regularizers, name=name + "_forward")
    backward_initial_state = self._backward_core.initial_state(
        batch_size, dtype, trainable, trainable_initializers,
        trainable_regularizers, name=name + "_backward")
    return forward_initial_state, backward_initial_state

  @property
  def state_size(self):
    return self._forward_core.state_size, self._backward_core.state_size

  @property
  def output_size(self):
    return self._forward_core.output_size, self._backward_core.output_size
