r"""A character-level deep LSTM on Tiny Shakespeare.

`TextModel`: one-hot characters -> linear embedding + relu -> a `DeepRNN` of
LSTMs (each wrapped in a `SkipConnectionCore`) -> linear logits. Trained with
Adam on globally clipped gradients, the learning rate cut by a factor every
`--reduce_learning_rate_interval` iterations; reports the training loss,
the validation loss and a sampled text every `--report_interval` iterations,
checkpoints to `--checkpoint_dir` (and resumes from it), and ends with the
test loss.

  python examples/rnn_shakespeare.py --num_training_iterations=2000
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
from examples import dataset_shakespeare  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_integer('num_training_iterations', 10000, 'Training iterations.')
  flags.DEFINE_integer('report_interval', 1000, 'Iterations between reports.')
  flags.DEFINE_integer('reduce_learning_rate_interval', 2500,
                       'Iterations between learning-rate reductions.')
  flags.DEFINE_integer('lstm_depth', 3, 'Number of LSTM layers.')
  flags.DEFINE_integer('batch_size', 32, 'Batch size.')
  flags.DEFINE_integer('num_embedding', 32, 'Size of the embedding layer.')
  flags.DEFINE_integer('num_hidden', 128, 'Size of each LSTM layer.')
  flags.DEFINE_integer('truncation_length', 64, 'Sequence length per batch.')
  flags.DEFINE_integer('sample_length', 1000, 'Length of the sampled text.')
  flags.DEFINE_float('max_grad_norm', 5, 'Gradient clipping norm limit.')
  flags.DEFINE_float('learning_rate', 0.1, 'Initial Adam learning rate.')
  flags.DEFINE_float('reduce_learning_rate_multiplier', 0.1,
                     'Learning-rate multiplier at each reduction.')
  flags.DEFINE_float('optimizer_epsilon', 0.01, 'Adam epsilon.')
  flags.DEFINE_string('checkpoint_dir', '/tmp/tf/rnn_shakespeare',
                      'Checkpoint directory ("" for none).')
  flags.DEFINE_integer('checkpoint_interval', 500,
                       'Iterations between checkpoints.')


class TextModel(snt.AbstractModule):
  """Embedding, deep LSTM with skip connections, and output layer."""

  def __init__(self, num_embedding, num_hidden, lstm_depth, output_size,
               use_dynamic_rnn=True, use_skip_connections=True,
               name='text_model'):
    super(TextModel, self).__init__(name=name)
    self._num_embedding = num_embedding
    self._num_hidden = num_hidden
    self._lstm_depth = lstm_depth
    self._output_size = output_size
    self._use_dynamic_rnn = use_dynamic_rnn
    self._use_skip_connections = use_skip_connections
    with self._enter_variable_scope():
      self._embed_module = snt.Linear(num_embedding, name='linear_embed')
      self._output_module = snt.Linear(output_size, name='linear_output')
      self._subcores = [snt.LSTM(num_hidden, name='lstm_{}'.format(i))
                        for i in range(lstm_depth)]
      if use_skip_connections:
        skips = []
        current_input_shape = num_embedding
        for i, lstm in enumerate(self._subcores):
          skips.append(snt.SkipConnectionCore(
              lstm, input_shape=tf.TensorShape([current_input_shape]),
              name='skip_lstm_{}'.format(i)))
          current_input_shape += num_hidden
        self._subcores = skips
      self._core = snt.DeepRNN(self._subcores, skip_connections=False,
                               name='deep_lstm')

  def _build(self, one_hot_input_sequence):
    """Logits `[T, B, output_size]` and the final state for `[T, B, V]` input."""
    input_shape = one_hot_input_sequence.get_shape()
    batch_size = input_shape[1]
    embedded = snt.BatchApply(self._embed_module)(one_hot_input_sequence)
    embedded = tf.nn.relu(embedded)
    initial_state = self._core.initial_state(batch_size)
    if self._use_dynamic_rnn:
      output_sequence, final_state = tf.nn.dynamic_rnn(
          cell=self._core, inputs=embedded, time_major=True,
          initial_state=initial_state)
    else:
      state = initial_state
      outputs = []
      for t in range(int(input_shape[0])):
        out, state = self._core(embedded[t], state)
        outputs.append(out)
      output_sequence, final_state = tf.stack(outputs), state
    logits = snt.BatchApply(self._output_module)(output_sequence)
    return logits, final_state

  @snt.reuse_variables
  def generate_string(self, initial_logits, initial_state, sequence_length):
    """Samples `sequence_length` characters: one-hots `[L, B, V]`."""
    current_logits = initial_logits
    current_state = initial_state
    generated = []
    for _ in range(sequence_length):
      char_index = tf.squeeze(tf.multinomial(current_logits, 1), 1)
      char_one_hot = tf.one_hot(char_index, self._output_size, 1.0, 0.0)
      generated.append(char_one_hot)
      gen_out_seq, current_state = self._core(
          tf.nn.relu(self._embed_module(char_one_hot)), current_state)
      current_logits = self._output_module(gen_out_seq)
    return tf.stack(generated)


def build_graph(lstm_depth=3, batch_size=32, num_embedding=32, num_hidden=128,
                truncation_length=64, sample_length=1000, max_grad_norm=5,
                initial_learning_rate=0.1, reduce_learning_rate_multiplier=0.1,
                optimizer_epsilon=0.01):
  """Builds datasets, model, losses, training and sampling ops (a dict)."""
  dataset_train = dataset_shakespeare.TinyShakespeareDataset(
      num_steps=truncation_length, batch_size=batch_size, subset='train',
      random=True, name='shake_train')
  dataset_valid = dataset_shakespeare.TinyShakespeareDataset(
      num_steps=truncation_length, batch_size=batch_size, subset='valid',
      random=False, name='shake_valid')
  dataset_test = dataset_shakespeare.TinyShakespeareDataset(
      num_steps=truncation_length, batch_size=batch_size, subset='test',
      random=False, name='shake_test')
  model = TextModel(num_embedding=num_embedding, num_hidden=num_hidden,
                    lstm_depth=lstm_depth,
                    output_size=dataset_valid.vocab_size)

  train_input_sequence, train_target_sequence = dataset_train()
  output_logits, final_state = model(train_input_sequence)
  train_loss = dataset_train.cost(output_logits, train_target_sequence)

  # Sample from the model, starting from where the training batch ended.
  initial_logits = output_logits[truncation_length - 1]
  generated_string = model.generate_string(
      initial_logits=initial_logits, initial_state=final_state,
      sequence_length=sample_length)

  valid_input_sequence, valid_target_sequence = dataset_valid()
  valid_logits, _ = model(valid_input_sequence)
  valid_loss = dataset_valid.cost(valid_logits, valid_target_sequence)
  test_input_sequence, test_target_sequence = dataset_test()
  test_logits, _ = model(test_input_sequence)
  test_loss = dataset_test.cost(test_logits, test_target_sequence)

  trainable_variables = tf.trainable_variables()
  grads, _ = tf.clip_by_global_norm(
      tf.gradients(train_loss, trainable_variables), max_grad_norm)
  learning_rate = tf.get_variable(
      'learning_rate', shape=[], dtype=tf.float32,
      initializer=tf.constant_initializer(initial_learning_rate),
      trainable=False)
  reduce_learning_rate = learning_rate.assign(
      learning_rate * reduce_learning_rate_multiplier)
  global_step = tf.train.get_or_create_global_step()
  optimizer = tf.train.AdamOptimizer(learning_rate, epsilon=optimizer_epsilon)
  train_step = optimizer.apply_gradients(zip(grads, trainable_variables),
                                         global_step=global_step)
  return dict(train_step=train_step, train_loss=train_loss,
              valid_loss=valid_loss, test_loss=test_loss,
              generated_string=generated_string,
              reduce_learning_rate=reduce_learning_rate,
              global_step=global_step, dataset_train=dataset_train,
              model=model)


def train(num_training_iterations=10000, report_interval=1000,
          reduce_learning_rate_interval=2500, checkpoint_dir='',
          checkpoint_interval=500, seed=None, **graph_kwargs):
  """Trains; returns dict of per-iteration train losses, reports, test loss."""
  with tf.Graph().as_default():
    if seed is not None:
      tf.set_random_seed(seed)
    g = build_graph(**graph_kwargs)
    saver = tf.train.Saver(max_to_keep=3)
    # TensorBoard: the graph and the loss curves, next to the checkpoints.
    train_summary = tf.summary.scalar('train_loss', g['train_loss'])
    valid_summary = tf.summary.scalar('valid_loss', g['valid_loss'])
    train_losses, reports = [], []
    writer = None
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      if checkpoint_dir:
        os.makedirs(checkpoint_dir, exist_ok=True)
        writer = tf.summary.FileWriter(checkpoint_dir, sess.graph)
        latest = tf.train.latest_checkpoint(checkpoint_dir)
        if latest:
          saver.restore(sess, latest)
          logging.info('resumed from %s', latest)
      start_iteration = sess.run(g['global_step'])
      for train_iteration in range(start_iteration, num_training_iterations):
        step = train_iteration + 1
        if step % reduce_learning_rate_interval == 0:
          lr = sess.run(g['reduce_learning_rate'])
          logging.info('reducing the learning rate to %g', lr)
        train_loss, _, summary = sess.run(
            [g['train_loss'], g['train_step'], train_summary])
        if writer:
          writer.add_summary(summary, step)
        train_losses.append(train_loss)
        logging.info('%d: training loss %f', step, train_loss)
        if checkpoint_dir and step % checkpoint_interval == 0:
          saver.save(sess, os.path.join(checkpoint_dir, 'model.ckpt'),
                     global_step=step)
        if step % report_interval == 0:
          valid_loss, sample, summary = sess.run(
              [g['valid_loss'], g['generated_string'], valid_summary])
          if writer:
            writer.add_summary(summary, step)
          text = g['dataset_train'].to_human_readable(
              (sample, 0), indices=[0])
          reports.append((step, train_loss, valid_loss, text))
          logging.info('%d: training loss %f, validation loss %f\n'
                       'sample: %s', step, train_loss, valid_loss, text)
      if checkpoint_dir and num_training_iterations > start_iteration:
        saver.save(sess, os.path.join(checkpoint_dir, 'model.ckpt'),
                   global_step=num_training_iterations)
      test_loss = sess.run(g['test_loss'])
      logging.info('test loss %f', test_loss)
      if writer:
        writer.close()
  return {'train_losses': train_losses, 'reports': reports,
          'test_loss': float(test_loss)}


def main(argv):
  del argv
  logging.set_verbosity(logging.INFO)
  train(num_training_iterations=FLAGS.num_training_iterations,
        report_interval=FLAGS.report_interval,
        reduce_learning_rate_interval=FLAGS.reduce_learning_rate_interval,
        checkpoint_dir=FLAGS.checkpoint_dir,
        checkpoint_interval=FLAGS.checkpoint_interval,
        lstm_depth=FLAGS.lstm_depth, batch_size=FLAGS.batch_size,
        num_embedding=FLAGS.num_embedding, num_hidden=FLAGS.num_hidden,
        truncation_length=FLAGS.truncation_length,
        sample_length=FLAGS.sample_length, max_grad_norm=FLAGS.max_grad_norm,
        initial_learning_rate=FLAGS.learning_rate,
        reduce_learning_rate_multiplier=FLAGS.reduce_learning_rate_multiplier,
        optimizer_epsilon=FLAGS.optimizer_epsilon)


if __name__ == '__main__':
  define_flags()
  app.run(main)
