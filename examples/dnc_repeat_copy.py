r"""Trains a DNC (`snt.nets.DNC`) on the repeat-copy task.

Defaults are the reference setup of the original DNC code: batch 16, LSTM
controller of 64 units, memory 16 x 16 with 4 read heads and 1 write head,
clip value 20, RMSProp (learning rate 1e-4, epsilon 1e-10) on gradients
clipped to global norm 50, 4-bit patterns of length 1-2 repeated 1-2 times.

Every `--report_interval` iterations it logs the average cost and bit error
(wrong bits per sequence) and a decoded example; TensorBoard summaries and
checkpoints go under `--logdir`, and a run restarted with the same logdir
resumes from the last checkpoint.

  python examples/dnc_repeat_copy.py --num_training_iterations=2000 \
      --logdir=/tmp/dnc_repeat_copy
"""

import os
import sys
import time

from absl import app
from absl import flags
from absl import logging
import sonnet as snt
import tensorflow.compat.v1 as tf

if __package__ in (None, ''):  # run as a script: make `examples` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
from examples import repeat_copy  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  # Model.
  flags.DEFINE_integer('hidden_size', 64, 'Size of the LSTM hidden layer.')
  flags.DEFINE_integer('memory_size', 16, 'Number of memory slots.')
  flags.DEFINE_integer('word_size', 16, 'Width of each memory slot.')
  flags.DEFINE_integer('num_write_heads', 1, 'Number of memory write heads.')
  flags.DEFINE_integer('num_read_heads', 4, 'Number of memory read heads.')
  flags.DEFINE_integer('clip_value', 20,
                       'Maximum absolute value of controller and DNC outputs.')
  # Optimizer.
  flags.DEFINE_float('max_grad_norm', 50, 'Gradient clipping norm limit.')
  flags.DEFINE_float('learning_rate', 1e-4, 'Optimizer learning rate.')
  flags.DEFINE_float('optimizer_epsilon', 1e-10, 'Epsilon of RMSProp.')
  # Task.
  flags.DEFINE_integer('batch_size', 16, 'Batch size for training.')
  flags.DEFINE_integer('num_bits', 4, 'Width of each vector to copy.')
  flags.DEFINE_integer('min_length', 1, 'Lower limit on pattern length.')
  flags.DEFINE_integer('max_length', 2, 'Upper limit on pattern length.')
  flags.DEFINE_integer('min_repeats', 1, 'Lower limit on number of repeats.')
  flags.DEFINE_integer('max_repeats', 2, 'Upper limit on number of repeats.')
  # Training.
  flags.DEFINE_integer('num_training_iterations', 100000,
                       'Iterations to train for (in total, across resumes).')
  flags.DEFINE_integer('report_interval', 100,
                       'Iterations between reports (cost, bit error, example).')
  flags.DEFINE_string('logdir', '/tmp/tf/dnc',
                      'Summaries and checkpoints; "" to keep nothing.')
  flags.DEFINE_integer('checkpoint_interval', 1000,
                       'Iterations between checkpoints (<= 0: at the end).')
  flags.DEFINE_integer('seed', None, 'Graph-level random seed.')


def run_model(input_sequence, output_size, batch_size, access_config,
              controller_config, clip_value):
  """Unrolls a DNC over the time-major `input_sequence`; returns logits."""
  dnc_core = snt.nets.dnc.DNC(access_config, controller_config, output_size,
                              clip_value)
  initial_state = dnc_core.initial_state(batch_size)
  output_sequence, _ = tf.nn.dynamic_rnn(
      cell=dnc_core, inputs=input_sequence, time_major=True,
      initial_state=initial_state)
  return output_sequence


def train(num_training_iterations=100000, report_interval=100, logdir='',
          checkpoint_interval=1000, hidden_size=64, memory_size=16,
          word_size=16, num_write_heads=1, num_read_heads=4, clip_value=20,
          max_grad_norm=50., learning_rate=1e-4, optimizer_epsilon=1e-10,
          batch_size=16, num_bits=4, min_length=1, max_length=2,
          min_repeats=1, max_repeats=2, seed=None, print_fn=None):
  """Trains; returns a list of (iteration, mean cost, mean bit error) reports.

  `print_fn(text)`, if given, also receives each report and decoded example.
  """
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    dataset = repeat_copy.RepeatCopy(num_bits, batch_size, min_length,
                                     max_length, min_repeats, max_repeats)
    data = dataset()
    access_config = {'memory_size': memory_size, 'word_size': word_size,
                     'num_reads': num_read_heads, 'num_writes': num_write_heads}
    controller_config = {'hidden_size': hidden_size}
    logits = run_model(data.observations, dataset.target_size, batch_size,
                       access_config, controller_config, clip_value)
    mask = tf.expand_dims(data.mask, -1)
    output = tf.round(mask * tf.sigmoid(logits))
    cost = dataset.cost(logits, data.target, data.mask)
    bit_error = tf.reduce_sum(
        tf.abs(output - data.target) * mask) / batch_size

    trainable_variables = tf.trainable_variables()
    grads, _ = tf.clip_by_global_norm(
        tf.gradients(cost, trainable_variables), max_grad_norm)
    global_step = tf.train.get_or_create_global_step()
    optimizer = tf.train.RMSPropOptimizer(learning_rate,
                                          epsilon=optimizer_epsilon)
    train_step = optimizer.apply_gradients(zip(grads, trainable_variables),
                                           global_step=global_step)
    tf.summary.scalar('cost', cost)
    tf.summary.scalar('bit_error', bit_error)
    summaries = tf.summary.merge_all()
    saver = tf.train.Saver(max_to_keep=3)

    reports = []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      writer = None
      if logdir:
        os.makedirs(logdir, exist_ok=True)
        latest = tf.train.latest_checkpoint(logdir)
        if latest:
          saver.restore(sess, latest)
          logging.info('resumed from %s', latest)
        writer = tf.summary.FileWriter(logdir, sess.graph)
      start_iteration = sess.run(global_step)
      total_cost = total_bits = 0.
      count = 0
      start = time.time()
      iteration = start_iteration
      for iteration in range(start_iteration, num_training_iterations):
        _, cost_np, bits_np, summary_np = sess.run(
            [train_step, cost, bit_error, summaries])
        total_cost += cost_np
        total_bits += bits_np
        count += 1
        step = iteration + 1
        if writer is not None and step % 10 == 0:
          writer.add_summary(summary_np, step)
        if logdir and checkpoint_interval > 0 and step % checkpoint_interval == 0:
          saver.save(sess, os.path.join(logdir, 'model.ckpt'), global_step=step)
        if step % report_interval == 0 or step == num_training_iterations:
          data_np, output_np = sess.run([data, output])
          report = (step, total_cost / count, total_bits / count)
          reports.append(report)
          text = ('%d: avg training cost %.4f, bit error %.3f per sequence '
                  '(%.1f s)' % (report + (time.time() - start,)))
          logging.info('%s%s', text,
                       dataset.to_human_readable(data_np, output_np))
          if print_fn:
            print_fn(text)
          total_cost = total_bits = 0.
          count = 0
      if logdir and num_training_iterations > start_iteration:
        saver.save(sess, os.path.join(logdir, 'model.ckpt'),
                   global_step=num_training_iterations)
      if writer is not None:
        writer.close()
      if print_fn and num_training_iterations > start_iteration:
        data_np, output_np = sess.run([data, output])
        print_fn('Decoded example (rows are channels, columns time steps):' +
                 dataset.to_human_readable(data_np, output_np))
  return reports


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  train(FLAGS.num_training_iterations, FLAGS.report_interval, FLAGS.logdir,
        FLAGS.checkpoint_interval, FLAGS.hidden_size, FLAGS.memory_size,
        FLAGS.word_size, FLAGS.num_write_heads, FLAGS.num_read_heads,
        FLAGS.clip_value, FLAGS.max_grad_norm, FLAGS.learning_rate,
        FLAGS.optimizer_epsilon, FLAGS.batch_size, FLAGS.num_bits,
        FLAGS.min_length, FLAGS.max_length, FLAGS.min_repeats,
        FLAGS.max_repeats, FLAGS.seed)


if __name__ == '__main__':
  define_flags()
  app.run(main)
