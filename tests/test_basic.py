"""Tests for sonnet/python/modules/basic.py."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import basic
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def _run(fetches, feed_dict=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetches, feed_dict)


# --- free functions -------------------------------------------------------------


def test_merge_leading_dims_static():
  x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
  merged = snt.merge_leading_dims(tf.constant(x), 2)
  assert merged.get_shape().as_list() == [6, 4]
  np.testing.assert_array_equal(_run(merged), x.reshape(6, 4))
  merged3 = snt.merge_leading_dims(x, 3)
  np.testing.assert_array_equal(_run(merged3), x.reshape(24))


def test_merge_leading_dims_dynamic():
  x = tf.placeholder(tf.float32, [None, 3, 4])
  merged = snt.merge_leading_dims(x, 2)
  assert merged.get_shape().as_list() == [None, 4]
  y = tf.placeholder(tf.float32, [2, 3, None])
  merged_y = snt.merge_leading_dims(y, 2)
  assert merged_y.get_shape().as_list() == [6, None]
  value = np.random.rand(5, 3, 4).astype(np.float32)
  np.testing.assert_array_equal(_run(merged, {x: value}),
                                value.reshape(15, 4))


def test_merge_leading_dims_low_rank_returns_argument():
  value = np.float32(3.0)
  assert snt.merge_leading_dims(value, 2) is value
  t = tf.constant([1.0, 2.0])
  assert snt.merge_leading_dims(t, 2) is t


def test_merge_leading_dims_unknown_rank():
  x = tf.placeholder(tf.float32)
  with pytest.raises(ValueError, match="unknown rank"):
    snt.merge_leading_dims(x)


def test_split_leading_dim_round_trip():
  inputs = tf.placeholder(tf.float32, [None, 3, 5])
  merged = snt.merge_leading_dims(inputs, 2)
  split = snt.split_leading_dim(merged * 2, inputs, 2)
  assert split.get_shape().as_list() == [None, 3, 5]
  value = np.random.rand(2, 3, 5).astype(np.float32)
  np.testing.assert_allclose(_run(split, {inputs: value}), 2 * value)
  static_inputs = tf.zeros([2, 3, 7])
  static = snt.split_leading_dim(tf.zeros([6, 4]), static_inputs, 2)
  assert static.get_shape().as_list() == [2, 3, 4]


@pytest.mark.parametrize("bias_dims,expected", [
    (None, (3, 4, 5)), ([], ()), ([1, 3], (3, 1, 5)), ([-1], (5,)),
    ([1], (3, 1, 1)), ([2], (4, 1)), ([2, 3], (4, 5)),
])
def test_calculate_bias_shape(bias_dims, expected):
  assert basic.calculate_bias_shape([2, 3, 4, 5], bias_dims) == expected


def test_calculate_bias_shape_batch_dim():
  with pytest.raises(ValueError, match="minibatch"):
    basic.calculate_bias_shape([2, 3], [0])
  with pytest.raises(ValueError, match="minibatch"):
    basic.calculate_bias_shape([2, 3], [-2])


def test_default_initializers():
  init = basic.create_linear_initializer(16)
  assert isinstance(init, tf.truncated_normal_initializer)
  assert init.stddev == pytest.approx(0.25)
  values = _run(init([1000, 10]))
  assert np.all(np.abs(values) <= 0.5)
  assert values.std() == pytest.approx(0.25 * 0.88, rel=0.05)
  bias = basic.create_bias_initializer((3,), tf.float64)
  np.testing.assert_array_equal(_run(bias([3], tf.float64)), np.zeros(3))


# --- Linear -----------------------------------------------------------------------


def test_linear_variables_and_values():
  lin = snt.Linear(4)
  x = np.random.rand(3, 5).astype(np.float32)
  out = lin(tf.constant(x))
  assert lin.module_name == "linear"
  assert lin.w.name == "linear/w:0" and lin.w.get_shape().as_list() == [5, 4]
  assert lin.b.name == "linear/b:0" and lin.b.get_shape().as_list() == [4]
  assert out.get_shape().as_list() == [3, 4]
  assert lin.input_shape == (3, 5) and lin.output_size == 4
  assert lin.has_bias
  assert set(lin.initializers) == {"w", "b"}
  assert [v.name for v in lin.get_variables()] == ["linear/w:0", "linear/b:0"]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out_v, w, b = sess.run([out, lin.w, lin.b])
  np.testing.assert_allclose(out_v, x.dot(w) + b, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(b, np.zeros(4))
  assert np.all(np.abs(w) <= 2 / np.sqrt(5))


def test_linear_float64_and_gradient():
  lin = snt.Linear(3)
  x = tf.constant(np.random.rand(2, 4))
  out = lin(x)
  assert out.dtype == tf.float64 and lin.w.dtype.base_dtype == tf.float64
  with tf.Session():
    tf.global_variables_initializer().run()
    err = tf.test.compute_gradient_error(x, [2, 4], out, [2, 3])
  assert err < 1e-8


def test_linear_no_bias():
  lin = snt.Linear(2, use_bias=False)
  lin(tf.zeros([1, 3]))
  assert not lin.has_bias
  with pytest.raises(AttributeError, match="use_bias=False"):
    lin.b  # pylint: disable=pointless-statement
  assert [v.name for v in lin.variables] == ["linear/w:0"]


def test_linear_not_connected():
  lin = snt.Linear(2)
  for prop in ("w", "b", "input_shape"):
    with pytest.raises(snt.NotConnectedError):
      getattr(lin, prop)


def test_linear_shape_errors():
  lin = snt.Linear(2)
  with pytest.raises(snt.IncompatibleShapeError, match="rank of shape must be 2"):
    lin(tf.zeros([2, 3, 4]))
  with pytest.raises(snt.IncompatibleShapeError, match="rank of shape must be 2"):
    lin(tf.zeros([3]))
  with pytest.raises(snt.IncompatibleShapeError, match="Input size must be"):
    lin(tf.placeholder(tf.float32, [2, None]))
  lin(tf.zeros([2, 3]))
  with pytest.raises(snt.IncompatibleShapeError,
                     match=r"must be \[batch_size, 3\] not: \[batch_size, 4\]"):
    lin(tf.zeros([2, 4]))
  many = snt.Linear(2, allow_many_batch_dims=True)
  many(tf.zeros([2, 5, 3]))
  with pytest.raises(snt.IncompatibleShapeError,
                     match=r"\[\.\.\., 3\] not: \[\.\.\., 4\]"):
    many(tf.zeros([2, 5, 4]))


def test_linear_many_batch_dims():
  lin = snt.Linear(4, allow_many_batch_dims=True)
  x = np.random.rand(2, 3, 5).astype(np.float32)
  out = lin(tf.constant(x))
  assert out.get_shape().as_list() == [2, 3, 4]
  out_v, w, b = _run([out, lin.w, lin.b])
  np.testing.assert_allclose(out_v, x.dot(w) + b, rtol=1e-5, atol=1e-5)


def test_linear_shares_variables_and_accepts_batch_change():
  lin = snt.Linear(3)
  lin(tf.zeros([2, 4]))
  lin(tf.placeholder(tf.float32, [None, 4]))
  assert len(tf.trainable_variables()) == 2
  assert lin.input_shape == (None, 4)


def test_linear_callable_output_size():
  calls = []

  def size():
    calls.append(1)
    return 7

  lin = snt.Linear(size)
  assert lin(tf.zeros([1, 2])).get_shape().as_list() == [1, 7]
  assert lin.output_size == 7 and len(calls) == 1


def test_linear_initializer_checks():
  with pytest.raises(KeyError, match="'b'"):
    snt.Linear(2, use_bias=False, initializers={"b": tf.zeros_initializer()})
  with pytest.raises(KeyError):
    snt.Linear(2, initializers={"x": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.Linear(2, initializers={"w": 3})
  with pytest.raises(KeyError):
    snt.Linear(2, partitioners={"y": tf.fixed_size_partitioner(2)})
  with pytest.raises(TypeError):
    snt.Linear(2, regularizers={"w": "l2"})
  assert snt.Linear.get_possible_initializer_keys() == {"w", "b"}
  assert snt.Linear.get_possible_initializer_keys(use_bias=False) == {"w"}
  assert snt.Linear(2, use_bias=False).possible_keys == {"w"}


def test_linear_custom_initializers_and_regularizers():
  lin = snt.Linear(
      3,
      initializers={"w": tf.constant_initializer(2.0),
                    "b": tf.constant_initializer(1.0)},
      regularizers={"w": tf.nn.l2_loss, "b": tf.nn.l2_loss})
  out = lin(tf.ones([1, 2]))
  losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  assert len(losses) == 2
  out_v, losses_v = _run([out, losses])
  np.testing.assert_allclose(out_v, [[5.0, 5.0, 5.0]])
  np.testing.assert_allclose(sorted(losses_v), [1.5, 12.0])


def test_linear_partitioned():
  lin = snt.Linear(4, partitioners={"w": tf.fixed_size_partitioner(2),
                                    "b": tf.fixed_size_partitioner(2)})
  x = np.random.rand(3, 6).astype(np.float32)
  out = lin(tf.constant(x))
  assert type(lin.w).__name__ == "PartitionedVariable"
  assert len(list(lin.w)) == 2
  assert [v.name for v in lin.w] == ["linear/w/part_0:0", "linear/w/part_1:0"]
  out_v, w, b = _run([out, tf.convert_to_tensor(lin.w),
                      tf.convert_to_tensor(lin.b)])
  assert w.shape == (6, 4)
  np.testing.assert_allclose(out_v, x.dot(w) + b, rtol=1e-5, atol=1e-5)


def test_linear_custom_getter():
  lin = snt.Linear(2, custom_getter=snt.custom_getters.stop_gradient)
  x = tf.ones([1, 3])
  out = lin(x)
  grads = tf.gradients(tf.reduce_sum(out), tf.trainable_variables())
  assert grads == [None, None]


def test_linear_transpose():
  lin = snt.Linear(3, name="lin")
  transposed = lin.transpose()
  assert transposed.module_name == "lin_transpose"
  with pytest.raises(snt.NotConnectedError):
    transposed(tf.zeros([2, 3]))
  x = tf.zeros([2, 5])
  y = lin(x)
  transposed = lin.transpose()
  z = transposed(y)
  assert z.get_shape().as_list() == [2, 5]
  assert transposed.w.get_shape().as_list() == [3, 5]
  assert transposed.output_size == 5
  back = transposed.transpose()
  assert back(z).get_shape().as_list() == [2, 3]
  assert back.has_bias == lin.has_bias
  no_bias = snt.Linear(3, use_bias=False)
  no_bias(x)
  assert not no_bias.transpose().has_bias


def test_linear_clone():
  lin = snt.Linear(3, use_bias=False, name="lin")
  clone = lin.clone()
  assert clone.module_name == "lin_clone"
  assert clone.output_size == 3 and not clone.has_bias
  out = clone(tf.zeros([2, 4]))
  assert out.get_shape().as_list() == [2, 3]
  assert lin.clone(name="other").module_name == "other"


def test_linear_module_info_class_name():
  snt.Linear(2)(tf.zeros([1, 2]))
  infos = tf.get_collection(snt.SONNET_COLLECTION_NAME)
  assert infos[0].class_name == "sonnet.python.modules.basic.Linear"


# --- ConcatLinear -----------------------------------------------------------------


def test_concat_linear():
  module = snt.ConcatLinear(3)
  x1 = np.random.rand(2, 4).astype(np.float32)
  x2 = np.random.rand(2, 6).astype(np.float32)
  out = module([tf.constant(x1), tf.constant(x2)])
  names = [v.name for v in module.get_variables()]
  assert names == ["concat_linear/linear/w:0", "concat_linear/linear/b:0",
                   "concat_linear/linear_1/w:0"]
  variables = module.get_variables()
  out_v, w1, b, w2 = _run([out] + list(variables))
  np.testing.assert_allclose(out_v, x1.dot(w1) + b + x2.dot(w2), rtol=1e-5,
                             atol=1e-5)
  # A second connection reuses the same variables.
  module([tf.constant(x1), tf.constant(x2)])
  assert len(tf.trainable_variables()) == 3


def test_concat_linear_bias_key_fails_for_later_inputs():
  module = snt.ConcatLinear(3, initializers={"b": tf.zeros_initializer()})
  with pytest.raises(KeyError):
    module([tf.zeros([1, 2]), tf.zeros([1, 2])])
  no_bias = snt.ConcatLinear(3, use_bias=False)
  no_bias([tf.zeros([1, 2]), tf.zeros([1, 2])])
  assert len(no_bias.get_variables()) == 2


# --- AddBias ----------------------------------------------------------------------


def test_add_bias_values_and_shapes():
  x = np.random.rand(2, 3, 4).astype(np.float32)
  module = snt.AddBias(initializers={"b": tf.random_normal_initializer()})
  out = module(tf.constant(x))
  assert module.b.name == "add/b:0"
  assert module.b.get_shape().as_list() == [3, 4]
  assert module.input_shape == (2, 3, 4)
  out_v, b = _run([out, module.b])
  np.testing.assert_allclose(out_v, x + b, rtol=1e-6)


@pytest.mark.parametrize("bias_dims,shape", [([1], [3, 1]), ([-1], [4]),
                                             ([], [])])
def test_add_bias_dims(bias_dims, shape):
  x = np.random.rand(2, 3, 4).astype(np.float32)
  module = snt.AddBias(bias_dims=bias_dims,
                       initializers={"b": tf.random_normal_initializer()})
  out = module(tf.constant(x))
  assert module.b.get_shape().as_list() == shape
  out_v, b = _run([out, module.b])
  np.testing.assert_allclose(out_v, x + b, rtol=1e-6)


def test_add_bias_multiplier():
  x = np.random.rand(2, 3).astype(np.float32)
  module = snt.AddBias(initializers={"b": tf.constant_initializer(2.0)})
  minus = module(tf.constant(x), multiplier=-1)
  scale = tf.placeholder(tf.float32, [])
  scaled = module(tf.constant(x), multiplier=scale)
  minus_v, scaled_v = _run([minus, scaled], {scale: 3.0})
  np.testing.assert_allclose(minus_v, x - 2.0, rtol=1e-6)
  np.testing.assert_allclose(scaled_v, x + 6.0, rtol=1e-6)


def test_add_bias_errors():
  with pytest.raises(snt.IncompatibleShapeError, match="Rank of input shape"):
    snt.AddBias()(tf.zeros([3]))
  with pytest.raises(ValueError, match="minibatch"):
    snt.AddBias(bias_dims=[0])(tf.zeros([2, 3]))
  module = snt.AddBias()
  module(tf.zeros([2, 3]))
  module(tf.zeros([5, 3]))
  with pytest.raises(snt.IncompatibleShapeError, match="Input shape has changed"):
    module(tf.zeros([2, 4]))
  with pytest.raises(snt.IncompatibleShapeError):
    snt.AddBias(output_shape=(2, 4))(tf.zeros([2, 3]))
  with pytest.raises(snt.IncompatibleShapeError):
    snt.AddBias()(tf.placeholder(tf.float32, [2, None]))
  with pytest.raises(KeyError):
    snt.AddBias(initializers={"w": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.AddBias(regularizers={"b": 1.0})
  with pytest.raises(snt.NotConnectedError):
    snt.AddBias().b  # pylint: disable=expression-not-assigned


def test_add_bias_regularizer_and_partitioner():
  module = snt.AddBias(regularizers={"b": tf.nn.l2_loss},
                       partitioners={"b": tf.fixed_size_partitioner(2)})
  module(tf.zeros([2, 4]))
  # TensorFlow regularizes each part of a partitioned variable separately.
  assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 2
  assert len(list(module.b)) == 2


def test_add_bias_transpose():
  module = snt.AddBias(name="bias")
  transposed = module.transpose()
  assert transposed.module_name == "bias_transpose"
  with pytest.raises(snt.ParentNotBuiltError):
    transposed(tf.zeros([2, 3]))
  x = tf.zeros([2, 3])
  y = module(x)
  transposed = module.transpose()
  out = transposed(y, multiplier=-1)
  assert out.get_shape().as_list() == [2, 3]
  with pytest.raises(snt.IncompatibleShapeError):
    module.transpose()(tf.zeros([2, 4]))


# --- BatchReshape and friends -------------------------------------------------------


@pytest.mark.parametrize("preserve_dims,expected", [
    (1, [2, 60, 5]), (2, [2, 3, 20, 5]), (3, [2, 3, 4, 5, 5]),
    (4, [2, 3, 4, 5, 1, 5]),
])
def test_batch_reshape_preserve_dims(preserve_dims, expected):
  x = np.random.rand(2, 3, 4, 5, 5).astype(np.float32)
  module = snt.BatchReshape(shape=(-1, 5), preserve_dims=preserve_dims)
  out = module(tf.constant(x))
  assert out.get_shape().as_list() == expected
  np.testing.assert_array_equal(_run(out), x.reshape(expected))


def test_batch_reshape_preserve_all_needs_unit_dim():
  with pytest.raises(ValueError):
    snt.BatchReshape(shape=(-1, 5), preserve_dims=5)(tf.zeros([2, 3, 4, 5, 5]))
  out = snt.BatchReshape(shape=(-1, 1), preserve_dims=5)(tf.zeros([2, 3, 4, 5, 1]))
  assert out.get_shape().as_list() == [2, 3, 4, 5, 1, 1, 1]


def test_batch_reshape_dynamic_batch_and_transpose():
  x = tf.placeholder(tf.float32, [None, 2, 6])
  module = snt.BatchReshape(shape=[3, 4])
  y = module(x)
  assert y.get_shape().as_list() == [None, 3, 4]
  assert module.input_shape == [2, 6]
  transposed = module.transpose()
  assert transposed.module_name == "batch_reshape_transpose"
  z = transposed(y)
  assert z.get_shape().as_list() == [None, 2, 6]
  value = np.random.rand(3, 2, 6).astype(np.float32)
  y_v, z_v = _run([y, z], {x: value})
  np.testing.assert_array_equal(y_v, value.reshape(3, 3, 4))
  np.testing.assert_array_equal(z_v, value)


def test_batch_reshape_callable_shape():
  module = snt.BatchReshape(shape=lambda: (2, 3))
  assert module(tf.zeros([4, 6])).get_shape().as_list() == [4, 2, 3]


def test_batch_reshape_noop_cases():
  x = tf.placeholder(tf.float32, [None, None])
  assert snt.BatchReshape(shape=(-1,))(x) is x
  y = tf.zeros([2, 7])
  assert snt.BatchReshape(shape=(7,))(y) is y
  with pytest.raises(ValueError, match="incompatible"):
    snt.BatchReshape(shape=(6,))(y)
  with pytest.raises(ValueError, match="Unknown non-preserved"):
    snt.BatchReshape(shape=(6,))(x)


def test_batch_reshape_errors():
  with pytest.raises(ValueError, match="preserve_dims should be >= 1"):
    snt.BatchReshape(shape=(2,), preserve_dims=0)
  with pytest.raises(ValueError, match="at least"):
    snt.BatchReshape(shape=(-1,), preserve_dims=3)(tf.zeros([2, 3]))
  with pytest.raises(ValueError, match="positive integral"):
    snt.BatchReshape(shape=(0, -1))(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="positive integral"):
    snt.BatchReshape(shape=(2.5, -1))(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="only once"):
    snt.BatchReshape(shape=(-1, -1))(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="incompatible"):
    snt.BatchReshape(shape=(5, 3))(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="Unknown non-preserved"):
    snt.BatchReshape(shape=(-1, 2))(tf.placeholder(tf.float32, [2, None, 4]))
  with pytest.raises(snt.NotConnectedError):
    snt.BatchReshape(shape=(2,)).input_shape  # pylint: disable=expression-not-assigned


@pytest.mark.parametrize("preserve_dims,expected", [
    (1, [2, 60]), (2, [2, 3, 20]), (4, [2, 3, 4, 5, 1]),
])
def test_batch_flatten(preserve_dims, expected):
  module = snt.BatchFlatten(preserve_dims=preserve_dims)
  assert module.module_name == "batch_flatten"
  assert module(tf.zeros([2, 3, 4, 5])).get_shape().as_list() == expected


def test_batch_flatten_edge_cases():
  x = tf.zeros([2, 3, 4, 5])
  assert snt.BatchFlatten(preserve_dims=3)(x) is x
  with pytest.raises(ValueError):
    snt.BatchFlatten(preserve_dims=5)(x)
  with pytest.raises(ValueError):
    snt.BatchFlatten(preserve_dims=0)
  module = snt.BatchFlatten()
  y = module(x)
  assert module.transpose()(y).get_shape().as_list() == [2, 3, 4, 5]


def test_flatten_trailing_dimensions():
  module = snt.FlattenTrailingDimensions(dim_from=2)
  assert module.module_name == "batch_dim_from"
  x = np.random.rand(2, 3, 4, 5).astype(np.float32)
  out = module(tf.constant(x))
  assert out.get_shape().as_list() == [2, 3, 20]
  np.testing.assert_array_equal(_run(out), x.reshape(2, 3, 20))
  with pytest.raises(ValueError, match="dim_from should be >= 1"):
    snt.FlattenTrailingDimensions(dim_from=0)


# --- TrainableVariable ------------------------------------------------------------


def test_trainable_variable():
  module = snt.TrainableVariable(shape=[3, 4])
  var = module()
  assert var is module.w
  assert var.name == "trainable_variable/w:0"
  assert var.get_shape().as_list() == [3, 4] and var.dtype.base_dtype == tf.float32
  assert module() is var
  values = _run(var)
  assert np.all(np.abs(values) <= 2 / np.sqrt(12))
  with pytest.raises(snt.NotConnectedError):
    snt.TrainableVariable(shape=[1]).w  # pylint: disable=expression-not-assigned


def test_trainable_variable_options():
  module = snt.TrainableVariable(
      shape=(4,), dtype=tf.float64,
      initializers={"w": tf.constant_initializer(3.0)},
      regularizers={"w": tf.nn.l2_loss},
      partitioners={"w": tf.fixed_size_partitioner(2)})
  var = module()
  assert len(list(var)) == 2
  assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 2
  np.testing.assert_array_equal(_run(tf.convert_to_tensor(var)), [3.0] * 4)
  with pytest.raises(KeyError):
    snt.TrainableVariable(shape=[1], initializers={"b": tf.zeros_initializer()})
  with pytest.raises(TypeError):
    snt.TrainableVariable(shape=[1], initializers={"w": 0.0})
  scalar = snt.TrainableVariable(shape=())()
  assert scalar.get_shape().as_list() == []


# --- BatchApply -------------------------------------------------------------------


def test_batch_apply_linear():
  x = np.random.rand(4, 3, 5).astype(np.float32)
  lin = snt.Linear(2)
  module = snt.BatchApply(lin)
  out = module(tf.constant(x))
  assert out.get_shape().as_list() == [4, 3, 2]
  out_v, w, b = _run([out, lin.w, lin.b])
  np.testing.assert_allclose(out_v, x.dot(w) + b, rtol=1e-5, atol=1e-5)


def test_batch_apply_dynamic_and_n_dims():
  x = tf.placeholder(tf.float32, [None, None, 2, 5])
  module = snt.BatchApply(tf.reduce_sum, n_dims=3)
  out = module(x, axis=-1)
  assert out.get_shape().as_list() == [None, None, 2]
  value = np.random.rand(3, 4, 2, 5).astype(np.float32)
  np.testing.assert_allclose(_run(out, {x: value}), value.sum(-1), rtol=1e-5)


def test_batch_apply_structures_none_and_scalars():
  def fn(a, scale, b=None, c=None):
    assert b is None
    assert a.get_shape().ndims == 2
    return {"sum": a * scale + c, "none": None}, a

  a = np.random.rand(2, 3, 4).astype(np.float32)
  c = np.random.rand(2, 3, 4).astype(np.float32)
  out = snt.BatchApply(fn)(tf.constant(a), 2.0, c=tf.constant(c))
  assert out[0]["none"] is None
  assert out[0]["sum"].get_shape().as_list() == [2, 3, 4]
  sum_v, a_v = _run([out[0]["sum"], out[1]])
  np.testing.assert_allclose(sum_v, 2 * a + c, rtol=1e-6)
  np.testing.assert_array_equal(a_v, a)


def test_batch_apply_input_example_index():
  offset = tf.constant([1.0, 2.0])  # Rank 1 < n_dims: passed unchanged.
  seq = tf.placeholder(tf.float32, [None, 3, 2])
  module = snt.BatchApply(lambda x, y: y + x, input_example_index=1)
  out = module(offset, seq)
  assert out.get_shape().as_list() == [None, 3, 2]
  value = np.random.rand(4, 3, 2).astype(np.float32)
  np.testing.assert_allclose(_run(out, {seq: value}), value + [1.0, 2.0])


def test_batch_apply_errors():
  with pytest.raises(TypeError):
    snt.BatchApply(tf.identity, n_dims=2.0)
  with pytest.raises(ValueError):
    snt.BatchApply(tf.identity, n_dims=0)


# --- SliceByDim, TileByDim, MergeDims, SelectInput -------------------------------------


def test_slice_by_dim():
  x = np.random.rand(3, 5, 6, 2).astype(np.float32)
  out = snt.SliceByDim(dims=[1, 2], begin=[1, 2], size=[3, -1])(tf.constant(x))
  assert out.get_shape().as_list() == [3, 3, 4, 2]
  np.testing.assert_array_equal(_run(out), x[:, 1:4, 2:, :])
  neg = snt.SliceByDim(dims=[-1], begin=[1], size=[1])(tf.constant(x))
  np.testing.assert_array_equal(_run(neg), x[..., 1:2])


def test_slice_by_dim_errors():
  with pytest.raises(ValueError, match="repeated"):
    snt.SliceByDim(dims=[1, 1], begin=[0, 0], size=[1, 1])
  with pytest.raises(ValueError, match="begin"):
    snt.SliceByDim(dims=[1, 2], begin=[0], size=[1, 1])
  with pytest.raises(ValueError, match="size"):
    snt.SliceByDim(dims=[1, 2], begin=[0, 0], size=[1])
  with pytest.raises(ValueError, match="Rank of inputs must be at least 4"):
    snt.SliceByDim(dims=[3], begin=[0], size=[1])(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="Rank of inputs must be at least 4"):
    snt.SliceByDim(dims=[-4], begin=[0], size=[1])(tf.zeros([2, 3, 4]))


def test_tile_by_dim():
  x = np.random.rand(2, 3, 1).astype(np.float32)
  out = snt.TileByDim(dims=[0, 2], multiples=[2, 4])(tf.constant(x))
  assert out.get_shape().as_list() == [4, 3, 4]
  np.testing.assert_array_equal(_run(out), np.tile(x, [2, 1, 4]))
  with pytest.raises(ValueError):
    snt.TileByDim(dims=[0, 0], multiples=[2, 2])
  with pytest.raises(ValueError):
    snt.TileByDim(dims=[0, 1], multiples=[2])
  with pytest.raises(ValueError, match="Rank"):
    snt.TileByDim(dims=[3], multiples=[2])(tf.zeros([2, 2]))


def test_merge_dims():
  x = np.random.rand(2, 3, 4, 5).astype(np.float32)
  out = snt.MergeDims(start=1, size=2)(tf.constant(x))
  assert out.get_shape().as_list() == [2, 12, 5]
  np.testing.assert_array_equal(_run(out), x.reshape(2, 12, 5))
  neg = snt.MergeDims(start=-2, size=2)(tf.constant(x))
  assert neg.get_shape().as_list() == [2, 3, 20]


def test_merge_dims_unknown_dims_and_nest():
  x = tf.placeholder(tf.float32, [None, 3, None, 5])
  out = snt.MergeDims(start=1, size=2)(x)
  assert out.get_shape().as_list() == [None, None, 5]
  y = tf.placeholder(tf.float32, [None, 3, 4])
  nested = snt.MergeDims(start=0, size=2)({"a": y, "b": [y]})
  assert nested["a"].get_shape().as_list() == [None, 4]
  assert nested["b"][0].get_shape().as_list() == [None, 4]
  x_v = np.random.rand(2, 3, 4, 5).astype(np.float32)
  np.testing.assert_array_equal(_run(out, {x: x_v}), x_v.reshape(2, 12, 5))


def test_merge_dims_errors():
  with pytest.raises(ValueError, match="strictly greater than 1"):
    snt.MergeDims(start=0, size=1)
  with pytest.raises(ValueError, match="Rank of inputs must be at least 4"):
    snt.MergeDims(start=2, size=2)(tf.zeros([2, 3, 4]))


def test_select_input():
  a, b, c = tf.zeros([1]), tf.ones([2]), tf.zeros([3])
  out = snt.SelectInput(idx=1)(a, b, c)
  assert out.get_shape().as_list() == [2] and out.op.type == "Identity"
  nested = snt.SelectInput(idx=[0, [1, [2]]])(a, b, c)
  assert isinstance(nested, tuple) and isinstance(nested[1][1], tuple)
  assert [t.get_shape().as_list()[0] for t in tf.nest.flatten(nested)] == [1, 2, 3]
  with pytest.raises(TypeError, match="`idx` should be"):
    snt.SelectInput(idx="0")
  with pytest.raises(TypeError):
    snt.SelectInput(idx=[0, 1.5])
  with pytest.raises(ValueError, match="out of bound"):
    snt.SelectInput(idx=[0, 3])(a, b, c)
  with pytest.raises(ValueError):
    snt.SelectInput(idx=-1)(a, b)


def test_array_inputs_are_converted():
  x = np.random.rand(2, 3).astype(np.float32)
  lin = snt.Linear(2)
  out = lin(x)
  bias = snt.AddBias()(x)
  norm = snt.LayerNorm()(x)
  out_v, w, b, bias_v, norm_v = _run([out, lin.w, lin.b, bias, norm])
  np.testing.assert_allclose(out_v, x.dot(w) + b, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(bias_v, x)
  assert norm_v.shape == (2, 3)
