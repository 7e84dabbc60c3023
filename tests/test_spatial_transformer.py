"""Tests for `snt.AffineGridWarper`, `snt.AffineWarpConstraints`, `snt.GridWarper`."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import spatial_transformer
import tensorflow.compat.v1 as tf


def _reference_grid(params, source_shape, output_shape, constraints):
  """NumPy affine grid: `[B] + output_shape + [N]`, x coordinate first."""
  source_shape = tuple(source_shape)
  output_shape = tuple(output_shape)
  n = len(source_shape)
  ranges = [np.linspace(-1, 1, x) for x in reversed(output_shape)]
  coords = [g.reshape(-1) for g in np.meshgrid(*ranges, indexing="xy")]
  num_points = coords[0].size
  coords += [np.zeros(num_points)] * (n - len(output_shape))
  points = np.stack(coords + [np.ones(num_points)])  # [N+1, P]
  outputs = []
  for row_params in params:
    it = iter(row_params)
    matrix = np.array([[next(it) if c is None else c for c in row]
                       for row in constraints], dtype=np.float64)
    warped = matrix.dot(points)  # [N, P]
    scales = [(s - 1.0) / 2 for s in reversed(source_shape)]
    channels = [(warped[k] * scales[k] + scales[k]).reshape(output_shape)
                for k in range(n)]
    outputs.append(np.stack(channels, axis=-1))
  return np.stack(outputs)


def _run(tensor, feed_dict=None):
  with tf.Session() as sess:
    return sess.run(tensor, feed_dict=feed_dict)


@pytest.mark.parametrize("source_shape,output_shape,constraints", [
    ((3, 3), (3, 3), None),
    ((6, 9), (2, 3), None),
    ((5, 7), (4, 6), snt.AffineWarpConstraints.translation_2d(x=0.5, y=-0.2)),
    ((5, 7), (4, 6), snt.AffineWarpConstraints.no_shear_2d()),
    ((5, 7), (4, 6), snt.AffineWarpConstraints.scale_2d(x=2.0)),
    ((5, 7), (4, 6), [[None, None, None], [0.1, 1.5, -0.3]]),  # Fixed row.
    ((4, 5, 6), (2, 3), None),
    ((4, 5, 6), (2, 3, 4), None),
    ((4, 5, 6), (2, 3, 4), snt.AffineWarpConstraints.no_shear_3d()),
    ((4, 5, 6), (3, 2, 2), snt.AffineWarpConstraints.translation_3d(z=0.3)),
])
def test_grid_values_match_numpy(source_shape, output_shape, constraints):
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper(source_shape, output_shape, constraints)
    full = warper.constraints.constraints
    rng = np.random.RandomState(0)
    params = rng.randn(3, warper.constraints.num_free_params).astype(
        np.float32)
    inputs = tf.placeholder(tf.float32, [None, params.shape[1]])
    grid = warper(inputs)
    n = len(source_shape)
    assert grid.get_shape().as_list() == [None] + list(output_shape) + [n]
    out = _run(grid, {inputs: params})
  expected = _reference_grid(params, source_shape, output_shape, full)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_identity_warp_gives_pixel_coordinates():
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper([3, 3], [3, 3])
    out = _run(warper(tf.constant([[1., 0., 0., 0., 1., 0.]])))
  for i in range(3):
    for j in range(3):
      np.testing.assert_allclose(out[0, i, j], [j, i], atol=1e-6)


def test_float64_and_static_shapes():
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper((6, 9), (2, 3))
    grid = warper(tf.constant(np.zeros([4, 6])))
    assert grid.dtype == tf.float64
    assert grid.get_shape().as_list() == [4, 2, 3, 2]
    grid3 = snt.AffineGridWarper((6, 9, 4), (2, 3))(tf.zeros([5, 12]))
    assert grid3.get_shape().as_list() == [5, 2, 3, 3]


def test_gradient_wrt_parameters():
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper((5, 4), (3, 2),
                                  snt.AffineWarpConstraints.translation_2d(
                                      x=0.1))
    x_value = np.random.RandomState(1).randn(2, 5)
    x = tf.constant(x_value)
    y = warper(x)
    with tf.Session():
      err = tf.test.compute_gradient_error(x, [2, 5], y, [2, 3, 2, 2],
                                           x_init_value=x_value)
  assert err < 1e-6


def test_inverse_composes_to_identity():
  with tf.Graph().as_default():
    source, output = (7, 9), (5, 6)
    warper = snt.AffineGridWarper(source, output,
                                  snt.AffineWarpConstraints.no_shear_2d())
    inverse = warper.inverse()
    assert inverse.module_name == "affine_grid_warper_inverse"
    assert isinstance(inverse, snt.Module)
    params = np.array([[1.5, 0.2, 0.8, -0.1]], dtype=np.float32)
    inv_grid = _run(inverse(tf.constant(params)))
  assert inv_grid.shape == (1, 7, 9, 2)
  # Matrix [[a, 0, tx], [0, d, ty]] and its inverse, in normalized coordinates.
  a, tx, d, ty = params[0]
  inv_params = np.array([[1 / a, 0, -tx / a, 0, 1 / d, -ty / d]])
  expected = _reference_grid(inv_params, output, source, ((None,) * 3,) * 2)
  np.testing.assert_allclose(inv_grid, expected, rtol=1e-5, atol=1e-5)


def test_inverse_general_matrix():
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper((4, 4), (4, 4))
    params = np.array([[0.9, 0.3, 0.2, -0.4, 1.1, -0.3]], np.float32)
    inv = _run(warper.inverse(name="inv")(tf.constant(params)))
  m = np.array([[0.9, 0.3], [-0.4, 1.1]])
  t = np.array([0.2, -0.3])
  m_inv = np.linalg.inv(m)
  t_inv = -m_inv.dot(t)
  inv_params = [[m_inv[0, 0], m_inv[0, 1], t_inv[0],
                 m_inv[1, 0], m_inv[1, 1], t_inv[1]]]
  expected = _reference_grid(inv_params, (4, 4), (4, 4), ((None,) * 3,) * 2)
  np.testing.assert_allclose(inv, expected, rtol=1e-5, atol=1e-5)


def test_errors():
  with pytest.raises(snt.Error, match="fully constrained"):
    snt.AffineGridWarper((3, 3), (3, 3), [[1, 0, 0], [0, 1, 0]])
  with pytest.raises(snt.Error, match="Incompatible set of constraints"):
    snt.AffineGridWarper((3, 3, 3), (3, 3),
                         snt.AffineWarpConstraints.no_constraints(2))
  with pytest.raises(snt.Error, match="must be equal or smaller"):
    snt.AffineGridWarper((3, 3), (3, 3, 3))
  with tf.Graph().as_default():
    warper = snt.AffineGridWarper((3, 3), (3, 3),
                                  snt.AffineWarpConstraints.translation_2d(1, 1))
    with pytest.raises(snt.Error, match="4 parameters expected, 6 provided"):
      warper(tf.zeros([2, 6]))
    with pytest.raises(snt.IncompatibleShapeError):
      warper(tf.zeros([2, 4, 1]))


def test_properties_and_n_coeff_quirk():
  warper = snt.AffineGridWarper([6, 9], [2, 3], name="w")
  assert warper.source_shape == (6, 9)
  assert warper.output_shape == (2, 3)
  assert warper.module_name == "w"
  assert len(warper.psi) == 6
  assert isinstance(warper, snt.GridWarper)
  # Upstream bug kept: `n_coeff` reads a missing attribute.
  with pytest.raises(AttributeError):
    _ = warper.n_coeff


def test_constraints_object():
  c = snt.AffineWarpConstraints()
  assert c.num_dim == 2
  assert c.num_free_params == 6
  assert c.constraints == ((None,) * 3,) * 2
  assert c.mask == ((True,) * 3,) * 2
  assert snt.AffineWarpConstraints.translation_2d(1, 2)[1] == (None, None, 2)
  assert snt.AffineWarpConstraints.scale_3d(1, 2, 3).constraints == (
      (1, None, None, None), (None, 2, None, None), (None, None, 3, None))
  assert snt.AffineWarpConstraints.shear_2d(x=1).constraints == (
      (None, 1, None), (None, None, None))
  assert snt.AffineWarpConstraints.no_shear_3d().num_free_params == 6
  assert snt.AffineWarpConstraints.no_constraints(3).num_free_params == 12
  combined = (snt.AffineWarpConstraints.translation_2d(x=1, y=2) &
              snt.AffineWarpConstraints.no_shear_2d())
  assert combined.constraints == ((None, 0, 1), (0, None, 2))
  assert combined.num_free_params == 2
  # Combination with a plain nested list, and the `x or y` quirk.
  left_zero = snt.AffineWarpConstraints([[0, None, None], [None, None, None]])
  assert left_zero.combine_with(
      [[None, None, None], [None, None, None]]).constraints[0][0] is None
  right_zero = snt.AffineWarpConstraints().combine_with(
      [[0, None, None], [None, None, None]])
  assert right_zero.constraints[0][0] == 0
  with pytest.raises(ValueError, match="Incompatible set of constraints"):
    snt.AffineWarpConstraints.translation_2d(x=1) & (
        snt.AffineWarpConstraints.translation_2d(x=2))
  with pytest.raises(TypeError, match="nested iterable"):
    snt.AffineWarpConstraints([1, 2])
  with pytest.raises(ValueError):
    snt.AffineWarpConstraints([[None, None], [None, None]])


def test_grid_warper_is_abstract():
  with pytest.raises(TypeError):
    spatial_transformer.GridWarper((2, 2), (2, 2), 6, "g")  # pylint: disable=abstract-class-instantiated
