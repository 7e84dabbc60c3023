"""The coordinatewise LSTM optimizer network and its gradient preprocessing.

Andrychowicz et al., "Learning to learn by gradient descent by gradient
descent" (NIPS 2016): one small LSTM network is applied to every coordinate of
the optimizee's gradient independently (coordinates form the batch), so the
same optimizer works for any number of parameters.
"""

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class LogAndSign(snt.AbstractModule):
  """Each gradient coordinate x becomes [clip(log|x| / k), clip(x e^k)].

  Both parts are clipped to [-1, 1]; the output has twice the last dimension
  of the input.
  """

  def __init__(self, k=5., name='preprocess_log'):
    super(LogAndSign, self).__init__(name=name)
    self._k = k

  def _build(self, gradients):
    eps = np.finfo(gradients.dtype.as_numpy_dtype).eps
    log = tf.log(tf.abs(gradients) + eps)
    clamped_log = tf.clip_by_value(log / self._k, -1., 1.)
    sign = tf.clip_by_value(gradients * np.exp(self._k), -1., 1.)
    return tf.concat([clamped_log, sign], axis=-1)


class CoordinateWiseDeepLSTM(snt.RNNCore):
  """Maps a gradient tensor of any shape to an update of the same shape.

  Every coordinate goes, independently, through preprocessing, a `DeepRNN` of
  `LSTM`s (`layers` sizes, default two of 20) and a `Linear` to one output,
  multiplied by `scale`. The state is the DeepRNN's state for a batch of
  `num_coordinates` rows.
  """

  def __init__(self, layers=(20, 20), preprocess='log_and_sign', k=5.,
               scale=0.01, name='cw_deep_lstm'):
    super(CoordinateWiseDeepLSTM, self).__init__(name=name)
    if preprocess not in ('log_and_sign', 'identity'):
      raise ValueError('Unknown preprocessing {!r}: use "log_and_sign" or '
                       '"identity".'.format(preprocess))
    self._scale = scale
    with self._enter_variable_scope():
      if preprocess == 'log_and_sign':
        self._preprocess = LogAndSign(k)
      else:
        self._preprocess = tf.identity
      self._cores = [snt.LSTM(size, name='lstm_{}'.format(i))
                     for i, size in enumerate(layers, start=1)]
      self._rnn = snt.DeepRNN(self._cores, skip_connections=False,
                              name='deep_rnn')
      self._linear = snt.Linear(1, name='linear')

  def _build(self, inputs, prev_state):
    """Update for gradient `inputs` (any shape) and the next state."""
    shape = tf.shape(inputs)
    flat = tf.reshape(inputs, [-1, 1])
    output, next_state = self._rnn(self._preprocess(flat), prev_state)
    update = self._linear(output) * self._scale
    return tf.reshape(update, shape), next_state

  @property
  def state_size(self):
    return self._rnn.state_size

  @property
  def output_size(self):
    return tf.TensorShape([1])
