"""Custom getters that override the arguments of `tf.get_variable`."""


def override_args(**kwargs):
  """Returns a custom getter that forces the given keyword arguments.

  Example: `override_args(trainable=False)`.
  """
  override_kwargs = kwargs

  def custom_getter(getter, *args, **kwargs):
    kwargs.update(override_kwargs)
    return getter(*args, **kwargs)

  return custom_getter


def override_default_args(**kwargs):
  """Returns a custom getter that uses the given values as defaults.

  A given value replaces the caller's only where the caller passed None.
  """
  override_default_kwargs = kwargs

  def custom_getter(getter, *args, **kwargs):
    updated_kwargs = override_default_kwargs.copy()
    updated_kwargs.update({kw: value for kw, value in kwargs.items()
                           if value is not None})
    return getter(*args, **updated_kwargs)

  return custom_getter
