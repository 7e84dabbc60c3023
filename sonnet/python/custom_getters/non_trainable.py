"""Custom getter that makes every variable it creates non-trainable."""


def non_trainable(getter, *args, **kwargs):
  """Creates the variable with `trainable=False`.

  Variables that already exist (reuse) are returned unchanged.
  """
  kwargs["trainable"] = False
  return getter(*args, **kwargs)
