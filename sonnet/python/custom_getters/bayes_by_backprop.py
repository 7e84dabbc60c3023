"""Bayes by Backprop (Blundell et al. 2015; Fortunato et al. 2017) as a custom getter.

Every trainable variable the getter sees is replaced by a posterior
distribution over it (by default a diagonal Gaussian with variables
`<name>/posterior_loc` and `<name>/posterior_scale`); the module receives an
estimate of the weights (a sample, the mean, or the last sample, chosen at
run time by `sampling_mode_tensor`). A KL cost per variable is recorded and
summed by `get_total_kl_cost()`.

    getter = bbb.bayes_by_backprop_getter()
    mlp = snt.nets.MLP([10, 10], custom_getter=getter)
    loss = nll(mlp(x)) + bbb.get_total_kl_cost() / num_examples

Builders receive the true getter and return a distribution (or a pair of a
distribution and a dict of its variables). The built-in builders use the
diagonal Gaussian of `gaussian.py` and need no tensorflow-probability;
distributions from tensorflow-probability are accepted from user builders.
"""

import collections
import math
import weakref

import tensorflow.compat.v1 as tf
from sonnet.python.custom_getters import gaussian

_DEFAULT_SCALE_TRANSFORM = tf.nn.softplus
_OK_DTYPES_FOR_BBB = (tf.float16, tf.float32, tf.float64, tf.bfloat16)
_OK_PZATION_TYPE = gaussian.FULLY_REPARAMETERIZED


class _WeakRegistry(weakref.WeakKeyDictionary):
  """Per-graph registry; a missing graph gets a fresh OrderedDict."""

  def __getitem__(self, key):
    try:
      return super().__getitem__(key)
    except KeyError:
      value = collections.OrderedDict()
      super().__setitem__(key, value)
      return value


_all_var_metadata_registry = _WeakRegistry()


def inverse_softplus(y):
  """The x with softplus(x) = y, i.e. log(exp(y) - 1), as a Python float."""
  return math.log(math.exp(y) - 1.)


def scale_variable_initializer(desired_scale):
  """Initializer for a scale variable so that softplus(variable) == desired_scale."""
  return tf.constant_initializer(inverse_softplus(desired_scale))


class EstimatorModes:
  sample = "sample"
  mean = "mean"
  last_sample = "last"


_VariableMetadata = collections.namedtuple(
    "VariableMetadata",
    ["raw_variable_name", "raw_variable_shape", "scope_name", "posterior",
     "posterior_estimate", "prior", "kl_cost", "prior_vars", "posterior_vars"])


def diagonal_gaussian_posterior_builder(getter, name, shape=None, *args,
                                        **kwargs):
  """Posterior N(loc, softplus(scale)) with variables `<name>/posterior_loc|scale`.

  Both variables are created with the original request's arguments
  (initializer included).
  """
  parameter_shapes = gaussian.Normal.param_static_shapes(shape)
  loc_var = getter(name + "/posterior_loc", shape=parameter_shapes["loc"],
                   *args, **kwargs)
  scale_var = getter(name + "/posterior_scale",
                     shape=parameter_shapes["scale"], *args, **kwargs)
  return gaussian.Normal(loc=loc_var, scale=_DEFAULT_SCALE_TRANSFORM(scale_var),
                         name="{}_posterior_dist".format(name))


def fixed_gaussian_prior_builder(getter, name, dtype=None, *args, **kwargs):
  """Prior N(0, 0.01**2), with constant parameters (no variables)."""
  del getter, args, kwargs
  loc = tf.constant(0.0, shape=(), dtype=dtype)
  scale = tf.constant(0.01, shape=(), dtype=dtype)
  return gaussian.Normal(loc=loc, scale=scale,
                         name="{}_prior_dist".format(name))


def adaptive_gaussian_prior_builder(getter, name, *args, **kwargs):
  """Prior N(loc, softplus(scale)) with scalar trainable `<name>_prior_loc|scale`."""
  kwargs["shape"] = ()
  loc_var = getter(name + "_prior_loc", *args, **kwargs)
  kwargs["initializer"] = scale_variable_initializer(0.01)
  scale_var = getter(name + "_prior_scale", *args, **kwargs)
  return gaussian.Normal(loc=loc_var, scale=tf.nn.softplus(scale_var),
                         name="{}_prior_dist".format(name))


def stochastic_kl_builder(posterior, prior, sample):
  """Single-sample KL estimate: sum log q(sample) - sum log p(sample)."""
  return tf.subtract(tf.reduce_sum(posterior.log_prob(sample)),
                     tf.reduce_sum(prior.log_prob(sample)))


def analytic_kl_builder(posterior, prior, sample):
  """Closed-form KL(posterior || prior), summed; `sample` is ignored."""
  del sample
  return tf.reduce_sum(gaussian.kl_divergence(posterior, prior))


def _distribution_and_vars(built):
  if isinstance(built, (list, tuple)):
    return built[0], built[1]
  return built, {}


def bayes_by_backprop_getter(
    posterior_builder=diagonal_gaussian_posterior_builder,
    prior_builder=fixed_gaussian_prior_builder,
    kl_builder=stochastic_kl_builder,
    sampling_mode_tensor=None,
    fresh_noise_per_connection=True,
    keep_control_dependencies=False):
  """Returns the Bayes-by-Backprop custom getter.

  Args:
    posterior_builder: `(getter, name, *args, **kwargs) -> distribution`.
    prior_builder: same signature, for the prior.
    kl_builder: `(posterior, prior, sample) -> scalar KL cost`.
    sampling_mode_tensor: scalar `tf.string` tensor (or variable) holding an
      `EstimatorModes` value; default a constant "sample".
    fresh_noise_per_connection: if False, reused connections (variable scope
      with reuse) get the estimate of the first connection.
    keep_control_dependencies: if True, the distributions are built with the
      current control-flow context kept (otherwise it is cleared, so that a
      module inside a `while_loop` samples its weights once per run).

  Returns:
    A custom getter returning weight estimates (tensors) for trainable
    variables of floating dtype.
  """
  if sampling_mode_tensor is None:
    sampling_mode_tensor = tf.constant(EstimatorModes.sample)

  def custom_getter(getter, name, *args, **kwargs):
    """Replaces a trainable variable by an estimate from its posterior."""
    if not kwargs.get("trainable", True):
      return getter(name, *args, **kwargs)
    if kwargs.get("dtype") is None or (
        tf.as_dtype(kwargs["dtype"]).base_dtype not in _OK_DTYPES_FOR_BBB):
      raise ValueError("Disallowed data type {}.".format(kwargs.get("dtype")))

    var_scope = tf.get_variable_scope()
    if var_scope.reuse and not fresh_noise_per_connection:
      matches = [md for md in get_variable_metadata()
                 if md.raw_variable_name == name]
      if not matches:
        raise ValueError(
            "Internal error. No metadata for variable {}".format(name))
      if len(matches) > 1:
        raise ValueError(
            "Multiple matches for variable {}. Matches: {}".format(
                name, [md.raw_variable_name for md in matches]))
      return matches[0].posterior_estimate

    if keep_control_dependencies:
      build_context = tf.control_dependencies([])
    else:
      # Build outside any loop or cond so that weights are sampled once per
      # run. Upstream cleared the v1 control-flow context with
      # control_dependencies(None); with v2 control flow a loop body is a
      # function graph, which init_scope lifts out of (it also clears control
      # dependencies and the v1 control-flow context).
      build_context = tf.init_scope()
    with build_context:
      posterior, posterior_vars = _distribution_and_vars(
          posterior_builder(getter, name=name, *args, **kwargs))
      prior, prior_vars = _distribution_and_vars(
          prior_builder(getter, name=name, *args, **kwargs))

      # Ours on the left: tensorflow-probability's type compares by identity.
      if not _OK_PZATION_TYPE == posterior.reparameterization_type:  # pylint: disable=g-comparison-negation
        raise ValueError(
            "Distribution {} incompatible with Bayes by Backprop.".format(
                type(posterior).__name__))

      posterior_estimate = _produce_posterior_estimate(
          posterior, sampling_mode_tensor, name)
      kl_cost = kl_builder(posterior, prior, posterior_estimate)
      variable_metadata = _VariableMetadata(
          raw_variable_name=name,
          raw_variable_shape=kwargs.get("shape"),
          scope_name=var_scope.name,
          posterior=posterior,
          posterior_estimate=posterior_estimate,
          prior=prior,
          kl_cost=kl_cost,
          prior_vars=prior_vars,
          posterior_vars=posterior_vars)

    registry = _all_var_metadata_registry[tf.get_default_graph()]
    if name not in registry:
      registry[name] = variable_metadata
    return posterior_estimate

  return custom_getter


def _produce_posterior_estimate(posterior_dist, posterior_estimate_mode,
                                raw_var_name):
  """Selects sample / mean / last sample of the posterior at run time."""
  conds = [
      (tf.equal(posterior_estimate_mode, tf.constant(EstimatorModes.sample),
                name="equal_sample_mode"),
       posterior_dist.sample),
      (tf.equal(posterior_estimate_mode, tf.constant(EstimatorModes.mean),
                name="equal_mean_mode"),
       posterior_dist.mean),
  ]
  if hasattr(posterior_dist, "last_sample"):
    conds.append(
        (tf.equal(posterior_estimate_mode,
                  tf.constant(EstimatorModes.last_sample),
                  name="equal_last_sample_mode"),
         posterior_dist.last_sample))

  def default_case_branch_raising_error():
    err_msg = "Invalid posterior estimate mode."
    assert_op = tf.Assert(tf.constant(False), [tf.constant(err_msg)])
    with tf.control_dependencies([assert_op]):
      return posterior_dist.mean()

  return tf.case(conds, exclusive=True,
                 default=default_case_branch_raising_error,
                 name="{}_posterior_estimate".format(raw_var_name))


def get_total_kl_cost(name="total_kl_cost", filter_by_name_substring=None):
  """Sum of the KL costs of the Bayes-by-Backprop variables of the default graph.

  Each variable counts once, however many times it is used.
  """
  all_variable_metadata = get_variable_metadata(filter_by_name_substring)
  if not all_variable_metadata:
    tf.logging.warning("No Bayes by Backprop variables found!")
    return tf.constant(0.0, shape=())
  return tf.add_n([md.kl_cost for md in all_variable_metadata], name=name)


def get_variable_metadata(scope_name_substring=None):
  """Metadata of the default graph's variables, in registration order.

  Args:
    scope_name_substring: if given, only variables whose scope name contains it.
  """
  registry = _all_var_metadata_registry[tf.get_default_graph()]
  return [md for md in registry.values()
          if scope_name_substring is None or
          scope_name_substring in md.scope_name]
