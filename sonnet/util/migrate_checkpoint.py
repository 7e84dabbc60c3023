r"""Rewrites a checkpoint under new variable names; the source is never modified.

By default every name ending in ":0" loses that suffix (checkpoints written by
some old tools kept it). A rename table maps further names:

    python -m sonnet.util.migrate_checkpoint \
        --source=/old/model.ckpt-1000 --target=/new/model.ckpt-1000 \
        --rename_table=renames.txt [--dry_run]

The rename table is a text file with one rule per line, `OLD NEW`, where OLD
is a regular expression that must match a whole (suffix-stripped) name and
NEW its replacement (`\1` refers to groups); rules are tried in order and the
first match wins. NEW = `-` drops the variable. Blank lines and lines starting
with `#` are ignored. Example:

    # Sonnet 1 LSTM weights kept, a renamed outer scope:
    agent/(.*)          policy/\1
    global_step_old     global_step
    optimizer_slot/.*   -

The target is written with `write_state=False`, so the `checkpoint` file of
the source directory is never touched; a target equal to the source, or one
whose files already exist, is refused.
"""

import os
import re

from absl import app
from absl import flags
from absl import logging
import tensorflow.compat.v1 as tf

FLAGS = flags.FLAGS
flags.DEFINE_string("source", "", "Source checkpoint (prefix or directory).")
flags.DEFINE_string("target", "", "Output checkpoint prefix.")
flags.DEFINE_bool("dry_run", False, "Only print the name mapping.")
flags.DEFINE_string("rename_table", "",
                    "Optional file of `OLD_REGEX NEW` rename rules.")


class MigrationError(ValueError):
  """The migration cannot be done as asked (bad table, name clash, paths)."""


def remove_colon_zero(name):
  """Strips a trailing ":0" from a variable name."""
  return name[:-2] if name.endswith(":0") else name


def parse_rename_table(text):
  """Parses rename rules; returns a list of (compiled regex, replacement).

  Raises:
    MigrationError: on a malformed line or regex (naming the line).
  """
  rules = []
  for line_number, line in enumerate(text.splitlines(), 1):
    line = line.strip()
    if not line or line.startswith("#"):
      continue
    parts = line.split()
    if len(parts) != 2:
      raise MigrationError(
          "Rename table line {}: expected `OLD NEW`, got {!r}.".format(
              line_number, line))
    try:
      pattern = re.compile(parts[0])
    except re.error as e:
      raise MigrationError("Rename table line {}: bad regex {!r}: {}".format(
          line_number, parts[0], e))
    rules.append((pattern, parts[1]))
  return rules


def make_name_fn(rules):
  """Returns `name -> new name or None`: ':0' stripped, then the first rule."""
  def name_fn(name):
    name = remove_colon_zero(name)
    for pattern, replacement in rules:
      match = pattern.fullmatch(name)
      if match:
        return None if replacement == "-" else match.expand(replacement)
    return name
  return name_fn


def _build_migrated_variables(checkpoint_reader, name_value_fn):
  """Creates a variable for each migrated checkpoint entry.

  Args:
    checkpoint_reader: a `tf.train.NewCheckpointReader`.
    name_value_fn: `(name, value) -> (new_name, new_value)`; a None new name
      drops the entry.

  Returns:
    `(new_name_to_variable, name_to_new_name)`.

  Raises:
    MigrationError: if two entries map to the same new name.
  """
  names_to_shapes = checkpoint_reader.get_variable_to_shape_map()
  new_name_to_variable = {}
  name_to_new_name = {}
  for name in sorted(names_to_shapes):
    value = checkpoint_reader.get_tensor(name)
    new_name, new_value = name_value_fn(name, value)
    if new_name is None:
      continue
    if new_name in new_name_to_variable:
      clash = [old for old, new in name_to_new_name.items() if new == new_name]
      raise MigrationError("Both {!r} and {!r} map to {!r}.".format(
          clash[0], name, new_name))
    with tf.device("/cpu:0"):
      # The op name is irrelevant (the Saver is keyed by new name) and new
      # names need not be valid op names.
      new_name_to_variable[new_name] = tf.Variable(new_value)
    name_to_new_name[name] = new_name
  return new_name_to_variable, name_to_new_name


def _resolve_source(source):
  if os.path.isdir(source):
    latest = tf.train.latest_checkpoint(source)
    if latest is None:
      raise MigrationError("No checkpoint found in directory {}.".format(source))
    return latest
  return source


def migrate(source, target, rename_table_text="", dry_run=False):
  """Migrates `source` into `target`; returns the old -> new name mapping.

  Raises:
    MigrationError: on clashing names, a bad table, or a target that would
      overwrite the source or an existing checkpoint.
  """
  source = _resolve_source(source)
  rules = parse_rename_table(rename_table_text)
  name_fn = make_name_fn(rules)
  if not dry_run:
    if not target:
      raise MigrationError("--target is required unless --dry_run is set.")
    if os.path.abspath(target) == os.path.abspath(source):
      raise MigrationError(
          "Target {} is the source checkpoint; refusing to overwrite it."
          .format(target))
    if tf.gfile.Exists(target + ".index"):
      raise MigrationError(
          "Target {} already exists; choose a new prefix.".format(target))

  reader = tf.train.NewCheckpointReader(source)
  with tf.Graph().as_default():
    new_name_to_variable, name_to_new_name = _build_migrated_variables(
        reader, lambda name, value: (name_fn(name), value))
    for old in sorted(name_to_new_name):
      logging.info("%s -> %s", old, name_to_new_name[old])
    if not dry_run:
      target_dir = os.path.dirname(target)
      if target_dir:
        tf.gfile.MakeDirs(target_dir)
      saver = tf.train.Saver(new_name_to_variable)
      with tf.Session() as sess:
        sess.run(tf.variables_initializer(list(new_name_to_variable.values())))
        saver.save(sess, target, write_meta_graph=False, write_state=False)
  return name_to_new_name


def main(unused_argv):
  table = ""
  if FLAGS.rename_table:
    with tf.gfile.GFile(FLAGS.rename_table) as f:
      table = f.read()
  mapping = migrate(FLAGS.source, FLAGS.target, table, FLAGS.dry_run)
  for old in sorted(mapping):
    print("{} -> {}".format(old, mapping[old]))
  return mapping


def _run(argv):
  main(argv)  # main returns the mapping; the exit status stays 0.


if __name__ == "__main__":
  app.run(_run)
