"""Tests for spectral normalization (spectral_normalization.py)."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import spectral_normalization
import tensorflow.compat.v1 as tf


def _numpy_power_iteration(w_mat, u, num_iters, eps=1e-4):
  for _ in range(num_iters):
    v = u.dot(w_mat.T)
    v = v / np.sqrt(np.sum(v * v) + eps)
    u = v.dot(w_mat)
    u = u / np.sqrt(np.sum(u * u) + eps)
  sigma = v.dot(w_mat).dot(u.T)[0, 0]
  return u, v, sigma


@pytest.mark.parametrize("shape,num_iters", [([5, 3], 1), ([2, 2, 3, 4], 3)])
def test_spectral_norm_matches_numpy(shape, num_iters):
  w_value = np.random.RandomState(0).randn(*shape).astype(np.float32)
  with tf.Graph().as_default():
    with tf.variable_scope("scope"):
      weight = tf.get_variable("w", initializer=w_value)
      result = spectral_normalization.spectral_norm(
          weight, num_iters=num_iters, update_collection="updates")
    u0 = [v for v in tf.global_variables() if v.op.name == "scope/u0"][0]
    assert u0.get_shape().as_list() == [1, shape[-1]]
    assert not u0.trainable
    assert u0 not in tf.trainable_variables()
    updates = tf.get_collection("updates")
    assert len(updates) == 1
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      u_init = sess.run(u0)
      out = sess.run(result)
      np.testing.assert_allclose(sess.run(u0), u_init)  # Deferred update.
      sess.run(updates)
      u_after = sess.run(u0)
  w_mat = w_value.reshape(-1, shape[-1])
  u, _, sigma = _numpy_power_iteration(w_mat, u_init, num_iters)
  assert out["w_bar"].shape == tuple(shape)
  np.testing.assert_allclose(out["sigma"], sigma, rtol=1e-5)
  np.testing.assert_allclose(out["w_bar"], w_value / sigma, rtol=1e-5)
  np.testing.assert_allclose(out["u0"], u, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(u_after, u, rtol=1e-4, atol=1e-6)


def test_sigma_converges_to_largest_singular_value_and_immediate_update():
  w_value = np.random.RandomState(1).randn(6, 4)
  with tf.Graph().as_default():
    weight = tf.get_variable("w", initializer=w_value)
    result = spectral_normalization.spectral_norm(weight, num_iters=2)
    assert result["w_bar"].dtype == tf.float64  # Cast back.
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(30):  # Each run advances u0 (control dependency).
        sigma, w_bar = sess.run([result["sigma"], result["w_bar"]])
  largest = np.linalg.svd(w_value, compute_uv=False)[0]
  np.testing.assert_allclose(sigma, largest, rtol=1e-4)
  np.testing.assert_allclose(np.linalg.svd(w_bar, compute_uv=False)[0], 1.0,
                             rtol=1e-4)


def test_gradient_treats_singular_vectors_as_constants():
  w_value = np.random.RandomState(2).randn(4, 3).astype(np.float32)
  r_value = np.random.RandomState(3).randn(4, 3).astype(np.float32)
  with tf.Graph().as_default():
    weight = tf.get_variable("w", initializer=w_value)
    result = spectral_normalization.spectral_norm(weight,
                                                  update_collection="u")
    u_var = [v for v in tf.global_variables() if v.op.name == "u0"][0]
    loss = tf.reduce_sum(result["w_bar"] * r_value)
    grad = tf.gradients(loss, weight)[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      u_init, grad_value = sess.run([u_var, grad])
  u, v, sigma = _numpy_power_iteration(w_value, u_init, 1)
  expected = (r_value / sigma -
              np.sum(w_value * r_value) / sigma ** 2 * v.T.dot(u))
  np.testing.assert_allclose(grad_value, expected, rtol=1e-4, atol=1e-5)


def test_num_iters_validation():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="num_iters"):
      spectral_normalization.spectral_norm(tf.ones([2, 2]), num_iters=0)


def test_wrapped_linear_names_and_values():
  x_value = np.random.RandomState(4).randn(3, 5).astype(np.float32)
  with tf.Graph().as_default():
    sn_linear = snt.wrap_with_spectral_norm(snt.Linear,
                                            {"num_iters": 1, "eps": 1e-4})
    module = sn_linear(output_size=4, name="lin")
    assert isinstance(module, spectral_normalization.SpectralNormWrapper)
    assert module.module_name == "lin_wrapper"
    assert module.pow_iter_collection is None
    out = module(tf.constant(x_value))
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == ["lin_wrapper/lin/b", "lin_wrapper/lin/u0",
                     "lin_wrapper/lin/w"]
    assert sorted(v.op.name for v in tf.trainable_variables()) == [
        "lin_wrapper/lin/b", "lin_wrapper/lin/w"]
    w_var, b_var, u_var = [
        v for n in ("w", "b", "u0") for v in tf.global_variables()
        if v.op.name == "lin_wrapper/lin/" + n]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w_value, b_value, u_init = sess.run([w_var, b_var, u_var])
      out_value = sess.run(out)
      u_after = sess.run(u_var)
  u, _, sigma = _numpy_power_iteration(w_value, u_init, 1)
  np.testing.assert_allclose(out_value, x_value.dot(w_value / sigma) + b_value,
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(u_after, u, rtol=1e-4, atol=1e-6)


def test_default_names_and_deferred_power_iteration():
  with tf.Graph().as_default():
    sn_linear = snt.wrap_with_spectral_norm(snt.Linear,
                                            pow_iter_collection="pow_iter")
    module = sn_linear(3)
    assert module.scope_name == "sn_wrapper"
    x = tf.ones([2, 3])
    out_immediate = module(x)  # enable_power_iteration=True.
    assert not tf.get_collection("pow_iter")
    out_deferred = module(x, enable_power_iteration=False)
    updates = tf.get_collection("pow_iter")
    assert len(updates) == 1
    u_var = [v for v in tf.global_variables() if v.op.name.endswith("u0")][0]
    assert u_var.op.name == "sn_wrapper/linear/u0"
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      u_init = sess.run(u_var)
      sess.run(out_deferred)
      np.testing.assert_allclose(sess.run(u_var), u_init)
      sess.run(updates)
      u_once = sess.run(u_var)
      assert not np.allclose(u_once, u_init)
      sess.run(out_immediate)
      assert not np.allclose(sess.run(u_var), u_once)


def test_deferred_without_collection_still_updates():
  with tf.Graph().as_default():
    module = snt.wrap_with_spectral_norm(snt.Linear)(2)
    out = module(tf.ones([1, 3]), enable_power_iteration=False)
    u_var = [v for v in tf.global_variables() if v.op.name.endswith("u0")][0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      u_init = sess.run(u_var)
      sess.run(out)
      assert not np.allclose(sess.run(u_var), u_init)


def test_wrapped_conv_normalizes_only_w():
  with tf.Graph().as_default():
    module = snt.wrap_with_spectral_norm(snt.Conv2D)(
        output_channels=4, kernel_shape=3, name="conv")
    out = module(tf.ones([1, 5, 5, 2]))
    assert out.get_shape().as_list() == [1, 5, 5, 4]
    names = sorted(v.op.name for v in tf.global_variables())
    assert names == ["conv_wrapper/conv/b", "conv_wrapper/conv/u0",
                     "conv_wrapper/conv/w"]
    u_var = [v for v in tf.global_variables() if v.op.name.endswith("u0")][0]
    assert u_var.get_shape().as_list() == [1, 4]
