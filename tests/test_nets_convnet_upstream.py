"""ConvNet2D / ConvNet2DTranspose exercised the way Sonnet 1's convnet_test.py did.

Small spatial sizes keep the suite fast; the calls, properties, errors and
variable counts follow the upstream tests.
"""

import functools

from absl.testing import parameterized
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf
from tensorflow.python.ops import variables

_SIZE = 8
_MODULES = (
    ("ConvNet2D", snt.nets.ConvNet2D),
    ("ConvNet2DTranspose",
     functools.partial(snt.nets.ConvNet2DTranspose,
                       output_shapes=[[_SIZE, _SIZE]])))


def _l1(scale):
  return lambda x: tf.multiply(scale, tf.reduce_sum(tf.abs(x)),
                               name="l1_regularizer")


def _l2(scale):
  return lambda x: tf.multiply(scale, tf.nn.l2_loss(x), name="l2_regularizer")


class SharedConvNetUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def setUp(self):
    super(SharedConvNetUpstreamTest, self).setUp()
    self.output_channels = [2, 3, 4]
    self.kernel_shapes = [[3, 3]]
    self.strides = [1]
    self.paddings = [snt.SAME]

  def _kwargs(self, **overrides):
    kwargs = dict(output_channels=self.output_channels,
                  kernel_shapes=self.kernel_shapes, strides=self.strides,
                  paddings=self.paddings)
    kwargs.update(overrides)
    return kwargs

  def _input(self):
    return tf.random_normal(dtype=tf.float32, shape=(1, _SIZE, _SIZE, 3))

  @parameterized.named_parameters(*_MODULES)
  def testName(self, module):
    with tf.variable_scope("scope"):
      net = module(name="unique_name", **self._kwargs())
    self.assertEqual(net.scope_name, "scope/unique_name")
    self.assertEqual(net.module_name, "unique_name")

  @parameterized.named_parameters(*_MODULES)
  def testConstructor(self, module):
    with self.assertRaisesRegexp(ValueError,
                                 "output_channels must not be empty"):
      module(**self._kwargs(output_channels=[]))
    for arg in ("kernel_shapes", "strides", "paddings"):
      with self.assertRaisesRegexp(
          ValueError,
          arg + r" must be of length 1 or len\(output_channels\)"):
        module(**self._kwargs(**{arg: []}))
      with self.assertRaisesRegexp(
          ValueError,
          arg + r" must be of length 1 or len\(output_channels\)"):
        module(**self._kwargs(**{arg: [1, 2]}))
      with self.assertRaisesRegexp(TypeError, arg + " must be iterable"):
        module(**self._kwargs(**{arg: None}))
    with self.assertRaisesRegexp(TypeError, "output_channels must be iterable"):
      module(**self._kwargs(output_channels=42))
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      module(**self._kwargs(
          initializers={"not_w": tf.truncated_normal_initializer()}))
    with self.assertRaisesRegexp(
        TypeError,
        "Initializer for 'w' is not a callable function or dictionary"):
      module(**self._kwargs(initializers={"w": tf.zeros([1, 2, 3])}))
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      module(**self._kwargs(regularizers={"not_w": _l1(0.5)}))
    with self.assertRaisesRegexp(
        TypeError,
        "Regularizer for 'w' is not a callable function or dictionary"):
      module(**self._kwargs(regularizers={"w": tf.zeros([1, 2, 3])}))
    with self.assertRaisesRegexp(KeyError, "Invalid partitioner keys.*"):
      module(**self._kwargs(
          partitioners={"not_w": tf.fixed_size_partitioner(2)}))
    with self.assertRaisesRegexp(TypeError,
                                 "Input 'activation' must be callable"):
      module(**self._kwargs(activation="not_a_function"))
    with self.assertRaisesRegexp(TypeError, "use_batch_norm must be a boolean"):
      module(**self._kwargs(use_batch_norm=[True, False, True]))
    with self.assertRaisesRegexp(ValueError, "Invalid data_format"):
      module(**self._kwargs(data_format="NDHWC"))

  @parameterized.named_parameters(*_MODULES)
  def testBatchNormBuildFlag(self, module):
    model = module(use_batch_norm=True, **self._kwargs())
    self.assertTrue(model.use_batch_norm)
    self.assertIs(model.normalization_ctor, snt.BatchNorm)
    input_to_net = self._input()
    with self.assertRaisesRegexp(
        ValueError, "is_training flag must be explicitly specified"):
      model(input_to_net)
    model(input_to_net, is_training=tf.constant(False),
          test_local_stats=tf.constant(False))
    model(input_to_net, is_training=False, test_local_stats=False)
    model_variables = model.get_variables()
    self.assertLen(model_variables, len(self.output_channels) * 3 - 1)

  @parameterized.named_parameters(*_MODULES)
  def testBatchNormConfig(self, module):
    model = module(use_batch_norm=True, batch_norm_config={"scale": True},
                   **self._kwargs())
    self.assertEqual(model.batch_norm_config, {"scale": True})
    model(self._input(), is_training=True)
    self.assertLen(model.get_variables(), len(self.output_channels) * 4 - 2)

  @parameterized.named_parameters(*_MODULES)
  def testNormalizationCtorVariants(self, module):
    model = module(normalization_ctor=snt.BatchNorm,
                   normalization_kwargs={"scale": True}, normalize_final=True,
                   **self._kwargs())
    model(self._input(), is_training=True, test_local_stats=False)
    self.assertLen(model.get_variables(), len(self.output_channels) * 4)
    model = module(normalization_ctor="snt.LayerNorm", normalize_final=False,
                   **self._kwargs())
    self.assertIs(model.normalization_ctor, snt.LayerNorm)
    model(self._input())
    with self.assertRaisesRegexp(ValueError, "normalization_ctor"):
      module(use_batch_norm=True, normalization_ctor=snt.BatchNorm,
             **self._kwargs())

  @parameterized.named_parameters(*_MODULES)
  def testNoBias(self, module):
    model = module(use_bias=False, **self._kwargs())
    self.assertEqual(model.use_bias, (False,) * len(self.output_channels))
    model(tf.placeholder(tf.float32, shape=(1, _SIZE, _SIZE, 3)))
    self.assertLen(model.get_variables(), len(self.output_channels))

  @parameterized.named_parameters(*_MODULES)
  def testNoBiasIterable(self, module):
    use_bias = (True,) * (len(self.output_channels) - 1) + (False,)
    model = module(use_bias=use_bias, **self._kwargs())
    actual_use_biases = tuple(layer.has_bias for layer in model.layers)
    self.assertEqual(model.use_bias, actual_use_biases)
    self.assertEqual(use_bias, actual_use_biases)
    model_transpose = model.transpose()
    actual_use_biases = tuple(layer.has_bias
                              for layer in model_transpose.layers)
    self.assertEqual(model_transpose.use_bias, actual_use_biases)
    self.assertEqual(tuple(reversed(use_bias)), actual_use_biases)

  @parameterized.named_parameters(
      ("ConvNet2DNoBias", _MODULES[0][1], False),
      ("ConvNet2DBias", _MODULES[0][1], True),
      ("ConvNet2DTransposeNoBias", _MODULES[1][1], False),
      ("ConvNet2DTransposeBias", _MODULES[1][1], True))
  def testRegularizersInRegularizationLosses(self, module, use_bias):
    regularizers = {"w": _l1(0.5)}
    if use_bias:
      regularizers["b"] = _l2(0.5)
    model = module(use_bias=use_bias, regularizers=regularizers,
                   **self._kwargs())
    model(self._input())
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    self.assertLen(losses, 3 * (2 if use_bias else 1))
    self.assertRegexpMatches(losses[0].name, ".*l1_regularizer.*")
    if use_bias:
      self.assertRegexpMatches(losses[1].name, ".*l2_regularizer.*")

  @parameterized.named_parameters(*_MODULES)
  def testPartitioners(self, module):
    partitioners = {"w": tf.variable_axis_size_partitioner(10),
                    "b": tf.variable_axis_size_partitioner(8)}
    model = module(partitioners=partitioners, **self._kwargs())
    model(tf.placeholder(tf.float32, (1, _SIZE, _SIZE, 3)))
    for layer in model.layers:
      self.assertEqual(type(layer.w), variables.PartitionedVariable)
      self.assertEqual(type(layer.b), variables.PartitionedVariable)

  @parameterized.named_parameters(*_MODULES)
  def testCustomGetter(self, module):
    custom_getter = snt.custom_getters.Context(
        snt.custom_getters.stop_gradient)
    model = module(custom_getter=custom_getter, **self._kwargs())
    input_to_net = self._input()
    with custom_getter:
      output = model(input_to_net)
    grads = tf.gradients(tf.reduce_sum(output), model.get_variables())
    self.assertEqual(grads, [None] * len(grads))
    output = model(input_to_net)
    grads = tf.gradients(tf.reduce_sum(output), model.get_variables())
    for grad in grads:
      self.assertIsNotNone(grad)

  @parameterized.named_parameters(*_MODULES)
  def testInitializers(self, module):
    model = module(initializers={"w": tf.constant_initializer(1.5),
                                 "b": tf.constant_initializer(2.5)},
                   **self._kwargs())
    model(self._input())
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      for layer in model.layers:
        w, b = sess.run([layer.w, layer.b])
        self.assertAllEqual(np.full_like(w, 1.5), w)
        self.assertAllEqual(np.full_like(b, 2.5), b)

  @parameterized.named_parameters(*_MODULES)
  def testProperties(self, module):
    model = module(activate_final=True, normalize_final=True,
                   **self._kwargs())
    self.assertEqual(model.output_channels, tuple(self.output_channels))
    self.assertEqual(model.kernel_shapes, ([3, 3],) * 3)
    self.assertEqual(model.strides, (1,) * 3)
    self.assertEqual(model.paddings, (snt.SAME,) * 3)
    self.assertIs(model.activation, tf.nn.relu)
    self.assertTrue(model.activate_final)
    self.assertTrue(model.normalize_final)
    self.assertIsNone(model.normalization_ctor)
    self.assertEqual(model.normalization_kwargs, {})
    self.assertFalse(model.use_batch_norm)
    self.assertLen(model.layers, 3)
    with self.assertRaises(snt.NotConnectedError):
      _ = model.input_shape
    model(self._input())
    self.assertEqual(model.input_shape, (1, _SIZE, _SIZE, 3))


class ConvNet2DUpstreamTest(parameterized.TestCase, tf.test.TestCase):

  def testTranspose(self):
    with tf.variable_scope("scope1"):
      net = snt.nets.ConvNet2D(name="conv_net_2d", output_channels=[2, 3, 4],
                               kernel_shapes=[[3, 3]], strides=[1, 2, 1],
                               paddings=[snt.SAME])
    with tf.variable_scope("scope2"):
      net_transpose = net.transpose()
    self.assertEqual("scope1/conv_net_2d", net.scope_name)
    self.assertEqual("conv_net_2d", net.module_name)
    self.assertEqual("scope2/conv_net_2d_transpose",
                     net_transpose.scope_name)
    self.assertEqual("conv_net_2d_transpose", net_transpose.module_name)

    input_shape = [2, _SIZE, _SIZE, 3]
    input_to_net = tf.placeholder(tf.float32, shape=input_shape)
    # Output shapes and channels of the transpose are read lazily from the
    # original network, which must be connected first.
    with self.assertRaisesRegexp(
        snt.Error, "Variables in {} not instantiated yet, __call__ the "
        "module first.".format(net.layers[-1].scope_name)):
      net_transpose(input_to_net)
    net_transpose = net.transpose(name="another_net_transpose")
    net_out = net(input_to_net, is_training=True)
    self.assertEqual(net.input_shape, tuple(input_shape))
    net_transposed_output = net_transpose(net_out)
    self.assertEqual(net_transposed_output.get_shape(),
                     input_to_net.get_shape())
    for i in range(len(net.layers)):
      self.assertEqual(net_transpose.layers[i].output_shape,
                       net.layers[-1 - i].input_shape[1:-1])
      self.assertEqual(net_transpose.layers[i].output_channels,
                       net.layers[-1 - i].input_shape[-1])
    self.assertEqual(net_transpose.strides, (1, 2, 1))
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      out = sess.run(net_transposed_output,
                     {input_to_net: np.random.rand(*input_shape)})
    self.assertEqual(out.shape, tuple(input_shape))

  def testTransposeOfTransposeAndBatchNorm(self):
    net = snt.nets.ConvNet2D(output_channels=[2, 3], kernel_shapes=[3],
                             strides=[1], paddings=[snt.SAME],
                             use_batch_norm=True)
    net_t = net.transpose()
    self.assertIs(net_t.normalization_ctor, snt.BatchNorm)
    inputs = tf.placeholder(tf.float32, [1, _SIZE, _SIZE, 3])
    net_t(net(inputs, is_training=True), is_training=True)
    net_tt = net_t.transpose(use_batch_norm=False)
    self.assertIsInstance(net_tt, snt.nets.ConvNet2D)
    self.assertIsNone(net_tt.normalization_ctor)
    net_tt2 = net_t.transpose(use_batch_norm=True,
                              batch_norm_config={"scale": True})
    self.assertIs(net_tt2.normalization_ctor, snt.BatchNorm)
    self.assertEqual(net_tt2.normalization_kwargs, {"scale": True})
    with self.assertRaisesRegexp(ValueError, "use_batch_norm"):
      net_t.transpose(use_batch_norm=True, normalization_ctor=snt.LayerNorm)
    out = net_tt2(net_t(net(inputs, is_training=True), is_training=True),
                  is_training=True)
    self.assertEqual(out.get_shape().as_list(), [1, _SIZE, _SIZE, 3])

  def testTransposeErrors(self):
    net = snt.nets.ConvNet2D(output_channels=[2, 3], kernel_shapes=[3],
                             strides=[1], paddings=[snt.SAME], rates=[1, 2])
    self.assertEqual(net.rates, (1, 2))
    with self.assertRaisesRegexp(NotImplementedError,
                                 "Transpose dilated convolutions"):
      net.transpose()
    net = snt.nets.ConvNet2D(output_channels=[2, 3], kernel_shapes=[3],
                             strides=[1], paddings=[snt.SAME])
    with self.assertRaisesRegexp(ValueError, "output_channels"):
      net.transpose(output_channels=[1, 2, 3])
    with self.assertRaisesRegexp(ValueError, "Invalid data_format"):
      net.transpose(data_format="NCW")
    with self.assertRaisesRegexp(ValueError, r"rates must be of length 1 or "
                                 r"len\(output_channels\)"):
      snt.nets.ConvNet2D(output_channels=[2, 3], kernel_shapes=[3],
                         strides=[1], paddings=[snt.SAME], rates=[1, 2, 1])

  def testConvNet2DTransposeOutputShapesErrors(self):
    with self.assertRaisesRegexp(TypeError, "output_shapes must be iterable"):
      snt.nets.ConvNet2DTranspose(output_channels=[2], output_shapes=None,
                                  kernel_shapes=[3], strides=[1],
                                  paddings=[snt.SAME])
    with self.assertRaisesRegexp(
        ValueError,
        r"output_shapes must be of length 1 or len\(output_channels\)"):
      snt.nets.ConvNet2DTranspose(output_channels=[2, 3, 4],
                                  output_shapes=[[4, 4], [8, 8]],
                                  kernel_shapes=[3], strides=[1],
                                  paddings=[snt.SAME])
    net = snt.nets.ConvNet2DTranspose(output_channels=[2, 3],
                                      output_shapes=[lambda: (4, 4), (8, 8)],
                                      kernel_shapes=[3], strides=[1, 2],
                                      paddings=[snt.SAME])
    self.assertEqual(net.output_shapes, ((4, 4), (8, 8)))
    out = net(tf.placeholder(tf.float32, [1, 4, 4, 5]))
    self.assertEqual(out.get_shape().as_list(), [1, 8, 8, 3])

  def testVariableNames(self):
    net = snt.nets.ConvNet2D(output_channels=[2, 3], kernel_shapes=[3],
                             strides=[1], paddings=[snt.SAME],
                             use_batch_norm=True, name="net")
    net(tf.placeholder(tf.float32, [1, _SIZE, _SIZE, 3]), is_training=True)
    names = sorted(v.op.name for v in tf.global_variables())
    self.assertEqual(names, [
        "net/batch_norm_0/beta", "net/batch_norm_0/moving_mean",
        "net/batch_norm_0/moving_variance", "net/conv_2d_0/b",
        "net/conv_2d_0/w", "net/conv_2d_1/b", "net/conv_2d_1/w"])

  def testUseInSequentialWithSharing(self):
    net = snt.nets.ConvNet2D(output_channels=[2, 2], kernel_shapes=[3],
                             strides=[1], paddings=[snt.VALID],
                             activate_final=True, normalize_final=False)
    inputs = tf.placeholder(tf.float32, [None, 6, 6, 1])
    out1 = net(inputs)
    out2 = net(inputs)
    self.assertEqual(out1.get_shape().as_list(), [None, 2, 2, 2])
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      data = np.random.rand(3, 6, 6, 1)
      v1, v2 = sess.run([out1, out2], {inputs: data})
    self.assertAllClose(v1, v2)
    self.assertTrue(np.all(v1 >= 0))


if __name__ == "__main__":
  tf.test.main()
