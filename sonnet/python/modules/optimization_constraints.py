"""Constrained optimization with Lagrange multipliers.

`OptimizationConstraints` collects constraints `lhs <= rhs` / `lhs >= rhs`
and returns the penalty `sum_i sum(lambda_i * c_i)` with one non-negative
Lagrange multiplier `lambda_i` per constraint. The multipliers' gradients are
reversed, so minimizing `loss + penalty` with any optimizer does gradient
ascent on the multipliers (they grow while a constraint is violated).

Does not need tensorflow_probability (upstream used it only for
`softplus_inverse`, computed here directly).
"""

import numbers

import numpy as np
from sonnet.python.modules import basic
from sonnet.python.modules import scale_gradient
import tensorflow.compat.v1 as tf

LAGRANGE_MULTIPLIERS = "Lagrange Multipliers"
_GEQ_OPS = ("Greater", "GreaterEqual")
_LEQ_OPS = ("Less", "LessEqual")
_VALID_OPS = _GEQ_OPS + _LEQ_OPS


class OptimizationConstraints(object):
  """A set of inequality constraints turned into a Lagrangian penalty.

      constraints = snt.OptimizationConstraints(rate=1.0)
      constraints.add(tf.reduce_mean(kl) <= 0.1)
      loss = reconstruction_loss + constraints()

  `add*` return the object, so calls can be chained. No constraint can be
  added after the penalty is built (the first call).
  """

  def __init__(self, rate=1.0, valid_range=None):
    """Creates an empty set of constraints.

    Args:
      rate: default gradient scale of the multipliers (how fast they adapt).
      valid_range: default `(min, max)` range the multipliers are kept in.
    """
    self._constraints = []
    self._lagrange_multipliers = []
    self._valid_range = valid_range
    self._rate = rate
    self._penalty = None

  @property
  def constraints(self):
    """List of the constraint tensors `c_i` (each meant to be <= 0)."""
    return self._constraints

  @property
  def lagrange_multipliers(self):
    """List of the multipliers, one per constraint."""
    return self._lagrange_multipliers

  def add(self, expression, rate=None, valid_range=None, initializer=None):
    """Adds the constraint given by a comparison tensor (`a <= b`, `a > b`...).

    Args:
      expression: output of `tf.less`, `tf.less_equal`, `tf.greater` or
        `tf.greater_equal` (e.g. written with `<=`); its two inputs are used.
      rate: gradient scale of the multiplier; default: the container's.
      valid_range: `(min, max)` of the multiplier; default: the container's.
      initializer: initial multiplier value(s) or initializer; default ones.

    Returns:
      self.

    Raises:
      TypeError: if `expression` is not one of the supported comparisons.
      ValueError: if the penalty has already been built.
    """
    self._assert_is_not_connected()
    op = getattr(expression, "op", None)
    op_type = getattr(op, "type", None)
    if op_type not in _VALID_OPS:
      raise TypeError("Constraint of type {} is not supported; use a "
                      "comparison among {}.".format(op_type, _VALID_OPS))
    lhs, rhs = op.inputs[0], op.inputs[1]
    if op_type in _GEQ_OPS:
      return self.add_geq(lhs, rhs, rate, valid_range, initializer)
    return self.add_leq(lhs, rhs, rate, valid_range, initializer)

  def add_leq(self, lhs, rhs=0.0, rate=None, valid_range=None,
              initializer=None):
    """Adds the constraint `lhs <= rhs` (element-wise), i.e. `lhs - rhs <= 0`.

    Returns:
      self.

    Raises:
      ValueError: if the penalty has already been built, or the constraint's
        shape is not fully known.
    """
    self._assert_is_not_connected()
    constraint_op = tf.subtract(lhs, rhs)
    self._constraints.append(constraint_op)
    valid_range = valid_range or self._valid_range
    rate = self._rate if rate is None else rate
    lagrange_multiplier = get_lagrange_multiplier(
        shape=constraint_op.get_shape(), rate=rate, initializer=initializer,
        valid_range=valid_range)
    self._lagrange_multipliers.append(lagrange_multiplier)
    return self

  def add_geq(self, lhs, rhs=0.0, rate=None, valid_range=None,
              initializer=None):
    """Adds the constraint `lhs >= rhs`, i.e. `rhs - lhs <= 0`. Returns self."""
    return self.add_leq(rhs, lhs, rate=rate, valid_range=valid_range,
                        initializer=initializer)

  def _assert_is_not_connected(self):
    if self._penalty is not None:
      raise ValueError("Cannot add further constraints once "
                       "OptimizationConstraints has been connected to the "
                       "graph by calling it.")

  def __call__(self):
    """The penalty `sum_i reduce_sum(lambda_i * c_i)` (built once, cached)."""
    if self._penalty is None:
      penalty = tf.zeros(())
      for multiplier, constraint in zip(self._lagrange_multipliers,
                                        self._constraints):
        penalty += tf.reduce_sum(multiplier * constraint)
      self._penalty = penalty
    return self._penalty


def get_lagrange_multiplier(shape=(), rate=1.0, initializer=1.0, maximize=True,
                            valid_range=None, name="lagrange_multiplier"):
  """Creates a non-negative Lagrange multiplier with reversed gradients.

  The multiplier is `softplus(v)**2` of a float32 variable `<name>/w` (in
  collection `LAGRANGE_MULTIPLIERS`, initialized so that the multiplier
  starts at `initializer`'s value). Its gradient is multiplied by `-rate`,
  so minimizing a loss containing `multiplier * constraint` maximizes over
  the multiplier.

  Args:
    shape: shape of the multiplier (fully known).
    rate: gradient scale.
    initializer: initial value (number, array, list) or initializer; a false
      value means ones.
    maximize: if False, the negated multiplier is returned.
    valid_range: optional `(min, max)`; the multiplier is clipped to it and
      no gradient pushes it further out (see `_constrain_to_range`).
    name: name of the variable's module scope.

  Returns:
    float32 tensor of shape `shape`.

  Raises:
    ValueError: if `shape` is not fully known.
  """
  shape = tf.TensorShape(shape)
  if not shape.is_fully_defined():
    raise ValueError("The shape of a Lagrange multiplier (the shape of its "
                     "constraint) must be fully known, got {}.".format(shape))
  shape = tuple(shape.as_list())
  if isinstance(initializer, np.ndarray):
    pass
  elif not initializer:
    initializer = np.ones(shape=shape)
  if isinstance(initializer, (numbers.Number, np.ndarray, list, tuple)):
    initializer = tf.constant_initializer(initializer)
  initializer = _LagrangeMultiplierInitializer(initializer)

  lambda_var = basic.TrainableVariable(
      name=name, shape=shape, initializers={"w": initializer})()
  tf.add_to_collection(LAGRANGE_MULTIPLIERS, lambda_var)

  lagrange_multiplier = _parametrize(lambda_var, rate=rate)
  lagrange_multiplier.set_shape(shape)
  if valid_range:
    lagrange_multiplier = _constrain_to_range(lagrange_multiplier,
                                              *valid_range)
  return lagrange_multiplier if maximize else -lagrange_multiplier


def _squared_softplus(x):
  return tf.square(tf.nn.softplus(x))


def _inv_squared_softplus(x):
  """Inverse of `_squared_softplus`: `log(expm1(sqrt(x)))`, computed stably."""
  y = tf.sqrt(x)
  # log(exp(y) - 1) = y + log(1 - exp(-y)), which does not overflow.
  return y + tf.log(-tf.math.expm1(-y))


def _parametrize(x, rate=1.0):
  return scale_gradient.scale_gradient(_squared_softplus(x), -rate)


class _LagrangeMultiplierInitializer(object):
  """Makes the multiplier `softplus(v)**2` start at `initializer`'s values."""

  def __init__(self, initializer, dtype=tf.float32):
    self._initializer = initializer
    self._dtype = tf.as_dtype(dtype)

  def __call__(self, shape, dtype=None, partition_info=None):
    if dtype is None:
      dtype = self._dtype
    x = self._initializer(shape, dtype, partition_info=partition_info)
    return _inv_squared_softplus(x)

  def get_config(self):
    return {"dtype": self._dtype.name}


def _constrain_to_range(x, min_value, max_value, name="constrain_to_range"):
  """`clip_by_value(x, min_value, max_value)` with a range-keeping gradient.

  The incoming gradient passes through unchanged except where it would push
  an out-of-range `x` further out: it is zeroed where `x < min_value` and the
  gradient is negative, or `x > max_value` and the gradient is positive.
  The bounds get no gradient.

  Raises:
    ValueError: if `x` is not floating point.
  """
  with tf.name_scope(name, values=[x, min_value, max_value]):
    x = tf.convert_to_tensor(x, name="x")
    if not x.dtype.is_floating:
      raise ValueError("_constrain_to_range supports only floating point "
                       "inputs, got {}.".format(x.dtype.name))
    min_value = tf.convert_to_tensor(min_value, name="min_value",
                                     dtype=x.dtype)
    max_value = tf.convert_to_tensor(max_value, name="max_value",
                                     dtype=x.dtype)

    @tf.custom_gradient
    def _constrain(x_inner):
      def _grad(grad):
        outside = tf.logical_or(
            tf.logical_and(x_inner < min_value, grad < 0),
            tf.logical_and(x_inner > max_value, grad > 0))
        return tf.where(outside, tf.zeros_like(grad), grad)
      return tf.clip_by_value(x_inner, min_value, max_value), _grad

    output = _constrain(x)
    output.set_shape(x.get_shape())
    return output
