"""Initializers: `restore_initializer` reads a variable's value from a checkpoint."""

import tensorflow.compat.v1 as tf
from tensorflow.python.ops import init_ops


class _Restore(init_ops.Initializer):
  """Initializes a variable with a tensor read from a checkpoint.

  The checkpoint key is `"<scope>/<var_name>"` where `<scope>` is, at
  initialization time, the current variable scope name (`scope=None`),
  `scope(current_scope_name)` (a callable), or `scope` itself (a string; ""
  for the top level). Partitioned variables read their own slice.
  """

  def __init__(self, filename, var_name, scope=None):
    self._filename = filename
    self._var_name = var_name
    self._scope = scope

  def _partition_spec(self, shape, partition_info):
    if partition_info is None:
      return ""
    slice_info = tf.Variable.SaveSliceInfo(
        full_name=self._var_name,
        full_shape=partition_info.full_shape,
        var_offset=partition_info.var_offset,
        var_shape=shape)
    return slice_info.spec

  def __call__(self, shape, dtype=None, partition_info=None):
    dtype = tf.as_dtype(dtype or tf.float32).base_dtype
    if self._scope is None:
      scope_name = tf.get_variable_scope().name
    elif callable(self._scope):
      scope_name = self._scope(tf.get_variable_scope().name)
    else:
      scope_name = self._scope
    tensor_name = self._var_name
    if scope_name:
      tensor_name = "{}/{}".format(scope_name, tensor_name)
    tensor = tf.raw_ops.RestoreV2(
        prefix=self._filename, tensor_names=[tensor_name],
        shape_and_slices=[self._partition_spec(shape, partition_info)],
        dtypes=[dtype])[0]
    tensor.set_shape(shape)
    return tensor

  def get_config(self):
    return {"filename": self._filename, "var_name": self._var_name,
            "scope": self._scope}


restore_initializer = _Restore
