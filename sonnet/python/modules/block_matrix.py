"""Block triangular and block diagonal matrices filled from a vector.

Each module reads a batch of vectors `[B, input_size]` and lays their entries
out, left to right and block row by block row, in the non-zero blocks of a
`[B, block_height * block_rows, block_width * block_rows]` matrix.
"""

import numpy as np
from sonnet.python.modules import base
import tensorflow.compat.v1 as tf


class BlockTriangularMatrix(base.AbstractModule):
  """Block lower (or upper) triangular matrices built from vectors.

  With 2x2 blocks, 3 block rows and lower triangular layout, the vector
  `1..24` becomes the rows `[1 2 0 0 0 0]`, `[3 4 0 0 0 0]`,
  `[5 6 7 8 0 0]`, `[9 10 11 12 0 0]`, `[13 .. 18]`, `[19 .. 24]`: each
  block row's entries are read row-major across its non-zero blocks.
  `include_diagonal` / `include_off_diagonal` select which blocks are filled.
  """

  def __init__(self, block_shape, block_rows, include_diagonal=True,
               include_off_diagonal=True, upper=False,
               name="block_triangular_matrix"):
    """Constructs the module.

    Args:
      block_shape: `(height, width)` of each block.
      block_rows: number of block rows (and block columns).
      include_diagonal: whether the diagonal blocks are filled.
      include_off_diagonal: whether the blocks off the diagonal (below it, or
        above it if `upper`) are filled.
      upper: upper instead of lower triangular.
      name: module name.

    Raises:
      ValueError: if both `include_diagonal` and `include_off_diagonal` are
        False.
    """
    super(BlockTriangularMatrix, self).__init__(name=name)
    if not include_diagonal and not include_off_diagonal:
      raise ValueError("At least one of include_diagonal or "
                       "include_off_diagonal must be True.")
    self._block_shape = tuple(block_shape)
    if len(self._block_shape) != 2:
      raise ValueError("block_shape must be (height, width), got {}.".format(
          block_shape))
    self._block_rows = block_rows
    self._include_diagonal = include_diagonal
    self._include_off_diagonal = include_off_diagonal
    self._upper = upper
    self._num_blocks = sum(
        self._content_blocks(r) for r in range(self._block_rows))

  @property
  def num_blocks(self):
    """Number of filled blocks."""
    return self._num_blocks

  @property
  def block_size(self):
    """Number of entries of one block."""
    return int(np.prod(self._block_shape))

  @property
  def block_shape(self):
    """`(height, width)` of a block."""
    return self._block_shape

  @property
  def output_shape(self):
    """Shape of each output matrix (without the batch dimension)."""
    return tuple(int(x) * self._block_rows for x in self._block_shape)

  @property
  def input_size(self):
    """Number of vector entries consumed per matrix."""
    return self.block_size * self._num_blocks

  def _left_zero_blocks(self, r):
    """Number of zero blocks left of the content in block row `r`."""
    if not self._include_off_diagonal:
      return r
    elif not self._upper:
      return 0
    elif self._include_diagonal:
      return r
    else:
      return r + 1

  def _right_zero_blocks(self, r):
    """Number of zero blocks right of the content in block row `r`."""
    if not self._include_off_diagonal:
      return self._block_rows - r - 1
    elif self._upper:
      return 0
    elif self._include_diagonal:
      return self._block_rows - r - 1
    else:
      return self._block_rows - r

  def _content_blocks(self, r):
    """Number of filled blocks in block row `r`."""
    return (self._block_rows - self._left_zero_blocks(r)
            - self._right_zero_blocks(r))

  def _build(self, vector):
    """Lays out `vector` into block triangular matrices.

    Args:
      vector: `[batch_size, input_size]` tensor.

    Returns:
      `[batch_size] + output_shape` tensor of `vector`'s dtype.

    Raises:
      ValueError: if `vector`'s shape is not compatible with
        `[batch_size, input_size]`.
    """
    vector = tf.convert_to_tensor(vector)
    vector.get_shape().assert_is_compatible_with((None, self.input_size))
    n = tf.shape(vector)[0]
    block_height, block_width = self._block_shape

    rows = []
    start_index = 0
    for r in range(self._block_rows):
      content = self._content_blocks(r)
      size = content * self.block_size
      row_content = tf.reshape(vector[:, start_index:start_index + size],
                               [n, block_height, content * block_width])
      start_index += size
      left_zeros = tf.zeros(
          [n, block_height, self._left_zero_blocks(r) * block_width],
          dtype=vector.dtype)
      right_zeros = tf.zeros(
          [n, block_height, self._right_zero_blocks(r) * block_width],
          dtype=vector.dtype)
      rows.append(tf.concat([left_zeros, row_content, right_zeros], axis=2))
    return tf.concat(rows, axis=1)


class BlockDiagonalMatrix(BlockTriangularMatrix):
  """Block diagonal matrices built from vectors (block row by block row)."""

  def __init__(self, block_shape, block_rows, name="block_diagonal_matrix"):
    """Constructs the module.

    Args:
      block_shape: `(height, width)` of each block.
      block_rows: number of diagonal blocks.
      name: module name.
    """
    super(BlockDiagonalMatrix, self).__init__(
        block_shape=block_shape,
        block_rows=block_rows,
        include_diagonal=True,
        include_off_diagonal=False,
        name=name)
