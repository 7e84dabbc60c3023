"""Tests for sonnet.python.modules.relational_memory."""

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


def _layer_norm(x, gamma, beta, eps=1e-5):
  mean = x.mean(-1, keepdims=True)
  var = x.var(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
  return 1. / (1. + np.exp(-x))


class _NpRMC(object):
  """NumPy relational memory reading variables by their Sonnet names."""

  def __init__(self, params, scope, mem_slots, head_size, num_heads,
               num_blocks, key_size, mlp_layers, gate_style, forget_bias,
               input_bias):
    self.p = params
    self.scope = scope
    self.mem_size = head_size * num_heads
    self.__dict__.update(mem_slots=mem_slots, head_size=head_size,
                         num_heads=num_heads, num_blocks=num_blocks,
                         key_size=key_size, mlp_layers=mlp_layers,
                         gate_style=gate_style, forget_bias=forget_bias,
                         input_bias=input_bias)
    self.linear_i = 0
    self.ln_i = 0

  def linear(self, x):
    name = "linear" if self.linear_i == 0 else "linear_%d" % self.linear_i
    self.linear_i += 1
    return (x @ self.p["%s/%s/w" % (self.scope, name)] +
            self.p["%s/%s/b" % (self.scope, name)])

  def ln(self, x):
    name = "layer_norm" if self.ln_i == 0 else "layer_norm_%d" % self.ln_i
    self.ln_i += 1
    return _layer_norm(x, self.p["%s/%s/gamma" % (self.scope, name)],
                       self.p["%s/%s/beta" % (self.scope, name)])

  def mlp(self, x):
    for i in range(self.mlp_layers):
      x = (x @ self.p["%s/mlp/linear_%d/w" % (self.scope, i)] +
           self.p["%s/mlp/linear_%d/b" % (self.scope, i)])
      if i < self.mlp_layers - 1:
        x = np.maximum(x, 0.)
    return x

  def attention(self, m):
    b, n, _ = m.shape
    ks, vs, h = self.key_size, self.head_size, self.num_heads
    qkv = self.ln(self.linear(m))
    qkv = qkv.reshape(b, n, h, 2 * ks + vs).transpose(0, 2, 1, 3)
    q, k, v = qkv[..., :ks], qkv[..., ks:2 * ks], qkv[..., 2 * ks:]
    w = _softmax((q * ks ** -0.5) @ k.transpose(0, 1, 3, 2))
    return (w @ v).transpose(0, 2, 1, 3).reshape(b, n, h * vs)

  def step(self, x, memory, matrix=False):
    self.linear_i = 0
    self.ln_i = 0
    if matrix:
      rows = self.linear(x.reshape(x.shape[0], x.shape[1], -1))
    else:
      rows = self.linear(x.reshape(x.shape[0], -1))[:, None]
    m = np.concatenate([memory, rows], 1)
    for _ in range(self.num_blocks):
      att = self.attention(m)
      m = self.ln(m + att)
      # The block's second LayerNorm is constructed before the MLP runs.
      ln_i = self.ln_i
      self.ln_i += 1
      mlp_out = self.mlp(m)
      saved, self.ln_i = self.ln_i, ln_i
      m = self.ln(mlp_out + m)
      self.ln_i = saved
    next_memory = m[:, :-rows.shape[1]]
    if self.gate_style in ("unit", "memory"):
      gi = self.linear(rows.reshape(rows.shape[0], -1))[:, None]
      gm = self.linear(np.tanh(memory))
      g = gm + gi
      half = g.shape[-1] // 2
      ig = _sigmoid(g[..., :half] + self.input_bias)
      fg = _sigmoid(g[..., half:] + self.forget_bias)
      next_memory = ig * np.tanh(next_memory) + fg * memory
    return next_memory.reshape(next_memory.shape[0], -1), next_memory


def _check(mem_slots=3, head_size=4, num_heads=2, num_blocks=2, key_size=None,
           mlp_layers=2, gate_style="unit", matrix=False, t_len=2):
  batch = 2
  rng = np.random.RandomState(5)
  in_shape = [batch, 3, 2] if matrix else [batch, 5]
  x_np = rng.randn(t_len, *in_shape).astype(np.float32)
  with tf.Graph().as_default():
    core = snt.RelationalMemory(
        mem_slots, head_size, num_heads=num_heads, num_blocks=num_blocks,
        key_size=key_size, attention_mlp_layers=mlp_layers,
        gate_style=gate_style, forget_bias=0.5, input_bias=0.2)
    mem_size = head_size * num_heads
    assert core.state_size == tf.TensorShape([mem_slots, mem_size])
    assert core.output_size == tf.TensorShape([mem_slots * mem_size])
    state = core.initial_state(batch)
    init = state
    outs = []
    for t in range(t_len):
      out, state = core(tf.constant(x_np[t]), state,
                        treat_input_as_matrix=matrix)
      outs.append(out)
    params = {v.op.name: v for v in core.get_variables()}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      # Randomize biases/norm params so that they matter in the comparison.
      for name, v in params.items():
        if name.endswith(("/b", "/beta")) or name.endswith("/gamma"):
          sess.run(v.assign(rng.randn(*v.shape.as_list()) * 0.3 +
                            (1. if name.endswith("gamma") else 0.)))
      init_v, outs_v, state_v, params_v = sess.run((init, outs, state, params))
  ref = _NpRMC(params_v, "relational_memory", mem_slots, head_size, num_heads,
               num_blocks, key_size or head_size, mlp_layers, gate_style, 0.5,
               0.2)
  eye = np.eye(mem_slots, max(mem_slots, mem_size))[:, :mem_size]
  np.testing.assert_allclose(init_v, np.broadcast_to(eye, init_v.shape))
  memory = init_v
  for t in range(t_len):
    out_ref, memory = ref.step(x_np[t], memory, matrix)
    np.testing.assert_allclose(outs_v[t], out_ref, rtol=2e-4, atol=2e-4)
  np.testing.assert_allclose(state_v, memory, rtol=2e-4, atol=2e-4)
  return params_v


def test_values_unit_gates_two_blocks():
  params = _check()
  assert params["relational_memory/linear_1/w"].shape == (8, 2 * (2 * 4 + 4))
  assert params["relational_memory/mlp/linear_1/w"].shape == (8, 8)


def test_values_memory_gates_key_size_matrix_input():
  params = _check(mem_slots=5, head_size=3, num_heads=1, num_blocks=1,
                  key_size=2, mlp_layers=1, gate_style="memory", matrix=True)
  # Gate linears give 2 values (input and forget gate) per memory row.
  assert params["relational_memory/linear_3/w"].shape == (3, 2)


def test_values_no_gates():
  params = _check(mem_slots=2, head_size=2, num_heads=2, num_blocks=1,
                  gate_style=None)
  assert "relational_memory/linear_2/w" not in params


def test_dynamic_rnn_and_gates():
  with tf.Graph().as_default():
    core = snt.RelationalMemory(2, 3, num_heads=2)
    with pytest.raises(snt.NotConnectedError):
      _ = core.input_gate
    out, state = tf.nn.dynamic_rnn(core, tf.ones([3, 4, 5]),
                                   initial_state=core.initial_state(4),
                                   time_major=True)
    assert out.shape.as_list() == [3, 4, 12]
    assert state.shape.as_list() == [4, 2, 6]
    assert core.input_gate.shape.as_list() == [4, 2, 6]
    assert core.forget_gate.shape.as_list() == [4, 2, 6]
    grads = tf.gradients(tf.reduce_sum(out), core.get_variables())
    assert all(g is not None for g in grads)
    outs, _ = tf.nn.static_rnn(core, [tf.ones([4, 5])] * 2,
                               initial_state=core.initial_state(4))
    assert outs[1].shape.as_list() == [4, 12]
    with pytest.raises(ValueError, match="mem_slots=2, mem_size=6"):
      core(tf.ones([4, 5]), tf.zeros([4, 3, 6]))
    deep = snt.DeepRNN([core], skip_connections=False, name="deep")
    assert deep.initial_state(4)[0].shape.as_list() == [4, 2, 6]


def test_initial_state_truncated_and_errors():
  with tf.Graph().as_default():
    core = snt.RelationalMemory(4, 1, num_heads=2)
    with tf.Session() as sess:
      v = sess.run(core.initial_state(2, trainable=True))
    np.testing.assert_allclose(v[1], np.eye(4)[:, :2])
    with pytest.raises(ValueError, match="num_blocks"):
      snt.RelationalMemory(2, 2, num_blocks=0)
    with pytest.raises(ValueError, match="gate_style"):
      snt.RelationalMemory(2, 2, gate_style="bad")
    with pytest.raises(ValueError, match="attention_mlp_layers"):
      snt.RelationalMemory(2, 2, attention_mlp_layers=0)
