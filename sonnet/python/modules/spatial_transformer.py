"""The grid side of spatial transformer networks: `GridWarper`, `AffineGridWarper`.

A grid warper maps a batch of transformation parameters to a batch of sampling
grids: for every point of the output grid, the coordinates (in pixels of the
source signal) to sample from. The grids are meant for `snt.resampler`, which
expects the coordinates in `(x, y, ...)` order, i.e. the last (width) axis
first.
"""

import abc
import itertools

import numpy as np
from sonnet.python.modules import base
import tensorflow.compat.v1 as tf


class GridWarper(base.AbstractModule):
  """Abstract grid warper: parameters `[B, num_params]` to grids.

  Shapes are those of the signal domain (e.g. `[H, W]` for images, without
  batch or channel dimensions). Subclasses implement `_create_features`, which
  precomputes whatever the build needs (stored as `psi`), and `_build`.
  """

  def __init__(self, source_shape, output_shape, num_coeff, name, **kwargs):
    """Constructs a grid warper.

    Args:
      source_shape: shape of the signal that will be sampled.
      output_shape: shape of the grid to produce.
      num_coeff: number of coefficients of the warp.
      name: module name.
      **kwargs: passed to `_create_features`.

    Raises:
      snt.Error: if the output domain has more dimensions than the source.
    """
    super(GridWarper, self).__init__(name=name)
    self._source_shape = tuple(source_shape)
    self._output_shape = tuple(output_shape)
    if len(self._output_shape) > len(self._source_shape):
      raise base.Error(
          "Output domain dimensionality ({}) must be equal or smaller than "
          "source domain dimensionality ({})".format(
              len(self._output_shape), len(self._source_shape)))
    self._num_coeff = num_coeff
    self._psi = self._create_features(**kwargs)

  @abc.abstractmethod
  def _create_features(self, **kwargs):
    """Precomputes the features used by `_build` (returned as `psi`)."""

  @property
  def n_coeff(self):
    """Upstream bug kept on purpose (spec layers.md §15): this reads an
    attribute that is never set, so it raises `AttributeError`. The number of
    coefficients is held in `_num_coeff`."""
    return self._n_coeff  # pylint: disable=no-member

  @property
  def psi(self):
    """The precomputed features."""
    return self._psi

  @property
  def source_shape(self):
    """Shape of the source signal domain (tuple)."""
    return self._source_shape

  @property
  def output_shape(self):
    """Shape of the output grid (tuple)."""
    return self._output_shape


def _create_affine_features(output_shape, source_shape):
  """Homogeneous coordinates of the output grid points, in [-1, 1].

  Returns a list of `len(source_shape) + 1` flat arrays (one per coordinate,
  x first; zeros for source dimensions missing from the output; then ones).
  """
  ranges = [np.linspace(-1, 1, x, dtype=np.float32)
            for x in reversed(output_shape)]
  psi = [x.reshape(-1) for x in np.meshgrid(*ranges, indexing="xy")]
  for _ in range(len(source_shape) - len(output_shape)):
    psi.append(np.zeros_like(psi[0], dtype=np.float32))
  psi.append(np.ones_like(psi[0], dtype=np.float32))
  return psi


class AffineGridWarper(GridWarper):
  """Affine grid warper, optionally with some matrix entries fixed.

  Input: `[B, num_free_params]`, the free entries of the `N x (N+1)` affine
  matrix `A` (N = source dimensionality) in row-major order. Output:
  `[B] + output_shape + [N]`, where `out[b, ...point..., k]` is coordinate k
  (x, then y, then z) in source pixels of `A` applied to the point's
  normalized position in `[-1, 1]`; `[-1, 1]` maps to `[0, size - 1]`.
  E.g. the identity `[1, 0, 0, 0, 1, 0]` on `[3, 3] -> [3, 3]` gives
  `out[0, i, j] == [j, i]`.
  """

  def __init__(self, source_shape, output_shape, constraints=None,
               name="affine_grid_warper"):
    """Constructs an affine grid warper.

    Args:
      source_shape: shape of the source signal domain (e.g. `[H, W]`).
      output_shape: shape of the output grid.
      constraints: `AffineWarpConstraints`, or a nested `N x (N+1)` iterable
        of fixed values (`None` for free entries), or None (all free).
      name: module name.

    Raises:
      snt.Error: if the transformation is fully constrained, if the
        constraints' dimensionality differs from `source_shape`'s, or if the
        output domain has more dimensions than the source.
    """
    self._source_shape = tuple(source_shape)
    self._output_shape = tuple(output_shape)
    num_dim = len(source_shape)
    if isinstance(constraints, AffineWarpConstraints):
      self._constraints = constraints
    elif constraints is None:
      self._constraints = AffineWarpConstraints.no_constraints(num_dim)
    else:
      self._constraints = AffineWarpConstraints(constraints=constraints)

    if self._constraints.num_free_params == 0:
      raise base.Error("Transformation is fully constrained.")
    if self._constraints.num_dim != num_dim:
      raise base.Error("Incompatible set of constraints provided: input grid "
                       "shape and constraints have different dimensionality.")

    super(AffineGridWarper, self).__init__(source_shape=source_shape,
                                           output_shape=output_shape,
                                           num_coeff=6,
                                           name=name,
                                           constraints=self._constraints)

  def _create_features(self, constraints):
    """Splits each row of `A @ P` into its free and its constant part.

    Returns a list of `3N` entries: for each output coordinate k, the scaled
    grid features multiplying the free entries of row k (`None` if the row is
    fully fixed); then for each k the precomputed contribution of the fixed
    entries (`None` if none is fixed); then for each k the offset `s_k`.
    """
    mask = constraints.mask
    psi = _create_affine_features(output_shape=self._output_shape,
                                  source_shape=self._source_shape)
    scales = [(x - 1.0) * .5 for x in reversed(self._source_shape)]
    offsets = scales

    features = []
    for row, scale in zip(mask, scales):
      x_i = np.array([x for x, is_free in zip(psi, row) if is_free])
      features.append(x_i * scale if len(x_i) else None)  # pylint: disable=g-explicit-length-test

    for row_i, row in enumerate(mask):
      x_i = None
      scale = scales[row_i]
      for i, is_free in enumerate(row):
        if is_free:
          continue
        term = np.array(psi[i]) * constraints[row_i][i] * scale
        x_i = term if x_i is None else x_i + term
      features.append(x_i)

    features += offsets
    return features

  def _build(self, inputs):
    """Computes the sampling grids.

    Args:
      inputs: `[batch_size, num_free_params]` float tensor.

    Returns:
      `[batch_size] + output_shape + [len(source_shape)]` tensor of source
      coordinates, x first.

    Raises:
      snt.Error: if the number of parameters does not match the constraints.
      snt.IncompatibleShapeError: if `inputs` is not 2-D.
    """
    inputs = tf.convert_to_tensor(inputs)
    input_shape = inputs.get_shape()
    if input_shape.ndims is not None and input_shape.ndims != 2:
      raise base.IncompatibleShapeError(
          "{}: inputs must have rank 2 ([batch_size, num_params]), got shape "
          "{}.".format(self.scope_name, input_shape))
    number_of_params = (tf.compat.dimension_value(input_shape[1])
                        if input_shape.ndims is not None else None)
    if (number_of_params is not None and
        number_of_params != self._constraints.num_free_params):
      raise base.Error("Input size is not consistent with constraint "
                       "definition: {} parameters expected, {} provided."
                       .format(self._constraints.num_free_params,
                               number_of_params))
    input_dtype = inputs.dtype.as_numpy_dtype
    batch_size = tf.expand_dims(tf.shape(inputs)[0], 0)
    num_output_dimensions = len(self._psi) // 3
    number_of_points = int(np.prod(self._output_shape))

    def tile_constant(values):
      """`values` [num_points] -> tensor [batch_size, 1, num_points]."""
      values = values.astype(input_dtype).reshape((1, 1) + values.shape)
      multiples = tf.concat([batch_size, tf.constant([1, 1])], 0)
      return tf.tile(values, multiples)

    warped_grid = []
    var_index_offset = 0
    for i in range(num_output_dimensions):
      if self._psi[i] is not None:
        grid_coord = self._psi[i].astype(input_dtype)
        num_free = grid_coord.shape[0]
        free_params = inputs[:, var_index_offset:var_index_offset + num_free]
        var_index_offset += num_free
        warped_coord = tf.expand_dims(tf.matmul(free_params, grid_coord), 1)
        fixed_part = self._psi[num_output_dimensions + i]
        if fixed_part is not None:
          warped_coord += tile_constant(fixed_part)
      else:
        warped_coord = tile_constant(self._psi[num_output_dimensions + i])
      warped_coord += tf.constant(self._psi[i + 2 * num_output_dimensions],
                                  dtype=inputs.dtype)
      warped_coord.set_shape([None, 1, number_of_points])
      warped_grid.append(warped_coord)

    grid_shape = self._output_shape + (1,)
    warped_grid = [tf.reshape(grid, [-1] + list(grid_shape))
                   for grid in warped_grid]
    return tf.concat(warped_grid, len(grid_shape))

  @property
  def constraints(self):
    """The `AffineWarpConstraints` of this warper."""
    return self._constraints

  def inverse(self, name=None):
    """Returns a module mapping parameters to the inverse transform's grid.

    Only for 2-D warps. The returned `snt.Module` takes the same parameters as
    this warper (`[B, num_free_params]`), inverts the affine map
    `x -> M x + t` into `x -> M^-1 x - M^-1 t`, and feeds it to an
    unconstrained `AffineGridWarper(output_shape, source_shape)` (source and
    output shapes swapped).

    Args:
      name: module name; defaults to `module_name + "_inverse"`.

    Raises:
      tf.errors.UnimplementedError: for warps other than 2-D affine.
    """
    if self._num_coeff != 6 or self._constraints.num_dim != 2:
      raise tf.errors.UnimplementedError(
          None, None, "AffineGridWarper currently supports inversion only "
          "for the 2D case.")

    def _affine_grid_warper_inverse(inputs):
      """Builds the inverse warp's grid from this warper's parameters."""
      inputs = tf.convert_to_tensor(inputs)
      batch_size = tf.expand_dims(tf.shape(inputs)[0], 0)
      constant_shape = tf.concat([batch_size, tf.constant([1])], 0)
      index = iter(range(6))

      def get_entry(constraint):
        if constraint is None:
          i = next(index)
          return inputs[:, i:i + 1]
        return tf.fill(constant_shape, tf.constant(constraint,
                                                   dtype=inputs.dtype))

      entries = itertools.chain.from_iterable(self.constraints.constraints)
      a, b, tx, c, d, ty = [get_entry(entry) for entry in entries]
      det = a * d - b * c
      a_inv = d / det
      b_inv = -b / det
      c_inv = -c / det
      d_inv = a / det
      tx_inv = a_inv * tx + b_inv * ty
      ty_inv = c_inv * tx + d_inv * ty
      params = tf.concat([a_inv, b_inv, -tx_inv, c_inv, d_inv, -ty_inv], 1)
      inverse_warper = AffineGridWarper(self.output_shape, self.source_shape)
      return inverse_warper(params)

    if name is None:
      name = self.module_name + "_inverse"
    return base.Module(_affine_grid_warper_inverse, name=name)


class AffineWarpConstraints(object):
  """Which entries of an `N x (N+1)` affine matrix are fixed, and to what.

  `constraints[i][j]` is a number (fixed entry) or `None` (free parameter).
  Constraints combine with `&` / `combine_with`.
  """

  def __init__(self, constraints=((None,) * 3,) * 2):
    """Creates constraints from a nested `N x (N+1)` iterable.

    Raises:
      TypeError: if `constraints` is not a nested iterable.
      ValueError: if the rows are not all of length N+1.
    """
    try:
      self._constraints = tuple(tuple(row) for row in constraints)
    except TypeError:
      raise TypeError("constraints must be a nested iterable.")
    self._num_dim = len(self._constraints)
    expected_num_cols = self._num_dim + 1
    if any(len(row) != expected_num_cols for row in self._constraints):
      raise ValueError("The input list must define a Nx(N+1) matrix of "
                       "constraints.")

  @property
  def constraints(self):
    """The constraints as a tuple of tuples."""
    return self._constraints

  @property
  def num_free_params(self):
    """Number of free (`None`) entries."""
    return sum(row.count(None) for row in self._constraints)

  @property
  def mask(self):
    """Tuple of tuples, True where the entry is free."""
    return tuple(tuple(x is None for x in row) for row in self._constraints)

  @property
  def num_dim(self):
    """N, the number of rows."""
    return self._num_dim

  def __getitem__(self, i):
    return self._constraints[i]

  def _combine(self, x, y):
    # `x or y` as upstream: a left 0 with a right None gives None.
    if x is None or y is None:
      return x or y
    if x != y:
      raise ValueError("Incompatible set of constraints provided.")
    return x

  def __and__(self, rhs):
    return self.combine_with(rhs)

  def combine_with(self, additional_constraints):
    """Returns the entry-wise combination of both sets of constraints.

    Raises:
      ValueError: if an entry is fixed to different values in both.
    """
    other = additional_constraints
    if not isinstance(other, AffineWarpConstraints):
      other = AffineWarpConstraints(other)
    new_constraints = []
    for left, right in zip(self._constraints, other.constraints):
      new_constraints.append([self._combine(x, y)
                              for x, y in zip(left, right)])
    return AffineWarpConstraints(new_constraints)

  @classmethod
  def no_constraints(cls, num_dim=2):
    """All entries free."""
    return cls(((None,) * (num_dim + 1),) * num_dim)

  @classmethod
  def translation_2d(cls, x=None, y=None):
    """Fixes the 2-D translation."""
    return cls([[None, None, x], [None, None, y]])

  @classmethod
  def translation_3d(cls, x=None, y=None, z=None):
    """Fixes the 3-D translation."""
    return cls([[None, None, None, x],
                [None, None, None, y],
                [None, None, None, z]])

  @classmethod
  def scale_2d(cls, x=None, y=None):
    """Fixes the 2-D diagonal (scale) entries."""
    return cls([[x, None, None], [None, y, None]])

  @classmethod
  def scale_3d(cls, x=None, y=None, z=None):
    """Fixes the 3-D diagonal (scale) entries."""
    return cls([[x, None, None, None],
                [None, y, None, None],
                [None, None, z, None]])

  @classmethod
  def shear_2d(cls, x=None, y=None):
    """Fixes the 2-D off-diagonal (shear) entries."""
    return cls([[None, x, None], [y, None, None]])

  @classmethod
  def no_shear_2d(cls):
    """2-D warp without shear."""
    return cls.shear_2d(x=0, y=0)

  @classmethod
  def no_shear_3d(cls):
    """3-D warp without shear."""
    return cls([[None, 0, 0, None],
                [0, None, 0, None],
                [0, 0, None, None]])
