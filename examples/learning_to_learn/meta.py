"""The learned optimizer: unrolled optimisation graphs and meta-training ops.

`MetaOptimizer.meta_loss(problem, unroll_length)` builds `unroll_length`
steps of `theta_{t+1} = theta_t + net(grad_t)` on a problem, starting from
the parameters and network state stored in variables (so consecutive unrolls
continue one optimisation run: truncated back-propagation through time). The
optimizee parameters are plain tensors threaded through the unroll, so the
meta-loss (the sum of the optimizee losses over the unroll) is differentiable
with respect to the network's weights.
"""

import collections

import numpy as np
import tensorflow.compat.v1 as tf

from examples.learning_to_learn import networks

MetaLoss = collections.namedtuple(
    'MetaLoss', ('loss', 'fx', 'update', 'params', 'state'))


class MetaOptimizer(object):
  """Coordinatewise LSTM optimizer (one network shared by all parameters)."""

  def __init__(self, name='meta_optimizer', **net_kwargs):
    with tf.variable_scope(name):
      self.net = networks.CoordinateWiseDeepLSTM(**net_kwargs)
    self._name = name

  def net_variables(self):
    """The network's trainable variables (what meta-training learns)."""
    return self.net.get_variables()

  def meta_loss(self, problem, unroll_length, second_derivatives=False):
    """Builds one unroll of the learned optimizer on `problem`.

    Returns a `MetaLoss`: `loss` (sum of the optimizee losses at the
    `unroll_length + 1` visited points), `fx` (those losses, `[T + 1]`),
    `update` (op storing the final parameters and network state for the next
    unroll), and the variables holding the parameters and state.
    """
    with tf.variable_scope(None, default_name=self._name + '_unroll'):
      params = [tf.get_variable('param_{}'.format(i), shape=shape,
                                trainable=False,
                                initializer=tf.zeros_initializer())
                for i, shape in enumerate(problem.param_shapes)]
      sizes = [int(np.prod(s)) for s in problem.param_shapes]
      # One network state per coordinate of every parameter.
      flat_sizes = tf.nest.flatten(self.net.state_size)
      state_vars = tf.nest.pack_sequence_as(self.net.state_size, [
          tf.get_variable('state_{}'.format(i),
                          shape=[sum(sizes)] + tf.TensorShape(s).as_list(),
                          trainable=False, initializer=tf.zeros_initializer())
          for i, s in enumerate(flat_sizes)])

    x = [tf.identity(p) for p in params]
    state = tf.nest.map_structure(tf.identity, state_vars)
    fx = []
    for _ in range(unroll_length):
      loss = problem.loss(x)
      fx.append(loss)
      grads = tf.gradients(loss, x)
      if not second_derivatives:
        grads = [tf.stop_gradient(g) for g in grads]
      flat_grads = tf.concat([tf.reshape(g, [-1]) for g in grads], 0)
      delta, state = self.net(flat_grads, state)
      deltas = tf.split(delta, sizes)
      x = [xi + tf.reshape(d, tf.shape(xi)) for xi, d in zip(x, deltas)]
    fx.append(problem.loss(x))
    fx = tf.stack(fx)
    update = tf.group(
        [p.assign(v) for p, v in zip(params, x)] +
        [s.assign(v) for s, v in zip(tf.nest.flatten(state_vars),
                                     tf.nest.flatten(state))])
    return MetaLoss(loss=tf.reduce_sum(fx), fx=fx, update=update,
                    params=params, state=state_vars)

  def meta_minimize(self, problem, unroll_length, learning_rate=0.001,
                    second_derivatives=False):
    """`(MetaLoss, train_op)`: Adam on the network weights, after the unroll.

    The train op also stores the unroll's final parameters and state. Updates
    with non-finite gradients (a diverged optimizee) are skipped.
    """
    info = self.meta_loss(problem, unroll_length, second_derivatives)
    variables = self.net_variables()
    grads = tf.gradients(info.loss, variables)
    finite = tf.reduce_all([tf.reduce_all(tf.is_finite(g)) for g in grads])
    grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
    optimizer = tf.train.AdamOptimizer(learning_rate)
    step = optimizer.apply_gradients(zip(grads, variables))
    with tf.control_dependencies([step]):
      train_op = tf.group(info.update)
    return info, train_op

  @staticmethod
  def reset(session, problem, info, sample):
    """Starts a problem instance `sample = (data, initial_params)` (from
    `problem.sample(rng)`) with a zero network state."""
    data, init_params = sample
    problem.load(session, data)
    for var, value in zip(info.params, init_params):
      var.load(value, session)
    for var in tf.nest.flatten(info.state):
      var.load(np.zeros(var.get_shape().as_list(), np.float32), session)


def run_learned(session, problem, info, sample, num_steps, unroll_length):
  """Optimises `sample` with the learned optimizer: losses `[num_steps + 1]`."""
  MetaOptimizer.reset(session, problem, info, sample)
  losses = []
  for _ in range(num_steps // unroll_length):
    fx, _ = session.run([info.fx, info.update])
    losses.extend(fx[:-1])
  losses.append(fx[-1])
  return np.array(losses)


def net_saver(meta_optimizer):
  """A Saver for the network weights only."""
  return tf.train.Saver(var_list=list(meta_optimizer.net_variables()))
