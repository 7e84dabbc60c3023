"""`scale_gradient`: identity in the forward pass, scaled gradient backward."""

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import function


def _is_tensor(value):
  return isinstance(value, (tf.Tensor, tf.Variable))


def _scale_gradient_op(dtype):
  """A graph function `(x, scale) -> x` whose gradient is `(dy * scale, None)`.

  As upstream, this is a `Defun` named `ScaleGradient_<dtype>`, so the op in
  the graph has that type (code inspecting graphs matches on it); the scale
  is an input of the op so that the backward function can read it.
  """

  def backward(op, grad):
    return grad * op.inputs[1], None

  def forward(x, unused_scale):
    return x

  return function.Defun(
      dtype, dtype, python_grad_func=backward,
      func_name="ScaleGradient_{}".format(dtype.name))(forward)


def scale_gradient(net, scale, name="scale_gradient"):
  """Returns `net` unchanged; its gradient is multiplied by `scale`.

  Args:
    net: floating-point tensor; when executing eagerly, a callable whose
      output's gradient is to be scaled.
    scale: number or scalar tensor. 0 gives `tf.stop_gradient(net)` and 1
      gives `tf.identity(net)` (Python numbers only); other values give an op
      of type `ScaleGradient_<dtype>`.
    name: name of the op / name scope.

  Returns:
    A tensor equal to `net` (eagerly: a `tf.function` wrapping `net`).

  Raises:
    ValueError: if `net` is not floating point (for scales other than 0 and
      1), or not callable when executing eagerly.
  """
  if tf.executing_eagerly():
    if not callable(net):
      raise ValueError(
          "In eager mode `net` must be a callable (similar to how optimizers "
          "must be used when executing eagerly).")
    return tf.function(
        lambda *args, **kwargs: scale_gradient(net(*args, **kwargs), scale,
                                               name))

  # A tensor scale is never compared with 0 or 1 (in TF2 that comparison is
  # elementwise and has no truth value): it always gets the scaling op.
  if not _is_tensor(scale):
    if scale == 0.0:
      return tf.stop_gradient(net, name=name)
    if scale == 1.0:
      return tf.identity(net, name=name)

  net = tf.convert_to_tensor(net)
  if not net.dtype.is_floating:
    # Upstream's message names clip_gradient (a copy/paste slip); it is kept
    # so that code matching on it keeps working.
    raise ValueError("clip_gradient does not support non-float `net` inputs.")

  with tf.name_scope(name, "scale_gradient", values=[net]):
    dtype = net.dtype.base_dtype
    scale_tensor = tf.convert_to_tensor(scale, dtype=dtype)
    output = _scale_gradient_op(dtype)(net, scale_tensor)
    output.set_shape(net.get_shape())
  return output
