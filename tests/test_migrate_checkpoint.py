"""Tests of sonnet/util/migrate_checkpoint.py."""

import os
import subprocess
import sys

import numpy as np
import pytest
from sonnet.util import migrate_checkpoint as migrate
import tensorflow.compat.v1 as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write(path, values):
  """Writes a checkpoint whose keys are exactly the given names."""
  with tf.Graph().as_default():
    variables = {name: tf.Variable(value, name="v%d" % i)
                 for i, (name, value) in enumerate(values.items())}
    saver = tf.train.Saver(variables)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, path)
  return path


def _read(path):
  reader = tf.train.NewCheckpointReader(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


@pytest.fixture
def source(tmp_path):
  return _write(os.path.join(str(tmp_path), "src", "model"), {
      "agent/linear/w:0": np.arange(6., dtype=np.float32).reshape(2, 3),
      "agent/linear/b:0": np.array([1., 2., 3.], np.float32),
      "global_step": np.array(7, np.int64),
      "slots/adam_m": np.zeros(2),
  })


def test_remove_colon_zero():
  assert migrate.remove_colon_zero("a/b:0") == "a/b"
  assert migrate.remove_colon_zero("a/b") == "a/b"
  assert migrate.remove_colon_zero("a/b:1") == "a/b:1"


def test_default_strips_colon_zero(source, tmp_path):
  target = os.path.join(str(tmp_path), "out", "model")
  mapping = migrate.migrate(source, target)
  assert mapping["agent/linear/w:0"] == "agent/linear/w"
  assert mapping["global_step"] == "global_step"
  migrated = _read(target)
  assert sorted(migrated) == ["agent/linear/b", "agent/linear/w",
                              "global_step", "slots/adam_m"]
  np.testing.assert_array_equal(migrated["agent/linear/w"],
                                np.arange(6.).reshape(2, 3))
  assert migrated["global_step"] == 7


def test_rename_table(source, tmp_path):
  target = os.path.join(str(tmp_path), "out", "model")
  table = "# comment\n\nagent/(.*)  policy/\\1\nslots/.*  -\n"
  mapping = migrate.migrate(source, target, table)
  assert mapping["agent/linear/b:0"] == "policy/linear/b"
  assert "slots/adam_m" not in mapping
  assert sorted(_read(target)) == ["global_step", "policy/linear/b",
                                   "policy/linear/w"]


def test_restores_into_sonnet_module(source, tmp_path):
  import sonnet as snt  # pylint: disable=g-import-not-at-top
  target = os.path.join(str(tmp_path), "out", "model")
  migrate.migrate(source, target, "agent/linear/(.*) my_linear/\\1\n")
  with tf.Graph().as_default():
    class Lin(snt.AbstractModule):

      def _build(self, x):
        w = tf.get_variable("w", [2, 3])
        b = tf.get_variable("b", [3])
        return tf.matmul(x, w) + b

    lin = Lin(name="my_linear")
    lin(tf.ones([1, 2]))
    saver = tf.train.Saver(snt.get_normalized_variable_map(lin, context=""))
    with tf.Session() as sess:
      saver.restore(sess, target)
      w = sess.run(lin.get_variables()[0])
  np.testing.assert_array_equal(w, np.arange(6.).reshape(2, 3))


def test_never_overwrites_input(source, tmp_path):
  before = {f: open(os.path.join(os.path.dirname(source), f), "rb").read()
            for f in os.listdir(os.path.dirname(source))}
  with pytest.raises(migrate.MigrationError, match="refusing to overwrite"):
    migrate.migrate(source, source)
  target = os.path.join(os.path.dirname(source), "migrated")
  migrate.migrate(source, target)  # same directory, new prefix
  with pytest.raises(migrate.MigrationError, match="already exists"):
    migrate.migrate(source, target)
  for name, content in before.items():
    with open(os.path.join(os.path.dirname(source), name), "rb") as f:
      assert f.read() == content, name


def test_clashing_names(source, tmp_path):
  with pytest.raises(migrate.MigrationError, match="map to"):
    migrate.migrate(source, os.path.join(str(tmp_path), "x"),
                    "agent/linear/.* same\n")


def test_bad_table_lines():
  with pytest.raises(migrate.MigrationError, match="line 2"):
    migrate.parse_rename_table("a b\nonly_one\n")
  with pytest.raises(migrate.MigrationError, match="bad regex"):
    migrate.parse_rename_table("a( b\n")


def test_dry_run_writes_nothing(source, tmp_path):
  target = os.path.join(str(tmp_path), "dry", "model")
  mapping = migrate.migrate(source, target, dry_run=True)
  assert len(mapping) == 4
  assert not os.path.exists(os.path.dirname(target))


def test_build_migrated_variables_drops_none(source):
  reader = tf.train.NewCheckpointReader(source)
  with tf.Graph().as_default():
    variables, mapping = migrate._build_migrated_variables(
        reader, lambda name, value: (None if "slots" in name else name + "_x",
                                     value))
  assert sorted(mapping.values()) == sorted(variables)
  assert "slots/adam_m" not in mapping


def test_command_line(source, tmp_path):
  table = os.path.join(str(tmp_path), "renames.txt")
  with open(table, "w") as f:
    f.write("agent/(.*) new/\\1\n")
  target = os.path.join(str(tmp_path), "cli", "model")
  result = subprocess.run(
      [sys.executable, "-m", "sonnet.util.migrate_checkpoint",
       "--source=" + os.path.dirname(source), "--target=" + target,
       "--rename_table=" + table],
      capture_output=True, text=True, cwd=ROOT, timeout=300,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert "agent/linear/w:0 -> new/linear/w" in result.stdout
  assert "new/linear/w" in _read(target)
