"""Base class for recurrent cores, and trainable initial states.

An `RNNCore` is a Sonnet module whose `_build(inputs, prev_state)` returns
`(output, next_state)`. It duck-types TensorFlow's `RNNCell` (it has
`state_size`, `output_size`, `zero_state` and is callable), so cores run as
the cell of `tf.nn.dynamic_rnn` / `tf.nn.static_rnn` and share their variables
across time steps through the module's template.
"""

import abc
import warnings

from sonnet.python.modules import base
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import tensor_util
import wrapt

nest = tf.nest


def _batch_dim(batch_size, static):
  """The batch size as a list for a static shape, or a 1-D tensor."""
  if isinstance(batch_size, tf.Tensor):
    if static:
      value = tensor_util.constant_value(batch_size)
      return [None if value is None else int(value)]
    return tf.reshape(tf.cast(batch_size, tf.int32), [1])
  return [batch_size] if static else tf.constant([batch_size], tf.int32)


def _zero_state_tensors(state_size, batch_size, dtype):
  """Zeros `[batch_size] + size` for every leaf size in `state_size`."""

  def zeros_for(size):
    size = tf.TensorShape(size)
    if not size.is_fully_defined():
      raise ValueError(
          "State size {} must be fully defined to build a zero state.".format(
              size))
    dims = size.as_list()
    if isinstance(batch_size, tf.Tensor):
      shape = tf.concat([_batch_dim(batch_size, False),
                         tf.constant(dims, tf.int32)], 0)
    else:
      shape = [batch_size] + dims
    zeros = tf.zeros(shape, dtype=dtype)
    zeros.set_shape(_batch_dim(batch_size, True) + dims)
    return zeros

  return nest.map_structure(zeros_for, state_size)


def trainable_initial_state(batch_size, state_size, dtype, initializers=None,
                            regularizers=None, name=None):
  """Creates a learnable initial state, tiled over the batch.

  One `TrainableVariable` of shape `[1] + size` per leaf of `state_size` is
  created in the *current* variable scope (named `{name}_{suffix}`, variable
  `{name}_{suffix}/w`, where the suffix is the namedtuple field name or the
  leaf index) and tiled to `[batch_size] + size`.

  Args:
    batch_size: int or scalar int32 tensor.
    state_size: nested structure of sizes (ints or `TensorShape`s).
    dtype: dtype of the state.
    initializers: optional structure like `state_size` of initializers
      (default zeros).
    regularizers: optional structure like `state_size` of regularizers.
    name: prefix of the variable names (default `"initial_state"`).

  Returns:
    A structure like `state_size` of `[batch_size, ...]` tensors.

  Raises:
    ValueError: if initializers/regularizers are not all callables, or their
      structure does not match `state_size`.
  """
  from sonnet.python.modules import basic  # pylint: disable=g-import-not-at-top

  flat_state_size = nest.flatten(state_size)

  if not initializers:
    flat_initializers = [tf.zeros_initializer() for _ in flat_state_size]
  else:
    nest.assert_same_structure(initializers, state_size)
    flat_initializers = nest.flatten(initializers)
    if not all(callable(init) for init in flat_initializers):
      raise ValueError("Not all the passed initializers are callable objects.")

  if not regularizers:
    flat_regularizers = [None for _ in flat_state_size]
  else:
    nest.assert_same_structure(regularizers, state_size)
    flat_regularizers = nest.flatten(regularizers)
    if not all(callable(reg) for reg in flat_regularizers):
      raise ValueError("Not all the passed regularizers are callable objects.")

  name_prefix = name or "initial_state"
  fields = getattr(state_size, "_fields", None)
  if fields is not None and len(fields) >= len(flat_state_size):
    name_suffixes = list(fields[:len(flat_state_size)])
  else:
    name_suffixes = list(range(len(flat_state_size)))

  flat_initial_state = []
  for suffix, size, init, reg in zip(name_suffixes, flat_state_size,
                                     flat_initializers, flat_regularizers):
    shape_with_batch_dim = [1] + tf.TensorShape(size).as_list()
    module = basic.TrainableVariable(
        shape_with_batch_dim, dtype=dtype, initializers={"w": init},
        regularizers={"w": reg} if reg is not None else None,
        name="{}_{}".format(name_prefix, suffix))
    variable = module()
    rank = variable.get_shape().ndims
    multiples = [batch_size] + [1] * (rank - 1)
    flat_initial_state.append(
        tf.tile(variable, multiples, name="state_{}_tiled".format(suffix)))

  return nest.pack_sequence_as(structure=state_size,
                               flat_sequence=flat_initial_state)


class RNNCore(base.AbstractModule, metaclass=abc.ABCMeta):
  """Base class for recurrent cores.

  Subclasses implement `_build(inputs, prev_state) -> (output, next_state)`
  and the `state_size` and `output_size` properties (nested structures of
  ints / `TensorShape`s, without the batch dimension).
  """

  def _build(self, inputs, prev_state):
    """Returns `(output, next_state)`; implemented by subclasses."""
    # Not an abstractmethod: like `state_size`/`output_size` it raises when
    # used, so that the base class itself can be instantiated (Sonnet 1's
    # tests set `RNNCore.state_size` and call `RNNCore(name=...)`).
    raise NotImplementedError("Abstract method")

  def _initial_state_scope(self, name):
    return name if name else "%s_initial_state" % self.scope_name

  def initial_state(self, batch_size, dtype=tf.float32, trainable=False,
                    trainable_initializers=None, trainable_regularizers=None,
                    name=None, **unused_kwargs):
    """Builds the initial state: zeros, or learnable variables tiled on batch.

    Args:
      batch_size: int or scalar int32 tensor.
      dtype: dtype of the state.
      trainable: if True, the state is learnable (one variable per leaf,
        created in the current variable scope, named
        `{scope_name}_initial_state_{suffix}/w` unless `name` is given).
      trainable_initializers: structure like `state_size` of initializers
        (only with `trainable`).
      trainable_regularizers: structure like `state_size` of regularizers
        (only with `trainable`).
      name: name scope and variable prefix.
      **unused_kwargs: ignored (for compatible subclass signatures).

    Returns:
      A structure like `state_size` of tensors with a leading batch dim.
    """
    with tf.name_scope(self._initial_state_scope(name)):
      if not trainable:
        return self.zero_state(batch_size, dtype)
      return trainable_initial_state(
          batch_size, self.state_size, dtype,
          initializers=trainable_initializers,
          regularizers=trainable_regularizers,
          name=self._initial_state_scope(name))

  @property
  def state_size(self):
    """Size(s) of the state, without the batch dimension."""
    raise NotImplementedError("Abstract method")

  @property
  def output_size(self):
    """Size(s) of the output, without the batch dimension."""
    raise NotImplementedError("Abstract method")

  def zero_state(self, batch_size, dtype):
    """Zeros of shape `[batch_size] + size` for every leaf of `state_size`."""
    # Leading underscores are stripped (a user class `_Core` would otherwise
    # be an invalid root name scope); otherwise as upstream.
    scope_name = type(self).__name__.lstrip("_") + "ZeroState"
    with tf.name_scope(scope_name, values=[batch_size]):
      return _zero_state_tensors(self.state_size, batch_size, dtype)


class TrainableInitialState(base.AbstractModule):
  """Deprecated: makes a given initial state learnable.

  Use `core.initial_state(batch_size, trainable=True)` instead.

  Connecting the module (no arguments) returns a structure like
  `initial_state` where each learnable leaf is a variable (initialized with
  row 0 of the given tensor) tiled over the batch. Graph assertions check at
  run time that all rows of every given state tensor are equal
  (`InvalidArgumentError` otherwise).
  """

  def __init__(self, initial_state, mask=None, name="trainable_initial_state"):
    """Constructs the module.

    Args:
      initial_state: nested structure of tensors with fully defined shapes.
      mask: optional structure like `initial_state` of Python bools; False
        leaves are returned unchanged.
      name: module name.

    Raises:
      TypeError: if `mask` has non-bool entries.
      ValueError: if `mask`'s structure differs from `initial_state`'s.
    """
    super(TrainableInitialState, self).__init__(name=name)
    warnings.simplefilter("always", DeprecationWarning)
    warnings.warn("Use the trainable flag in initial_state instead.",
                  DeprecationWarning, stacklevel=2)
    if mask is not None:
      flat_mask = nest.flatten(mask)
      if not all(isinstance(m, bool) for m in flat_mask):
        raise TypeError("Mask should be None or a list of boolean values.")
      nest.assert_same_structure(initial_state, mask)
    self._mask = mask
    self._initial_state = initial_state

  def _build(self):
    """Returns the (partly) learnable initial state."""
    flat_initial_state = nest.flatten(self._initial_state)
    if self._mask is None:
      flat_mask = [True] * len(flat_initial_state)
    else:
      flat_mask = nest.flatten(self._mask)
    flat_learnable_state = [
        _single_learnable_state(state, state_id=i, learnable=learnable)
        for i, (state, learnable) in enumerate(zip(flat_initial_state,
                                                   flat_mask))]
    return nest.pack_sequence_as(structure=self._initial_state,
                                 flat_sequence=flat_learnable_state)


def _single_learnable_state(state, state_id=0, learnable=True):
  """Learnable version of one state tensor; asserts its rows are equal."""
  state = tf.convert_to_tensor(state)
  unpacked_state = tf.unstack(state)
  assert_rows_equal = [tf.assert_equal(s, unpacked_state[0])
                       for s in unpacked_state]
  with tf.control_dependencies(assert_rows_equal):
    if not learnable:
      # Upstream returned `state` itself here, which silently dropped the
      # assertions; identity keeps them on the critical path as documented.
      return tf.identity(state)
    state_shape = state.get_shape()
    state_shape.assert_is_fully_defined()
    state_shape_list = state_shape.as_list()
    batch_size, trailing_shape = state_shape_list[0], state_shape_list[1:]
    initial_value = tf.reshape(unpacked_state[0], [1] + trailing_shape)
    initial_state_variable = tf.get_variable(
        "initial_state_%d" % state_id, dtype=initial_value.dtype,
        initializer=initial_value)
    return tf.tile(initial_state_variable,
                   tf.constant([batch_size] + [1] * len(trailing_shape)))


class RNNCellWrapper(RNNCore):
  """Wraps an RNNCell-like object (built by `cell_ctor`) as a Sonnet core.

  The cell is constructed inside the module's variable scope, so its
  variables live under `<module scope>/...`.
  """

  def __init__(self, cell_ctor, *args, **kwargs):
    """Constructs the wrapper.

    Args:
      cell_ctor: callable returning the cell; called with `*args, **kwargs`
        (including `name`, which is also the module's name).
      *args: positional arguments for `cell_ctor`.
      **kwargs: keyword arguments for `cell_ctor`; `custom_getter` is taken
        by the module and not passed on.
    """
    name = kwargs.get("name")
    custom_getter = kwargs.pop("custom_getter", None)
    super(RNNCellWrapper, self).__init__(name=name,
                                         custom_getter=custom_getter)
    with self._enter_variable_scope():
      self._cell = cell_ctor(*args, **kwargs)

  def _build(self, inputs, prev_state):
    return self._cell(inputs, prev_state)

  @property
  def output_size(self):
    return self._cell.output_size

  @property
  def state_size(self):
    return self._cell.state_size


def with_doc(fn_with_doc_to_copy):
  """Decorator factory: an `__init__` that shows another function's docs.

  The decorated `__init__` keeps running its own code, but advertises the
  signature and docstring of `fn_with_doc_to_copy`.

  Args:
    fn_with_doc_to_copy: the function whose docs/signature to copy.

  Returns:
    A decorator for `__init__` methods.
  """

  def decorator(wrapper_init):

    @wrapt.decorator
    def wrapping_fn(unused_wrapped, instance, args, kwargs):
      wrapper_init(instance, *args, **kwargs)

    return wrapping_fn(fn_with_doc_to_copy)  # pylint: disable=no-value-for-parameter

  return decorator
