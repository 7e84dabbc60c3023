"""Basic feed-forward modules: linear maps, biases, reshapes and slicing.

Also the free functions `merge_leading_dims` / `split_leading_dim` (used by
`BatchApply` to run a module on inputs with several batch dimensions) and the
default initializers of `Linear` and `AddBias`.
"""

import math
import numbers

import numpy as np
from sonnet.python.modules import base
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


# --- free functions -----------------------------------------------------------


def merge_leading_dims(array_or_tensor, n_dims=2):
  """Merges the first `n_dims` dimensions of a tensor into one.

  Args:
    array_or_tensor: a tensor, or anything `tf.convert_to_tensor` accepts.
    n_dims: how many leading dimensions to merge.

  Returns:
    A tensor of shape `[prod(shape[:n_dims])] + shape[n_dims:]`; or the
    argument itself, unchanged, if its rank is below `n_dims`.

  Raises:
    ValueError: if the rank of the tensor is unknown.
  """
  tensor = tf.convert_to_tensor(array_or_tensor)
  static_shape = tensor.get_shape()
  if static_shape.dims is None:
    raise ValueError("Can't merge leading dimensions of tensor of unknown rank.")
  shape_list = static_shape.as_list()
  if n_dims > len(shape_list):
    return array_or_tensor

  if static_shape.is_fully_defined():
    new_shape = [int(np.prod(shape_list[:n_dims]))] + shape_list[n_dims:]
    return tf.reshape(tensor, new_shape)

  dynamic_shape = tf.shape(tensor)
  merged_size = tf.reduce_prod(dynamic_shape[:n_dims], keepdims=True)
  new_shape = tf.concat([merged_size, dynamic_shape[n_dims:]], 0)
  result = tf.reshape(tensor, new_shape)
  leading = shape_list[:n_dims]
  if all(dim is not None for dim in leading):
    static_merged = int(np.prod(leading))
  else:
    static_merged = None
  result.set_shape([static_merged] + shape_list[n_dims:])
  return result


def split_leading_dim(tensor, inputs, n_dims=2):
  """Splits the first dimension of `tensor` into `inputs`' first `n_dims` dims.

  The inverse of `merge_leading_dims`: `tensor` has shape `[N, ...]` with
  `N == prod(inputs.shape[:n_dims])`; the result has shape
  `inputs.shape[:n_dims] + tensor.shape[1:]`.
  """
  input_static = inputs.get_shape()
  tensor_static = tensor.get_shape()
  input_list = input_static.as_list()
  tensor_list = tensor_static.as_list()
  if input_static.is_fully_defined() and tensor_static.is_fully_defined():
    return tf.reshape(tensor, input_list[:n_dims] + tensor_list[1:])

  new_shape = tf.concat([tf.shape(inputs)[:n_dims], tf.shape(tensor)[1:]], 0)
  result = tf.reshape(tensor, new_shape)
  result.set_shape(input_list[:n_dims] + tensor_list[1:])
  return result


def create_linear_initializer(input_size, dtype=tf.float32):
  """Default weight initializer: truncated normal with stddev 1/sqrt(fan-in)."""
  stddev = 1 / math.sqrt(input_size)
  return tf.truncated_normal_initializer(stddev=stddev, dtype=dtype)


def create_bias_initializer(unused_bias_shape, dtype=tf.float32):
  """Default bias initializer: zeros."""
  return tf.zeros_initializer(dtype=dtype)


def calculate_bias_shape(input_shape, bias_dims):
  """Returns the shape of a bias broadcast over all dims not in `bias_dims`.

  Args:
    input_shape: the input's shape, batch dimension first.
    bias_dims: dimensions the bias varies over (negative values count from
      the end); None means every dimension except the batch one, `[]` means
      a scalar bias.

  Returns:
    A tuple; leading singleton dimensions (after the batch one) are dropped,
    so the bias broadcasts against the input. E.g. input `[B, d1, d2, d3]`:
    `[1, 3]` -> `(d1, 1, d3)`, `[-1]` -> `(d3,)`, `[1]` -> `(d1, 1, 1)`.

  Raises:
    ValueError: if `bias_dims` names the batch dimension (dimension 0).
  """
  input_rank = len(input_shape)
  if bias_dims is None:
    return tuple(input_shape[1:])
  elif not bias_dims:
    return ()
  if input_rank == 0:
    raise ValueError("Cannot compute a bias shape over dims {} for a scalar "
                     "input.".format(bias_dims))
  bias_shape = [1] * input_rank
  for dim in bias_dims:
    dim %= input_rank
    if dim == 0:
      raise ValueError("Cannot apply bias across the minibatch dimension.")
    bias_shape[dim] = input_shape[dim]
  start = input_rank
  for index in range(1, input_rank):
    if bias_shape[index] != 1:
      start = index
      break
  return tuple(bias_shape[start:])


# --- Linear -------------------------------------------------------------------


class Linear(base.AbstractModule, base.Transposable):
  """Linear map `y = x w + b` from `[batch_size, input_size]` inputs.

  Variables: `w` of shape `[input_size, output_size]` (default: truncated
  normal with stddev 1/sqrt(input_size)), and `b` of shape `[output_size]`
  (default zeros) when `use_bias`.
  """

  def __init__(self,
               output_size,
               use_bias=True,
               initializers=None,
               partitioners=None,
               regularizers=None,
               custom_getter=None,
               allow_many_batch_dims=False,
               name="linear"):
    """Constructs a Linear module.

    Args:
      output_size: output dimensionality, an int or a zero-argument callable
        returning one (evaluated when first needed).
      use_bias: whether to add the bias `b`.
      initializers: optional dict of initializers for "w" (and "b").
      partitioners: optional dict of partitioners for "w" (and "b").
      regularizers: optional dict of regularizers for "w" (and "b"); their
        losses go to `tf.GraphKeys.REGULARIZATION_LOSSES`.
      custom_getter: callable or dict of regex -> callable (see
        `AbstractModule`).
      allow_many_batch_dims: if True, inputs of rank > 2 are accepted and the
        map is applied to their last dimension.
      name: module name.

    Raises:
      KeyError: if an initializer, partitioner or regularizer key is not
        "w" or "b" ("b" only when `use_bias`).
      TypeError: if one of them is not callable.
    """
    super().__init__(custom_getter=custom_getter, name=name)
    self._output_size = output_size
    self._use_bias = use_bias
    self._input_shape = None
    self._w = None
    self._b = None
    self._allow_many_batch_dims = allow_many_batch_dims
    self.possible_keys = self.get_possible_initializer_keys(use_bias=use_bias)
    self._initializers = util.check_initializers(initializers,
                                                 self.possible_keys)
    self._partitioners = util.check_partitioners(partitioners,
                                                 self.possible_keys)
    self._regularizers = util.check_regularizers(regularizers,
                                                 self.possible_keys)

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):
    return {"w", "b"} if use_bias else {"w"}

  def _build(self, inputs):
    """Applies the linear map to `inputs`.

    Args:
      inputs: tensor of shape `[batch_size, input_size]` (or `[..., input_size]`
        with `allow_many_batch_dims`).

    Returns:
      Tensor of shape `[..., output_size]`, dtype of `inputs`.

    Raises:
      IncompatibleShapeError: wrong rank, unknown input size, or an input
        size different from an earlier connection's.
    """
    inputs = tf.convert_to_tensor(inputs)
    input_shape = tuple(inputs.get_shape().as_list()) if (
        inputs.get_shape().dims is not None) else None
    if input_shape is None or len(input_shape) < 2 or (
        len(input_shape) != 2 and not self._allow_many_batch_dims):
      rank = "unknown" if input_shape is None else len(input_shape)
      raise base.IncompatibleShapeError(
          "{}: rank of shape must be 2 not: {}. Pass "
          "allow_many_batch_dims=True to apply the module to inputs with "
          "several batch dimensions.".format(self.scope_name, rank))
    if input_shape[-1] is None:
      raise base.IncompatibleShapeError(
          "{}: Input size must be specified at module build time. Input "
          "shape: {}".format(self.scope_name, input_shape))
    if (self._input_shape is not None and
        input_shape[-1] != self._input_shape[-1]):
      if len(self._input_shape) > 2:
        raise base.IncompatibleShapeError(
            "{}: Input shape must be [..., {}] not: [..., {}]".format(
                self.scope_name, self._input_shape[-1], input_shape[-1]))
      raise base.IncompatibleShapeError(
          "{}: Input shape must be [batch_size, {}] not: [batch_size, {}]"
          .format(self.scope_name, self._input_shape[-1], input_shape[-1]))

    self._input_shape = input_shape
    dtype = inputs.dtype
    input_size = self._input_shape[-1]

    if "w" not in self._initializers:
      self._initializers["w"] = create_linear_initializer(input_size, dtype)
    if "b" not in self._initializers and self._use_bias:
      self._initializers["b"] = create_bias_initializer(input_size, dtype)

    self._w = tf.get_variable(
        "w",
        shape=(input_size, self.output_size),
        dtype=dtype,
        initializer=self._initializers["w"],
        partitioner=self._partitioners.get("w", None),
        regularizer=self._regularizers.get("w", None))
    outputs = tf.matmul(inputs, self._w)

    if self._use_bias:
      self._b = tf.get_variable(
          "b",
          shape=(self.output_size,),
          dtype=dtype,
          initializer=self._initializers["b"],
          partitioner=self._partitioners.get("b", None),
          regularizer=self._regularizers.get("b", None))
      outputs += self._b
    return outputs

  @property
  def w(self):
    """The weight variable `w` (NotConnectedError before a connection)."""
    self._ensure_is_connected()
    return self._w

  @property
  def b(self):
    """The bias variable `b`.

    Raises:
      NotConnectedError: before a connection.
      AttributeError: if the module has no bias.
    """
    self._ensure_is_connected()
    if not self._use_bias:
      raise AttributeError(
          "No bias Variable in Linear Module when `use_bias=False`.")
    return self._b

  @property
  def output_size(self):
    """The output size (a zero-argument callable is evaluated once, here)."""
    if callable(self._output_size):
      self._output_size = self._output_size()
    return self._output_size

  @property
  def has_bias(self):
    return self._use_bias

  @property
  def initializers(self):
    return self._initializers

  @property
  def partitioners(self):
    return self._partitioners

  @property
  def regularizers(self):
    return self._regularizers

  @property
  def input_shape(self):
    """Static shape (tuple) of the last input; NotConnectedError before."""
    self._ensure_is_connected()
    return self._input_shape

  def clone(self, name=None):
    """A new Linear with the same configuration (not custom_getter)."""
    if name is None:
      name = self.module_name + "_clone"
    return Linear(output_size=self.output_size,
                  use_bias=self._use_bias,
                  initializers=self._initializers,
                  partitioners=self._partitioners,
                  regularizers=self._regularizers,
                  name=name)

  def transpose(self, name=None):
    """A Linear mapping `output_size` back to this module's input size.

    Its output size is read from this module when it is connected, so this
    module must be connected first (else `NotConnectedError`).
    """
    if name is None:
      name = self.module_name + "_transpose"
    return Linear(output_size=lambda: self.input_shape[-1],
                  use_bias=self._use_bias,
                  initializers=self._initializers,
                  partitioners=self._partitioners,
                  regularizers=self._regularizers,
                  name=name)


class ConcatLinear(base.AbstractModule):
  """Linear map of the concatenation of several rank-2 inputs.

  Each input gets its own `Linear` (`linear`, `linear_1`, ... in this
  module's scope, only the first with a bias), so each input's weights get a
  fan-in-based default initialization of their own.
  """

  def __init__(self,
               output_size,
               use_bias=True,
               initializers=None,
               partitioners=None,
               regularizers=None,
               custom_getter=None,
               name="concat_linear"):
    """Constructs a ConcatLinear module (arguments as for `Linear`).

    The dicts are checked when the inner `Linear`s are built; a "b" key makes
    the second and later ones raise `KeyError`.
    """
    super().__init__(custom_getter=custom_getter, name=name)
    self._output_size = output_size
    self._use_bias = use_bias
    self._initializers = initializers
    self._partitioners = partitioners
    self._regularizers = regularizers

  def _build(self, inputs_list):
    """Returns the sum of one linear map per input of `inputs_list`."""
    outputs = []
    for index, tensor in enumerate(inputs_list):
      linear = Linear(self._output_size,
                      initializers=self._initializers,
                      partitioners=self._partitioners,
                      regularizers=self._regularizers,
                      use_bias=(index == 0 and self._use_bias))
      outputs.append(linear(tensor))
    return tf.add_n(outputs)


# --- AddBias ------------------------------------------------------------------


class AddBias(base.AbstractModule, base.Transposable):
  """Adds a bias `b` to its inputs, broadcast over the batch dimension.

  `b` has shape `calculate_bias_shape(input_shape, bias_dims)` (default
  initializer zeros).
  """

  POSSIBLE_INITIALIZER_KEYS = {"b"}

  def __init__(self,
               output_shape=None,
               bias_dims=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               name="add"):
    """Constructs an AddBias module.

    Args:
      output_shape: optional expected output shape (batch dimension first),
        or a zero-argument callable returning it (used by `transpose`).
      bias_dims: dimensions the bias varies over (see `calculate_bias_shape`).
      initializers: optional dict with key "b".
      partitioners: optional dict with key "b".
      regularizers: optional dict with key "b".
      name: module name.

    Raises:
      KeyError: unknown key in a dict.
      TypeError: a non-callable value.
    """
    super().__init__(name=name)
    self._output_shape = output_shape
    self._input_shape = None
    self._bias_dims = bias_dims
    self._b = None
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _build(self, inputs, multiplier=1):
    """Returns `inputs + b` (or `inputs + b * multiplier`).

    Args:
      inputs: tensor of rank >= 2.
      multiplier: number or tensor the bias is multiplied by (e.g. -1 to
        subtract it).

    Raises:
      ValueError: if `bias_dims` includes the batch dimension.
      IncompatibleShapeError: rank < 2, a non-batch shape different from an
        earlier connection's or from `output_shape`, or an unknown
        dimension the bias needs.
      ParentNotBuiltError: the module this one is the transpose of has not
        been connected yet.
    """
    inputs = tf.convert_to_tensor(inputs)
    if inputs.get_shape().dims is None:
      raise base.IncompatibleShapeError(
          "{}: the rank of the input must be known.".format(self.scope_name))
    input_shape = tuple(inputs.get_shape().as_list())
    if input_shape:
      bias_shape = calculate_bias_shape(input_shape, self._bias_dims)

    if len(input_shape) < 2:
      raise base.IncompatibleShapeError(
          "Rank of input shape must be >=2 not: {}.".format(len(input_shape)))
    if (self._input_shape is not None and
        input_shape[1:] != self._input_shape[1:]):
      raise base.IncompatibleShapeError("Input shape has changed.")

    if callable(self._output_shape):
      self._output_shape = self._output_shape()
      if self._output_shape is None:
        raise base.ParentNotBuiltError(
            "Build the original untransposed module before building this one.")
    if (self._output_shape is not None and
        tuple(self._output_shape[1:]) != input_shape[1:]):
      raise base.IncompatibleShapeError(
          "Input shape must be {} not: {}.".format(self._output_shape,
                                                   input_shape))
    if any(dim is None for dim in bias_shape):
      raise base.IncompatibleShapeError(
          "{}: the bias dimensions of the input must be known, got input "
          "shape {} (bias shape {}).".format(self.scope_name, input_shape,
                                             bias_shape))

    self._input_shape = input_shape
    dtype = inputs.dtype
    if "b" not in self._initializers:
      self._initializers["b"] = create_bias_initializer(bias_shape, dtype)

    self._b = tf.get_variable(
        "b",
        shape=bias_shape,
        dtype=dtype,
        initializer=self._initializers["b"],
        partitioner=self._partitioners.get("b", None),
        regularizer=self._regularizers.get("b", None))

    bias = self._b
    # A tensor multiplier is never compared with 1 (that would compare by
    # identity in graph mode and elementwise elsewhere): it always applies.
    is_one = (isinstance(multiplier, numbers.Number) and
              not isinstance(multiplier, bool) and multiplier == 1)
    if not is_one:
      bias = bias * multiplier
    return inputs + bias

  @property
  def input_shape(self):
    """Static shape (tuple) of the last input; NotConnectedError before."""
    self._ensure_is_connected()
    return self._input_shape

  @property
  def b(self):
    """The bias variable (NotConnectedError before a connection)."""
    self._ensure_is_connected()
    return self._b

  def transpose(self, name=None):
    """An AddBias that expects this module's input shape.

    Connecting it before this module raises `ParentNotBuiltError`.
    (As upstream, partitioners are not passed on.)
    """
    if name is None:
      name = self.module_name + "_transpose"
    return AddBias(output_shape=lambda: self._input_shape,
                   bias_dims=self._bias_dims,
                   initializers=self._initializers,
                   regularizers=self._regularizers,
                   name=name)


# --- reshapes -----------------------------------------------------------------


class BatchReshape(base.AbstractModule, base.Transposable):
  """Reshapes all dimensions after the first `preserve_dims` ones to `shape`.

  Example: input `[B, H, W, C, D]`, `shape=(-1, D)`: `preserve_dims=1` gives
  `[B, H*W*C, D]`, `preserve_dims=2` gives `[B, H, W*C, D]`.
  """

  def __init__(self, shape, preserve_dims=1, name="batch_reshape"):
    """Constructs a BatchReshape module.

    Args:
      shape: target shape of the non-preserved dimensions: a sequence of
        positive ints with at most one -1, or a zero-argument callable
        returning one (evaluated at the first connection).
      preserve_dims: number of leading dimensions kept as they are.
      name: module name.

    Raises:
      ValueError: if `preserve_dims` < 1.
    """
    super().__init__(name=name)
    self._input_shape = None
    self._shape = shape
    self._preserve_dims = preserve_dims
    if preserve_dims <= 0:
      raise ValueError("Argument preserve_dims should be >= 1.")
    if not callable(self._shape):
      self._shape = tuple(self._shape)

  def _infer_shape(self, dimensions):
    """Replaces the -1 of the target shape by the inferred size."""
    num_elements = int(np.prod(dimensions))
    known = int(np.prod([abs(dim) for dim in self._shape]))
    return tuple(num_elements // known if dim == -1 else dim
                 for dim in self._shape)

  def _build(self, inputs):
    """Reshapes `inputs`.

    Args:
      inputs: tensor of rank >= `preserve_dims`.

    Returns:
      Tensor of shape `inputs.shape[:preserve_dims] + shape`, or `inputs`
      itself when there is nothing to reshape.

    Raises:
      ValueError: if the rank is too small or unknown, `shape` is invalid,
        a non-preserved dimension is unknown, or the sizes do not match.
    """
    inputs = tf.convert_to_tensor(inputs)
    if inputs.get_shape().dims is None:
      raise ValueError("{}: the rank of the input must be known.".format(
          self.scope_name))
    full_input_shape = inputs.get_shape().as_list()
    if len(full_input_shape) < self._preserve_dims:
      raise ValueError("Input tensor has {} dimensions, should have at least "
                       "as many as preserve_dims={}".format(
                           len(full_input_shape), self._preserve_dims))
    self._input_shape = full_input_shape[self._preserve_dims:]

    if callable(self._shape):
      self._shape = tuple(self._shape())

    # With a single non-preserved dimension and a 1-D target there is
    # nothing to reshape (this also allows an unknown dimension).
    if len(self._input_shape) == 1 and len(self._shape) == 1:
      if self._shape[0] == -1 or self._shape[0] == self._input_shape[0]:
        return inputs
      if self._input_shape[0] is None:
        raise ValueError(
            "Unknown non-preserved dimensions are not allowed in the input to "
            "BatchReshape unless it is only one and the desired shape is "
            "(-1,).")
      raise ValueError("Output shape is incompatible with input shape")

    if not all(isinstance(dim, numbers.Integral) and
               not isinstance(dim, bool) and (dim > 0 or dim == -1)
               for dim in self._shape):
      raise ValueError(
          "Desired shape can only contain positive integral numbers and the "
          "wildcard -1. Given shape {}".format(self._shape))
    if list(self._shape).count(-1) > 1:
      raise ValueError(
          "Wildcard -1 can appear only once in desired output shape. Given "
          "shape {}".format(self._shape))
    if None in self._input_shape:
      raise ValueError(
          "Unknown non-preserved dimensions are not allowed in the input to "
          "BatchReshape unless it is only one and the desired shape is (-1,). "
          "The offending non-preserved input shape is {}".format(
              self._input_shape))

    if -1 in self._shape:
      trailing_shape = self._infer_shape(self._input_shape)
    else:
      trailing_shape = self._shape
    trailing_shape = [int(dim) for dim in trailing_shape]
    if np.prod(self._input_shape) != np.prod(trailing_shape):
      raise ValueError("Output shape is incompatible with input shape")

    preserved_shape = tf.shape(inputs)[:self._preserve_dims]
    shape = tf.concat(
        [preserved_shape, tf.constant(trailing_shape, dtype=tf.int32)], 0)
    output = tf.reshape(inputs, shape)
    output.set_shape(
        inputs.get_shape()[:self._preserve_dims].concatenate(trailing_shape))
    return output

  @property
  def input_shape(self):
    """The non-preserved part of the last input's shape (a list)."""
    self._ensure_is_connected()
    return self._input_shape

  def transpose(self, name=None):
    """A BatchReshape back to this module's (non-preserved) input shape."""
    if name is None:
      name = self.module_name + "_transpose"
    return BatchReshape(shape=lambda: self.input_shape,
                        preserve_dims=self._preserve_dims,
                        name=name)


class BatchFlatten(BatchReshape):
  """Flattens all dimensions after the first `preserve_dims` into one."""

  def __init__(self, preserve_dims=1, name="batch_flatten"):
    """Constructs a BatchFlatten module.

    Args:
      preserve_dims: number of leading dimensions kept (>= 1).
      name: module name.

    Raises:
      ValueError: if `preserve_dims` < 1.
    """
    super().__init__(shape=(-1,), preserve_dims=preserve_dims, name=name)


class FlattenTrailingDimensions(BatchReshape):
  """Flattens all dimensions from `dim_from` on into one."""

  def __init__(self, dim_from, name="batch_dim_from"):
    """Constructs a FlattenTrailingDimensions module.

    Raises:
      ValueError: if `dim_from` < 1.
    """
    if dim_from <= 0:
      raise ValueError("Argument dim_from should be >= 1.")
    super().__init__(shape=(-1,), preserve_dims=dim_from, name=name)


# --- TrainableVariable, BatchApply ---------------------------------------------


class TrainableVariable(base.AbstractModule):
  """Provides a single trainable variable `w` of a fixed shape.

  Connecting the module (with no inputs) returns the variable itself.
  """

  POSSIBLE_INITIALIZER_KEYS = {"w"}

  def __init__(self,
               shape,
               dtype=tf.float32,
               initializers=None,
               partitioners=None,
               regularizers=None,
               custom_getter=None,
               name="trainable_variable"):
    """Constructs a TrainableVariable module.

    Args:
      shape: shape of the variable.
      dtype: dtype of the variable.
      initializers: optional dict with key "w" (default truncated normal with
        stddev 1/sqrt(number of elements)).
      partitioners: optional dict with key "w".
      regularizers: optional dict with key "w".
      custom_getter: as for `AbstractModule`.
      name: module name.

    Raises:
      KeyError: unknown key in a dict.
      TypeError: a non-callable value.
    """
    super().__init__(custom_getter=custom_getter, name=name)
    self._shape = tuple(shape)
    self._dtype = dtype
    self._w = None
    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

  def _build(self):
    """Creates (first call) or reuses the variable `w` and returns it."""
    if "w" not in self._initializers:
      stddev = 1 / math.sqrt(np.prod(self._shape))
      self._initializers["w"] = tf.truncated_normal_initializer(stddev=stddev)
    self._w = tf.get_variable(
        "w",
        shape=self._shape,
        dtype=self._dtype,
        initializer=self._initializers["w"],
        partitioner=self._partitioners.get("w", None),
        regularizer=self._regularizers.get("w", None))
    return self._w

  @property
  def w(self):
    """The variable (NotConnectedError before a connection)."""
    self._ensure_is_connected()
    return self._w


class BatchApply(base.AbstractModule):
  """Applies a module or op to inputs with `n_dims` leading batch dimensions.

  The first `n_dims` dimensions of every input are merged into one, the
  wrapped callable is applied, and the first dimension of every output is
  split back into the leading dimensions of input `input_example_index`.
  """

  def __init__(self, module_or_op, n_dims=2, input_example_index=0,
               name="batch_apply"):
    """Constructs a BatchApply module.

    Args:
      module_or_op: the callable to apply.
      n_dims: number of leading dimensions to merge (a positive int).
      input_example_index: index, in the flattened `[args, kwargs]`, of the
        input whose leading dimensions the outputs take.
      name: module name.

    Raises:
      TypeError: if `n_dims` is not an int.
      ValueError: if `n_dims` is not positive.
    """
    super().__init__(name=name)
    if not isinstance(n_dims, numbers.Integral) or isinstance(n_dims, bool):
      raise TypeError("n_dims should be an integer, it is a {} instead.".format(
          type(n_dims)))
    if n_dims <= 0:
      raise ValueError("n_dims should be greater than zero.")
    self._module = module_or_op
    self._n_dims = n_dims
    self._input_example_index = input_example_index

  def _build(self, *args, **kwargs):
    """Calls the wrapped callable on the merged inputs; splits its outputs.

    Leaves of rank < `n_dims` (e.g. scalars) and `None`s are passed through
    unchanged.
    """
    flattened = tf.nest.flatten([args, kwargs])
    merged = [None if leaf is None else merge_leading_dims(leaf, self._n_dims)
              for leaf in flattened]
    merged_args, merged_kwargs = tf.nest.pack_sequence_as([args, kwargs],
                                                          merged)
    results = self._module(*merged_args, **merged_kwargs)

    example_input = tf.convert_to_tensor(
        flattened[self._input_example_index])

    def _split(result):
      if result is None:
        return None
      return split_leading_dim(result, example_input, self._n_dims)

    flat_results = [_split(result) for result in tf.nest.flatten(results)]
    return tf.nest.pack_sequence_as(results, flat_results)


# --- slicing, tiling, merging, selecting ------------------------------------------


def _check_unique_dims(dims, *others):
  """Validates the `dims` of SliceByDim/TileByDim against parallel lists."""
  if np.unique(dims).size != len(dims):
    raise ValueError("dims must not have any repeated integers.")
  for other_name, other in others:
    if len(other) != len(dims):
      raise ValueError("{} must have the same length as dims: {}.".format(
          other_name, len(dims)))


def _min_rank(dims):
  """The smallest rank for which every entry of `dims` is a valid index."""
  return max([dim + 1 if dim >= 0 else -dim for dim in dims] + [0])


def _static_rank(inputs, scope_name):
  if inputs.get_shape().dims is None:
    raise ValueError("{}: the rank of the input must be known.".format(
        scope_name))
  return len(inputs.get_shape().dims)


class SliceByDim(base.AbstractModule):
  """Slices a tensor along some dimensions only; the others are kept whole.

  Example: `SliceByDim(dims=[1], begin=[2], size=[3])` on `[B, 10, C]`
  returns `inputs[:, 2:5, :]`.
  """

  def __init__(self, dims, begin, size, name="slice_by_dim"):
    """Constructs a SliceByDim module.

    Args:
      dims: the dimensions to slice (negative values count from the end).
      begin: start index for each entry of `dims`.
      size: slice size for each entry of `dims` (-1: up to the end).
      name: module name.

    Raises:
      ValueError: repeated dims, or `begin`/`size` of another length.
    """
    super().__init__(name=name)
    self._dims = dims
    self._begin = begin
    self._size = size
    _check_unique_dims(dims, ("begin", begin), ("size", size))

  def _build(self, inputs):
    """Returns the slice of `inputs`.

    Raises:
      ValueError: if the rank of `inputs` is below `max(dims) + 1`.
    """
    inputs = tf.convert_to_tensor(inputs)
    rank = _static_rank(inputs, self.scope_name)
    min_rank = _min_rank(self._dims)
    if rank < min_rank:
      raise ValueError("Rank of inputs must be at least {}.".format(min_rank))
    full_begin = [0] * rank
    full_size = [-1] * rank
    for dim, begin, size in zip(self._dims, self._begin, self._size):
      full_begin[dim] = begin
      full_size[dim] = size
    return tf.slice(inputs, begin=full_begin, size=full_size)


class TileByDim(base.AbstractModule):
  """Tiles a tensor along some dimensions (multiples of 1 for the others)."""

  def __init__(self, dims, multiples, name="tile_by_dim"):
    """Constructs a TileByDim module.

    Args:
      dims: the dimensions to tile (negative values count from the end).
      multiples: how many copies along each entry of `dims`.
      name: module name.

    Raises:
      ValueError: repeated dims, or `multiples` of another length.
    """
    super().__init__(name=name)
    self._dims = dims
    self._multiples = multiples
    _check_unique_dims(dims, ("multiples", multiples))

  def _build(self, inputs):
    """Returns `inputs` tiled.

    Raises:
      ValueError: if the rank of `inputs` is below `max(dims) + 1`.
    """
    inputs = tf.convert_to_tensor(inputs)
    rank = _static_rank(inputs, self.scope_name)
    min_rank = _min_rank(self._dims)
    if rank < min_rank:
      raise ValueError("Rank of inputs must be at least {}.".format(min_rank))
    full_multiples = [1] * rank
    for dim, multiple in zip(self._dims, self._multiples):
      full_multiples[dim] = multiple
    return tf.tile(inputs, multiples=full_multiples)


class MergeDims(base.AbstractModule):
  """Merges `size` consecutive dimensions starting at `start` into one.

  Example: `MergeDims(start=1, size=2)` maps `[B, H, W, C]` to `[B, H*W, C]`.
  Nested structures of tensors are merged leaf by leaf.
  """

  def __init__(self, start, size, name="merge_dims"):
    """Constructs a MergeDims module.

    Args:
      start: first dimension to merge (negative values count from the end).
      size: number of dimensions to merge (> 1).
      name: module name.

    Raises:
      ValueError: if `size` <= 1.
    """
    super().__init__(name=name)
    self._start = start
    self._size = size
    if size <= 1:
      raise ValueError("`size` should be strictly greater than 1.")

  def _merge(self, tensor):
    tensor = tf.convert_to_tensor(tensor)
    output_shape = tensor.get_shape().as_list() if (
        tensor.get_shape().dims is not None) else None
    if output_shape is None:
      raise ValueError("{}: the rank of the input must be known.".format(
          self.scope_name))
    rank = len(output_shape)
    start = self._start + rank if self._start < 0 else self._start
    if rank < start + self._size:
      raise ValueError("Rank of inputs must be at least {}.".format(
          self._start + self._size))

    middle = output_shape[start:start + self._size]
    merged = None if None in middle else int(np.prod(middle))
    target = output_shape[:start] + [merged] + output_shape[start + self._size:]

    num_unknown = target.count(None)
    if num_unknown == 0 or (num_unknown == 1 and 0 not in target):
      return tf.reshape(tensor, [-1 if dim is None else dim for dim in target])

    dynamic_shape = tf.shape(tensor)
    new_shape = tf.concat([
        dynamic_shape[:start],
        tf.reduce_prod(dynamic_shape[start:start + self._size], keepdims=True),
        dynamic_shape[start + self._size:]], 0)
    result = tf.reshape(tensor, new_shape)
    result.set_shape(target)
    return result

  def _build(self, inputs):
    """Merges the dimensions of `inputs` (a tensor or nested structure).

    Raises:
      ValueError: if a tensor's rank is below `start + size`.
    """
    if tf.nest.is_nested(inputs):
      merged = [self._merge(tensor) for tensor in tf.nest.flatten(inputs)]
      return tf.nest.pack_sequence_as(inputs, merged)
    return self._merge(inputs)


class SelectInput(base.AbstractModule):
  """Returns some of its positional inputs, selected by a (nested) index.

  `SelectInput(idx=1)(a, b, c)` returns `b`; `SelectInput(idx=[0, [2]])`
  returns `(a, (c,))` (identities of the inputs).
  """

  def __init__(self, idx, name="select_input"):
    """Constructs a SelectInput module.

    Args:
      idx: an int or a (nested) list/tuple of ints.
      name: module name.

    Raises:
      TypeError: if `idx` is anything else.
    """
    super().__init__(name=name)
    self._check_type(idx)
    self._idx = idx

  def _check_type(self, idx):
    if isinstance(idx, (list, tuple)):
      for value in idx:
        self._check_type(value)
    elif not isinstance(idx, numbers.Integral):
      raise TypeError(
          "`idx` should be a (nested) array/tuple, or an integer.")

  def _select(self, inputs, idx):
    if isinstance(idx, (list, tuple)):
      return tuple(self._select(inputs, index) for index in idx)
    if idx < 0 or idx >= len(inputs):
      raise ValueError("`idx` contains out of bound entries (they should be "
                       "in the range [0, {}))".format(len(inputs)))
    return tf.identity(inputs[idx])

  def _build(self, *inputs):
    """Returns the selected inputs.

    Raises:
      ValueError: if an index is outside `[0, len(inputs))`.
    """
    return self._select(inputs, self._idx)
