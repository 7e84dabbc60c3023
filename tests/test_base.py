"""Tests of AbstractModule, Module, Transposable, observe_connections."""

import functools
import inspect
import pickle
from unittest import mock

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import base
import tensorflow.compat.v1 as tf


class Dense(snt.AbstractModule):
  """A tiny linear layer written against the base class only."""

  def __init__(self, output_size, name="dense", custom_getter=None):
    super().__init__(name=name, custom_getter=custom_getter)
    self._output_size = output_size

  def _build(self, inputs, scale=1.0):
    w = tf.get_variable("w", [inputs.shape[1], self._output_size],
                        initializer=tf.ones_initializer())
    b = tf.get_variable("b", [self._output_size],
                        initializer=tf.zeros_initializer())
    return scale * (tf.matmul(inputs, w) + b)


class NoInit(snt.AbstractModule):

  def __init__(self):  # pylint: disable=super-init-not-called
    pass

  def _build(self, x):
    return x


@pytest.fixture
def graph():
  with tf.Graph().as_default() as g:
    yield g


def _inputs(n=3):
  return tf.placeholder(tf.float32, [None, n])


def test_names_are_uniquified_at_construction(graph):
  a, b = Dense(2), Dense(2)
  assert (a.module_name, b.module_name) == ("dense", "dense_1")
  assert (a.scope_name, b.scope_name) == ("dense", "dense_1")
  with tf.variable_scope("outer"):
    c = Dense(2)
  assert c.scope_name == "outer/dense"
  assert c.module_name == "dense"


def test_default_name_is_snake_case_of_class(graph):
  class MyFancyModule(snt.AbstractModule):

    def _build(self, x):
      return x

  assert MyFancyModule().module_name == "my_fancy_module"


def test_name_must_be_string(graph):
  with pytest.raises(TypeError, match="Name must be a string"):
    Dense(2, name=3)


def test_positional_base_init_arguments_are_rejected(graph):
  class Positional(snt.AbstractModule):

    def __init__(self):
      super().__init__("positional")

    def _build(self, x):
      return x

  with pytest.raises(ValueError, match="without named arguments"):
    Positional()


def test_variables_are_shared_across_calls(graph):
  mod = Dense(4)
  y1 = mod(_inputs())
  y2 = mod(_inputs())
  assert [v.name for v in mod.variables] == ["dense/b:0", "dense/w:0"]
  assert len(tf.global_variables()) == 2
  assert y1.name == "dense/mul:0" and y2.name == "dense_1/mul:0"
  assert mod.name_scopes == ("dense", "dense_1")
  assert mod.is_connected


def test_name_scope_of_call_follows_current_name_scope(graph):
  mod = Dense(2)
  mod(_inputs())
  with tf.name_scope("blah"):
    mod(_inputs())
  assert mod.name_scopes == ("dense", "blah/dense")


def test_values(graph):
  mod = Dense(2)
  x = tf.constant([[1., 2., 3.]])
  y = mod(x, scale=2.0)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(y), [[12., 12.]])


def test_new_trainable_variable_on_second_call_raises(graph):
  class Growing(snt.AbstractModule):

    def __init__(self):
      super().__init__(name="growing")
      self._count = 0

    def _build(self, x):
      self._count += 1
      return x * tf.get_variable("v%d" % self._count, [])

  mod = Growing()
  mod(tf.ones([]))
  with pytest.raises(ValueError):
    mod(tf.ones([]))


def test_not_connected_errors(graph):
  mod = Dense(2)
  for attr in ("variable_scope", "variables", "trainable_variables",
               "non_trainable_variables", "last_connected_subgraph"):
    with pytest.raises(snt.NotConnectedError, match="not instantiated yet"):
      getattr(mod, attr)
  with pytest.raises(snt.NotConnectedError):
    mod.get_variables()
  with pytest.raises(snt.NotConnectedError):
    mod.get_all_variables()
  with pytest.raises(snt.NotConnectedError):
    snt.get_variables_in_module(mod)
  assert mod.graph is None
  assert not mod.is_connected
  assert mod.connected_subgraphs == ()


def test_base_init_not_called(graph):
  mod = NoInit()
  with pytest.raises(snt.NotInitializedError, match="forgotten to call super"):
    mod(tf.ones([]))
  with pytest.raises(snt.NotInitializedError):
    with mod._enter_variable_scope():
      pass


def test_different_graph_raises(graph):
  mod = Dense(2)
  mod(_inputs())
  assert mod.graph is graph
  with tf.Graph().as_default():
    with pytest.raises(snt.DifferentGraphError,
                       match="Cannot connect module to multiple Graphs"):
      mod(_inputs())


def test_get_variables_works_from_another_default_graph(graph):
  mod = Dense(2)
  mod(_inputs())
  with tf.Graph().as_default():
    assert [v.op.name for v in mod.get_variables()] == ["dense/w", "dense/b"]


def test_get_variables_collection_and_order(graph):
  class WithStats(snt.AbstractModule):

    def _build(self, x):
      w = tf.get_variable("w", [1])
      count = tf.get_variable("count", [], trainable=False,
                              initializer=tf.zeros_initializer())
      return x * w + count

  mod = WithStats(name="with_stats")
  mod(tf.ones([1]))
  assert [v.op.name for v in mod.get_variables()] == ["with_stats/w"]
  assert [v.op.name for v in mod.get_variables(tf.GraphKeys.GLOBAL_VARIABLES)
         ] == ["with_stats/w", "with_stats/count"]
  assert [v.op.name for v in mod.trainable_variables] == ["with_stats/w"]
  assert [v.op.name for v in mod.non_trainable_variables] == [
      "with_stats/count"]


def test_scope_prefix_does_not_leak_into_similar_names(graph):
  a = Dense(2, name="foo")
  b = Dense(2, name="foo_bar")
  a(_inputs())
  b(_inputs())
  assert [v.op.name for v in a.get_variables()] == ["foo/w", "foo/b"]


def test_submodules_built_in_build_nest_and_share(graph):
  class Parent(snt.AbstractModule):

    def _build(self, x):
      return Dense(3)(Dense(3)(x))

  parent = Parent(name="parent")
  parent(_inputs())
  parent(_inputs())
  names = sorted(v.op.name for v in parent.variables)
  assert names == ["parent/dense/b", "parent/dense/w", "parent/dense_1/b",
                   "parent/dense_1/w"]
  assert len(tf.global_variables()) == 4


def test_submodules_built_in_enter_variable_scope(graph):
  class Parent(snt.AbstractModule):

    def __init__(self):
      super().__init__(name="parent")
      with self._enter_variable_scope():
        self.inner = Dense(3)

    def _build(self, x):
      return self.inner(x)

  parent = Parent()
  assert parent.inner.scope_name == "parent/dense"
  assert parent.graph is graph  # fixed by _enter_variable_scope
  parent(_inputs())
  assert [v.op.name for v in parent.get_variables()] == [
      "parent/dense/w", "parent/dense/b"]


def test_externally_built_module_variables_are_reported(graph):
  external = Dense(3, name="external")

  class User(snt.AbstractModule):

    def _build(self, x):
      return external(x)

  user = User(name="user")
  user(_inputs())
  assert [v.op.name for v in user.variables] == ["external/b", "external/w"]
  assert [v.op.name for v in user.get_all_variables()] == [
      "external/b", "external/w"]
  assert user.get_variables() == ()  # only its own scope
  # Later connections keep reporting them.
  user2 = User(name="user2")
  user2(_inputs())
  assert len(user2.variables) == 2


def test_both_branches_of_cond_are_captured(graph):
  a, b = Dense(2, name="a"), Dense(2, name="b")

  class Switch(snt.AbstractModule):

    def _build(self, x, pred):
      return tf.cond(pred, lambda: a(x), lambda: b(x))

  switch = Switch(name="switch")
  switch(_inputs(), tf.placeholder(tf.bool, []))
  assert len(switch.variables) == 4


def test_variables_created_with_tf_variable_are_captured(graph):
  class Raw(snt.AbstractModule):

    def _build(self, x):
      self._v = tf.Variable(1.0, name="v")
      return x * self._v

  mod = Raw(name="raw")
  mod(tf.ones([]))
  assert [v.op.name for v in mod.variables] == ["raw/v"]


def test_get_all_variables_uses_collection(graph):
  mod = Dense(2)
  mod(_inputs())
  assert len(mod.get_all_variables(tf.GraphKeys.LOCAL_VARIABLES)) == 0
  assert len(mod.get_all_variables(tf.GraphKeys.GLOBAL_VARIABLES)) == 2


def test_connected_subgraphs_record_inputs_and_outputs(graph):
  mod = Dense(2)
  x = _inputs()
  y = mod(x, scale=3.0)
  subgraph = mod.last_connected_subgraph
  assert subgraph.module is mod
  assert subgraph.name_scope == "dense"
  assert subgraph.inputs == {"inputs": x, "scale": 3.0}
  assert subgraph.outputs is y
  assert mod.connected_subgraphs == (subgraph,)


def test_observe_connections_order(graph):
  class Parent(snt.AbstractModule):

    def _build(self, x):
      return Dense(2, name="second")(Dense(2, name="first")(x))

  seen = []
  parent = Parent(name="parent")
  with snt.observe_connections(seen.append):
    parent(_inputs())
  assert [s.module.module_name for s in seen] == ["first", "second", "parent"]
  parent(_inputs())
  assert len(seen) == 3  # the observer is gone after the block
  assert base.get_connection_stack() == []


def test_observe_connections_pops_on_error(graph):
  with pytest.raises(RuntimeError):
    with snt.observe_connections(lambda _: None):
      raise RuntimeError()
  assert base.get_connection_stack() == []


def test_module_stack_is_empty_after_error(graph):
  class Failing(snt.AbstractModule):

    def _build(self, x):
      raise RuntimeError("boom")

  with pytest.raises(RuntimeError):
    Failing()(tf.ones([]))
  assert base.get_module_stack() == []


def test_call_signature_matches_build(graph):
  mod = Dense(2)
  assert (inspect.getfullargspec(mod.__call__) ==
          inspect.getfullargspec(mod._build))
  assert list(inspect.signature(mod.__call__).parameters) == [
      "inputs", "scale"]
  assert mod.__call__.__doc__ == mod._build.__doc__


def test_pickling_is_not_supported(graph):
  with pytest.raises(snt.NotSupportedError):
    pickle.dumps(Dense(2))


def test_possible_initializer_keys(graph):
  class WithKeys(Dense):
    POSSIBLE_INITIALIZER_KEYS = {"w", "b"}

  assert WithKeys.get_possible_initializer_keys() == {"w", "b"}
  assert Dense.get_possible_initializer_keys() == set()


def test_custom_getter_callable(graph):
  mod = Dense(2, custom_getter=snt.custom_getters.non_trainable)
  mod(_inputs())
  assert mod.trainable_variables == ()
  assert len(mod.non_trainable_variables) == 2


def test_custom_getter_dict_routes_relative_names(graph):
  with tf.variable_scope("outer"):
    mod = Dense(2, custom_getter={"w": snt.custom_getters.non_trainable})
  mod(_inputs())
  assert [v.op.name for v in mod.trainable_variables] == ["outer/dense/b"]


def test_custom_getter_not_callable(graph):
  with pytest.raises(TypeError, match="not callable"):
    Dense(2, custom_getter=3)
  with pytest.raises(TypeError, match="not callable"):
    Dense(2, custom_getter={"w": 3})


def test_custom_getter_ambiguous_patterns(graph):
  getter = snt.custom_getters.non_trainable
  mod = Dense(2, custom_getter={"w": getter, ".*": getter})
  with pytest.raises(KeyError, match="More than one custom_getter matched"):
    mod(_inputs())


def test_custom_getter_of_enclosing_scope_applies_at_construction(graph):
  with tf.variable_scope("s", custom_getter=snt.custom_getters.non_trainable):
    inside = Dense(2)
  outside = Dense(2)
  with tf.variable_scope("s2", custom_getter=snt.custom_getters.non_trainable):
    inside(_inputs())
    outside(_inputs())
  assert inside.trainable_variables == ()
  assert len(outside.trainable_variables) == 2


def test_maybe_log(graph):
  mod = Dense(2)
  with mock.patch.object(tf.logging, "info") as info:
    mod._maybe_log("hello %d", 3)
    info.assert_not_called()
    mod._maybe_log("hello %d", 4, verbose=True)
    info.assert_called_once_with("%s: hello %d", "dense", 4)


def test_all_variables_compares_as_a_set(graph):
  mod = Dense(2)
  mod(_inputs())
  assert mod._all_variables == set(tf.global_variables())
  assert len(mod._all_variables) == 2


def test_module_wraps_function(graph):
  def make_model(x):
    return Dense(3)(x)

  mod = snt.Module(make_model)
  assert mod.module_name == "make_model"
  mod(_inputs())
  mod(_inputs())
  assert [v.op.name for v in mod.get_variables()] == [
      "make_model/dense/w", "make_model/dense/b"]
  relu = snt.Module(tf.nn.relu)
  seen = []
  x = _inputs()
  with snt.observe_connections(seen.append):
    relu(x)
  assert seen[0].inputs == {"args": (x,), "kwargs": {}}


def test_module_names(graph):
  def _make_model_with_params(inputs, output_size):
    return Dense(output_size)(inputs)

  mod = snt.Module(functools.partial(_make_model_with_params, output_size=10))
  assert mod.scope_name == "make_model_with_params"
  assert snt.Module(lambda x: x).module_name == "module"
  assert snt.Module(lambda x: x, name="custom").module_name == "custom"


def test_module_requires_callable(graph):
  with pytest.raises(TypeError, match="Input 'build' must be callable."):
    snt.Module(3)


def test_module_custom_getter_dict(graph):
  mod = snt.Module(lambda x: Dense(2)(x), name="m",
                   custom_getter={"dense/w": snt.custom_getters.non_trainable})
  mod(_inputs())
  assert [v.op.name for v in mod.trainable_variables] == ["m/dense/b"]


def test_transposable_is_abstract():
  with pytest.raises(TypeError):
    snt.Transposable()  # pylint: disable=abstract-class-instantiated

  class T(snt.Transposable):

    def transpose(self, name=None, **kwargs):
      return self

    @property
    def input_shape(self):
      return (1,)

  assert T().transpose().input_shape == (1,)


def test_errors_hierarchy_and_reexports():
  for cls in (snt.NotConnectedError, snt.ParentNotBuiltError,
              snt.IncompatibleShapeError, snt.UnderspecifiedError,
              snt.NotSupportedError, snt.NotInitializedError,
              snt.DifferentGraphError, snt.ModuleInfoError):
    assert issubclass(cls, snt.Error)
    assert getattr(base, cls.__name__) is cls
  assert issubclass(snt.Error, Exception)


def test_eager_mode_restrictions():
  # Eager execution is off for the suite; run the check in its own context.
  from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top
  with context.eager_mode():
    mod = Dense(2)
    out = mod(tf.ones([1, 3]))
    np.testing.assert_allclose(out.numpy(), [[3., 3.]])
    assert len(mod.variables) == 2
    with pytest.raises(snt.NotSupportedError):
      mod.connected_subgraphs  # pylint: disable=pointless-statement
    with pytest.raises(snt.NotSupportedError):
      mod.last_connected_subgraph  # pylint: disable=pointless-statement
    with pytest.raises(snt.NotSupportedError):
      mod.name_scopes  # pylint: disable=pointless-statement


def test_defun_is_idempotent(graph):
  mod = Dense(2)
  assert not mod.defun_wrapped
  mod.defun()
  first = mod._call
  mod.defun()
  assert mod.defun_wrapped and mod._call is first
