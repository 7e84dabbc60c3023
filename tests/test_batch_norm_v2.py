"""Tests for `snt.BatchNormV2` (batch_norm_v2.py)."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import batch_norm_v2
import tensorflow.compat.v1 as tf

EPS = 1e-3


def _random(shape, seed=0, dtype=np.float32):
  return (np.random.RandomState(seed).randn(*shape) * 2 + 1).astype(dtype)


def _axes(data_format):
  return tuple(i for i in range(len(data_format))
               if i != data_format.index("C"))


def _expand(values, data_format):
  shape = [1] * len(data_format)
  shape[data_format.index("C")] = -1
  return np.reshape(values, shape)


def test_constants_and_helpers():
  assert snt.BatchNormV2.SUPPORTED_DATA_FORMATS == {
      "NC", "NWC", "NCW", "NHWC", "NCHW", "NDHWC", "NCDHW"}
  assert snt.BatchNormV2.POSSIBLE_INITIALIZER_KEYS == {
      "gamma", "beta", "moving_mean", "moving_variance"}
  assert callable(batch_norm_v2.create_gamma_initializer)
  with pytest.raises(ValueError, match="Invalid data_format"):
    snt.BatchNormV2(data_format="NHCW")


@pytest.mark.parametrize("rank,data_format,expanded", [
    (2, "NC", [1, 5]), (3, "NWC", [1, 1, 5]), (4, "NHWC", [1, 1, 1, 5]),
    (5, "NDHWC", [1, 1, 1, 1, 5])])
def test_inferred_data_format_and_variables(rank, data_format, expanded):
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(scale=True)
    with pytest.raises(snt.NotConnectedError):
      _ = bn.moving_variance
    bn(tf.zeros([2] * (rank - 1) + [5]), is_training=True)
    assert bn._data_format == data_format  # pylint: disable=protected-access
    variables = {v.op.name: v for v in tf.global_variables()}
    assert sorted(variables) == ["batch_norm/beta", "batch_norm/gamma",
                                 "batch_norm/moving_mean",
                                 "batch_norm/moving_variance"]
    for v in variables.values():
      assert v.get_shape().as_list() == [5]
    assert set(tf.moving_average_variables()) == {
        bn._moving_mean, bn._moving_variance}  # pylint: disable=protected-access
    assert len(tf.trainable_variables()) == 2
    for prop in (bn.moving_mean, bn.moving_variance, bn.beta, bn.gamma):
      assert prop.get_shape().as_list() == expanded


def test_property_shapes_channels_first_and_missing_gamma():
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(data_format="NCHW", fused=False)
    bn(tf.zeros([2, 3, 4, 4]), is_training=False)
    assert bn.beta.get_shape().as_list() == [1, 3, 1, 1]
    with pytest.raises(snt.Error, match="no gamma"):
      _ = bn.gamma
    no_offset = snt.BatchNormV2(offset=False, fused=False)
    no_offset(tf.zeros([2, 3]), is_training=False)
    with pytest.raises(snt.Error, match="no beta"):
      _ = no_offset.beta


ALL_FORMATS = [("NC", [6, 3]), ("NWC", [3, 4, 2]), ("NCW", [3, 2, 4]),
               ("NHWC", [2, 3, 4, 3]), ("NCHW", [2, 3, 4, 3]),
               ("NDHWC", [2, 2, 3, 2, 3]), ("NCDHW", [2, 3, 2, 3, 2])]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("data_format,shape", ALL_FORMATS)
def test_values_and_updates(data_format, shape, fused):
  decay = 0.8
  x = _random(shape, seed=len(shape))
  axes = _axes(data_format)
  channels = shape[data_format.index("C")]
  gamma = np.linspace(0.5, 1.5, channels).astype(np.float32)
  beta = np.linspace(-1, 1, channels).astype(np.float32)
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(data_format=data_format, scale=True, fused=fused,
                         decay_rate=decay, initializers={
                             "gamma": tf.constant_initializer(gamma),
                             "beta": tf.constant_initializer(beta)})
    inputs = tf.constant(x)
    out_train = bn(inputs, is_training=True)
    assert out_train.get_shape().as_list() == shape
    out_test = bn(inputs, is_training=False)  # Moving averages by default.
    out_local = bn(inputs, is_training=False, test_local_stats=True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      test_before = sess.run(out_test)  # Moving stats still 0 / 1.
      train_value = sess.run(out_train)  # Updates as control dependencies.
      local_value = sess.run(out_local)
      moving_mean, moving_var = sess.run(
          [bn._moving_mean, bn._moving_variance])  # pylint: disable=protected-access
      test_after = sess.run(out_test)
  g, b = _expand(gamma, data_format), _expand(beta, data_format)
  mean = x.mean(axis=axes, keepdims=True)
  var = x.var(axis=axes, keepdims=True)
  expected_train = g * (x - mean) / np.sqrt(var + EPS) + b
  np.testing.assert_allclose(train_value, expected_train, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(local_value, expected_train, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(test_before, g * x / np.sqrt(1 + EPS) + b,
                             rtol=1e-5, atol=1e-5)
  if fused:  # The fused kernel reports the Bessel-corrected variance.
    n = x.size / channels
    var = var * n / (n - 1)
  np.testing.assert_allclose(moving_mean, (1 - decay) * mean.reshape(-1),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(moving_var,
                             decay + (1 - decay) * var.reshape(-1), rtol=1e-5)
  m, v = _expand(moving_mean, data_format), _expand(moving_var, data_format)
  np.testing.assert_allclose(test_after, g * (x - m) / np.sqrt(v + EPS) + b,
                             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_format,shape", [("NCW", [3, 2, 4]),
                                               ("NWC", [3, 4, 2])])
def test_fused_unknown_spatial_and_batch_dims(data_format, shape):
  x = _random(shape, seed=9)
  with tf.Graph().as_default():
    placeholder_shape = [None] * len(shape)
    placeholder_shape[data_format.index("C")] = 2
    inputs = tf.placeholder(tf.float32, placeholder_shape)
    out = snt.BatchNormV2(data_format=data_format)(inputs, is_training=True)
    assert out.get_shape().as_list() == placeholder_shape
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      value = sess.run(out, {inputs: x})
  axes = _axes(data_format)
  expected = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
      x.var(axis=axes, keepdims=True) + EPS)
  np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fused", [False, True])
def test_tensor_flags_and_update_collection(fused):
  x = _random([4, 3], seed=10)
  with tf.Graph().as_default():
    is_training = tf.placeholder(tf.bool, [])
    local = tf.placeholder(tf.bool, [])
    bn = snt.BatchNormV2(fused=fused, decay_rate=0.0,
                         update_ops_collection=tf.GraphKeys.UPDATE_OPS)
    out = bn(tf.constant(x), is_training=is_training, test_local_stats=local)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      eval_moving = sess.run(out, {is_training: False, local: False})
      eval_local = sess.run(out, {is_training: False, local: True})
      sess.run(updates, {is_training: False, local: True})
      np.testing.assert_allclose(sess.run(bn.moving_mean), np.zeros([1, 3]))
      sess.run(updates, {is_training: True, local: False})
      moving_mean = sess.run(bn.moving_mean)
  np.testing.assert_allclose(eval_moving, x / np.sqrt(1 + EPS), rtol=1e-5)
  np.testing.assert_allclose(
      eval_local, (x - x.mean(0)) / np.sqrt(x.var(0) + EPS), rtol=1e-4,
      atol=1e-4)
  np.testing.assert_allclose(moving_mean, x.mean(0, keepdims=True), rtol=1e-5)


def test_no_updates_when_statically_not_training():
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(update_ops_collection="updates")
    bn(tf.zeros([2, 3]), is_training=False)
    assert not tf.get_collection("updates")
    bn(tf.zeros([2, 3]), is_training=True)
    assert len(tf.get_collection("updates")) == 2


def test_float16_fused_and_unfused():
  x = _random([4, 2, 2, 3], seed=11, dtype=np.float16)
  with tf.Graph().as_default():
    outs = []
    for fused in (False, True):
      bn = snt.BatchNormV2(fused=fused, scale=True)
      outs.append(bn(tf.constant(x), is_training=True))
      assert outs[-1].dtype == tf.float16
      assert bn._moving_mean.dtype.base_dtype == tf.float32  # pylint: disable=protected-access
      assert bn._gamma.dtype.base_dtype == (  # pylint: disable=protected-access
          tf.float32 if fused else tf.float16)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      unfused, fused_value = sess.run(outs)
  np.testing.assert_allclose(unfused.astype(np.float32),
                             fused_value.astype(np.float32), atol=2e-2)


def test_errors():
  with tf.Graph().as_default():
    with pytest.raises(snt.IncompatibleShapeError, match="too many or too few"):
      snt.BatchNormV2()(tf.zeros([1, 2, 2, 2, 2, 2]), is_training=True)
    with pytest.raises(snt.IncompatibleShapeError, match="too many or too few"):
      snt.BatchNormV2()(tf.zeros([3]), is_training=True)
    with pytest.raises(snt.IncompatibleShapeError, match="Incorrect data"):
      snt.BatchNormV2(data_format="NCHW")(tf.zeros([2, 3]), is_training=True)
    bn = snt.BatchNormV2()
    bn(tf.zeros([2, 3]), is_training=True)
    with pytest.raises(snt.IncompatibleShapeError, match="Incorrect data"):
      bn(tf.zeros([2, 2, 3]), is_training=True)  # Format "NC" was kept.
    with pytest.raises(snt.UnderspecifiedError):
      snt.BatchNormV2()(tf.placeholder(tf.float32, [2, None]),
                        is_training=True)
    with pytest.raises(snt.NotSupportedError, match="bfloat16"):
      snt.BatchNormV2()(tf.zeros([2, 3], tf.bfloat16), is_training=True)
    with pytest.raises(snt.NotSupportedError, match="float64"):
      snt.BatchNormV2()(tf.zeros([2, 3], tf.float64), is_training=True)
    out = snt.BatchNormV2(fused=False)(tf.zeros([2, 3], tf.float64),
                                       is_training=True)
    assert out.dtype == tf.float64
  with pytest.raises(KeyError, match="Invalid initializer keys"):
    snt.BatchNormV2(initializers={"b": tf.zeros_initializer()})
  with pytest.raises(KeyError):
    snt.BatchNormV2(partitioners={"moving_mean": tf.fixed_size_partitioner(2)})
  with pytest.raises(TypeError):
    snt.BatchNormV2(regularizers={"gamma": 3})


def test_regularizers_and_initializers_filled():
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(scale=True, regularizers={"gamma": tf.nn.l2_loss})
    bn(tf.zeros([2, 4]), is_training=True)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1
    assert set(bn.initializers) == {"gamma", "beta", "moving_mean",
                                    "moving_variance"}
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert sess.run(losses[0]) == pytest.approx(2.0)


@pytest.mark.parametrize("fused", [False, True])
def test_partitioned_gamma_beta(fused):
  x = _random([3, 2, 4], seed=12)
  with tf.Graph().as_default():
    bn = snt.BatchNormV2(scale=True, fused=fused, partitioners={
        "gamma": tf.fixed_size_partitioner(2),
        "beta": tf.fixed_size_partitioner(2)})
    out = bn(tf.constant(x), is_training=True)
    assert len([v for v in tf.trainable_variables()
                if "/gamma/part_" in v.name]) == 2
    assert bn.gamma.get_shape().as_list() == [1, 1, 4]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      value = sess.run(out)
  expected = (x - x.mean(axis=(0, 1))) / np.sqrt(x.var(axis=(0, 1)) + EPS)
  np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-4)
