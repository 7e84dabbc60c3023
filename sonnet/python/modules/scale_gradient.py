"""`scale_gradient`: identity in the forward pass, scaled gradient backward."""

import tensorflow.compat.v1 as tf


def _is_tensor(value):
  return isinstance(value, (tf.Tensor, tf.Variable))


def scale_gradient(net, scale, name="scale_gradient"):
  """Returns `net` unchanged; its gradient is multiplied by `scale`.

  Args:
    net: floating-point tensor; when executing eagerly, a callable whose
      output's gradient is to be scaled.
    scale: number or scalar tensor. 0 gives `tf.stop_gradient(net)` and 1
      gives `tf.identity(net)` (Python numbers only).
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

    @tf.custom_gradient
    def _scale_gradient(x):
      def _grad(dy):
        return dy * scale_tensor
      return tf.identity(x), _grad

    output = _scale_gradient(net)
    output.set_shape(net.get_shape())
  return output
