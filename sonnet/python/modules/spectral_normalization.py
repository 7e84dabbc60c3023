"""Spectral normalization (Miyato et al., 2018) of module weights.

`spectral_norm(w)` divides a weight by an estimate of its largest singular
value, refined by power iteration from a persistent non-trainable vector `u0`.
`wrap_with_spectral_norm(snt.Linear)` gives a module constructor whose `w`
variables are spectrally normalized whenever the module reads them.
"""

import functools

from sonnet.python import custom_getters
from sonnet.python.modules import base
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf


def wrap_with_spectral_norm(module_class, sn_kwargs=None,
                            pow_iter_collection=None):
  """Returns a constructor of `module_class` with spectrally normalized `w`s.

      sn_linear = snt.wrap_with_spectral_norm(snt.Linear, {"num_iters": 2})
      out = sn_linear(output_size=10)(inputs)   # scope "sn_wrapper/linear"

  Args:
    module_class: a Sonnet module class (or constructor) accepting a
      `custom_getter` argument.
    sn_kwargs: keyword arguments for `spectral_norm` (`num_iters`, `eps`).
    pow_iter_collection: collection receiving the `u0` update ops of
      connections made with `enable_power_iteration=False`.
  """
  return functools.partial(SpectralNormWrapper, module_class, sn_kwargs or {},
                           pow_iter_collection)


def _l2_normalize(t, eps):
  """`t` divided by its (whole-tensor) L2 norm, `eps` guarding the sqrt."""
  return t * tf.rsqrt(tf.reduce_sum(tf.square(t)) + eps)


def spectral_norm(weight, num_iters=1, update_collection=None, eps=1e-4):
  """Spectral normalization of `weight` seen as a `[-1, last_dim]` matrix.

  Creates (or reuses, in the current variable scope) the non-trainable
  `u0` of shape `[1, last_dim]`, runs `num_iters` power iterations
  (`v = l2n(u W^T)`, `u = l2n(v W)`), takes `sigma = v W u^T` (gradients do
  not flow through u and v) and returns `W / sigma` reshaped like `weight`.
  Computation is in float32; outputs are cast back to `weight`'s dtype.

  Args:
    weight: tensor or variable of rank >= 1 with a known shape.
    num_iters: number of power iterations, at least 1.
    update_collection: None: the assignment of the new `u` to `u0` is a
      control dependency of `w_bar`; otherwise the assign op is added to
      this collection (to be run separately).
    eps: added under the square root of the normalizations.

  Returns:
    dict with `"w_bar"` (normalized weight), `"sigma"` (scalar estimate of
    the largest singular value) and `"u0"` (the new singular vector estimate).

  Raises:
    ValueError: if `num_iters < 1`.
  """
  if num_iters < 1:
    raise ValueError("num_iters must be a positive integer. {} given.".format(
        num_iters))
  original_dtype = weight.dtype.base_dtype
  weight = tf.cast(weight, tf.float32)
  w_shape = weight.get_shape().as_list()
  w_mat = tf.reshape(weight, [-1, w_shape[-1]])
  u0 = tf.get_variable("u0", [1, w_shape[-1]],
                       initializer=tf.truncated_normal_initializer(),
                       trainable=False)
  u = u0
  for _ in range(num_iters):
    v = _l2_normalize(tf.matmul(u, w_mat, transpose_b=True), eps)
    u = _l2_normalize(tf.matmul(v, w_mat), eps)
  u = tf.stop_gradient(u)
  v = tf.stop_gradient(v)
  sigma = tf.squeeze(tf.matmul(tf.matmul(v, w_mat), u, transpose_b=True),
                     axis=[0, 1])
  w_bar = tf.reshape(w_mat / sigma, tf.shape(weight))
  w_bar.set_shape(weight.get_shape())

  update_op = u0.assign(u)
  if update_collection is None:
    with tf.control_dependencies([update_op]):
      w_bar = tf.identity(w_bar)
  else:
    tf.add_to_collection(update_collection, update_op)
  return {
      "w_bar": tf.cast(w_bar, original_dtype),
      "sigma": tf.cast(sigma, original_dtype),
      "u0": tf.cast(u, original_dtype),
  }


class SpectralNormWrapper(base.AbstractModule):
  """Wraps a module so that its `w` variables are spectrally normalized.

  The wrapper's name is `name + "_wrapper"` (`name` from the wrapped
  module's kwargs, default "sn"); the wrapped module is built inside it.
  Calling the wrapper calls the wrapped module; the keyword
  `enable_power_iteration` (default True) chooses whether `u0` is updated
  with the connection (True) or by the ops put in `pow_iter_collection`
  (False; with no collection the update stays attached to the weight).
  Only variables whose full name ends in "/w" are normalized.
  """

  def __init__(self, module, sn_kwargs, pow_iter_collection, *args, **kwargs):
    """Constructs the wrapper and, inside its scope, the wrapped module.

    Args:
      module: module class (or constructor) taking a `custom_getter` kwarg.
      sn_kwargs: keyword arguments for `spectral_norm`.
      pow_iter_collection: collection for deferred `u0` updates, or None.
      *args: passed to `module`.
      **kwargs: passed to `module`.
    """
    self.pow_iter_collection = pow_iter_collection
    super(SpectralNormWrapper, self).__init__(
        name=kwargs.get("name", "sn") + "_wrapper")
    getter_immediate_update, getter_deferred_update = self.sn_getter(
        sn_kwargs)
    w_getter = lambda getter: util.custom_getter_router({".*/w$": getter},
                                                        lambda name: name)
    self._context_getter = custom_getters.Context(
        w_getter(getter_immediate_update),
        default_getter=w_getter(getter_deferred_update))
    with self._enter_variable_scope():
      self._module = module(*args, custom_getter=self._context_getter,
                            **kwargs)

  def _build(self, *args, **kwargs):
    """Calls the wrapped module (`enable_power_iteration` popped first)."""
    if kwargs.pop("enable_power_iteration", True):
      with self._context_getter:
        return self._module(*args, **kwargs)
    return self._module(*args, **kwargs)

  def sn_getter(self, spectral_norm_kwargs):
    """Returns (immediate-update getter, deferred-update getter)."""

    def getter_immediate_update(getter, *args, **kwargs):
      w = getter(*args, **kwargs)
      return spectral_norm(w, update_collection=None,
                           **spectral_norm_kwargs)["w_bar"]

    def getter_deferred_update(getter, *args, **kwargs):
      w = getter(*args, **kwargs)
      return spectral_norm(w, update_collection=self.pow_iter_collection,
                           **spectral_norm_kwargs)["w_bar"]

    return getter_immediate_update, getter_deferred_update
