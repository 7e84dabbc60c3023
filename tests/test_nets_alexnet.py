"""Tests for snt.nets.AlexNet, AlexNetFull and AlexNetMini."""

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.modules import basic
from sonnet.python.modules import conv
from sonnet.python.modules import nets
import tensorflow.compat.v1 as tf

MINI_CONV_SHAPES = [[3, 3, 3, 48], [3, 3, 48, 128], [3, 3, 128, 192],
                    [3, 3, 192, 192], [3, 3, 192, 128]]


def test_constants_and_min_size():
  with tf.Graph().as_default():
    assert nets.AlexNet.FULL == "FULL"
    assert nets.AlexNet.MINI == "MINI"
    assert nets.AlexNet.POSSIBLE_INITIALIZER_KEYS == {"w", "b"}
    full = nets.AlexNet(nets.AlexNet.FULL)
    mini = nets.AlexNet(nets.AlexNet.MINI)
    assert full.min_input_size == 195
    assert mini.min_input_size == 17
    assert full._min_size == 195
    assert mini._calc_min_size([(None, (3, 1), None)]) == 3
    assert mini._calc_min_size([(None, (3, 1), (3, 2))]) == 5
    assert mini._calc_min_size([(None, (11, 4), None)]) == 11
    two_convs = [(None, (3, 1), None), (None, (3, 1), None)]
    assert mini._calc_min_size(two_convs) == 5


def test_bad_mode_and_dicts():
  with tf.Graph().as_default():
    with pytest.raises(snt.Error, match="not recognised"):
      nets.AlexNet("MEDIUM")
    with pytest.raises(KeyError):
      nets.AlexNetMini(initializers={"gamma": tf.ones_initializer()})
    with pytest.raises(TypeError):
      nets.AlexNetMini(partitioners={"w": 3})
    with pytest.raises(TypeError):
      nets.AlexNetMini(regularizers={"w": 3})


def test_names_and_modes():
  with tf.Graph().as_default():
    full = nets.AlexNetFull()
    mini = nets.AlexNetMini()
    assert full.module_name == "alex_net_full"
    assert mini.module_name == "alex_net_mini"
    assert full.min_input_size == 195
    assert mini.min_input_size == 17
    assert nets.AlexNet(nets.AlexNet.MINI).module_name == "alex_net"


def test_mini_variables_shapes_and_output():
  with tf.Graph().as_default():
    net = nets.AlexNetMini()
    with pytest.raises(snt.NotConnectedError):
      _ = net.conv_modules
    with pytest.raises(snt.NotConnectedError):
      _ = net.linear_modules
    x = tf.placeholder(tf.float32, [None, 17, 19, 3])
    y = net(x)
    assert y.get_shape().as_list() == [None, 1024]
    variables = [(v.op.name, v.get_shape().as_list())
                 for v in net.get_variables()]
    expected = []
    for i, shape in enumerate(MINI_CONV_SHAPES):
      expected.append(("alex_net_mini/conv_{}/w".format(i), shape))
      expected.append(("alex_net_mini/conv_{}/b".format(i), [shape[-1]]))
    # 17x19 input: spatial 1x3 after the convolutions and poolings.
    expected += [("alex_net_mini/fc_0/w", [128 * 3, 1024]),
                 ("alex_net_mini/fc_0/b", [1024]),
                 ("alex_net_mini/fc_1/w", [1024, 1024]),
                 ("alex_net_mini/fc_1/b", [1024])]
    assert variables == expected
    assert len(net.conv_modules) == 5
    assert all(isinstance(m, conv.Conv2D) for m in net.conv_modules)
    assert len(net.linear_modules) == 2
    assert all(isinstance(m, basic.Linear) for m in net.linear_modules)
    assert all(m.padding == "VALID" for m in net.conv_modules)
    # A second connection reuses the variables and keeps the first modules.
    first_modules = list(net.conv_modules)
    net(tf.ones([2, 17, 19, 3]))
    assert net.conv_modules == first_modules
    assert len(net.get_variables()) == len(expected)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(y, {x: np.random.rand(2, 17, 19, 3)})
    assert out.shape == (2, 1024)
    assert (out >= 0).all()


def test_full_output_shape():
  with tf.Graph().as_default():
    net = nets.AlexNetFull()
    y = net(tf.placeholder(tf.float32, [1, 195, 200, 3]))
    assert y.get_shape().as_list() == [1, 4096]
    shapes = [v.get_shape().as_list() for v in net.get_variables()]
    assert shapes[0] == [11, 11, 3, 96]
    assert shapes[-2] == [4096, 4096]


def test_too_small_or_bad_inputs():
  with tf.Graph().as_default():
    net = nets.AlexNetMini()
    with pytest.raises(snt.IncompatibleShapeError, match="too small"):
      net(tf.ones([1, 16, 20, 3]))
    with pytest.raises(snt.IncompatibleShapeError, match="too small"):
      net(tf.ones([1, 20, 16, 3]))
    with pytest.raises(snt.IncompatibleShapeError):
      net(tf.placeholder(tf.float32, [1, None, 20, 3]))
    with pytest.raises(snt.IncompatibleShapeError):
      net(tf.ones([20, 20, 3]))


def test_is_training_required():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="is_training"):
      nets.AlexNetMini(use_batch_norm=True)(tf.ones([1, 17, 17, 3]))
    with pytest.raises(ValueError, match="is_training"):
      nets.AlexNetMini()(tf.ones([1, 17, 17, 3]), keep_prob=0.5)


def test_keep_prob_runtime_check_and_dropout():
  with tf.Graph().as_default():
    net = nets.AlexNetMini(initializers={"w": tf.ones_initializer(),
                                         "b": tf.ones_initializer()})
    is_training = tf.placeholder(tf.bool, [])
    keep_prob = tf.placeholder(tf.float32, [])
    y = net(tf.ones([2, 17, 17, 3]) * 1e-4, keep_prob=keep_prob,
            is_training=is_training)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      with pytest.raises(tf.errors.InvalidArgumentError, match="keep_prob"):
        sess.run(y, {is_training: False, keep_prob: 0.5})
      eval_out = sess.run(y, {is_training: False, keep_prob: 1.0})
      train_out = sess.run(y, {is_training: True, keep_prob: 0.5})
    assert (eval_out > 0).all()
    dropped = np.mean(train_out == 0)
    assert 0.3 < dropped < 0.7


def test_batch_norm():
  with tf.Graph().as_default():
    net = nets.AlexNetMini(use_batch_norm=True,
                           batch_norm_config={"scale": True})
    net(tf.ones([2, 17, 17, 3]), is_training=True, test_local_stats=False)
    names = [v.op.name for v in net.get_variables(
        tf.GraphKeys.GLOBAL_VARIABLES)]
    # One BatchNorm per conv layer; none on the FC layers (AlexNetMini).
    bn_scopes = sorted({n.split("/")[1] for n in names if "batch_norm" in n})
    assert bn_scopes == ["batch_norm", "batch_norm_1", "batch_norm_2",
                         "batch_norm_3", "batch_norm_4"]
    assert "alex_net_mini/batch_norm/gamma" in names
  with tf.Graph().as_default():
    net = nets.AlexNet(nets.AlexNet.MINI, use_batch_norm=True)
    net(tf.ones([2, 17, 17, 3]), is_training=False)
    names = [v.op.name for v in net.get_variables(
        tf.GraphKeys.GLOBAL_VARIABLES)]
    bn_scopes = {n.split("/")[1] for n in names if "batch_norm" in n}
    assert len(bn_scopes) == 7  # bn_on_fc_layers defaults to True.


def test_initializers_partitioners_regularizers():
  with tf.Graph().as_default():
    net = nets.AlexNetMini(
        initializers={"b": tf.ones_initializer()},
        partitioners={"w": tf.fixed_size_partitioner(2)},
        regularizers={"w": tf.nn.l2_loss})
    net(tf.ones([1, 17, 17, 3]))
    # Regularizers apply to the 5 convolutions (2 partitions each) only.
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 10
    names = [v.op.name for v in net.get_variables()]
    assert "alex_net_mini/fc_0/w/part_1" in names
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      b = sess.run(net.linear_modules[0].b)
    np.testing.assert_array_equal(b, 1.0)
