"""Tests for sonnet.python.modules.rnn_core."""

import collections
import inspect
import warnings

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import rnn_core
import tensorflow.compat.v1 as tf

State = collections.namedtuple("State", ("hidden", "extra"))


class NestedCore(snt.RNNCore):
  """h' = tanh(x W + h U); extra' = {"count": count + 1, "m": m * 2}."""

  def __init__(self, hidden_size, name="nested_core"):
    super(NestedCore, self).__init__(name=name)
    self._hidden_size = hidden_size

  def _build(self, inputs, prev_state):
    w = tf.get_variable("w", [inputs.shape[1], self._hidden_size])
    u = tf.get_variable("u", [self._hidden_size, self._hidden_size])
    h = tf.tanh(tf.matmul(inputs, w) + tf.matmul(prev_state.hidden, u))
    extra = {"count": prev_state.extra["count"] + 1.,
             "m": prev_state.extra["m"] * 2.}
    return h, State(hidden=h, extra=extra)

  @property
  def state_size(self):
    return State(hidden=tf.TensorShape([self._hidden_size]),
                 extra={"count": 1, "m": tf.TensorShape([2, 3])})

  @property
  def output_size(self):
    return tf.TensorShape([self._hidden_size])


def _np_unroll(x, w, u, h0, count0, m0):
  h, count, m = h0, count0, m0
  outs = []
  for t in range(x.shape[0]):
    h = np.tanh(x[t] @ w + h @ u)
    count, m = count + 1., m * 2.
    outs.append(h)
  return np.stack(outs), h, count, m


def _check_unroll(mode):
  t_len, batch, in_size, hid = 4, 3, 5, 6
  rng = np.random.RandomState(0)
  x_np = rng.randn(t_len, batch, in_size).astype(np.float32)
  with tf.Graph().as_default():
    core = NestedCore(hid)
    x = tf.constant(x_np)
    state0 = core.initial_state(batch)
    if mode == "dynamic":
      out, state = tf.nn.dynamic_rnn(core, x, initial_state=state0,
                                     time_major=True)
    elif mode == "static":
      outs, state = tf.nn.static_rnn(core, tf.unstack(x), initial_state=state0)
      out = tf.stack(outs)
    else:
      state, outs = state0, []
      for t in range(t_len):
        o, state = core(x[t], state)
        outs.append(o)
      out = tf.stack(outs)
    assert len(core.get_variables()) == 2  # shared over time steps
    assert isinstance(state, State)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w, u = sess.run(core.get_variables())
      out_v, state_v = sess.run((out, state))
  ref_out, ref_h, ref_c, ref_m = _np_unroll(
      x_np, w, u, np.zeros((batch, hid)), np.zeros((batch, 1)),
      np.zeros((batch, 2, 3)))
  np.testing.assert_allclose(out_v, ref_out, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v.hidden, ref_h, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v.extra["count"], np.full((batch, 1), 4.))
  np.testing.assert_allclose(state_v.extra["m"], ref_m)


@pytest.mark.parametrize("mode", ["dynamic", "static", "loop"])
def test_unroll_nested_state(mode):
  _check_unroll(mode)


def test_zero_state_shapes_and_scope():
  with tf.Graph().as_default():
    core = NestedCore(4)
    state = core.zero_state(7, tf.float64)
    assert state.hidden.shape.as_list() == [7, 4]
    assert state.extra["count"].shape.as_list() == [7, 1]
    assert state.extra["m"].shape.as_list() == [7, 2, 3]
    assert state.hidden.dtype == tf.float64
    assert state.hidden.name.startswith("NestedCoreZeroState/")
    batch = tf.placeholder(tf.int32, [])
    dyn = core.initial_state(batch)
    assert dyn.extra["m"].shape.as_list() == [None, 2, 3]
    assert dyn.hidden.name.startswith("nested_core_initial_state/")
    named = core.initial_state(2, name="foo")
    assert named.hidden.name.startswith("foo/")
    with tf.Session() as sess:
      v = sess.run(dyn, {batch: 5})
    assert v.extra["m"].shape == (5, 2, 3)
    assert not v.hidden.any()


def test_abstract_sizes():
  class Bare(snt.RNNCore):

    def _build(self, inputs, prev_state):
      return inputs, prev_state

  with tf.Graph().as_default():
    core = Bare()
    with pytest.raises(NotImplementedError, match="Abstract method"):
      _ = core.state_size
    with pytest.raises(NotImplementedError, match="Abstract method"):
      _ = core.output_size
    base_core = snt.RNNCore(name="dummy_core")
    with pytest.raises(NotImplementedError, match="Abstract method"):
      base_core(tf.ones([1, 2]), tf.ones([1, 2]))


def test_base_class_with_patched_state_size(monkeypatch):
  monkeypatch.setattr(snt.RNNCore, "state_size",
                      property(lambda self: (4, 5)), raising=True)
  with tf.Graph().as_default():
    core = snt.RNNCore(name="dummy_core")
    state = core.initial_state(
        6, trainable=True,
        trainable_initializers=(tf.constant_initializer(4.),
                                tf.constant_initializer(5.)))
    assert [v.op.name for v in tf.global_variables()] == [
        "dummy_core_initial_state_0/w", "dummy_core_initial_state_1/w"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      s0, s1 = sess.run(state)
  np.testing.assert_allclose(s0, np.full((6, 4), 4.))
  np.testing.assert_allclose(s1, np.full((6, 5), 5.))


def test_trainable_initial_state_names_values_and_gradients():
  with tf.Graph().as_default():
    core = NestedCore(4)
    inits = State(hidden=tf.constant_initializer(0.5),
                  extra={"count": tf.ones_initializer(),
                         "m": tf.constant_initializer(2.0)})
    regs = State(hidden=tf.nn.l2_loss,
                 extra={"count": tf.nn.l2_loss, "m": tf.nn.l2_loss})
    state = core.initial_state(3, trainable=True, trainable_initializers=inits,
                               trainable_regularizers=regs)
    names = sorted(v.op.name for v in tf.trainable_variables())
    # A namedtuple with more leaves than fields is numbered like a tuple.
    assert names == ["nested_core_initial_state_0/w",
                     "nested_core_initial_state_1/w",
                     "nested_core_initial_state_2/w"]
    shapes = {v.op.name: v.shape.as_list() for v in tf.trainable_variables()}
    assert shapes["nested_core_initial_state_0/w"] == [1, 4]
    assert shapes["nested_core_initial_state_2/w"] == [1, 2, 3]
    assert state.hidden.shape.as_list() == [3, 4]
    assert state.extra["m"].shape.as_list() == [3, 2, 3]
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 3
    grads = tf.gradients(tf.reduce_sum(state.hidden), tf.trainable_variables())
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      h, extra = sess.run((state.hidden, state.extra))
      np.testing.assert_allclose(h, np.full((3, 4), 0.5))
      np.testing.assert_allclose(extra["count"], np.ones((3, 1)))
      np.testing.assert_allclose(extra["m"], np.full((3, 2, 3), 2.0))
      np.testing.assert_allclose(sum(sess.run(losses)),
                                 0.5 * (4 * 0.25 + 1 + 6 * 4.))
      assert all(g is not None for g in grads[:1])


def test_trainable_initial_state_defaults_zero_and_tuple_suffixes():
  with tf.Graph().as_default():
    sizes = (tf.TensorShape([2]), 3)
    state = snt.trainable_initial_state(4, sizes, tf.float32)
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["initial_state_0/w", "initial_state_1/w"]
    assert state[1].name.startswith("state_1_tiled")
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      s0, s1 = sess.run(state)
    assert s0.shape == (4, 2) and s1.shape == (4, 3)
    assert not s0.any() and not s1.any()


def test_trainable_initial_state_namedtuple_field_suffixes():
  with tf.Graph().as_default():
    sizes = State(hidden=2, extra=tf.TensorShape([3]))
    state = snt.trainable_initial_state(
        5, sizes, tf.float32, name="init",
        initializers=State(tf.ones_initializer(), tf.zeros_initializer()))
    assert isinstance(state, State)
    assert [v.op.name for v in tf.global_variables()] == [
        "init_hidden/w", "init_extra/w"]
    assert state.hidden.op.name == "state_hidden_tiled"
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(state.hidden), np.ones((5, 2)))


def test_trainable_initial_state_errors():
  with tf.Graph().as_default():
    sizes = (2, 3)
    with pytest.raises(ValueError, match="initializers are callable"):
      snt.trainable_initial_state(1, sizes, tf.float32,
                                  initializers=(tf.zeros_initializer(), 3))
    with pytest.raises(ValueError, match="regularizers are callable"):
      snt.trainable_initial_state(1, sizes, tf.float32,
                                  regularizers=(tf.nn.l2_loss, "x"))
    with pytest.raises((ValueError, TypeError)):
      snt.trainable_initial_state(1, sizes, tf.float32,
                                  initializers=(tf.zeros_initializer(),))


def test_trainable_initial_state_in_dynamic_rnn_is_learned():
  with tf.Graph().as_default():
    core = NestedCore(3)
    x = tf.ones([2, 4, 5])
    state0 = core.initial_state(4, trainable=True)
    out, _ = tf.nn.dynamic_rnn(core, x, initial_state=state0, time_major=True)
    init_vars = [v for v in tf.trainable_variables()
                 if "initial_state" in v.op.name]
    assert len(init_vars) == 3
    grads = tf.gradients(tf.reduce_sum(out), init_vars)
    # Only the hidden part feeds the output.
    hidden_grad = [g for v, g in zip(init_vars, grads)
                   if v.op.name.endswith("_0/w")]
    assert hidden_grad[0] is not None


def test_trainable_initial_state_module_deprecated():
  with tf.Graph().as_default():
    init = (tf.constant([[1., 2.], [1., 2.]]), tf.constant([[3.], [3.]]))
    with warnings.catch_warnings(record=True) as caught:
      module = snt.TrainableInitialState(init, mask=(True, False))
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    learnable, fixed = module()
    assert [v.op.name for v in module.get_variables()] == [
        "trainable_initial_state/initial_state_0"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      a, b = sess.run((learnable, fixed))
    np.testing.assert_allclose(a, [[1., 2.], [1., 2.]])
    np.testing.assert_allclose(b, [[3.], [3.]])


def test_trainable_initial_state_module_errors():
  with tf.Graph().as_default():
    init = (tf.constant([[1.], [1.]]), tf.constant([[3.], [4.]]))
    with pytest.raises(TypeError, match="Mask should be None"):
      snt.TrainableInitialState(init, mask=(True, 1))
    fed = tf.placeholder(tf.float32, [2, 1])
    module = snt.TrainableInitialState((init[0], fed), mask=(False, False))
    out = module()
    with tf.Session() as sess:
      np.testing.assert_allclose(sess.run(out[1], {fed: [[2.], [2.]]}),
                                 [[2.], [2.]])
      with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(out[1], {fed: [[3.], [4.]]})


class _PlainCell(object):
  """A minimal RNNCell-like object: h' = h + x @ w."""

  def __init__(self, num_units, name=None):
    self._num_units = num_units
    self.name = name

  def __call__(self, inputs, state):
    w = tf.get_variable("cell_w", [inputs.shape[1], self._num_units],
                        initializer=tf.ones_initializer())
    out = state + tf.matmul(inputs, w)
    return out, out

  @property
  def state_size(self):
    return self._num_units

  @property
  def output_size(self):
    return self._num_units


def test_rnn_cell_wrapper():
  seen = []

  def getter(getter, name, *args, **kwargs):  # pylint: disable=redefined-outer-name
    seen.append(name)
    return getter(name, *args, **kwargs)

  with tf.Graph().as_default():
    core = snt.RNNCellWrapper(_PlainCell, 3, name="wrapped",
                              custom_getter=getter)
    assert core._cell.name == "wrapped"  # pylint: disable=protected-access
    assert core.state_size == 3 and core.output_size == 3
    x = tf.ones([2, 4, 2])
    out, _ = tf.nn.dynamic_rnn(core, x, initial_state=core.zero_state(
        4, tf.float32), time_major=True)
    assert [v.op.name for v in core.get_variables()] == ["wrapped/cell_w"]
    assert seen == ["wrapped/cell_w"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(out)[-1], np.full((4, 3), 4.))
  with tf.Graph().as_default():
    assert snt.RNNCellWrapper(_PlainCell, 3).module_name == "rnn_cell_wrapper"


def test_with_doc():

  def documented(a, b=2, c=None):
    """Original docs."""
    del a, b, c

  class Wrapped(object):

    @rnn_core.with_doc(documented)
    def __init__(self, *args, **kwargs):
      self.args = args
      self.kwargs = kwargs

  assert Wrapped.__init__.__doc__ == "Original docs."
  assert list(inspect.signature(Wrapped.__init__).parameters) == [
      "a", "b", "c"]
  w = Wrapped(1, c=3)
  assert w.args == (1,) and w.kwargs == {"c": 3}
