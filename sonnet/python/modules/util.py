"""Variable, scope and introspection utilities shared by every Sonnet module."""

import collections
import collections.abc
import contextlib
import functools
import importlib
import inspect
import re
import weakref

from absl import logging
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variable_scope as variable_scope_ops
from tensorflow.python.ops import variables as tf_variables

SUPPORTED = "supported"
NOT_SUPPORTED = "not_supported"
MAYBE_SUPPORTED = "maybe_supported"


# --- scopes and collections --------------------------------------------------


def get_variable_scope_name(value):
  """Returns the name of a variable scope, a scope name, or an object's scope.

  Args:
    value: a `tf.VariableScope`, a string, or anything with a `variable_scope`
      attribute (e.g. a Sonnet module).

  Raises:
    ValueError: if `value` is none of those.
  """
  value = getattr(value, "variable_scope", value)
  if isinstance(value, tf.VariableScope):
    return value.name
  if isinstance(value, str):
    return value
  raise ValueError("Not a variable scope: {}".format(value))


def get_variables_in_scope(scope, collection=tf.GraphKeys.TRAINABLE_VARIABLES):
  """Returns the variables of `collection` under `scope`, in collection order.

  `scope` is matched literally and component-wise: `"foo"` does not match
  `"foo_1/w"`, and `"a.b"` does not match `"axb/w"`.
  """
  scope_name = get_variable_scope_name(scope)
  if scope_name:
    scope_name = re.escape(scope_name) + "/"
  return tuple(tf.get_collection(collection, scope_name))


def get_variables_in_module(module,
                            collection=tf.GraphKeys.TRAINABLE_VARIABLES):
  """Returns `module.get_variables(collection)`; the module must be connected."""
  return module.get_variables(collection=collection)


def _check_nested_callables(dictionary, object_name):
  for key, entry in dictionary.items():
    if hasattr(entry, "items"):
      _check_nested_callables(entry, object_name)
    elif not callable(entry):
      raise TypeError(
          "{} for '{}' is not a callable function or dictionary".format(
              object_name, key))


def _check_keyed_callables(given, keys, plural, singular):
  """Validates an initializers/partitioners/regularizers dict against `keys`."""
  if not hasattr(given, "__getitem__"):
    raise TypeError(
        "Expected a dict-like object with possible keys %s, received %s" %
        (str(keys), str(given)))
  keys = set(keys)
  extra_keys = set(given) - keys
  if extra_keys:
    raise KeyError(
        "Invalid {} keys {}, {} can only be provided for {}".format(
            singular.lower(),
            ", ".join("'{}'".format(k) for k in sorted(extra_keys, key=str)),
            plural,
            ", ".join("'{}'".format(k) for k in sorted(keys, key=str))))
  _check_nested_callables(given, singular)


def check_initializers(initializers, keys):
  """Checks an initializers dict: known keys only, callable (or nested) values.

  Returns:
    A shallow copy of `initializers` as a dict (`{}` for None).

  Raises:
    TypeError: if `initializers` is not dict-like or a value is not callable.
    KeyError: if a key is not in `keys`.
  """
  if initializers is None:
    return {}
  _check_keyed_callables(initializers, keys, "initializers", "Initializer")
  return dict(initializers)


def check_partitioners(partitioners, keys):
  """As `check_initializers`, for partitioners; returns the object itself."""
  if partitioners is None:
    return {}
  _check_keyed_callables(partitioners, keys, "partitioners", "Partitioner")
  return partitioners


def check_regularizers(regularizers, keys):
  """As `check_initializers`, for regularizers; returns a dict copy."""
  if regularizers is None:
    return {}
  _check_keyed_callables(regularizers, keys, "regularizers", "Regularizer")
  return dict(regularizers)


def _is_scope_prefix(scope_name, prefix_name):
  """True if `prefix_name` is a whole-component prefix of `scope_name`."""
  if not prefix_name:
    return True
  if not scope_name.endswith("/"):
    scope_name += "/"
  if not prefix_name.endswith("/"):
    prefix_name += "/"
  return scope_name.startswith(prefix_name)


def custom_getter_router(custom_getter_map, name_fn):
  """Returns a custom getter that dispatches on variable names by regex.

  Args:
    custom_getter_map: dict mapping regex patterns (matched with `re.match`
      against `name_fn(variable_name)`) to custom getters.
    name_fn: maps a full variable name to the string the patterns see.

  Returns:
    A custom getter. It raises `KeyError` when more than one pattern matches.

  Raises:
    TypeError: if a value of `custom_getter_map` is not callable.
  """
  for custom_getter in custom_getter_map.values():
    if not callable(custom_getter):
      raise TypeError("Given custom_getter is not callable.")

  def _custom_getter(getter, name, *args, **kwargs):
    bare_name = name_fn(name)
    matches = [(pattern, custom_getter)
               for pattern, custom_getter in custom_getter_map.items()
               if re.match(pattern, bare_name) is not None]
    if not matches:
      return getter(name, *args, **kwargs)
    if len(matches) > 1:
      raise KeyError("More than one custom_getter matched {} ({}): {}".format(
          name, bare_name, [pattern for pattern, _ in matches]))
    return matches[0][1](getter, name, *args, **kwargs)

  return _custom_getter


def get_normalized_variable_map(scope_or_module,
                                collection=tf.GraphKeys.GLOBAL_VARIABLES,
                                context=None,
                                group_sliced_variables=True):
  """Maps names relative to `context` to the variables under `scope_or_module`.

  Partitioned variables (slices) are grouped under their full name as a list
  of parts when `group_sliced_variables` is True. The map can be passed to
  `tf.train.Saver` to restore into a module with another name or scope.

  Raises:
    ValueError: if `context`'s scope is not a prefix of the scope, or if a
      slice and a plain variable share a name.
  """
  scope_name = get_variable_scope_name(scope_or_module)
  if context is None:
    context = scope_or_module
  prefix = get_variable_scope_name(context)
  if not _is_scope_prefix(scope_name, prefix):
    raise ValueError("Scope '{}' is not prefixed by '{}'.".format(
        scope_name, prefix))
  prefix_length = len(prefix) + 1 if prefix else 0

  variables = get_variables_in_scope(scope_name, collection)
  if not group_sliced_variables:
    return {var.op.name[prefix_length:]: var for var in variables}

  var_map = {}
  sliced = collections.defaultdict(list)
  for var in variables:
    save_slice_info = getattr(var, "_save_slice_info", None)
    if save_slice_info is not None:
      sliced[save_slice_info.full_name[prefix_length:]].append(var)
    else:
      var_map[var.op.name[prefix_length:]] = var
  for name, parts in sliced.items():
    if name in var_map:
      raise ValueError(
          "Mixing slices and non-slices with the same name: {}".format(name))
    var_map[name] = parts
  return var_map


def get_saver(scope, collections=(tf.GraphKeys.GLOBAL_VARIABLES,),  # pylint: disable=redefined-outer-name
              context=None, **kwargs):
  """Returns a `tf.train.Saver` for the variables under `scope`.

  Checkpoint keys are the variable names relative to `context` (default:
  `scope`), so the checkpoint restores into a module of another name.
  `kwargs` are passed to `tf.train.Saver`.
  """
  variable_map = {}
  for collection in collections:
    variable_map.update(get_normalized_variable_map(scope, collection, context))
  return tf.train.Saver(var_list=variable_map, **kwargs)


def has_variable_scope(obj):
  """True if `obj` has a `variable_scope` attribute (e.g. any Sonnet module)."""
  return "variable_scope" in dir(obj)


# --- formatting and logging of variables -------------------------------------


def _format_table(rows, join_lines=True):
  column_widths = [max(len(str(row[i])) for row in rows)
                   for i in range(len(rows[0]))]
  lines = ("  ".join(str(cell).ljust(width)
                     for cell, width in zip(row, column_widths)).strip()
           for row in rows)
  return "\n".join(lines) if join_lines else lines


def variable_map_items(variable_map):
  """Yields `(key, variable)` pairs; list values (partitions) yield one per part."""
  for key, var_or_vars in variable_map.items():
    if isinstance(var_or_vars, (list, tuple)):
      for var in var_or_vars:
        yield key, var
    else:
      yield key, var_or_vars


def _get_vars_to_collections(variables):
  """Maps each variable to the names of the graph collections holding it."""
  var_to_collections = collections.defaultdict(list)
  if isinstance(variables, dict):
    variables = [v for _, v in variable_map_items(variables)]
  for graph in set(v.graph for v in variables):
    for collection_name in graph.get_all_collection_keys():
      entries = set(entry for entry in graph.get_collection(collection_name)
                    # The TF2 base class: resource variables are not
                    # instances of tf.compat.v1.Variable.
                    if isinstance(entry, tf_variables.Variable))
      if collection_name == tf.GraphKeys.GLOBAL_VARIABLES:
        collection_name = "global_variables"
      for var in entries.intersection(variables):
        var_to_collections[var].append(collection_name)
  return var_to_collections


def _format_device(var):
  """Returns the device and whether the variable is a legacy or resource one."""
  if var.dtype.name.endswith("_ref"):
    kind = "legacy"
  else:
    kind = "resource"
  if var.device:
    return "{} ({})".format(var.device, kind)
  return "({})".format(kind)


def _variable_row(var, var_to_collections):
  shape = ("x".join(str(dim) for dim in var.get_shape().as_list())
           if var.get_shape().is_fully_defined() else "undefined")
  dtype = repr(var.dtype.base_dtype).replace("tf.", "")
  coll = ", ".join(sorted(var_to_collections[var]))
  return (var.name.split(":")[0], shape, dtype, coll, _format_device(var))


def format_variables(variables, join_lines=True):
  """Formats variables as a table: name, shape, type, collections, device."""
  rows = [("Variable", "Shape", "Type", "Collections", "Device")]
  var_to_collections = _get_vars_to_collections(variables)
  for var in sorted(variables, key=lambda var: var.op.name):
    rows.append(_variable_row(var, var_to_collections))
  return _format_table(rows, join_lines)


def format_variable_map(variable_map, join_lines=True):
  """Formats a (normalized) variable map as a table, one row per variable."""
  rows = [("Key", "Variable", "Shape", "Type", "Collections", "Device")]
  var_to_collections = _get_vars_to_collections(variable_map)
  items = sorted(variable_map_items(variable_map),
                 key=lambda item: (item[0], item[1].name))
  for key, var in items:
    rows.append((key,) + _variable_row(var, var_to_collections))
  return _format_table(rows, join_lines)


def log_variables(variables=None):
  """Logs a table of `variables` (default: all global and local ones) at INFO."""
  if variables is None:
    variables = tf.global_variables() + tf.local_variables()
  for row in format_variables(variables, join_lines=False):
    logging.info(row)


def _num_bytes_to_human_readable(num_bytes):
  if num_bytes < (2 ** 10):
    return "%d B" % num_bytes
  elif num_bytes < (2 ** 20):
    return "%.3f KB" % (float(num_bytes) / (2 ** 10))
  elif num_bytes < (2 ** 30):
    return "%.3f MB" % (float(num_bytes) / (2 ** 20))
  else:
    return "%.3f GB" % (float(num_bytes) / (2 ** 30))


def count_variables_by_type(variables=None):
  """Returns `{dtype: {"num_variables": n, "num_scalars": m}}` for `variables`."""
  if variables is None:
    variables = tf.global_variables() + tf.local_variables()
  unique_types = set(v.dtype.base_dtype for v in variables)
  results_dict = {}
  for dtype in unique_types:
    if dtype == tf.string:
      logging.warning(
          "NB: string Variables present. The memory usage for these Variables "
          "will not be accurately computed as it depends on the exact strings "
          "stored in a particular session.")
    vars_of_type = [v for v in variables if v.dtype.base_dtype == dtype]
    num_scalars = sum(v.shape.num_elements() for v in vars_of_type)
    results_dict[dtype] = {
        "num_variables": len(vars_of_type),
        "num_scalars": num_scalars,
    }
  return results_dict


def summarize_variables(variables=None):
  """Logs, per dtype, how many variables and scalars there are and their size.

  A last line gives the totals over all dtypes.
  """
  variable_counts = count_variables_by_type(variables=variables)
  total_num_scalars = 0
  total_num_bytes = 0
  for dtype in sorted(variable_counts, key=lambda dtype: "%r" % dtype):
    var_info_for_type = variable_counts[dtype]
    num_bytes = var_info_for_type["num_scalars"] * dtype.size
    total_num_scalars += var_info_for_type["num_scalars"]
    total_num_bytes += num_bytes
    logging.info("%r: %d variables comprising %d scalars, %s", dtype,
                 var_info_for_type["num_variables"],
                 var_info_for_type["num_scalars"],
                 _num_bytes_to_human_readable(num_bytes))
  logging.info("Total: %d variables comprising %d scalars, %s",
               sum(c["num_variables"] for c in variable_counts.values()),
               total_num_scalars, _num_bytes_to_human_readable(total_num_bytes))


# --- variable creation hooks --------------------------------------------------


@contextlib.contextmanager
def notify_about_new_variables(callback):
  """Calls `callback(var)` for each variable created inside the context.

  Both `tf.Variable` and `tf.get_variable` are seen, in creation order.
  """
  def _tracking_creator(getter, **kwargs):
    var = getter(**kwargs)
    callback(var)
    return var

  with tf.variable_creator_scope(_tracking_creator):
    yield


def sort_by_name(variables):
  """Returns a tuple of `variables` sorted by name."""
  return tuple(sorted(variables, key=lambda v: v.name))


@tf.custom_gradient
def convert_gradient_to_tensor(x):
  """Identity whose gradient is made dense (`IndexedSlices` -> `Tensor`)."""
  def _grad(dy):
    return tf.convert_to_tensor(dy)
  return tf.identity(x), _grad


# --- reuse_variables -----------------------------------------------------------


def _getfullargspec(fn):
  return inspect.getfullargspec(fn)


def reuse_variables(method):
  """Decorator: the method shares its variables across calls.

  The decorated method runs in the variable scope of its object (a Sonnet
  module's own scope, or `obj.variable_scope`) with reuse set from the second
  call on, under a name scope `<scope>/<method_name>`. For Sonnet modules the
  call counts as a connection: it marks the module connected, records a
  `ConnectedSubGraph` and adds the variables to `module.variables`.

  Raises:
    TypeError: if `method`'s first parameter is not named `self`.
  """
  initialized_scopes_eager = set()
  initialized_scopes_graph = weakref.WeakKeyDictionary()

  arg_spec = _getfullargspec(method)
  if not (arg_spec.args and arg_spec.args[0] == "self"):
    raise TypeError("reuse_variables can only be used with methods.")

  method_name = to_snake_case(method.__name__)

  @functools.wraps(method)
  def wrapper(*args, **kwargs):
    obj = args[0]
    if tf.executing_eagerly() and not hasattr(obj, "_template"):
      raise ValueError(
          "reuse_variables is not supported in eager mode except in Sonnet "
          "modules.")

    def default_context_manager(reuse=None):
      return tf.variable_scope(obj.variable_scope, reuse=reuse)

    enter_scope = getattr(obj, "_enter_variable_scope", default_context_manager)
    with tf.init_scope():
      graph = tf.get_default_graph()
      eager = tf.executing_eagerly()
    if eager:
      initialized_scopes = initialized_scopes_eager
    else:
      initialized_scopes = initialized_scopes_graph.setdefault(graph, set())

    with enter_scope() as scope:
      variable_scope = scope
    reuse = variable_scope.name in initialized_scopes

    # Enter the variable scope without its name scope, then re-enter the
    # current name scope as an absolute one and open `<scope>/<method>` in it.
    with variable_scope_ops._pure_variable_scope(variable_scope, reuse=reuse):  # pylint: disable=protected-access
      current_name_scope = tf.get_default_graph().get_name_scope()
      if current_name_scope and not current_name_scope.endswith("/"):
        current_name_scope += "/"
      with tf.name_scope(current_name_scope or None):
        with tf.name_scope("{}/{}".format(variable_scope.name,
                                          method_name)) as name_scope:
          if hasattr(obj, "_capture_variables"):
            with obj._capture_variables():  # pylint: disable=protected-access
              outputs = method(*args, **kwargs)
          else:
            outputs = method(*args, **kwargs)
    initialized_scopes.add(variable_scope.name)

    try:
      obj._is_connected = True  # pylint: disable=protected-access
      if not tf.executing_eagerly():
        obj._add_connected_subgraph(  # pylint: disable=protected-access
            method, outputs, name_scope, args, kwargs)
    except AttributeError:
      pass
    return outputs

  # getfullargspec does not follow __wrapped__; give it the real signature.
  wrapper.__signature__ = inspect.signature(method)
  return wrapper


# --- names and signatures --------------------------------------------------------


def name_for_callable(func):
  """Returns a module name for a callable: snake case of its name, or None.

  `functools.partial` is unwrapped; lambdas and callable instances give None.
  """
  if isinstance(func, functools.partial):
    return name_for_callable(func.func)
  try:
    name = func.__name__
  except AttributeError:
    return None
  if name == "<lambda>":
    return None
  return to_snake_case(name)


def to_snake_case(camel_case):
  """Returns a CamelCase identifier as snake_case (`LSTMModule` -> `lstm_module`).

  Raises:
    ValueError: if `camel_case` is not a valid Python identifier.
  """
  if not re.match(r"^[A-Za-z_]\w*$", camel_case):
    raise ValueError(
        "Input string %s is not a valid Python identifier." % camel_case)
  underscored = re.sub(r"([A-Z][a-z])", r"_\1", camel_case)
  underscored = re.sub(r"([a-z])([A-Z])", r"\1_\2", underscored)
  underscored = re.sub(r"([a-z])([0-9][^_]*)", r"\1_\2", underscored)
  return underscored.strip("_").lower()


def supports_kwargs(module_or_fn, kwargs_list):
  """Says whether calling `module_or_fn` with these keyword arguments works.

  Returns:
    `SUPPORTED` if every name is a named parameter, `NOT_SUPPORTED` if one is
    not and there is no `**kwargs`, else `MAYBE_SUPPORTED`.

  Raises:
    ValueError: if a kwarg name is not a string.
  """
  if isinstance(kwargs_list, str):
    kwargs_list = [kwargs_list]
  if not (inspect.isfunction(module_or_fn) or inspect.ismethod(module_or_fn)):
    module_or_fn = module_or_fn.__call__
  arg_spec = _getfullargspec(module_or_fn)
  named_args = set(arg_spec.args) | set(arg_spec.kwonlyargs)
  takes_arbitrary_kwargs = arg_spec.varkw is not None
  for kwarg in kwargs_list:
    if not isinstance(kwarg, str):
      raise ValueError("kwargs should be strings, instead got {}".format(kwarg))
    if kwarg not in named_args:
      return MAYBE_SUPPORTED if takes_arbitrary_kwargs else NOT_SUPPORTED
  return SUPPORTED


def remove_unsupported_kwargs(module_or_fn, all_kwargs_dict):
  """Returns the entries of `all_kwargs_dict` that `module_or_fn` may accept.

  Raises:
    ValueError: if `all_kwargs_dict` is not a dict.
  """
  if all_kwargs_dict is None:
    all_kwargs_dict = {}
  if not isinstance(all_kwargs_dict, dict):
    raise ValueError("all_kwargs_dict must be a dict with string keys.")
  return {
      kwarg: value for kwarg, value in all_kwargs_dict.items()
      if supports_kwargs(module_or_fn, kwarg) != NOT_SUPPORTED
  }


def parse_string_to_constructor(ctor_string):
  """Resolves `"snt.nets.MLP"`, `"LayerNorm"`, `"sonnet.Linear"`... to the object.

  Raises:
    ValueError: if the name cannot be found.
  """
  orig_ctor_string = ctor_string
  if "." not in ctor_string:
    ctor_string = "sonnet." + ctor_string
  if ctor_string.startswith("snt."):
    ctor_string = "sonnet." + ctor_string[len("snt."):]
  package_name, rest = ctor_string.split(".", 1)
  package = importlib.import_module(package_name)
  try:
    return _recursive_getattr(package, rest)
  except AttributeError:
    raise ValueError("could not find `{}`, after normalizing to `{}`".format(
        orig_ctor_string, ctor_string))


def _recursive_getattr(module, path):
  if "." not in path:
    return getattr(module, path)
  first, rest = path.split(".", 1)
  return _recursive_getattr(getattr(module, first), rest)


def deprecation_warning(deprecation_message):
  """Logs `deprecation_message` as a warning, once per process."""
  logging.log_first_n(logging.WARN, deprecation_message, 1)
