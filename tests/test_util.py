"""Tests of sonnet.python.modules.util."""

import functools
import os
from unittest import mock

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


@pytest.fixture
def graph():
  with tf.Graph().as_default() as g:
    yield g


class Dense(snt.AbstractModule):

  def __init__(self, output_size, name="dense", **kwargs):
    super().__init__(name=name, **kwargs)
    self._output_size = output_size

  def _build(self, inputs, is_training=True):
    w = tf.get_variable("w", [inputs.shape[1], self._output_size])
    b = tf.get_variable("b", [self._output_size],
                        initializer=tf.zeros_initializer())
    return tf.matmul(inputs, w) + b


def _x(n=3):
  return tf.placeholder(tf.float32, [None, n])


# --- scopes and collections ------------------------------------------------------


def test_get_variable_scope_name(graph):
  with tf.variable_scope("a") as scope:
    pass
  assert util.get_variable_scope_name(scope) == "a"
  assert util.get_variable_scope_name("b/c") == "b/c"
  mod = Dense(2)
  mod(_x())
  assert util.get_variable_scope_name(mod) == "dense"
  with pytest.raises(ValueError, match="Not a variable scope"):
    util.get_variable_scope_name(3)


def test_get_variables_in_scope_is_literal_and_componentwise(graph):
  with tf.variable_scope("a.b"):
    v1 = tf.get_variable("v", [1])
  with tf.variable_scope("axb"):
    tf.get_variable("v", [1])
  with tf.variable_scope("a.b_1"):
    tf.get_variable("v", [1])
  assert snt.get_variables_in_scope("a.b") == (v1,)
  assert len(snt.get_variables_in_scope("")) == 3
  assert snt.get_variables_in_scope(
      "a.b", tf.GraphKeys.LOCAL_VARIABLES) == ()


def test_get_variables_in_module(graph):
  mod = Dense(2)
  mod(_x())
  assert [v.op.name for v in snt.get_variables_in_module(mod)] == [
      "dense/w", "dense/b"]


@pytest.mark.parametrize("check,plural,singular", [
    (snt.check_initializers, "initializers", "Initializer"),
    (snt.check_partitioners, "partitioners", "Partitioner"),
    (snt.check_regularizers, "regularizers", "Regularizer"),
])
def test_check_functions(check, plural, singular):
  keys = {"w", "b"}
  assert check(None, keys) == {}
  given = {"w": tf.zeros_initializer(), "b": {"inner": tf.ones_initializer()}}
  assert check(given, keys) == given
  with pytest.raises(KeyError) as err:
    check({"x": tf.zeros_initializer()}, keys)
  message = str(err.value)
  assert "Invalid {} keys 'x'".format(singular.lower()) in message
  assert "{} can only be provided for 'b', 'w'".format(plural) in message
  with pytest.raises(TypeError, match="{} for 'w' is not a callable function"
                     .format(singular)):
    check({"w": 3}, keys)
  with pytest.raises(TypeError, match="is not a callable function"):
    check({"b": {"inner": 3}}, keys)
  with pytest.raises(TypeError, match="Expected a dict-like object"):
    check(tf.zeros_initializer(), keys)


def test_check_copies():
  given = {"w": tf.zeros_initializer()}
  assert snt.check_initializers(given, {"w"}) is not given
  assert snt.check_regularizers(given, {"w"}) is not given
  assert snt.check_partitioners(given, {"w"}) is given


def test_is_scope_prefix():
  for prefix in ("", "a", "a/", "a/b", "a/b/c"):
    assert util._is_scope_prefix("a/b/c", prefix)
  assert not util._is_scope_prefix("a/b/c", "b")
  assert not util._is_scope_prefix("ab/c", "a")


def test_custom_getter_router(graph):
  seen = []

  def record(tag):
    def getter(next_getter, name, *args, **kwargs):
      seen.append((tag, name))
      return next_getter(name, *args, **kwargs)
    return getter

  router = snt.custom_getter_router({"w": record("w"), "b": record("b")},
                                    name_fn=lambda name: name.split("/")[-1])
  with tf.variable_scope("s", custom_getter=router):
    tf.get_variable("w", [1])
    tf.get_variable("w_foo", [1])  # re.match anchors at the start only
    tf.get_variable("b", [1])
    tf.get_variable("c", [1])
  assert seen == [("w", "s/w"), ("w", "s/w_foo"), ("b", "s/b")]
  with pytest.raises(TypeError, match="Given custom_getter is not callable."):
    snt.custom_getter_router({"w": 1}, lambda n: n)
  both = snt.custom_getter_router({"w": record("a"), ".*": record("b")},
                                  name_fn=lambda name: name.split("/")[-1])
  with tf.variable_scope("t", custom_getter=both):
    with pytest.raises(KeyError, match="More than one custom_getter matched"):
      tf.get_variable("w", [1])


def test_get_normalized_variable_map(graph):
  with tf.variable_scope("prefix"):
    mod = Dense(2)
  mod(_x())
  var_map = snt.get_normalized_variable_map(mod)
  assert sorted(var_map) == ["b", "w"]
  assert var_map["w"].op.name == "prefix/dense/w"
  var_map = snt.get_normalized_variable_map(mod, context="prefix")
  assert sorted(var_map) == ["dense/b", "dense/w"]
  var_map = snt.get_normalized_variable_map(mod, context="")
  assert sorted(var_map) == ["prefix/dense/b", "prefix/dense/w"]
  with pytest.raises(ValueError, match="is not prefixed by"):
    snt.get_normalized_variable_map(mod, context="pre")


def test_get_normalized_variable_map_partitioned(graph):
  with tf.variable_scope("part", partitioner=tf.fixed_size_partitioner(3)):
    tf.get_variable("w", [6, 2])
  var_map = snt.get_normalized_variable_map("part")
  assert list(var_map) == ["w"]
  assert len(var_map["w"]) == 3
  assert [k for k, _ in snt.variable_map_items(var_map)] == ["w"] * 3
  flat = snt.get_normalized_variable_map("part", group_sliced_variables=False)
  assert sorted(flat) == ["w/part_0", "w/part_1", "w/part_2"]


def test_get_normalized_variable_map_mixing_slices(graph):
  with tf.variable_scope("mix"):
    with tf.variable_scope("x", partitioner=tf.fixed_size_partitioner(2)):
      tf.get_variable("w", [4])
    tf.Variable(0., name="x/w")  # same name as the partitioned variable
  with pytest.raises(ValueError, match="Mixing slices and non-slices"):
    snt.get_normalized_variable_map("mix")


def test_get_saver_restores_into_differently_named_module(tmp_path):
  path = os.path.join(str(tmp_path), "ckpt")
  with tf.Graph().as_default():
    mod = Dense(2, name="source")
    mod(_x())
    saver = snt.get_saver(mod)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      expected = sess.run(mod.get_variables())
      saver.save(sess, path)
  with tf.Graph().as_default():
    mod = Dense(2, name="target")
    mod(_x())
    saver = snt.get_saver(mod)
    with tf.Session() as sess:
      saver.restore(sess, path)
      for want, got in zip(expected, sess.run(mod.get_variables())):
        np.testing.assert_array_equal(want, got)


def test_has_variable_scope(graph):
  assert snt.has_variable_scope(Dense(2))
  assert not snt.has_variable_scope(object())


def test_variable_map_items():
  assert list(snt.variable_map_items({"a": 1, "b": [2, 3], "c": (4,)})) == [
      ("a", 1), ("b", 2), ("b", 3), ("c", 4)]


def test_format_variables(graph):
  with tf.variable_scope("m"):
    tf.get_variable("w", [3, 4])
    tf.get_variable("count", [], dtype=tf.int32, trainable=False)
  lines = snt.format_variables(tf.global_variables(), join_lines=False)
  lines = list(lines)
  assert lines[0].split() == ["Variable", "Shape", "Type", "Collections",
                              "Device"]
  # A scalar's shape column is empty.
  assert lines[1].split() == ["m/count", "int32", "global_variables",
                              "(resource)"]
  assert lines[2].split() == ["m/w", "3x4", "float32", "global_variables,",
                              "trainable_variables", "(resource)"]
  joined = snt.format_variables(tf.global_variables())
  assert joined == "\n".join(lines)


def test_format_variable_map(graph):
  with tf.device("/cpu:0"):
    with tf.variable_scope("m"):
      w = tf.get_variable("w", [2])
  text = snt.format_variable_map({"key": w})
  header, row = text.split("\n")
  assert header.split() == ["Key", "Variable", "Shape", "Type", "Collections",
                            "Device"]
  assert row.split()[:4] == ["key", "m/w", "2", "float32"]
  assert row.endswith("/device:CPU:0 (resource)")


def test_log_and_summarize_variables(graph):
  tf.get_variable("a", [10, 10])
  tf.get_variable("b", [5], dtype=tf.float64)
  with mock.patch.object(util.logging, "info") as info:
    snt.log_variables()
  assert info.call_count == 3  # header + 2 rows
  with mock.patch.object(util.logging, "info") as info:
    snt.summarize_variables()
  messages = [call[0][0] % call[0][1:] for call in info.call_args_list]
  assert messages == [
      "tf.float32: 1 variables comprising 100 scalars, 400 B",
      "tf.float64: 1 variables comprising 5 scalars, 40 B",
      "Total: 2 variables comprising 105 scalars, 440 B",
  ]


def test_count_variables_by_type(graph):
  tf.get_variable("a", [10, 10])
  tf.get_variable("c", [3])
  tf.get_variable("s", [2], dtype=tf.string, initializer=tf.zeros_initializer(),
                  trainable=False)
  with mock.patch.object(util.logging, "warning") as warning:
    counts = snt.count_variables_by_type()
  warning.assert_called_once()
  assert counts[tf.float32] == {"num_variables": 2, "num_scalars": 103}
  assert counts[tf.string] == {"num_variables": 1, "num_scalars": 2}


def test_num_bytes_to_human_readable():
  assert util._num_bytes_to_human_readable(1023) == "1023 B"
  assert util._num_bytes_to_human_readable(1024) == "1.000 KB"
  assert util._num_bytes_to_human_readable(3 * 2 ** 20 // 2) == "1.500 MB"
  assert util._num_bytes_to_human_readable(2 ** 31) == "2.000 GB"


def test_notify_about_new_variables(graph):
  seen = []
  with util.notify_about_new_variables(seen.append):
    a = tf.get_variable("a", [1])
    b = tf.Variable(1.0, name="b")
  tf.get_variable("c", [1])
  assert seen == [a, b]


def test_sort_by_name(graph):
  b = tf.get_variable("b", [1])
  a = tf.get_variable("a", [1])
  assert util.sort_by_name([b, a]) == (a, b)


def test_convert_gradient_to_tensor(graph):
  params = tf.get_variable("emb", [5, 2])
  looked_up = tf.gather(params, [1, 3])
  grad_sparse = tf.gradients(tf.reduce_sum(looked_up), params)[0]
  assert isinstance(grad_sparse, tf.IndexedSlices)
  dense = util.convert_gradient_to_tensor(params)
  grad = tf.gradients(tf.reduce_sum(tf.gather(dense, [1, 3])), params)[0]
  assert isinstance(grad, tf.Tensor)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(grad),
                               [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]])


# --- reuse_variables ------------------------------------------------------------


class ReuseModule(snt.AbstractModule):

  def __init__(self, name="multi_template_test"):
    super().__init__(name=name)

  @snt.reuse_variables
  def a(self):
    return tf.get_variable("a", [], initializer=tf.ones_initializer())

  @snt.reuse_variables
  def add_b(self, x):
    return x + tf.get_variable("b", [])

  @snt.reuse_variables
  def nested_add(self, x):
    return self.add_b(x) + self.a()

  def _build(self, x):
    return x + self.a()


def test_reuse_variables_shares_variables(graph):
  mod = ReuseModule()
  a1 = mod.a()
  a2 = mod.a()
  assert len(tf.global_variables()) == 1
  assert mod.is_connected
  assert [v.name for v in mod.variables] == ["multi_template_test/a_1:0"]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    assert sess.run([a1, a2]) == [1.0, 1.0]
  mod(tf.ones([]))
  assert len(tf.global_variables()) == 1


def test_reuse_variables_name_scopes(graph):
  mod = ReuseModule(name="scope1")
  out1 = mod.add_b(tf.ones([]))
  out2 = mod.add_b(tf.ones([]))
  assert out1.op.name == "scope1/add_b/add"
  assert out2.op.name == "scope1/add_b_1/add"
  with tf.name_scope("outer_scope"):
    out3 = mod.add_b(tf.ones([]))
  assert out3.op.name == "outer_scope/scope1/add_b/add"
  nested = mod.nested_add(tf.ones([]))
  assert nested.op.name.startswith("scope1/nested_add/")
  # Variables are created directly in the module scope.
  assert sorted(v.op.name for v in tf.global_variables()) == [
      "scope1/a", "scope1/b"]


def test_reuse_variables_connected_subgraphs(graph):
  mod = ReuseModule(name="scope1")
  x = tf.ones([])
  out = mod.add_b(x)
  subgraph = mod.last_connected_subgraph
  assert subgraph.name_scope == "scope1/add_b/"
  assert subgraph.inputs == {"x": x}
  assert subgraph.outputs is out
  mod.a()
  assert mod.last_connected_subgraph.inputs == {}


def test_reuse_variables_variable_op_name_side_effect(graph):
  # At top level the method's name scope "<scope>/a" is taken before the
  # variable "<scope>/a" is created, so its op name gets a suffix.
  mod = ReuseModule()
  mod.a()
  assert tf.global_variables()[0].name == "multi_template_test/a_1:0"


def test_reuse_variables_first_reached_from_build(graph):
  ReuseModule()  # takes the name multi_template_test
  mod = ReuseModule()
  mod(tf.ones([]))
  assert tf.global_variables()[0].name == "multi_template_test_1/a:0"


def test_reuse_variables_two_objects_same_scope_share(graph):
  with tf.variable_scope("shared"):
    pass

  class Plain:

    def __init__(self, scope):
      self.variable_scope = scope

    @snt.reuse_variables
    def get(self):
      return tf.get_variable("v", [1])

  with tf.variable_scope("shared") as scope:
    pass
  v1 = Plain(scope).get()
  v2 = Plain(scope).get()
  assert len(tf.global_variables()) == 1
  assert v1.name == v2.name


def test_reuse_variables_separate_graphs():
  for _ in range(2):
    with tf.Graph().as_default():
      mod = ReuseModule()
      mod.a()
      assert len(tf.global_variables()) == 1


def test_reuse_variables_each_method_owns_its_variables(graph):
  class Clash(snt.AbstractModule):

    def _build(self):
      pass

    @snt.reuse_variables
    def first(self):
      return tf.get_variable("v", [1])

    @snt.reuse_variables
    def second(self):
      return tf.get_variable("v", [1])

  mod = Clash(name="clash")
  mod.first()
  with pytest.raises(ValueError, match="already exists"):
    mod.second()


def test_reuse_variables_requires_method():
  with pytest.raises(TypeError, match="reuse_variables can only be used"):
    @snt.reuse_variables
    def not_a_method(x):  # pylint: disable=unused-variable
      return x


def test_reuse_variables_keeps_signature(graph):
  mod = ReuseModule()
  assert snt.supports_kwargs(mod.add_b, "x") == util.SUPPORTED
  assert snt.supports_kwargs(mod.add_b, "y") == util.NOT_SUPPORTED


def test_reuse_variables_with_property(graph):
  class WithProperty(snt.AbstractModule):

    def _build(self):
      pass

    @property
    @snt.reuse_variables
    def v(self):
      return tf.get_variable("v", [1])

  mod = WithProperty(name="prop")
  assert mod.v.name == mod.v.name
  assert len(tf.global_variables()) == 1


def test_reuse_variables_inheritance(graph):
  class Base(snt.AbstractModule):

    def _build(self):
      pass

    @snt.reuse_variables
    def v(self):
      return tf.get_variable("v", [1])

  class Child(Base):

    @snt.reuse_variables
    def v(self):
      return super().v() * 2

  mod = Child(name="child")
  first, second = mod.v(), mod.v()
  assert len(tf.global_variables()) == 1
  assert first.op.name.startswith("child/v/")
  assert second.op.name != first.op.name


def test_reuse_variables_plain_object_without_scope_in_eager():
  from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top

  class Plain:
    variable_scope = None

    @snt.reuse_variables
    def get(self):
      return 1

  with context.eager_mode():
    with pytest.raises(ValueError, match="not supported in eager mode"):
      Plain().get()


# --- names and signatures ---------------------------------------------------------


@pytest.mark.parametrize("camel,snake", [
    ("UpperCamelCase", "upper_camel_case"),
    ("lowerCamelCase", "lower_camel_case"),
    ("endsWithXYZ", "ends_with_xyz"),
    ("__private__", "private"),
    ("LSTMModule", "lstm_module"),
    ("version123p56vfxObject", "version_123p56vfx_object"),
    ("version123P56VFXObject", "version_123p56vfx_object"),
    ("versionVFX123P56Object", "version_vfx123p56_object"),
    ("versionVfx123P56Object", "version_vfx_123p56_object"),
    ("lstm1", "lstm_1"),
    ("LSTM1", "lstm1"),
    ("BatchNormV2", "batch_norm_v2"),
])
def test_to_snake_case(camel, snake):
  assert util.to_snake_case(camel) == snake


@pytest.mark.parametrize("bad", ["", "1abc", "a-b", "a b"])
def test_to_snake_case_rejects_non_identifiers(bad):
  with pytest.raises(ValueError, match="not a valid Python identifier"):
    util.to_snake_case(bad)


def test_name_for_callable():
  def some_function():
    pass

  class CallMe:

    def __call__(self):
      pass

  assert util.name_for_callable(some_function) == "some_function"
  assert util.name_for_callable(
      functools.partial(functools.partial(some_function))) == "some_function"
  assert util.name_for_callable(lambda: 0) is None
  assert util.name_for_callable(CallMe()) is None
  assert util.name_for_callable(tf.nn.relu) == "relu"


def test_supports_kwargs(graph):
  def f(a, b=1):
    return a, b

  def g(a, **kwargs):
    return a, kwargs

  assert snt.supports_kwargs(f, ["a", "b"]) == util.SUPPORTED
  assert snt.supports_kwargs(f, "c") == util.NOT_SUPPORTED
  assert snt.supports_kwargs(g, "c") == util.MAYBE_SUPPORTED
  assert snt.supports_kwargs(f, []) == util.SUPPORTED
  mod = Dense(2)
  assert snt.supports_kwargs(mod, "is_training") == util.SUPPORTED
  assert snt.supports_kwargs(mod, ["is_training", "x"]) == util.NOT_SUPPORTED
  with pytest.raises(ValueError, match="kwargs should be strings"):
    snt.supports_kwargs(f, [1])


def test_remove_unsupported_kwargs(graph):
  mod = Dense(2)
  assert snt.remove_unsupported_kwargs(
      mod, {"is_training": True, "blah": 1}) == {"is_training": True}
  assert snt.remove_unsupported_kwargs(mod, None) == {}

  def g(**kwargs):
    return kwargs

  assert snt.remove_unsupported_kwargs(g, {"x": 1}) == {"x": 1}
  with pytest.raises(ValueError, match="must be a dict"):
    snt.remove_unsupported_kwargs(mod, [("x", 1)])


def test_parse_string_to_constructor():
  for name in ("AbstractModule", "snt.AbstractModule",
               "sonnet.AbstractModule"):
    assert snt.parse_string_to_constructor(name) is snt.AbstractModule
  assert snt.parse_string_to_constructor(
      "sonnet.python.modules.base.Module") is snt.Module
  assert snt.parse_string_to_constructor("snt.custom_getters.Context") is (
      snt.custom_getters.Context)
  for bad in ("non_existent_thing", "snt.asdfadsf"):
    with pytest.raises(ValueError, match="could not find"):
      snt.parse_string_to_constructor(bad)


def test_deprecation_warning():
  with mock.patch.object(util.logging, "log_first_n") as log_first_n:
    snt.deprecation_warning("old stuff")
  log_first_n.assert_called_once_with(util.logging.WARN, "old stuff", 1)
