"""Tests for sonnet.python.modules.pondering_rnn (ACTCore)."""

import collections

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import pondering_rnn
import tensorflow.compat.v1 as tf


def _sigmoid(x):
  return 1. / (1. + np.exp(-x))


def _np_act_step(x, state, core_params, halt_params, out_params, threshold,
                 max_steps):
  """NumPy ACT for a VanillaRNN core (state == output)."""
  w_ih, b_ih, w_hh, b_hh = core_params
  batch = x.shape[0]
  cumul_h = np.zeros((batch, 1))
  iteration = np.zeros((batch, 1))
  remainder = np.zeros((batch, 1))
  cumul_out = np.zeros((batch, w_ih.shape[1]))
  cumul_state = np.zeros_like(state)
  flag = 0.
  while (cumul_h < 1).any():
    xin = np.concatenate([x, np.full((batch, 1), flag)], 1)
    flag = 1.
    iteration = np.where(cumul_h == 1, iteration, iteration + 1)
    state = np.tanh(xin @ w_ih + b_ih + state @ w_hh + b_hh)
    halting = _sigmoid(state @ halt_params[0] + halt_params[1])
    raw = cumul_h + halting
    over = raw > threshold
    if max_steps > 0:
      over = np.logical_or(over, iteration >= max_steps)
    new_h = np.where(over, 1., raw)
    remainder = np.where(over, remainder, 1 - raw)
    p = new_h - cumul_h
    cumul_h = new_h
    cumul_state = cumul_state + p * state
    cumul_out = cumul_out + p * state
  act_out = cumul_out @ out_params[0] + out_params[1]
  return act_out, iteration, remainder, cumul_state


def _build_and_check(threshold, max_steps, use_dynamic_rnn):
  batch, in_size, hid, out_size, t_len = 3, 2, 4, 5, 2
  rng = np.random.RandomState(4)
  x_np = rng.randn(t_len, batch, in_size).astype(np.float32)
  with tf.Graph().as_default():
    core = snt.VanillaRNN(hid)
    act = snt.ACTCore(core, out_size, threshold, lambda s: s,
                      max_steps=max_steps)
    assert act.output_size == (tf.TensorShape([out_size]),
                               (tf.TensorShape([1]), tf.TensorShape([1])))
    state0 = act.initial_state(batch)
    if use_dynamic_rnn:
      (out, (iters, rems)), state = tf.nn.dynamic_rnn(
          act, tf.constant(x_np), initial_state=state0, time_major=True)
    else:
      state, outs = state0, []
      for t in range(t_len):
        o, state = act(tf.constant(x_np[t]), state)
        outs.append(o)
      out, (iters, rems) = tf.nest.map_structure(lambda *a: tf.stack(a), *outs)
    assert act.batch_size == batch and act.dtype == tf.float32
    names = sorted(v.op.name for v in act.get_all_variables())
    assert names == ["act_core/act_output_linear/b",
                     "act_core/act_output_linear/w",
                     "act_core/halting_linear/b", "act_core/halting_linear/w",
                     "vanilla_rnn/hidden_to_hidden/b",
                     "vanilla_rnn/hidden_to_hidden/w",
                     "vanilla_rnn/in_to_hidden/b", "vanilla_rnn/in_to_hidden/w"]
    var = {v.op.name: v for v in act.get_all_variables()}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      # Bias the halting unit so several ponder steps happen.
      sess.run(var["act_core/halting_linear/b"].assign([-1.]))
      fetched = sess.run((out, iters, rems, state, var))
  out_v, iters_v, rems_v, state_v, p = fetched
  core_p = [p["vanilla_rnn/in_to_hidden/w"], p["vanilla_rnn/in_to_hidden/b"],
            p["vanilla_rnn/hidden_to_hidden/w"],
            p["vanilla_rnn/hidden_to_hidden/b"]]
  halt_p = [p["act_core/halting_linear/w"], p["act_core/halting_linear/b"]]
  out_p = [p["act_core/act_output_linear/w"], p["act_core/act_output_linear/b"]]
  s = np.zeros((batch, hid))
  for t in range(t_len):
    ref_out, ref_it, ref_rem, s = _np_act_step(x_np[t], s, core_p, halt_p,
                                               out_p, threshold, max_steps)
    np.testing.assert_allclose(out_v[t], ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(iters_v[t], ref_it)
    np.testing.assert_allclose(rems_v[t], ref_rem, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(state_v, s, rtol=1e-4, atol=1e-5)
  return iters_v


def test_act_core_matches_numpy_in_loop():
  iters = _build_and_check(0.99, 0, use_dynamic_rnn=False)
  assert iters.max() > 1  # really pondered


def test_act_core_max_steps_in_dynamic_rnn():
  iters = _build_and_check(0.999, 2, use_dynamic_rnn=True)
  assert iters.max() == 2


State = collections.namedtuple("State", ("h", "m"))


class _MatrixStateCore(snt.RNNCore):
  """State with a rank-3 leaf, to exercise broadcasting of the halting p."""

  def __init__(self, name="matrix_core"):
    super(_MatrixStateCore, self).__init__(name=name)

  def _build(self, inputs, prev_state):
    h = tf.tanh(snt.Linear(3)(inputs) + prev_state.h)
    m = prev_state.m + 1.
    return h, State(h, m)

  @property
  def state_size(self):
    return State(tf.TensorShape([3]), tf.TensorShape([2, 2]))

  @property
  def output_size(self):
    return tf.TensorShape([3])


def test_act_core_nested_state_static_rnn():
  with tf.Graph().as_default():
    act = snt.ACTCore(_MatrixStateCore(), 2, 0.9, lambda s: s.h)
    outs, state = tf.nn.static_rnn(act, tf.unstack(tf.ones([3, 4, 2])),
                                   initial_state=act.initial_state(4))
    assert isinstance(state, State)
    assert state.m.shape.as_list() == [4, 2, 2]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      m, (iters, rem) = sess.run((state.m, outs[-1][1]))
    # The m leaf counts steps; its weighted sum over ponder steps with
    # weights summing to 1 stays within [1, 3 * max ponder steps].
    assert (m >= 1).all()
    assert (rem >= 0).all() and (rem <= 1).all() and (iters >= 1).all()


def test_nested_helpers():
  with tf.Graph().as_default():
    a = {"x": tf.ones([2, 3]), "y": (tf.ones([2, 2, 2]),)}
    p = tf.constant([[2.], [3.]])
    prod = pondering_rnn._nested_unary_mul(a, p)  # pylint: disable=protected-access
    total = pondering_rnn._nested_add(prod, a)  # pylint: disable=protected-access
    zeros = pondering_rnn._nested_zeros_like(a)  # pylint: disable=protected-access
    with tf.Session() as sess:
      prod_v, total_v, zeros_v = sess.run((prod, total, zeros))
  np.testing.assert_allclose(prod_v["x"], [[2.] * 3, [3.] * 3])
  np.testing.assert_allclose(prod_v["y"][0][1], np.full((2, 2), 3.))
  np.testing.assert_allclose(total_v["y"][0][0], np.full((2, 2), 3.))
  assert not zeros_v["y"][0].any()


def test_act_core_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="single Tensor"):
      snt.ACTCore(_TupleOutCore(), 2, 0.5, lambda s: s)
    with pytest.raises(ValueError, match="1D"):
      snt.ACTCore(_MatrixOutCore(), 2, 0.5, lambda s: s)
    with pytest.raises(ValueError, match="Threshold"):
      snt.ACTCore(snt.VanillaRNN(2), 2, 1.5, lambda s: s)
    act = snt.ACTCore(snt.VanillaRNN(2), 2, 0.5, lambda s: s)
    with pytest.raises(snt.NotConnectedError):
      _ = act.batch_size
    with pytest.raises(ValueError, match="rank 2"):
      act(tf.ones([2, 3, 4]), tf.zeros([2, 2]))
    with pytest.raises(ValueError, match="batch size"):
      act(tf.placeholder(tf.float32, [None, 3]), tf.zeros([2, 2]))


class _TupleOutCore(snt.VanillaRNN):

  def __init__(self):
    super(_TupleOutCore, self).__init__(2, name="tuple_out")

  @property
  def output_size(self):
    return (tf.TensorShape([2]), tf.TensorShape([2]))


class _MatrixOutCore(snt.VanillaRNN):

  def __init__(self):
    super(_MatrixOutCore, self).__init__(2, name="matrix_out")

  @property
  def output_size(self):
    return tf.TensorShape([2, 2])
