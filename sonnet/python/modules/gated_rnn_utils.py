"""Private helpers of gated_rnn.py: argument checks, the LSTM gate product
with its custom gradient, and the cell around TensorFlow's fused LSTMBlockCell
kernel (with the gradient TensorFlow does not register).

The public cores stay in gated_rnn.py, whose module path is part of each
core's `ModuleInfo.class_name`.
"""

import collections

from sonnet.python.modules import rnn_core
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import ops as tf_ops

# State of `LSTMBlockCell`: TensorFlow's `LSTMStateTuple(c, h)` (cell first).
# TF 2.21 only ships that class with Keras 2, so an equal namedtuple is used.
LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ("c", "h"))


def _check_rank_2(inputs):
  """Raises ValueError unless `inputs` is `[batch, n]` with `n` known."""
  shape = inputs.get_shape()
  if shape.ndims != 2:
    raise ValueError("Rank of shape must be {} not: {}".format(2, shape.ndims))
  if shape.dims[1].value is None:
    raise ValueError("The input size (last dimension) of {} must be known "
                     "when the core is connected.".format(inputs))
  return shape.dims[1].value


def _check_state_shape(tensor, expected, what):
  """Raises ValueError if a state tensor's static shape is not `[B] + expected`."""
  expected = tf.TensorShape(expected)
  shape = tensor.get_shape()
  if shape.ndims is None:
    return
  if (shape.ndims != expected.ndims + 1 or
      not shape[1:].is_compatible_with(expected)):
    raise ValueError(
        "The {} state must have shape [batch_size] + {}, but has shape {}."
        .format(what, expected.as_list(), shape.as_list()))


def _unpack_pair(prev_state, core_name):
  """`(first, second)` of a two-element state, with a clear error otherwise."""
  flat = prev_state if isinstance(prev_state, (tuple, list)) else None
  if flat is None or len(flat) != 2:
    raise ValueError(
        "{} expects its state to be a pair (hidden, cell); got {}.".format(
            core_name, prev_state))
  return flat[0], flat[1]


def _to_tensors(*values):
  return [tf.convert_to_tensor(value) for value in values]


def _check_nonnegative(value, name):
  if value is not None and value < 0:
    raise ValueError("The value of {} should be nonnegative.".format(name))


def _clip(tensor, clip_value):
  if clip_value is None:
    return tensor
  return tf.clip_by_value(tensor, -clip_value, clip_value)


def _keyed_variable(module, key, shape, dtype, default_initializer=None,
                    name=None):
  """`tf.get_variable(name or key)` with `module`'s initializer, partitioner
  and regularizer for `key` (initializer default: `default_initializer`)."""
  return tf.get_variable(
      name or key, shape=shape, dtype=dtype,
      initializer=module._initializers.get(key, default_initializer),  # pylint: disable=protected-access
      partitioner=module._partitioners.get(key),  # pylint: disable=protected-access
      regularizer=module._regularizers.get(key))  # pylint: disable=protected-access


# --- LSTM gate product ---------------------------------------------------------


@tf.custom_gradient
def _lstm_gates(inputs, prev_hidden, w_gates, b_gates):
  """`concat([inputs, prev_hidden], 1) @ w_gates + b_gates`, arranged for speed.

  The forward pass multiplies `inputs` and `prev_hidden` by the two row blocks
  of `w_gates` (a split along the first axis shares the weight's buffer, no
  copy); the gradient computes `dw_gates` with one matmul, and never copies
  the weight. In a `dynamic_rnn` training
  step this measured ~5% faster than the plain concat-then-matmul graph,
  which in turn beats the naive per-block products (whose weight gradient is
  a concatenation of blocks, a full copy of the weight per time step).
  """
  input_size = inputs.get_shape().dims[1].value
  hidden_size = w_gates.get_shape().dims[0].value - input_size
  w_x, w_h = tf.split(w_gates, [input_size, hidden_size], axis=0)
  gates = tf.nn.bias_add(
      tf.matmul(inputs, w_x) + tf.matmul(prev_hidden, w_h), b_gates)

  def grad(d_gates):
    # Separate products, so that a gradient nobody asks for (e.g. of data
    # inputs, with GradientTape) is pruned away.
    d_inputs = tf.matmul(d_gates, w_x, transpose_b=True)
    d_hidden = tf.matmul(d_gates, w_h, transpose_b=True)
    d_w = tf.matmul(tf.concat([inputs, prev_hidden], 1), d_gates,
                    transpose_a=True)
    d_b = tf.reduce_sum(d_gates, 0)
    return d_inputs, d_hidden, d_w, d_b

  return gates, grad


def _dropout(x, keep_prob):
  """`tf.nn.dropout` with a keep probability (entries 0 or x / keep_prob)."""
  return tf.nn.dropout(x, rate=1 - keep_prob)


# --- LSTMBlockCell --------------------------------------------------------------


def _lstm_block_cell_grad(op, *grads):
  """Gradient of TF's fused `LSTMBlockCell` op (it has none registered).

  As TensorFlow's contrib implementation, the gradient ignores `cell_clip`.
  """
  x, cs_prev, h_prev, w, wci, wcf, wco, b = op.inputs
  i, cs, f, o, ci, co, h = op.outputs
  cs_grad, h_grad = grads[1], grads[6]
  if cs_grad is None:
    cs_grad = tf.zeros_like(cs)
  if h_grad is None:
    h_grad = tf.zeros_like(h)
  cs_prev_grad, dicfo, wci_grad, wcf_grad, wco_grad = (
      tf.raw_ops.LSTMBlockCellGrad(
          x=x, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci, wcf=wcf,
          wco=wco, b=b, i=i, cs=cs, f=f, o=o, ci=ci, co=co, cs_grad=cs_grad,
          h_grad=h_grad, use_peephole=op.get_attr("use_peephole")))
  input_size = tf.shape(x)[1]
  xh_grad = tf.matmul(dicfo, w, transpose_b=True)
  x_grad = xh_grad[:, :input_size]
  h_prev_grad = xh_grad[:, input_size:]
  x_grad.set_shape(x.get_shape())
  h_prev_grad.set_shape(h_prev.get_shape())
  xh = tf.concat([x, h_prev], 1)
  w_grad = tf.matmul(xh, dicfo, transpose_a=True)
  b_grad = tf.reduce_sum(dicfo, 0)
  return (x_grad, cs_prev_grad, h_prev_grad, w_grad, wci_grad, wcf_grad,
          wco_grad, b_grad)


try:
  tf_ops.RegisterGradient("LSTMBlockCell")(_lstm_block_cell_grad)
except KeyError:  # Already registered (e.g. by a newer TensorFlow).
  pass


class _LSTMBlockCell(object):
  """An RNNCell running TensorFlow's fused `LSTMBlockCell` kernel.

  Variables (created on the first call, in `<current scope>/<name>/`):
  `kernel` `[input_size + num_units, 4 * num_units]` (glorot uniform),
  `bias` `[4 * num_units]` (zeros), and with peepholes `w_i_diag`, `w_f_diag`,
  `w_o_diag` `[num_units]`. The state is `LSTMStateTuple(c, h)`.
  """

  def __init__(self, num_units, forget_bias=1.0, cell_clip=None,
               use_peephole=False, dtype=None, reuse=None, name="lstm_cell"):
    """Constructs the cell.

    Args:
      num_units: number of LSTM units.
      forget_bias: added to the forget gate pre-activation.
      cell_clip: clip the new cell state to +-cell_clip (None: no clipping).
      use_peephole: whether to use peephole connections.
      dtype: dtype of the variables (default: the input's).
      reuse: unused (variables are always shared across calls).
      name: name of the cell's variable scope (default "lstm_cell").
    """
    del reuse  # Variables are shared across calls regardless.
    self._num_units = num_units
    self._forget_bias = forget_bias
    self._cell_clip = cell_clip if cell_clip is not None else -1
    self._use_peephole = use_peephole
    self._dtype = tf.as_dtype(dtype) if dtype is not None else None
    self._name = name or "lstm_cell"
    self._scope = None

  @property
  def state_size(self):
    return LSTMStateTuple(self._num_units, self._num_units)

  @property
  def output_size(self):
    return self._num_units

  def zero_state(self, batch_size, dtype):
    return rnn_core._zero_state_tensors(self.state_size, batch_size, dtype)  # pylint: disable=protected-access

  def __call__(self, inputs, state, scope=None):
    """One step: returns `(h, LSTMStateTuple(cs, h))`.

    Raises:
      ValueError: if `inputs` is not rank 2 with a known size, or the state is
        not a `(c, h)` pair of `[batch_size, num_units]` tensors.
    """
    del scope
    cs_prev, h_prev = _unpack_pair(state, "LSTMBlockCell")
    inputs, cs_prev, h_prev = _to_tensors(inputs, cs_prev, h_prev)
    input_size = _check_rank_2(inputs)
    _check_state_shape(cs_prev, [self._num_units], "cell")
    _check_state_shape(h_prev, [self._num_units], "hidden")
    dtype = self._dtype or inputs.dtype
    if self._scope is None:
      with tf.variable_scope(self._name) as scope:
        self._scope = scope
        variables = self._create_variables(input_size, dtype)
    else:
      with tf.variable_scope(self._scope, reuse=True):
        variables = self._create_variables(input_size, dtype)
    kernel, bias, wci, wcf, wco = variables
    _, cs, _, _, _, _, h = tf.raw_ops.LSTMBlockCell(
        x=inputs, cs_prev=cs_prev, h_prev=h_prev, w=kernel, wci=wci, wcf=wcf,
        wco=wco, b=bias, forget_bias=self._forget_bias,
        cell_clip=self._cell_clip, use_peephole=self._use_peephole)
    return h, LSTMStateTuple(cs, h)

  def _create_variables(self, input_size, dtype):
    units = self._num_units
    kernel = tf.convert_to_tensor(tf.get_variable(
        "kernel", [input_size + units, 4 * units], dtype=dtype))
    bias = tf.convert_to_tensor(tf.get_variable(
        "bias", [4 * units], dtype=dtype, initializer=tf.zeros_initializer()))
    if self._use_peephole:
      wci, wcf, wco = [tf.convert_to_tensor(tf.get_variable(
          name, [units], dtype=dtype))
                       for name in ("w_i_diag", "w_f_diag", "w_o_diag")]
    else:
      wci = wcf = wco = tf.zeros([units], dtype=dtype)
    return kernel, bias, wci, wcf, wco
