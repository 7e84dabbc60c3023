"""Tests of examples/learning_to_learn: preprocessing, network, problems,
unrolled optimisation, meta-training and evaluation (small sizes)."""

import os
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

# The examples are a package at the repository root (not installed).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

from examples.learning_to_learn import evaluate
from examples.learning_to_learn import meta
from examples.learning_to_learn import networks
from examples.learning_to_learn import problems
from examples.learning_to_learn import train

SMALL = {'batch_size': 3, 'num_dims': 2}


@pytest.fixture(autouse=True)
def _graph_and_fast_sessions(monkeypatch):
  config = tf.ConfigProto()
  config.graph_options.rewrite_options.disable_meta_optimizer = True
  session_cls = tf.Session
  monkeypatch.setattr(tf, 'Session',
                      lambda *a, **kw: session_cls(*a, config=config, **kw))
  with tf.Graph().as_default():
    yield


def test_log_and_sign_matches_numpy():
  x = np.array([[1e-8, -1e-3, 0.5], [-2., 30., 0.]], np.float32)
  out = tf.Session().run(networks.LogAndSign(k=5.)(tf.constant(x)))
  eps = np.finfo(np.float32).eps
  expected = np.concatenate([
      np.clip(np.log(np.abs(x) + eps) / 5., -1, 1),
      np.clip(x * np.exp(5.), -1, 1)], axis=-1)
  np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_coordinatewise_network_shapes_and_variables():
  net = networks.CoordinateWiseDeepLSTM(layers=(4, 3))
  grads = tf.random_normal([5, 2])
  state = net.initial_state(10)
  update, next_state = net(grads, state)
  assert update.get_shape().as_list() == [5, 2]
  tf.nest.assert_same_structure(state, next_state)
  names = {v.op.name: v.get_shape().as_list() for v in net.get_variables()}
  assert names == {
      'cw_deep_lstm/lstm_1/w_gates': [2 + 4, 16],
      'cw_deep_lstm/lstm_1/b_gates': [16],
      'cw_deep_lstm/lstm_2/w_gates': [4 + 3, 12],
      'cw_deep_lstm/lstm_2/b_gates': [12],
      'cw_deep_lstm/linear/w': [3, 1],
      'cw_deep_lstm/linear/b': [1]}


def test_coordinatewise_network_is_coordinatewise():
  # The same gradient value gives the same update wherever it appears.
  net = networks.CoordinateWiseDeepLSTM(layers=(4,), scale=1.)
  grads = tf.constant([[0.3, -2.], [0.3, 5.]])
  update, _ = net(grads, net.initial_state(4))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out = sess.run(update)
  assert out[0, 0] == out[1, 0]
  assert out[0, 1] != out[1, 1]


def test_unknown_preprocessing():
  with pytest.raises(ValueError, match='preprocessing'):
    networks.CoordinateWiseDeepLSTM(preprocess='nope')


def test_quadratic_loss_matches_numpy():
  problem = problems.Quadratic(**SMALL)
  (w, y), (theta,) = problem.sample(np.random.RandomState(0))
  loss = problem.loss([tf.constant(theta)])
  with tf.Session() as sess:
    problem.load(sess, [w, y])
    got = sess.run(loss)
  residual = np.einsum('bij,bj->bi', w, theta) - y
  np.testing.assert_allclose(got, np.mean(np.sum(residual ** 2, 1)),
                             rtol=1e-5)


def test_simple_problem_and_unknown_problem():
  problem = problems.make('simple')
  assert tf.Session().run(problem.loss([tf.constant(3.)])) == 9.
  with pytest.raises(ValueError, match='Unknown problem'):
    problems.make('nope')


def test_digits_problem():
  pytest.importorskip('sklearn')
  problem = problems.make('digits', hidden=5, batch_size=8)
  _, params = problem.sample(np.random.RandomState(0))
  assert [p.shape for p in params] == [(64, 5), (5,), (5, 10), (10,)]
  loss = tf.Session().run(problem.loss([tf.constant(p) for p in params]))
  assert abs(loss - np.log(10.)) < 0.1  # near-uniform predictions


def test_unroll_matches_manual_updates_and_carries_over():
  problem = problems.Quadratic(**SMALL)
  optimizer = meta.MetaOptimizer(layers=(3,), scale=0.5)
  info = optimizer.meta_loss(problem, unroll_length=2)
  assert info.fx.get_shape().as_list() == [3]
  # The same network applied by hand to the same gradients.
  theta_ph = tf.placeholder(tf.float32, [3, 2])
  state_ph = tf.nest.map_structure(
      lambda v: tf.placeholder(tf.float32, v.get_shape()), info.state)
  loss = problem.loss([theta_ph])
  grad = tf.gradients(loss, theta_ph)[0]
  delta, next_state = optimizer.net(tf.reshape(grad, [-1]), state_ph)
  sample = problem.sample(np.random.RandomState(1))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    meta.MetaOptimizer.reset(sess, problem, info, sample)
    fx, _ = sess.run([info.fx, info.update])
    theta = sample[1][0]
    state = sess.run(tf.nest.map_structure(tf.zeros_like, info.state))
    expected = []
    for _ in range(2):
      feed = {theta_ph: theta}
      feed.update(zip(tf.nest.flatten(state_ph), tf.nest.flatten(state)))
      l, d, state = sess.run([loss, delta, next_state], feed)
      expected.append(l)
      theta = theta + d.reshape(theta.shape)
    expected.append(sess.run(loss, {theta_ph: theta}))
    np.testing.assert_allclose(fx, expected, rtol=1e-4)
    # The update op stored the parameters and state for the next unroll.
    np.testing.assert_allclose(sess.run(info.params[0]), theta, rtol=1e-5)
    fx2 = sess.run(info.fx)
    np.testing.assert_allclose(fx2[0], expected[-1], rtol=1e-4)


def test_meta_gradients_with_and_without_second_derivatives():
  problem = problems.Quadratic(**SMALL)
  optimizer = meta.MetaOptimizer(layers=(3,), scale=1.)
  first = optimizer.meta_loss(problem, unroll_length=3)
  second = optimizer.meta_loss(problem, unroll_length=3,
                               second_derivatives=True)
  variables = list(optimizer.net_variables())
  grads_first = tf.gradients(first.loss, variables)
  grads_second = tf.gradients(second.loss, variables)
  assert all(g is not None for g in grads_first + grads_second)
  sample = problem.sample(np.random.RandomState(2))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    meta.MetaOptimizer.reset(sess, problem, first, sample)
    meta.MetaOptimizer.reset(sess, problem, second, sample)
    loss_a, loss_b, ga, gb = sess.run([first.loss, second.loss, grads_first,
                                       grads_second])
  # Same forward computation; the gradient differs only by the terms through
  # the optimizee's gradients, which are constants by default.
  np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
  assert max(np.abs(a - b).max() for a, b in zip(ga, gb)) > 1e-6


def test_meta_training_reduces_the_meta_loss():
  problem = problems.Quadratic(**SMALL)
  optimizer = meta.MetaOptimizer(layers=(5,), scale=0.1)
  info, train_op = optimizer.meta_minimize(problem, unroll_length=5,
                                           learning_rate=0.01)
  rng = np.random.RandomState(0)
  samples = [problem.sample(rng) for _ in range(4)]

  def mean_loss(sess):
    total = 0.
    for s in samples:
      meta.MetaOptimizer.reset(sess, problem, info, s)
      total += sess.run(info.loss)
    return total / len(samples)

  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    before = mean_loss(sess)
    for _ in range(30):
      for s in samples:
        meta.MetaOptimizer.reset(sess, problem, info, s)
        sess.run(train_op)
    after = mean_loss(sess)
  assert after < 0.8 * before


def test_train_and_evaluate_end_to_end(tmp_path):
  save_path = str(tmp_path / 'net' / 'quadratic')
  result = train.train('quadratic', save_path, num_epochs=2, num_steps=4,
                       unroll_length=2, log_period=1, problem_kwargs=SMALL)
  assert result['epochs'] == 2 and len(result['history']) == 2
  assert os.path.exists(save_path + '.index')
  with pytest.raises(ValueError, match='multiple'):
    train.train('quadratic', '', num_steps=5, unroll_length=2)

  results = evaluate.evaluate(
      'quadratic', save_path, num_steps=4, unroll_length=2, num_problems=2,
      num_tuning_problems=1, learning_rates=(0.01, 0.1),
      problem_kwargs=SMALL)
  assert sorted(results) == ['Adam', 'L2L', 'NAG', 'RMSProp', 'SGD']
  for name, (curve, lr) in results.items():
    assert curve.shape == (5,) and np.isfinite(curve).all()
    assert (lr is None) == (name == 'L2L')
    if lr is not None:
      assert lr in (0.01, 0.1)
  paths = evaluate.write_outputs(results, str(tmp_path / 'out'))
  with open(paths[0]) as f:
    rows = f.read().strip().split('\n')
  assert rows[0] == 'step,Adam,L2L,NAG,RMSProp,SGD'
  assert len(rows) == 6
  if len(paths) > 1:  # matplotlib (an optional extra) is installed
    assert paths[1].endswith('quadratic_curves.png')
    assert os.path.getsize(paths[1]) > 1000
  lines = evaluate.summary_lines(results)
  assert len(lines) == 5 and any(l.startswith('L2L') for l in lines)


def test_baseline_sgd_matches_numpy():
  problem = problems.Quadratic(**SMALL)
  runner = evaluate._Baseline(problem, 'SGD', evaluate.BASELINES['SGD'])  # pylint: disable=protected-access
  sample = problem.sample(np.random.RandomState(3))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    curve = runner.run(sess, problem, sample, 0.05, 3)
  (w, y), (theta,) = sample
  expected = []
  for _ in range(4):
    r = np.einsum('bij,bj->bi', w, theta) - y
    expected.append(np.mean(np.sum(r ** 2, 1)))
    theta = theta - 0.05 * 2 * np.einsum('bji,bj->bi', w, r) / len(y)
  np.testing.assert_allclose(curve, expected, rtol=1e-4)


@pytest.mark.parametrize('problem_name', ['simple', 'digits'])
def test_other_problems_train_and_evaluate(tmp_path, problem_name):
  if problem_name == 'digits':
    pytest.importorskip('sklearn')
  save_path = str(tmp_path / problem_name)
  result = train.train(problem_name, save_path, num_epochs=2, num_steps=2,
                       unroll_length=1, log_period=1)
  assert np.isfinite([h[1] for h in result['history']]).all()
  results = evaluate.evaluate(problem_name, save_path, num_steps=2,
                              unroll_length=1, num_problems=1,
                              num_tuning_problems=1, learning_rates=(0.1,),
                              baselines=['SGD'])
  assert sorted(results) == ['L2L', 'SGD']
