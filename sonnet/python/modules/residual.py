"""Residual and skip-connection wrappers for modules and recurrent cores."""

from sonnet.python.modules import base
from sonnet.python.modules import rnn_core
import tensorflow.compat.v1 as tf

nest = tf.nest


def _add(inputs, outputs):
  return nest.map_structure(lambda inp, out: inp + out, inputs, outputs)


class Residual(base.AbstractModule):
  """`inputs + base_module(inputs, **kwargs)`, structure-wise.

  Inputs and outputs must have the same structure and shapes.
  """

  def __init__(self, base_module, name="residual"):
    super(Residual, self).__init__(name=name)
    self._base_module = base_module

  def _build(self, inputs, **kwargs):
    outputs = self._base_module(inputs, **kwargs)
    return _add(inputs, outputs)


class ResidualCore(rnn_core.RNNCore):
  """Core whose output is `inputs + base_core output`; state from base core."""

  def __init__(self, base_core, name="residual_core"):
    super(ResidualCore, self).__init__(name=name)
    self._base_core = base_core

  def _build(self, inputs, prev_state, **kwargs):
    outputs, new_state = self._base_core(inputs, prev_state, **kwargs)
    return _add(inputs, outputs), new_state

  @property
  def output_size(self):
    return self._base_core.output_size

  @property
  def state_size(self):
    return self._base_core.state_size

  def initial_state(self, *args, **kwargs):
    return self._base_core.initial_state(*args, **kwargs)

  def zero_state(self, *args, **kwargs):
    return self._base_core.zero_state(*args, **kwargs)


class SkipConnectionCore(rnn_core.RNNCore):
  """Core whose output is `concat([inputs, base_core output], -1)`.

  The state is the base core's. `output_size` needs the input shape (without
  batch): pass `input_shape` or connect the core first, else `ValueError`.
  """

  def __init__(self, base_core, input_shape=None, name="skip_connection_core"):
    super(SkipConnectionCore, self).__init__(name=name)
    self._base_core = base_core
    self._input_shape = input_shape

  def _build(self, inputs, prev_state, **kwargs):
    inputs = nest.map_structure(tf.convert_to_tensor, inputs)
    if self._input_shape is None:
      self._input_shape = inputs.get_shape()[1:]
    outputs, new_state = self._base_core(inputs, prev_state, **kwargs)
    outputs = nest.map_structure(lambda inp, out: tf.concat((inp, out), -1),
                                 inputs, outputs)
    return outputs, new_state

  @property
  def output_size(self):
    if self._input_shape is None:
      raise ValueError("Output size unknown. You must provide the input_shape "
                       "to the core's constructor or connect the core.")
    input_shape = tf.TensorShape(self._input_shape)
    base_size = tf.TensorShape(self._base_core.output_size)
    last = (tf.dimension_value(base_size[-1]) +
            tf.dimension_value(input_shape[-1]))
    return input_shape[:-1].concatenate([last])

  @property
  def state_size(self):
    return self._base_core.state_size

  def initial_state(self, *args, **kwargs):
    return self._base_core.initial_state(*args, **kwargs)

  def zero_state(self, *args, **kwargs):
    return self._base_core.zero_state(*args, **kwargs)
