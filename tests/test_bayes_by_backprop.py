"""Tests of snt.custom_getters.bayes_by_backprop (no tensorflow-probability needed)."""

import math

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.custom_getters import gaussian
import tensorflow.compat.v1 as tf

bbb = snt.custom_getters.bayes_by_backprop


class Dense(snt.AbstractModule):

  def __init__(self, output_size=2, name="dense", **kwargs):
    super().__init__(name=name, **kwargs)
    self._output_size = output_size

  def _build(self, inputs):
    w = tf.get_variable("w", [inputs.shape[1], self._output_size])
    b = tf.get_variable("b", [self._output_size],
                        initializer=tf.zeros_initializer())
    return tf.matmul(inputs, w) + b


@pytest.fixture
def graph():
  with tf.Graph().as_default() as g:
    yield g


def test_public_names():
  for name in ("inverse_softplus", "scale_variable_initializer",
               "EstimatorModes", "_VariableMetadata",
               "diagonal_gaussian_posterior_builder",
               "fixed_gaussian_prior_builder", "adaptive_gaussian_prior_builder",
               "stochastic_kl_builder", "analytic_kl_builder",
               "bayes_by_backprop_getter", "get_total_kl_cost",
               "get_variable_metadata"):
    assert hasattr(bbb, name), name
  assert bbb._VariableMetadata.__name__ == "VariableMetadata"
  assert (bbb.EstimatorModes.sample, bbb.EstimatorModes.mean,
          bbb.EstimatorModes.last_sample) == ("sample", "mean", "last")


def test_inverse_softplus():
  for y in (0.01, 1.0, 3.0):
    assert math.log1p(math.exp(bbb.inverse_softplus(y))) == pytest.approx(y)


def test_variables_created(graph):
  getter = bbb.bayes_by_backprop_getter()
  out = Dense(custom_getter=getter)(tf.ones([4, 3]))
  names = sorted(v.op.name for v in tf.trainable_variables())
  assert names == ["dense/b/posterior_loc", "dense/b/posterior_scale",
                   "dense/w/posterior_loc", "dense/w/posterior_scale"]
  assert out.shape.as_list() == [4, 2]
  metadata = bbb.get_variable_metadata()
  assert [m.raw_variable_name for m in metadata] == ["dense/w", "dense/b"]
  assert metadata[0].raw_variable_shape == [3, 2]
  assert metadata[0].scope_name == "dense"


def test_adaptive_prior_variables(graph):
  getter = bbb.bayes_by_backprop_getter(
      prior_builder=bbb.adaptive_gaussian_prior_builder)
  Dense(custom_getter=getter)(tf.ones([4, 3]))
  names = sorted(v.op.name for v in tf.trainable_variables())
  assert len(names) == 8
  assert "dense/w_prior_loc" in names and "dense/w_prior_scale" in names
  scale = [v for v in tf.trainable_variables()
           if v.op.name == "dense/w_prior_scale"][0]
  assert scale.shape.as_list() == []
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    assert np.log1p(np.exp(sess.run(scale))) == pytest.approx(0.01)


def test_modes_and_fresh_noise(graph):
  mode = tf.placeholder(tf.string, [])
  getter = bbb.bayes_by_backprop_getter(sampling_mode_tensor=mode)
  out = Dense(custom_getter=getter)(tf.ones([1, 3]))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    mean1 = sess.run(out, {mode: "mean"})
    mean2 = sess.run(out, {mode: "mean"})
    sample1 = sess.run(out, {mode: "sample"})
    sample2 = sess.run(out, {mode: "sample"})
    np.testing.assert_array_equal(mean1, mean2)
    assert not np.allclose(sample1, sample2)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="Invalid posterior estimate mode"):
      sess.run(out, {mode: "bogus"})


def test_mean_mode_matches_posterior_loc(graph):
  getter = bbb.bayes_by_backprop_getter(
      sampling_mode_tensor=tf.constant(bbb.EstimatorModes.mean))
  x = tf.constant([[1., 2., 3.]])
  out = Dense(custom_getter=getter)(x)
  loc_w = [v for v in tf.trainable_variables()
           if v.op.name == "dense/w/posterior_loc"][0]
  loc_b = [v for v in tf.trainable_variables()
           if v.op.name == "dense/b/posterior_loc"][0]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    got, w, b = sess.run([out, loc_w, loc_b])
  np.testing.assert_allclose(got, np.array([[1., 2., 3.]]) @ w + b, rtol=1e-5)


def test_kl_cost_counted_once_per_variable(graph):
  getter = bbb.bayes_by_backprop_getter()
  mod = Dense(custom_getter=getter)
  mod(tf.ones([1, 3]))
  mod(tf.ones([1, 3]))
  assert len(bbb.get_variable_metadata()) == 2
  total = bbb.get_total_kl_cost()
  assert total.op.name == "total_kl_cost"
  assert len(bbb.get_variable_metadata("dense")) == 2
  assert bbb.get_variable_metadata("other") == []


def test_total_kl_cost_without_variables(graph):
  total = bbb.get_total_kl_cost()
  with tf.Session() as sess:
    assert sess.run(total) == 0.0


def test_analytic_kl_matches_closed_form(graph):
  posterior = gaussian.Normal(loc=tf.constant([0.5, -1.]),
                              scale=tf.constant([0.2, 2.]))
  prior = gaussian.Normal(loc=tf.constant(0.), scale=tf.constant(1.))
  kl = bbb.analytic_kl_builder(posterior, prior, None)
  mu, sigma = np.array([0.5, -1.]), np.array([0.2, 2.])
  expected = np.sum(np.log(1. / sigma) + (sigma ** 2 + mu ** 2) / 2. - 0.5)
  with tf.Session() as sess:
    assert sess.run(kl) == pytest.approx(expected, rel=1e-5)


def test_stochastic_kl_is_log_ratio(graph):
  posterior = gaussian.Normal(loc=tf.constant([0.5]), scale=tf.constant([0.2]))
  prior = gaussian.Normal(loc=tf.constant(0.), scale=tf.constant(1.))
  sample = tf.constant([0.3])
  kl = bbb.stochastic_kl_builder(posterior, prior, sample)

  def log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(
        2 * np.pi)

  expected = log_normal(0.3, 0.5, 0.2) - log_normal(0.3, 0., 1.)
  with tf.Session() as sess:
    assert sess.run(kl) == pytest.approx(expected, rel=1e-5)


def test_monte_carlo_kl_approaches_analytic(graph):
  posterior = gaussian.Normal(loc=tf.fill([20000], 0.3),
                              scale=tf.fill([20000], 0.5))
  prior = gaussian.Normal(loc=tf.constant(0.), scale=tf.constant(1.))
  sample = posterior.sample()
  mc = bbb.stochastic_kl_builder(posterior, prior, sample) / 20000.
  exact = bbb.analytic_kl_builder(posterior, prior, sample) / 20000.
  with tf.Session() as sess:
    mc_value, exact_value = sess.run([mc, exact])
  assert mc_value == pytest.approx(exact_value, abs=0.02)


def test_non_trainable_variables_are_untouched(graph):
  getter = bbb.bayes_by_backprop_getter()
  with tf.variable_scope("s", custom_getter=getter):
    counter = tf.get_variable("count", [], trainable=False)
  assert isinstance(counter, tf.Variable) or hasattr(counter, "assign")
  assert bbb.get_variable_metadata() == []


def test_disallowed_dtype(graph):
  getter = bbb.bayes_by_backprop_getter()
  with tf.variable_scope("s", custom_getter=getter):
    with pytest.raises(ValueError, match="Disallowed data type"):
      tf.get_variable("i", [2], dtype=tf.int32)


def test_incompatible_posterior(graph):
  class NotReparameterized(gaussian.Normal):
    reparameterization_type = gaussian.NOT_REPARAMETERIZED

  def builder(getter, name, *args, **kwargs):
    del getter, args, kwargs
    return NotReparameterized(loc=0., scale=1., name=name)

  getter = bbb.bayes_by_backprop_getter(posterior_builder=builder)
  with tf.variable_scope("s", custom_getter=getter):
    with pytest.raises(ValueError, match="incompatible with Bayes by Backprop"):
      tf.get_variable("w", [2])


def test_builder_may_return_variables_dict(graph):
  def builder(getter, name, *args, **kwargs):
    dist = bbb.diagonal_gaussian_posterior_builder(getter, name, *args,
                                                    **kwargs)
    return dist, {"loc": dist.loc}

  getter = bbb.bayes_by_backprop_getter(posterior_builder=builder)
  with tf.variable_scope("s", custom_getter=getter):
    tf.get_variable("w", [2])
  metadata, = bbb.get_variable_metadata()
  assert list(metadata.posterior_vars) == ["loc"]
  assert metadata.prior_vars == {}


def test_no_fresh_noise_reuses_estimate(graph):
  getter = bbb.bayes_by_backprop_getter(fresh_noise_per_connection=False)
  mod = Dense(custom_getter=getter)
  first = mod(tf.ones([1, 3]))
  second = mod(tf.ones([1, 3]))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([first, second])
  np.testing.assert_array_equal(a, b)


def test_dynamic_rnn_samples_weights_once_per_run(graph):
  class Cell(object):
    """Minimal cell whose weights come through the getter."""
    state_size = 2
    output_size = 2

    def zero_state(self, batch_size, dtype):
      return tf.zeros([batch_size, 2], dtype)

    def __call__(self, inputs, state):
      w = tf.get_variable("w", [1, 2])
      out = tf.matmul(inputs, w) + 0. * state
      return out, out

  getter = bbb.bayes_by_backprop_getter()
  with tf.variable_scope("rnn_scope", custom_getter=getter):
    outputs, _ = tf.nn.dynamic_rnn(Cell(), tf.ones([1, 5, 1]),
                                   dtype=tf.float32)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out = sess.run(outputs)
  for t in range(1, 5):
    np.testing.assert_array_equal(out[0, 0], out[0, t])


def test_normal_distribution_values(graph):
  dist = gaussian.Normal(loc=tf.constant([1., 2.]), scale=tf.constant([0.5, 3.]))
  shapes = gaussian.Normal.param_static_shapes([3, 4])
  assert shapes["loc"].as_list() == [3, 4]
  samples = dist.sample([50000])
  with tf.Session() as sess:
    mean, std, lp, ent, s = sess.run([dist.mean(), dist.stddev(),
                                      dist.log_prob(tf.constant([1., 2.])),
                                      dist.entropy(), samples])
  np.testing.assert_allclose(mean, [1., 2.])
  np.testing.assert_allclose(std, [0.5, 3.])
  np.testing.assert_allclose(lp, -np.log([0.5, 3.]) - 0.5 * np.log(2 * np.pi),
                             rtol=1e-5)
  np.testing.assert_allclose(ent, 0.5 * np.log(2 * np.pi * np.e * np.array(
      [0.25, 9.])), rtol=1e-5)
  np.testing.assert_allclose(s.mean(0), [1., 2.], atol=0.05)
  np.testing.assert_allclose(s.std(0), [0.5, 3.], rtol=0.03)


def test_gradients_reach_posterior_parameters(graph):
  getter = bbb.bayes_by_backprop_getter()
  out = Dense(custom_getter=getter)(tf.ones([2, 3]))
  loss = tf.reduce_sum(tf.square(out)) + bbb.get_total_kl_cost()
  grads = tf.gradients(loss, tf.trainable_variables())
  assert all(g is not None for g in grads)


def test_accepts_distributions_with_tfp_style_reparameterization_type(graph):
  """tensorflow-probability's ReparameterizationType compares by identity."""

  class TfpStyleType(object):

    def __init__(self, rep_type):
      self._rep_type = rep_type

    def __eq__(self, other):
      return self is other

  class TfpStyleNormal(gaussian.Normal):
    reparameterization_type = TfpStyleType("FULLY_REPARAMETERIZED")

  def builder(getter, name, *args, **kwargs):
    dist = bbb.diagonal_gaussian_posterior_builder(getter, name, *args,
                                                    **kwargs)
    return TfpStyleNormal(loc=dist.loc, scale=dist.scale, name=name)

  getter = bbb.bayes_by_backprop_getter(posterior_builder=builder)
  with tf.variable_scope("s", custom_getter=getter):
    estimate = tf.get_variable("w", [2])
  assert estimate.shape.as_list() == [2]
  assert len(bbb.get_variable_metadata()) == 1
