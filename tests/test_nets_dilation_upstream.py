"""snt.nets.Dilation exercised the way Sonnet 1's dilation_test.py did."""

import numpy as np
import sonnet as snt
from sonnet.python.modules.nets import dilation
import tensorflow.compat.v1 as tf


def _l1(scale):
  return lambda x: tf.multiply(scale, tf.reduce_sum(tf.abs(x)),
                               name="l1_regularizer")


def _l2(scale):
  return lambda x: tf.multiply(scale, tf.nn.l2_loss(x), name="l2_regularizer")


class DilationUpstreamTest(tf.test.TestCase):

  def setUpWithNumOutputClasses(self, num_output_classes, depth=None):
    self._num_output_classes = num_output_classes
    self._model_size = "basic"
    self._batch_size = 2
    self._height = self._width = 5
    self._depth = depth or num_output_classes
    rng = np.random.RandomState(0)
    self._images = np.abs(rng.randn(self._batch_size, self._height,
                                    self._width, self._depth)
                          .astype(np.float32))

  def testShapeInference(self):
    self.setUpWithNumOutputClasses(1)
    module = snt.nets.Dilation(num_output_classes=self._num_output_classes)
    x = module(tf.placeholder(tf.float32, [self._batch_size, self._height,
                                           self._width, self._depth]))
    self.assertTrue(x.get_shape().is_compatible_with(
        [self._batch_size, self._height, self._width,
         self._num_output_classes]))

  def testBasicComputation(self):
    self.setUpWithNumOutputClasses(2)
    module = snt.nets.Dilation(num_output_classes=self._num_output_classes,
                               model_size=self._model_size)
    x = module(tf.convert_to_tensor(self._images))
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      # Default initialization gives the identity.
      self.assertAllClose(sess.run(x), self._images, atol=1e-6)

  def testLargeComputation(self):
    self.setUpWithNumOutputClasses(1, depth=3)
    module = snt.nets.Dilation(num_output_classes=self._num_output_classes,
                               model_size="large")
    x = module(tf.convert_to_tensor(self._images))
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      x_ = sess.run(x)
    # With one base channel the large model starts as the channel sum.
    self.assertAllClose(x_, np.sum(self._images, axis=3, keepdims=True),
                        atol=1e-4)
    names = sorted(v.op.name for v in module.get_variables())
    self.assertLen(names, 16)
    self.assertIn("dilation/dilated_conv_conv1/w", names)
    self.assertEqual(
        [m.get_shape().as_list() for m in module.get_variables()
         if m.op.name == "dilation/dilated_conv_conv6/w"], [[3, 3, 16, 32]])

  def testInvalidShape(self):
    self.setUpWithNumOutputClasses(1)
    module = snt.nets.Dilation(num_output_classes=self._num_output_classes)
    with self.assertRaisesRegexp(snt.IncompatibleShapeError,
                                 "must have shape"):
      module(tf.placeholder(tf.float32, [5, 5, 1]))

  def testInvalidModelSize(self):
    module = snt.nets.Dilation(num_output_classes=1,
                               model_size="invalid_model_size")
    with self.assertRaisesRegexp(ValueError, "Unrecognized model_size"):
      module(tf.placeholder(tf.float32, [1, 5, 5, 1]))
    module = snt.nets.Dilation(num_output_classes=1,
                               model_size="invalid_model_size",
                               initializers={"w": tf.zeros_initializer()})
    with self.assertRaisesRegexp(ValueError, "Unrecognized model_size"):
      module(tf.placeholder(tf.float32, [1, 5, 5, 1]))

  def testProperties(self):
    self.setUpWithNumOutputClasses(1)
    module = snt.nets.Dilation(num_output_classes=self._num_output_classes)
    with self.assertRaises(snt.NotConnectedError):
      _ = module.conv_modules
    module(tf.placeholder(tf.float32, [self._batch_size, self._height,
                                       self._width, self._depth]))
    self.assertEqual(type(module.conv_modules), list)
    self.assertLen(module.conv_modules, 8)
    self.assertEqual(module.conv_modules[0].module_name, "conv1")

  def testRegularizersInRegularizationLosses(self):
    self.setUpWithNumOutputClasses(1)
    dilation_mod = snt.nets.Dilation(
        num_output_classes=self._num_output_classes,
        regularizers={"w": _l1(0.5), "b": _l2(0.5)})
    dilation_mod(tf.convert_to_tensor(self._images))
    regularizers = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    layers_number = 8
    self.assertLen(regularizers, 2 * layers_number)
    for i in range(0, 2 * layers_number, 2):
      self.assertRegexpMatches(regularizers[i].name, ".*l1_regularizer.*")
      self.assertRegexpMatches(regularizers[i + 1].name, ".*l2_regularizer.*")

  def testInvalidKeys(self):
    with self.assertRaisesRegexp(KeyError, "Invalid initializer keys.*"):
      snt.nets.Dilation(1, initializers={"not_w": tf.zeros_initializer()})
    with self.assertRaisesRegexp(KeyError, "Invalid regularizer keys.*"):
      snt.nets.Dilation(1, regularizers={"not_w": _l1(0.5)})

  def testRangeAlongDimension(self):
    with self.test_session():
      x = dilation._range_along_dimension(0, shape=[2, 2]).eval()
      self.assertAllEqual(x, [[0, 0], [1, 1]])
      x = dilation._range_along_dimension(1, shape=[2, 2]).eval()
      self.assertAllEqual(x, [[0, 1], [0, 1]])
      x = dilation._range_along_dimension(1, shape=[2, 3, 3]).eval()
      self.assertAllEqual(x, [[[0, 0, 0], [1, 1, 1], [2, 2, 2]]] * 2)
      x = dilation._range_along_dimension(0, shape=[1, 2, 2, 2]).eval()
      self.assertAllEqual(x, np.zeros([1, 2, 2, 2]))
    with self.assertRaises(ValueError):
      dilation._range_along_dimension(2, shape=[2, 2])

  def testIdentityKernelInitializer(self):
    x = snt.nets.identity_kernel_initializer([3, 3, 4, 4])
    with self.test_session() as sess:
      x_ = sess.run(x)
    expected = np.zeros([3, 3, 4, 4])
    expected[1, 1] = np.eye(4)
    self.assertAllEqual(x_, expected)
    for bad_shape in ([3, 3, 4], [3, 5, 4, 4], [4, 4, 4, 4], [3, 3, 4, 5]):
      with self.assertRaises(ValueError):
        snt.nets.identity_kernel_initializer(bad_shape)

  def testNoisyIdentityKernelInitializer(self):
    init = snt.nets.noisy_identity_kernel_initializer(2, stddev=1e-20)
    x = init([3, 3, 4, 8])
    with self.test_session() as sess:
      x_ = sess.run(x)
    expected = np.zeros([3, 3, 4, 8])
    for in_idx in range(4):
      for out_idx in range(8):
        if in_idx * 2 // 4 == out_idx * 2 // 8:
          expected[1, 1, in_idx, out_idx] = 2 / 8
    self.assertAllClose(x_, expected, atol=1e-18)
    for bad_shape in ([3, 3, 4], [3, 3, 3, 8], [3, 3, 4, 7], [2, 2, 4, 8]):
      with self.assertRaises(ValueError):
        init(bad_shape)


if __name__ == "__main__":
  tf.test.main()
