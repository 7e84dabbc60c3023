r"""A module whose `_build` takes extra arguments (`is_training`, `keep_prob`).

`snt.Module` wraps a plain function; connecting it twice with different
arguments shares its variables (conv + batch norm + dropout + linear). The
training connection updates the batch-norm statistics through `UPDATE_OPS`.

  python examples/module_with_build_args.py --num_steps=100
"""

from absl import app
from absl import flags
from absl import logging
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_integer('num_steps', 100, 'Training steps.')
  flags.DEFINE_float('learning_rate', 1e-3, 'SGD learning rate.')
  flags.DEFINE_integer('batch_size', 10, 'Batch size.')


def custom_build(inputs, is_training, keep_prob):
  """Conv(32) -> BN -> relu -> Conv(64) -> BN -> relu -> dropout -> Linear(10)."""
  outputs = snt.Conv2D(output_channels=32, kernel_shape=4, stride=2)(inputs)
  outputs = snt.BatchNorm()(outputs, is_training=is_training)
  outputs = tf.nn.relu(outputs)
  outputs = snt.Conv2D(output_channels=64, kernel_shape=4, stride=2)(outputs)
  outputs = snt.BatchNorm()(outputs, is_training=is_training)
  outputs = tf.nn.relu(outputs)
  outputs = snt.BatchFlatten()(outputs)
  outputs = tf.nn.dropout(outputs, rate=1. - keep_prob)
  outputs = snt.Linear(output_size=10)(outputs)
  return outputs


def run(num_steps=100, learning_rate=1e-3, batch_size=10, seed=0):
  """Trains; returns (losses, whether the train output repeats exactly across
  two fetches of the same feed, whether train and test outputs differ)."""
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    rng = np.random.RandomState(seed)
    inputs_np = rng.uniform(size=[batch_size, 32, 32, 3]).astype(np.float32)
    targets_np = rng.uniform(size=[batch_size, 10]).astype(np.float32)
    inputs = tf.constant(inputs_np)
    targets = tf.constant(targets_np)
    model = snt.Module(custom_build, name='simple_net')
    train_model_outputs = model(inputs, is_training=True, keep_prob=0.5)
    test_model_outputs = model(inputs, is_training=False, keep_prob=1.0)
    loss = tf.nn.l2_loss(targets - train_model_outputs)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      train_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(
          loss)
    losses = []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for step in range(num_steps):
        loss_np, _ = sess.run([loss, train_op])
        losses.append(loss_np)
        if step % 10 == 0:
          logging.info('step %d: loss %.4f', step, loss_np)
      # The test connection is deterministic; the training one draws dropout.
      test_a = sess.run(test_model_outputs)
      test_b = sess.run(test_model_outputs)
      train_out = sess.run(train_model_outputs)
  return (losses, bool(np.array_equal(test_a, test_b)),
          not np.allclose(train_out, test_a))


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  losses, reproducible, differs = run(FLAGS.num_steps, FLAGS.learning_rate,
                                      FLAGS.batch_size)
  print('loss %.4f -> %.4f; test output reproducible: %s; train output '
        'differs from test output: %s' % (losses[0], losses[-1], reproducible,
                                          differs))


if __name__ == '__main__':
  define_flags()
  app.run(main)
