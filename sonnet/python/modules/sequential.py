"""`Sequential`: chains callables, feeding each one's output to the next."""

from sonnet.python.modules import base
import tensorflow.compat.v1 as tf


class Sequential(base.AbstractModule):
  """Applies a sequence of callables (modules or ops) one after the other.

  A layer that returns a tuple has it unpacked into the arguments of the next
  layer. The layers are built outside this module, so their variables live in
  their own scopes: use `variables` / `get_all_variables()`, not
  `get_variables()`.
  """

  def __init__(self, layers, name="sequential"):
    """Constructs a Sequential module.

    Args:
      layers: iterable of callables.
      name: module name.

    Raises:
      TypeError: if any layer is not callable.
    """
    super().__init__(name=name)
    self._layers = tuple(layers)
    not_callable = [(index, layer) for index, layer in enumerate(self._layers)
                    if not callable(layer)]
    if not_callable:
      raise TypeError("Items {} not callable with types: {}".format(
          ", ".join(str(index) for index, _ in not_callable),
          ", ".join(type(layer).__name__ for _, layer in not_callable)))

  def _build(self, *args):
    """Calls the layers in order on `args`.

    Returns:
      The last layer's output; with no layers, the single argument (or the
      tuple of arguments if there are several).
    """
    if not self._layers:
      return args[0] if len(args) == 1 else args
    net = args
    for layer in self._layers:
      if isinstance(net, tuple):
        net = layer(*net)
      else:
        net = layer(net)
    return net

  @property
  def layers(self):
    return self._layers

  def get_variables(self, *args, **kwargs):
    """Always empty here: use `get_all_variables()` or `variables` instead."""
    # The text is upstream's, word for word: code (and tests) match on it.
    tf.logging.warning(
        "Calling Sequential.get_variables, which will always return an empty "
        "tuple. get_variables() can only return variables created directly by "
        "a Module, or created by submodules directly created inside the "
        "Module. Sequential is constructed from already constructed submodules "
        "and so this will always be empty. See the documentation for more "
        "details, but tl;dr if you need to connect some modules sequentially "
        "and call get_variables on the result, writing a simple custom module "
        "is the simplest way. Another option is to call get_all_variables().")
    return super().get_variables(*args, **kwargs)
