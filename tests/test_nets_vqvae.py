"""Tests for snt.nets.VectorQuantizer and snt.nets.VectorQuantizerEMA."""

import numpy as np
import pytest
from sonnet.python.modules import nets
import tensorflow.compat.v1 as tf

D = 3
K = 5


def _np_quantize(x, w):
  """Nearest column of `w` for each row of `x` (flattened over leading dims)."""
  flat = x.reshape(-1, w.shape[0])
  dist = ((flat[:, :, None] - w[None, :, :])**2).sum(axis=1)
  idx = dist.argmin(axis=1)
  return idx, w[:, idx].T


def test_variables_created_at_construction():
  with tf.Graph().as_default():
    vq = nets.VectorQuantizer(embedding_dim=D, num_embeddings=K,
                              commitment_cost=0.25)
    assert vq.embeddings.op.name == "vq_layer/embedding"
    assert vq.embeddings.get_shape().as_list() == [D, K]
    assert vq.embeddings in tf.trainable_variables()
    ema = nets.VectorQuantizerEMA(embedding_dim=D, num_embeddings=K,
                                  commitment_cost=0.25, decay=0.9)
    assert ema.module_name == "VectorQuantizerEMA"
    names = sorted(v.op.name for v in tf.global_variables()
                   if v.op.name.startswith("VectorQuantizerEMA"))
    assert names == ["VectorQuantizerEMA/ema_cluster_size",
                     "VectorQuantizerEMA/ema_dw",
                     "VectorQuantizerEMA/embedding"]
    assert ema.embeddings.get_shape().as_list() == [D, K]


def test_uniform_unit_scaling_init_range():
  with tf.Graph().as_default():
    vq = nets.VectorQuantizer(embedding_dim=64, num_embeddings=500,
                              commitment_cost=0.25)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w = sess.run(vq.embeddings)
    bound = np.sqrt(3.0 / 64)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.9 * bound


@pytest.mark.parametrize("shape", [(7, D), (2, 3, 4, D)])
def test_vq_values_and_losses(shape):
  with tf.Graph().as_default():
    vq = nets.VectorQuantizer(embedding_dim=D, num_embeddings=K,
                              commitment_cost=0.25)
    x = tf.placeholder(tf.float32, shape)
    out = vq(x, is_training=True)
    assert out["quantize"].get_shape().as_list() == list(shape)
    assert out["encoding_indices"].get_shape().as_list() == list(shape[:-1])
    assert out["encodings"].get_shape().as_list() == [
        int(np.prod(shape[:-1])), K]
    xv = np.random.randn(*shape).astype(np.float32)
    grad_x = tf.gradients(tf.reduce_sum(out["quantize"] * 2.0), x)[0]
    grad_w = tf.gradients(out["loss"], vq.embeddings)[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      res, gx, gw, w = sess.run([out, grad_x, grad_w, vq.embeddings], {x: xv})
    idx, q = _np_quantize(xv, w)
    np.testing.assert_array_equal(res["encoding_indices"].ravel(), idx)
    np.testing.assert_allclose(res["quantize"].reshape(-1, D), q, atol=1e-6)
    np.testing.assert_array_equal(res["encodings"], np.eye(K)[idx])
    mse = np.mean((q - xv.reshape(-1, D))**2)
    np.testing.assert_allclose(res["loss"], 1.25 * mse, rtol=1e-5)
    probs = np.eye(K)[idx].mean(axis=0)
    np.testing.assert_allclose(
        res["perplexity"], np.exp(-np.sum(probs * np.log(probs + 1e-10))),
        rtol=1e-5)
    # Straight-through estimator: d quantize / d inputs is the identity.
    np.testing.assert_allclose(gx, 2.0 * np.ones_like(xv))
    # Only the codebook term reaches the embeddings.
    n = xv.size
    expected_gw = np.zeros_like(w)
    for row, k in zip(xv.reshape(-1, D), idx):
      expected_gw[:, k] += 2.0 * (w[:, k] - row) / n
    np.testing.assert_allclose(gw, expected_gw, rtol=1e-4, atol=1e-6)


def test_vq_quantize_method_and_runtime_shape_check():
  with tf.Graph().as_default():
    vq = nets.VectorQuantizer(embedding_dim=D, num_embeddings=K,
                              commitment_cost=0.25)
    q = vq.quantize(tf.constant([[0, 4], [1, 1]], dtype=tf.int64))
    x = tf.placeholder(tf.float32, [None, None])
    out = vq(x, is_training=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      qv, w = sess.run([q, vq.embeddings])
      np.testing.assert_allclose(qv, w.T[[[0, 4], [1, 1]]])
      with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(out["quantize"], {x: np.ones([2, D + 1])})


def _np_ema_step(state, x, decay, eps):
  """One training step of VectorQuantizerEMA in NumPy (zero-debiased EMAs)."""
  w = state["w"]
  idx, _ = _np_quantize(x, w)
  enc = np.eye(w.shape[1])[idx]
  flat = x.reshape(-1, w.shape[0])
  t = state["t"] + 1
  state["biased_cs"] = state["biased_cs"] * decay + enc.sum(0) * (1 - decay)
  state["biased_dw"] = state["biased_dw"] * decay + (flat.T @ enc) * (1 - decay)
  cs = state["biased_cs"] / (1 - decay**t)
  dw = state["biased_dw"] / (1 - decay**t)
  n = cs.sum()
  smoothed = (cs + eps) / (n + w.shape[1] * eps) * n
  new_state = dict(state, t=t, w=dw / smoothed[None, :], cs=cs, dw=dw)
  return idx, new_state


def test_ema_updates_match_numpy():
  decay, eps = 0.8, 1e-5
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    ema = nets.VectorQuantizerEMA(embedding_dim=D, num_embeddings=K,
                                  commitment_cost=0.5, decay=decay,
                                  epsilon=eps)
    x = tf.placeholder(tf.float32, [6, D])
    out = ema(x, is_training=True)
    eval_out = ema(x, is_training=False)
    cs_var = [v for v in tf.global_variables()
              if v.op.name == "VectorQuantizerEMA/ema_cluster_size"][0]
    dw_var = [v for v in tf.global_variables()
              if v.op.name == "VectorQuantizerEMA/ema_dw"][0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w0 = sess.run(ema.embeddings)
      state = {"w": w0, "t": 0, "biased_cs": np.zeros(K),
               "biased_dw": np.zeros((D, K))}
      rng = np.random.RandomState(0)
      for _ in range(3):
        xv = rng.randn(6, D).astype(np.float32)
        w_before = state["w"]
        res = sess.run(out, {x: xv})
        idx, state = _np_ema_step(state, xv, decay, eps)
        np.testing.assert_array_equal(res["encoding_indices"], idx)
        # The loss is the commitment loss against the pre-update codes.
        e_latent = np.mean((w_before[:, idx].T - xv)**2)
        np.testing.assert_allclose(res["loss"], 0.5 * e_latent, rtol=1e-4)
        w, cs, dw = sess.run([ema.embeddings, cs_var, dw_var])
        np.testing.assert_allclose(cs, state["cs"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dw, state["dw"], rtol=1e-4, atol=1e-5)
        # Codes with no assignments are divided by a tiny smoothed count;
        # compare only the codes that were ever used.
        used = state["cs"] > 1e-3
        np.testing.assert_allclose(w[:, used], state["w"][:, used],
                                   rtol=1e-3, atol=1e-4)
        state["w"] = w
      # Evaluation mode does not touch the codes.
      w_before = sess.run(ema.embeddings)
      sess.run(eval_out, {x: xv})
      np.testing.assert_array_equal(sess.run(ema.embeddings), w_before)


def test_ema_variables_captured_and_reused():
  with tf.Graph().as_default():
    ema = nets.VectorQuantizerEMA(embedding_dim=D, num_embeddings=K,
                                  commitment_cost=0.25, decay=0.99)
    x = tf.ones([4, D])
    ema(x, is_training=True)
    n_vars = len(tf.global_variables())
    ema(x, is_training=True)
    assert len(tf.global_variables()) == n_vars
    assert ema.embeddings in ema.variables
    assert len(ema.trainable_variables) >= 1


def test_ema_is_training_must_be_python_bool():
  with tf.Graph().as_default():
    ema = nets.VectorQuantizerEMA(embedding_dim=D, num_embeddings=K,
                                  commitment_cost=0.25, decay=0.99)
    with pytest.raises(TypeError, match="Python bool"):
      ema(tf.ones([4, D]), is_training=tf.constant(True))
