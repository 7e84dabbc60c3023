"""The module system: `AbstractModule`, `Module`, `Transposable`.

A module owns a variable scope, created (and made unique) when the module is
constructed. Its `_build` method is wrapped with `tf.make_template`, so the
first call creates the variables and every later call reuses them. Each call
("connection") is recorded as a `ConnectedSubGraph`.
"""

import abc
import collections.abc
import contextlib
import inspect
import threading
import types

from sonnet.python.modules import base_info
from sonnet.python.modules import util
# Error classes are re-exported here, as upstream did, for old imports.
from sonnet.python.modules.base_errors import DifferentGraphError
from sonnet.python.modules.base_errors import Error
from sonnet.python.modules.base_errors import IncompatibleShapeError
from sonnet.python.modules.base_errors import ModuleInfoError
from sonnet.python.modules.base_errors import NotConnectedError
from sonnet.python.modules.base_errors import NotInitializedError
from sonnet.python.modules.base_errors import NotSupportedError
from sonnet.python.modules.base_errors import ParentNotBuiltError
from sonnet.python.modules.base_errors import UnderspecifiedError
import tensorflow.compat.v1 as tf

_LOCAL = threading.local()


def get_module_stack():
  """Returns this thread's stack of modules currently being connected."""
  if not hasattr(_LOCAL, "module_stack"):
    _LOCAL.module_stack = []
  return _LOCAL.module_stack


def get_connection_stack():
  """Returns this thread's stack of connection observers."""
  if not hasattr(_LOCAL, "connection_stack"):
    _LOCAL.connection_stack = []
  return _LOCAL.connection_stack


@contextlib.contextmanager
def observe_connections(observer):
  """Calls `observer(connected_subgraph)` for every module connected inside.

  Inner modules finish connecting first, so they are reported before the
  modules that contain them.
  """
  connection_stack = get_connection_stack()
  connection_stack.append(observer)
  try:
    yield
  finally:
    connection_stack.pop()


class _VariableSet(collections.abc.MutableSet):
  """A set of variables keyed by identity.

  Behaves like the `set` upstream used, but also holds TF2 variables under
  eager execution, where they are unhashable.
  """

  def __init__(self, variables=()):
    self._by_id = {}
    self.update(variables)

  def __contains__(self, variable):
    return id(variable) in self._by_id

  def __iter__(self):
    return iter(self._by_id.values())

  def __len__(self):
    return len(self._by_id)

  def __repr__(self):
    return "{{{}}}".format(", ".join(repr(v) for v in self))

  def add(self, variable):
    self._by_id[id(variable)] = variable

  def discard(self, variable):
    self._by_id.pop(id(variable), None)

  def update(self, variables):
    for variable in variables:
      self.add(variable)


def _build_signature(module):
  """The signature of `module._build` with `self` (as getfullargspec sees it)."""
  build = module._build  # pylint: disable=protected-access
  if inspect.ismethod(build):
    return inspect.signature(build.__func__, follow_wrapped=False)
  return inspect.signature(build, follow_wrapped=False)


class AbstractModule(metaclass=abc.ABCMeta):
  """Base class for Sonnet modules.

  Subclasses call `super().__init__(name=...)` first in their constructor and
  implement `_build(...)`, which adds ops to the graph and returns outputs.
  Calling the module calls `_build` inside the module's variable scope; the
  variables created on the first call are shared by all later calls.

  Raises (on use):
    NotInitializedError: the subclass did not call the base constructor.
    DifferentGraphError: the module is connected into a second graph.
    NotConnectedError: variables or scopes are asked for before a connection.
  """

  def __init__(self, _sentinel=None, custom_getter=None, name=None):  # pylint: disable=invalid-name
    """Creates the module's variable scope (unique in the current scope).

    Args:
      _sentinel: catches positional arguments; do not pass.
      custom_getter: a callable custom getter applied to every variable
        created in the module, or a dict mapping regexes (matched against the
        variable name relative to the module's scope) to custom getters.
      name: the module's name; defaults to the class name in snake case.

    Raises:
      ValueError: if arguments are passed positionally.
      TypeError: if `name` is not a string or `custom_getter` not callable.
    """
    if _sentinel is not None:
      raise ValueError("Calling AbstractModule.__init__ without named "
                       "arguments is not supported.")
    if name is None:
      name = util.to_snake_case(type(self).__name__)
    elif not isinstance(name, str):
      raise TypeError("Name must be a string, not {} of type {}.".format(
          name, type(name)))

    self._is_connected = False
    self._connected_subgraphs = []

    if isinstance(custom_getter, collections.abc.Mapping):
      self._custom_getter = util.custom_getter_router(
          custom_getter_map=custom_getter,
          name_fn=lambda full_name: full_name[len(self.scope_name) + 1:])
    elif custom_getter is not None and not callable(custom_getter):
      raise TypeError("Given custom_getter is not callable.")
    else:
      self._custom_getter = custom_getter

    self._template = tf.make_template(
        name, self._build_wrapper, create_scope_now_=True,
        custom_getter_=self._custom_getter)
    self._original_name = name
    self._unique_name = self._template.variable_scope.name.split("/")[-1]

    # `module(...)` goes through the class's `__call__`; this per-instance
    # `__call__` only advertises `_build`'s signature and docstring, so that
    # `inspect` and `util.supports_kwargs` see the real parameters.
    def __call__(instance, *args, **kwargs):  # pylint: disable=invalid-name
      return AbstractModule.__call__(instance, *args, **kwargs)
    __call__.__signature__ = _build_signature(self)
    __call__.__doc__ = self._build.__doc__
    self.__dict__["__call__"] = types.MethodType(__call__, self)
    self.__doc__ = self._build.__doc__

    self._graph = None
    self._all_variables = _VariableSet()
    self._defun_wrapped = False

  def _build_wrapper(self, *args, **kwargs):
    """Runs `_build` and returns its outputs with the name scope it ran in."""
    output = self._build(*args, **kwargs)
    with tf.name_scope("dummy") as scope_name:
      this_scope_name = scope_name[:-len("/dummy/")]
    return output, this_scope_name

  def _check_init_called(self):
    try:
      self._template  # pylint: disable=pointless-statement
    except AttributeError:
      raise NotInitializedError(
          "You may have forgotten to call super at the start of {}.__init__."
          .format(type(self).__name__))

  def _set_module_info(self):
    """Adds this module's `ModuleInfo` to the graph's "sonnet" collection."""
    module_info = base_info.ModuleInfo(
        module_name=self.module_name,
        scope_name=self.scope_name,
        class_name="{}.{}".format(type(self).__module__, type(self).__name__),
        connected_subgraphs=self._connected_subgraphs)
    self._graph.add_to_collection(base_info.SONNET_COLLECTION_NAME,
                                  module_info)

  def _check_same_graph(self):
    """Remembers the first graph used; raises if a later one differs."""
    with tf.init_scope():
      current_graph = tf.get_default_graph()
      eager = tf.executing_eagerly()
    if self._graph is None:
      self._graph = current_graph
      self._set_module_info()
    if not eager and self._graph is not current_graph:
      raise DifferentGraphError("Cannot connect module to multiple Graphs.")

  @abc.abstractmethod
  def _build(self, *args, **kwargs):
    """Adds the module's ops to the graph; called on every connection."""

  def __call__(self, *args, **kwargs):
    return self._call(*args, **kwargs)

  def _call(self, *args, **kwargs):
    """Connects the module: runs `_build` through the template and records it."""
    self._check_init_called()
    self._check_same_graph()
    with self._capture_variables():
      outputs, subgraph_name_scope = self._template(*args, **kwargs)
    self._is_connected = True
    if not tf.executing_eagerly():
      self._add_connected_subgraph(self._build, outputs, subgraph_name_scope,
                                   args, kwargs)
    return outputs

  def _add_connected_subgraph(self, call_method, outputs, subgraph_name_scope,
                              inputs_args, inputs_kwargs):
    """Records a connection and tells the active connection observers."""
    build_inputs = inspect.getcallargs(call_method, *inputs_args,
                                       **inputs_kwargs)
    # `self` is absent when `call_method` is bound, present when a decorator
    # (e.g. a memoizer) hands us the plain function.
    build_inputs.pop("self", None)
    connected_subgraph = base_info.ConnectedSubGraph(
        module=self, name_scope=subgraph_name_scope, inputs=build_inputs,
        outputs=outputs)
    self._connected_subgraphs.append(connected_subgraph)
    for observer in get_connection_stack():
      observer(connected_subgraph)

  @contextlib.contextmanager
  def _capture_variables(self):
    """Adds every variable created inside to this module's `variables`.

    On exit the variables also propagate to the module being built around
    this one (the enclosing `_build`), so containers report the variables of
    modules they use even when those live in other scopes.
    """
    module_stack = get_module_stack()
    module_stack.append(self)
    try:
      with contextlib.ExitStack() as stack:
        template_store = getattr(self._template, "_template_store", None)
        if template_store is not None:
          stack.enter_context(template_store.as_default())
        with util.notify_about_new_variables(self._all_variables.add):
          yield
      if self._original_name:
        self._all_variables.update(self._template.variables)
    finally:
      module_stack.pop()
    if module_stack:
      module_stack[-1]._all_variables.update(self._all_variables)  # pylint: disable=protected-access

  @contextlib.contextmanager
  def _enter_variable_scope(self, reuse=None, check_same_graph=True):
    """Enters the module's variable scope, e.g. to build submodules in `__init__`.

    Args:
      reuse: passed to `tf.variable_scope`.
      check_same_graph: if True, fixes (or checks) the module's graph.

    Yields:
      The module's `tf.VariableScope`.
    """
    self._check_init_called()
    if check_same_graph:
      self._check_same_graph()
    with self._capture_variables():
      with tf.variable_scope(self._template.variable_scope,
                             reuse=reuse) as vs:
        yield vs

  # --- properties --------------------------------------------------------------

  @property
  def variable_scope(self):
    """The module's `tf.VariableScope`; raises `NotConnectedError` before a call."""
    self._ensure_is_connected()
    return self._template.variable_scope

  @property
  def scope_name(self):
    """The full name of the module's variable scope (known at construction)."""
    self._check_init_called()
    return self._template.variable_scope.name

  @property
  def module_name(self):
    """The module's unique name: the last component of `scope_name`."""
    self._check_init_called()
    return self._unique_name

  @property
  def graph(self):
    """The graph the module is connected to, or None before that."""
    return self._graph

  @property
  def is_connected(self):
    """True once the module has been connected at least once."""
    return self._is_connected

  @property
  def connected_subgraphs(self):
    """Tuple of `ConnectedSubGraph`s, one per connection, oldest first."""
    if tf.executing_eagerly():
      raise NotSupportedError(
          "Connected sub-graphs are not tracked in eager mode.")
    self._check_init_called()
    return tuple(self._connected_subgraphs)

  @property
  def last_connected_subgraph(self):
    """The `ConnectedSubGraph` of the latest connection."""
    if tf.executing_eagerly():
      raise NotSupportedError(
          "Connected sub-graphs are not tracked in eager mode.")
    self._ensure_is_connected()
    return self._connected_subgraphs[-1]

  @property
  def name_scopes(self):
    """The name scope of each connection, oldest first."""
    if tf.executing_eagerly():
      raise NotSupportedError(
          "The name_scopes property is not supported in eager mode.")
    return tuple(subgraph.name_scope for subgraph in self._connected_subgraphs)

  @property
  def defun_wrapped(self):
    """True if `defun()` has been called on this module."""
    return self._defun_wrapped

  def defun(self):
    """Wraps the module's connections in a `tf.function` (idempotent)."""
    if not self._defun_wrapped:
      self._defun_wrapped = True
      self._call = tf.function(self._call)

  @property
  def variables(self):
    """Every variable the module created or used, sorted by name.

    Includes variables of modules used inside `_build` even if they live in
    other scopes. Does not rely on graph collections.
    """
    self._ensure_is_connected()
    return util.sort_by_name(self._all_variables)

  @property
  def trainable_variables(self):
    """The trainable subset of `variables`, sorted by name."""
    self._ensure_is_connected()
    return util.sort_by_name(v for v in self._all_variables if v.trainable)

  @property
  def non_trainable_variables(self):
    """The non-trainable subset of `variables`, sorted by name."""
    self._ensure_is_connected()
    return util.sort_by_name(v for v in self._all_variables if not v.trainable)

  def get_variables(self, collection=tf.GraphKeys.TRAINABLE_VARIABLES):
    """Variables of `collection` inside the module's scope, in creation order.

    Only the module's own scope is searched (not modules built elsewhere and
    used by this one; see `get_all_variables`).

    Raises:
      NotConnectedError: if the module has not been connected.
      NotSupportedError: if wrapped with `defun` and executing eagerly.
    """
    self._ensure_is_connected()
    if self._defun_wrapped and tf.executing_eagerly():
      raise NotSupportedError(
          "`module.get_variables()` relies on TensorFlow collections which "
          "are not supported when your module is wrapped with defun. Instead "
          "use `module.trainable_variables` or `module.variables`.")
    with self._graph.as_default():
      return util.get_variables_in_scope(self.variable_scope,
                                         collection=collection)

  def get_all_variables(self, collection=tf.GraphKeys.TRAINABLE_VARIABLES):
    """Variables the module created or used that are in `collection`, by name.

    Raises:
      NotConnectedError: if the module has not been connected.
    """
    self._ensure_is_connected()
    collection_variables = _VariableSet(tf.get_collection(collection))
    return util.sort_by_name(v for v in self._all_variables
                             if v in collection_variables)

  @classmethod
  def get_possible_initializer_keys(cls):
    """The keys this module accepts in its `initializers` argument."""
    return getattr(cls, "POSSIBLE_INITIALIZER_KEYS", set())

  def __getstate__(self):
    raise NotSupportedError(
        "Sonnet AbstractModule instances cannot be serialized. You should "
        "instead serialize all necessary configuration which will allow "
        "modules to be rebuilt.")

  def _ensure_is_connected(self):
    """Raises `NotConnectedError` if the module has not been connected."""
    self._check_init_called()
    if not self.is_connected:
      raise NotConnectedError(
          "Variables in {} not instantiated yet, __call__ the module "
          "first.".format(self.scope_name))

  def _maybe_log(self, fstr, *args, **kwargs):
    """Logs `fstr % args` prefixed by the scope name if `verbose=True` is given."""
    if kwargs.pop("verbose", False):
      tf.logging.info("%s: " + fstr, self.scope_name, *args, **kwargs)


class Transposable(metaclass=abc.ABCMeta):
  """Interface of modules that can build their transpose (e.g. Linear, Conv2D).

  Configuration only known once the original is connected (its input shape)
  is handed to the transpose as zero-argument callables, evaluated when the
  transpose is connected.
  """

  @abc.abstractmethod
  def transpose(self, name=None, **kwargs):
    """Returns a new module computing the transpose of this one's mapping."""

  @property
  @abc.abstractmethod
  def input_shape(self):
    """The input shape seen at the last connection."""


class Module(AbstractModule):
  """Makes a module out of a build function.

  `Module(build)(*args, **kwargs)` calls `build(*args, **kwargs)` inside the
  module's variable scope, sharing variables across calls:

      def make_mlp(x):
        return snt.Linear(10)(tf.nn.relu(snt.Linear(100)(x)))
      mlp = snt.Module(make_mlp, name="mlp")
      y1, y2 = mlp(x1), mlp(x2)  # same variables
  """

  def __init__(self, build, custom_getter=None, name=None):
    """Constructs a module from `build`.

    Args:
      build: the callable run on every connection.
      custom_getter: as for `AbstractModule`.
      name: defaults to the snake-case name of `build` (unwrapping
        `functools.partial`), or "module" for lambdas and callable objects.

    Raises:
      TypeError: if `build` is not callable.
    """
    if not callable(build):
      raise TypeError("Input 'build' must be callable.")
    if name is None:
      name = util.name_for_callable(build)
    self._build_function = build
    super().__init__(custom_getter=custom_getter, name=name)

  def _build(self, *args, **kwargs):
    """Calls the wrapped build function."""
    return self._build_function(*args, **kwargs)
