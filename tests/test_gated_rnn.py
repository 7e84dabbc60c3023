"""Tests for sonnet/python/modules/gated_rnn.py: LSTM and friends, GRU, highway.

Each core's step is checked against a NumPy implementation of its equations;
every core is run as the cell of dynamic_rnn, static_rnn and a Python loop.
"""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import gated_rnn
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables as variables_lib

B, I, H = 3, 4, 5


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict=feed_dict)


def rand(*shape, seed=0, scale=1.0):
  return (np.random.RandomState(seed).randn(*shape) * scale).astype(np.float32)


def names_and_shapes(variables):
  return {v.op.name: tuple(v.get_shape().as_list()) for v in variables}


# --- LSTM -----------------------------------------------------------------------


def np_lstm(x, h, c, w, b, forget_bias=1.0, wf=None, wi=None, wo=None,
            proj=None, hclip=None, cclip=None, ln=None):
  if hclip is not None:
    h = np.clip(h, -hclip, hclip)
  if cclip is not None:
    c = np.clip(c, -cclip, cclip)
  gates = np.concatenate([x, h], 1).dot(w)
  if ln is not None:
    gamma, beta = ln
    mean = gates.mean(1, keepdims=True)
    var = gates.var(1, keepdims=True)
    gates = (gates - mean) / np.sqrt(var + 1e-5) * gamma + beta
  gates = gates + b
  i, j, f, o = np.split(gates, 4, axis=1)
  if wf is not None:
    f = f + wf * c
    i = i + wi * c
  nc = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
  co = nc
  if wo is not None:
    co = co + wo * co
  nh = np.tanh(co) * sigmoid(o)
  if proj is not None:
    nh = nh.dot(proj)
  return nh, nc


@pytest.mark.parametrize("kwargs", [
    {},
    {"forget_bias": 0.3},
    {"use_peepholes": True},
    {"projection_size": 2},
    {"hidden_clip_value": 0.5, "cell_clip_value": 0.4},
    {"use_layer_norm": True},
    {"use_peepholes": True, "projection_size": 2, "use_layer_norm": True,
     "cell_clip_value": 0.7},
])
def test_lstm_step_matches_numpy(kwargs):
  with tf.Graph().as_default():
    lstm = snt.LSTM(H, **kwargs)
    hs = kwargs.get("projection_size", H)
    x, h, c = rand(B, I, seed=1), rand(B, hs, seed=2), rand(B, H, seed=3)
    out, state = lstm(tf.constant(x), snt.LSTMState(tf.constant(h),
                                                    tf.constant(c)))
    assert isinstance(state, snt.LSTMState)
    assert out.get_shape().as_list() == [B, hs]
    variables = {v.op.name.split("/", 1)[1]: v for v in lstm.get_variables()}
    # Make gamma/beta non-trivial so layer norm's affine part is exercised.
    extra = []
    if "layer_norm/gamma" in variables:
      extra = [variables["layer_norm/gamma"].assign(rand(4 * H, seed=7) + 1),
               variables["layer_norm/beta"].assign(rand(4 * H, seed=8))]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(extra)
      out_v, state_v, var_v = sess.run((out, state, variables))
  ref_h, ref_c = np_lstm(
      x, h, c, var_v["w_gates"], var_v["b_gates"],
      forget_bias=kwargs.get("forget_bias", 1.0),
      wf=var_v.get("w_f_diag"), wi=var_v.get("w_i_diag"),
      wo=var_v.get("w_o_diag"), proj=var_v.get("w_h_projection"),
      hclip=kwargs.get("hidden_clip_value"),
      cclip=kwargs.get("cell_clip_value"),
      ln=((var_v["layer_norm/gamma"], var_v["layer_norm/beta"])
          if "layer_norm/gamma" in var_v else None))
  np.testing.assert_allclose(out_v, ref_h, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v.hidden, ref_h, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v.cell, ref_c, rtol=1e-5, atol=1e-5)


def test_lstm_tensor_forget_bias_and_unknown_state_shapes():
  with tf.Graph().as_default():
    lstm = snt.LSTM(H, forget_bias=tf.constant(0.3))
    x, h, c = rand(B, I, seed=1), rand(B, H, seed=2), rand(B, H, seed=3)
    h_in = tf.placeholder(tf.float32)  # Unknown rank.
    c_in = tf.placeholder(tf.float32, [None, None])
    out, state = lstm(tf.constant(x), (h_in, c_in))
    grads = tf.gradients(out, [h_in, c_in] + list(lstm.get_variables()))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out_v, cell_v, w, b = sess.run(
          (out, state.cell) + lstm.get_variables(), {h_in: h, c_in: c})
      assert all(g is not None for g in sess.run(grads, {h_in: h, c_in: c}))
  ref_h, ref_c = np_lstm(x, h, c, w, b, forget_bias=0.3)
  np.testing.assert_allclose(out_v, ref_h, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(cell_v, ref_c, rtol=1e-5, atol=1e-5)


def test_cores_accept_numpy_inputs_and_states():
  x, h = rand(B, I, seed=1), rand(B, H, seed=2)
  with tf.Graph().as_default():
    lstm_out, _ = snt.LSTM(H)(x, (h, h))
    gru_out, _ = snt.GRU(H)(x, h)
    block_out, _ = snt.LSTMBlockCell(H)(x, (h, h))
    outs = run((lstm_out, gru_out, block_out))
  assert all(out.shape == (B, H) for out in outs)


def test_lstm_variables_and_sizes():
  with tf.Graph().as_default():
    lstm = snt.LSTM(H, use_peepholes=True, projection_size=2,
                    use_layer_norm=True)
    assert lstm.state_size == snt.LSTMState(tf.TensorShape([2]),
                                            tf.TensorShape([H]))
    assert lstm.output_size == tf.TensorShape([2])
    assert lstm.use_peepholes and lstm.use_layer_norm
    state = lstm.initial_state(B)
    lstm(tf.zeros([B, I]), state)
    assert names_and_shapes(lstm.get_variables()) == {
        "lstm/w_gates": (I + 2, 4 * H), "lstm/b_gates": (4 * H,),
        "lstm/w_h_projection": (H, 2), "lstm/w_f_diag": (H,),
        "lstm/w_i_diag": (H,), "lstm/w_o_diag": (H,),
        "lstm/layer_norm/gamma": (4 * H,), "lstm/layer_norm/beta": (4 * H,)}
    lstm(tf.zeros([B, I]), state)  # Reuses.
    assert len(lstm.get_variables()) == 8
    with pytest.raises(snt.NotConnectedError):
      snt.LSTM(H).get_variables()


def test_lstm_default_initializers():
  with tf.Graph().as_default():
    lstm = snt.LSTM(64)
    lstm(tf.zeros([1, 36]), lstm.initial_state(1))
    w, b = run(lstm.get_variables())
  std = 1 / np.sqrt(36 + 64)
  # Truncated normal(1/sqrt(fan_in)) for both; the bias is not zeros.
  assert np.abs(w).max() <= 2 * std and np.abs(b).max() <= 2 * std
  assert 0.6 * std < w.std() < 1.1 * std
  assert 0.6 * std < b.std() < 1.2 * std


def test_lstm_initializer_keys_and_errors():
  keys = snt.LSTM.get_possible_initializer_keys()
  assert keys == {"w_gates", "b_gates"}
  assert snt.LSTM.get_possible_initializer_keys(True, True) == {
      "w_gates", "b_gates", "w_f_diag", "w_i_diag", "w_o_diag",
      "w_h_projection"}
  with tf.Graph().as_default():
    assert snt.LSTM(H, projection_size=3).possible_keys == {
        "w_gates", "b_gates", "w_h_projection"}
    for arg in ("initializers", "partitioners", "regularizers"):
      with pytest.raises(KeyError):
        snt.LSTM(H, **{arg: {"w_f_diag": tf.zeros_initializer()}})
    with pytest.raises(TypeError):
      snt.LSTM(H, initializers={"w_gates": 3})
    with pytest.raises(ValueError, match="nonnegative"):
      snt.LSTM(H, hidden_clip_value=-1)
    with pytest.raises(ValueError, match="nonnegative"):
      snt.LSTM(H, cell_clip_value=-0.5)
    lstm = snt.LSTM(H)
    with pytest.raises(ValueError, match="Rank of shape must be 2"):
      lstm(tf.zeros([B, 2, I]), lstm.initial_state(B))
    with pytest.raises(ValueError, match="hidden state"):
      lstm(tf.zeros([B, I]), (tf.zeros([B, H + 1]), tf.zeros([B, H])))
    with pytest.raises(ValueError, match="pair"):
      lstm(tf.zeros([B, I]), (tf.zeros([B, H]),))


def test_lstm_initializers_partitioners_regularizers():
  with tf.Graph().as_default():
    lstm = snt.LSTM(
        H, use_peepholes=True,
        initializers={"w_gates": tf.constant_initializer(0.5),
                      "b_gates": tf.constant_initializer(-1.0),
                      "w_f_diag": tf.constant_initializer(2.0),
                      "w_o_diag": tf.zeros_initializer()},
        partitioners={"w_gates": tf.fixed_size_partitioner(2)},
        regularizers={"w_gates": tf.nn.l2_loss, "w_o_diag": tf.nn.l2_loss})
    out, _ = lstm(tf.ones([B, I]), lstm.initial_state(B))
    assert isinstance(lstm._w_xh, variables_lib.PartitionedVariable)  # pylint: disable=protected-access
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 3
    names = sorted(v.op.name for v in lstm.get_variables())
    assert "lstm/w_gates/part_0" in names and "lstm/w_gates/part_1" in names
    w, b, wf, out_v = run((tf.convert_to_tensor(lstm._w_xh), lstm._b,  # pylint: disable=protected-access
                           lstm._w_f_diag, out))  # pylint: disable=protected-access
  assert (w == 0.5).all() and (b == -1).all() and (wf == 2).all()
  gate = I * 0.5 - 1.0
  c = sigmoid(gate) * np.tanh(gate)
  np.testing.assert_allclose(out_v, np.tanh(c) * sigmoid(gate), rtol=1e-5)


def test_lstm_float64_and_trainable_initial_state():
  with tf.Graph().as_default():
    lstm = snt.LSTM(H, name="rnn")
    state = lstm.initial_state(B, dtype=tf.float64, trainable=True)
    out, _ = lstm(tf.zeros([B, I], tf.float64), state)
    assert out.dtype == tf.float64
    names = sorted(v.op.name for v in tf.trainable_variables())
    assert "rnn_initial_state_hidden/w" in names
    assert "rnn_initial_state_cell/w" in names


# --- running cores through dynamic_rnn / static_rnn / Python loop ----------------


def _make_cores():
  return {
      "lstm": lambda: snt.LSTM(H, use_peepholes=True),
      "gru": lambda: snt.GRU(H),
      "highway": lambda: snt.HighwayCore(H, num_layers=2),
      "lstm_block": lambda: snt.LSTMBlockCell(H, use_peephole=True),
      "zoneout_test": lambda: snt.lstm_with_zoneout(H)[1],
      "batch_norm_lstm": lambda: snt.BatchNormLSTM(
          H, use_batch_norm_x=True, use_batch_norm_c=True
      ).with_batch_norm_control(is_training=False, test_local_stats=True),
      "conv_1d_lstm": lambda: snt.Conv1DLSTM(
          input_shape=(6, I), output_channels=2, kernel_shape=3),
  }


@pytest.mark.parametrize("core_name", sorted(_make_cores()))
def test_core_in_dynamic_static_and_python_loop(core_name):
  steps = 3
  with tf.Graph().as_default():
    core = _make_cores()[core_name]()
    in_shape = [6, I] if core_name == "conv_1d_lstm" else [I]
    x = tf.constant(rand(steps, B, *in_shape, seed=4))
    init = core.initial_state(B)
    dyn_out, dyn_state = tf.nn.dynamic_rnn(core, x, initial_state=init,
                                           time_major=True)
    num_vars = len(tf.trainable_variables())
    static_out, static_state = tf.nn.static_rnn(core, tf.unstack(x),
                                                initial_state=init)
    state = init
    loop_out = []
    for t in range(steps):
      out, state = core(x[t], state)
      loop_out.append(out)
    assert len(tf.trainable_variables()) == num_vars  # Shared, not re-made.
    nest = tf.nest
    nest.assert_same_structure(dyn_state, state)
    res = run((dyn_out, tf.stack(static_out), tf.stack(loop_out),
               nest.flatten(dyn_state), nest.flatten(static_state),
               nest.flatten(state)))
  np.testing.assert_allclose(res[0], res[1], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(res[0], res[2], rtol=1e-5, atol=1e-6)
  for a, b, c in zip(res[3], res[4], res[5]):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
  assert np.abs(res[0]).max() > 1e-3


# --- recurrent dropout / zoneout ----------------------------------------------------


def test_recurrent_dropout_wrapper():
  keep = 0.5
  with tf.Graph().as_default():
    train_core, test_core = snt.lstm_with_recurrent_dropout(H, keep_prob=keep)
    assert isinstance(train_core, gated_rnn.RecurrentDropoutWrapper)
    assert train_core.module_name == "lstm_recdropout"
    assert train_core.state_size == (test_core.state_size,
                                     [tf.TensorShape([H])])
    assert train_core.output_size == test_core.output_size
    init = train_core.initial_state(20)
    core_state, masks = init
    assert len(masks) == 1
    x = tf.constant(rand(20, I))
    out, (next_core, next_masks) = train_core(x, init)
    ref_out, ref_state = test_core(x, core_state)
    assert len(tf.trainable_variables()) == 2
    out_v, next_v, mask_v, ref_out_v, ref_v = run(
        (out, next_core, next_masks[0], ref_out, ref_state))
  assert set(np.unique(mask_v)) <= {0.0, 1 / keep}
  assert 0 < (mask_v == 0).mean() < 1
  np.testing.assert_allclose(out_v, ref_out_v, rtol=1e-6)
  np.testing.assert_allclose(next_v.hidden, ref_v.hidden * mask_v, rtol=1e-6)
  np.testing.assert_allclose(next_v.cell, ref_v.cell, rtol=1e-6)


def test_recurrent_dropout_mask_fixed_over_time_in_dynamic_rnn():
  with tf.Graph().as_default():
    train_core, _ = snt.highway_core_with_recurrent_dropout(H, 1, 0.5)
    assert train_core.state_size == (tf.TensorShape([H]),
                                     [tf.TensorShape([H])])
    init = train_core.initial_state(B)
    _, (_, masks) = tf.nn.dynamic_rnn(
        train_core, tf.constant(rand(B, 4, I)), initial_state=init)
    m0, m1 = run((init[1][0], masks[0]))
  np.testing.assert_array_equal(m0, m1)


def test_zoneout():
  keep_h, keep_c = 0.7, 0.4
  with tf.Graph().as_default():
    train_core, test_core = snt.lstm_with_zoneout(H, keep_prob_c=keep_c,
                                                  keep_prob_h=keep_h)
    assert train_core.module_name == "lstm_zoneout"
    assert test_core.module_name == "lstm_zoneout_1"
    assert train_core.state_size == snt.LSTMState(tf.TensorShape([H]),
                                                  tf.TensorShape([H]))
    lstm = train_core._core  # pylint: disable=protected-access
    x = tf.constant(rand(50, I))
    prev = snt.LSTMState(tf.constant(rand(50, H, seed=5)),
                         tf.constant(rand(50, H, seed=6)))
    _, train_state = train_core(x, prev)
    _, test_state = test_core(x, prev)
    _, plain_state = lstm(x, prev)
    assert len(tf.trainable_variables()) == 2
    train_v, test_v, plain_v, prev_v = run(
        (train_state, test_state, plain_state, prev))
  for field, keep in (("hidden", keep_h), ("cell", keep_c)):
    new, old = getattr(plain_v, field), getattr(prev_v, field)
    got = getattr(train_v, field)
    took_new = np.isclose(got, new, atol=1e-6)
    took_old = np.isclose(got, old, atol=1e-6)
    assert (took_new | took_old).all()
    assert abs(took_new.mean() - keep) < 0.15
    np.testing.assert_allclose(getattr(test_v, field),
                               old * (1 - keep) + new * keep, rtol=1e-5,
                               atol=1e-6)


# --- GRU ------------------------------------------------------------------------------


def test_gru_matches_numpy_and_variables():
  with tf.Graph().as_default():
    gru = snt.GRU(H)
    assert gru.state_size == tf.TensorShape([H]) == gru.output_size
    x, h = rand(B, I, seed=1), rand(B, H, seed=2)
    out, state = gru(tf.constant(x), tf.constant(h))
    variables = gru.get_variables()
    assert [v.op.name for v in variables] == [
        "gru/" + k for k in ("wz", "uz", "bz", "wr", "ur", "br", "wh", "uh",
                             "bh")]
    assert names_and_shapes(variables)["gru/wz"] == (I, H)
    assert names_and_shapes(variables)["gru/uh"] == (H, H)
    assert names_and_shapes(variables)["gru/bh"] == (H,)
    out_v, state_v, v = run((out, state, variables))
  wz, uz, bz, wr, ur, br, wh, uh, bh = v
  assert np.abs(bz).max() > 0  # Biases are glorot too, not zeros.
  z = sigmoid(x.dot(wz) + h.dot(uz) + bz)
  r = sigmoid(x.dot(wr) + h.dot(ur) + br)
  ht = np.tanh(x.dot(wh) + (r * h).dot(uh) + bh)
  ref = (1 - z) * h + z * ht
  np.testing.assert_allclose(out_v, ref, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state_v, ref, rtol=1e-5, atol=1e-6)


def test_gru_keys_and_errors():
  assert snt.GRU.get_possible_initializer_keys() == {
      "wz", "uz", "bz", "wr", "ur", "br", "wh", "uh", "bh"}
  with tf.Graph().as_default():
    with pytest.raises(KeyError):
      snt.GRU(H, initializers={"w": tf.zeros_initializer()})
    with pytest.raises(KeyError):
      snt.GRU(H, regularizers={"w": tf.nn.l2_loss})
    gru = snt.GRU(H, initializers={"bh": tf.constant_initializer(3.0)},
                  regularizers={"uz": tf.nn.l2_loss})
    with pytest.raises(ValueError, match="Rank"):
      gru(tf.zeros([B]), tf.zeros([B, H]))
    with pytest.raises(ValueError, match="shape"):
      gru(tf.zeros([B, I]), tf.zeros([B, H + 2]))
    gru(tf.zeros([B, I]), tf.zeros([B, H]))
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    assert (run(gru._bh) == 3).all()  # pylint: disable=protected-access


# --- HighwayCore ----------------------------------------------------------------------


def test_highway_core_matches_numpy_and_variables():
  layers = 3
  with tf.Graph().as_default():
    core = snt.HighwayCore(H, layers)
    assert core.state_size == tf.TensorShape([H]) == core.output_size
    x, h = rand(B, I, seed=1), rand(B, H, seed=2)
    out, state = core(tf.constant(x), tf.constant(h))
    shapes = names_and_shapes(core.get_variables())
    expected = {"highwaycore/wt": (I, H), "highwaycore/wh": (I, H)}
    for l in range(layers):
      expected.update({"highwaycore/wt%d" % l: (H, H),
                       "highwaycore/wh%d" % l: (H, H),
                       "highwaycore/bt%d" % l: (H,),
                       "highwaycore/bh%d" % l: (H,)})
    assert shapes == expected
    variables = {v.op.name.split("/")[1]: v for v in core.get_variables()}
    out_v, state_v, v = run((out, state, variables))
  s = h
  for l in range(layers):
    lt = s.dot(v["wt%d" % l]) + v["bt%d" % l]
    lh = s.dot(v["wh%d" % l]) + v["bh%d" % l]
    if l == 0:
      lt += x.dot(v["wt"])
      lh += x.dot(v["wh"])
    t = sigmoid(lt)
    s = s * (1 - t) + np.tanh(lh) * t
  np.testing.assert_allclose(out_v, s, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state_v, s, rtol=1e-5, atol=1e-6)


def test_highway_core_keys():
  assert snt.HighwayCore.get_possible_initializer_keys(num_layers=2) == {
      "wt", "wh", "wt0", "bt0", "wh0", "bh0", "wt1", "bt1", "wh1", "bh1"}
  assert not hasattr(snt.HighwayCore, "POSSIBLE_INITIALIZER_KEYS")
  with tf.Graph().as_default():
    with pytest.raises(KeyError):
      snt.HighwayCore(H, 1, initializers={"wt1": tf.zeros_initializer()})
    core = snt.HighwayCore(H, 1, partitioners={"wt": tf.fixed_size_partitioner(2)})
    core(tf.zeros([B, I]), tf.zeros([B, H]))
    assert any("wt/part_1" in v.op.name for v in core.get_variables())


# --- LSTMBlockCell --------------------------------------------------------------------


def np_block_lstm(x, cs, h, w, b, forget_bias=1.0, wci=None, wcf=None,
                  wco=None, cell_clip=None):
  zeros = np.zeros_like(cs[0])
  wci = zeros if wci is None else wci
  wcf = zeros if wcf is None else wcf
  wco = zeros if wco is None else wco
  i, ci, f, o = np.split(np.concatenate([x, h], 1).dot(w) + b, 4, axis=1)
  i = sigmoid(i + wci * cs)
  f = sigmoid(f + forget_bias + wcf * cs)
  ncs = np.tanh(ci) * i + cs * f
  if cell_clip is not None:
    ncs = np.clip(ncs, -cell_clip, cell_clip)
  o = sigmoid(o + wco * ncs)
  return np.tanh(ncs) * o, ncs


@pytest.mark.parametrize("kwargs", [
    {}, {"use_peephole": True, "forget_bias": 0.5},
    {"cell_clip": 0.3, "use_peephole": True}])
def test_lstm_block_cell_matches_numpy(kwargs):
  with tf.Graph().as_default():
    core = snt.LSTMBlockCell(H, **kwargs)
    assert core.state_size == (H, H) and core.output_size == H
    x, cs, h = rand(B, I, seed=1), rand(B, H, seed=2), rand(B, H, seed=3)
    out, state = core(tf.constant(x), (tf.constant(cs), tf.constant(h)))
    variables = {v.op.name.split("/")[-1]: v for v in core.get_variables()}
    init_b = variables["bias"].assign(rand(4 * H, seed=9))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(init_b)
      out_v, state_v, v = sess.run((out, state, variables))
  ref_h, ref_cs = np_block_lstm(
      x, cs, h, v["kernel"], v["bias"], kwargs.get("forget_bias", 1.0),
      v.get("w_i_diag"), v.get("w_f_diag"), v.get("w_o_diag"),
      kwargs.get("cell_clip"))
  np.testing.assert_allclose(out_v, ref_h, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state_v.h, ref_h, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(state_v.c, ref_cs, rtol=1e-5, atol=1e-6)


def test_lstm_block_cell_variables_and_names():
  with tf.Graph().as_default():
    core = snt.LSTMBlockCell(20, name="lstm_block")
    assert core.module_name == "lstm_block"
    core(tf.zeros([2, 20]), core.initial_state(2))
    assert names_and_shapes(core.get_variables()) == {
        "lstm_block/lstm_block/kernel": (40, 80),
        "lstm_block/lstm_block/bias": (80,)}
    default = snt.LSTMBlockCell(4, use_peephole=True)
    assert default.module_name == "lstm_block_cell"
    default(tf.zeros([2, 3]), default.initial_state(2))
    default(tf.zeros([2, 3]), default.initial_state(2))
    assert names_and_shapes(default.get_variables()) == {
        "lstm_block_cell/lstm_cell/kernel": (7, 16),
        "lstm_block_cell/lstm_cell/bias": (16,),
        "lstm_block_cell/lstm_cell/w_i_diag": (4,),
        "lstm_block_cell/lstm_cell/w_f_diag": (4,),
        "lstm_block_cell/lstm_cell/w_o_diag": (4,)}
    bias = run(default.get_variables()[1])
    assert (bias == 0).all()
    with pytest.raises(ValueError, match="Rank"):
      default(tf.zeros([2, 3, 1]), default.initial_state(2))
    with pytest.raises(ValueError, match="cell state"):
      default(tf.zeros([2, 3]), (tf.zeros([2, 5]), tf.zeros([2, 4])))
    custom = snt.LSTMBlockCell(4, custom_getter=snt.custom_getters.non_trainable)
    custom(tf.zeros([2, 3]), custom.initial_state(2))
    assert not custom.get_variables()
    assert len(custom.get_variables(tf.GraphKeys.GLOBAL_VARIABLES)) == 2


def _reference_block_lstm(x, cs, h, kernel, bias, wci, wcf, wco, forget_bias):
  i, ci, f, o = tf.split(tf.matmul(tf.concat([x, h], 1), kernel) + bias, 4, 1)
  new_cs = tf.tanh(ci) * tf.sigmoid(i + wci * cs) + cs * tf.sigmoid(
      f + forget_bias + wcf * cs)
  return tf.tanh(new_cs) * tf.sigmoid(o + wco * new_cs), new_cs


@pytest.mark.parametrize("use_peephole", [False, True])
def test_lstm_block_cell_gradient(use_peephole):
  """The registered gradient of the fused op: vs plain ops, and numerically."""
  with tf.Graph().as_default():
    core = snt.LSTMBlockCell(3, use_peephole=use_peephole, forget_bias=0.5)
    x = tf.constant(rand(2, 2, seed=1, scale=0.5))
    cs = tf.constant(rand(2, 3, seed=2, scale=0.5))
    h = tf.constant(rand(2, 3, seed=3, scale=0.5))
    out, state = core(x, (cs, h))
    weights = tf.constant(rand(2, 3, seed=4))
    loss = tf.reduce_sum(out * weights + tf.square(state.c))
    variables = list(core.get_variables())
    if use_peephole:
      kernel, bias, wci, wcf, wco = variables
    else:
      kernel, bias = variables
      wci = wcf = wco = tf.zeros([3])
    ref_out, ref_cs = _reference_block_lstm(x, cs, h, kernel, bias, wci, wcf,
                                            wco, 0.5)
    ref_loss = tf.reduce_sum(ref_out * weights + tf.square(ref_cs))
    inputs = [x, cs, h] + variables
    grads = tf.gradients(loss, inputs)
    ref_grads = tf.gradients(ref_loss, inputs)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for var in variables:  # Non-zero bias and peepholes.
        sess.run(var.assign(rand(*var.get_shape().as_list(), seed=5) * 0.5))
      for grad, ref_grad in zip(*sess.run((grads, ref_grads))):
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_lstm_block_cell_op_gradient_numerically():
  """Numeric check of the gradient registered for the raw op, every input."""
  units = 3
  with tf.Graph().as_default():
    values = [rand(2, 2, seed=1), rand(2, units, seed=2),
              rand(2, units, seed=3), rand(2 + units, 4 * units, seed=4),
              rand(units, seed=5), rand(units, seed=6), rand(units, seed=7),
              rand(4 * units, seed=8)]
    tensors = [tf.constant(v * 0.5) for v in values]
    x, cs_prev, h_prev, w, wci, wcf, wco, b = tensors
    outputs = tf.raw_ops.LSTMBlockCell(
        x=x, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci, wcf=wcf, wco=wco,
        b=b, forget_bias=0.5, cell_clip=-1.0, use_peephole=True)
    loss = (tf.reduce_sum(outputs[6] * tf.constant(rand(2, units, seed=9))) +
            tf.reduce_sum(tf.square(outputs[1])))
    with tf.Session():
      for tensor in tensors:
        err = tf.test.compute_gradient_error(
            tensor, tensor.get_shape().as_list(), loss, [], delta=1e-2)
        assert err < 2e-3, (tensor.name, err)


# --- BatchNormLSTM --------------------------------------------------------------------


def np_batch_norm(x, eps=1e-3):
  return (x - x.mean(0)) / np.sqrt(x.var(0) + eps)


@pytest.mark.parametrize("bn", [(True, False, False), (False, True, False),
                                (False, False, True), (True, True, True)])
def test_batch_norm_lstm_matches_numpy(bn):
  bn_h, bn_x, bn_c = bn
  with tf.Graph().as_default():
    core = snt.BatchNormLSTM(H, use_peepholes=True, use_batch_norm_h=bn_h,
                             use_batch_norm_x=bn_x, use_batch_norm_c=bn_c,
                             forget_bias=0.7)
    x, h, c = rand(8, I, seed=1), rand(8, H, seed=2), rand(8, H, seed=3)
    out, state = core(tf.constant(x), (tf.constant(h), tf.constant(c)),
                      is_training=True)
    variables = {v.op.name.split("/")[-1]: v for v in core.get_variables()}
    expected = {"b_gates", "w_f_diag", "w_i_diag", "w_o_diag"}
    expected |= ({"w_gates_H", "w_gates_X"} if bn_h or bn_x else {"w_gates"})
    expected |= {"gamma_h"} if bn_h else set()
    expected |= {"gamma_x"} if bn_x else set()
    expected |= {"gamma_c", "beta_c"} if bn_c else set()
    assert set(variables) == expected
    out_v, state_v, v = run((out, state, variables))
  for key in ("gamma_h", "gamma_x", "gamma_c"):
    if key in v:
      np.testing.assert_allclose(v[key], 0.1)
  if bn_h or bn_x:
    gh, gx = h.dot(v["w_gates_H"]), x.dot(v["w_gates_X"])
    if bn_h:
      gh = v["gamma_h"] * np_batch_norm(gh)
    if bn_x:
      gx = v["gamma_x"] * np_batch_norm(gx)
    gates = gh + gx
  else:
    gates = np.concatenate([x, h], 1).dot(v["w_gates"])
  i, j, f, o = np.split(gates + v["b_gates"], 4, axis=1)
  f = f + v["w_f_diag"] * c
  i = i + v["w_i_diag"] * c
  nc = sigmoid(f + 0.7) * c + sigmoid(i) * np.tanh(j)
  co = nc
  if bn_c:
    co = v["beta_c"] + v["gamma_c"] * np_batch_norm(co)
  co = co + v["w_o_diag"] * co
  nh = np.tanh(co) * sigmoid(o)
  np.testing.assert_allclose(out_v, nh, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(state_v[0], nh, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(state_v[1], nc, rtol=1e-4, atol=1e-5)


def test_batch_norm_lstm_structure_and_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="At least one"):
      snt.BatchNormLSTM(H, use_batch_norm_h=False)
    with pytest.raises(ValueError):
      snt.BatchNormLSTM(H, max_unique_stats=0)
    with pytest.raises(ValueError, match="nonnegative"):
      snt.BatchNormLSTM(H, cell_clip_value=-1)
    with pytest.raises(KeyError):
      snt.BatchNormLSTM(H, initializers={"gamma_x": tf.zeros_initializer()})
    assert snt.BatchNormLSTM.get_possible_initializer_keys() == {
        "w_gates", "b_gates", "gamma_h"}
    assert snt.BatchNormLSTM.get_possible_initializer_keys(
        use_peepholes=True, use_batch_norm_h=False, use_batch_norm_c=True) == {
            "w_gates", "b_gates", "w_f_diag", "w_i_diag", "w_o_diag",
            "gamma_c", "beta_c"}
    core = snt.BatchNormLSTM(H)
    assert core.use_batch_norm_h and not core.use_batch_norm_x
    assert core.state_size == (tf.TensorShape([H]), tf.TensorShape([H]))
    with pytest.raises(ValueError, match="is_training"):
      core(tf.zeros([B, I]), core.initial_state(B))
    with pytest.raises(ValueError, match="3 elements"):
      snt.BatchNormLSTM(H, max_unique_stats=2)(
          tf.zeros([B, I]), core.initial_state(B), is_training=True)
    wrapped = core.with_batch_norm_control(is_training=True)
    assert wrapped.module_name == core.module_name + "_extra_args"
    assert wrapped.state_size == core.state_size
    wrapped(tf.zeros([B, I]), wrapped.initial_state(B))
    # The batch norm module is a sibling of the core's scope.
    names = {v.op.name for v in tf.global_variables()}
    assert "batch_norm_h/batch_norm/moving_mean" in names
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2


@pytest.mark.parametrize("static_flags", [True, False])
def test_batch_norm_lstm_unique_stats_per_time_step(static_flags):
  """Time steps 0 and >=1 use separate moving statistics."""
  with tf.Graph().as_default():
    core = snt.BatchNormLSTM(H, max_unique_stats=2)
    assert core.state_size == (tf.TensorShape([H]), tf.TensorShape([H]),
                               tf.TensorShape(1))
    init = core.initial_state(B)
    assert init[2].dtype == tf.int32 and init[2].get_shape().ndims == 0
    time_step = init[2] if static_flags else tf.placeholder_with_default(0, [])
    is_training = (True if static_flags
                   else tf.placeholder_with_default(True, []))
    init = (tf.constant(rand(B, H, seed=1)), init[1], time_step)
    x = tf.constant(rand(B, I))
    _, state1 = core(x, init, is_training=is_training)
    _, state2 = core(x, state1, is_training=is_training)
    means = sorted((v for v in tf.global_variables()
                    if "moving_mean" in v.op.name), key=lambda v: v.op.name)
    assert [v.op.name for v in means] == [
        "batch_norm_h/batch_norm/moving_mean",
        "batch_norm_h/batch_norm_1/moving_mean"]
    update = tf.group(*tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(update)
      m0, m1, t = sess.run(means + [state2[2]])
    assert t == 2
    assert np.abs(m0).max() > 0 and np.abs(m1).max() > 0
    assert np.abs(m0 - m1).max() > 1e-6  # Different statistics per step.
    trainable = core.initial_state(B, trainable=True)
    assert len(trainable) == 3
    assert len([v for v in tf.trainable_variables()
                if "initial_state" in v.op.name]) == 2


# --- ConvLSTM ------------------------------------------------------------------------


def np_conv1d_same(x, w, b=None):
  k = w.shape[0]
  pad = np.pad(x, [(0, 0), ((k - 1) // 2, k // 2), (0, 0)])
  out = np.stack([np.einsum("bkc,kco->bo", pad[:, t:t + k], w)
                  for t in range(x.shape[1])], axis=1)
  return out if b is None else out + b


@pytest.mark.parametrize("legacy", [True, False])
def test_conv_1d_lstm_matches_numpy(legacy):
  width, out_c = 6, 2
  with tf.Graph().as_default():
    core = snt.Conv1DLSTM(input_shape=(width, I), output_channels=out_c,
                          kernel_shape=3, legacy_bias_behaviour=legacy,
                          forget_bias=0.5)
    assert core.state_size == (tf.TensorShape([width, out_c]),) * 2
    assert core.output_size == tf.TensorShape([width, out_c])
    x = rand(B, width, I, seed=1)
    h, c = rand(B, width, out_c, seed=2), rand(B, width, out_c, seed=3)
    out, state = core(tf.constant(x), (tf.constant(h), tf.constant(c)))
    shapes = names_and_shapes(core.get_variables())
    expected = {"conv_1d_lstm/conv/w": (3, I, 4 * out_c),
                "conv_1d_lstm/conv/b": (4 * out_c,),
                "conv_1d_lstm/conv_1/w": (3, out_c, 4 * out_c)}
    if legacy:
      expected["conv_1d_lstm/conv_1/b"] = (4 * out_c,)
    assert shapes == expected
    assert set(core.convolutions) == {"input", "hidden"}
    variables = {k: v for k, v in zip(shapes, core.get_variables())}
    biases = [var.assign(rand(*var.get_shape().as_list(), seed=8))
              for name, var in variables.items() if name.endswith("/b")]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(biases)
      out_v, state_v, v = sess.run((out, state, variables))
  z = (np_conv1d_same(x, v["conv_1d_lstm/conv/w"], v["conv_1d_lstm/conv/b"]) +
       np_conv1d_same(h, v["conv_1d_lstm/conv_1/w"],
                      v.get("conv_1d_lstm/conv_1/b")))
  i, j, f, o = np.split(z, 4, axis=2)
  nc = sigmoid(f + 0.5) * c + sigmoid(i) * np.tanh(j)
  nh = np.tanh(nc) * sigmoid(o)
  np.testing.assert_allclose(out_v, nh, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state_v[1], nc, rtol=1e-5, atol=1e-5)


def test_conv_lstm_configuration():
  assert snt.Conv2DLSTM.get_possible_initializer_keys() == {"w", "b"}
  assert snt.Conv1DLSTM.get_possible_initializer_keys(use_bias=False) == {"w"}
  assert gated_rnn.ConvLSTM.get_possible_initializer_keys(3) == {"w", "b"}
  with pytest.raises(ValueError, match="dimensionality"):
    gated_rnn.ConvLSTM.get_possible_initializer_keys(4)
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="input_shape"):
      snt.Conv2DLSTM(input_shape=(5, 3), output_channels=2, kernel_shape=3)
    core = snt.Conv2DLSTM(input_shape=(4, 4, 2), output_channels=3,
                          kernel_shape=3, use_bias=False,
                          initializers={"w": tf.constant_initializer(0.1)},
                          use_layer_norm=True)
    assert core.use_layer_norm
    with pytest.raises(snt.NotConnectedError):
      core.convolutions  # pylint: disable=pointless-statement
    out, _ = core(tf.ones([B, 4, 4, 2]), core.initial_state(B))
    assert out.get_shape().as_list() == [B, 4, 4, 3]
    names = sorted(v.op.name for v in core.get_variables())
    scope = core.module_name
    assert names == [scope + "/conv/w", scope + "/conv_1/w",
                     scope + "/layer_norm/beta", scope + "/layer_norm/gamma"]
    assert snt.Conv2DLSTM(input_shape=(4, 4, 2), output_channels=3,
                          kernel_shape=3).module_name.startswith("conv_2d_lstm")
    strided = snt.Conv2DLSTM(input_shape=(4, 4, 2), output_channels=8,
                             kernel_shape=3, stride=2)
    assert strided.output_size == tf.TensorShape([4, 4, 2])


# --- the LSTM's custom-gradient gate product -------------------------------------


def test_lstm_gates_gradient_numerically():
  with tf.Graph().as_default():
    rs = np.random.RandomState(0)
    tensors = [tf.constant(rs.randn(*shape)) for shape in
               ((2, 3), (2, 4), (7, 16), (16,))]
    gates = gated_rnn._lstm_gates(*tensors)  # pylint: disable=protected-access
    loss = tf.reduce_sum(tf.square(gates) * tf.constant(rs.randn(2, 16)))
    with tf.Session() as sess:
      ref = tf.matmul(tf.concat(tensors[:2], 1), tensors[2]) + tensors[3]
      np.testing.assert_allclose(*sess.run((gates, ref)), rtol=1e-12)
      for tensor in tensors:
        err = tf.test.compute_gradient_error(
            tensor, tensor.get_shape().as_list(), loss, [])
        assert err < 1e-8, (tensor.name, err)


def test_lstm_gradients_match_plain_graph():
  """LSTM gradients (custom gate product) equal those of the plain equations."""
  with tf.Graph().as_default():
    lstm = snt.LSTM(H, use_peepholes=True)
    x = tf.constant(rand(2, 4, I, seed=1))
    out, _ = tf.nn.dynamic_rnn(lstm, x, dtype=tf.float32)
    w, b, wf, wi, wo = lstm.get_variables()

    def ref_step(x_t, state):
      h, c = state
      i, j, f, o = tf.split(tf.matmul(tf.concat([x_t, h], 1), w) + b, 4, 1)
      c = tf.sigmoid(f + wf * c + 1.0) * c + tf.sigmoid(i + wi * c) * tf.tanh(j)
      h = tf.tanh(c + wo * c) * tf.sigmoid(o)
      return h, (h, c)

    state = (tf.zeros([2, H]), tf.zeros([2, H]))
    ref_out = []
    for t in range(4):
      h, state = ref_step(x[:, t], state)
      ref_out.append(h)
    ref_out = tf.stack(ref_out, 1)
    weights = tf.constant(rand(2, 4, H, seed=2))
    params = [x, w, b, wf, wi, wo]
    grads = tf.gradients(tf.reduce_sum(out * weights), params)
    ref_grads = tf.gradients(tf.reduce_sum(ref_out * weights), params)
    values = run((out, ref_out, grads, ref_grads))
  np.testing.assert_allclose(values[0], values[1], rtol=1e-5, atol=1e-6)
  for grad, ref_grad in zip(values[2], values[3]):
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6)


def test_batch_norm_lstm_unique_stats_in_dynamic_and_static_rnn():
  with tf.Graph().as_default():
    core = snt.BatchNormLSTM(H, max_unique_stats=3, use_batch_norm_x=True)
    train_core = core.with_batch_norm_control(is_training=True)
    x = tf.constant(rand(B, 4, I))
    # The time step makes the state's dtypes mixed, so dynamic_rnn needs dtype.
    dyn_out, dyn_state = tf.nn.dynamic_rnn(
        train_core, x, initial_state=train_core.initial_state(B),
        dtype=tf.float32)
    static_out, static_state = tf.nn.static_rnn(
        train_core, tf.unstack(x, axis=1), initial_state=core.initial_state(B))
    dyn_v, static_v, steps = run((dyn_out, tf.stack(static_out, 1),
                                  (dyn_state[2], static_state[2])))
  np.testing.assert_allclose(dyn_v, static_v, rtol=1e-5, atol=1e-6)
  assert steps == (4, 4)
