"""Grid warpers exercised the way Sonnet 1's spatial_transformer_test.py did."""

import itertools

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

_NO_SHEAR = snt.AffineWarpConstraints.no_shear_2d()


def _reference_grid(params, source_shape, output_shape, constraints):
  """NumPy version of the affine warp (layers.md §15)."""
  num_dim = len(source_shape)
  ranges = [np.linspace(-1, 1, n) for n in reversed(output_shape)]
  grid = [g.reshape(-1) for g in np.meshgrid(*ranges, indexing="xy")]
  points = np.stack(grid + [np.zeros_like(grid[0])] *
                    (num_dim - len(output_shape)) + [np.ones_like(grid[0])])
  outputs = []
  for row_params in params:
    values = iter(row_params)
    matrix = np.array(
        [[next(values) if c is None else c for c in row]
         for row in constraints], dtype=np.float64)
    warped = matrix.dot(points)
    scales = [(s - 1.0) / 2.0 for s in reversed(source_shape)]
    coords = [warped[k] * scales[k] + scales[k] for k in range(num_dim)]
    outputs.append(np.stack([c.reshape(output_shape) for c in coords],
                            axis=-1))
  return np.stack(outputs)


class AffineGridWarperUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def testShapeInferenceAndChecks(self):
    output_shape = (2, 3)
    source_shape = (6, 9)
    agw = snt.AffineGridWarper(source_shape, output_shape)
    outputs = agw(tf.placeholder(tf.float32, [None, 6]))
    self.assertEqual(outputs.get_shape().as_list(), [None, 2, 3, 2])
    self.assertEqual(agw.source_shape, (6, 9))
    self.assertEqual(agw.output_shape, (2, 3))
    self.assertEqual(agw.module_name, "affine_grid_warper")

    agw = snt.AffineGridWarper((6, 9, 3), output_shape)
    outputs = agw(tf.placeholder(tf.float32, [None, 12]))
    self.assertEqual(outputs.get_shape().as_list(), [None, 2, 3, 3])

    agw = snt.AffineGridWarper((6, 9, 3), (2, 3, 4))
    outputs = agw(tf.placeholder(tf.float32, [None, 12]))
    self.assertEqual(outputs.get_shape().as_list(), [None, 2, 3, 4, 3])

    agw = snt.AffineGridWarper(source_shape, output_shape, _NO_SHEAR)
    outputs = agw(tf.placeholder(tf.float32, [None, 4]))
    self.assertEqual(outputs.get_shape().as_list(), [None, 2, 3, 2])

    with self.assertRaisesRegexp(
        snt.Error, "Input size is not consistent with constraint definition: "
        "4 parameters expected, 6 provided."):
      agw(tf.placeholder(tf.float32, [None, 6]))
    with self.assertRaisesRegexp(
        snt.Error, "Incompatible set of constraints provided: input grid "
        "shape and constraints have different dimensionality."):
      snt.AffineGridWarper((6, 9, 3), output_shape,
                           snt.AffineWarpConstraints.no_constraints(2))
    with self.assertRaisesRegexp(snt.Error,
                                 "Output domain dimensionality .* must be "
                                 "equal or smaller than source domain"):
      snt.AffineGridWarper(source_shape, (2, 3, 4))
    with self.assertRaisesRegexp(snt.Error,
                                 "Transformation is fully constrained."):
      snt.AffineGridWarper(source_shape, output_shape,
                           ((1, 0, 0), (0, 1, 0)))

  @parameterized.named_parameters(
      ("2d_free", (5, 7), (4, 6), None),
      ("2d_no_shear", (5, 7), (4, 6), _NO_SHEAR),
      ("2d_translation", (3, 3), (5, 5),
       snt.AffineWarpConstraints.translation_2d(x=0.5, y=-0.25)),
      ("2d_scale_list", (4, 3), (3, 4), ((2.0, None, None),
                                         (None, 0.5, None))),
      ("3d_free", (3, 4, 5), (2, 3, 4), None),
      ("3d_to_2d", (3, 4, 5), (2, 3), snt.AffineWarpConstraints.no_shear_3d()),
  )
  def testSameAsNumPyReference(self, source_shape, output_shape, constraints):
    agw = snt.AffineGridWarper(source_shape, output_shape, constraints)
    num_params = agw.constraints.num_free_params
    inputs = tf.placeholder(tf.float32, [None, num_params])
    warped_grid = agw(inputs)
    params = np.random.RandomState(0).uniform(-1, 1, (3, num_params))
    with self.test_session() as sess:
      output = sess.run(warped_grid, {inputs: params})
    expected = _reference_grid(params, source_shape, output_shape,
                               agw.constraints.constraints)
    self.assertAllClose(expected, output, rtol=1e-5, atol=1e-5)

  def testIdentityAndFloat64(self):
    agw = snt.AffineGridWarper([3, 3], [3, 3])
    out = agw(tf.constant([[1., 0., 0., 0., 1., 0.]], dtype=tf.float64))
    self.assertEqual(out.dtype, tf.float64)
    with self.test_session() as sess:
      out_v = sess.run(out)
    for i, j in itertools.product(range(3), range(3)):
      self.assertAllClose([j, i], out_v[0, i, j])

  @parameterized.named_parameters(
      ("free", None), ("no_shear", _NO_SHEAR),
      ("translation", snt.AffineWarpConstraints.translation_2d(x=0.2)))
  def testInverse(self, constraints):
    source_shape, output_shape = (5, 7), (4, 6)
    agw = snt.AffineGridWarper(source_shape, output_shape, constraints)
    inverse = agw.inverse()
    self.assertEqual(inverse.module_name, "affine_grid_warper_inverse")
    self.assertEqual(agw.inverse(name="inv").module_name, "inv")
    num_params = agw.constraints.num_free_params
    inputs = tf.placeholder(tf.float32, [None, num_params])
    inverse_grid = inverse(inputs)
    self.assertEqual(inverse_grid.get_shape().as_list(), [None, 5, 7, 2])
    params = np.random.RandomState(1).uniform(-0.3, 0.3, (2, num_params))
    # Push the free diagonal entries towards 1 to keep A invertible.
    mask = list(itertools.chain.from_iterable(agw.constraints.mask))
    free_positions = [k for k, free in enumerate(mask) if free]
    for col, position in enumerate(free_positions):
      if position in (0, 4):
        params[:, col] += 1.0
    with self.test_session() as sess:
      output = sess.run(inverse_grid, {inputs: params})
    expected_params = []
    for row in params:
      values = iter(row)
      full = [next(values) if c is None else c for c in
              itertools.chain.from_iterable(agw.constraints.constraints)]
      matrix = np.array(full).reshape(2, 3)
      inv = np.linalg.inv(matrix[:, :2])
      translation = inv.dot(matrix[:, 2])
      expected_params.append(
          np.concatenate([np.concatenate([inv, -translation[:, None]], 1)
                          .reshape(-1)]))
    expected = _reference_grid(np.array(expected_params), output_shape,
                               source_shape, ((None,) * 3,) * 2)
    self.assertAllClose(expected, output, rtol=1e-4, atol=1e-4)

  def testInverse3DUnsupported(self):
    with self.assertRaises(tf.errors.UnimplementedError):
      snt.AffineGridWarper((3, 4, 5), (3, 4, 5)).inverse()

  def testNCoeffUpstreamBug(self):
    # Upstream's n_coeff reads a missing attribute (kept, spec §15).
    with self.assertRaises(AttributeError):
      _ = snt.AffineGridWarper((3, 3), (3, 3)).n_coeff
    self.assertLen(snt.AffineGridWarper((3, 3), (3, 3)).psi, 6)


class AffineWarpConstraintsUpstreamTest(tf.test.TestCase):

  def assertConstraintsEqual(self, warp_constraints, expected):
    self.assertEqual(warp_constraints.constraints, expected)

  def testCreateMasksAndCounts(self):
    awc = snt.AffineWarpConstraints
    self.assertEqual(awc.no_constraints(1).mask, ((True, True),))
    self.assertEqual(awc.no_constraints().num_free_params, 6)
    self.assertEqual(awc.no_constraints(3).num_dim, 3)
    self.assertEqual(awc.translation_2d(2, 3).num_free_params, 4)
    self.assertEqual(awc.translation_2d(2, 3).mask,
                     ((True, True, False), (True, True, False)))
    self.assertEqual(awc.translation_3d(1, 2, 3).num_free_params, 9)
    self.assertEqual(awc.scale_2d(x=2).num_free_params, 5)
    self.assertEqual(awc.scale_3d(1, 2, 3).num_free_params, 9)
    self.assertEqual(awc.shear_2d(1, 2).num_free_params, 4)
    self.assertEqual(awc.no_shear_2d().num_free_params, 4)
    self.assertEqual(awc.no_shear_3d().num_free_params, 6)
    self.assertConstraintsEqual(awc.no_shear_2d(),
                                ((None, 0, None), (0, None, None)))
    self.assertConstraintsEqual(
        awc.no_shear_3d(),
        ((None, 0, 0, None), (0, None, 0, None), (0, 0, None, None)))
    self.assertEqual(awc.translation_2d(2, 3)[1], (None, None, 3))

  def testCombine(self):
    awc = snt.AffineWarpConstraints
    self.assertConstraintsEqual(awc.translation_2d(2, 3) & awc.scale_2d(4, 5),
                                ((4, None, 2), (None, 5, 3)))
    self.assertConstraintsEqual(
        awc.translation_2d(2, 3).combine_with(((4, None, None),
                                               (None, 5, 3))),
        ((4, None, 2), (None, 5, 3)))
    with self.assertRaisesRegexp(ValueError,
                                 "Incompatible set of constraints provided."):
      _ = awc.translation_2d(2, 3) & awc.translation_2d(3, 2)
    # Upstream's `x or y` quirk (spec §15): a 0 on the left loses to None.
    zero_first = awc([[0, None, None], [None, None, None]])
    self.assertConstraintsEqual(zero_first & awc.no_constraints(),
                                ((None,) * 3,) * 2)
    self.assertConstraintsEqual(awc.no_constraints() & zero_first,
                                ((0, None, None), (None, None, None)))

  def testErrors(self):
    with self.assertRaisesRegexp(TypeError, "nested iterable"):
      snt.AffineWarpConstraints(3)
    with self.assertRaises(ValueError):
      snt.AffineWarpConstraints(((None, None), (None, None)))


if __name__ == "__main__":
  tf.test.main()
