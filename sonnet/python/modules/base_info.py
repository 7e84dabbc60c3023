"""Module info: what each connection of a module recorded, kept in the graph.

Every module adds a `ModuleInfo` to the graph collection `"sonnet"` the first
time it learns its graph. The collection is registered with TensorFlow's
meta-graph machinery, so `tf.train.export_meta_graph` writes it as
`sonnet.SonnetModule` protocol buffers and `import_meta_graph` reads it back
(tensors re-resolved by name in the importing graph).
"""

import collections

from absl import logging
from sonnet.protos import module_pb2
from sonnet.python.modules import base_errors
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import ops

SONNET_COLLECTION_NAME = "sonnet"

ModuleInfo = collections.namedtuple(
    "ModuleInfo",
    ("module_name", "scope_name", "class_name", "connected_subgraphs"))

ConnectedSubGraph = collections.namedtuple(
    "ConnectedSubGraph", ("module", "name_scope", "inputs", "outputs"))

_SPARSE_TENSOR_NAME = "SparseTensor"
_SPARSE_TENSOR_FIELD = ("indices", "values", "dense_shape")


class _UnserializableObject:
  """Stands for a value that could not be serialized (not a tensor)."""


_MissingTensor = collections.namedtuple("_MissingTensor", ("name",))


def _is_namedtuple(obj):
  return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _is_iterable(obj):
  """Only lists, tuples and dicts are containers for serialization purposes."""
  return isinstance(obj, (list, tuple, dict))


# --- Python -> proto -----------------------------------------------------------


def _nested_to_proto(nested_value, nested_proto, process_leafs,
                     already_processed):
  """Fills `nested_proto` (a `NestedData`) from `nested_value`."""
  if not isinstance(nested_proto, module_pb2.NestedData):
    raise base_errors.ModuleInfoError("Expected module_pb2.NestedData.")

  if id(nested_value) in already_processed:
    nested_proto.value = ""
    return

  if isinstance(nested_value, tf.SparseTensor):
    already_processed.add(id(nested_value))
    nested_proto.special_type.name = _SPARSE_TENSOR_NAME
    named_tuple = nested_proto.special_type.object.named_tuple
    named_tuple.name = _SPARSE_TENSOR_NAME
    for field in _SPARSE_TENSOR_FIELD:
      named_tuple.map[field].value = process_leafs(getattr(nested_value, field))
    return

  if not _is_iterable(nested_value):
    nested_proto.value = process_leafs(nested_value)
    return

  already_processed.add(id(nested_value))
  if isinstance(nested_value, dict):
    # Sort keys so the serialized bytes do not depend on insertion order.
    for key, child in sorted(nested_value.items(), key=lambda kv: str(kv[0])):
      _nested_to_proto(child, nested_proto.dict.map[str(key)], process_leafs,
                       already_processed)
  elif _is_namedtuple(nested_value):
    nested_proto.named_tuple.name = type(nested_value).__name__
    for field in nested_value._fields:
      _nested_to_proto(getattr(nested_value, field),
                       nested_proto.named_tuple.map[field], process_leafs,
                       already_processed)
  elif isinstance(nested_value, tuple):
    nested_proto.tuple.SetInParent()
    for child in nested_value:
      _nested_to_proto(child, nested_proto.tuple.list.add(), process_leafs,
                       already_processed)
  else:
    nested_proto.list.SetInParent()
    for child in nested_value:
      _nested_to_proto(child, nested_proto.list.list.add(), process_leafs,
                       already_processed)


def _module_info_to_proto(module_info, export_scope=None):
  """Serializes a `ModuleInfo` into a `SonnetModule` protocol buffer."""
  def strip_name_scope(name_scope):
    return ops.strip_name_scope(name_scope, export_scope)

  def process_leafs(value):
    return strip_name_scope(value.name) if isinstance(value, tf.Tensor) else ""

  module_info_def = module_pb2.SonnetModule(
      module_name=module_info.module_name,
      scope_name=strip_name_scope(module_info.scope_name),
      class_name=module_info.class_name)
  for connected_subgraph in module_info.connected_subgraphs:
    connected_subgraph_info_def = module_info_def.connected_subgraphs.add()
    connected_subgraph_info_def.name_scope = strip_name_scope(
        connected_subgraph.name_scope)
    _nested_to_proto(connected_subgraph.inputs,
                     connected_subgraph_info_def.inputs, process_leafs, set())
    _nested_to_proto(connected_subgraph.outputs,
                     connected_subgraph_info_def.outputs, process_leafs, set())
  return module_info_def


# --- proto -> Python -------------------------------------------------------------


def _nested_from_proto(nested_proto, process_leafs):
  """Rebuilds a nested structure from a `NestedData` protocol buffer."""
  if not isinstance(nested_proto, module_pb2.NestedData):
    raise base_errors.ModuleInfoError("Expected module_pb2.NestedData.")

  kind = nested_proto.WhichOneof("one_of")
  if kind == "value":
    return process_leafs(nested_proto.value)
  if kind == "list":
    return [_nested_from_proto(child, process_leafs)
            for child in nested_proto.list.list]
  if kind == "tuple":
    return tuple(_nested_from_proto(child, process_leafs)
                 for child in nested_proto.tuple.list)
  if kind == "dict":
    return {name: _nested_from_proto(child, process_leafs)
            for name, child in nested_proto.dict.map.items()}
  if kind == "named_tuple":
    keys = sorted(nested_proto.named_tuple.map)
    values = {name: _nested_from_proto(nested_proto.named_tuple.map[name],
                                       process_leafs) for name in keys}
    tuple_type = collections.namedtuple(nested_proto.named_tuple.name, keys)
    return tuple_type(**values)
  if kind == "special_type":
    if nested_proto.special_type.name == _SPARSE_TENSOR_NAME:
      fields = _nested_from_proto(nested_proto.special_type.object,
                                  process_leafs)
      if not _is_namedtuple(fields) or (
          set(fields._fields) != set(_SPARSE_TENSOR_FIELD)):
        raise base_errors.ModuleInfoError(
            "Cannot deserialize a SparseTensor from {}.".format(fields))
      return tf.SparseTensor(indices=fields.indices, values=fields.values,
                             dense_shape=fields.dense_shape)
    return _UnserializableObject()
  raise base_errors.ModuleInfoError(
      "Cannot deserialize a `ModuleInfo` protobuf with no fields.")


def _module_info_from_proto(module_info_def, import_scope=None):
  """Deserializes a `SonnetModule` protocol buffer in the default graph."""
  graph = tf.get_default_graph()

  def prepend_name_scope(name_scope):
    return ops.prepend_name_scope(name_scope, import_scope)

  def process_leafs(name):
    if not name:
      return _UnserializableObject()
    name = prepend_name_scope(name)
    try:
      return graph.get_tensor_by_name(name)
    except (KeyError, ValueError):
      return _MissingTensor(name)

  connected_subgraphs = []
  module_info = ModuleInfo(
      module_name=module_info_def.module_name,
      scope_name=prepend_name_scope(module_info_def.scope_name),
      class_name=module_info_def.class_name,
      connected_subgraphs=connected_subgraphs)
  for connected_subgraph_def in module_info_def.connected_subgraphs:
    connected_subgraphs.append(ConnectedSubGraph(
        module=module_info,
        name_scope=prepend_name_scope(connected_subgraph_def.name_scope),
        inputs=_nested_from_proto(connected_subgraph_def.inputs, process_leafs),
        outputs=_nested_from_proto(connected_subgraph_def.outputs,
                                   process_leafs)))
  return module_info


def _module_info_from_proto_safe(module_info_def, import_scope=None):
  """As `_module_info_from_proto`, but logs a warning and returns None on error."""
  try:
    return _module_info_from_proto(module_info_def, import_scope)
  except Exception as e:  # pylint: disable=broad-except
    logging.warning("Error encountered when deserializing sonnet ModuleInfo:\n%s",
                    str(e))
    return None


ops.register_proto_function(
    SONNET_COLLECTION_NAME,
    proto_type=module_pb2.SonnetModule,
    to_proto=_module_info_to_proto,
    from_proto=_module_info_from_proto_safe)
