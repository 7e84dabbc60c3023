"""Tests of module info: the "sonnet" collection and its meta-graph round trip."""

import collections
import os
import re

import pytest
import sonnet as snt
from sonnet.protos import module_pb2
from sonnet.python.modules import base_info
import tensorflow.compat.v1 as tf

Pair = collections.namedtuple("Pair", ("first", "second"))


class Structured(snt.AbstractModule):
  """Returns a nested structure built from its inputs."""

  def _build(self, x, extra):
    y = tf.identity(x, name="y")
    sparse = tf.SparseTensor(indices=[[0, 0]], values=[1.0], dense_shape=[2, 2])
    return {"pair": Pair(y, [y, (y, "string")]), "sparse": sparse,
            "none": None}


class Dense(snt.AbstractModule):

  def _build(self, x):
    return tf.matmul(x, tf.get_variable("w", [x.shape[1], 2]))


def test_collection_entries():
  with tf.Graph().as_default():
    mod = Dense(name="dense")
    assert tf.get_collection(snt.SONNET_COLLECTION_NAME) == []
    x = tf.placeholder(tf.float32, [None, 3])
    mod(x)
    mod(x)
    infos = tf.get_collection(snt.SONNET_COLLECTION_NAME)
    assert len(infos) == 1  # one entry per module, not per connection
    info = infos[0]
    assert info.module_name == "dense"
    assert info.scope_name == "dense"
    assert info.class_name == "test_base_info.Dense"
    assert info.connected_subgraphs is mod._connected_subgraphs
    assert len(info.connected_subgraphs) == 2


def test_class_name_of_library_module():
  with tf.Graph().as_default():
    snt.Module(tf.identity)(tf.ones([]))
    info, = tf.get_collection(snt.SONNET_COLLECTION_NAME)
    assert info.class_name == "sonnet.python.modules.base.Module"


def _export_and_import(build_fn, **import_kwargs):
  with tf.Graph().as_default():
    build_fn()
    meta_graph = tf.train.export_meta_graph()
  with tf.Graph().as_default() as graph:
    tf.train.import_meta_graph(meta_graph, **import_kwargs)
    return graph, tf.get_collection(snt.SONNET_COLLECTION_NAME)


def test_meta_graph_round_trip():
  def build():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    Structured(name="structured")(x, extra=3)

  graph, infos = _export_and_import(build)
  info, = infos
  assert info.module_name == "structured"
  assert info.scope_name == "structured"
  assert info.class_name == "test_base_info.Structured"
  subgraph, = info.connected_subgraphs
  assert subgraph.module is info
  assert subgraph.name_scope == "structured"
  assert subgraph.inputs["x"] is graph.get_tensor_by_name("x:0")
  assert isinstance(subgraph.inputs["extra"], base_info._UnserializableObject)
  outputs = subgraph.outputs
  y = graph.get_tensor_by_name("structured/y:0")
  assert type(outputs["pair"]).__name__ == "Pair"
  assert outputs["pair"].first is y
  assert outputs["pair"].second[0] is y
  assert isinstance(outputs["pair"].second[1], tuple)
  assert outputs["pair"].second[1][0] is y
  assert isinstance(outputs["pair"].second[1][1],
                    base_info._UnserializableObject)
  assert isinstance(outputs["sparse"], tf.SparseTensor)
  assert isinstance(outputs["none"], base_info._UnserializableObject)


def test_meta_graph_round_trip_with_import_scope():
  def build():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    Dense(name="dense")(x)

  graph, infos = _export_and_import(build, import_scope="imported")
  info, = infos
  assert info.scope_name == "imported/dense"
  subgraph, = info.connected_subgraphs
  assert subgraph.name_scope == "imported/dense"
  assert subgraph.inputs["x"] is graph.get_tensor_by_name("imported/x:0")


def test_missing_tensor_on_import():
  proto = module_pb2.SonnetModule(module_name="m", scope_name="m",
                                  class_name="c")
  subgraph = proto.connected_subgraphs.add(name_scope="m")
  subgraph.inputs.value = "nothing:0"
  subgraph.outputs.list.SetInParent()
  with tf.Graph().as_default():
    info = base_info._module_info_from_proto(proto)
  inputs = info.connected_subgraphs[0].inputs
  assert isinstance(inputs, base_info._MissingTensor)
  assert inputs.name == "nothing:0"
  assert info.connected_subgraphs[0].outputs == []


def test_cycles_are_broken():
  with tf.Graph().as_default():
    x = tf.ones([])
    cyclic = [x]
    cyclic.append(cyclic)
    proto = module_pb2.NestedData()
    base_info._nested_to_proto(cyclic, proto, lambda v: v.name, set())
    assert proto.list.list[1].value == ""


def test_is_iterable_and_namedtuple():
  assert base_info._is_iterable([]) and base_info._is_iterable(())
  assert base_info._is_iterable({}) and base_info._is_iterable(
      collections.OrderedDict())
  assert base_info._is_iterable(Pair(1, 2))
  for not_iterable in (set(), "str", 3, (i for i in range(2)), object()):
    assert not base_info._is_iterable(not_iterable)
  assert base_info._is_namedtuple(Pair(1, 2))
  assert not base_info._is_namedtuple((1, 2))


def test_errors():
  with pytest.raises(snt.ModuleInfoError):
    base_info._nested_to_proto([], "not a proto", str, set())
  with pytest.raises(snt.ModuleInfoError, match="no fields"):
    base_info._nested_from_proto(module_pb2.NestedData(), str)
  with pytest.raises(snt.ModuleInfoError):
    base_info._nested_from_proto("not a proto", str)


def test_safe_from_proto_logs_and_returns_none():
  proto = module_pb2.SonnetModule(module_name="m")
  proto.connected_subgraphs.add()  # inputs has no field set
  with tf.Graph().as_default():
    assert base_info._module_info_from_proto_safe(proto) is None


def test_bad_sparse_tensor_proto():
  proto = module_pb2.NestedData()
  proto.special_type.name = "SparseTensor"
  proto.special_type.object.named_tuple.name = "SparseTensor"
  proto.special_type.object.named_tuple.map["indices"].value = "a:0"
  with tf.Graph().as_default():
    with pytest.raises(snt.ModuleInfoError):
      base_info._nested_from_proto(proto, lambda name: name)


def test_unknown_special_type():
  proto = module_pb2.NestedData()
  proto.special_type.name = "Unknown"
  proto.special_type.object.value = "x"
  assert isinstance(base_info._nested_from_proto(proto, lambda n: n),
                    base_info._UnserializableObject)


def _descriptor_fields(message_descriptor):
  fields = {(f.name, f.number) for f in message_descriptor.fields}
  for nested in message_descriptor.nested_types:
    if not nested.GetOptions().map_entry:
      fields |= _descriptor_fields(nested)
  return fields


def test_proto_file_matches_generated_module():
  """module_pb2.py must be regenerated whenever module.proto changes."""
  proto_path = os.path.join(os.path.dirname(module_pb2.__file__),
                            "module.proto")
  with open(proto_path) as f:
    text = f.read()
  declared = {(name, int(number)) for name, number in
              re.findall(r"(\w+)\s*=\s*(\d+);", text)}
  generated = set()
  for message in module_pb2.DESCRIPTOR.message_types_by_name.values():
    generated |= _descriptor_fields(message)
  assert module_pb2.DESCRIPTOR.package == "sonnet"
  assert declared == generated
  assert ("special_type", 6) in generated and ("class_name", 4) in generated
