r"""A relational memory core (`snt.RelationalMemory`) on the nth-farthest task.

The objects of a sample are fed one per step to the core (`dynamic_rnn`); the
last output goes through an MLP and a linear layer to a distribution over the
objects. Trained with Adam on a decayed (and floored) learning rate; logs the
training loss and test accuracy every `--log_stride` iterations.

  python examples/rmc_nth_farthest.py --batch_size=64 --head_size=64 \
      --epochs=2000
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
import sonnet as snt
import tensorflow.compat.v1 as tf

if __package__ in (None, ''):  # run as a script: make `examples` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
from examples import dataset_nth_farthest  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_float('learning_rate', 1e-4, 'Initial learning rate.')
  flags.DEFINE_float('min_learning_rate', 8e-5, 'Minimum learning rate.')
  flags.DEFINE_integer('batch_size', 1600, 'Batch size.')
  flags.DEFINE_integer('head_size', 2048, 'Total memory size for the RMC.')
  flags.DEFINE_integer('num_heads', 1, 'Attention heads for the RMC.')
  flags.DEFINE_integer('num_mems', 4, 'Memory slots for the RMC.')
  flags.DEFINE_integer('num_blocks', 1, 'Attention blocks per step.')
  flags.DEFINE_string('gate_style', 'unit', 'unit, memory or None.')
  flags.DEFINE_integer('num_objects', 4, 'Objects per sample.')
  flags.DEFINE_integer('num_features', 4, 'Features per object.')
  flags.DEFINE_integer('epochs', 1000000, 'Training iterations.')
  flags.DEFINE_integer('log_stride', 100, 'Iterations between logs.')


class SequenceModel(snt.AbstractModule):
  """Runs `core` over the objects, then `final_mlp` and a linear layer."""

  def __init__(self, core, target_size, final_mlp, name='sequence_model'):
    super(SequenceModel, self).__init__(name=name)
    self._core = core
    self._target_size = target_size
    self._final_mlp = final_mlp

  def _build(self, inputs):
    batch_size = inputs.get_shape()[0]
    output_sequence, _ = tf.nn.dynamic_rnn(
        cell=self._core, inputs=inputs, time_major=False,
        initial_state=self._core.initial_state(batch_size, trainable=False))
    outputs = snt.BatchFlatten()(output_sequence[:, -1, :])
    outputs = self._final_mlp(outputs)
    logits = snt.Linear(self._target_size)(outputs)
    return logits


def build_and_train(iterations, log_stride, batch_size=1600, head_size=2048,
                    num_heads=1, num_mems=4, num_blocks=1, gate_style='unit',
                    num_objects=4, num_features=4, learning_rate=1e-4,
                    min_learning_rate=8e-5, mlp_sizes=(256,) * 4, seed=None):
  """Trains; returns (iteration, train loss, test accuracy) reports."""
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    core = snt.RelationalMemory(mem_slots=num_mems, head_size=head_size,
                                num_heads=num_heads, num_blocks=num_blocks,
                                gate_style=gate_style)
    final_mlp = snt.nets.MLP(output_sizes=mlp_sizes, activate_final=True)
    model = SequenceModel(core=core, target_size=num_objects,
                          final_mlp=final_mlp)
    train_data = dataset_nth_farthest.NthFarthest(
        batch_size, num_objects, num_features, seed=seed)
    test_data = dataset_nth_farthest.NthFarthest(
        batch_size, num_objects, num_features,
        seed=None if seed is None else seed + 1)

    inputs, labels = train_data.get_batch()
    logits = model(inputs)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))
    test_inputs, test_labels = test_data.get_batch()
    test_logits = model(test_inputs)
    test_accuracy = tf.reduce_mean(tf.cast(tf.equal(
        tf.argmax(test_logits, 1, output_type=tf.int32),
        tf.cast(test_labels, tf.int32)), tf.float32))

    global_step = tf.train.get_or_create_global_step()
    lr = tf.maximum(tf.train.exponential_decay(
        learning_rate, global_step, decay_steps=max(iterations // 100, 1),
        decay_rate=0.9, staircase=False), min_learning_rate)
    train_op = tf.train.AdamOptimizer(lr).minimize(loss,
                                                   global_step=global_step)
    reports = []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      total = 0.
      for it in range(1, iterations + 1):
        loss_np, _ = sess.run([loss, train_op])
        total += loss_np
        if it % log_stride == 0 or it == iterations:
          count = log_stride if it % log_stride == 0 else it % log_stride
          acc = sess.run(test_accuracy)
          reports.append((it, total / count, float(acc)))
          logging.info('%d: train loss %.4f, test accuracy %.3f', it,
                       total / count, acc)
          total = 0.
  return reports


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  build_and_train(FLAGS.epochs, FLAGS.log_stride, FLAGS.batch_size,
                  FLAGS.head_size, FLAGS.num_heads, FLAGS.num_mems,
                  FLAGS.num_blocks,
                  None if FLAGS.gate_style == 'None' else FLAGS.gate_style,
                  FLAGS.num_objects, FLAGS.num_features, FLAGS.learning_rate,
                  FLAGS.min_learning_rate)


if __name__ == '__main__':
  define_flags()
  app.run(main)
