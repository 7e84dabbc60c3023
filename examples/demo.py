"""Quick-start demo: train a small Sonnet model on synthetic data.

A module of our own (an `snt.AbstractModule` holding an `snt.nets.MLP` and a
learned output scale) fits y = sin(3 x0) + x1 * x2 with Adam. The loss is
printed as it falls, then the variables the module owns.

    python examples/demo.py --num_steps 600
"""

from absl import app
from absl import flags
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_steps", 600, "Training steps.")
flags.DEFINE_integer("batch_size", 128, "Examples per step.")
flags.DEFINE_integer("report_every", 100, "Steps between loss reports.")
flags.DEFINE_float("learning_rate", 3e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Random seed.")


class Regressor(snt.AbstractModule):
  """An MLP followed by a trainable scale: inputs [B, 3] -> predictions [B, 1]."""

  def __init__(self, hidden_sizes=(64, 64), name="regressor"):
    super().__init__(name=name)
    with self._enter_variable_scope():
      self._mlp = snt.nets.MLP(list(hidden_sizes) + [1], activation=tf.tanh)

  def _build(self, inputs):
    scale = tf.get_variable("scale", [], initializer=tf.ones_initializer())
    return scale * self._mlp(inputs)


def target_function(x):
  return np.sin(3. * x[:, :1]) + x[:, 1:2] * x[:, 2:3]


def main(unused_argv):
  tf.disable_eager_execution()
  rng = np.random.RandomState(FLAGS.seed)
  tf.set_random_seed(FLAGS.seed)

  inputs = tf.placeholder(tf.float32, [None, 3], name="inputs")
  targets = tf.placeholder(tf.float32, [None, 1], name="targets")
  model = Regressor()
  loss = tf.reduce_mean(tf.square(model(inputs) - targets))
  train_op = tf.train.AdamOptimizer(FLAGS.learning_rate).minimize(loss)

  test_x = rng.uniform(-1, 1, size=(1000, 3)).astype(np.float32)
  test_feed = {inputs: test_x, targets: target_function(test_x)}
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print("step {:5d}  test loss {:.4f}".format(0, sess.run(loss, test_feed)))
    for step in range(1, FLAGS.num_steps + 1):
      x = rng.uniform(-1, 1, size=(FLAGS.batch_size, 3)).astype(np.float32)
      sess.run(train_op, {inputs: x, targets: target_function(x)})
      if step % FLAGS.report_every == 0:
        print("step {:5d}  test loss {:.4f}".format(
            step, sess.run(loss, test_feed)))
  print("\nVariables of the module:")
  print(snt.format_variables(model.get_variables()))


if __name__ == "__main__":
  app.run(main)
