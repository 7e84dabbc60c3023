"""`MLP`: a multi-layer perceptron built from `snt.Linear` layers."""

import collections.abc

from sonnet.python.modules import base
from sonnet.python.modules import basic
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf
from tensorflow.python.framework import smart_cond


class MLP(base.AbstractModule, base.Transposable):
  """A stack of `Linear` layers with an activation between them.

  The layers are created in the constructor (variables `<name>/linear_<i>/w`
  and `<name>/linear_<i>/b`), so they can be inspected and transposed before
  the MLP is connected.
  """

  def __init__(self,
               output_sizes,
               activation=tf.nn.relu,
               activate_final=False,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_bias=True,
               use_dropout=False,
               custom_getter=None,
               name="mlp"):
    """Constructs an MLP module.

    Args:
      output_sizes: iterable of output sizes, one per layer; each an int or a
        zero-argument callable returning one (evaluated when needed).
      activation: callable applied between layers (and after the last one if
        `activate_final`).
      activate_final: whether the activation (and dropout) also follows the
        last layer.
      initializers: optional dict with keys "w" (and "b" if `use_bias`).
      partitioners: optional dict with the same keys.
      regularizers: optional dict with the same keys.
      use_bias: whether the layers have biases.
      use_dropout: whether dropout is applied before each activation.
      custom_getter: custom getter (or dict of them) for the variables.
      name: module name.

    Raises:
      TypeError: `output_sizes` not iterable, `activation` not callable, or a
        non-callable initializer/partitioner/regularizer.
      ValueError: `output_sizes` empty.
      KeyError: an initializers/partitioners/regularizers key is not allowed.
    """
    super(MLP, self).__init__(custom_getter=custom_getter, name=name)

    if not isinstance(output_sizes, collections.abc.Iterable):
      raise TypeError("output_sizes must be iterable")
    output_sizes = tuple(output_sizes)
    if not output_sizes:
      raise ValueError("output_sizes must not be empty")
    self._output_sizes = output_sizes
    self._num_layers = len(self._output_sizes)
    self._input_shape = None

    self.possible_keys = self.get_possible_initializer_keys(use_bias=use_bias)
    self._initializers = util.check_initializers(
        initializers, self.possible_keys)
    self._partitioners = util.check_partitioners(
        partitioners, self.possible_keys)
    self._regularizers = util.check_regularizers(
        regularizers, self.possible_keys)
    if not callable(activation):
      raise TypeError("Input 'activation' must be callable")
    self._activation = activation
    self._activate_final = activate_final
    self._use_bias = use_bias
    self._use_dropout = use_dropout

    self._instantiate_layers()

  def _instantiate_layers(self):
    """Creates the `Linear` layers inside this module's variable scope."""
    # The graph is not known yet, hence check_same_graph=False.
    with self._enter_variable_scope(check_same_graph=False):
      self._layers = [
          basic.Linear(self._output_sizes[i],
                       name="linear_{}".format(i),
                       initializers=self._initializers,
                       partitioners=self._partitioners,
                       regularizers=self._regularizers,
                       use_bias=self._use_bias)
          for i in range(self._num_layers)]

  @classmethod
  def get_possible_initializer_keys(cls, use_bias=True):
    """{"w", "b"} if `use_bias` else {"w"} (the keys of `snt.Linear`)."""
    return basic.Linear.get_possible_initializer_keys(use_bias=use_bias)

  def _build(self, inputs, is_training=True, dropout_keep_prob=0.5):
    """Applies the layers to `inputs`.

    Args:
      inputs: `[batch_size, input_size]` tensor.
      is_training: Python bool or boolean tensor; dropout (if `use_dropout`)
        is only applied when true.
      dropout_keep_prob: probability (float or scalar tensor) of keeping an
        activation when dropout is applied.

    Returns:
      `[batch_size, output_sizes[-1]]` tensor.
    """
    inputs = tf.convert_to_tensor(inputs)
    self._input_shape = tuple(inputs.get_shape().as_list())
    net = inputs
    final_index = self._num_layers - 1
    for layer_id in range(self._num_layers):
      net = self._layers[layer_id](net)
      if final_index != layer_id or self._activate_final:
        if self._use_dropout:
          keep_prob = smart_cond.smart_cond(
              is_training,
              true_fn=lambda: tf.cast(dropout_keep_prob, net.dtype),
              false_fn=lambda: tf.constant(1.0, dtype=net.dtype))
          net = tf.nn.dropout(net, rate=1 - keep_prob)
        net = self._activation(net)
    return net

  @property
  def layers(self):
    """The list of `Linear` layers (created at construction)."""
    return self._layers

  @property
  def output_sizes(self):
    """Tuple of the layers' output sizes (callables are evaluated)."""
    return tuple(s() if callable(s) else s for s in self._output_sizes)

  @property
  def output_size(self):
    """The output size of the last layer."""
    last = self._output_sizes[-1]
    return last() if callable(last) else last

  @property
  def use_bias(self):
    return self._use_bias

  @property
  def use_dropout(self):
    return self._use_dropout

  @property
  def initializers(self):
    return self._initializers

  @property
  def partitioners(self):
    return self._partitioners

  @property
  def regularizers(self):
    return self._regularizers

  @property
  def activation(self):
    return self._activation

  @property
  def activate_final(self):
    return self._activate_final

  @property
  def input_shape(self):
    """The static input shape of the last connection (a tuple)."""
    self._ensure_is_connected()
    return self._input_shape

  def transpose(self, name=None, activate_final=None):
    """Returns an MLP mapping this MLP's output size back to its input size.

    The transpose's layer sizes are this MLP's layer input sizes in reverse
    order, read lazily, so this MLP must be connected before the transpose.
    Variables are not shared.

    Args:
      name: defaults to `module_name + "_transpose"`.
      activate_final: defaults to this MLP's `activate_final`.
    """
    if name is None:
      name = self.module_name + "_transpose"
    if activate_final is None:
      activate_final = self.activate_final
    output_sizes = [lambda layer=layer: layer.input_shape[1]
                    for layer in self._layers]
    output_sizes.reverse()
    return MLP(name=name,
               output_sizes=output_sizes,
               activation=self.activation,
               activate_final=activate_final,
               initializers=self.initializers,
               partitioners=self.partitioners,
               regularizers=self.regularizers,
               use_bias=self.use_bias,
               use_dropout=self.use_dropout)

  def clone(self, name=None):
    """Returns an MLP with the same configuration (and new variables).

    Args:
      name: defaults to `module_name + "_clone"`.
    """
    if name is None:
      name = self.module_name + "_clone"
    return MLP(name=name,
               output_sizes=self.output_sizes,
               activation=self.activation,
               activate_final=self.activate_final,
               initializers=self.initializers,
               partitioners=self.partitioners,
               regularizers=self.regularizers,
               use_bias=self.use_bias,
               use_dropout=self.use_dropout)
