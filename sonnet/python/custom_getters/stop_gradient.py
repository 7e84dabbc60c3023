"""Custom getter that stops gradients flowing into the variables it returns."""

import tensorflow.compat.v1 as tf


def stop_gradient(getter, *args, **kwargs):
  """Returns `tf.stop_gradient(variable)`.

  The variable stays in TRAINABLE_VARIABLES; gradients with respect to it
  through this use are None.
  """
  return tf.stop_gradient(getter(*args, **kwargs))
