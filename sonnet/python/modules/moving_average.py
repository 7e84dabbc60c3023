"""`MovingAverage`: an exponential moving average with pass-through gradients."""

from sonnet.python.modules import base
import tensorflow.compat.v1 as tf
from tensorflow.python.training import moving_averages


def _pass_through_gradients(x, moving_average, name=None):
  """Returns `moving_average` in the forward pass; gradients go to `x`.

  d(output)/d(x) is the identity and `moving_average` gets no gradient.

  Raises:
    TypeError: if `x` and `moving_average` have different dtypes.
  """
  if x.dtype.base_dtype != moving_average.dtype.base_dtype:
    raise TypeError(
        "x and moving_average must have the same dtype, got {} and {}.".format(
            x.dtype.base_dtype.name, moving_average.dtype.base_dtype.name))

  with tf.name_scope(name, "pass_through_gradients", [x, moving_average]):
    # Both tensors are arguments, so the custom gradient sees no variables
    # between its inputs and its output (the average's variables may be
    # local ones, which `tf.custom_gradient` cannot look up).
    @tf.custom_gradient
    def _pass_through(unused_x, average):
      def _grad(dy):
        return dy, None
      return tf.identity(average), _grad

    output = _pass_through(x, moving_average)
    output.set_shape(moving_average.get_shape())
  return output


class MovingAverage(base.AbstractModule):
  """Exponential moving average of the values it is connected to.

  Running the output the first time returns the input itself; afterwards the
  average is updated as `avg <- decay * avg + (1 - decay) * x` and returned.
  The gradient of the output with respect to the input is the identity.
  """

  def __init__(self, decay=0.99, local=False, name="moving_average"):
    """Constructs a MovingAverage module.

    Args:
      decay: the decay, in [0, 1].
      local: if True the variables go to `LOCAL_VARIABLES` instead of
        `GLOBAL_VARIABLES`.
      name: module name.

    Raises:
      ValueError: if `decay` is outside [0, 1].
    """
    super().__init__(name=name)
    if decay < 0.0 or decay > 1.0:
      raise ValueError(
          "Decay must be a float in the [0, 1] range, but is {}.".format(decay))
    self._decay = decay
    if local:
      self._collection = tf.GraphKeys.LOCAL_VARIABLES
    else:
      self._collection = tf.GraphKeys.GLOBAL_VARIABLES
    self._initialized = None
    self._moving_average = None

  def _build(self, inputs):
    """Updates the average with `inputs` and returns it.

    Args:
      inputs: floating-point tensor with a fully defined shape.

    Returns:
      The updated average, of the shape of `inputs`.
    """
    # Multiplying by 1 makes a new tensor, so `inputs` gets a fully-resolved
    # static shape for the variable and is not a variable itself.
    inputs = 1 * inputs
    if not inputs.get_shape().is_fully_defined():
      raise base.IncompatibleShapeError(
          "{}: the shape of the input must be fully defined, got {}.".format(
              self.scope_name, inputs.get_shape()))
    if not inputs.dtype.is_floating:
      raise TypeError("{}: the input must be floating point, got {}.".format(
          self.scope_name, inputs.dtype.name))

    self._initialized = tf.get_variable(
        "initialized",
        shape=(),
        dtype=tf.bool,
        initializer=tf.constant_initializer(False),
        trainable=False,
        use_resource=True,
        collections=[self._collection])
    # Upstream always made this float32; the input dtype is used here so that
    # other float inputs work too (float32 inputs are unaffected).
    self._moving_average = tf.get_variable(
        "moving_average",
        shape=inputs.get_shape(),
        dtype=inputs.dtype.base_dtype,
        initializer=tf.zeros_initializer(),
        trainable=False,
        use_resource=True,
        collections=[self._collection])

    # The reads and updates of the variables wait for `inputs`: inside a
    # `tf.while_loop` whose iterations may run in parallel, an average fed with
    # a value computed from the previous step's output (as in an RNN) then sees
    # that step's update rather than racing with it.
    with tf.control_dependencies([inputs]):
      update_op = moving_averages.assign_moving_average(
          variable=self._moving_average,
          value=inputs,
          decay=self._decay,
          zero_debias=False,
          name="update_moving_average")
      initialized = tf.identity(self._initialized)

    def update():
      return tf.identity(update_op)

    def initialize():
      with tf.control_dependencies([update_op]):
        value = tf.assign(self._moving_average, inputs)
      with tf.control_dependencies([value]):
        update_initialized = tf.assign(self._initialized, True)
      with tf.control_dependencies([update_initialized]):
        value = tf.identity(value)
      return value

    moving_average = tf.cond(initialized, update, initialize)
    return _pass_through_gradients(inputs, moving_average)

  def reset(self):
    """Returns an op that resets the average (next output = next input).

    Raises:
      NotConnectedError: if the module has not been connected.
    """
    self._ensure_is_connected()
    return tf.group(self._initialized.initializer,
                    self._moving_average.initializer)
