"""Tests for sonnet.python.modules.nets.transformer."""

import numpy as np
import pytest
from sonnet.python.modules.nets import transformer
import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

# Grappler takes longer than running these small graphs.
_CONFIG = tf.ConfigProto(graph_options=tf.GraphOptions(
    rewrite_options=rewriter_config_pb2.RewriterConfig(
        disable_meta_optimizer=True)))


def _run(fetches, feed=None, init=True):
  with tf.Session(config=_CONFIG) as sess:
    if init:
      sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed)


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _np_rel_shift(x):
  b, h, t1, t2 = x.shape
  padded = np.concatenate([np.zeros((b, h, t1, 1)), x], -1)
  return padded.reshape(b, h, t2 + 1, t1)[:, :, 1:].reshape(b, h, t1, t2)


def _np_layer_norm(x, eps=1e-5):
  return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) +
                                                   eps)


def test_rel_shift_example_and_error():
  with tf.Graph().as_default():
    logits = tf.tile(tf.constant([5., 4., 3., 2., 1.])[None, None, None],
                     [1, 1, 5, 1])
    out = _run(transformer.rel_shift(logits), init=False)
    np.testing.assert_allclose(out[0, 0], [[1, 0, 5, 4, 3], [2, 1, 0, 5, 4],
                                           [3, 2, 1, 0, 5], [4, 3, 2, 1, 0],
                                           [5, 4, 3, 2, 1]])
    x = np.random.RandomState(0).randn(2, 3, 4, 6)
    np.testing.assert_allclose(
        _run(transformer.rel_shift(x), init=False),
        _np_rel_shift(x))
    with pytest.raises(ValueError, match="4D"):
      transformer.rel_shift(tf.zeros([2, 3, 4]))


def test_masks():
  with tf.Graph().as_default():
    fm = _run(transformer.future_mask(3, tf.float32), init=False)
    expected = -1e6 * np.triu(np.ones((3, 3)), 1)
    np.testing.assert_allclose(fm[0, 0], expected)
    inputs = tf.zeros([2, 3, 4])
    mask = transformer.create_mask(inputs, None, False)
    mem = [tf.zeros([2, 2, 4]), tf.zeros([2, 5, 4])]
    mask_mem = transformer.create_mask(inputs, mem, False)
    mask_eq = transformer.create_mask(inputs, tf.zeros([2, 2, 4]), True)
    cms = transformer.CompressedMemoryState(
        episodic_memory=tf.zeros([2, 2, 4]),
        compressed_memory=tf.zeros([2, 1, 4]), index=tf.zeros([2, 1]))
    mask_cms = transformer.create_mask(inputs, [cms, cms], False)
    m, mm, me, mc = _run((mask, mask_mem, mask_eq, mask_cms), init=False)
  np.testing.assert_allclose(m[0, 0], expected)
  assert mm.shape == (1, 1, 3, 8)
  np.testing.assert_allclose(mm[0, 0], np.concatenate(
      [np.zeros((3, 5)), expected], 1))
  start = -1e6 * np.tril(np.ones((3, 3)), -1)
  np.testing.assert_allclose(me[0, 0], np.concatenate(
      [np.zeros((3, 2)) + start[:, :2], start[:, 2:] + expected[:, :1],
       expected[:, 1:]], 1))
  assert mc.shape == (1, 1, 3, 6)


def test_position_encodings():
  with tf.Graph().as_default():
    enc = transformer.get_position_encodings(5, 6, clamp_value=0)
    clamped = transformer.get_position_encodings(5, 6, clamp_value=2)
    e, c = _run((enc, clamped), init=False)
    with pytest.raises(ValueError, match="does not match"):
      transformer.get_position_encodings(5, 5, clamp_value=0)
  pos = np.arange(4, -1, -1.)
  inv = 1. / 10000.**(np.arange(0, 6, 2.) / 6)
  x = np.outer(pos, inv)
  np.testing.assert_allclose(e[0], np.concatenate([np.sin(x), np.cos(x)], -1),
                             rtol=1e-5, atol=1e-6)
  x = np.outer(np.minimum(pos, 2), inv)
  np.testing.assert_allclose(c[0], np.concatenate([np.sin(x), np.cos(x)], -1),
                             rtol=1e-5, atol=1e-6)


def test_simple_attention():
  rng = np.random.RandomState(1)
  q, k, v = rng.randn(2, 3, 4), rng.randn(2, 5, 4), rng.randn(2, 5, 2)
  with tf.Graph().as_default():
    out = _run(transformer.simple_attention(q, k, v), init=False)
  np.testing.assert_allclose(out, _softmax(q @ k.transpose(0, 2, 1)) @ v)


@pytest.mark.parametrize("relative", [False, True])
def test_multihead_attention_values(relative):
  b, n, m, d, h, k_size, v_size = 2, 3, 2, 6, 2, 3, 4
  rng = np.random.RandomState(2)
  x_np = rng.randn(b, n, d).astype(np.float32)
  mem_np = rng.randn(b, m, d).astype(np.float32)
  with tf.Graph().as_default():
    x, mem = tf.constant(x_np), tf.constant(mem_np)
    mask = transformer.create_mask(x, mem, False)
    pos = transformer.get_position_encodings(n + m, d, 0)
    pos_pair = (pos, pos[:, -n:])
    att = transformer.MultiheadAttention(
        v_size, k_size, h, mask=mask,
        positional_encodings=[pos_pair] if relative else pos_pair,
        use_relative_positions=relative)
    out, state = att(x, state=mem)
    assert out.shape.as_list() == [b, n, h * v_size]
    assert state.queries.shape.as_list() == [b, h, n, k_size]
    assert state.values.shape.as_list() == [b, h, n + m, v_size]
    assert state.embeddings is x and state.read_words is out
    params = {v.op.name[len("multihead_attention/"):]: v
              for v in att.get_variables()}
    expected = {"query/linear/w": [d, h * k_size],
                "key/linear/w": [d, h * k_size],
                "value/linear/w": [d, h * v_size],
                "linear/w": [h * v_size, h * v_size], "linear/b": [h * v_size]}
    if relative:
      expected.update({"r_w_bias": [1, h, 1, k_size],
                       "r_r_bias": [1, h, 1, k_size],
                       "relative_keys/linear/w": [d, h * k_size]})
    assert {k: v.shape.as_list() for k, v in params.items()} == expected
    out_v, weights_v, p, mask_v, pos_v = _run(
        (out, state.weights, params, mask, pos))

  def proj(inp, name, size):
    w = p[name + "/linear/w"].reshape(d, h, size)
    return np.einsum("bij,jhk->bhik", inp, w)

  kv_in = np.concatenate([mem_np, x_np], 1)
  if relative:
    q = proj(x_np, "query", k_size) * k_size**-0.5
  else:
    q = proj(x_np + pos_v[:, -n:], "query", k_size) * k_size**-0.5
  k = proj(kv_in if relative else kv_in + pos_v, "key", k_size)
  v = proj(kv_in, "value", v_size)
  if relative:
    content = (q + p["r_w_bias"]) @ k.transpose(0, 1, 3, 2)
    rk = proj(pos_v, "relative_keys", k_size)
    rel = _np_rel_shift((q + p["r_r_bias"]) @ rk.transpose(0, 1, 3, 2))
    logits = content + rel
  else:
    logits = q @ k.transpose(0, 1, 3, 2)
  weights = _softmax(logits + mask_v)
  np.testing.assert_allclose(weights_v, weights, rtol=1e-4, atol=1e-6)
  read = np.einsum("bhij,bhjk->bihk", weights, v).reshape(b, n, h * v_size)
  ref = read @ p["linear/w"] + p["linear/b"]
  np.testing.assert_allclose(out_v, ref, rtol=1e-4, atol=1e-5)
  # Causality: query 0 sees the memory and itself only.
  assert np.abs(weights_v[:, :, 0, m + 1:]).max() < 1e-6


def test_residual_dropout_wrapper():
  rng = np.random.RandomState(3)
  x_np = rng.randn(2, 3, 4).astype(np.float32)
  with tf.Graph().as_default():
    x = tf.constant(x_np)

    def layer(inputs, is_training, scale=1.):
      del is_training
      return inputs * 2. * scale, "state"

    wrapper = transformer.ResidualDropoutWrapper(layer, 0.5)
    out, state = wrapper(x, is_training=False, scale=3.)
    assert state == "state"
    both = transformer.ResidualDropoutWrapper(lambda i, **kw: i * 0., 0.5,
                                              layer_norm="both")
    out_both = both(x, is_training=False)
    none = transformer.ResidualDropoutWrapper(lambda i, **kw: i, 0.5,
                                              layer_norm="none")
    out_train = none(x, is_training=True)
    with pytest.raises(ValueError, match="is_training"):
      none(x)
    flag = tf.placeholder(tf.bool, [])
    out_flag = none(x, is_training=flag)
    out_v, both_v, train_v = _run((out, out_both, out_train))
    flag_v = _run(out_flag, {flag: False})
    np.testing.assert_allclose(flag_v, 2. * x_np)
  np.testing.assert_allclose(out_v, x_np + 6. * _np_layer_norm(x_np),
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(both_v, _np_layer_norm(x_np), rtol=1e-4,
                             atol=1e-5)
  # Dropout (rate 0.5) keeps x + 2x or drops to x.
  ok = np.isclose(train_v, x_np) | np.isclose(train_v, 3. * x_np)
  assert ok.all()


def test_default_mlp():
  with tf.Graph().as_default():
    mod = transformer.default_mlp([5, 3])
    out = mod(tf.ones([2, 4, 6]), is_training=False, dropout_keep_prob=0.5)
    assert out.shape.as_list() == [2, 4, 3]
    names = sorted(v.op.name for v in mod.get_all_variables())
    assert names == ["mlp/linear_0/b", "mlp/linear_0/w", "mlp/linear_1/b",
                     "mlp/linear_1/w"]


def test_transformer_tower_causal_and_shapes():
  rng = np.random.RandomState(4)
  x1 = rng.randn(2, 5, 8).astype(np.float32)
  x2 = x1.copy()
  x2[:, 3:] = rng.randn(2, 2, 8)
  with tf.Graph().as_default():
    x = tf.placeholder(tf.float32, [2, 5, 8])
    tower = transformer.TransformerTower(
        value_size=4, num_heads=2, num_layers=2, mlp_hidden_sizes=[16],
        output_size=3)
    out, states = tower(x, is_training=False)
    assert out.shape.as_list() == [2, 5, 3]
    assert len(states) == 2
    assert isinstance(tower.attention_module(1),
                      transformer.MultiheadAttention)
    assert tower.attention_module(0) is not tower.attention_module(1)
    names = [v.op.name for v in tower.get_variables()]
    assert "transformer_tower/layer_1/multihead_attention/r_w_bias" in names
    assert "transformer_tower/linear/w" in names
    with tf.Session(config=_CONFIG) as sess:
      sess.run(tf.global_variables_initializer())
      outs = [sess.run(out, {x: x_v}) for x_v in (x1, x2)]
  # Changing future inputs leaves earlier outputs unchanged.
  np.testing.assert_allclose(outs[0][:, :3], outs[1][:, :3], rtol=1e-5,
                             atol=1e-5)
  assert not np.allclose(outs[0][:, 3:], outs[1][:, 3:])


def test_transformer_tower_options_and_errors():
  with tf.Graph().as_default():
    tower = transformer.TransformerTower(
        value_size=2, num_heads=2, num_layers=2, causal=False,
        shared_attention=True, use_relative_positions=False,
        layer_norm="output", mlp_hidden_sizes=[4])
    memory = [tf.zeros([3, 2, 4]), tf.zeros([3, 2, 4])]
    out, states = tower(tf.ones([3, 5, 3]), state=memory,
                        condition=tf.ones([3, 1]), is_training=True)
    assert out.shape.as_list() == [3, 5, 4]
    assert states[0].keys.shape.as_list() == [3, 2, 7, 2]
    assert tower.attention_module(0) is tower.attention_module(1)
    _run(out)
    with pytest.raises(ValueError, match="width"):
      tower(tf.ones([3, 5, 5]))


def test_transformer_xl_dynamic_rnn_and_memory():
  cfg = dict(value_size=3, num_heads=2, num_layers=2, mlp_hidden_sizes=[8],
             dropout_rate=0.)
  with tf.Graph().as_default():
    core = transformer.TransformerXL(cfg, memory_size=3, chunk_size=0)
    assert core.output_size == tf.TensorShape([6])
    assert core.state_size == [tf.TensorShape([3, 6])] * 2
    out, state = tf.nn.dynamic_rnn(core, tf.ones([4, 2, 5]),
                                   initial_state=core.initial_state(2),
                                   time_major=True)
    assert out.shape.as_list() == [4, 2, 6]
    assert state[1].shape.as_list() == [2, 3, 6]
    # Python loop: memories shift by one step each call.
    s0 = core.initial_state(2)
    o1, s1 = core(tf.ones([2, 5]), s0, is_training=False)
    o2, s2 = core(tf.ones([2, 5]) * 2., s1, is_training=False)
    s1_v, s2_v, _ = _run((s1, s2, out))
  np.testing.assert_allclose(s2_v[0][:, :2], s1_v[0][:, 1:], rtol=1e-6)
  assert not s1_v[0][:, :2].any() and s1_v[0][:, 2].any()
  with tf.Graph().as_default():
    chunked = transformer.TransformerXL(cfg, memory_size=4, chunk_size=2)
    assert chunked.output_size == tf.TensorShape([2, 6])
    o, s = chunked(tf.ones([3, 2, 5]), chunked.initial_state(3))
    assert o.shape.as_list() == [3, 2, 6] and s[0].shape.as_list() == [3, 4, 6]


def test_pool_and_conv_compressors():
  rng = np.random.RandomState(5)
  mem_np = rng.randn(2, 6, 4).astype(np.float32)
  with tf.Graph().as_default():
    pooled, loss = transformer.PoolCompressor(compression_rate=2)(
        tf.constant(mem_np))
    maxed, _ = transformer.PoolCompressor(compression_rate=3, pooling="MAX")(
        tf.constant(mem_np))
    conv = transformer.ConvCompressor(2, 3, 4, loss="ae",
                                      dilation_rates=[1])
    compressed, ae_loss = conv(tf.constant(mem_np))
    assert compressed.shape.as_list() == [2, 2, 4]
    names = sorted(v.op.name for v in conv.get_variables())
    assert names == ["conv_compressor/conv_1d/w",
                     "conv_compressor/conv_1d_transpose/w",
                     "conv_compressor/conv_rate_1/w"]
    with pytest.raises(NotImplementedError):
      transformer.ConvCompressor(2, 3, 4, loss="bad")(tf.constant(mem_np))
    p_v, l_v, m_v, ae_v = _run((pooled, loss, maxed, ae_loss))
  np.testing.assert_allclose(p_v, mem_np.reshape(2, 3, 2, 4).mean(2),
                             rtol=1e-5)
  np.testing.assert_allclose(m_v, mem_np.reshape(2, 2, 3, 4).max(2))
  assert l_v == 0. and np.isfinite(ae_v) and ae_v > 0


def test_compute_avg_attention():
  rng = np.random.RandomState(6)
  w = _softmax(rng.randn(2, 2, 3, 14))
  with tf.Graph().as_default():
    state = transformer.AttentionState(*([None] * 4 + [tf.constant(w)] +
                                         [None] * 2))
    stats = _run(transformer._compute_avg_attention(state, 7, 0, 7,  # pylint: disable=protected-access
                                                    n_buckets=3), init=False)
  avg = w.mean((0, 1, 2))
  assert sorted(stats) == ["cm_p0", "cm_p1", "cm_p2", "seq_p0", "seq_p1",
                           "seq_p2"]
  np.testing.assert_allclose(stats["cm_p2"], avg[4:7].sum(), rtol=1e-6)
  np.testing.assert_allclose(stats["seq_p0"], avg[7:9].sum(), rtol=1e-6)


def test_compressive_transformer():
  cfg = dict(value_size=2, num_heads=2, num_layers=2, mlp_hidden_sizes=[8],
             dropout_rate=0.)
  rng = np.random.RandomState(7)
  with tf.Graph().as_default():
    core = transformer.CompressiveTransformer(
        cfg, chunk_size=0, episodic_memory_size=3, compressed_memory_size=2,
        export_stats=True)
    assert core.output_size == tf.TensorShape([4])
    assert core.state_size[0].compressed_memory == tf.TensorShape([2, 4])
    init = core.initial_state(2)
    state0 = tf.nest.map_structure(
        lambda t: t + tf.constant(rng.randn(*t.shape.as_list()), t.dtype),
        init)
    state0 = tuple(s._replace(index=tf.zeros([2, 1])) for s in state0)
    o1, s1 = core(tf.ones([2, 5]), state0)
    o2, s2 = core(tf.ones([2, 5]), s1)
    assert o2.shape.as_list() == [2, 4]
    assert s2[1].episodic_memory.shape.as_list() == [2, 3, 4]
    assert len(tf.get_collection("auxiliary_losses")) == 2
    stats = tf.get_collection("stats_export")[0]
    assert "compression_loss_l01" in stats and "em_p5_l00" in stats
    assert "seq_p0" in stats
    names = [v.op.name for v in core.get_all_variables()]
    assert "compressive_transformer/conv_compressor/conv_1d/w" in names
    vals = _run((state0, s1, s2, tf.get_collection("auxiliary_losses")))
  s0_v, s1_v, s2_v, losses = vals
  for layer in range(2):
    # Index 0: no compression (single steps compress every rate-th step).
    np.testing.assert_allclose(s1_v[layer].compressed_memory,
                               s0_v[layer].compressed_memory)
    assert not np.allclose(s2_v[layer].compressed_memory[:, :1],
                           s1_v[layer].compressed_memory[:, :1])
    # The newest compressed memory is shifted in.
    np.testing.assert_allclose(s2_v[layer].compressed_memory[:, 0],
                               s1_v[layer].compressed_memory[:, 1])
    np.testing.assert_allclose(s2_v[layer].index, np.full((2, 1), 2.))
    np.testing.assert_allclose(s1_v[layer].episodic_memory[:, :2],
                               s0_v[layer].episodic_memory[:, 1:])
  assert losses[0] == 0. and losses[1] > 0.


def test_compressive_transformer_in_dynamic_rnn_with_chunks():
  cfg = dict(value_size=2, num_heads=2, num_layers=1, mlp_hidden_sizes=[4])
  with tf.Graph().as_default():
    core = transformer.CompressiveTransformer(
        cfg, chunk_size=2, episodic_memory_size=4, compressed_memory_size=2,
        compression_ctor=transformer.PoolCompressor)
    # Random inputs: with constant ones every position gets the same ReLU
    # embedding, all zero in about 1 run in 16 (weights are unseeded).
    inputs = tf.constant(
        np.random.RandomState(0).randn(3, 2, 2, 5).astype(np.float32))
    out, state = tf.nn.dynamic_rnn(core, inputs,
                                   initial_state=core.initial_state(2),
                                   time_major=True)
    assert out.shape.as_list() == [3, 2, 2, 4]
    assert state[0].compressed_memory.shape.as_list() == [2, 2, 4]
    o, s = _run((out, state))
  assert np.isfinite(o).all() and s[0].compressed_memory.any()
