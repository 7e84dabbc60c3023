"""Tests for sonnet.python.modules.residual."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


def _run(fetches):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches)


def test_residual_module_nested_and_kwargs():
  seen = {}

  def base(inputs, scale=1.):
    seen["scale"] = scale
    return {"a": inputs["a"] * scale, "b": inputs["b"] * 0.}

  with tf.Graph().as_default():
    inputs = {"a": tf.constant([[1., 2.]]), "b": tf.constant([[3.]])}
    res = snt.Residual(base)
    assert res.module_name == "residual"
    out = res(inputs, scale=3.)
    assert seen["scale"] == 3.
    out_v = _run(out)
  np.testing.assert_allclose(out_v["a"], [[4., 8.]])
  np.testing.assert_allclose(out_v["b"], [[3.]])


def test_residual_core_values_in_dynamic_rnn():
  rng = np.random.RandomState(0)
  x_np = rng.randn(3, 2, 4).astype(np.float32)
  with tf.Graph().as_default():
    base = snt.VanillaRNN(4)
    core = snt.ResidualCore(base)
    assert core.module_name == "residual_core"
    assert core.state_size == core.output_size == tf.TensorShape([4])
    state0 = core.initial_state(2)
    assert state0.name.startswith("vanilla_rnn_initial_state")
    assert core.zero_state(2, tf.float32).shape.as_list() == [2, 4]
    out, state = tf.nn.dynamic_rnn(core, tf.constant(x_np),
                                   initial_state=state0, time_major=True)
    lin = (base.in_to_hidden_linear, base.hidden_to_hidden_linear)
    out_v, state_v, p = _run((out, state, [lin[0].w, lin[0].b, lin[1].w,
                                           lin[1].b]))
  h = np.zeros((2, 4))
  for t in range(3):
    h = np.tanh(x_np[t] @ p[0] + p[1] + h @ p[2] + p[3])
    np.testing.assert_allclose(out_v[t], x_np[t] + h, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v, h, rtol=1e-5, atol=1e-5)


def test_skip_connection_core():
  rng = np.random.RandomState(0)
  x_np = rng.randn(3, 2, 4).astype(np.float32)
  with tf.Graph().as_default():
    base = snt.VanillaRNN(5)
    core = snt.SkipConnectionCore(base)
    with pytest.raises(ValueError, match="input_shape"):
      _ = core.output_size
    assert core.state_size == tf.TensorShape([5])
    # The input shape is only known once connected (static_rnn would ask
    # for output_size first), so unroll in Python.
    state, outs = core.initial_state(2), []
    for x_t in tf.unstack(tf.constant(x_np)):
      out_t, state = core(x_t, state)
      outs.append(out_t)
    assert core.output_size == tf.TensorShape([9])
    lin = (base.in_to_hidden_linear, base.hidden_to_hidden_linear)
    outs_v, p = _run((outs, [lin[0].w, lin[0].b, lin[1].w, lin[1].b]))
  h = np.zeros((2, 5))
  for t in range(3):
    h = np.tanh(x_np[t] @ p[0] + p[1] + h @ p[2] + p[3])
    np.testing.assert_allclose(outs_v[t], np.concatenate([x_np[t], h], -1),
                               rtol=1e-5, atol=1e-5)
  with tf.Graph().as_default():
    core = snt.SkipConnectionCore(snt.VanillaRNN(5), input_shape=(7,))
    assert core.output_size == tf.TensorShape([12])
    out, _ = tf.nn.dynamic_rnn(core, tf.ones([2, 3, 7]), dtype=tf.float32,
                               time_major=True)
    assert out.shape.as_list() == [2, 3, 12]
    outs, _ = tf.nn.static_rnn(core, tf.unstack(tf.ones([2, 3, 7])),
                               dtype=tf.float32)
    assert outs[1].shape.as_list() == [3, 12]
