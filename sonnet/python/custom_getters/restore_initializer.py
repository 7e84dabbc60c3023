"""Custom getter that initializes variables from a checkpoint."""

import tensorflow.compat.v1 as tf
from sonnet.python.ops import initializers


def restore_initializer(filename, name_fn=None,
                        collection=tf.GraphKeys.GLOBAL_VARIABLES):
  """Returns a custom getter whose variables are initialized from `filename`.

  Args:
    filename: checkpoint path (prefix).
    name_fn: maps a variable's full name to its checkpoint key (default:
      the name itself).
    collection: only variables joining this collection are restored; None
      restores all.
  """
  def _restore_initializer(getter, name, *args, **kwargs):
    collections = kwargs.get("collections")
    if collections is None:
      collections = [tf.GraphKeys.GLOBAL_VARIABLES]
    else:
      collections = list(collections)
    if kwargs.get("trainable", True):
      collections.append(tf.GraphKeys.TRAINABLE_VARIABLES)
    if collection is None or collection in collections:
      ckpt_name = name_fn(name) if name_fn is not None else name
      tf.logging.info("Restoring '%s' from '%s' into variable '%s'",
                      ckpt_name, filename, name)
      kwargs["initializer"] = initializers.restore_initializer(
          filename, ckpt_name, scope="")
    return getter(name, *args, **kwargs)

  return _restore_initializer
