"""A custom getter that is only active inside a `with` block."""

import tensorflow.compat.v1 as tf


class Context:
  """Applies `getter` to variables fetched while the context is entered.

      ctx = snt.custom_getters.Context(snt.custom_getters.stop_gradient)
      lin = snt.Linear(10, custom_getter=ctx)
      lin(x)        # normal variables
      with ctx:
        lin(x)      # gradients stopped for this connection only

  Re-entrant. Outside the context `default_getter` (if given) is used. The
  getter acts when variables are fetched, not on attributes already fixed
  when they were created.
  """

  def __init__(self, getter, verbose=False, default_getter=None):
    self._count = 0
    self._getter = getter
    self._verbose = verbose
    self._default_getter = default_getter

  def __call__(self, getter, name, *args, **kwargs):
    if self._count:
      if self._verbose:
        tf.logging.info("Context: Fetching variable %s with custom getter.",
                        name)
      return self._getter(getter, name, *args, **kwargs)
    if self._default_getter:
      if self._verbose:
        tf.logging.info("Context: Fetching variable %s with %s getter.", name,
                        "default")
      return self._default_getter(getter, name, *args, **kwargs)
    if self._verbose:
      tf.logging.info("Context: Fetching variable %s with %s getter.", name,
                      "normal")
    return getter(name, *args, **kwargs)

  def __enter__(self):
    self._count += 1

  def __exit__(self, exception_type, exception_value, traceback):
    self._count -= 1
