"""Adaptive Computation Time core (Graves 2016, arXiv:1603.08983)."""

import functools

from sonnet.python.modules import basic
from sonnet.python.modules import rnn_core
from sonnet.python.ops import nest
import tensorflow.compat.v1 as tf


# These helpers go through the (deprecated) `snt.nest.map`, as upstream did,
# so the first call logs Sonnet's nest deprecation warning once.
def _nested_add(nested_a, nested_b):
  """Structure-wise `a + b`."""
  return nest.map(lambda a, b: a + b, nested_a, nested_b)


def _nested_unary_mul(nested_a, p):
  """Every leaf times `p` (`[B, 1]`), reshaped to broadcast on rank != 2."""

  def mul_with_broadcast(tensor):
    ndims = tensor.shape.ndims
    if ndims != 2:
      p_reshaped = tf.reshape(p, [-1] + [1] * (ndims - 1))
      return p_reshaped * tensor
    return p * tensor

  return nest.map(mul_with_broadcast, nested_a)


def _nested_zeros_like(nested_a):
  """Structure-wise `tf.zeros_like`."""
  return nest.map(tf.zeros_like, nested_a)


class ACTCore(rnn_core.RNNCore):
  """Adaptive computation time: ponders the wrapped core several times a step.

  At each time step the core is applied repeatedly to the same input (with a
  flag column appended: 0 on the first ponder step, 1 after) until the
  cumulative halting probability `sigmoid(halting_linear(
  get_state_for_halting(state)))` exceeds `threshold` (or `max_steps` steps
  are taken, if > 0). States and outputs are averaged with the halting
  probabilities (the last step gets the remainder).

  Output: `(act_output [B, output_size], (iterations [B, 1],
  remainder [B, 1]))`; next state: the probability-weighted state.
  """

  def __init__(self, core, output_size, threshold, get_state_for_halting,
               max_steps=0, name="act_core"):
    """Constructs the core.

    Args:
      core: an RNNCore whose output is a single 1-D tensor per example.
      output_size: size of the final linear projection of the output.
      threshold: halting threshold in [0, 1].
      get_state_for_halting: callable mapping the core's state to the
        `[B, n]` tensor the halting unit reads.
      max_steps: maximum ponder steps per time step (0: no limit).
      name: module name.

    Raises:
      ValueError: the core's output is not a single 1-D tensor, or
        `threshold` is outside [0, 1].
    """
    super(ACTCore, self).__init__(name=name)
    self._core = core
    self._output_size = output_size
    self._threshold = threshold
    self._get_state_for_halting = get_state_for_halting
    self._max_steps = max_steps

    if not isinstance(self._core.output_size, tf.TensorShape):
      raise ValueError("Output of core should be single Tensor.")
    if self._core.output_size.ndims != 1:
      raise ValueError("Output of core should be 1D.")
    if not 0 <= self._threshold <= 1:
      raise ValueError("Threshold should be between 0 and 1, but found {}"
                       .format(self._threshold))

  def initial_state(self, *args, **kwargs):
    return self._core.initial_state(*args, **kwargs)

  @property
  def output_size(self):
    return tf.TensorShape([self._output_size]), (tf.TensorShape([1]),
                                                 tf.TensorShape([1]))

  @property
  def state_size(self):
    return self._core.state_size

  @property
  def batch_size(self):
    self._ensure_is_connected()
    return self._batch_size

  @property
  def dtype(self):
    self._ensure_is_connected()
    return self._dtype

  def _cond(self, unused_x, unused_cumul_out, unused_prev_state,
            unused_cumul_state, cumul_halting, unused_iteration,
            unused_remainder):
    return tf.reduce_any(cumul_halting < 1)

  def _body(self, x, cumul_out, prev_state, cumul_state, cumul_halting,
            iteration, remainder, halting_linear, x_ones):
    all_ones = tf.ones([self._batch_size, 1], dtype=self._dtype)
    is_iteration_over = tf.equal(cumul_halting, all_ones)
    next_iteration = tf.where(is_iteration_over, iteration, iteration + 1)
    out, next_state = self._core(x, prev_state)
    halting_input = halting_linear(self._get_state_for_halting(next_state))
    halting = tf.sigmoid(halting_input, name="halting")
    next_cumul_halting_raw = cumul_halting + halting
    over_threshold = next_cumul_halting_raw > self._threshold
    if self._max_steps > 0:
      at_max_steps = tf.greater_equal(
          next_iteration, tf.cast(self._max_steps, self._dtype))
      over_threshold = tf.logical_or(over_threshold, at_max_steps)
    next_cumul_halting = tf.where(over_threshold, all_ones,
                                  next_cumul_halting_raw)
    next_remainder = tf.where(over_threshold, remainder,
                              1 - next_cumul_halting_raw)
    p = next_cumul_halting - cumul_halting
    next_cumul_state = _nested_add(cumul_state,
                                   _nested_unary_mul(next_state, p))
    next_cumul_out = cumul_out + p * out
    return (x_ones, next_cumul_out, next_state, next_cumul_state,
            next_cumul_halting, next_iteration, next_remainder)

  def _build(self, x, prev_state):
    """Connects the core; see the class docstring for outputs.

    Args:
      x: `[B, n]` input with a static batch size.
      prev_state: the wrapped core's state.

    Returns:
      `((act_output, (iterations, remainder)), next_state)`.

    Raises:
      ValueError: `x` is not rank 2 or its batch size is not static.
    """
    x = tf.convert_to_tensor(x)
    if x.get_shape().ndims != 2:
      raise ValueError("ACTCore input must be rank 2 ([batch, features]), "
                       "got shape {}.".format(x.get_shape()))
    self._batch_size = x.get_shape().as_list()[0]
    if self._batch_size is None:
      raise ValueError("ACTCore needs a statically known batch size, got "
                       "input shape {}.".format(x.get_shape()))
    self._dtype = x.dtype

    x_zeros = tf.concat(
        [x, tf.zeros([self._batch_size, 1], dtype=self._dtype)], 1)
    x_ones = tf.concat(
        [x, tf.ones([self._batch_size, 1], dtype=self._dtype)], 1)
    halting_linear = basic.Linear(name="halting_linear", output_size=1)
    body = functools.partial(self._body, halting_linear=halting_linear,
                             x_ones=x_ones)
    cumul_halting_init = tf.zeros([self._batch_size, 1], dtype=self._dtype)
    iteration_init = tf.zeros([self._batch_size, 1], dtype=self._dtype)
    core_output_size = self._core.output_size.as_list()
    out_init = tf.zeros([self._batch_size] + core_output_size,
                        dtype=self._dtype)
    cumul_state_init = _nested_zeros_like(prev_state)
    remainder_init = tf.zeros([self._batch_size, 1], dtype=self._dtype)
    (unused_final_x, final_out, unused_final_state, final_cumul_state,
     unused_final_halting, final_iteration, final_remainder) = tf.while_loop(
         self._cond, body, [x_zeros, out_init, prev_state, cumul_state_init,
                            cumul_halting_init, iteration_init,
                            remainder_init])

    act_output = basic.Linear(name="act_output_linear",
                              output_size=self._output_size)(final_out)
    return (act_output, (final_iteration, final_remainder)), final_cumul_state
