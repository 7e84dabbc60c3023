"""Smoke tests of the example scripts (a few iterations, small sizes).

Each example's training function runs in-process; two scripts also run as
subprocesses to check their absl flags.
"""

import glob
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

# The examples are a package at the repository root (not installed).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

from examples import brnn_shakespeare
from examples import dataset_nth_farthest
from examples import dataset_shakespeare
from examples import dnc_demo
from examples import dnc_repeat_copy
from examples import learn_to_execute
from examples import module_with_build_args
from examples import repeat_copy
from examples import rmc_learn_to_execute
from examples import rmc_nth_farthest
from examples import rnn_shakespeare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_DNC = dict(hidden_size=8, memory_size=4, word_size=3, num_read_heads=2,
                batch_size=2, num_bits=3)


@pytest.fixture(autouse=True)
def _fast_sessions(monkeypatch):
  """Sessions without Grappler's graph rewrites: these graphs run a handful
  of steps, so optimising them costs more than it saves."""
  config = tf.ConfigProto()
  config.graph_options.rewrite_options.disable_meta_optimizer = True
  session_cls = tf.Session
  monkeypatch.setattr(tf, 'Session',
                      lambda *a, **kw: session_cls(*a, config=config, **kw))


def _run_script(args, timeout=300):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable] + args, cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


# --- repeat copy ------------------------------------------------------------

def test_repeat_copy_batches_are_consistent():
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    task = repeat_copy.RepeatCopy(num_bits=3, batch_size=5, min_length=1,
                                  max_length=3, min_repeats=1, max_repeats=3,
                                  norm_max=10)
    data = task()
    with tf.Session() as sess:
      batches = [sess.run(data) for _ in range(3)]
  for d in batches:
    t_max = d.observations.shape[0]
    assert d.observations.shape == (t_max, 5, 5)
    assert d.target.shape == (t_max, 5, 4)
    assert d.mask.shape == (t_max, 5)
    lengths = []
    for b in range(5):
      obs, targ, mask = d.observations[:, b], d.target[:, b], d.mask[:, b]
      assert obs[0, 3] == 1 and obs[0, :3].sum() == 0  # start flag
      reps_step = int(np.argmax(obs[:, 4] > 0))
      length = reps_step - 1
      reps = int(round(obs[reps_step, 4] * 10))
      assert 1 <= length <= 3 and 1 <= reps <= 3
      pattern = obs[1:1 + length, :3]
      answer = slice(length + 2, length + 2 + length * reps)
      np.testing.assert_array_equal(targ[answer, :3], np.tile(pattern,
                                                              (reps, 1)))
      end = length + 2 + length * reps
      assert targ[end, 3] == 1 and targ[:, 3].sum() == 1
      expected_mask = np.zeros(t_max)
      expected_mask[length + 2:end + 1] = 1
      np.testing.assert_array_equal(mask, expected_mask)
      assert obs[length + 2:].sum() == 0
      lengths.append(length * (reps + 1) + 3)
    assert t_max == max(lengths)
  text = task.to_human_readable(batches[0], batches[0].target)
  assert 'Observations:' in text and 'Model Output:' in text


def test_repeat_copy_cost_matches_numpy():
  logits = np.random.randn(4, 3, 2).astype(np.float32)
  target = (np.random.rand(4, 3, 2) > 0.5).astype(np.float32)
  mask = (np.random.rand(4, 3) > 0.3).astype(np.float32)
  xent = (np.maximum(logits, 0) - logits * target +
          np.log1p(np.exp(-np.abs(logits))))
  per_seq = (xent.sum(2) * mask).sum(0)
  with tf.Graph().as_default():
    costs = [repeat_copy.masked_sigmoid_cross_entropy(
        tf.constant(logits), tf.constant(target), tf.constant(mask), *flags)
             for flags in ((False, False), (True, False), (False, True))]
    with tf.Session() as sess:
      plain, averaged, bits = sess.run(costs)
  np.testing.assert_allclose(plain, per_seq.sum() / 3, rtol=1e-5)
  np.testing.assert_allclose(
      averaged, (per_seq / (mask.sum(0) + np.finfo(np.float32).eps)).sum() / 3,
      rtol=1e-5)
  np.testing.assert_allclose(bits, per_seq.sum() / 3 / np.log(2.), rtol=1e-5)


def test_repeat_copy_rejects_bad_ranges():
  with pytest.raises(ValueError, match='min_length'):
    repeat_copy.RepeatCopy(min_length=3, max_length=2)


def test_dnc_repeat_copy_trains_checkpoints_and_resumes(tmp_path):
  logdir = str(tmp_path / 'dnc')
  reports = dnc_repeat_copy.train(num_training_iterations=3, report_interval=2,
                                  logdir=logdir, checkpoint_interval=2, seed=0,
                                  **TINY_DNC)
  assert [r[0] for r in reports] == [2, 3]
  assert all(np.isfinite(r[1]) and r[2] >= 0 for r in reports)
  assert tf.train.latest_checkpoint(logdir).endswith('model.ckpt-3')
  assert any(f.startswith('events.out.tfevents') for f in os.listdir(logdir))
  # Resuming continues from the saved global step.
  reports = dnc_repeat_copy.train(num_training_iterations=4, report_interval=2,
                                  logdir=logdir, seed=0, **TINY_DNC)
  assert [r[0] for r in reports] == [4]


def test_dnc_demo_prints_cost_and_example():
  lines = []
  reports = dnc_demo.run_demo(num_iterations=2, report_interval=1,
                              print_fn=lines.append)
  assert len(reports) == 2
  text = '\n'.join(lines)
  assert 'avg training cost' in text
  assert 'Targets:' in text and 'Model Output:' in text


def test_dnc_repeat_copy_script_flags(tmp_path):
  result = _run_script(
      ['examples/dnc_repeat_copy.py', '--num_training_iterations=2',
       '--report_interval=1', '--hidden_size=4', '--memory_size=3',
       '--word_size=2', '--num_read_heads=1', '--batch_size=2',
       '--logdir=' + str(tmp_path)])
  assert result.returncode == 0, result.stderr[-2000:]
  assert '2: avg training cost' in result.stderr


# --- module_with_build_args --------------------------------------------------

def test_module_with_build_args():
  losses, reproducible, differs = module_with_build_args.run(num_steps=3)
  assert len(losses) == 3 and np.isfinite(losses).all()
  assert reproducible and differs


# --- Tiny Shakespeare --------------------------------------------------------

def test_shakespeare_dataset():
  with pytest.raises(ValueError, match='subset'):
    dataset_shakespeare.TinyShakespeareDataset(subset='nope')
  with tf.Graph().as_default():
    ds = dataset_shakespeare.TinyShakespeareDataset(num_steps=6, batch_size=3,
                                                    subset='valid')
    assert ds.vocab[:4] == ['_unk_', '_null_', '_eos_', '|']
    data = ds()
    with tf.Session() as sess:
      first, second = sess.run(data), sess.run(data)
  assert first.obs.shape == (6, 3, ds.vocab_size)
  np.testing.assert_array_equal(first.obs[1:], first.target[:-1])
  # Not random: the next batch continues where this one stopped.
  np.testing.assert_array_equal(first.target[-1], second.obs[0])
  text = ds.to_human_readable(first)
  assert text.startswith('b_0: ') and len(text.split('\n')) == 3
  valid_text = dataset_shakespeare.read_text('valid')
  decoded = ds.to_human_readable(first, label_batch_entries=False,
                                 indices=[0])
  assert decoded in valid_text + valid_text[:6]


def test_rnn_shakespeare_trains_samples_and_resumes(tmp_path):
  kwargs = dict(report_interval=2, reduce_learning_rate_interval=3,
                checkpoint_dir=str(tmp_path), checkpoint_interval=2,
                lstm_depth=2, batch_size=2, num_embedding=4, num_hidden=6,
                truncation_length=5, sample_length=7, seed=0)
  result = rnn_shakespeare.train(num_training_iterations=2, **kwargs)
  assert len(result['train_losses']) == 2
  step, train_loss, valid_loss, sample = result['reports'][0]
  assert step == 2 and np.isfinite([train_loss, valid_loss]).all()
  assert sample.startswith('b_0: ')
  assert np.isfinite(result['test_loss'])
  result = rnn_shakespeare.train(num_training_iterations=3, **kwargs)
  assert len(result['train_losses']) == 1  # resumed at iteration 2
  # TensorBoard: graph and loss scalars in the event files beside the
  # checkpoints, the model a single collapsible name scope.
  tags, graph_defs = set(), []
  for path in glob.glob(os.path.join(str(tmp_path), 'events.out.tfevents.*')):
    for event in tf.train.summary_iterator(path):
      if event.graph_def:
        graph_defs.append(tf.GraphDef.FromString(event.graph_def))
      tags.update(value.tag for value in event.summary.value)
  assert {'train_loss', 'valid_loss'} <= tags
  assert graph_defs
  node_names = [node.name for node in graph_defs[0].node]
  assert any(name.startswith('text_model/lstm_0/') for name in node_names)


def test_text_model_variables():
  with tf.Graph().as_default():
    model = rnn_shakespeare.TextModel(num_embedding=4, num_hidden=5,
                                      lstm_depth=2, output_size=7)
    logits, _ = model(tf.zeros([3, 2, 7]))
    assert logits.get_shape().as_list() == [3, 2, 7]
    names = {v.op.name: v.get_shape().as_list()
             for v in tf.trainable_variables()}
  assert names['text_model/linear_embed/w'] == [7, 4]
  assert names['text_model/lstm_0/w_gates'] == [4 + 5, 20]
  assert names['text_model/lstm_1/w_gates'] == [4 + 5 + 5, 20]
  assert names['text_model/linear_output/w'] == [4 + 5 + 5, 7]


def test_brnn_shakespeare():
  reports = brnn_shakespeare.train(
      num_training_iterations=2, report_interval=2, embedding_size=4,
      hidden_size=5, n_layers=2, batch_size=2, unroll_steps=4, seed=0)
  (step, train_loss, valid_loss), = reports
  assert step == 2 and np.isfinite([train_loss, valid_loss]).all()


def test_brnn_modules_are_bayesian():
  with tf.Graph().as_default():
    mode = tf.constant('sample')
    embed, core, linear = brnn_shakespeare.build_modules(
        10, 4, 5, 1, dict(prior_pi=0.25, prior_sigma1=np.exp(-1.),
                          prior_sigma2=np.exp(-7.), sampling_mode=mode))
    out, _ = core(embed(tf.constant([1, 2])), core.initial_state(2))
    linear(out)
    names = sorted(v.op.name for v in tf.trainable_variables())
  assert 'input_embedding/embeddings/posterior_loc' in names
  # The LSTMs are built outside the DeepRNN, so they are its siblings.
  assert 'lstm_layer_0/w_gates/posterior_scale' in names
  assert 'output_linear/w/posterior_loc' in names
  assert 'output_linear/b' in names  # the output bias is not Bayesian


def test_scale_mixture_prior_log_prob():
  x = np.linspace(-1, 1, 7)
  with tf.Graph().as_default():
    prior = brnn_shakespeare.ScaleMixturePrior(0.25, 0.5, 0.01, tf.float64)
    with tf.Session() as sess:
      got = sess.run(prior.log_prob(tf.constant(x)))

  def normal(s):
    return np.exp(-x ** 2 / (2 * s * s)) / (s * np.sqrt(2 * np.pi))
  np.testing.assert_allclose(
      got, np.log(0.25 * normal(0.5) + 0.75 * normal(0.01)), rtol=1e-6)


# --- relational memory examples ----------------------------------------------

def test_nth_farthest_labels():
  task = dataset_nth_farthest.NthFarthest(batch_size=6, num_objects=4,
                                          num_features=3, seed=0)
  inputs, labels = task._get_batch_data()  # pylint: disable=protected-access
  assert inputs.shape == (6, 4, 3 + 12) and labels.shape == (6,)
  for x, label in zip(inputs, labels):
    ids = np.argmax(x[:, 3:7], 1)
    reference = np.argmax(x[0, 7:11])
    nth = np.argmax(x[0, 11:15])
    features = x[np.argsort(ids), :3]
    dist = np.linalg.norm(features - features[reference], axis=1)
    assert int(label) == np.argsort(dist)[nth]


def test_rmc_nth_farthest():
  reports = rmc_nth_farthest.build_and_train(
      2, 2, batch_size=2, head_size=4, num_mems=2, num_objects=2,
      mlp_sizes=(8,), seed=0)
  (step, loss, acc), = reports
  assert step == 2 and np.isfinite(loss) and 0 <= acc <= 1


def test_learn_to_execute_programs_evaluate_correctly():
  random.seed(0)
  for _ in range(50):
    code, value = learn_to_execute.generate_code(
        3, 2, learn_to_execute._TASK_OPS[learn_to_execute.TaskType.ALG_CTRL])  # pylint: disable=protected-access
    assert eval(code) % 10 ** 4 == int(value)  # pylint: disable=eval-used


def test_learn_to_execute_dataset():
  with pytest.raises(ValueError, match='Invalid mode'):
    learn_to_execute.LearnToExecute(2, mode=7)
  with tf.Graph().as_default():
    ds = learn_to_execute.LearnToExecute(3, max_length=2, max_nesting=2,
                                         mode=learn_to_execute.Mode.TEST)
    state = ds.state
    batch = tf.data.make_one_shot_iterator(ds).get_next()
    with tf.Session() as sess:
      obs, target, target_in, len_in, len_out = sess.run(batch)
  assert obs.shape == (state.num_steps, 3, state.vocab_size)
  assert target.shape == target_in.shape == (state.num_steps_out, 3,
                                             state.vocab_size)
  np.testing.assert_array_equal(obs.sum(-1), 1)
  assert state.vocab[0] == '_unk_'
  for b in range(3):
    out = state.to_human_readable(target, False, [b])
    inp = state.to_human_readable(target_in, False, [b])
    assert out[len_out[b] - 1] == '!' and inp[0] == '~'
    assert inp[1:len_out[b] + 1] == out[:len_out[b]]


def test_lte_curriculum_advances():
  curriculum = learn_to_execute.NaiveCurriculum(2, 2, loss_threshold=0.1,
                                                min_tries=3)
  assert curriculum.fetch() == (1, 1)
  for _ in range(3):
    curriculum.update(1.0)
  assert curriculum.fetch() == (2, 1)
  for _ in range(3):
    curriculum.update(1.0)
  assert curriculum.fetch() == (1, 2)


def test_rmc_learn_to_execute():
  reports = rmc_learn_to_execute.build_and_train(
      2, 2, batch_size=2, head_size=4, num_mems=2, max_length=2, max_nest=1,
      mlp_sizes=(8,), seed=0)
  (step, loss, acc, solved), = reports
  assert step == 2 and np.isfinite(loss)
  assert 0 <= acc <= 1 and 0 <= solved <= 1


# --- MLP on digits (optional scikit-learn) -----------------------------------

def test_mlp_digits():
  pytest.importorskip('sklearn')
  from examples import mlp_digits  # pylint: disable=g-import-not-at-top
  losses, accuracies = mlp_digits.train_and_eval(
      num_hidden=16, num_train_steps=60, report_every=30, test_every=30,
      train_batch_size=50, learning_rate=0.5)
  assert np.isfinite(losses).all()
  assert accuracies[-1][1] > 0.5  # well above chance (0.1) already


def test_learn_to_execute_whole_number_tokens():
  random.seed(1)
  state = learn_to_execute.LearnToExecuteState(
      2, 2, 2, learn_to_execute.BaselineCurriculum(2, 2, min_tries=0),
      token_by_char=False, task_type=learn_to_execute.TaskType.ALG_CTRL)
  assert state.num_steps_out == 1 and '999' in state.vocab_dict
  assert state.tokenize('12 if 3<45 else 6') == [
      '12', ' ', 'if', ' ', '3', '<', '45', ' ', 'else', ' ', '6']
  obs, target, _, len_in, len_out = next(state.make_batch())
  np.testing.assert_array_equal(len_out, [1, 1])
  for b in range(2):
    code = state.to_human_readable(obs, False, [b]).rstrip('.')
    assert len(state.tokenize(code)) == len_in[b]
    value = state.to_human_readable(target, False, [b])
    assert eval(code) % 1000 == int(value)  # pylint: disable=eval-used
