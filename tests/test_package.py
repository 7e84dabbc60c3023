"""Package-level behaviour: version, missing TensorFlow, TF1-style graph mode."""

import ast
import os
import subprocess
import sys
import textwrap

import sonnet as snt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_python(code):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                        capture_output=True, text=True, env=env, cwd=ROOT,
                        timeout=300)


def test_version_is_1x():
  assert snt.__version__ == "1.36"
  assert snt.__version__.split(".")[0] == "1"


def test_core_names_exported():
  for name in ("AbstractModule", "Module", "Transposable",
               "observe_connections", "reuse_variables", "Error",
               "NotConnectedError", "ParentNotBuiltError",
               "IncompatibleShapeError", "UnderspecifiedError",
               "NotSupportedError", "NotInitializedError",
               "DifferentGraphError", "ModuleInfoError",
               "SONNET_COLLECTION_NAME", "check_initializers",
               "check_partitioners", "check_regularizers",
               "count_variables_by_type", "custom_getter_router",
               "deprecation_warning", "format_variable_map",
               "format_variables", "get_normalized_variable_map", "get_saver",
               "get_variables_in_module", "get_variables_in_scope",
               "has_variable_scope", "log_variables",
               "parse_string_to_constructor", "remove_unsupported_kwargs",
               "summarize_variables", "supports_kwargs", "variable_map_items",
               "nest", "custom_getters", "restore_initializer"):
    assert hasattr(snt, name), name
  assert snt.SONNET_COLLECTION_NAME == "sonnet"
  assert snt.python.modules.base.AbstractModule is snt.AbstractModule
  assert snt.protos.module_pb2.SonnetModule is not None


def test_import_without_tensorflow_says_what_to_install():
  result = _run_python("""
      import sys
      sys.modules["tensorflow"] = None  # makes `import tensorflow` fail
      import sonnet
  """)
  assert result.returncode != 0
  assert "SystemError" in result.stderr
  assert "pip install tensorflow-cpu" in result.stderr


def test_setup_does_not_require_tensorflow():
  with open(os.path.join(ROOT, "setup.py")) as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.keyword) and node.arg == "install_requires":
      requirements = ast.literal_eval(node.value)
      assert requirements, "install_requires should list runtime deps"
      assert not any(r.lower().startswith(("tensorflow", "tf-keras",
                                           "tf_keras"))
                     for r in requirements), requirements
      return
  raise AssertionError("setup.py has no install_requires")


def test_tf1_reference_variables_and_v1_control_flow():
  """Sonnet 1 scripts run after tf.disable_v2_behavior() (legacy variables)."""
  result = _run_python("""
      import numpy as np
      import tensorflow.compat.v1 as tf
      tf.disable_v2_behavior()
      import sonnet as snt

      class Dense(snt.AbstractModule):
        def _build(self, x):
          w = tf.get_variable("w", [x.shape[1], 2],
                              initializer=tf.ones_initializer())
          return tf.matmul(x, w)

      mod = Dense(name="dense")
      x = tf.ones([1, 3])
      y1, y2 = mod(x), mod(x)
      assert len(tf.global_variables()) == 1
      var = mod.variables[0]
      assert var.dtype.name.endswith("_ref"), var.dtype
      assert "(legacy)" in snt.format_variables(mod.variables)

      bbb = snt.custom_getters.bayes_by_backprop
      class Cell(object):
        state_size = 2
        output_size = 2
        def zero_state(self, batch_size, dtype):
          return tf.zeros([batch_size, 2], dtype)
        def __call__(self, inputs, state):
          w = tf.get_variable("w", [1, 2])
          out = tf.matmul(inputs, w) + 0. * state
          return out, out
      with tf.variable_scope("rnn", custom_getter=bbb.bayes_by_backprop_getter()):
        outputs, _ = tf.nn.dynamic_rnn(Cell(), tf.ones([1, 4, 1]),
                                       dtype=tf.float32)
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b, out = sess.run([y1, y2, outputs])
      np.testing.assert_array_equal(a, [[3., 3.]])
      np.testing.assert_array_equal(a, b)
      for t in range(1, 4):  # weights sampled once, outside the while loop
        np.testing.assert_array_equal(out[0, 0], out[0, t])
      print("OK")
  """)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().endswith("OK")


def test_resampler_op_is_built():
  """The resampler tests skip when the op is missing; this one fails instead."""
  from sonnet.python.ops import resampler  # pylint: disable=g-import-not-at-top
  assert snt.resampler_is_available(), resampler._load_error  # pylint: disable=protected-access
