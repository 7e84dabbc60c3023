r"""A relational memory core (`snt.RelationalMemory`) learning to execute programs.

Sequence to sequence: the core encodes the program characters
(`dynamic_rnn` with the input lengths), then decodes from the final state
with zero inputs for as many steps as the target; a `BatchApply`'d MLP and
linear layer give the character logits. Reports the masked cross-entropy,
the per-character accuracy and the fraction of fully solved programs.

  python examples/rmc_learn_to_execute.py --iterations=2000 --batch_size=32
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
from examples import learn_to_execute  # pylint: disable=g-import-not-at-top

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
  flags.DEFINE_integer('max_length', 5, 'Maximum digits per number.')
  flags.DEFINE_integer('max_nest', 2, 'Maximum nesting of operations.')
  flags.DEFINE_integer('iterations', 1000000, 'Training iterations.')
  flags.DEFINE_integer('log_stride', 500, 'Iterations between logs.')


class SequenceModel(snt.AbstractModule):
  """Encoder-decoder around one core, with an MLP + linear readout."""

  def __init__(self, core, target_size, final_mlp, name='sequence_model'):
    super(SequenceModel, self).__init__(name=name)
    self._core = core
    self._target_size = target_size
    self._final_mlp = final_mlp

  def _build(self, inputs, targets, input_sequence_length,
             output_sequence_length):
    batch_size = inputs.get_shape()[1]
    initial_state = self._core.initial_state(batch_size, trainable=False)
    _, state = tf.nn.dynamic_rnn(
        cell=self._core, inputs=inputs, sequence_length=input_sequence_length,
        time_major=True, initial_state=initial_state)
    # Decode with zero inputs from the encoder's final state.
    decoder_inputs = tf.zeros_like(targets)
    output_sequence, _ = tf.nn.dynamic_rnn(
        cell=self._core, inputs=decoder_inputs,
        sequence_length=output_sequence_length, time_major=True,
        initial_state=state)
    outputs = snt.BatchApply(self._final_mlp)(output_sequence)
    return snt.BatchApply(snt.Linear(self._target_size))(outputs)


def build_and_train(iterations, log_stride, batch_size=1600, head_size=2048,
                    num_heads=1, num_mems=4, num_blocks=1, gate_style='unit',
                    max_length=5, max_nest=2, learning_rate=1e-4,
                    min_learning_rate=8e-5, mlp_sizes=(256,) * 4, seed=None):
  """Trains; returns (iteration, loss, char accuracy, solved) test reports."""
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    train_ds = learn_to_execute.LearnToExecute(
        batch_size, max_length, max_nest,
        mode=learn_to_execute.Mode.TRAIN_COMBINE)
    test_ds = learn_to_execute.LearnToExecute(
        batch_size, max_length, max_nest, mode=learn_to_execute.Mode.TEST)
    vocab_size = train_ds.state.vocab_size
    core = snt.RelationalMemory(mem_slots=num_mems, head_size=head_size,
                                num_heads=num_heads, num_blocks=num_blocks,
                                gate_style=gate_style)
    final_mlp = snt.nets.MLP(output_sizes=mlp_sizes, activate_final=True)
    model = SequenceModel(core, vocab_size, final_mlp)

    def connect(dataset):
      obs, target, _, len_in, len_out = tf.data.make_one_shot_iterator(
          dataset).get_next()
      logits = model(obs, target, len_in, len_out)
      mask = tf.transpose(tf.sequence_mask(len_out, tf.shape(target)[0],
                                           dtype=tf.float32))
      xent = tf.nn.softmax_cross_entropy_with_logits_v2(labels=target,
                                                        logits=logits)
      loss = tf.reduce_sum(xent * mask) / tf.reduce_sum(mask)
      correct = tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(target, -1)),
                        tf.float32) * mask
      accuracy = tf.reduce_sum(correct) / tf.reduce_sum(mask)
      solved = tf.reduce_mean(tf.cast(tf.equal(
          tf.reduce_sum(correct, 0), tf.reduce_sum(mask, 0)), tf.float32))
      return loss, accuracy, solved

    train_loss, _, _ = connect(train_ds)
    test_loss, test_accuracy, test_solved = connect(test_ds)
    global_step = tf.train.get_or_create_global_step()
    lr = tf.maximum(tf.train.exponential_decay(
        learning_rate, global_step, decay_steps=max(iterations // 100, 1),
        decay_rate=0.9), min_learning_rate)
    train_op = tf.train.AdamOptimizer(lr).minimize(train_loss,
                                                   global_step=global_step)
    reports = []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for it in range(1, iterations + 1):
        loss_np, _ = sess.run([train_loss, train_op])
        train_ds.state.curriculum.update(loss_np)
        if it % log_stride == 0 or it == iterations:
          report = (it,) + tuple(float(x) for x in sess.run(
              [test_loss, test_accuracy, test_solved]))
          reports.append(report)
          logging.info('%d: train loss %.4f; test loss %.4f, char accuracy '
                       '%.3f, solved %.3f; curriculum (length, nesting) %s',
                       it, loss_np, report[1], report[2], report[3],
                       train_ds.state.curriculum.current)
  return reports


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  build_and_train(FLAGS.iterations, FLAGS.log_stride, FLAGS.batch_size,
                  FLAGS.head_size, FLAGS.num_heads, FLAGS.num_mems,
                  FLAGS.num_blocks,
                  None if FLAGS.gate_style == 'None' else FLAGS.gate_style,
                  FLAGS.max_length, FLAGS.max_nest, FLAGS.learning_rate,
                  FLAGS.min_learning_rate)


if __name__ == '__main__':
  define_flags()
  app.run(main)
