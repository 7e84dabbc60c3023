r"""An MLP classifier (`snt.nets.MLP`) on scikit-learn's bundled 8x8 digits.

The Sonnet 1 `mnist_mlp.py` example, on a dataset that installs with a package
(no download): scikit-learn's `load_digits()` (1797 images of 8x8 pixels).
scikit-learn is an optional extra (`pip install scikit-learn`); without it the
script stops with a message saying so.

The images are scaled to [0, 1], split into training and test sets, and fed
through `tf.data` (shuffled, batched, repeated); one MLP instance is connected
to both (shared weights). Plain SGD on the mean softmax cross-entropy; logs
the training loss every `--report_every` steps and the test accuracy every
`--test_every` steps.

  python examples/mlp_digits.py
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
  flags.DEFINE_float('learning_rate', 0.1, 'SGD learning rate.')
  flags.DEFINE_integer('num_hidden', 100, 'Hidden units of the MLP.')
  flags.DEFINE_integer('num_train_steps', 1001, 'Training steps.')
  flags.DEFINE_integer('report_every', 10, 'Steps between loss logs.')
  flags.DEFINE_integer('test_every', 200, 'Steps between test evaluations.')
  flags.DEFINE_integer('train_batch_size', 200, 'Training batch size.')
  flags.DEFINE_float('test_fraction', 0.2, 'Fraction of images held out.')


def get_data(train_batch_size, test_fraction=0.2, seed=0):
  """Digits as `{'train_iterator', 'test_iterator', 'num_classes', ...}`."""
  try:
    from sklearn import datasets  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('This example needs scikit-learn, an optional extra: '
                      '`pip install scikit-learn`.') from e
  digits = datasets.load_digits()
  images = (digits.images / 16.).astype(np.float32)[..., None]  # [n, 8, 8, 1]
  labels = digits.target.astype(np.int32)
  order = np.random.RandomState(seed).permutation(len(labels))
  num_test = int(len(labels) * test_fraction)
  test_idx, train_idx = order[:num_test], order[num_test:]
  train = tf.data.Dataset.from_tensor_slices(
      (images[train_idx], labels[train_idx]))
  train = train.shuffle(len(train_idx), seed=seed).batch(
      train_batch_size).repeat()
  test = tf.data.Dataset.from_tensor_slices(
      (images[test_idx], labels[test_idx])).batch(num_test)
  return {'train_iterator': tf.data.make_one_shot_iterator(train),
          'test_iterator': tf.data.make_initializable_iterator(test),
          'num_classes': 10, 'num_test': num_test}


def train_and_eval(learning_rate=0.1, num_hidden=100, num_train_steps=1001,
                   report_every=10, test_every=200, train_batch_size=200,
                   test_fraction=0.2, seed=0):
  """Trains; returns (losses, [(step, test accuracy)])."""
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    data = get_data(train_batch_size, test_fraction, seed)
    images, labels = data['train_iterator'].get_next()
    mlp = snt.nets.MLP([num_hidden, data['num_classes']])
    logits = mlp(snt.BatchFlatten()(images))
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))
    train_op = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss)
    test_images, test_labels = data['test_iterator'].get_next()
    test_logits = mlp(snt.BatchFlatten()(test_images))
    num_correct = tf.reduce_sum(tf.cast(
        tf.nn.in_top_k(test_logits, test_labels, k=1), tf.int32))
    losses, accuracies = [], []
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for step in range(num_train_steps):
        loss_np, _ = sess.run([loss, train_op])
        losses.append(loss_np)
        if step % report_every == 0:
          logging.info('Step: %4d of %d - loss: %.02f.', step,
                       num_train_steps, loss_np)
        if step % test_every == 0 or step == num_train_steps - 1:
          sess.run(data['test_iterator'].initializer)
          correct = sess.run(num_correct)
          accuracies.append((step, correct / data['num_test']))
          logging.info('Test: %d of %d correct (%.1f%%).', correct,
                       data['num_test'], 100. * correct / data['num_test'])
  return losses, accuracies


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  _, accuracies = train_and_eval(
      FLAGS.learning_rate, FLAGS.num_hidden, FLAGS.num_train_steps,
      FLAGS.report_every, FLAGS.test_every, FLAGS.train_batch_size,
      FLAGS.test_fraction)
  print('final test accuracy: %.3f' % accuracies[-1][1])


if __name__ == '__main__':
  define_flags()
  app.run(main)
