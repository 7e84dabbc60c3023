r"""Meta-trains the coordinatewise LSTM optimizer (truncated BPTT).

Each epoch draws a fresh problem instance and optimises it for `num_steps`
steps, cut into unrolls of `unroll_length`; after each unroll Adam updates the
network on the sum of the optimizee losses. The network weights are saved to
`--save_path` (a TensorFlow checkpoint prefix) for `evaluate.py`.

  python -m examples.learning_to_learn.train --problem=quadratic \
      --save_path=/tmp/l2l/quadratic
"""

import os
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow.compat.v1 as tf

from examples.learning_to_learn import meta
from examples.learning_to_learn import problems

FLAGS = flags.FLAGS
def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_string('problem', 'quadratic', 'quadratic, simple or digits.')
  flags.DEFINE_string('save_path', '/tmp/l2l/quadratic',
                      'Checkpoint prefix for the network weights ("" = none).')
  flags.DEFINE_integer('num_epochs', 3000, 'Problem instances to train on.')
  flags.DEFINE_float('max_minutes', 25., 'Stop after this much training time.')
  flags.DEFINE_integer('num_steps', 100, 'Optimizer steps per problem.')
  flags.DEFINE_integer('unroll_length', 20, 'Steps per truncated unroll.')
  flags.DEFINE_float('learning_rate', 0.001, 'Adam learning rate.')
  flags.DEFINE_boolean('second_derivatives', False,
                       'Differentiate through the optimizee gradients.')
  flags.DEFINE_string('preprocess', 'log_and_sign', 'log_and_sign or identity.')
  flags.DEFINE_float('scale', 0.1, 'Scale of the network output.')
  flags.DEFINE_integer('log_period', 100, 'Epochs between log lines.')
  flags.DEFINE_integer('seed', 0, 'Seed of the training problems.')


def train(problem_name='quadratic', save_path='', num_epochs=3000,
          max_minutes=25., num_steps=100, unroll_length=20,
          learning_rate=0.001, second_derivatives=False,
          preprocess='log_and_sign', scale=0.1, log_period=100, seed=0,
          problem_kwargs=None):
  """Meta-trains; returns a dict with epochs run, seconds, and mean losses."""
  if num_steps % unroll_length:
    raise ValueError('num_steps must be a multiple of unroll_length.')
  num_unrolls = num_steps // unroll_length
  rng = np.random.RandomState(seed)
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    problem = problems.make(problem_name, **(problem_kwargs or {}))
    optimizer = meta.MetaOptimizer(preprocess=preprocess, scale=scale)
    info, train_op = optimizer.meta_minimize(
        problem, unroll_length, learning_rate=learning_rate,
        second_derivatives=second_derivatives)
    saver = meta.net_saver(optimizer)
    final_losses = []
    history = []
    start = time.time()
    epoch = 0
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for epoch in range(1, num_epochs + 1):
        meta.MetaOptimizer.reset(sess, problem, info, problem.sample(rng))
        for _ in range(num_unrolls):
          fx, _ = sess.run([info.fx, train_op])
          if not np.isfinite(fx).all():
            break
        final_losses.append(fx[-1])
        if epoch % log_period == 0:
          mean = float(np.mean(final_losses[-log_period:]))
          history.append((epoch, mean))
          logging.info('epoch %d (%.0f s): mean final loss of the last %d '
                       'problems %.4g', epoch, time.time() - start,
                       log_period, mean)
        if time.time() - start > 60. * max_minutes:
          logging.info('time budget of %.1f minutes reached', max_minutes)
          break
      seconds = time.time() - start
      if save_path:
        os.makedirs(os.path.dirname(os.path.abspath(save_path)), exist_ok=True)
        saver.save(sess, save_path, write_meta_graph=False)
        logging.info('saved the network to %s', save_path)
  return {'epochs': epoch, 'seconds': seconds, 'history': history,
          'final_losses': final_losses}


def main(argv):
  del argv
  result = train(FLAGS.problem, FLAGS.save_path, FLAGS.num_epochs,
                 FLAGS.max_minutes, FLAGS.num_steps, FLAGS.unroll_length,
                 FLAGS.learning_rate, FLAGS.second_derivatives,
                 FLAGS.preprocess, FLAGS.scale, FLAGS.log_period, FLAGS.seed)
  print('meta-trained for {} epochs in {:.1f} minutes'.format(
      result['epochs'], result['seconds'] / 60.))


if __name__ == '__main__':
  define_flags()
  app.run(main)
