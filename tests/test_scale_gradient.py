"""Tests for sonnet/python/modules/scale_gradient.py."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


@pytest.mark.parametrize("scale", [2.0, -0.5, 3])
def test_scaled_gradient(scale):
  x = tf.placeholder(tf.float32, [3])
  y = snt.scale_gradient(x, scale)
  assert y.get_shape().as_list() == [3]
  grad = tf.gradients(y * y, x)[0]
  value = np.array([1.0, -2.0, 3.0], np.float32)
  with tf.Session() as sess:
    y_v, grad_v = sess.run([y, grad], {x: value})
  np.testing.assert_array_equal(y_v, value)
  np.testing.assert_allclose(grad_v, 2 * value * scale)


def test_gradient_error():
  x = tf.constant(np.random.rand(2, 3))
  same = snt.scale_gradient(x, 1.0 + 0.0j.real)  # Exactly 1: identity.
  doubled = snt.scale_gradient(x, 2.0)
  with tf.Session():
    assert tf.test.compute_gradient_error(x, [2, 3], same, [2, 3]) < 1e-8
    assert tf.test.compute_gradient_error(
        x, [2, 3], doubled, [2, 3]) == pytest.approx(1.0)


def test_special_scales():
  x = tf.constant([1.0, 2.0])
  stopped = snt.scale_gradient(x, 0.0)
  assert stopped.op.type == "StopGradient"
  assert stopped.op.name == "scale_gradient"
  assert tf.gradients(stopped, x) == [None]
  same = snt.scale_gradient(x, 1.0, name="same")
  assert same.op.type == "Identity" and same.op.name == "same"


def test_tensor_scale():
  x = tf.constant([1.0, 2.0])
  scale = tf.placeholder(tf.float32, [])
  y = snt.scale_gradient(x, scale)
  grad = tf.gradients(tf.reduce_sum(y), x)[0]
  with tf.Session() as sess:
    np.testing.assert_allclose(sess.run(grad, {scale: 0.25}), [0.25, 0.25])


def test_non_float_raises():
  with pytest.raises(ValueError, match="non-float"):
    snt.scale_gradient(tf.constant([1, 2]), 2.0)


def test_eager_needs_callable():
  script = textwrap.dedent("""
      import sonnet as snt
      import tensorflow as tf
      x = tf.Variable([1.0, 2.0])
      try:
        snt.scale_gradient(x, 2.0)
      except ValueError as e:
        print("error:", "callable" in str(e))
      scaled = snt.scale_gradient(lambda: x * 1.0, 3.0)
      with tf.GradientTape() as tape:
        y = tf.reduce_sum(scaled())
      print("grad:", tape.gradient(y, x).numpy().tolist())
  """)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run([sys.executable, "-c", script], env=env,
                          capture_output=True, text=True, timeout=120,
                          check=False)
  assert "error: True" in result.stdout, result.stderr[-2000:]
  assert "grad: [3.0, 3.0]" in result.stdout, result.stderr[-2000:]
