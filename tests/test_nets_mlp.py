"""Tests for nets.MLP."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import nets
from sonnet.python.modules.nets import mlp
import tensorflow.compat.v1 as tf

BATCH = 3
IN = 4
SIZES = (5, 6, 2)


def _np_mlp(x, weights, biases, activation, activate_final):
  net = x
  for i, (w, b) in enumerate(zip(weights, biases)):
    net = net @ w + b
    if i != len(weights) - 1 or activate_final:
      net = activation(net)
  return net


def test_constructor_errors():
  with tf.Graph().as_default():
    with pytest.raises(TypeError, match="output_sizes must be iterable"):
      mlp.MLP(output_sizes=3)
    with pytest.raises(ValueError, match="output_sizes must not be empty"):
      mlp.MLP(output_sizes=[])
    with pytest.raises(TypeError, match="activation"):
      mlp.MLP(output_sizes=[3], activation="relu")
    with pytest.raises(KeyError):
      mlp.MLP(output_sizes=[3], initializers={"x": tf.zeros_initializer()})
    with pytest.raises(KeyError):
      mlp.MLP(output_sizes=[3], use_bias=False,
              initializers={"b": tf.zeros_initializer()})
    with pytest.raises(TypeError):
      mlp.MLP(output_sizes=[3], initializers={"w": 3})
    with pytest.raises(TypeError):
      mlp.MLP(output_sizes=[3], partitioners={"w": 3})
    with pytest.raises(TypeError):
      mlp.MLP(output_sizes=[3], regularizers={"w": 3})


def test_possible_keys():
  assert mlp.MLP.get_possible_initializer_keys() == {"w", "b"}
  assert mlp.MLP.get_possible_initializer_keys(use_bias=False) == {"w"}


@pytest.mark.parametrize("activate_final", [False, True])
@pytest.mark.parametrize("use_bias", [False, True])
def test_values_and_variables(activate_final, use_bias):
  with tf.Graph().as_default():
    net = nets.MLP(SIZES, activation=tf.nn.tanh,
                       activate_final=activate_final, use_bias=use_bias)
    # Layers exist (and are named) before connection.
    assert [l.module_name for l in net.layers] == [
        "linear_0", "linear_1", "linear_2"]
    assert [l.scope_name for l in net.layers] == [
        "mlp/linear_0", "mlp/linear_1", "mlp/linear_2"]
    with pytest.raises(snt.NotConnectedError):
      _ = net.input_shape
    x = tf.placeholder(tf.float32, [None, IN])
    y = net(x)
    assert y.get_shape().as_list() == [None, SIZES[-1]]
    assert net.input_shape == (None, IN)
    names = [v.op.name for v in net.get_variables()]
    expected = []
    for i in range(len(SIZES)):
      expected.append("mlp/linear_{}/w".format(i))
      if use_bias:
        expected.append("mlp/linear_{}/b".format(i))
    assert names == expected
    shapes = [v.get_shape().as_list() for v in net.get_variables()]
    sizes = (IN,) + SIZES
    expected_shapes = []
    for i in range(len(SIZES)):
      expected_shapes.append([sizes[i], sizes[i + 1]])
      if use_bias:
        expected_shapes.append([sizes[i + 1]])
    assert shapes == expected_shapes

    with tf.Session() as sess:
      # Random biases so that they are actually checked.
      sess.run(tf.global_variables_initializer())
      if use_bias:
        for layer in net.layers:
          sess.run(layer.b.assign(
              np.random.randn(*layer.b.get_shape().as_list())))
      xv = np.random.randn(BATCH, IN).astype(np.float32)
      yv, ws = sess.run([y, [l.w for l in net.layers]], {x: xv})
      bs = (sess.run([l.b for l in net.layers]) if use_bias
            else [0.0] * len(SIZES))
    np.testing.assert_allclose(
        yv, _np_mlp(xv, ws, bs, np.tanh, activate_final), rtol=1e-5,
        atol=1e-5)


def test_properties():
  with tf.Graph().as_default():
    inits = {"w": tf.ones_initializer()}
    net = nets.MLP([3, lambda: 7], activation=tf.nn.tanh,
                       activate_final=True, initializers=inits,
                       use_dropout=True, use_bias=False)
    assert net.output_sizes == (3, 7)
    assert net.output_size == 7
    assert net.activation is tf.nn.tanh
    assert net.activate_final
    assert net.use_dropout
    assert not net.use_bias
    assert net.initializers == inits
    assert net.partitioners == {}
    assert net.regularizers == {}
    assert len(net.layers) == 2


def test_variable_sharing_and_custom_getter():
  with tf.Graph().as_default():
    net = nets.MLP([3, 2], custom_getter=snt.custom_getters.non_trainable)
    net(tf.ones([1, 4]))
    net(tf.ones([2, 4]))
    assert len(net.get_variables(tf.GraphKeys.GLOBAL_VARIABLES)) == 4
    assert not net.trainable_variables
    assert len(net.variables) == 4


def test_regularizers_and_partitioners():
  with tf.Graph().as_default():
    net = nets.MLP(
        [6, 2],
        regularizers={"w": tf.nn.l2_loss, "b": tf.nn.l2_loss},
        partitioners={"w": tf.fixed_size_partitioner(2)})
    y = net(tf.ones([2, 4]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    # One loss per partition of each "w" (2 + 2) plus one per "b".
    assert len(losses) == 6
    names = sorted(v.op.name for v in net.get_variables())
    assert names == ["mlp/linear_0/b", "mlp/linear_0/w/part_0",
                     "mlp/linear_0/w/part_1", "mlp/linear_1/b",
                     "mlp/linear_1/w/part_0", "mlp/linear_1/w/part_1"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert sess.run(y).shape == (2, 2)


def test_transpose_round_trip():
  with tf.Graph().as_default():
    net = nets.MLP([5, 3], activate_final=True)
    t = net.transpose()
    assert t.module_name == "mlp_transpose"
    assert t.activate_final
    assert net.transpose(name="foo", activate_final=False).module_name == "foo"
    x = tf.ones([2, 7])
    y = net(x)
    assert t.output_sizes == (5, 7)
    z = t(y)
    assert z.get_shape().as_list() == [2, 7]
    names = [v.op.name for v in t.get_variables()]
    assert names == ["mlp_transpose/linear_0/w", "mlp_transpose/linear_0/b",
                     "mlp_transpose/linear_1/w", "mlp_transpose/linear_1/b"]
    tt = t.transpose()
    assert tt.output_sizes == net.output_sizes
    assert tt(z).get_shape().as_list() == [2, 3]


def test_transpose_before_connection_fails():
  with tf.Graph().as_default():
    net = nets.MLP([5, 3])
    t = net.transpose()
    with pytest.raises(snt.NotConnectedError):
      t(tf.ones([2, 3]))


def test_clone():
  with tf.Graph().as_default():
    net = nets.MLP([5, 3], activation=tf.nn.tanh)
    c = net.clone()
    assert c.module_name == "mlp_clone"
    assert c.output_sizes == (5, 3)
    assert c.activation is tf.nn.tanh
    c(tf.ones([1, 2]))
    assert len(c.get_variables()) == 4
    with pytest.raises(snt.NotConnectedError):
      net.get_variables()


def test_dropout_kwargs():
  with tf.Graph().as_default():
    x = tf.ones([64, 8])
    net = nets.MLP([200, 3], use_dropout=True,
                       initializers={"w": tf.ones_initializer()})
    is_training = tf.placeholder(tf.bool, [])
    keep = tf.placeholder(tf.float32, [])
    net(x, is_training=is_training, dropout_keep_prob=keep)
    hidden_tensor = net.layers[1].last_connected_subgraph.inputs["inputs"]
    py_true = net(x, is_training=True, dropout_keep_prob=0.5)
    py_false = net(x, is_training=False, dropout_keep_prob=0.5)
    hidden_true = net.layers[1].connected_subgraphs[1].inputs["inputs"]
    hidden_false = net.layers[1].connected_subgraphs[2].inputs["inputs"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      h_train = sess.run(hidden_tensor, {is_training: True, keep: 0.5})
      h_eval = sess.run(hidden_tensor, {is_training: False, keep: 0.5})
      h_true, h_false = sess.run([hidden_true, hidden_false])
      sess.run(py_true)
      sess.run(py_false)
    # Without dropout every hidden unit is 8 (all-ones input and weights).
    np.testing.assert_allclose(h_eval, 8.0)
    np.testing.assert_allclose(h_false, 8.0)
    for h in (h_train, h_true):
      # Dropped units are 0, kept ones scaled by 1/keep_prob.
      assert set(np.unique(h)).issubset({0.0, 16.0})
      assert 0.3 < np.mean(h == 0.0) < 0.7


def test_no_dropout_on_final_layer_unless_activate_final():
  with tf.Graph().as_default():
    x = tf.ones([16, 4])
    net = nets.MLP([50], use_dropout=True,
                       initializers={"w": tf.ones_initializer()})
    y = net(x, is_training=True, dropout_keep_prob=0.1)
    net2 = nets.MLP([50], use_dropout=True, activate_final=True,
                        initializers={"w": tf.ones_initializer()})
    y2 = net2(x, is_training=True, dropout_keep_prob=0.5)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      yv, y2v = sess.run([y, y2])
    np.testing.assert_allclose(yv, 4.0)
    assert np.any(y2v == 0.0)


def test_remove_unsupported_kwargs():
  with tf.Graph().as_default():
    net = nets.MLP([23, 42])
    kwargs = {"dropout_keep_prob": 0.4, "is_training": True, "blah": True}
    assert snt.remove_unsupported_kwargs(net, kwargs) == {
        "dropout_keep_prob": 0.4, "is_training": True}


def test_gradients():
  with tf.Graph().as_default():
    net = nets.MLP([4, 3], activation=tf.nn.tanh)
    x = tf.constant(np.random.randn(2, 3), dtype=tf.float64)
    y = net(x)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      err = tf.test.compute_gradient_error(x, [2, 3], y, [2, 3])
    assert err < 1e-6


def test_wrong_input_size_on_second_connection():
  with tf.Graph().as_default():
    net = nets.MLP([4, 3])
    net(tf.ones([2, 3]))
    with pytest.raises(snt.IncompatibleShapeError):
      net(tf.ones([2, 5]))


def test_snt_nets_namespace():
  names = ["AlexNet", "AlexNetFull", "AlexNetMini", "ConvNet2D",
           "ConvNet2DTranspose", "Dilation", "identity_kernel_initializer",
           "noisy_identity_kernel_initializer", "MLP", "VectorQuantizer",
           "VectorQuantizerEMA", "CompressiveTransformer", "future_mask",
           "TransformerTower", "TransformerXL"]
  for name in names:
    assert getattr(snt.nets, name) is getattr(nets, name)
  assert snt.nets.transformer.TransformerXL is snt.nets.TransformerXL
  assert snt.nets.MLP.__module__ == "sonnet.python.modules.nets.mlp"
  # The DNC (dnc.md) lives in snt.nets too.
  assert snt.nets.DNC is snt.nets.dnc.DNC
  assert snt.parse_string_to_constructor("snt.nets.ConvNet2D") is (
      nets.ConvNet2D)
