"""Tests for snt.nets.dnc: each DNC equation against a NumPy reference."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from sonnet.python.modules.nets import dnc
from sonnet.python.modules.nets import dnc_addressing as addressing

EPS = 1e-6


# ---------------------------------------------------------------------------
# NumPy references (written from the equations of the paper / spec).

def np_softplus(x):
  return np.log1p(np.exp(x))


def np_softmax(x, axis=-1):
  e = np.exp(x - x.max(axis=axis, keepdims=True))
  return e / e.sum(axis=axis, keepdims=True)


def np_cosine_weights(memory, keys, strengths):
  b, h, _ = keys.shape
  n = memory.shape[1]
  out = np.zeros([b, h, n])
  for bi in range(b):
    for hi in range(h):
      key = keys[bi, hi]
      sims = np.array([
          key.dot(row) / (np.sqrt(key.dot(key) + EPS) *
                          np.sqrt(row.dot(row) + EPS) + EPS)
          for row in memory[bi]])
      out[bi, hi] = np_softmax(sims * np_softplus(strengths[bi, hi]))
  return out


def np_link(prev_link, prev_prec, w):
  b, v, n = w.shape
  link = np.zeros_like(prev_link)
  for bi in range(b):
    for vi in range(v):
      for i in range(n):
        for j in range(n):
          if i == j:
            continue
          link[bi, vi, i, j] = ((1 - w[bi, vi, i] - w[bi, vi, j]) *
                                prev_link[bi, vi, i, j] +
                                w[bi, vi, i] * prev_prec[bi, vi, j])
  return link


def np_precedence(prev_prec, w):
  return (1 - w.sum(2, keepdims=True)) * prev_prec + w


def np_usage(prev_usage, prev_write_weights, free_gate, prev_read_weights):
  u = prev_usage + (1 - prev_usage) * (
      1 - np.prod(1 - prev_write_weights, axis=1))
  return u * np.prod(1 - free_gate[:, :, None] * prev_read_weights, axis=1)


def np_allocation(usage):
  b, n = usage.shape
  out = np.zeros([b, n])
  for bi in range(b):
    u = EPS + (1 - EPS) * usage[bi]
    order = np.argsort(u, kind='stable')
    running = 1.0
    for idx in order:
      out[bi, idx] = (1 - u[idx]) * running
      running *= u[idx]
  return out


def np_write_allocation(usage, write_gates):
  usage = usage.copy()
  allocs = []
  for v in range(write_gates.shape[1]):
    a = np_allocation(usage)
    allocs.append(a)
    usage = usage + (1 - usage) * write_gates[:, v:v + 1] * a
  return np.stack(allocs, axis=1)


def np_erase_and_write(memory, w, erase, values):
  b, v, n = w.shape
  out = memory.copy()
  for bi in range(b):
    keep = np.ones_like(memory[bi])
    for vi in range(v):
      keep *= 1 - np.outer(w[bi, vi], erase[bi, vi])
    out[bi] = memory[bi] * keep + sum(
        np.outer(w[bi, vi], values[bi, vi]) for vi in range(v))
  return out


def np_directional(link, prev_read, forward):
  # [B, R, V, N]: forward = L . w, backward = L^T . w.
  b, v, n, _ = link.shape
  r = prev_read.shape[1]
  out = np.zeros([b, r, v, n])
  for bi in range(b):
    for ri in range(r):
      for vi in range(v):
        mat = link[bi, vi] if forward else link[bi, vi].T
        out[bi, ri, vi] = mat.dot(prev_read[bi, ri])
  return out


def np_read_weights(content, fwd, bwd, mode, num_writes):
  backward_mode = mode[:, :, :num_writes]
  forward_mode = mode[:, :, num_writes:2 * num_writes]
  content_mode = mode[:, :, 2 * num_writes]
  return (content_mode[:, :, None] * content +
          (forward_mode[..., None] * fwd).sum(2) +
          (backward_mode[..., None] * bwd).sum(2))


def run(fetches, feed_dict=None, init=False):
  with tf.Session() as sess:
    if init:
      sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict=feed_dict)


@pytest.fixture(autouse=True)
def _graph(monkeypatch):
  # Sessions without Grappler's rewrites: these graphs run once or twice, so
  # optimising them costs more than it saves.
  config = tf.ConfigProto()
  config.graph_options.rewrite_options.disable_meta_optimizer = True
  session_cls = tf.Session
  monkeypatch.setattr(tf, 'Session',
                      lambda *a, **kw: session_cls(*a, config=config, **kw))
  np.random.seed(0)
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    yield


# ---------------------------------------------------------------------------
# Helpers.

def test_one_hot():
  np.testing.assert_array_equal(addressing.one_hot(4, 2), [0., 0., 1., 0.])
  assert dnc.one_hot is addressing.one_hot


def test_batch_invert_permutation():
  perms = np.stack([np.random.permutation(7) for _ in range(5)])
  out = run(addressing.batch_invert_permutation(tf.constant(perms)))
  for row, inv in zip(perms, out):
    np.testing.assert_array_equal(row[inv], np.arange(7))
    np.testing.assert_array_equal(inv[row], np.arange(7))


def test_batch_invert_permutation_rejects_floats():
  with pytest.raises(TypeError, match='integer'):
    addressing.batch_invert_permutation(tf.constant([[0., 1.]]))


def test_batch_gather():
  values = np.random.rand(3, 6)
  indices = np.stack([np.random.permutation(6) for _ in range(3)])
  out = run(addressing.batch_gather(tf.constant(values), tf.constant(indices)))
  np.testing.assert_allclose(out, np.take_along_axis(values, indices, 1))


def test_reduce_prod_values_and_gradient_with_zeros():
  x_np = np.random.rand(3, 4, 5)
  x_np[0, 2, 1] = 0.
  x_np[1, 0, 3] = 0.
  x_np[1, 3, 3] = 0.
  x = tf.constant(x_np)
  y = addressing.reduce_prod(x, 1)
  grad = tf.gradients(tf.reduce_sum(y), x)[0]
  y_out, g_out = run([y, grad])
  np.testing.assert_allclose(y_out, np.prod(x_np, 1))
  # Gradient of a product with respect to a factor: product of the others.
  expected = np.zeros_like(x_np)
  for i in range(4):
    expected[:, i] = np.prod(np.delete(x_np, i, axis=1), axis=1)
  np.testing.assert_allclose(g_out, expected, atol=1e-12)
  assert not np.isnan(g_out).any()


def test_weighted_softmax():
  act = np.random.randn(2, 3, 5)
  strengths = np.random.randn(2, 3)
  out = run(addressing.weighted_softmax(tf.constant(act), tf.constant(strengths),
                                        tf.nn.softplus))
  np.testing.assert_allclose(
      out, np_softmax(act * np_softplus(strengths)[..., None]), rtol=1e-10)


# ---------------------------------------------------------------------------
# CosineWeights.

def test_cosine_weights_shape():
  module = addressing.CosineWeights(3, 2)
  mem = tf.placeholder(tf.float32, [5, 7, 2])
  keys = tf.placeholder(tf.float32, [5, 3, 2])
  strengths = tf.placeholder(tf.float32, [5, 3])
  weights = module(mem, keys, strengths)
  assert weights.get_shape().as_list() == [5, 3, 7]
  assert module.module_name == 'cosine_weights'


def test_cosine_weights_values():
  mem = np.random.randn(3, 7, 4)
  keys = np.random.randn(3, 2, 4)
  keys[0, 0] = mem[0, 5]  # exact match concentrates weight at row 5
  strengths = np.random.randn(3, 2)
  strengths[0, 0] = 30.
  module = addressing.CosineWeights(2, 4)
  out = run(module(tf.constant(mem), tf.constant(keys), tf.constant(strengths)))
  np.testing.assert_allclose(out, np_cosine_weights(mem, keys, strengths),
                             rtol=1e-8, atol=1e-10)
  np.testing.assert_allclose(out.sum(-1), np.ones([3, 2]))
  assert np.argmax(out[0, 0]) == 5


def test_cosine_weights_custom_strength_op():
  mem = np.random.randn(2, 5, 3)
  keys = np.random.randn(2, 1, 3)
  strengths = np.random.rand(2, 1)
  module = addressing.CosineWeights(1, 3, strength_op=tf.identity)
  out = run(module(tf.constant(mem), tf.constant(keys), tf.constant(strengths)))
  # Identity strength: logits are the plain cosine similarities times s.
  expected = np_cosine_weights(mem, keys, np.log(np.expm1(strengths)))
  np.testing.assert_allclose(out, expected, rtol=1e-8)


def test_cosine_weights_zero_memory_rows_no_nan():
  module = addressing.CosineWeights(4, 2)
  keys = tf.random_normal([5, 4, 2])
  strengths = tf.random_normal([5, 4])
  mem = tf.concat([tf.ones([5, 1, 2]), tf.zeros([5, 9, 2])], 1)
  output = module(mem, keys, strengths)
  grads = tf.gradients(output, [mem, keys, strengths])
  out, g = run([output, grads])
  assert not np.isnan(out).any()
  for gi in g:
    assert not np.isnan(gi).any()


# ---------------------------------------------------------------------------
# TemporalLinkage.

def test_linkage_step_matches_numpy_and_records_order():
  batch, n, v, r = 3, 4, 2, 5
  module = addressing.TemporalLinkage(memory_size=n, num_writes=v)
  assert module.state_size == addressing.TemporalLinkageState(
      link=tf.TensorShape([v, n, n]), precedence_weights=tf.TensorShape([v, n]))
  link_in = tf.placeholder(tf.float64, [batch, v, n, n])
  prec_in = tf.placeholder(tf.float64, [batch, v, n])
  w_in = tf.placeholder(tf.float64, [batch, v, n])
  out = module(w_in, addressing.TemporalLinkageState(link_in, prec_in))
  assert out.link.get_shape().as_list() == [batch, v, n, n]
  assert out.precedence_weights.get_shape().as_list() == [batch, v, n]

  state = (np.zeros([batch, v, n, n]), np.zeros([batch, v, n]))
  with tf.Session() as sess:
    for step in range(5):
      w = np.random.rand(batch, v, n)
      w /= w.sum(2, keepdims=True) + 1
      if step == 3:  # head 0 writes 0 then 1; head 1 writes 3 then 2
        w[0, 0], w[0, 1] = addressing.one_hot(n, 0), addressing.one_hot(n, 3)
      elif step == 4:
        w[0, 0], w[0, 1] = addressing.one_hot(n, 1), addressing.one_hot(n, 2)
      expected = (np_link(state[0], state[1], w), np_precedence(state[1], w))
      got = sess.run(out, {link_in: state[0], prec_in: state[1], w_in: w})
      np.testing.assert_allclose(got.link, expected[0], atol=1e-12)
      np.testing.assert_allclose(got.precedence_weights, expected[1],
                                 atol=1e-12)
      state = (got.link, got.precedence_weights)

  link = state[0]
  assert link.min() >= 0 and link.max() <= 1
  np.testing.assert_array_equal(link[:, :, range(n), range(n)], 0)
  assert (link.sum(2) <= 1 + 1e-9).all() and (link.sum(3) <= 1 + 1e-9).all()
  np.testing.assert_allclose(link[0, 0, :, 0], addressing.one_hot(n, 1))
  np.testing.assert_allclose(link[0, 1, :, 3], addressing.one_hot(n, 2))

  prev_read = np.random.rand(batch, r, n)
  prev_read[0, 2] = addressing.one_hot(n, 0)
  prev_read[0, 3] = addressing.one_hot(n, 2)
  fwd = module.directional_read_weights(tf.constant(link),
                                        tf.constant(prev_read), forward=True)
  bwd = module.directional_read_weights(tf.constant(link),
                                        tf.constant(prev_read), forward=False)
  assert fwd.get_shape().as_list() == [batch, r, v, n]
  fwd, bwd = run([fwd, bwd])
  np.testing.assert_allclose(fwd, np_directional(link, prev_read, True))
  np.testing.assert_allclose(bwd, np_directional(link, prev_read, False))
  # Reading location 0 with head 0's links moves forward to 1; reading 2
  # with head 1's links moves backward to 3.
  np.testing.assert_allclose(fwd[0, 2, 0], addressing.one_hot(n, 1))
  np.testing.assert_allclose(bwd[0, 3, 1], addressing.one_hot(n, 3))


def test_precedence_weights_properties():
  batch, n, v = 4, 6, 3
  module = addressing.TemporalLinkage(memory_size=n, num_writes=v)
  prev = np.random.rand(batch, v, n)
  prev /= prev.sum(2, keepdims=True) + 1
  w = np.random.rand(batch, v, n)
  w /= w.sum(2, keepdims=True) + 1
  w[0, 1] = 0  # no writing: precedence unchanged
  w[1, 2] /= w[1, 2].sum()  # full write: precedence replaced
  out = run(module._precedence_weights(
      prev_precedence_weights=tf.constant(prev), write_weights=tf.constant(w)))
  np.testing.assert_allclose(out, np_precedence(prev, w))
  assert (out.sum(2) <= 1 + 1e-12).all()
  np.testing.assert_allclose(out[0, 1], prev[0, 1])
  np.testing.assert_allclose(out[1, 2], w[1, 2])


def test_linkage_initial_state_zeros():
  module = addressing.TemporalLinkage(memory_size=3, num_writes=2)
  state = run(module.initial_state(4))
  assert state.link.shape == (4, 2, 3, 3)
  assert state.precedence_weights.shape == (4, 2, 3)
  assert not state.link.any() and not state.precedence_weights.any()


# ---------------------------------------------------------------------------
# Freeness.

def test_freeness_usage_matches_numpy():
  batch, n, r, v = 5, 11, 3, 7
  module = addressing.Freeness(n)
  free_gate = np.random.rand(batch, r)
  prev_read = np.random.rand(batch, r, n)
  prev_read[1, :, 3] = 0
  prev_read /= prev_read.sum(2, keepdims=True)
  prev_write = np.random.rand(batch, v, n)
  prev_write /= prev_write.sum(2, keepdims=True)
  prev_usage = np.random.rand(batch, n)
  prev_write[1, 2, 3] = 1  # full write at batch 1, location 3
  prev_read[2, 0, 4] = 1  # full read at batch 2, location 4 ...
  free_gate[2, 0] = 1  # ... fully freed
  usage = module(tf.constant(prev_write), tf.constant(free_gate),
                 tf.constant(prev_read), tf.constant(prev_usage))
  assert usage.get_shape().as_list() == [batch, n]
  usage = run(usage)
  np.testing.assert_allclose(
      usage, np_usage(prev_usage, prev_write, free_gate, prev_read),
      rtol=1e-12)
  assert usage.min() >= 0 and usage.max() <= 1
  assert usage[1][3] == 1
  assert usage[2][4] == 0


def test_freeness_no_gradient_to_write_weights():
  module = addressing.Freeness(4)
  w = tf.constant(np.random.rand(2, 1, 4))
  usage = module(w, tf.constant(np.random.rand(2, 1)),
                 tf.constant(np.random.rand(2, 1, 4)),
                 tf.constant(np.random.rand(2, 4)))
  assert tf.gradients(tf.reduce_sum(usage), w) == [None]


def test_allocation_matches_numpy():
  usage = np.random.rand(7, 13)
  module = addressing.Freeness(13)
  alloc = run(module._allocation(tf.constant(usage)))
  np.testing.assert_allclose(alloc, np_allocation(usage), rtol=1e-10)
  np.testing.assert_array_equal(np.argmin(usage, 1), np.argmax(alloc, 1))
  np.testing.assert_array_equal(np.argmax(usage, 1), np.argmin(alloc, 1))
  np.testing.assert_allclose(alloc.sum(1), np.ones(7), atol=0.01)


def test_allocation_gradient():
  usage = tf.constant(np.random.rand(1, 5))
  alloc = addressing.Freeness(5)._allocation(usage)
  with tf.Session():
    err = tf.test.compute_gradient_error(usage, [1, 5], alloc, [1, 5],
                                         delta=1e-5)
  assert err < 1e-4


def test_write_allocation_weights_several_heads():
  batch, n, v = 7, 23, 5
  module = addressing.Freeness(n)
  usage = np.random.rand(batch, n)
  gates = np.random.rand(batch, v)
  # Heads 1 and 3 closed in batch 0: heads (1, 2) and (3, 4) see the same usage.
  gates[0, 1] = gates[0, 3] = 0
  gates[0, 0] = gates[0, 2] = 1
  usage[1] = usage[1] * 0.9 + 0.1
  usage[1][4] = 0
  usage[1][3] = 1e-4
  gates[1, 0] = gates[1, 1] = 1
  weights = run(module.write_allocation_weights(
      usage=tf.constant(usage), write_gates=tf.constant(gates), num_writes=v))
  assert weights.shape == (batch, v, n)
  np.testing.assert_allclose(weights, np_write_allocation(usage, gates),
                             rtol=1e-9, atol=1e-12)
  assert weights.min() >= 0 and weights.max() <= 1
  np.testing.assert_allclose(weights.sum(2), np.ones([batch, v]), atol=1e-3)
  assert np.abs(weights[0, 0] - weights[0, 1]).max() > 0.1
  np.testing.assert_array_equal(weights[0, 1], weights[0, 2])
  np.testing.assert_array_equal(weights[0, 3], weights[0, 4])
  assert weights[1, 0, 4] == pytest.approx(1, abs=1e-5)
  assert weights[1, 1, 3] == pytest.approx(1, abs=1e-3)


def test_write_allocation_weights_gradient():
  module = addressing.Freeness(5)
  usage = tf.constant(np.random.rand(3, 5))
  gates = tf.constant(np.random.rand(3, 2))
  weights = module.write_allocation_weights(usage, gates, 2)
  with tf.Session():
    err = tf.test.compute_gradient_error([usage, gates], [[3, 5], [3, 2]],
                                         weights, [3, 2, 5], delta=1e-5)
  assert err < 0.01


# ---------------------------------------------------------------------------
# MemoryAccess.

B, N, W, R, V, INPUT = 2, 6, 3, 2, 2, 7


def make_access():
  return dnc.MemoryAccess(memory_size=N, word_size=W, num_reads=R,
                          num_writes=V)


def test_memory_access_defaults_and_sizes():
  module = dnc.MemoryAccess()
  assert module.module_name == 'memory_access'
  assert module.output_size == tf.TensorShape([1, 20])
  assert module.state_size == dnc.AccessState(
      memory=tf.TensorShape([128, 20]),
      read_weights=tf.TensorShape([1, 128]),
      write_weights=tf.TensorShape([1, 128]),
      linkage=dnc.TemporalLinkageState(
          link=tf.TensorShape([1, 128, 128]),
          precedence_weights=tf.TensorShape([1, 128])),
      usage=tf.TensorShape([128]))


def test_erase_and_write_matches_numpy():
  memory = np.random.randn(B, N, W)
  w = np.random.rand(B, V, N)
  erase = np.random.rand(B, V, W)
  erase[0, 0] = 1.  # full erase gives exact zero factors
  values = np.random.randn(B, V, W)
  out = run(dnc._erase_and_write(tf.constant(memory), tf.constant(w),
                                 tf.constant(erase), tf.constant(values)))
  np.testing.assert_allclose(out, np_erase_and_write(memory, w, erase, values),
                             rtol=1e-10)


def test_write_weights_matches_numpy():
  module = make_access()
  memory = 10 * (np.random.rand(B, N, W) - 0.5)
  usage = np.random.rand(B, N)
  alloc_gate = np.random.rand(B, V)
  write_gate = np.random.rand(B, V)
  keys = np.random.rand(B, V, W)
  strengths = np.random.rand(B, V)
  usage[:, 3] = 0
  alloc_gate[:, 0] = 1
  write_gate[:, 0] = 1
  inputs = {'allocation_gate': tf.constant(alloc_gate),
            'write_gate': tf.constant(write_gate),
            'write_content_keys': tf.constant(keys),
            'write_content_strengths': tf.constant(strengths)}
  out = run(module._write_weights(inputs, tf.constant(memory),
                                  tf.constant(usage)))
  content = np_cosine_weights(memory, keys, strengths)
  alloc = np_write_allocation(usage, alloc_gate * write_gate)
  expected = write_gate[..., None] * (
      alloc_gate[..., None] * alloc + (1 - alloc_gate[..., None]) * content)
  np.testing.assert_allclose(out, expected, rtol=1e-8, atol=1e-12)
  np.testing.assert_allclose(out[:, 0], np.stack([addressing.one_hot(N, 3)] * B),
                             atol=1e-3)


def test_read_weights_matches_numpy():
  module = make_access()
  memory = 10 * (np.random.rand(B, N, W) - 0.5)
  prev_read = np.random.rand(B, R, N)
  prev_read /= prev_read.sum(2, keepdims=True) + 1
  link = np.random.rand(B, V, N, N)
  link /= np.maximum(link.sum(2, keepdims=True), 1)
  link /= np.maximum(link.sum(3, keepdims=True), 1)
  keys = np.random.rand(B, R, W)
  keys[0, 0] = memory[0, 3]
  strengths = np.full([B, R], 100.)
  mode = np_softmax(np.random.randn(B, R, 1 + 2 * V))
  mode[0, 0] = addressing.one_hot(1 + 2 * V, 2 * V)  # pure content read
  inputs = {'read_content_keys': tf.constant(keys),
            'read_content_strengths': tf.constant(strengths),
            'read_mode': tf.constant(mode)}
  out = run(module._read_weights(inputs, memory, prev_read, link))
  expected = np_read_weights(np_cosine_weights(memory, keys, strengths),
                             np_directional(link, prev_read, True),
                             np_directional(link, prev_read, False), mode, V)
  np.testing.assert_allclose(out, expected, rtol=1e-8, atol=1e-12)
  np.testing.assert_allclose(out[0, 0], addressing.one_hot(N, 3), atol=1e-3)


def test_read_inputs_shapes_and_read_mode():
  module = make_access()
  parts = module._read_inputs(tf.random_normal([B, INPUT]))
  shapes = {k: v.get_shape().as_list() for k, v in parts.items()}
  assert shapes == {
      'read_content_keys': [B, R, W], 'read_content_strengths': [B, R],
      'write_content_keys': [B, V, W], 'write_content_strengths': [B, V],
      'write_vectors': [B, V, W], 'erase_vectors': [B, V, W],
      'free_gate': [B, R], 'allocation_gate': [B, V], 'write_gate': [B, V],
      'read_mode': [B, R, 1 + 2 * V]}
  vals = run(parts, init=True)
  np.testing.assert_allclose(vals['read_mode'].sum(2), np.ones([B, R]),
                             rtol=1e-6)
  for key in ('erase_vectors', 'free_gate', 'allocation_gate', 'write_gate',
              'read_mode'):
    assert vals[key].min() >= 0 and vals[key].max() <= 1


def np_access_step(parts, prev):
  """One MemoryAccess step in NumPy from the interface values `parts`."""
  usage = np_usage(prev.usage, prev.write_weights, parts['free_gate'],
                   prev.read_weights)
  ag, wg = parts['allocation_gate'], parts['write_gate']
  content_w = np_cosine_weights(prev.memory, parts['write_content_keys'],
                                parts['write_content_strengths'])
  alloc = np_write_allocation(usage, ag * wg)
  write_w = wg[..., None] * (ag[..., None] * alloc +
                             (1 - ag[..., None]) * content_w)
  memory = np_erase_and_write(prev.memory, write_w, parts['erase_vectors'],
                              parts['write_vectors'])
  link = np_link(prev.linkage.link, prev.linkage.precedence_weights, write_w)
  prec = np_precedence(prev.linkage.precedence_weights, write_w)
  read_w = np_read_weights(
      np_cosine_weights(memory, parts['read_content_keys'],
                        parts['read_content_strengths']),
      np_directional(link, prev.read_weights, True),
      np_directional(link, prev.read_weights, False), parts['read_mode'], V)
  read_words = np.einsum('brn,bnw->brw', read_w, memory)
  return read_words, dnc.AccessState(memory, read_w, write_w,
                                     dnc.TemporalLinkageState(link, prec),
                                     usage)


def test_memory_access_three_steps_match_numpy():
  module = make_access()
  inputs = tf.placeholder(tf.float32, [B, INPUT])
  state_ph = tf.nest.map_structure(
      lambda s: tf.placeholder(tf.float32, [B] + s.as_list()),
      module.state_size)
  read_words, next_state = module(inputs, state_ph)
  with module._enter_variable_scope(reuse=True):
    parts = module._read_inputs(inputs)  # the same (reused) variables
  assert len(tf.trainable_variables()) == 20
  assert read_words.get_shape().as_list() == [B, R, W]
  for s, size in zip(tf.nest.flatten(next_state),
                     tf.nest.flatten(module.state_size)):
    assert s.get_shape().as_list() == [B] + size.as_list()

  # A random valid state (from all-zero usage, allocation order would hinge
  # on ties that float32 and float64 break differently).
  def normalised(*shape):
    x = np.random.rand(*shape)
    return x / (x.sum(-1, keepdims=True) + 1)
  link = normalised(B, V, N, N)
  link[:, :, range(N), range(N)] = 0
  state = dnc.AccessState(
      memory=np.random.randn(B, N, W), read_weights=normalised(B, R, N),
      write_weights=normalised(B, V, N),
      linkage=dnc.TemporalLinkageState(link, normalised(B, V, N)),
      usage=np.random.rand(B, N))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(3):
      feed = {inputs: np.random.randn(B, INPUT)}
      feed.update(zip(tf.nest.flatten(state_ph), tf.nest.flatten(state)))
      got_words, got_state, got_parts = sess.run(
          [read_words, next_state, parts], feed)
      exp_words, exp_state = np_access_step(
          {k: v.astype(np.float64) for k, v in got_parts.items()}, state)
      np.testing.assert_allclose(got_words, exp_words, rtol=1e-3, atol=1e-5)
      for got, exp in zip(tf.nest.flatten(got_state),
                          tf.nest.flatten(exp_state)):
        np.testing.assert_allclose(got, exp, rtol=1e-3, atol=1e-5)
      state = got_state


def test_memory_access_variables_and_gradients():
  module = make_access()
  initial_state = module.initial_state(B)
  inputs = tf.constant(np.random.randn(B, INPUT), tf.float32)
  output, _ = module(inputs, initial_state)
  names = sorted(v.op.name for v in module.get_variables())
  expected = sorted(
      'memory_access/%s/%s' % (layer, p)
      for layer in ('write_vectors', 'erase_vectors', 'free_gate',
                    'allocation_gate', 'write_gate', 'read_mode', 'write_keys',
                    'write_strengths', 'read_keys', 'read_strengths')
      for p in ('w', 'b'))
  assert names == expected
  shapes = {v.op.name: v.get_shape().as_list() for v in module.get_variables()}
  assert shapes['memory_access/read_mode/w'] == [INPUT, R * (1 + 2 * V)]
  assert shapes['memory_access/write_vectors/w'] == [INPUT, V * W]
  loss = tf.reduce_sum(output)
  grads = tf.gradients(loss, module.get_variables())
  assert all(g is not None for g in grads)

  # Gradients through the state, checked numerically.
  to_check = [inputs, initial_state.memory, initial_state.read_weights,
              initial_state.linkage.precedence_weights,
              initial_state.linkage.link]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    err = tf.test.compute_gradient_error(
        to_check, [x.get_shape().as_list() for x in to_check], loss, [1])
  assert err < 0.1


def test_memory_access_dynamic_rnn_trains():
  module = make_access()
  inputs = tf.random_normal([4, B, INPUT])
  output, _ = tf.nn.dynamic_rnn(cell=module, inputs=inputs,
                                initial_state=module.initial_state(B),
                                time_major=True)
  assert output.get_shape().as_list() == [4, B, R, W]
  loss = tf.reduce_mean(tf.square(output - 0.5))
  train_op = tf.train.GradientDescentOptimizer(1.).minimize(loss)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    before = sess.run(module.get_variables())
    sess.run(train_op)
    after = sess.run(module.get_variables())
  assert all(np.isfinite(a).all() for a in after)
  assert any(np.abs(a - b).max() > 0 for a, b in zip(after, before))


# ---------------------------------------------------------------------------
# DNC.

ACCESS_CONFIG = {'memory_size': N, 'word_size': W, 'num_reads': R,
                 'num_writes': V}
HIDDEN, OUT = 8, 5


def test_dnc_state_and_output_shapes():
  core = dnc.DNC(ACCESS_CONFIG, {'hidden_size': HIDDEN}, OUT, clip_value=20)
  assert core.output_size == tf.TensorShape([OUT])
  state = core.initial_state(B)
  assert isinstance(state, dnc.DNCState)
  assert state.access_output.get_shape().as_list() == [B, R, W]
  assert state.access_state.memory.get_shape().as_list() == [B, N, W]
  assert state.access_state.read_weights.get_shape().as_list() == [B, R, N]
  assert state.access_state.write_weights.get_shape().as_list() == [B, V, N]
  assert state.access_state.linkage.link.get_shape().as_list() == [B, V, N, N]
  assert state.access_state.usage.get_shape().as_list() == [B, N]
  assert state.controller_state.hidden.get_shape().as_list() == [B, HIDDEN]
  # zero_state (used by dynamic_rnn without an initial state) agrees.
  zero = core.zero_state(B, tf.float32)
  tf.nest.assert_same_structure(zero, state)
  for a, b in zip(tf.nest.flatten(zero), tf.nest.flatten(state)):
    assert a.get_shape().as_list() == b.get_shape().as_list()

  inputs = tf.random_normal([B, 3, 2])  # flattened to [B, 6]
  output, next_state = core(inputs, state)
  assert output.get_shape().as_list() == [B, OUT]
  tf.nest.assert_same_structure(next_state, state)
  for a, b in zip(tf.nest.flatten(next_state), tf.nest.flatten(state)):
    assert a.get_shape().as_list() == b.get_shape().as_list()


def test_dnc_variable_names():
  core = dnc.DNC(ACCESS_CONFIG, {'hidden_size': HIDDEN}, OUT)
  core(tf.zeros([B, 4]), core.initial_state(B))
  names = {v.op.name: v.get_shape().as_list() for v in core.get_variables()}
  assert names['dnc/lstm/w_gates'] == [4 + R * W + HIDDEN, 4 * HIDDEN]
  assert names['dnc/lstm/b_gates'] == [4 * HIDDEN]
  assert names['dnc/output_linear/w'] == [HIDDEN + R * W, OUT]
  assert names['dnc/output_linear/b'] == [OUT]
  assert names['dnc/memory_access/write_keys/w'] == [HIDDEN, V * W]
  assert len(names) == 2 + 2 + 20


def test_dnc_step_composes_controller_access_and_output():
  core = dnc.DNC(ACCESS_CONFIG, {'hidden_size': HIDDEN}, OUT)
  inputs = tf.random_normal([B, 4])
  state = core.initial_state(B)
  output, next_state = core(inputs, state)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out, ns, variables = sess.run(
        [output, next_state, {v.op.name: v for v in core.get_variables()}])
  h = ns.controller_state.hidden
  concat = np.concatenate([h, ns.access_output.reshape(B, -1)], 1)
  np.testing.assert_allclose(
      out, concat.dot(variables['dnc/output_linear/w']) +
      variables['dnc/output_linear/b'], rtol=1e-4, atol=1e-5)


def test_dnc_clipping():
  big = {'hidden_size': HIDDEN}
  core = dnc.DNC(ACCESS_CONFIG, big, OUT, clip_value=1e-3)
  inputs = 100. * tf.random_normal([B, 4])
  output, next_state = core(inputs, core.initial_state(B))
  out, cs = run([output, next_state.controller_state], init=True)
  assert np.abs(out).max() <= 1e-3 + 1e-9
  assert np.abs(cs.hidden).max() <= 1e-3 + 1e-9
  assert np.abs(cs.cell).max() <= 1e-3 + 1e-9

  unclipped = dnc.DNC(ACCESS_CONFIG, big, OUT, clip_value=0)
  output2, next_state2 = unclipped(inputs, unclipped.initial_state(B))
  cell = run(next_state2.controller_state.cell, init=True)
  assert np.abs(cell).max() > 1e-2


def test_dnc_dynamic_rnn_gradients_reach_every_variable():
  core = dnc.DNC(ACCESS_CONFIG, {'hidden_size': HIDDEN}, OUT, clip_value=20)
  inputs = tf.random_normal([5, B, 4])
  output, final_state = tf.nn.dynamic_rnn(
      cell=core, inputs=inputs, time_major=True,
      initial_state=core.initial_state(B))
  assert output.get_shape().as_list() == [5, B, OUT]
  loss = tf.reduce_mean(tf.square(output))
  variables = core.get_variables()
  grads = tf.gradients(loss, variables)
  assert all(g is not None for g in grads), [
      v.op.name for v, g in zip(variables, grads) if g is None]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    grad_vals = sess.run(grads)
  for v, g in zip(variables, grad_vals):
    assert np.isfinite(g).all(), v.op.name
    assert np.abs(g).max() > 0, v.op.name


def test_dnc_trainable_initial_state():
  core = dnc.DNC(ACCESS_CONFIG, {'hidden_size': HIDDEN}, OUT)
  state = core.initial_state(B, trainable=True)
  assert state.access_state.memory.get_shape().as_list() == [B, N, W]
  assert len(tf.trainable_variables()) == len(tf.nest.flatten(state))
