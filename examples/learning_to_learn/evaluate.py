r"""Compares the learned optimizer with tuned hand-designed optimizers.

SGD, RMSProp, Adam and Nesterov momentum each get the learning rate (from a
grid) with the lowest mean final loss on training problems; then they and the
learned optimizer run on the same fixed held-out problems. The mean loss
curves go to a CSV file (and a PNG plot if matplotlib, an optional extra, is
installed); each optimizer's mean final loss and mean area under the curve
are printed.

  python -m examples.learning_to_learn.evaluate --problem=quadratic \
      --path=/tmp/l2l/quadratic --output_dir=/tmp/l2l
"""

import csv
import os

from absl import app
from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

from examples.learning_to_learn import meta
from examples.learning_to_learn import problems

FLAGS = flags.FLAGS
def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_string('problem', 'quadratic', 'quadratic, simple or digits.')
  flags.DEFINE_string('path', '/tmp/l2l/quadratic',
                      'Checkpoint prefix of the meta-trained network.')
  flags.DEFINE_string('output_dir', '/tmp/l2l', 'Where the CSV/PNG go.')
  flags.DEFINE_integer('num_steps', 100, 'Optimizer steps per problem.')
  flags.DEFINE_integer('unroll_length', 20, 'Steps per unroll (learned opt).')
  flags.DEFINE_integer('num_problems', 10, 'Held-out problem instances.')
  flags.DEFINE_integer('num_tuning_problems', 4, 'Problems for tuning lrs.')
  flags.DEFINE_integer('seed', 1000, 'Seed of the held-out problems.')
  flags.DEFINE_integer('tuning_seed', 2000, 'Seed of the tuning problems.')
  flags.DEFINE_string('preprocess', 'log_and_sign', 'As used in training.')
  flags.DEFINE_float('scale', 0.1, 'As used in training.')

BASELINES = {
    'SGD': tf.train.GradientDescentOptimizer,
    'RMSProp': tf.train.RMSPropOptimizer,
    'Adam': tf.train.AdamOptimizer,
    'NAG': lambda lr: tf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
}
LEARNING_RATES = tuple(float(m * 10.**e) for e in range(-4, 2)
                       for m in (1, 3))


class _Baseline(object):
  """Graph for running one hand-designed optimizer on a problem."""

  def __init__(self, problem, name, make_optimizer):
    with tf.variable_scope('baseline_' + name):
      self.params = [tf.get_variable('param_{}'.format(i), shape=s,
                                     trainable=False,
                                     initializer=tf.zeros_initializer())
                     for i, s in enumerate(problem.param_shapes)]
    self.lr = tf.placeholder(tf.float32, [])
    self.loss = problem.loss(self.params)
    optimizer = make_optimizer(self.lr)
    grads = tf.gradients(self.loss, self.params)
    self.step = optimizer.apply_gradients(zip(grads, self.params))
    self.reset_slots = tf.variables_initializer(optimizer.variables())

  def run(self, session, problem, sample, lr, num_steps):
    data, init_params = sample
    problem.load(session, data)
    for var, value in zip(self.params, init_params):
      var.load(value, session)
    session.run(self.reset_slots)
    losses = []
    for _ in range(num_steps):
      loss, _ = session.run([self.loss, self.step], {self.lr: lr})
      losses.append(loss)
      if not np.isfinite(loss):
        return np.full(num_steps + 1, np.inf)
    losses.append(session.run(self.loss))
    return np.array(losses)


def _mean_curve(curves):
  curves = np.array(curves, dtype=np.float64)
  if not np.isfinite(curves).all():
    return np.full(curves.shape[1], np.inf)
  return curves.mean(0)


def evaluate(problem_name='quadratic', path='', num_steps=100,
             unroll_length=20, num_problems=10, num_tuning_problems=4,
             seed=1000, tuning_seed=2000, preprocess='log_and_sign',
             scale=0.1, learning_rates=LEARNING_RATES, baselines=None,
             problem_kwargs=None):
  """Returns `{name: (mean curve [num_steps + 1], learning rate or None)}`.

  With `path` empty the learned optimizer is left out.
  """
  baselines = baselines or sorted(BASELINES)
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    problem = problems.make(problem_name, **(problem_kwargs or {}))
    runners = {name: _Baseline(problem, name, BASELINES[name])
               for name in baselines}
    if path:
      optimizer = meta.MetaOptimizer(preprocess=preprocess, scale=scale)
      info = optimizer.meta_loss(problem, unroll_length)
      saver = meta.net_saver(optimizer)
    tuning = [problem.sample(np.random.RandomState(tuning_seed + i))
              for i in range(num_tuning_problems)]
    held_out = [problem.sample(np.random.RandomState(seed + i))
                for i in range(num_problems)]
    results = {}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for name in baselines:
        runner = runners[name]
        best_lr, best = None, np.inf
        for lr in learning_rates:
          final = _mean_curve([runner.run(sess, problem, s, lr, num_steps)
                               for s in tuning])[-1]
          if final < best:
            best_lr, best = lr, final
        if best_lr is None:
          raise ValueError('{} diverged for every learning rate.'.format(name))
        results[name] = (_mean_curve(
            [runner.run(sess, problem, s, best_lr, num_steps)
             for s in held_out]), best_lr)
      if path:
        saver.restore(sess, path)
        results['L2L'] = (_mean_curve(
            [meta.run_learned(sess, problem, info, s, num_steps,
                              unroll_length) for s in held_out]), None)
  return results


def write_outputs(results, output_dir, problem_name='quadratic'):
  """Writes `<problem>_curves.csv` (and `.png` with matplotlib); returns paths."""
  os.makedirs(output_dir, exist_ok=True)
  names = sorted(results)
  csv_path = os.path.join(output_dir, problem_name + '_curves.csv')
  with open(csv_path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['step'] + names)
    for step in range(len(results[names[0]][0])):
      writer.writerow([step] + ['%.6g' % results[n][0][step] for n in names])
  paths = [csv_path]
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  except ImportError:
    return paths
  fig, ax = plt.subplots(figsize=(6, 4))
  for name in names:
    curve, lr = results[name]
    ax.semilogy(curve, label=name if lr is None else '%s (lr %g)' % (name, lr))
  ax.set_xlabel('step')
  ax.set_ylabel('mean loss')
  ax.set_title('held-out %s problems' % problem_name)
  ax.legend()
  png_path = os.path.join(output_dir, problem_name + '_curves.png')
  fig.savefig(png_path, dpi=100, bbox_inches='tight')
  paths.append(png_path)
  return paths


def summary_lines(results):
  """One line per optimizer: final mean loss, area under the curve, lr."""
  lines = []
  for name in sorted(results, key=lambda n: results[n][0][-1]):
    curve, lr = results[name]
    lines.append('%-8s final mean loss %10.4g   mean of curve %10.4g   %s' % (
        name, curve[-1], curve.mean(),
        'learned' if lr is None else 'lr %g' % lr))
  return lines


def main(argv):
  del argv
  results = evaluate(FLAGS.problem, FLAGS.path, FLAGS.num_steps,
                     FLAGS.unroll_length, FLAGS.num_problems,
                     FLAGS.num_tuning_problems, FLAGS.seed, FLAGS.tuning_seed,
                     FLAGS.preprocess, FLAGS.scale)
  for line in summary_lines(results):
    print(line)
  for path in write_outputs(results, FLAGS.output_dir, FLAGS.problem):
    print('wrote', path)


if __name__ == '__main__':
  define_flags()
  app.run(main)
