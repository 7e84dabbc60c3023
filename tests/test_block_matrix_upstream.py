"""Block matrices exercised the way Sonnet 1's block_matrix_test.py did."""

import numpy as np
from sonnet.python.modules import block_matrix
import tensorflow.compat.v1 as tf


def _get_input_tensor(input_size, batch_size=1):
  return tf.reshape(tf.range(input_size * batch_size, dtype=tf.float32),
                    [batch_size, input_size])


class BlockTriangularMatrixUpstreamTest(tf.test.TestCase):

  def _check_output_size(self, btm, result, batch_size=1):
    self.assertEqual(result.shape, (batch_size,) + btm.output_shape)

  def testLower(self):
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 3), block_rows=3,
                                             upper=False)
    self.assertEqual(btm.num_blocks, 6)
    self.assertEqual(btm.block_size, 6)
    self.assertEqual(btm.input_size, 36)
    self.assertEqual(btm.block_shape, (2, 3))
    self.assertEqual(btm.output_shape, (6, 9))
    output = btm(_get_input_tensor(btm.input_size))
    with self.test_session() as sess:
      result = sess.run(output)
    self._check_output_size(btm, result)
    expected = np.array([[[0, 1, 2, 0, 0, 0, 0, 0, 0],
                          [3, 4, 5, 0, 0, 0, 0, 0, 0],
                          [6, 7, 8, 9, 10, 11, 0, 0, 0],
                          [12, 13, 14, 15, 16, 17, 0, 0, 0],
                          [18, 19, 20, 21, 22, 23, 24, 25, 26],
                          [27, 28, 29, 30, 31, 32, 33, 34, 35]]])
    self.assertAllEqual(result, expected)

  def testLowerNoDiagonal(self):
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 3), block_rows=3,
                                             include_diagonal=False)
    self.assertEqual(btm.num_blocks, 3)
    self.assertEqual(btm.input_size, 18)
    with self.test_session() as sess:
      result = sess.run(btm(_get_input_tensor(btm.input_size)))
    expected = np.array([[[0, 0, 0, 0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 0, 0, 0, 0, 0, 0],
                          [0, 1, 2, 0, 0, 0, 0, 0, 0],
                          [3, 4, 5, 0, 0, 0, 0, 0, 0],
                          [6, 7, 8, 9, 10, 11, 0, 0, 0],
                          [12, 13, 14, 15, 16, 17, 0, 0, 0]]])
    self.assertAllEqual(result, expected)

  def testUpper(self):
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 3), block_rows=3,
                                             upper=True)
    with self.test_session() as sess:
      result = sess.run(btm(_get_input_tensor(btm.input_size)))
    expected = np.array([[[0, 1, 2, 3, 4, 5, 6, 7, 8],
                          [9, 10, 11, 12, 13, 14, 15, 16, 17],
                          [0, 0, 0, 18, 19, 20, 21, 22, 23],
                          [0, 0, 0, 24, 25, 26, 27, 28, 29],
                          [0, 0, 0, 0, 0, 0, 30, 31, 32],
                          [0, 0, 0, 0, 0, 0, 33, 34, 35]]])
    self.assertAllEqual(result, expected)

  def testUpperNoDiagonal(self):
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 3), block_rows=3,
                                             include_diagonal=False,
                                             upper=True)
    with self.test_session() as sess:
      result = sess.run(btm(_get_input_tensor(btm.input_size)))
    expected = np.array([[[0, 0, 0, 0, 1, 2, 3, 4, 5],
                          [0, 0, 0, 6, 7, 8, 9, 10, 11],
                          [0, 0, 0, 0, 0, 0, 12, 13, 14],
                          [0, 0, 0, 0, 0, 0, 15, 16, 17],
                          [0, 0, 0, 0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 0, 0, 0, 0, 0, 0]]])
    self.assertAllEqual(result, expected)

  def testBatch(self):
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 2), block_rows=2,
                                             upper=False)
    inputs = tf.placeholder(tf.float32, [None, btm.input_size])
    output = btm(inputs)
    self.assertEqual(output.get_shape().as_list(), [None, 4, 4])
    with self.test_session() as sess:
      result = sess.run(output, {inputs: np.arange(24).reshape(2, 12)})
    self._check_output_size(btm, result, batch_size=2)
    expected = np.array([
        [[0, 1, 0, 0], [2, 3, 0, 0], [4, 5, 6, 7], [8, 9, 10, 11]],
        [[12, 13, 0, 0], [14, 15, 0, 0], [16, 17, 18, 19],
         [20, 21, 22, 23]]])
    self.assertAllEqual(result, expected)

  def testErrors(self):
    with self.assertRaises(ValueError):
      block_matrix.BlockTriangularMatrix(
          block_shape=(2, 2), block_rows=2, include_diagonal=False,
          include_off_diagonal=False)
    btm = block_matrix.BlockTriangularMatrix(block_shape=(2, 2), block_rows=2)
    with self.assertRaises(ValueError):
      btm(tf.zeros([1, btm.input_size + 1]))


class BlockDiagonalMatrixUpstreamTest(tf.test.TestCase):

  def testDiagonal(self):
    bdm = block_matrix.BlockDiagonalMatrix(block_shape=(2, 3), block_rows=3)
    self.assertEqual(bdm.num_blocks, 3)
    self.assertEqual(bdm.input_size, 18)
    self.assertEqual(bdm.module_name, "block_diagonal_matrix")
    with self.test_session() as sess:
      result = sess.run(bdm(_get_input_tensor(bdm.input_size)))
    expected = np.array([[[0, 1, 2, 0, 0, 0, 0, 0, 0],
                          [3, 4, 5, 0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 6, 7, 8, 0, 0, 0],
                          [0, 0, 0, 9, 10, 11, 0, 0, 0],
                          [0, 0, 0, 0, 0, 0, 12, 13, 14],
                          [0, 0, 0, 0, 0, 0, 15, 16, 17]]])
    self.assertAllEqual(result, expected)


if __name__ == "__main__":
  tf.test.main()
