"""`clip_gradient`: identity in the forward pass, clipped gradient backward."""

import tensorflow.compat.v1 as tf


def clip_gradient(net, clip_value_min, clip_value_max, name=None):
  """Returns `net` unchanged; its gradient is clipped to [min, max].

  Args:
    net: floating-point tensor.
    clip_value_min: lower bound of the gradient (number or scalar tensor).
    clip_value_max: upper bound of the gradient.
    name: name scope (default "clip_gradient").

  Returns:
    A tensor equal to `net` whose gradient is
    `tf.clip_by_value(dy, clip_value_min, clip_value_max)`. The bounds get no
    gradient.

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

    @tf.custom_gradient
    def _clip_gradient(x):
      def _grad(dy):
        return tf.clip_by_value(dy, min_tensor, max_tensor)
      return tf.identity(x), _grad

    output = _clip_gradient(net)
    output.set_shape(net.get_shape())
  return output
