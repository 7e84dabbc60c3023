"""Tests for optimization_constraints.py."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import optimization_constraints as oc
import tensorflow.compat.v1 as tf


def _softplus(x):
  return np.log1p(np.exp(x))


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def test_no_tensorflow_probability_needed():
  source = open(oc.__file__).read()
  assert "import tensorflow_probability" not in source


@pytest.mark.parametrize("initializer,shape,expected", [
    (1.0, (), 1.0),
    (None, (2,), [1.0, 1.0]),
    (0.0, (), 1.0),  # False values mean ones, as upstream.
    (2.5, (2, 2), np.full([2, 2], 2.5)),
    (np.array([0.5, 3.0]), (2,), [0.5, 3.0]),
    ([0.25, 4.0], (2,), [0.25, 4.0]),
    (tf.constant_initializer(7.0), (3,), [7.0] * 3),
])
def test_multiplier_initial_values(initializer, shape, expected):
  with tf.Graph().as_default():
    multiplier = snt.get_lagrange_multiplier(shape=shape,
                                             initializer=initializer)
    assert multiplier.get_shape().as_list() == list(shape)
    assert multiplier.dtype == tf.float32
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(multiplier), expected, rtol=1e-5)


def test_variables_collection_and_names():
  with tf.Graph().as_default():
    snt.get_lagrange_multiplier(shape=(2,))
    snt.get_lagrange_multiplier(name="mu")
    snt.get_lagrange_multiplier()
    names = [v.op.name for v in tf.get_collection(oc.LAGRANGE_MULTIPLIERS)]
    assert names == ["lagrange_multiplier/w", "mu/w", "lagrange_multiplier_1/w"]
    assert oc.LAGRANGE_MULTIPLIERS == "Lagrange Multipliers"
    assert all(v.trainable for v in tf.get_collection(oc.LAGRANGE_MULTIPLIERS))
    with pytest.raises(ValueError, match="fully known"):
      snt.get_lagrange_multiplier(shape=(None, 2))


def test_initializer_wrapper():
  init = oc._LagrangeMultiplierInitializer(tf.constant_initializer(4.0))  # pylint: disable=protected-access
  assert init.get_config() == {"dtype": "float32"}
  with tf.Graph().as_default():
    value = init([2])
    with tf.Session() as sess:
      raw = sess.run(value)
  np.testing.assert_allclose(_softplus(raw) ** 2, [4.0, 4.0], rtol=1e-5)
  np.testing.assert_allclose(raw, np.log(np.expm1(2.0)), rtol=1e-5)


@pytest.mark.parametrize("rate,maximize", [(1.0, True), (0.3, True),
                                           (2.0, False)])
def test_gradient_is_reversed_and_scaled(rate, maximize):
  with tf.Graph().as_default():
    multiplier = snt.get_lagrange_multiplier(shape=(3,), rate=rate,
                                             initializer=[0.5, 1.0, 2.0],
                                             maximize=maximize)
    var = tf.get_collection(oc.LAGRANGE_MULTIPLIERS)[0]
    grad = tf.gradients(tf.reduce_sum(multiplier), var)[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      var_value, grad_value, value = sess.run([var, grad, multiplier])
  sign = 1.0 if maximize else -1.0
  np.testing.assert_allclose(value, sign * np.array([0.5, 1.0, 2.0]),
                             rtol=1e-5)
  # d/dv softplus(v)^2 = 2 softplus(v) sigmoid(v), then scaled by -rate.
  expected = sign * -rate * 2 * _softplus(var_value) * _sigmoid(var_value)
  np.testing.assert_allclose(grad_value, expected, rtol=1e-5)


def test_constrain_to_range_forward_and_gradient():
  x_value = np.array([-2.0, -0.5, 0.5, 1.5, 3.0], np.float32)
  with tf.Graph().as_default():
    x = tf.constant(x_value)
    y = oc._constrain_to_range(x, 0.0, 1.0)  # pylint: disable=protected-access
    grad_ys = tf.placeholder(tf.float32, [5])
    grad = tf.gradients(y, x, grad_ys=grad_ys)[0]
    with tf.Session() as sess:
      np.testing.assert_allclose(sess.run(y), np.clip(x_value, 0, 1))
      positive = sess.run(grad, {grad_ys: np.ones(5)})
      negative = sess.run(grad, {grad_ys: -np.ones(5)})
  # Positive gradients are dropped above the range, negative ones below it.
  np.testing.assert_array_equal(positive, [1, 1, 1, 0, 0])
  np.testing.assert_array_equal(negative, [0, 0, -1, -1, -1])


def test_constrain_to_range_gradient_check_and_dtypes():
  x_value = np.array([[0.2, 0.4], [0.6, 0.8]])
  with tf.Graph().as_default():
    x = tf.constant(x_value)
    y = oc._constrain_to_range(x, 0.0, 1.0)  # pylint: disable=protected-access
    assert y.dtype == tf.float64
    with tf.Session():
      err = tf.test.compute_gradient_error(x, [2, 2], y, [2, 2],
                                           x_init_value=x_value)
    assert err < 1e-8
    with pytest.raises(ValueError, match="floating point"):
      oc._constrain_to_range(tf.constant([1, 2]), 0, 1)  # pylint: disable=protected-access


def test_valid_range_clips_multiplier():
  with tf.Graph().as_default():
    multiplier = snt.get_lagrange_multiplier(shape=(2,), initializer=[0.5, 5.],
                                             valid_range=(1.0, 2.0))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(multiplier), [1.0, 2.0])


def test_constraints_and_penalty_values():
  with tf.Graph().as_default():
    a = tf.constant([1.0, 3.0])
    b = tf.constant(2.0)
    constraints = snt.OptimizationConstraints()
    assert constraints.add(a <= b) is constraints
    constraints.add(a > b, initializer=2.0).add(a < 0.5).add(b >= a)
    constraints.add_leq(b, 4.0).add_geq(a, 1.0, initializer=3.0)
    assert len(constraints.constraints) == 6
    assert len(constraints.lagrange_multipliers) == 6
    penalty = constraints()
    assert constraints() is penalty
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values, multipliers, penalty_value = sess.run(
          [constraints.constraints, constraints.lagrange_multipliers, penalty])
  expected = [[-1, 1], [1, -1], [0.5, 2.5], [-1, 1], -2.0, [0, -2]]
  for value, exp in zip(values, expected):
    np.testing.assert_allclose(value, exp)
  np.testing.assert_allclose(multipliers[1], [2.0, 2.0], rtol=1e-5)
  expected_penalty = sum(np.sum(m * np.array(c))
                         for m, c in zip(multipliers, expected))
  np.testing.assert_allclose(penalty_value, expected_penalty, rtol=1e-5)
  np.testing.assert_allclose(penalty_value, 0 + 0 + 3 + 0 - 2 - 6, rtol=1e-5)


def test_errors():
  with tf.Graph().as_default():
    x = tf.constant(1.0)
    constraints = snt.OptimizationConstraints()
    with pytest.raises(TypeError, match="not supported"):
      constraints.add(tf.equal(x, 1.0))
    with pytest.raises(TypeError, match="not supported"):
      constraints.add(x + 1.0)
    constraints.add(x <= 2.0)
    constraints()
    with pytest.raises(ValueError, match="Cannot add further constraints"):
      constraints.add(x <= 3.0)
    with pytest.raises(ValueError, match="Cannot add further constraints"):
      constraints.add_geq(x, 0.0)


def test_defaults_rate_and_range_from_container():
  with tf.Graph().as_default():
    x = tf.constant(3.0)
    constraints = snt.OptimizationConstraints(rate=0.5, valid_range=(0., 0.8))
    constraints.add(x <= 1.0)
    constraints.add(x <= 1.0, rate=2.0, valid_range=(0., 10.))
    var1, var2 = tf.get_collection(oc.LAGRANGE_MULTIPLIERS)
    m1, m2 = constraints.lagrange_multipliers
    g1_up = tf.gradients(m1, var1)[0]
    g1 = tf.gradients(-m1, var1)[0]
    g2 = tf.gradients(m2, var2)[0]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      m1_value, m2_value, g1_up_value, g1_value, g2_value, v = sess.run(
          [m1, m2, g1_up, g1, g2, var1])
  assert m1_value == pytest.approx(0.8)  # Clipped to the default range.
  assert m2_value == pytest.approx(1.0)
  base = 2 * _softplus(v) * _sigmoid(v)
  # Above the range, only gradients pulling the multiplier back pass.
  assert g1_up_value == 0.0
  assert g1_value == pytest.approx(0.5 * base, rel=1e-5)
  assert g2_value == pytest.approx(-2.0 * base, rel=1e-5)


def test_constrained_minimization_converges():
  # min x^2 subject to x >= 1: optimum x = 1 with multiplier 2.
  with tf.Graph().as_default():
    x = tf.get_variable("x", initializer=0.0)
    constraints = snt.OptimizationConstraints(rate=1.0)
    constraints.add(x >= 1.0)
    loss = tf.square(x) + constraints()
    train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(1500):
        sess.run(train)
      x_value, multiplier = sess.run([x, constraints.lagrange_multipliers[0]])
  assert x_value == pytest.approx(1.0, abs=2e-2)
  assert multiplier == pytest.approx(2.0, abs=5e-2)
