"""Tests for `block_matrix.BlockTriangularMatrix` and `BlockDiagonalMatrix`."""

import itertools

import numpy as np
import pytest
from sonnet.python.modules import block_matrix
import tensorflow.compat.v1 as tf


def _reference(vector, block_shape, block_rows, include_diagonal,
               include_off_diagonal, upper):
  """Fills the selected blocks, block row by block row, row-major per row."""
  h, w = block_shape
  out = np.zeros([vector.shape[0], h * block_rows, w * block_rows],
                 vector.dtype)
  for b in range(vector.shape[0]):
    it = iter(vector[b])
    for r in range(block_rows):
      cols = [c for c in range(block_rows)
              if (c == r and include_diagonal) or
              (c != r and include_off_diagonal and (c > r if upper else c < r))]
      for i in range(h):
        for c in cols:
          for j in range(w):
            out[b, r * h + i, c * w + j] = next(it)
  return out


def _run(tensor):
  with tf.Session() as sess:
    return sess.run(tensor)


def test_documented_example():
  with tf.Graph().as_default():
    module = block_matrix.BlockTriangularMatrix(block_shape=(2, 2),
                                                block_rows=3)
    assert module.input_size == 24
    out = _run(module(tf.constant(np.arange(1, 25, dtype=np.float32)[None])))
  expected = np.array([[1, 2, 0, 0, 0, 0],
                       [3, 4, 0, 0, 0, 0],
                       [5, 6, 7, 8, 0, 0],
                       [9, 10, 11, 12, 0, 0],
                       [13, 14, 15, 16, 17, 18],
                       [19, 20, 21, 22, 23, 24]], np.float32)
  np.testing.assert_array_equal(out[0], expected)


@pytest.mark.parametrize(
    "include_diagonal,include_off_diagonal,upper",
    [c for c in itertools.product([True, False], repeat=3) if c[0] or c[1]])
def test_all_layouts_match_numpy(include_diagonal, include_off_diagonal,
                                 upper):
  block_shape, block_rows = (2, 3), 4
  with tf.Graph().as_default():
    module = block_matrix.BlockTriangularMatrix(
        block_shape, block_rows, include_diagonal=include_diagonal,
        include_off_diagonal=include_off_diagonal, upper=upper)
    vector = np.random.RandomState(0).randn(2, module.input_size)
    inputs = tf.placeholder(tf.float64, [None, module.input_size])
    out = module(inputs)
    assert out.get_shape().as_list() == [None, 8, 12]
    with tf.Session() as sess:
      value = sess.run(out, {inputs: vector})
  np.testing.assert_array_equal(
      value, _reference(vector, block_shape, block_rows, include_diagonal,
                        include_off_diagonal, upper))


def test_properties():
  module = block_matrix.BlockTriangularMatrix((2, 3), 4,
                                              include_diagonal=False)
  assert module.num_blocks == 6
  assert module.block_size == 6
  assert module.block_shape == (2, 3)
  assert module.output_shape == (8, 12)
  assert module.input_size == 36
  assert module.module_name == "block_triangular_matrix"
  diagonal = block_matrix.BlockDiagonalMatrix([1, 2], 5)
  assert diagonal.num_blocks == 5
  assert diagonal.input_size == 10
  assert diagonal.module_name == "block_diagonal_matrix"


def test_block_diagonal_values_and_gradient():
  with tf.Graph().as_default():
    module = block_matrix.BlockDiagonalMatrix((2, 2), 2)
    vector = np.arange(16, dtype=np.float64).reshape(2, 8)
    x = tf.constant(vector)
    out = module(x)
    value = _run(out)
    with tf.Session():
      err = tf.test.compute_gradient_error(x, [2, 8], out, [2, 4, 4],
                                           x_init_value=vector)
  np.testing.assert_array_equal(value[0], [[0, 1, 0, 0], [2, 3, 0, 0],
                                           [0, 0, 4, 5], [0, 0, 6, 7]])
  assert err < 1e-8


def test_errors():
  with pytest.raises(ValueError, match="At least one"):
    block_matrix.BlockTriangularMatrix((2, 2), 3, include_diagonal=False,
                                       include_off_diagonal=False)
  with tf.Graph().as_default():
    module = block_matrix.BlockTriangularMatrix((2, 2), 3)
    with pytest.raises(ValueError):
      module(tf.zeros([2, 23]))
    with pytest.raises(ValueError):
      module(tf.zeros([2, 24, 1]))
