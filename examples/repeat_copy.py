"""The repeat-copy task of the DNC paper, as a Sonnet module.

Each sequence shows a random binary pattern (`num_bits` wide, a random number
of steps long) after a start flag, then one step whose last channel carries
the normalised number of repeats; the target is the pattern repeated that many
times followed by an end marker. Everything is time-major.
"""

import collections

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

DatasetTensors = collections.namedtuple('DatasetTensors',
                                        ('observations', 'target', 'mask'))


def masked_sigmoid_cross_entropy(logits, target, mask, time_average=False,
                                 log_prob_in_bits=False):
  """Sigmoid cross-entropy summed over channels and masked time, per sequence.

  Args:
    logits: `[T, B, C]` logits.
    target: `[T, B, C]` targets in {0, 1}.
    mask: `[T, B]` weights of each time step.
    time_average: divide each sequence's cost by its number of masked steps.
    log_prob_in_bits: report the cost in bits instead of nats.

  Returns:
    Scalar: the mean over the batch of the per-sequence costs.
  """
  xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits)
  loss_time_batch = tf.reduce_sum(xent, axis=2)
  loss_batch = tf.reduce_sum(loss_time_batch * mask, axis=0)
  batch_size = tf.cast(tf.shape(logits)[1], dtype=loss_time_batch.dtype)
  if time_average:
    mask_count = tf.reduce_sum(mask, axis=0)
    loss_batch /= (mask_count + np.finfo(np.float32).eps)
  loss = tf.reduce_sum(loss_batch) / batch_size
  if log_prob_in_bits:
    loss /= tf.log(2.)
  return loss


def bitstring_readable(data, batch_size, model_output=None, whole_batch=False):
  """Text rendering of observations, targets (and outputs): one row a channel."""

  def _readable(datum):
    return '+' + ' '.join('-' if x == 0 else '%d' % x for x in datum) + '+'

  indices = range(batch_size) if whole_batch else range(1)
  batch_strings = []
  for b in indices:
    obs = data.observations[:, b, :]
    targ = data.target[:, b, :]
    strings = [
        'Observations:\n' + '\n'.join(_readable(obs[:, i])
                                      for i in range(obs.shape[1])),
        'Targets:\n' + '\n'.join(_readable(targ[:, i])
                                 for i in range(targ.shape[1]))]
    if model_output is not None:
      out = model_output[:, b, :]
      strings.append('Model Output:\n' + '\n'.join(
          _readable(out[:, i]) for i in range(targ.shape[1])))
    batch_strings.append('\n\n'.join(strings))
  return '\n' + '\n\n\n\n'.join(batch_strings)


class RepeatCopy(snt.AbstractModule):
  """Samples repeat-copy batches: `_build()` returns `DatasetTensors`.

  observations `[T, B, num_bits + 2]` (pattern, start flag, repeat count /
  `norm_max`), target `[T, B, num_bits + 1]` (repeated pattern, end marker),
  mask `[T, B]` (1 on the answer phase). T = max over the batch of
  `length * (repeats + 1) + 3`; shorter sequences are zero-padded.
  """

  def __init__(self, num_bits=6, batch_size=1, min_length=1, max_length=1,
               min_repeats=1, max_repeats=2, norm_max=10,
               log_prob_in_bits=False, time_average_cost=False,
               name='repeat_copy'):
    super(RepeatCopy, self).__init__(name=name)
    if not 1 <= min_length <= max_length:
      raise ValueError('Need 1 <= min_length <= max_length, got {} and {}.'
                       .format(min_length, max_length))
    if not 1 <= min_repeats <= max_repeats:
      raise ValueError('Need 1 <= min_repeats <= max_repeats, got {} and {}.'
                       .format(min_repeats, max_repeats))
    self._batch_size = batch_size
    self._num_bits = num_bits
    self._min_length = min_length
    self._max_length = max_length
    self._min_repeats = min_repeats
    self._max_repeats = max_repeats
    self._norm_max = norm_max
    self._log_prob_in_bits = log_prob_in_bits
    self._time_average_cost = time_average_cost

  def _normalise(self, val):
    return val / self._norm_max

  def _unnormalise(self, val):
    return val * self._norm_max

  @property
  def time_average_cost(self):
    return self._time_average_cost

  @property
  def log_prob_in_bits(self):
    return self._log_prob_in_bits

  @property
  def num_bits(self):
    return self._num_bits

  @property
  def target_size(self):
    return self._num_bits + 1

  @property
  def batch_size(self):
    return self._batch_size

  def _build(self):
    batch_size, num_bits = self._batch_size, self._num_bits
    length = tf.random_uniform([batch_size], self._min_length,
                               self._max_length + 1, dtype=tf.int32)
    repeats = tf.random_uniform([batch_size], self._min_repeats,
                                self._max_repeats + 1, dtype=tf.int32)
    total = length * (repeats + 1) + 3
    max_total = tf.reduce_max(total)
    pattern = tf.cast(tf.random_uniform(
        [batch_size, self._max_length, num_bits], 0, 2, dtype=tf.int32),
                      tf.float32)

    t = tf.range(max_total)[:, None]  # [T, 1] against [1, B] per sequence
    length_b, repeats_b = length[None, :], repeats[None, :]
    answer_start = length_b + 2
    answer_end = answer_start + length_b * repeats_b  # end-marker step

    # Observations: step 0 start flag, steps 1..L the pattern, step L + 1 the
    # repeat count.
    in_pattern = tf.logical_and(t >= 1, t <= length_b)
    obs_index = tf.clip_by_value(t - 1 + 0 * length_b, 0,
                                 self._max_length - 1)
    # [T, B, bits]: pattern[b, obs_index[t, b]].
    obs_bits = tf.gather(pattern, tf.transpose(obs_index), axis=1,
                         batch_dims=1)
    obs_bits = tf.transpose(obs_bits, [1, 0, 2])
    obs_bits *= tf.cast(in_pattern, tf.float32)[..., None]
    start_flag = tf.cast(tf.equal(t, 0), tf.float32) * tf.ones_like(
        tf.cast(length_b, tf.float32))
    repeat_flag = tf.cast(tf.equal(t, length_b + 1), tf.float32) * (
        self._normalise(tf.cast(repeats_b, tf.float32)))
    observations = tf.concat(
        [obs_bits, start_flag[..., None], repeat_flag[..., None]], axis=2)

    # Targets: the pattern repeated from step L + 2, then the end marker.
    in_answer = tf.logical_and(t >= answer_start, t < answer_end)
    targ_index = tf.math.floormod(tf.maximum(t - answer_start, 0), length_b)
    targ_bits = tf.gather(pattern, tf.transpose(targ_index), axis=1,
                          batch_dims=1)
    targ_bits = tf.transpose(targ_bits, [1, 0, 2])
    targ_bits *= tf.cast(in_answer, tf.float32)[..., None]
    end_flag = tf.cast(tf.equal(t, answer_end), tf.float32)
    target = tf.concat([targ_bits, end_flag[..., None]], axis=2)

    mask = tf.cast(tf.logical_and(t >= answer_start, t <= answer_end),
                   tf.float32)
    observations.set_shape([None, batch_size, num_bits + 2])
    target.set_shape([None, batch_size, num_bits + 1])
    mask.set_shape([None, batch_size])
    return DatasetTensors(observations, target, mask)

  def cost(self, logits, targ, mask):
    """Masked sigmoid cross-entropy (see `masked_sigmoid_cross_entropy`)."""
    return masked_sigmoid_cross_entropy(
        logits, targ, mask, time_average=self.time_average_cost,
        log_prob_in_bits=self.log_prob_in_bits)

  def to_human_readable(self, data, model_output=None, whole_batch=False):
    """Text rendering of a fetched batch; the repeat channel un-normalised."""
    obs = data.observations
    repeats = self._unnormalise(obs[:, :, -1:]).round()
    obs = np.concatenate([obs[:, :, :-1], repeats], axis=2)
    data = data._replace(observations=obs)
    return bitstring_readable(data, self.batch_size, model_output, whole_batch)
