r"""A Bayesian RNN (Bayes by Backprop, Fortunato et al. 2017), Tiny Shakespeare.

The character-level counterpart of Sonnet 1's `brnn_ptb.py`: every weight of
the embedding, the LSTMs and the output layer's matrix has a diagonal
Gaussian posterior (the `snt.custom_getters.bayes_by_backprop` getter), with a
scale-mixture prior of two zero-mean Gaussians. The loss is the per-sequence
summed cross-entropy averaged over the batch plus the KL cost divided by
(batch size x batches per epoch). Training samples weights; evaluation uses
the posterior means. The LSTM state carries over between unrolls.

  python examples/brnn_shakespeare.py --num_training_iterations=2000
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np
import sonnet as snt
from sonnet.python.custom_getters import bayes_by_backprop as bbb
from sonnet.python.custom_getters import gaussian
import tensorflow.compat.v1 as tf

if __package__ in (None, ''):  # run as a script: make `examples` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
from examples import dataset_shakespeare  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_integer('embedding_size', 64, 'Character embedding size.')
  flags.DEFINE_integer('hidden_size', 128, 'LSTM size.')
  flags.DEFINE_integer('n_layers', 2, 'Number of LSTM layers.')
  flags.DEFINE_integer('batch_size', 20, 'Batch size.')
  flags.DEFINE_integer('unroll_steps', 50, 'Truncated BPTT length.')
  flags.DEFINE_integer('num_training_iterations', 2000, 'Training iterations.')
  flags.DEFINE_integer('report_interval', 200, 'Iterations between reports.')
  flags.DEFINE_float('lr_start', 1.0, 'Initial SGD learning rate.')
  flags.DEFINE_integer('high_lr_epochs', 20,
                       'Epochs (passes over the training text) at lr_start.')
  flags.DEFINE_float('lr_decay', 0.9,
                     'Learning-rate multiplier after each later epoch.')
  flags.DEFINE_float('max_grad_norm', 5.0, 'Gradient clipping norm limit.')
  flags.DEFINE_float('prior_pi', 0.25, 'Weight of the wide prior component.')
  flags.DEFINE_float('prior_sigma1', np.exp(-1.0), 'Wide prior stddev.')
  flags.DEFINE_float('prior_sigma2', np.exp(-7.0), 'Narrow prior stddev.')
  flags.DEFINE_string('logdir', '', 'Checkpoints go here ("" = none).')


class ScaleMixturePrior(object):
  """pi N(0, sigma1^2) + (1 - pi) N(0, sigma2^2) (only `log_prob` is needed)."""

  def __init__(self, pi, sigma1, sigma2, dtype=tf.float32):
    self._pi = pi
    self._components = [gaussian.Normal(tf.constant(0., dtype),
                                        tf.constant(sigma1, dtype)),
                        gaussian.Normal(tf.constant(0., dtype),
                                        tf.constant(sigma2, dtype))]

  def log_prob(self, x):
    return tf.reduce_logsumexp(
        tf.stack([np.log(self._pi) + self._components[0].log_prob(x),
                  np.log(1. - self._pi) + self._components[1].log_prob(x)]),
        axis=0)


def make_getter(prior_pi, prior_sigma1, prior_sigma2, sampling_mode,
                lstm=False):
  """A Bayes-by-Backprop getter with the scale-mixture prior.

  Posterior locs keep the layer's own initializer; posterior scales start
  uniform between softplus^-1(s/4) and softplus^-1(s/2) (LSTMs) or s/2 and s
  (other layers), s the prior's standard deviation.
  """
  prior_stddev = np.sqrt(prior_pi * prior_sigma1 ** 2 +
                         (1 - prior_pi) * prior_sigma2 ** 2)
  low, high = (4., 2.) if lstm else (2., 1.)

  def posterior_builder(getter, name, *args, **kwargs):
    del args
    shape = kwargs['shape']
    loc = getter(name + '/posterior_loc', shape=shape,
                 initializer=kwargs.get('initializer'), dtype=tf.float32)
    scale = getter(name + '/posterior_scale', initializer=tf.random_uniform(
        shape, bbb.inverse_softplus(prior_stddev / low),
        bbb.inverse_softplus(prior_stddev / high), dtype=tf.float32))
    return gaussian.Normal(loc=loc, scale=tf.nn.softplus(scale) + 1e-5,
                           name='{}/posterior_dist'.format(name))

  def prior_builder(getter, name, *args, **kwargs):
    del getter, name, args, kwargs
    return ScaleMixturePrior(prior_pi, prior_sigma1, prior_sigma2)

  return bbb.bayes_by_backprop_getter(
      posterior_builder=posterior_builder, prior_builder=prior_builder,
      kl_builder=bbb.stochastic_kl_builder,
      sampling_mode_tensor=sampling_mode)


def build_modules(vocab_size, embedding_size, hidden_size, n_layers,
                  getter_kwargs):
  """Embedding, deep LSTM core and output layer, all Bayesian."""
  non_lstm_getter = make_getter(lstm=False, **getter_kwargs)
  lstm_getter = make_getter(lstm=True, **getter_kwargs)
  embed = snt.Embed(vocab_size, embedding_size, custom_getter=non_lstm_getter,
                    name='input_embedding')
  cores = [snt.LSTM(hidden_size, custom_getter=lstm_getter, forget_bias=0.0,
                    name='lstm_layer_{}'.format(i)) for i in range(n_layers)]
  core = snt.DeepRNN(cores, skip_connections=False, name='deep_lstm_core')
  output_linear = snt.Linear(vocab_size, custom_getter={'w': non_lstm_getter},
                             name='output_linear')
  return embed, core, output_linear


def train(num_training_iterations=2000, report_interval=200, embedding_size=64,
          hidden_size=128, n_layers=2, batch_size=20, unroll_steps=50,
          lr_start=1.0, max_grad_norm=5.0, prior_pi=0.25,
          prior_sigma1=np.exp(-1.0), prior_sigma2=np.exp(-7.0), logdir='',
          seed=None, high_lr_epochs=20, lr_decay=0.9):
  """Trains; returns (iteration, train loss, valid loss) reports (per char).

  An epoch is one pass over the training text (`num_batches` iterations);
  after each epoch with index >= `high_lr_epochs` the learning rate is
  multiplied by `lr_decay`.
  """
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    datasets = {s: dataset_shakespeare.TinyShakespeareDataset(
        num_steps=unroll_steps, batch_size=batch_size, subset=s,
        name='shake_' + s) for s in ('train', 'valid')}
    vocab_size = datasets['train'].vocab_size
    num_tokens = len(dataset_shakespeare.read_text('train'))
    num_batches = num_tokens // (batch_size * unroll_steps)
    sampling_mode = tf.placeholder_with_default(
        tf.constant(bbb.EstimatorModes.sample), [], name='sampling_mode')
    embed, core, output_linear = build_modules(
        vocab_size, embedding_size, hidden_size, n_layers,
        dict(prior_pi=prior_pi, prior_sigma1=prior_sigma1,
             prior_sigma2=prior_sigma2, sampling_mode=sampling_mode))

    def connect(subset):
      """Loss per character on one unroll, and the op saving the state."""
      data = datasets[subset]()
      tokens = tf.argmax(data.obs, axis=-1)
      # State kept in local variables between unrolls.
      zero = core.initial_state(batch_size)
      state_vars = [tf.Variable(z, trainable=False,
                                collections=[tf.GraphKeys.LOCAL_VARIABLES],
                                name='{}_state_{}'.format(subset, i))
                    for i, z in enumerate(tf.nest.flatten(zero))]
      state = tf.nest.pack_sequence_as(zero, [v.read_value()
                                              for v in state_vars])
      outputs, final_state = tf.nn.dynamic_rnn(
          core, embed(tokens), initial_state=state, time_major=True)
      logits = snt.BatchApply(output_linear)(outputs)
      xent = tf.nn.softmax_cross_entropy_with_logits_v2(
          labels=data.target, logits=logits)
      save_state = tf.group([v.assign(s) for v, s in zip(
          state_vars, tf.nest.flatten(final_state))])
      return tf.reduce_mean(xent), tf.reduce_sum(xent) / batch_size, save_state

    train_loss_per_char, train_nll, save_train_state = connect('train')
    valid_loss_per_char, _, save_valid_state = connect('valid')
    kl_cost = bbb.get_total_kl_cost() / (batch_size * num_batches)
    loss = train_nll + kl_cost
    variables = tf.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(loss, variables),
                                      max_grad_norm)
    global_step = tf.train.get_or_create_global_step()
    learning_rate = tf.get_variable(
        'learning_rate', shape=[], trainable=False,
        initializer=tf.constant_initializer(lr_start))
    decay_learning_rate = learning_rate.assign(learning_rate * lr_decay)
    train_op = tf.train.GradientDescentOptimizer(
        learning_rate).apply_gradients(zip(grads, variables),
                                       global_step=global_step)
    with tf.control_dependencies([train_op]):
      train_op = tf.group(save_train_state)
    saver = tf.train.Saver()

    reports = []
    with tf.Session() as sess:
      sess.run([tf.global_variables_initializer(),
                tf.local_variables_initializer()])
      total = 0.
      for iteration in range(num_training_iterations):
        loss_np, _ = sess.run([train_loss_per_char, train_op])
        total += loss_np
        step = iteration + 1
        if step % num_batches == 0 and step // num_batches > high_lr_epochs:
          logging.info('epoch %d done: learning rate now %g',
                       step // num_batches - 1, sess.run(decay_learning_rate))
        if step % report_interval == 0 or step == num_training_iterations:
          count = report_interval if step % report_interval == 0 else (
              step % report_interval)
          valid_np, _ = sess.run([valid_loss_per_char, save_valid_state],
                                 {sampling_mode: bbb.EstimatorModes.mean})
          reports.append((step, total / count, float(valid_np)))
          logging.info('%d: train loss %.4f nats/char, valid loss (posterior '
                       'mean) %.4f nats/char, KL term %.4f', step,
                       total / count, valid_np, sess.run(kl_cost))
          total = 0.
      if logdir:
        os.makedirs(logdir, exist_ok=True)
        saver.save(sess, os.path.join(logdir, 'model.ckpt'),
                   global_step=num_training_iterations)
  return reports


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  train(FLAGS.num_training_iterations, FLAGS.report_interval,
        FLAGS.embedding_size, FLAGS.hidden_size, FLAGS.n_layers,
        FLAGS.batch_size, FLAGS.unroll_steps, FLAGS.lr_start,
        FLAGS.max_grad_norm, FLAGS.prior_pi, FLAGS.prior_sigma1,
        FLAGS.prior_sigma2, FLAGS.logdir, None, FLAGS.high_lr_epochs,
        FLAGS.lr_decay)


if __name__ == '__main__':
  define_flags()
  app.run(main)
