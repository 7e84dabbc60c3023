"""End to end: AffineGridWarper grids fed to snt.resampler (spatial transformer)."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import resampler_reference as ref
import sonnet as snt

pytestmark = pytest.mark.skipif(not snt.resampler_is_available(),
                                reason="Resampler op not built")


def _transform(image, params, output_shape=None):
  """Warps `image` [B, H, W, C] with affine `params` [B, 6]."""
  source_shape = image.shape[1:3]
  warper = snt.AffineGridWarper(source_shape, output_shape or source_shape)
  with tf.Graph().as_default():
    grid = warper(tf.constant(params, tf.float64))
    out = snt.resampler(tf.constant(image), grid)
    with tf.Session() as sess:
      return sess.run([out, grid])


def _image(shape=(2, 5, 7, 3), seed=0):
  return np.random.RandomState(seed).uniform(size=shape)


def test_identity_reproduces_image():
  image = _image()
  out, _ = _transform(image, np.tile([1., 0, 0, 0, 1, 0], (2, 1)))
  np.testing.assert_allclose(out, image, atol=1e-12)


def test_flips_and_rotation():
  image = _image((3, 6, 6, 2))
  params = np.array([[-1., 0, 0, 0, 1, 0],   # mirror left-right
                     [1., 0, 0, 0, -1, 0],   # mirror up-down
                     [0., 1, 0, -1, 0, 0]])  # x_src = v, y_src = -u
  out, _ = _transform(image, params)
  np.testing.assert_allclose(out[0], image[0, :, ::-1], atol=1e-12)
  np.testing.assert_allclose(out[1], image[1, ::-1, :], atol=1e-12)
  n = image.shape[1]
  rotated = np.array([[image[2, n - 1 - j, i] for j in range(n)]
                      for i in range(n)])
  np.testing.assert_allclose(out[2], rotated, atol=1e-12)


def test_translation_by_whole_pixels_pads_with_zeros():
  image = _image((1, 4, 9, 1))
  width = image.shape[2]
  shift = 2  # pixels to the right in the source: out[:, j] = image[:, j + 2]
  params = np.array([[1., 0, 2. * shift / (width - 1), 0, 1, 0]])
  out, _ = _transform(image, params)
  np.testing.assert_allclose(out[0, :, :-shift], image[0, :, shift:],
                             atol=1e-12)
  np.testing.assert_allclose(out[0, :, -shift:], 0, atol=1e-12)


def test_zoom_matches_bilinear_reference():
  image = _image((2, 8, 10, 4))
  params = np.array([[0.5, 0, 0.1, 0, 0.5, -0.2],
                     [0.9, 0.2, 0, -0.2, 0.9, 0]])
  out, grid = _transform(image, params, output_shape=(5, 6))
  # Grid by hand: normalized output positions through the affine map, to
  # pixels ([-1, 1] -> [0, size - 1]); the warper's grid features are
  # float32, hence the tolerance.
  v, u = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 6),
                     indexing="ij")
  for b, (a, bb, tx, c, d, ty) in enumerate(params):
    np.testing.assert_allclose(grid[b, ..., 0],
                               (a * u + bb * v + tx + 1) / 2 * 9, atol=1e-6)
    np.testing.assert_allclose(grid[b, ..., 1],
                               (c * u + d * v + ty + 1) / 2 * 7, atol=1e-6)
  np.testing.assert_allclose(out, ref.forward(image, grid), atol=1e-12)
  assert out.shape == (2, 5, 6, 4)


def test_gradient_reaches_transform_parameters():
  image = _image((1, 6, 6, 2))
  params = np.array([[0.8, 0.1, 0.05, -0.1, 0.7, 0.03]])
  warper = snt.AffineGridWarper((6, 6), (4, 4))
  with tf.Graph().as_default():
    theta = tf.constant(params)
    out = snt.resampler(tf.constant(image), warper(theta))
    with tf.Session():
      err = tf.test.compute_gradient_error(theta, params.shape, out,
                                           out.shape.as_list(),
                                           x_init_value=params, delta=1e-6)
  assert err < 1e-5
