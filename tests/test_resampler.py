"""Tests of the Resampler op: values, gradients, shapes, errors, bad input."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import resampler_reference as ref
from sonnet.python.ops import resampler as resampler_lib

pytestmark = pytest.mark.skipif(
    not resampler_lib.resampler_is_available(),
    reason="Resampler op not built: " + str(resampler_lib._load_error))

resampler = resampler_lib.resampler
_TOL = {np.float16: 1e-2, tf.bfloat16.as_numpy_dtype: 3e-2, np.float32: 1e-4,
        np.float64: 1e-5}


def _run(fetches, feed_dict=None, threads=None):
  config = None
  if threads:
    config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=1,
                            use_per_session_threads=True)
  with tf.Session(config=config) as sess:
    return sess.run(fetches, feed_dict)


class TestValues:

  @pytest.mark.parametrize("dtype", sorted(_TOL, key=str))
  def test_dtypes(self, dtype):
    rng = np.random.RandomState(0)
    data = rng.uniform(size=(2, 5, 6, 3))
    warp = ref.random_warp(rng, (2, 7, 4, 2), 5, 6)
    with tf.Graph().as_default():
      out = resampler(tf.constant(data.astype(dtype)),
                      tf.constant(warp.astype(dtype)))
      assert out.dtype == tf.as_dtype(dtype)
      got = _run(out)
    expected = ref.forward(data.astype(dtype), warp.astype(dtype))
    np.testing.assert_allclose(got.astype(np.float64), expected,
                               rtol=_TOL[dtype], atol=_TOL[dtype])

  def test_random_shapes_and_warp_ranks(self):
    rng = np.random.RandomState(1)
    with tf.Graph().as_default():
      cases = []
      for _ in range(12):
        batch = rng.randint(1, 4)
        height, width = rng.randint(1, 9, size=2)
        channels = rng.randint(1, 6)
        points = tuple(rng.randint(1, 5, size=rng.randint(0, 4)))
        data = rng.normal(size=(batch, height, width, channels))
        warp = ref.random_warp(rng, (batch,) + points + (2,), height, width)
        out = resampler(tf.constant(data), tf.constant(warp))
        assert out.shape.as_list() == [batch] + list(points) + [channels]
        cases.append((data, warp, out))
      got = _run([c[2] for c in cases])
    for (data, warp, _), value in zip(cases, got):
      np.testing.assert_allclose(value, ref.forward(data, warp), rtol=1e-10,
                                 atol=1e-10)

  def test_known_values(self):
    # 2x3 image, one channel: values 0..5 row-major.
    data = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    warp = np.array([[[0, 0], [2, 1], [1, 0.5], [0.5, 0], [-0.5, 0],
                      [-1, 0], [3, 1], [2.5, 1.5], [1, -0.25]]], np.float32)
    with tf.Graph().as_default():
      got = _run(resampler(data, warp))[0, :, 0]
    np.testing.assert_allclose(
        got, [0, 5, 2.5, 0.5, 0, 0, 0, 5 * 0.25, 0.75], atol=1e-6)

  def test_agrees_across_thread_counts(self):
    rng = np.random.RandomState(2)
    data = rng.normal(size=(5, 9, 7, 4)).astype(np.float32)
    warp = ref.random_warp(rng, (5, 33, 2), 9, 7).astype(np.float32)
    with tf.Graph().as_default():
      d, w = tf.constant(data), tf.constant(warp)
      out = resampler(d, w)
      grads = tf.gradients(out, [d, w], tf.constant(
          rng.normal(size=(5, 33, 4)).astype(np.float32)))
      one = _run([out] + grads, threads=1)
      two = _run([out] + grads, threads=2)
    for a, b in zip(one, two):
      np.testing.assert_array_equal(a, b)  # Deterministic.

  def test_shape_inference(self):
    with tf.Graph().as_default():
      data = tf.placeholder(tf.float32, [None, 4, 5, 3])
      warp = tf.placeholder(tf.float32, [None, 6, 7, 2])
      assert resampler(data, warp).shape.as_list() == [None, 6, 7, 3]
      warp = tf.placeholder(tf.float32, [None, None, 2])
      assert resampler(data, warp).shape.as_list() == [None, None, 3]
      unknown = tf.placeholder(tf.float32)
      assert resampler(unknown, unknown).shape.ndims is None
      data = tf.placeholder(tf.float32, [2, 4, 5, None])
      assert resampler(data, tf.zeros([2, 3, 2])).shape.as_list() == [
          2, 3, None]

  def test_name_scope_and_inputs(self):
    with tf.Graph().as_default():
      out = resampler(np.zeros((1, 2, 2, 1), np.float32),
                      np.zeros((1, 3, 2), np.float32), name="warp_it")
      assert out.op.type == "Resampler"
      assert out.op.name.startswith("warp_it/")
      assert [t.op.name for t in out.op.inputs] == ["warp_it/data",
                                                     "warp_it/warp"]
      out = resampler(np.zeros((1, 2, 2, 1), np.float32),
                      np.zeros((1, 3, 2), np.float32))
      assert out.op.name.startswith("resampler")

  def test_exported_from_sonnet(self):
    import sonnet as snt  # pylint: disable=g-import-not-at-top
    assert snt.resampler is resampler
    assert snt.resampler_is_available()


class TestGradients:

  def _warp_off_integers(self, rng, shape, height, width):
    warp = ref.random_warp(rng, shape, height, width, margin=0.8)
    # The warp gradient is one-sided at integer coordinates; keep numeric
    # differences away from them.
    frac = warp - np.floor(warp)
    return np.where((frac < 0.05) | (frac > 0.95), np.floor(warp) + 0.5, warp)

  @pytest.mark.parametrize("points", [(3,), (2, 3), (2, 1, 2)])
  def test_gradient_error(self, points):
    rng = np.random.RandomState(3)
    batch, height, width, channels = 2, 4, 5, 3
    data = rng.normal(size=(batch, height, width, channels))
    warp = self._warp_off_integers(rng, (batch,) + points + (2,), height,
                                   width)
    with tf.Graph().as_default():
      d, w = tf.constant(data), tf.constant(warp)
      out = resampler(d, w)
      with tf.Session():
        err = tf.test.compute_gradient_error(
            [d, w], [data.shape, warp.shape], out, out.shape.as_list(),
            x_init_value=[data, warp])
    assert err < 1e-6

  def test_float32_gradient_against_float64_numerics(self):
    rng = np.random.RandomState(4)
    data = rng.normal(size=(2, 3, 4, 2))
    warp = self._warp_off_integers(rng, (2, 5, 2), 3, 4)
    with tf.Graph().as_default():
      d32, w32 = tf.constant(data, tf.float32), tf.constant(warp, tf.float32)
      d64, w64 = tf.constant(data), tf.constant(warp)
      with tf.Session():
        res32 = tf.test.compute_gradient(
            [d32, w32], [data.shape, warp.shape], resampler(d32, w32),
            [2, 5, 2], x_init_value=[data.astype(np.float32),
                                     warp.astype(np.float32)])
        res64 = tf.test.compute_gradient(
            [d64, w64], [data.shape, warp.shape], resampler(d64, w64),
            [2, 5, 2], x_init_value=[data, warp])
    for (analytic, _), (_, numeric) in zip(res32, res64):
      np.testing.assert_allclose(analytic, numeric, atol=1e-4, rtol=1e-4)

  @pytest.mark.parametrize("dtype", [np.float16, tf.bfloat16.as_numpy_dtype,
                                     np.float32, np.float64])
  def test_gradient_values_against_reference(self, dtype):
    rng = np.random.RandomState(5)
    data = rng.uniform(size=(3, 4, 6, 2))
    warp = ref.random_warp(rng, (3, 3, 5, 2), 4, 6)
    grad_out = rng.uniform(size=(3, 3, 5, 2))
    data, warp, grad_out = (a.astype(dtype) for a in (data, warp, grad_out))
    with tf.Graph().as_default():
      d, w = tf.constant(data), tf.constant(warp)
      grads = tf.gradients(resampler(d, w), [d, w], tf.constant(grad_out))
      got_data, got_warp = _run(grads)
    want_data, want_warp = ref.gradients(data, warp, grad_out)
    tol = 5 * _TOL[dtype]
    np.testing.assert_allclose(got_data.astype(np.float64), want_data,
                               rtol=tol, atol=tol)
    np.testing.assert_allclose(got_warp.astype(np.float64), want_warp,
                               rtol=tol, atol=tol)

  def test_no_second_order_gradient(self):
    with tf.Graph().as_default():
      d = tf.constant(np.ones((1, 2, 2, 1)))
      w = tf.constant(np.full((1, 1, 2), 0.5))
      out = resampler(d, w)
      grad_w = tf.gradients(out, w)[0]
      assert grad_w.op.type == "ResamplerGrad"
      assert tf.gradients(grad_w, [d, w]) == [None, None]

  def test_eager_tape(self):
    # The registered gradient also serves TF2 code (tf.GradientTape).
    code = (
        "import numpy as np, tensorflow as tf\n"
        "from sonnet.python.ops.resampler import resampler\n"
        "d = tf.constant(np.ones((1, 2, 2, 1), np.float32))\n"
        "w = tf.constant([[[0.5, 0.25]]])\n"
        "with tf.GradientTape() as t:\n"
        "  t.watch([d, w])\n"
        "  y = resampler(d, w)\n"
        "gd, gw = t.gradient(y, [d, w])\n"
        "assert abs(float(y[0, 0, 0]) - 1) < 1e-6, y\n"
        "np.testing.assert_allclose(gd.numpy().ravel(),"
        " [0.375, 0.375, 0.125, 0.125])\n"
        "np.testing.assert_allclose(gw.numpy().ravel(), [0, 0])\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]


class TestErrors:
  """Kernel errors carry upstream's classes and message fragments."""

  def _expect(self, error, regexp, data_shape, warp_shape):
    with tf.Graph().as_default():
      out = resampler(tf.zeros(data_shape), tf.zeros(warp_shape))
      with pytest.raises(error, match=regexp):
        _run(out)

  def test_data_not_rank_4(self):
    self._expect(tf.errors.UnimplementedError,
                 "Only bilinear interpolation is currently supported.",
                 (2, 3, 4, 5, 6), (2, 4, 2))
    self._expect(tf.errors.UnimplementedError, "Only bilinear",
                 (2, 3, 4), (2, 4, 2))

  def test_warp_rank_too_low(self):
    self._expect(tf.errors.InvalidArgumentError,
                 "warp should be at least a matrix", (2, 3, 4, 1), (2,))

  def test_warp_last_dimension(self):
    self._expect(tf.errors.UnimplementedError,
                 "Only bilinear interpolation is supported, warping",
                 (2, 3, 4, 1), (2, 5, 3))
    self._expect(tf.errors.UnimplementedError, "warping coordinates",
                 (2, 3, 4, 1), (2, 5, 1))

  def test_batch_mismatch(self):
    self._expect(tf.errors.InvalidArgumentError,
                 "Batch size of data and warp tensor", (2, 3, 4, 1),
                 (3, 5, 2))

  def test_errors_with_unknown_static_shapes(self):
    with tf.Graph().as_default():
      data = tf.placeholder(tf.float32)
      warp = tf.placeholder(tf.float32)
      out = resampler(data, warp)
      with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Batch size"):
          sess.run(out, {data: np.zeros((1, 2, 2, 1)),
                         warp: np.zeros((4, 2))})
        with pytest.raises(tf.errors.UnimplementedError):
          sess.run(out, {data: np.zeros((2, 2, 1)), warp: np.zeros((2, 2))})

  def test_grad_op_errors(self):
    gen = resampler_lib.gen_resampler
    cases = [
        ((2, 3, 4), (2, 1, 2), (2, 1, 4), tf.errors.UnimplementedError,
         "Only bilinear interpolation is supported"),
        ((2, 3, 4, 1), (2,), (2, 1), tf.errors.InvalidArgumentError,
         "warp should be at least a matrix"),
        ((2, 3, 4, 1), (2, 5, 3), (2, 5, 1), tf.errors.UnimplementedError,
         "warping coordinates must be 2D"),
        # Upstream's gradient kernel lacked this check (out-of-bounds read).
        ((2, 3, 4, 1), (5, 5, 2), (5, 5, 1), tf.errors.InvalidArgumentError,
         "Batch size of data and warp tensor"),
        ((2, 3, 4, 1), (2, 5, 2), (2, 5, 2), tf.errors.InvalidArgumentError,
         "grad_output shape is not consistent"),
        ((2, 3, 4, 1), (2, 5, 2), (2, 6, 1), tf.errors.InvalidArgumentError,
         "grad_output shape is not consistent"),
    ]
    for data_shape, warp_shape, grad_shape, error, regexp in cases:
      with tf.Graph().as_default():
        out = gen.resampler_grad(tf.zeros(data_shape), tf.zeros(warp_shape),
                                 tf.zeros(grad_shape))
        with pytest.raises(error, match=regexp):
          _run(out)

  def test_dtype_errors_at_construction(self):
    with tf.Graph().as_default():
      with pytest.raises(TypeError, match="same dtype"):
        resampler(tf.zeros((1, 2, 2, 1)), tf.zeros((1, 2, 2), tf.float64))
      with pytest.raises(TypeError, match="supports dtypes"):
        resampler(tf.zeros((1, 2, 2, 1), tf.int32),
                  tf.zeros((1, 2, 2), tf.int32))

  def test_scalar_rejected_at_construction(self):
    with tf.Graph().as_default():
      with pytest.raises(ValueError):
        resampler(tf.zeros(()), tf.zeros((1, 2)))

  def test_unavailable_library(self, monkeypatch):
    monkeypatch.setattr(resampler_lib, "gen_resampler", None)
    monkeypatch.setattr(resampler_lib, "_load_error", "why not")
    assert not resampler_lib.resampler_is_available()
    with pytest.raises(ImportError,
                       match="_gen_resampler could not be imported.*why not"):
      resampler(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 2)))


class TestBadInputIsDefined:
  """Degenerate input gives a defined result, never a crash."""

  def _forward_and_grads(self, data, warp):
    with tf.Graph().as_default():
      d, w = tf.constant(data), tf.constant(warp)
      out = resampler(d, w)
      grads = tf.gradients(out, [d, w], tf.ones_like(out))
      return _run([out] + grads)

  @pytest.mark.parametrize("data_shape,warp_shape", [
      ((0, 3, 4, 2), (0, 5, 2)),       # empty batch
      ((2, 3, 4, 2), (2, 0, 2)),       # no points
      ((2, 3, 4, 2), (2, 0, 7, 2)),    # no points, rank 4 warp
      ((2, 3, 4, 0), (2, 5, 2)),       # no channels
      ((2, 0, 4, 2), (2, 5, 2)),       # zero-height image
      ((2, 3, 0, 2), (2, 5, 2)),       # zero-width image
      ((1, 0, 0, 3), (1, 5, 2)),
  ])
  def test_empty_tensors(self, data_shape, warp_shape):
    rng = np.random.RandomState(6)
    data = rng.normal(size=data_shape).astype(np.float32)
    warp = rng.uniform(-1, 1, size=warp_shape).astype(np.float32)
    out, grad_data, grad_warp = self._forward_and_grads(data, warp)
    assert out.shape == warp_shape[:-1] + data_shape[-1:]
    assert not out.any()  # Nothing to sample: zeros.
    assert grad_data.shape == data_shape and not grad_data.any()
    assert grad_warp.shape == warp_shape and not grad_warp.any()

  @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
  def test_non_finite_and_huge_coordinates_sample_zero(self, dtype):
    big = np.finfo(dtype).max
    coords = [np.nan, np.inf, -np.inf, big, -big, 1e30 if dtype != np.float16
              else 6e4, -3e9 if dtype != np.float16 else -6e4, 2 ** 31,
              2.0 ** 63]
    rng = np.random.RandomState(7)
    data = rng.uniform(1, 2, size=(1, 4, 5, 2)).astype(dtype)
    warp = []
    for c in coords:
      warp += [[c, 1.5], [1.5, c], [c, c]]
    with np.errstate(over="ignore"):
      warp = np.array([warp], dtype)
    out, grad_data, grad_warp = self._forward_and_grads(data, warp)
    assert not out.any() and not grad_data.any() and not grad_warp.any()

  def test_nan_coordinates_among_valid_points(self):
    data = np.ones((1, 3, 3, 1), np.float32)
    warp = np.array([[[np.nan, 1], [1, 1], [1, np.nan], [0.5, 0.5]]],
                    np.float32)
    out, grad_data, _ = self._forward_and_grads(data, warp)
    np.testing.assert_allclose(out[0, :, 0], [0, 1, 0, 1])
    assert grad_data.sum() == pytest.approx(2.0)

  def test_wide_image_beyond_float_precision(self):
    # Past 2**24 float32 coordinates are no longer all integers and
    # float32(width) may round above width: indices must still stay in
    # bounds (checked on integers, not floats).
    width = 2 ** 24 + 3
    data = np.zeros((1, 1, width, 1), np.float32)
    data[0, 0, -1, 0] = 7.0
    warp = np.array([[[width - 1, 0], [width - 0.5, 0], [width, 0],
                      [width + 10.0, 0]]], np.float32)
    with tf.Graph().as_default():
      got = _run(resampler(data, warp))[0, :, 0]
    assert got[0] == 7.0 and set(got[1:]) <= {0.0, 7.0}


def test_vectorized_and_baseline_loops_agree(tmp_path):
  # float / double run AVX2 (and, for the float gather path of 1-4 channels,
  # AVX-512) builds of the CPU loops where the CPU has them; every build must
  # give bit-identical results. 61 points per item: AVX-512 steps of 16, an
  # AVX2 step of 8 and a scalar tail.
  code = (
      "import sys, numpy as np, tensorflow.compat.v1 as tf\n"
      "tf.disable_eager_execution()\n"
      "sys.path.insert(0, {tests!r})\n"
      "import resampler_reference as ref\n"
      "from sonnet.python.ops.resampler import resampler\n"
      "rng = np.random.RandomState(8)\n"
      "arrays = []\n"
      "for dtype in (np.float32, np.float64):\n"
      "  for channels in (1, 2, 3, 4, 5, 16):\n"
      "    data = rng.normal(size=(3, 7, 9, channels)).astype(dtype)\n"
      "    warp = ref.random_warp(rng, (3, 61, 2), 7, 9).astype(dtype)\n"
      "    d, w = tf.constant(data), tf.constant(warp)\n"
      "    out = resampler(d, w)\n"
      "    arrays += [out] + tf.gradients(out, [d, w], tf.ones_like(out))\n"
      "with tf.Session() as sess:\n"
      "  np.savez(sys.argv[1], *sess.run(arrays))\n").format(
          tests=os.path.dirname(os.path.abspath(__file__)))
  results = []
  for disable in (None, "SONNET_RESAMPLER_DISABLE_AVX512",
                  "SONNET_RESAMPLER_DISABLE_AVX2"):
    env = dict(os.environ)
    env.pop("SONNET_RESAMPLER_DISABLE_AVX2", None)
    env.pop("SONNET_RESAMPLER_DISABLE_AVX512", None)
    if disable:
      env[disable] = "1"
    path = str(tmp_path / "out{}.npz".format(len(results)))
    proc = subprocess.run([sys.executable, "-c", code, path], env=env,
                          capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(path) as f:
      results.append([f[k] for k in sorted(f.files)])
  assert len(results[0]) == 36
  for other in results[1:]:
    for a, b in zip(results[0], other):
      np.testing.assert_array_equal(a, b)


class TestLibraryVersionCheck:

  def test_mismatched_version_refused_naming_both(self, tmp_path):
    path = resampler_lib.library_path()
    built = resampler_lib.built_against_version(path)
    assert built == tf.__version__
    copy = tmp_path / "_resampler.so"
    blob = open(path, "rb").read()
    other = "9" * len(built)
    blob = blob.replace(b"SONNET_RESAMPLER_BUILT_AGAINST_TF=" + built.encode(),
                        b"SONNET_RESAMPLER_BUILT_AGAINST_TF=" + other.encode())
    copy.write_bytes(blob)
    with pytest.raises(ImportError) as e:
      resampler_lib.load_library(str(copy))
    message = str(e.value)
    assert other in message and tf.__version__ in message
    assert "rebuild" in message

  def test_installed_version_mismatch(self):
    with pytest.raises(ImportError, match="2.21.0.*1.15.0.*rebuild"):
      resampler_lib.check_library_version(resampler_lib.library_path(),
                                          installed_version="1.15.0")

  def test_missing_library(self, tmp_path):
    with pytest.raises(ImportError, match="not found"):
      resampler_lib.load_library(str(tmp_path / "_resampler.so"))
