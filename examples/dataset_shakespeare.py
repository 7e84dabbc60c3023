"""Tiny Shakespeare as a Sonnet module producing one-hot character batches.

The text ships with the examples (`examples/data/ts.{train,valid,test}.txt.bz2`,
bz2-compressed).
The vocabulary is built from the training text: the special tokens `_unk_`,
`_null_`, `_eos_`, `|` then every character in order of first appearance
(newlines become `|`; unknown characters map to `_unk_`).
"""

import bz2
import collections
import os

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

SequenceDataOpsNoMask = collections.namedtuple('SequenceDataOpsNoMask',
                                               ('obs', 'target'))

_DATA_DIRS = (os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data'),)
_SPECIAL = ['_unk_', '_null_', '_eos_', '|']


def _find(filename):
  for directory in _DATA_DIRS:
    path = os.path.join(directory, filename)
    if os.path.exists(path):
      return path
  raise IOError('Could not find {} in {}.'.format(filename, _DATA_DIRS))


def read_text(subset):
  """The text of a subset with newlines replaced by '|'."""
  with bz2.open(_find('ts.{}.txt.bz2'.format(subset)), 'rt',
                encoding='utf-8') as f:
    return f.read().replace('\n', '|')


class TokenDataSource(object):
  """Token ids of a subset and the vocabulary of the training text."""

  def __init__(self, subset):
    train_text = read_text('train')
    self.vocab = list(_SPECIAL)
    seen = set(self.vocab)
    for char in train_text:
      if char not in seen:
        seen.add(char)
        self.vocab.append(char)
    self.vocab_dict = {c: i for i, c in enumerate(self.vocab)}
    text = train_text if subset == 'train' else read_text(subset)
    unk = self.vocab_dict['_unk_']
    self.flat_data = np.array([self.vocab_dict.get(c, unk) for c in text],
                              dtype=np.int32)
    self.num_tokens = len(self.flat_data)

  def decode(self, ids):
    return ''.join(self.vocab[i] for i in ids)


class TinyShakespeareDataset(snt.AbstractModule):
  """Batches of consecutive characters, time-major and one-hot.

  Each call of the built ops gives `SequenceDataOpsNoMask(obs, target)`, both
  `[num_steps, batch_size, vocab_size]`; the target is the observation shifted
  by one character. Each batch row reads from its own position in the text
  (wrapping around); positions then jump randomly (`random=True`) or advance.
  """

  def __init__(self, num_steps=1, batch_size=1, subset='train', random=False,
               dtype=tf.float32, name='tiny_shakespeare_dataset'):
    if subset not in ('train', 'valid', 'test'):
      raise ValueError('subset must be train, valid or test, not {!r}.'
                       .format(subset))
    super(TinyShakespeareDataset, self).__init__(name=name)
    self._num_steps = num_steps
    self._batch_size = batch_size
    self._random = random
    self._dtype = dtype
    self._source = TokenDataSource(subset)
    self._vocab_size = len(self._source.vocab)
    self._rng = np.random.RandomState(42)
    self._reset_head_indices()

  def _reset_head_indices(self):
    self._head_indices = self._rng.randint(0, self._source.num_tokens,
                                           self._batch_size)

  def _get_batch(self):
    data = self._source.flat_data
    offsets = np.arange(self._num_steps + 1)
    idx = (self._head_indices[:, None] + offsets[None, :]) % len(data)
    tokens = data[idx]  # [batch, num_steps + 1]
    if self._random:
      self._reset_head_indices()
    else:
      self._head_indices = (self._head_indices + self._num_steps) % len(data)
    return tokens[:, :-1].T.copy(), tokens[:, 1:].T.copy()

  def _build(self):
    obs, target = tf.py_func(self._get_batch, [], [tf.int32, tf.int32],
                             stateful=True, name='get_batch')
    obs.set_shape([self._num_steps, self._batch_size])
    target.set_shape([self._num_steps, self._batch_size])
    return SequenceDataOpsNoMask(
        obs=tf.one_hot(obs, self._vocab_size, dtype=self._dtype),
        target=tf.one_hot(target, self._vocab_size, dtype=self._dtype))

  @property
  def vocab_size(self):
    return self._vocab_size

  @property
  def vocab(self):
    return self._source.vocab

  def cost(self, logits, target):
    """Softmax cross-entropy summed over time and batch, divided by batch."""
    logits = tf.reshape(logits, [self._num_steps * self._batch_size, -1])
    target = tf.reshape(target, [self._num_steps * self._batch_size, -1])
    xent = tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=tf.stop_gradient(target), logits=logits)
    return tf.reduce_sum(xent) / self._batch_size

  def to_human_readable(self, data, label_batch_entries=True, indices=None,
                        sep='\n'):
    """Decodes the one-hot `data[0]` ([T, B, V]) column by column."""
    obs = data[0]
    batch_size = obs.shape[1]
    indices = range(batch_size) if indices is None else indices
    lines = []
    for i in indices:
      text = self._source.decode(np.argmax(obs[:, i], axis=-1))
      lines.append('b_{}: {}'.format(i, text) if label_batch_entries else text)
    return sep.join(lines)
