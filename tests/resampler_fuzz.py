"""Fuzzes the Resampler kernels (forward and backward) with random input.

Run against an AddressSanitizer build of the op library (see the Makefile's
`resampler-asan` target):

  LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
      python tests/resampler_fuzz.py build/asan/_resampler.so [iterations]

Every iteration feeds random shapes (valid, empty, mismatched, wrong ranks)
and values (inside, border, outside, NaN, infinite, huge coordinates) through
Resampler and ResamplerGrad, in all four dtypes. Bad shapes must give
InvalidArgument/Unimplemented errors; any memory error makes ASan abort the
process with a report, so a clean exit means zero reports.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

tf.disable_eager_execution()

_DTYPES = (np.float32, np.float64, np.float16, tf.bfloat16.as_numpy_dtype)
_EXPECTED_ERRORS = (tf.errors.InvalidArgumentError,
                    tf.errors.UnimplementedError)


def _coords(rng, shape, size):
  values = rng.uniform(-3, size + 2, shape)
  special = np.array([np.nan, np.inf, -np.inf, 1e38, -1e38, 2.0 ** 31,
                      -1.0, 0.0, size - 1.0, float(size), size - 1e-3,
                      -1 + 1e-3])
  mask = rng.uniform(size=shape) < 0.15
  return np.where(mask, rng.choice(special, size=shape), values)


def _random_case(rng):
  """Returns (data, warp, grad_output) arrays, mostly valid shapes."""
  batch = rng.randint(0, 4)
  height, width = rng.randint(0, 9, size=2)
  channels = rng.randint(0, 6)
  points = tuple(rng.randint(0, 6, size=rng.randint(0, 3)))
  data_shape = [batch, height, width, channels]
  warp_shape = [batch] + list(points) + [2]
  mutation = rng.randint(0, 10)
  if mutation == 0:    # batch mismatch
    warp_shape[0] = batch + rng.randint(1, 3)
  elif mutation == 1:  # wrong last warp dimension
    warp_shape[-1] = rng.choice([0, 1, 3])
  elif mutation == 2:  # wrong data rank
    data_shape = data_shape[:rng.randint(1, 4)] + (
        [] if rng.randint(2) else [2, 1])
  elif mutation == 3:  # warp rank too low
    warp_shape = warp_shape[:1]
  dtype = _DTYPES[rng.randint(len(_DTYPES))]
  data = rng.normal(size=data_shape).astype(dtype)
  warp = np.zeros(warp_shape)
  if warp.ndim >= 1 and warp.size:
    warp[...] = _coords(rng, warp_shape, max(height, width))
  with np.errstate(over="ignore", invalid="ignore"):
    warp = warp.astype(dtype)
  grad_shape = list(warp_shape[:-1]) + [data_shape[-1]]
  if rng.randint(8) == 0:  # inconsistent grad_output
    grad_shape = [d + rng.randint(0, 2) for d in grad_shape] + (
        [1] if rng.randint(2) else [])
  grad = rng.normal(size=grad_shape).astype(dtype)
  return data, warp, grad


def main(argv):
  library = argv[1]
  iterations = int(argv[2]) if len(argv) > 2 else 3000
  ops = tf.load_op_library(library)
  rng = np.random.RandomState(0)
  with tf.Graph().as_default():
    fetches = {}
    for dtype in _DTYPES:
      d = tf.placeholder(dtype)
      w = tf.placeholder(dtype)
      g = tf.placeholder(dtype)
      fetches[dtype] = (d, w, g, ops.resampler(d, w),
                        ops.resampler_grad(d, w, g))
    config = tf.ConfigProto(intra_op_parallelism_threads=2)
    counts = {"ok": 0, "rejected": 0}
    with tf.Session(config=config) as sess:
      for _ in range(iterations):
        data, warp, grad = _random_case(rng)
        d, w, g, out, grads = fetches[data.dtype.type]
        for fetch in (out, grads):
          try:
            result = sess.run(fetch, {d: data, w: warp, g: grad})
          except _EXPECTED_ERRORS:
            counts["rejected"] += 1
            continue
          counts["ok"] += 1
          if fetch is out:
            expected = warp.shape[:-1] + data.shape[-1:]
            assert result.shape == expected, (result.shape, expected)
          else:
            assert result[0].shape == data.shape
            assert result[1].shape == warp.shape
  print("resampler fuzz: {} iterations, {} runs completed, {} rejected with "
        "InvalidArgument/Unimplemented, no sanitizer report".format(
            iterations, counts["ok"], counts["rejected"]))


if __name__ == "__main__":
  main(sys.argv)
