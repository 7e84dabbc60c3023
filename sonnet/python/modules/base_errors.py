"""Sonnet's error classes: all derive from `Error`, itself an `Exception`."""


class Error(Exception):
  """Root of every Sonnet-specific error (problems with how a network is built)."""


class NotConnectedError(Error):
  """Something that needs a connected module was used before the first `__call__`."""


class ParentNotBuiltError(Error):
  """A transposed module was connected before the module it was derived from."""


class IncompatibleShapeError(Error):
  """The shape of an input is invalid for the module, or changed between connections."""


class UnderspecifiedError(Error):
  """There is not enough information to build the module (e.g. an unknown size)."""


class NotSupportedError(Error):
  """The requested feature or combination of options cannot be supported."""


class NotInitializedError(Error):
  """A module was used although `AbstractModule.__init__` was never called."""


class DifferentGraphError(Error):
  """A module was connected into a second `tf.Graph`."""


class ModuleInfoError(Error):
  """Serializing or deserializing a `ModuleInfo` protocol buffer failed."""
