"""`clip_gradient`: identity in the forward pass, clipped gradient backward."""

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import function


def _clip_gradient_op(dtype):
  """A graph function `(x, min, max) -> x` with gradient `clip(dy, min, max)`.

  As upstream, this is a `Defun` named `ClipGradient_<dtype>` (the op type in
  the graph); the bounds are inputs of the op and get no gradient.
  """

  def backward(op, grad):
    clipped = tf.clip_by_value(grad, op.inputs[1], op.inputs[2])
    return clipped, None, None

  def forward(x, unused_clip_value_min, unused_clip_value_max):
    return x

  return function.Defun(
      dtype, dtype, dtype, python_grad_func=backward,
      func_name="ClipGradient_{}".format(dtype.name))(forward)


def clip_gradient(net, clip_value_min, clip_value_max, name=None):
  """Returns `net` unchanged; its gradient is clipped to [min, max].

  Args:
    net: floating-point tensor.
    clip_value_min: lower bound of the gradient (number or scalar tensor).
    clip_value_max: upper bound of the gradient.
    name: name scope (default "clip_gradient").

  Returns:
    A tensor equal to `net` (an op of type `ClipGradient_<dtype>`) whose
    gradient is `tf.clip_by_value(dy, clip_value_min, clip_value_max)`. The
    bounds get no gradient.

  Raises:
    ValueError: if `net` is not floating point.
  """
  net = tf.convert_to_tensor(net)
  if not net.dtype.is_floating:
    raise ValueError("clip_gradient does not support non-float `net` inputs.")

  with tf.name_scope(name, "clip_gradient", values=[net]):
    dtype = net.dtype.base_dtype
    min_tensor = tf.convert_to_tensor(clip_value_min, dtype=dtype)
    max_tensor = tf.convert_to_tensor(clip_value_max, dtype=dtype)
    if tf.executing_eagerly():
      # Graph functions (`Defun`) cannot be called eagerly; a custom gradient
      # gives the same values and gradients there.
      @tf.custom_gradient
      def _clip(x):
        def grad(dy):
          return tf.clip_by_value(dy, min_tensor, max_tensor)
        return tf.identity(x), grad
      return _clip(net)
    output = _clip_gradient_op(dtype)(net, min_tensor, max_tensor)
    output.set_shape(net.get_shape())
  return output
