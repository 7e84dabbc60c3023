"""Tests for sonnet.python.modules.basic_rnn."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


def _run(fetches, feed=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed)


def _vanilla_np(x, h, params, act=np.tanh):
  w_ih, b_ih, w_hh, b_hh = params
  return act(x @ w_ih + b_ih + h @ w_hh + b_hh)


def test_vanilla_rnn_variables_and_values():
  batch, in_size, hid = 3, 4, 5
  rng = np.random.RandomState(1)
  x_np = rng.randn(batch, in_size).astype(np.float32)
  h_np = rng.randn(batch, hid).astype(np.float32)
  with tf.Graph().as_default():
    core = snt.VanillaRNN(hid, initializers={
        "in_to_hidden": {"b": tf.random_normal_initializer()},
        "hidden_to_hidden": {"b": tf.random_normal_initializer()}})
    with pytest.raises(snt.NotConnectedError):
      _ = core.in_to_hidden_linear
    assert core.state_size == tf.TensorShape([hid])
    assert core.output_size == tf.TensorShape([hid])
    out, state = core(tf.constant(x_np), tf.constant(h_np))
    assert out is state
    names = {v.op.name: v.shape.as_list() for v in core.get_variables()}
    assert names == {"vanilla_rnn/in_to_hidden/w": [in_size, hid],
                     "vanilla_rnn/in_to_hidden/b": [hid],
                     "vanilla_rnn/hidden_to_hidden/w": [hid, hid],
                     "vanilla_rnn/hidden_to_hidden/b": [hid]}
    assert len(core.in_to_hidden_variables) == 2
    assert core.hidden_to_hidden_linear.output_size == hid
    params = (core.in_to_hidden_linear.w, core.in_to_hidden_linear.b,
              core.hidden_to_hidden_linear.w, core.hidden_to_hidden_linear.b)
    out_v, params_v = _run((out, params))
  np.testing.assert_allclose(out_v, _vanilla_np(x_np, h_np, params_v),
                             rtol=1e-5, atol=1e-5)


def test_vanilla_rnn_bad_keys_and_activation():
  with tf.Graph().as_default():
    with pytest.raises(KeyError):
      snt.VanillaRNN(3, initializers={"bad": {}})
    with pytest.raises(TypeError):
      snt.VanillaRNN(3, regularizers={"in_to_hidden": 3})
    bad_state = snt.VanillaRNN(3, name="bad_state")
    with pytest.raises(snt.IncompatibleShapeError, match="prev_state"):
      bad_state(tf.ones([2, 2]), tf.zeros([2, 4]))
    core = snt.VanillaRNN(3, activation=tf.nn.relu, regularizers={
        "in_to_hidden": {"w": tf.nn.l2_loss}})
    out, _ = core(tf.ones([2, 2]), core.initial_state(2))
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    assert (_run(out) >= 0).all()


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_deep_rnn_skip_connections_values(mode):
  t_len, batch, in_size = 3, 2, 4
  rng = np.random.RandomState(2)
  x_np = rng.randn(t_len, batch, in_size).astype(np.float32)
  with tf.Graph().as_default():
    cores = [snt.VanillaRNN(3, name="v1"), snt.VanillaRNN(5, name="v2")]
    deep = snt.DeepRNN(cores)
    assert deep.state_size == (tf.TensorShape([3]), tf.TensorShape([5]))
    assert deep.output_size == tf.TensorShape([8])
    x = tf.constant(x_np)
    state0 = deep.initial_state(batch)
    if mode == "dynamic":
      out, state = tf.nn.dynamic_rnn(deep, x, initial_state=state0,
                                     time_major=True)
    else:
      outs, state = tf.nn.static_rnn(deep, tf.unstack(x),
                                     initial_state=state0)
      out = tf.stack(outs)
    assert out.shape.as_list() == [t_len, batch, 8]
    p1 = [cores[0].in_to_hidden_linear.w, cores[0].in_to_hidden_linear.b,
          cores[0].hidden_to_hidden_linear.w, cores[0].hidden_to_hidden_linear.b]
    p2 = [cores[1].in_to_hidden_linear.w, cores[1].in_to_hidden_linear.b,
          cores[1].hidden_to_hidden_linear.w, cores[1].hidden_to_hidden_linear.b]
    assert p2[0].shape.as_list() == [in_size + 3, 5]
    out_v, state_v, p1_v, p2_v = _run((out, state, p1, p2))
  h1, h2 = np.zeros((batch, 3)), np.zeros((batch, 5))
  for t in range(t_len):
    h1 = _vanilla_np(x_np[t], h1, p1_v)
    h2 = _vanilla_np(np.concatenate([x_np[t], h1], -1), h2, p2_v)
    np.testing.assert_allclose(out_v[t], np.concatenate([h1, h2], -1),
                               rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v[1], h2, rtol=1e-5, atol=1e-5)


def test_deep_rnn_no_concat_and_feedforward_cores():
  with tf.Graph().as_default():
    deep = snt.DeepRNN([snt.VanillaRNN(3), snt.VanillaRNN(5)],
                       concat_final_output_if_skip=False)
    assert deep.output_size == tf.TensorShape([5])
    out, _ = deep(tf.ones([2, 4]), deep.initial_state(2))
    assert out.shape.as_list() == [2, 5]

  with tf.Graph().as_default():
    lin = snt.Linear(6)
    deep = snt.DeepRNN([snt.VanillaRNN(3), lin, tf.nn.relu, snt.VanillaRNN(4)],
                       skip_connections=False)
    assert deep.state_size == (tf.TensorShape([3]), tf.TensorShape([4]))
    assert deep.output_size == tf.TensorShape([4])
    out, state = tf.nn.dynamic_rnn(deep, tf.ones([2, 3, 4]), dtype=tf.float32,
                                   time_major=True)
    assert out.shape.as_list() == [2, 3, 4] and len(state) == 2
    assert lin.w.shape.as_list() == [3, 6]

  with tf.Graph().as_default():
    # Final op without output_size: recorded shape, else an earlier core's.
    deep = snt.DeepRNN([snt.VanillaRNN(3), tf.nn.relu], skip_connections=False)
    assert deep.output_size == tf.TensorShape([3])
    deep(tf.ones([2, 4]), deep.initial_state(2))
    assert deep.output_size == tf.TensorShape([3])
    assert deep.initial_state(2)[0].shape.as_list() == [2, 3]
    with pytest.raises(ValueError, match="output_size information"):
      _ = snt.DeepRNN([tf.nn.relu], skip_connections=False).output_size


class _KwargsCore(snt.RNNCore):

  def __init__(self, name="kwargs_core"):
    super(_KwargsCore, self).__init__(name=name)
    self.seen = []

  def _build(self, inputs, prev_state, is_training=None):
    self.seen.append(is_training)
    return inputs, prev_state

  @property
  def state_size(self):
    return tf.TensorShape([2])

  @property
  def output_size(self):
    return tf.TensorShape([2])


def test_deep_rnn_kwargs_forwarded_and_errors():
  with tf.Graph().as_default():
    c1, c2 = _KwargsCore(), _KwargsCore()
    deep = snt.DeepRNN([c1, c2], skip_connections=False)
    deep(tf.ones([1, 2]), deep.initial_state(1), is_training=True)
    assert c1.seen == [True] and c2.seen == [True]
    with pytest.raises(ValueError, match="iterable"):
      snt.DeepRNN(3)
    with pytest.raises(ValueError):
      snt.DeepRNN([snt.VanillaRNN(2), tf.nn.relu])  # skip needs RNNCores
    with pytest.raises(ValueError, match="one state per recurrent core"):
      deep(tf.ones([1, 2]), deep.initial_state(1)[:1])
    with pytest.raises(ValueError, match="number of initializers"):
      deep.initial_state(1, trainable=True, trainable_initializers=[None])


def test_deep_rnn_trainable_initial_state():
  with tf.Graph().as_default():
    deep = snt.DeepRNN([snt.VanillaRNN(3, name="a"), snt.VanillaRNN(2, name="b")])
    state = deep.initial_state(
        4, trainable=True,
        trainable_initializers=[tf.ones_initializer(),
                                tf.constant_initializer(2.)])
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == ["a_initial_state_0/w", "b_initial_state_0/w"]
    s_a, s_b = _run(state)
  np.testing.assert_allclose(s_a, np.ones((4, 3)))
  np.testing.assert_allclose(s_b, np.full((4, 2), 2.))


def test_deep_rnn_nested_state_cores():
  with tf.Graph().as_default():
    inner = snt.DeepRNN([snt.VanillaRNN(2)], name="inner")
    deep = snt.DeepRNN([inner, snt.VanillaRNN(3)], skip_connections=False)
    assert deep.state_size == ((tf.TensorShape([2]),), tf.TensorShape([3]))
    out, state = tf.nn.dynamic_rnn(deep, tf.ones([3, 5, 4]), dtype=tf.float32,
                                   time_major=True)
    assert state[0][0].shape.as_list() == [5, 2]
    assert out.shape.as_list() == [3, 5, 3]


class _Model(snt.AbstractModule):

  def __init__(self, name="model"):
    super(_Model, self).__init__(name=name)

  def _build(self, state):
    return state * 2.

  @property
  def output_size(self):
    return tf.TensorShape([3])


def test_model_rnn():
  with tf.Graph().as_default():
    core = snt.ModelRNN(_Model())
    assert core.state_size == core.output_size == tf.TensorShape([3])
    out, state = tf.nn.dynamic_rnn(
        core, tf.zeros([4, 2, 1]), initial_state=tf.ones([2, 3]),
        time_major=True)
    out_v, state_v = _run((out, state))
    outs, _ = tf.nn.static_rnn(core, [tf.zeros([2, 1])] * 2,
                               initial_state=tf.ones([2, 3]))
    assert outs[1].shape.as_list() == [2, 3]
  np.testing.assert_allclose(out_v[:, 0, 0], [2., 4., 8., 16.])
  np.testing.assert_allclose(state_v, np.full((2, 3), 16.))
  with tf.Graph().as_default():
    with pytest.raises(TypeError, match="callable"):
      snt.ModelRNN(3)
    with pytest.raises(TypeError, match="RNNCore"):
      snt.ModelRNN(snt.VanillaRNN(2))
    with pytest.raises(AttributeError, match="output_size"):
      snt.ModelRNN(tf.nn.relu)


def test_bidirectional_rnn():
  t_len, batch, in_size = 3, 2, 4
  rng = np.random.RandomState(3)
  x_np = rng.randn(t_len, batch, in_size).astype(np.float32)
  with tf.Graph().as_default():
    fw, bw = snt.VanillaRNN(3, name="fw"), snt.VanillaRNN(2, name="bw")
    bidir = snt.BidirectionalRNN(fw, bw)
    assert bidir.state_size == (tf.TensorShape([3]), tf.TensorShape([2]))
    assert bidir.output_size == (tf.TensorShape([3]), tf.TensorShape([2]))
    state = bidir.initial_state(batch)
    assert state[0].name.startswith("state_forward/")
    result = bidir(tf.constant(x_np), state)
    assert result["outputs"]["forward"].shape.as_list() == [t_len, batch, 3]
    assert result["state"]["backward"].shape.as_list() == [t_len, batch, 2]
    assert "bidir_rnn/forward_rnn/" in result["outputs"]["forward"].name
    p_f = [fw.in_to_hidden_linear.w, fw.in_to_hidden_linear.b,
           fw.hidden_to_hidden_linear.w, fw.hidden_to_hidden_linear.b]
    p_b = [bw.in_to_hidden_linear.w, bw.in_to_hidden_linear.b,
           bw.hidden_to_hidden_linear.w, bw.hidden_to_hidden_linear.b]
    res, pf, pb = _run((result, p_f, p_b))
  h = np.zeros((batch, 3))
  for t in range(t_len):
    h = _vanilla_np(x_np[t], h, pf)
    np.testing.assert_allclose(res["outputs"]["forward"][t], h, rtol=1e-5,
                               atol=1e-5)
  h = np.zeros((batch, 2))
  for i, t in enumerate(reversed(range(t_len))):
    h = _vanilla_np(x_np[t], h, pb)
    np.testing.assert_allclose(res["outputs"]["backward"][i], h, rtol=1e-5,
                               atol=1e-5)


def test_bidirectional_rnn_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError):
      snt.BidirectionalRNN(snt.VanillaRNN(2), snt.Linear(2))
    bidir = snt.BidirectionalRNN(snt.VanillaRNN(2), snt.VanillaRNN(2))
    x = tf.placeholder(tf.float32, [None, 2, 3])
    with pytest.raises(ValueError, match="statically"):
      bidir(x, bidir.initial_state(2))
