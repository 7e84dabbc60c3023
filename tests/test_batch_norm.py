"""Tests for `snt.BatchNorm` (batch_norm.py)."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import batch_norm
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables

EPS = 1e-3


def _reference(x, axis, mean=None, var=None, gamma=1.0, beta=0.0, eps=EPS):
  if mean is None:
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
  return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _random(shape, seed=0, dtype=np.float32):
  return (np.random.RandomState(seed).randn(*shape) * 2 + 1).astype(dtype)


def test_constants_and_initializer_helpers():
  assert snt.BatchNorm.POSSIBLE_INITIALIZER_KEYS == {
      "gamma", "beta", "moving_mean", "moving_variance"}
  assert snt.BatchNorm.POSSIBLE_PARTITIONER_KEYS == {"gamma", "beta"}
  assert snt.BatchNorm.POSSIBLE_REGULARIZER_KEYS == {"gamma", "beta"}
  assert snt.BatchNorm.get_possible_initializer_keys() == {
      "gamma", "beta", "moving_mean", "moving_variance"}
  with tf.Graph().as_default():
    values = [f()([2], dtype=tf.float32) for f in (
        batch_norm.create_beta_initializer, batch_norm.create_gamma_initializer,
        batch_norm.create_mean_initializer,
        batch_norm.create_variance_initializer)]
    with tf.Session() as sess:
      np.testing.assert_array_equal(sess.run(values),
                                    [[0, 0], [1, 1], [0, 0], [1, 1]])
  assert snt.supports_kwargs(snt.BatchNorm(),
                             ["is_training", "test_local_stats"]) == "supported"


@pytest.mark.parametrize("shape,axis,mean_shape", [
    ([5, 3], None, [1, 3]),
    ([2, 4, 4, 3], None, [1, 1, 1, 3]),
    ([2, 3, 4, 4], (0, 2, 3), [1, 3, 1, 1]),
    ([2, 4, 6], (0,), [1, 4, 6]),
])
def test_variables_names_shapes_collections(shape, axis, mean_shape):
  with tf.Graph().as_default():
    bn = snt.BatchNorm(axis=axis, offset=True, scale=True)
    bn(tf.placeholder(tf.float32, [None] + shape[1:]), is_training=True)
    by_name = {v.op.name: v for v in tf.global_variables()}
    assert sorted(by_name) == ["batch_norm/beta", "batch_norm/gamma",
                               "batch_norm/moving_mean",
                               "batch_norm/moving_variance"]
    for v in by_name.values():
      assert v.get_shape().as_list() == mean_shape
    assert set(tf.trainable_variables()) == {bn.beta, bn.gamma}
    assert set(tf.moving_average_variables()) == {bn.moving_mean,
                                                  bn.moving_variance}
    assert not bn.moving_mean.trainable
    assert set(bn.get_variables()) == {bn.beta, bn.gamma}
    assert len(bn.variables) == 4


def test_default_offset_only_and_missing_gamma():
  with tf.Graph().as_default():
    bn = snt.BatchNorm()
    with pytest.raises(snt.NotConnectedError):
      _ = bn.moving_mean
    with pytest.raises(snt.NotConnectedError):
      _ = bn.beta
    bn(tf.zeros([2, 3]), is_training=False)
    assert bn.beta.op.name == "batch_norm/beta"
    with pytest.raises(snt.Error, match="doesn't have a scale, so no gamma"):
      _ = bn.gamma
    no_offset = snt.BatchNorm(offset=False)
    no_offset(tf.zeros([2, 3]), is_training=False)
    with pytest.raises(snt.Error, match="doesn't have an offset, so no beta"):
      _ = no_offset.beta
    assert not no_offset.trainable_variables
    # Defaults are stored back into the initializers dict.
    assert set(bn.initializers) == {"beta", "moving_mean", "moving_variance"}


def test_fused_creates_non_trainable_gamma_beta():
  with tf.Graph().as_default():
    bn = snt.BatchNorm(fused=True)
    bn(tf.zeros([2, 3, 3, 4]), is_training=True)
    assert bn.beta.trainable
    assert not bn.gamma.trainable
    assert bn.gamma.get_shape().as_list() == [1, 1, 1, 4]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("axis", [None, (0, 2, 3)])
def test_training_values_and_moving_average_updates(fused, axis):
  decay = 0.9
  x = _random([4, 3, 2, 5])
  reduce_axes = (0, 1, 2) if axis is None else axis
  with tf.Graph().as_default():
    gamma_init = tf.constant_initializer(1.5)
    beta_init = tf.constant_initializer(-0.5)
    bn = snt.BatchNorm(axis=axis, scale=True, decay_rate=decay, fused=fused,
                       initializers={"gamma": gamma_init, "beta": beta_init})
    out = bn(tf.constant(x), is_training=True)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out_value = sess.run(out)
      sess.run(update_ops)
      moving_mean, moving_var = sess.run([bn.moving_mean, bn.moving_variance])
  np.testing.assert_allclose(out_value,
                             _reference(x, reduce_axes, gamma=1.5, beta=-0.5),
                             rtol=1e-4, atol=1e-4)
  batch_mean = x.mean(axis=reduce_axes, keepdims=True)
  batch_var = x.var(axis=reduce_axes, keepdims=True)
  if fused:  # TF's fused kernel reports the Bessel-corrected variance.
    n = x.size / batch_var.size
    batch_var = batch_var * n / (n - 1)
  np.testing.assert_allclose(moving_mean, (1 - decay) * batch_mean, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(moving_var, decay + (1 - decay) * batch_var,
                             rtol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_static_eval_uses_moving_stats_and_makes_no_update_ops(fused):
  x = _random([3, 2, 2, 4], seed=1)
  mean = np.arange(4, dtype=np.float32).reshape([1, 1, 1, 4])
  var = np.linspace(0.5, 2, 4, dtype=np.float32).reshape([1, 1, 1, 4])
  with tf.Graph().as_default():
    bn = snt.BatchNorm(fused=fused, initializers={
        "moving_mean": tf.constant_initializer(mean),
        "moving_variance": tf.constant_initializer(var)})
    out_moving = bn(tf.constant(x), is_training=False, test_local_stats=False)
    out_local = bn(tf.constant(x), is_training=False)  # test_local_stats=True
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      moving_value, local_value = sess.run([out_moving, out_local])
  np.testing.assert_allclose(moving_value, _reference(x, None, mean, var),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(local_value, _reference(x, (0, 1, 2)),
                             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fused", [False, True])
def test_tensor_flags(fused):
  decay = 0.5
  x = _random([4, 2, 2, 3], seed=2)
  mean = np.full([1, 1, 1, 3], 0.25, np.float32)
  var = np.full([1, 1, 1, 3], 2.0, np.float32)
  with tf.Graph().as_default():
    is_training = tf.placeholder(tf.bool, [])
    local_stats = tf.placeholder(tf.bool, [])
    bn = snt.BatchNorm(fused=fused, decay_rate=decay, initializers={
        "moving_mean": tf.constant_initializer(mean),
        "moving_variance": tf.constant_initializer(var)})
    out = bn(tf.constant(x), is_training=is_training,
             test_local_stats=local_stats)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    with tf.control_dependencies(update_ops):
      out_and_update = tf.identity(out)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for training, local in [(False, False), (False, True), (True, False)]:
        value = sess.run(out_and_update, {is_training: training,
                                          local_stats: local})
        if training or local:
          expected = _reference(x, (0, 1, 2))
        else:
          expected = _reference(x, None, mean, var)
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4)
        moving_mean = sess.run(bn.moving_mean)
        if not training:  # No update happened.
          np.testing.assert_allclose(moving_mean, mean)
      # The last run trained: one update.
      np.testing.assert_allclose(
          moving_mean,
          decay * mean + (1 - decay) * x.mean(axis=(0, 1, 2), keepdims=True),
          rtol=1e-5)


def test_no_update_collection_updates_with_output():
  x = _random([6, 3], seed=3)
  with tf.Graph().as_default():
    bn = snt.BatchNorm(update_ops_collection=None, decay_rate=0.0)
    out = bn(tf.constant(x), is_training=True)
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(out)
      mean, var = sess.run([bn.moving_mean, bn.moving_variance])
  np.testing.assert_allclose(mean, x.mean(0, keepdims=True), rtol=1e-5)
  np.testing.assert_allclose(var, x.var(0, keepdims=True), rtol=1e-5)


def test_custom_update_collection_and_shared_variables():
  with tf.Graph().as_default():
    bn = snt.BatchNorm(update_ops_collection="my_updates")
    bn(tf.zeros([2, 3]), is_training=True)
    bn(tf.ones([4, 3]), is_training=True)
    assert len(tf.get_collection("my_updates")) == 4
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(tf.global_variables()) == 3


def test_fused_and_unfused_agree_including_gradients():
  x = _random([3, 4, 4, 2], seed=4)
  with tf.Graph().as_default():
    inputs = tf.constant(x)
    outs, grads = [], []
    for fused in (False, True):
      bn = snt.BatchNorm(fused=fused, scale=True, name="bn_%d" % fused)
      out = bn(inputs, is_training=True)
      outs.append(out)
      grads.append(tf.gradients(tf.reduce_sum(out * out * inputs),
                                [inputs, bn.gamma, bn.beta]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      (o1, o2), (g1, g2) = sess.run([outs, grads])
  np.testing.assert_allclose(o1, o2, rtol=1e-4, atol=1e-4)
  for a, b in zip(g1, g2):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_gradient_check_training_mode():
  x = _random([4, 3], seed=5).astype(np.float64)
  with tf.Graph().as_default():
    inputs = tf.constant(x)
    out = snt.BatchNorm(scale=True)(inputs, is_training=True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      err = tf.test.compute_gradient_error(inputs, [4, 3], out, [4, 3],
                                           x_init_value=x)
  assert err < 1e-6


@pytest.mark.parametrize("fused", [False, True])
def test_float16_keeps_float32_statistics(fused):
  x = _random([2, 3, 3, 2], seed=6, dtype=np.float16)
  with tf.Graph().as_default():
    bn = snt.BatchNorm(fused=fused, scale=True)
    out = bn(tf.constant(x), is_training=True)
    assert out.dtype == tf.float16
    assert bn.moving_mean.dtype.base_dtype == tf.float32
    expected_param_dtype = tf.float32 if fused else tf.float16
    assert bn.gamma.dtype.base_dtype == expected_param_dtype
    out_eval = bn(tf.constant(x), is_training=False, test_local_stats=False)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      value, eval_value = sess.run([out, out_eval])
  np.testing.assert_allclose(value, _reference(x.astype(np.float32), (0, 1, 2)),
                             rtol=1e-2, atol=1e-2)
  np.testing.assert_allclose(eval_value, x / np.sqrt(1 + EPS), rtol=1e-2,
                             atol=1e-2)


def test_float64_unfused():
  x = _random([5, 2], seed=7, dtype=np.float64)
  with tf.Graph().as_default():
    bn = snt.BatchNorm()
    out = bn(tf.constant(x), is_training=True)
    assert bn.moving_mean.dtype.base_dtype == tf.float64
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      np.testing.assert_allclose(sess.run(out), _reference(x, (0,)),
                                 rtol=1e-10)


def test_shape_errors():
  with tf.Graph().as_default():
    with pytest.raises(snt.IncompatibleShapeError, match="Too many indices"):
      snt.BatchNorm(axis=(0, 1, 2))(tf.zeros([2, 3]), is_training=True)
    with pytest.raises(snt.IncompatibleShapeError, match="too large"):
      snt.BatchNorm(axis=(0, 2))(tf.zeros([2, 3]), is_training=True)
    with pytest.raises(snt.IncompatibleShapeError, match="non-negative"):
      snt.BatchNorm(axis=(-1,))(tf.zeros([2, 3]), is_training=True)
    with pytest.raises(snt.UnderspecifiedError):
      snt.BatchNorm()(tf.placeholder(tf.float32, [None, None]),
                      is_training=True)
    with pytest.raises(snt.UnderspecifiedError):
      snt.BatchNorm()(tf.placeholder(tf.float32), is_training=True)


def test_fused_errors():
  with tf.Graph().as_default():
    with pytest.raises(snt.NotSupportedError, match="bfloat16"):
      snt.BatchNorm(fused=True)(tf.zeros([2, 2, 2, 2], tf.bfloat16),
                                is_training=True)
    with pytest.raises(NotImplementedError, match="4 dimensions"):
      snt.BatchNorm(fused=True)(tf.zeros([2, 3]), is_training=True)
    with pytest.raises(ValueError, match="Invalid axis option"):
      snt.BatchNorm(fused=True, axis=(0, 1))(tf.zeros([2, 2, 2, 2]),
                                             is_training=True)
    with pytest.raises(snt.NotSupportedError, match="float64"):
      snt.BatchNorm(fused=True)(tf.zeros([2, 2, 2, 2], tf.float64),
                                is_training=True)
    with pytest.raises(TypeError, match="is_training"):
      snt.BatchNorm()(tf.zeros([2, 3]), is_training="yes")


def test_bfloat16_unfused_works():
  with tf.Graph().as_default():
    bn = snt.BatchNorm()
    out = bn(tf.zeros([2, 3], tf.bfloat16), is_training=True)
    assert out.dtype == tf.bfloat16
    assert bn.moving_mean.dtype.base_dtype == tf.float32


def test_initializer_partitioner_regularizer_validation():
  with pytest.raises(KeyError, match="Invalid initializer keys"):
    snt.BatchNorm(initializers={"w": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.BatchNorm(initializers={"gamma": 1.0})
  with pytest.raises(KeyError, match="Invalid partitioner keys"):
    snt.BatchNorm(partitioners={"moving_mean": tf.fixed_size_partitioner(2)})
  with pytest.raises(TypeError):
    snt.BatchNorm(partitioners={"beta": "not a partitioner"})
  with pytest.raises(KeyError, match="Invalid regularizer keys"):
    snt.BatchNorm(regularizers={"moving_variance": tf.nn.l2_loss})
  with pytest.raises(TypeError):
    snt.BatchNorm(regularizers={"beta": 0.1})


def test_partitioners_and_regularizers():
  with tf.Graph().as_default():
    bn = snt.BatchNorm(
        axis=(1,), scale=True,
        partitioners={"beta": tf.fixed_size_partitioner(2),
                      "gamma": tf.fixed_size_partitioner(2)},
        regularizers={"beta": lambda t: 2.0 * tf.reduce_sum(t),
                      "gamma": lambda t: tf.reduce_sum(t * t)})
    assert bn.partitioners["beta"] is not None
    x = _random([3, 4], seed=8)
    out = bn(tf.constant(x), is_training=True)
    assert isinstance(bn.beta, variables.PartitionedVariable)
    assert len(list(bn.beta)) == 2
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 4  # TF regularizes each of the 2 shards.
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out_value, loss_values = sess.run([out, losses])
  np.testing.assert_allclose(out_value, _reference(x, (1,)), rtol=1e-4,
                             atol=1e-4)
  # beta is zeros; gamma is ones, 3 of them in shards of 2 and 1.
  assert sorted(loss_values) == [0.0, 0.0, 1.0, 2.0]
