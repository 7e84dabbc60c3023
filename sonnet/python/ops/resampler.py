"""The `Resampler` custom op of Sonnet v1.3 (bilinear sampling at 2-D points).

`resampler(data, warp)` samples `data` [batch, height, width, channels] at the
points `warp` [batch, d0, ..., dn, 2] (x = column, y = row, pixel centres at
integer coordinates), returning [batch, d0, ..., dn, channels]. The image is
treated as zero-padded by one pixel: points with x <= -1, x >= width,
y <= -1 or y >= height (and NaN points) sample 0, and the result decays to 0
smoothly towards that boundary. Gradients flow to both `data` and `warp`.

The kernels are compiled C++ in `_resampler.so` next to this file (built by
`pip install .` or bazel from sonnet/cc/). A library built against another
TensorFlow version is refused before it is loaded, with a message saying to
rebuild; `resampler_is_available()` then returns False and `resampler`
raises ImportError saying why.
"""
import os

import tensorflow.compat.v1 as tf

_LIBRARY_NAME = "_resampler.so"
_BUILD_TAG = b"SONNET_RESAMPLER_BUILT_AGAINST_TF="
_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)

# The loaded op module (what upstream called `gen_resampler`), or None.
gen_resampler = None
# Why loading failed, for the ImportError raised by `resampler`.
_load_error = None


def library_path():
  """Path of the op library shipped inside the package."""
  return os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      _LIBRARY_NAME)


def built_against_version(path):
  """TensorFlow version recorded in the library at `path`, or None."""
  with open(path, "rb") as f:
    blob = f.read()
  start = blob.find(_BUILD_TAG)
  if start < 0:
    return None
  start += len(_BUILD_TAG)
  end = blob.find(b"\0", start)
  return blob[start:end].decode("ascii", "replace")


def check_library_version(path, installed_version=None):
  """Raises ImportError if the library was built for another TensorFlow."""
  installed_version = installed_version or tf.__version__
  built = built_against_version(path)
  if built is not None and built != installed_version:
    raise ImportError(
        "{} was built against TensorFlow {} but TensorFlow {} is installed; "
        "rebuild it (`pip install .` in the Sonnet source tree, or the bazel "
        "build) against the installed TensorFlow.".format(
            path, built, installed_version))


def load_library(path):
  """Checks and loads the op library at `path`; returns the op module."""
  if not os.path.exists(path):
    raise ImportError(
        "{} not found: the Resampler op was not compiled. Install Sonnet "
        "with `pip install .` (TensorFlow installed first) to build it."
        .format(path))
  check_library_version(path)
  return tf.load_op_library(path)


def _load():
  global gen_resampler, _load_error
  try:
    gen_resampler = load_library(library_path())
  except (ImportError, tf.errors.NotFoundError) as e:
    gen_resampler = None
    _load_error = str(e)


_load()


def resampler_is_available():
  """True iff the compiled Resampler op library was loaded."""
  return gen_resampler is not None


def _check_inputs(data, warp):
  """Graph-construction-time checks that cannot be deferred to the kernel."""
  if data.dtype != warp.dtype:
    raise TypeError(
        "data and warp must have the same dtype, got {} and {}.".format(
            data.dtype.name, warp.dtype.name))
  if data.dtype.base_dtype not in _DTYPES:
    raise TypeError(
        "resampler supports dtypes {}, got {}.".format(
            ", ".join(d.name for d in _DTYPES), data.dtype.name))
  # Static shape problems the kernel reports (data rank != 4, warp rank < 2,
  # last warp dimension != 2, batch mismatch) are left to run time, where
  # they raise upstream's error classes: upstream callers build the op with
  # such shapes and expect the error from `Session.run`. Only rank 0, which
  # no caller can mean, is rejected here (by the op's shape function).


def resampler(data, warp, name="resampler"):
  """Samples `data` bilinearly at the 2-D points `warp`.

  Args:
    data: Tensor [batch, height, width, channels] of float16, bfloat16,
      float32 or float64.
    warp: Tensor [batch, d0, ..., dn, 2] of the same dtype; `warp[..., 0]` is
      the x (column) and `warp[..., 1]` the y (row) coordinate.
    name: name scope of the op.

  Returns:
    Tensor [batch, d0, ..., dn, channels] of `data`'s dtype.

  Raises:
    ImportError: the op library is not available (the message says why).
    TypeError: `data` and `warp` have different or unsupported dtypes.
    tf.errors.UnimplementedError / InvalidArgumentError (at run time): data
      not of rank 4, warp of rank < 2, last warp dimension not 2, batch sizes
      differing.
  """
  if not resampler_is_available():
    raise ImportError("_gen_resampler could not be imported. ({})".format(
        _load_error))
  with tf.name_scope(name, "resampler", [data, warp]):
    data_tensor = tf.convert_to_tensor(data, name="data")
    warp_tensor = tf.convert_to_tensor(warp, name="warp")
    _check_inputs(data_tensor, warp_tensor)
    return gen_resampler.resampler(data_tensor, warp_tensor)


def _resampler_grad(op, grad_output):
  data, warp = op.inputs
  grad_output_tensor = tf.convert_to_tensor(grad_output, name="grad_output")
  return gen_resampler.resampler_grad(data, warp, grad_output_tensor)


if resampler_is_available():
  try:
    tf.RegisterGradient("Resampler")(_resampler_grad)
    tf.NotDifferentiable("ResamplerGrad")
  except KeyError:  # Already registered (module reloaded).
    pass
