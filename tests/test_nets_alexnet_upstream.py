"""AlexNet exercised the way Sonnet 1's alexnet_test.py did (MINI sizes)."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables

# (AlexNetFull has the same code path with 195x195 inputs: too slow here.)
_MINI = (("AlexNetMini", snt.nets.AlexNetMini),)


def _l1(scale):
  return lambda x: tf.multiply(scale, tf.reduce_sum(tf.abs(x)),
                               name="l1_regularizer")


def _l2(scale):
  return lambda x: tf.multiply(scale, tf.nn.l2_loss(x), name="l2_regularizer")


class AlexNetUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def testCalcMinSize(self):
    net = snt.nets.AlexNetMini()
    self.assertEqual(net._calc_min_size([(None, (3, 1), None)]), 3)
    self.assertEqual(net._calc_min_size([(None, (3, 1), (3, 2))]), 5)
    self.assertEqual(net._calc_min_size([(None, (3, 1), (3, 2)),
                                         (None, (3, 2), (5, 2))]), 25)
    self.assertEqual(net.min_input_size, 17)
    self.assertEqual(net._min_size, 17)
    self.assertEqual(snt.nets.AlexNetFull().min_input_size, 195)

  def testNamesAndModes(self):
    self.assertEqual(snt.nets.AlexNetMini().module_name, "alex_net_mini")
    self.assertEqual(snt.nets.AlexNetFull().module_name, "alex_net_full")
    self.assertEqual(snt.nets.AlexNet(mode="FULL").module_name, "alex_net")
    self.assertEqual(snt.nets.AlexNet.FULL, "FULL")
    self.assertEqual(snt.nets.AlexNet.MINI, "MINI")
    with self.assertRaisesRegexp(
        snt.Error, "AlexNet construction mode 'BLAH' not recognised, must be "
        "one of: 'FULL', 'MINI'"):
      snt.nets.AlexNet(mode="BLAH")

  @parameterized.named_parameters(*_MINI)
  def testInvalidInitializationParameters(self, module):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      module(initializers={"not_w": tf.truncated_normal_initializer()})
    with self.assertRaisesRegexp(
        TypeError, "Initializer for 'w' is not a callable function"):
      module(initializers={"w": tf.zeros([1, 2, 3])})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      module(regularizers={"not_w": _l1(0.5)})
    with self.assertRaisesRegexp(
        TypeError, "Regularizer for 'w' is not a callable function"):
      module(regularizers={"w": tf.zeros([1, 2, 3])})
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      module(partitioners={"not_w": tf.fixed_size_partitioner(2)})

  @parameterized.named_parameters(*_MINI)
  def testBatchNorm(self, module):
    model = module(use_batch_norm=True)
    input_to_net = tf.placeholder(tf.float32, (None, 17, 17, 3))
    with self.assertRaisesRegexp(ValueError, "is_training"):
      model(input_to_net)
    model(input_to_net, is_training=tf.placeholder(tf.bool),
          test_local_stats=tf.placeholder(tf.bool))
    model(input_to_net, is_training=False, test_local_stats=False)
    # 5 conv layers (w, b, beta) and 2 linear layers (w, b): no batch norm on
    # the fully connected layers for the Mini/Full constructors.
    self.assertLen(model.get_variables(), 5 * 3 + 2 * 2)
    moving = tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES)
    self.assertLen(moving, 5 * 2)
    for v in moving:
      self.assertIn("batch_norm", v.name)

  def testBatchNormOnFcLayers(self):
    model = snt.nets.AlexNet(mode=snt.nets.AlexNet.MINI, use_batch_norm=True,
                             batch_norm_config={"scale": True})
    model(tf.placeholder(tf.float32, (None, 17, 17, 3)), is_training=True)
    self.assertLen(model.get_variables(), 7 * 4)

  @parameterized.named_parameters(*_MINI)
  def testBatchNormConfig(self, module):
    model = module(use_batch_norm=True, batch_norm_config={"scale": True})
    model(tf.placeholder(tf.float32, (None, 17, 17, 3)), is_training=True)
    self.assertLen(model.get_variables(), 5 * 4 + 2 * 2)

  @parameterized.named_parameters(*_MINI)
  def testNoDropoutInTesting(self, module):
    model = module()
    inputs = tf.placeholder(tf.float32, shape=[None, 17, 17, 3])
    is_training = tf.placeholder(tf.bool)
    keep_prob = tf.placeholder(tf.float32)
    net = model(inputs, keep_prob, is_training=is_training)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      data = np.random.rand(2, 17, 17, 3)
      with self.assertRaisesRegexp(tf.errors.InvalidArgumentError,
                                   "keep_prob"):
        sess.run(net, {inputs: data, keep_prob: 0.7, is_training: False})
      out_a, out_b = [sess.run(net, {inputs: data, keep_prob: 1.0,
                                     is_training: False}) for _ in range(2)]
      self.assertAllClose(out_a, out_b)
      sess.run(net, {inputs: data, keep_prob: 0.5, is_training: True})

  @parameterized.named_parameters(*_MINI)
  def testInputTooSmall(self, module):
    model = module()
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 r"Image shape too small: \(16, 16\) < 17"):
      model(tf.placeholder(tf.float32, [None, 16, 16, 3]))

  @parameterized.named_parameters(*_MINI)
  def testSharing(self, module):
    model = module()
    inputs1 = tf.placeholder(tf.float32, [None, 17, 17, 3])
    inputs2 = tf.placeholder(tf.float32, [None, 17, 17, 3])
    out1 = model(inputs1)
    out2 = model(inputs2)
    self.assertEqual(out1.get_shape().as_list(), [None, 1024])
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      data = np.random.rand(2, 17, 17, 3)
      v1, v2 = sess.run([out1, out2], {inputs1: data, inputs2: data})
    self.assertAllClose(v1, v2)

  @parameterized.named_parameters(*_MINI)
  def testRegularizers(self, module):
    model = module(regularizers={"w": _l1(0.5), "b": _l2(0.5)},
                   name="alexnet1")
    model(tf.ones(dtype=tf.float32, shape=[1, 17, 17, 3]))
    graph_regularizers = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    # Only the conv layers are regularized (upstream passes none to the fc
    # layers).
    self.assertLen(graph_regularizers, 2 * 5)
    for i in range(0, 2 * 5, 2):
      self.assertRegexpMatches(graph_regularizers[i].name,
                               ".*l1_regularizer.*")
      self.assertRegexpMatches(graph_regularizers[i + 1].name,
                               ".*l2_regularizer.*")

  @parameterized.named_parameters(*_MINI)
  def testPartitioners(self, module):
    partitioners = {"w": tf.fixed_size_partitioner(num_shards=2),
                    "b": tf.fixed_size_partitioner(num_shards=2)}
    model = module(partitioners=partitioners, name="alexnet1")
    model(tf.placeholder(tf.float32, [None, 17, 17, 3]))
    for conv_module in model.conv_modules:
      self.assertEqual(type(conv_module.w), variables.PartitionedVariable)
      self.assertEqual(type(conv_module.b), variables.PartitionedVariable)
    for linear_module in model.linear_modules:
      self.assertEqual(type(linear_module.w), variables.PartitionedVariable)
      self.assertEqual(type(linear_module.b), variables.PartitionedVariable)

  def testModulesAndVariableNames(self):
    model = snt.nets.AlexNetMini()
    with self.assertRaises(snt.NotConnectedError):
      _ = model.conv_modules
    with self.assertRaises(snt.NotConnectedError):
      _ = model.linear_modules
    model(tf.ones(dtype=tf.float32, shape=[1, 17, 17, 3]))
    model(tf.ones(dtype=tf.float32, shape=[2, 17, 17, 3]))
    self.assertLen(model.conv_modules, 5)
    self.assertLen(model.linear_modules, 2)
    for mod in model.linear_modules:
      self.assertEqual(mod.output_size, 1024)
    self.assertEqual([m.output_channels for m in model.conv_modules],
                     [48, 128, 192, 192, 128])
    names = sorted(v.op.name for v in model.get_variables())
    self.assertEqual(names[:2], ["alex_net_mini/conv_0/b",
                                 "alex_net_mini/conv_0/w"])
    self.assertIn("alex_net_mini/fc_1/w", names)
    self.assertLen(names, 14)

  def testCustomGetterUsed(self):
    const = 42.

    def set_to_const(getter, *args, **kwargs):
      variable = getter(*args, **kwargs)
      return 0.0 * variable + const

    model = snt.nets.AlexNetMini(custom_getter=set_to_const)
    model(tf.ones(dtype=tf.float32, shape=[1, 17, 17, 3]))
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      for module in model.conv_modules + model.linear_modules:
        var_w, var_b = sess.run([module.w, module.b])
        self.assertAllClose(var_w, np.zeros_like(var_w) + const)
        self.assertAllClose(var_b, np.zeros_like(var_b) + const)


if __name__ == "__main__":
  tf.test.main()
