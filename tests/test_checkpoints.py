"""Checkpoints: snt.get_saver round trips, Sonnet 1 variable names, resuming.

Sonnet 1 checkpoints are written here with plain TensorFlow variables named
as Sonnet 1 named them (layers.md §1-3, rnn.md §3.2), then restored into
freshly built modules whose outputs are checked against NumPy.
"""

import os

import numpy as np
import pytest
import sonnet as snt
from sonnet.util import migrate_checkpoint
import tensorflow.compat.v1 as tf


def _save_plain_variables(path, name_to_value):
  """Writes a checkpoint of plain variables with the given full names."""
  with tf.Graph().as_default():
    variables = {name: tf.Variable(value, name=name)
                 for name, value in name_to_value.items()}
    saver = tf.train.Saver(variables)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return saver.save(sess, path, write_meta_graph=False)


def _checkpoint_names(path):
  return set(tf.train.NewCheckpointReader(path).get_variable_to_shape_map())


def _assign_random(sess, variables, rng):
  """Gives every variable (or partition) random values; returns them."""
  values = {}
  for var in variables:
    value = rng.randn(*var.shape.as_list()).astype(np.float32)
    var.load(value, sess)
    values[var.op.name] = value
  return values


# --- get_saver / get_normalized_variable_map round trips --------------------


def test_get_saver_restores_into_module_with_other_name_and_scope(tmp_path):
  rng = np.random.RandomState(0)
  x = rng.randn(2, 4).astype(np.float32)
  with tf.Graph().as_default():
    lin = snt.Linear(3, name="lin")
    lin(tf.constant(x))
    saver = snt.get_saver(lin)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = _assign_random(sess, lin.get_variables(), rng)
      path = saver.save(sess, str(tmp_path / "lin"))
  # Keys are relative to the module's scope.
  assert _checkpoint_names(path) == {"w", "b"}

  with tf.Graph().as_default():
    with tf.variable_scope("outer"):
      other = snt.Linear(3, name="renamed")
      out = other(tf.constant(x))
    assert other.w.op.name == "outer/renamed/w"
    with tf.Session() as sess:
      snt.get_saver(other).restore(sess, path)
      w, b, y = sess.run([other.w, other.b, out])
  np.testing.assert_array_equal(w, values["lin/w"])
  np.testing.assert_array_equal(b, values["lin/b"])
  np.testing.assert_allclose(y, x @ values["lin/w"] + values["lin/b"],
                             rtol=1e-5, atol=1e-5)


def test_get_saver_with_context_keeps_submodule_paths(tmp_path):
  x = np.ones((1, 2), np.float32)

  def build(name):
    with tf.variable_scope(name) as scope:
      first = snt.Linear(3, name="first")
      second = snt.Linear(2, name="second")
      second(first(tf.constant(x)))
    return scope, second

  with tf.Graph().as_default():
    scope, second = build("net")
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      expected = sess.run(second.w)
      path = snt.get_saver(second, context=scope).save(
          sess, str(tmp_path / "ctx"))
  assert _checkpoint_names(path) == {"second/w", "second/b"}
  with tf.Graph().as_default():
    scope, second = build("net_copy")
    var_map = snt.get_normalized_variable_map(second, context=scope)
    assert sorted(var_map) == ["second/b", "second/w"]
    with tf.Session() as sess:
      snt.get_saver(second, context=scope).restore(sess, path)
      np.testing.assert_array_equal(sess.run(second.w), expected)


@pytest.mark.parametrize("restore_partitions", [2, 1])
def test_partitioned_variables_round_trip(tmp_path, restore_partitions):
  """Saved in 3 partitions, restored in 2 or unpartitioned, other names."""
  rng = np.random.RandomState(1)
  x = rng.randn(2, 6).astype(np.float32)
  ids = np.array([[0, 5, 9], [3, 3, 7]])

  def build(partitions, linear_name, embed_name):
    partitioner = tf.fixed_size_partitioner(partitions)
    lin = snt.Linear(4, partitioners={"w": partitioner, "b": partitioner}
                     if partitions > 1 else None, name=linear_name)
    embed = snt.Embed(vocab_size=10, embed_dim=3,
                      partitioners={"embeddings": partitioner}
                      if partitions > 1 else None, name=embed_name)
    return lin, embed, lin(tf.constant(x)), embed(tf.constant(ids))

  with tf.Graph().as_default():
    lin, embed, y, e = build(3, "lin", "embed")
    var_map = snt.get_normalized_variable_map(lin)
    assert sorted(var_map) == ["b", "w"]
    assert isinstance(var_map["w"], list) and len(var_map["w"]) == 3
    assert [v.op.name for v in var_map["w"]] == [
        "lin/w/part_0", "lin/w/part_1", "lin/w/part_2"]
    ungrouped = snt.get_normalized_variable_map(lin,
                                                group_sliced_variables=False)
    assert sorted(ungrouped) == ["b/part_0", "b/part_1", "b/part_2",
                                 "w/part_0", "w/part_1", "w/part_2"]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      _assign_random(sess, tf.global_variables(), rng)
      full_w, full_b, full_e, y_saved, e_saved = sess.run(
          [tf.concat(list(lin.w), 0), tf.concat(list(lin.b), 0),
           tf.concat(list(embed.embeddings), 0), y, e])
      lin_path = snt.get_saver(lin).save(sess, str(tmp_path / "lin"))
      embed_path = snt.get_saver(embed).save(sess, str(tmp_path / "embed"))
  # A partitioned variable is saved as one whole tensor under its full name.
  shapes = tf.train.NewCheckpointReader(lin_path).get_variable_to_shape_map()
  assert shapes == {"w": [6, 4], "b": [4]}
  np.testing.assert_array_equal(
      tf.train.load_variable(lin_path, "w"), full_w)

  with tf.Graph().as_default():
    lin, embed, y, e = build(restore_partitions, "lin_2", "embed_2")
    with tf.Session() as sess:
      snt.get_saver(lin).restore(sess, lin_path)
      snt.get_saver(embed).restore(sess, embed_path)
      w = lin.w if restore_partitions == 1 else tf.concat(list(lin.w), 0)
      b = lin.b if restore_partitions == 1 else tf.concat(list(lin.b), 0)
      table = (embed.embeddings if restore_partitions == 1
               else tf.concat(list(embed.embeddings), 0))
      w, b, table, y_restored = sess.run([w, b, table, y])
  np.testing.assert_array_equal(w, full_w)
  np.testing.assert_array_equal(b, full_b)
  np.testing.assert_array_equal(table, full_e)
  np.testing.assert_allclose(y_restored, y_saved, rtol=1e-6)
  np.testing.assert_allclose(x @ full_w + full_b, y_saved, rtol=1e-5,
                             atol=1e-5)
  # As in Sonnet 1, a partitioned Embed looks ids up with the "mod" strategy
  # of tf.nn.embedding_lookup although fixed_size_partitioner splits rows
  # into contiguous blocks (sizes 4, 3, 3 at offsets 0, 4, 7): id i reads row
  # i // 3 of partition i % 3.
  offsets = [0, 4, 7]
  mod_rows = np.vectorize(lambda i: offsets[i % 3] + i // 3)(ids)
  np.testing.assert_array_equal(e_saved, full_e[mod_rows])
  if restore_partitions == 1:  # Unpartitioned: plain row lookup.
    with tf.Graph().as_default():
      _, embed, _, e = build(1, "lin_3", "embed_3")
      with tf.Session() as sess:
        snt.get_saver(embed).restore(sess, embed_path)
        np.testing.assert_array_equal(sess.run(e), full_e[ids])


# --- Sonnet 1 checkpoints --------------------------------------------------------


def _conv2d_same(x, w):
  """NumPy NHWC 'SAME' convolution with stride 1 (odd kernels)."""
  kh, kw = w.shape[:2]
  padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
  out = np.zeros(x.shape[:3] + (w.shape[3],), np.float64)
  for i in range(x.shape[1]):
    for j in range(x.shape[2]):
      patch = padded[:, i:i + kh, j:j + kw, :]
      out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
  return out


def _sigmoid(v):
  return 1. / (1. + np.exp(-v))


def test_sonnet1_checkpoint_restores_into_fresh_modules(tmp_path):
  rng = np.random.RandomState(2)
  f32 = lambda *shape: rng.randn(*shape).astype(np.float32)
  hidden = 3
  old = {
      # snt.Linear(3): w [in, out], b [out].
      "linear/w": f32(4, 3), "linear/b": f32(3),
      # snt.Conv2D(5, 3): w [kh, kw, in, out], b [out].
      "conv_2d/w": f32(3, 3, 2, 5), "conv_2d/b": f32(5),
      # snt.LSTM(3): w_gates [in + hidden, 4 hidden], b_gates [4 hidden].
      "lstm/w_gates": f32(4 + hidden, 4 * hidden),
      "lstm/b_gates": f32(4 * hidden),
      # snt.BatchNorm() on [B, C]: statistics and beta of shape [1, C].
      "batch_norm/beta": f32(1, 4), "batch_norm/moving_mean": f32(1, 4),
      "batch_norm/moving_variance": np.abs(f32(1, 4)) + 0.5,
  }
  path = _save_plain_variables(str(tmp_path / "sonnet1"), old)

  x = f32(2, 4)
  image = f32(2, 5, 5, 2)
  prev_h, prev_c = f32(2, hidden), f32(2, hidden)
  with tf.Graph().as_default():
    linear = snt.Linear(3)
    conv = snt.Conv2D(5, 3)
    lstm = snt.LSTM(hidden)
    batch_norm = snt.BatchNorm()
    y_linear = linear(tf.constant(x))
    y_conv = conv(tf.constant(image))
    y_lstm, state = lstm(tf.constant(x),
                         snt.LSTMState(tf.constant(prev_h), tf.constant(prev_c)))
    y_bn = batch_norm(tf.constant(x), is_training=False,
                      test_local_stats=False)
    names = {v.op.name for v in tf.global_variables()}
    assert names == set(old)
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, path)  # Default keys: the op names.
      results = sess.run([y_linear, y_conv, y_lstm, state.cell, y_bn,
                          batch_norm.moving_mean, lstm.get_variables()[0]])
  (y_linear, y_conv, y_lstm, cell, y_bn, moving_mean, _) = results
  np.testing.assert_array_equal(moving_mean, old["batch_norm/moving_mean"])

  np.testing.assert_allclose(y_linear, x @ old["linear/w"] + old["linear/b"],
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(
      y_conv, _conv2d_same(image, old["conv_2d/w"]) + old["conv_2d/b"],
      rtol=1e-4, atol=1e-4)
  gates = (np.concatenate([x, prev_h], 1) @ old["lstm/w_gates"]
           + old["lstm/b_gates"])
  i, j, f, o = np.split(gates, 4, axis=1)
  expected_cell = _sigmoid(f + 1.) * prev_c + _sigmoid(i) * np.tanh(j)
  np.testing.assert_allclose(cell, expected_cell, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(y_lstm, np.tanh(expected_cell) * _sigmoid(o),
                             rtol=1e-5, atol=1e-5)
  expected_bn = ((x - old["batch_norm/moving_mean"])
                 / np.sqrt(old["batch_norm/moving_variance"] + 1e-3)
                 + old["batch_norm/beta"])
  np.testing.assert_allclose(y_bn, expected_bn, rtol=1e-5, atol=1e-5)


def test_sonnet1_checkpoint_under_outer_scope_and_4d_batch_norm(tmp_path):
  """Sonnet 1 names under a model scope restore into another scope."""
  rng = np.random.RandomState(3)
  old = {
      "model/batch_norm/beta": rng.randn(1, 1, 1, 2).astype(np.float32),
      "model/batch_norm/gamma": rng.rand(1, 1, 1, 2).astype(np.float32) + .5,
      "model/batch_norm/moving_mean": rng.randn(1, 1, 1, 2).astype(np.float32),
      "model/batch_norm/moving_variance":
          rng.rand(1, 1, 1, 2).astype(np.float32) + .5,
  }
  path = _save_plain_variables(str(tmp_path / "bn"), old)
  x = rng.randn(2, 3, 3, 2).astype(np.float32)
  with tf.Graph().as_default():
    with tf.variable_scope("new_model") as scope:
      batch_norm = snt.BatchNorm(scale=True)
      y = batch_norm(tf.constant(x), is_training=False, test_local_stats=False)
    # Keys relative to "new_model", mapped onto the old "model/" names.
    var_list = {"model/" + key: var for key, var in
                snt.get_normalized_variable_map(scope).items()}
    assert sorted(var_list) == sorted(old)
    with tf.Session() as sess:
      tf.train.Saver(var_list).restore(sess, path)
      y = sess.run(y)
  expected = (old["model/batch_norm/gamma"] * (x - old[
      "model/batch_norm/moving_mean"]) / np.sqrt(
          old["model/batch_norm/moving_variance"] + 1e-3)
              + old["model/batch_norm/beta"])
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_migrated_checkpoint_restores_into_modules(tmp_path):
  """An old checkpoint with ':0' names and another scope, migrated."""
  rng = np.random.RandomState(4)
  w, b = rng.randn(2, 3).astype(np.float32), rng.randn(3).astype(np.float32)
  source = str(tmp_path / "old")
  with tf.Graph().as_default():
    v_w, v_b = tf.Variable(w), tf.Variable(b)
    saver = tf.train.Saver({"agent/linear/w:0": v_w, "agent/linear/b:0": v_b})
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      source = saver.save(sess, source, write_meta_graph=False)
  def snapshot():
    return {name: open(os.path.join(str(tmp_path), name), "rb").read()
            for name in os.listdir(str(tmp_path))
            if os.path.isfile(os.path.join(str(tmp_path), name))}
  before = snapshot()
  target = str(tmp_path / "new" / "model")
  mapping = migrate_checkpoint.migrate(source, target, r"agent/(.*)  policy/\1")
  assert mapping == {"agent/linear/w:0": "policy/linear/w",
                     "agent/linear/b:0": "policy/linear/b"}
  assert snapshot() == before  # Source files and `checkpoint` untouched.
  with tf.Graph().as_default():
    with tf.variable_scope("policy"):
      linear = snt.Linear(3)
      linear(tf.zeros([1, 2]))
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, target)
      np.testing.assert_array_equal(sess.run(linear.w), w)
      np.testing.assert_array_equal(sess.run(linear.b), b)


# --- resuming training --------------------------------------------------------------


def _single_threaded():
  return tf.ConfigProto(intra_op_parallelism_threads=1,
                        inter_op_parallelism_threads=1)


def _batch(step):
  rng = np.random.RandomState(100 + step)
  return (rng.randn(4, 5, 3).astype(np.float32),
          rng.randn(4, 2).astype(np.float32))


def _train(num_steps, first_step=0, restore_from=None, save_to=None):
  """Trains an LSTM + BatchNorm + Linear model with Adam; returns variables."""
  with tf.Graph().as_default():
    tf.set_random_seed(1234)
    inputs = tf.placeholder(tf.float32, [4, 5, 3])
    targets = tf.placeholder(tf.float32, [4, 2])
    lstm = snt.LSTM(6)
    outputs, _ = tf.nn.dynamic_rnn(lstm, inputs, dtype=tf.float32)
    normalized = snt.BatchNorm()(outputs[:, -1], is_training=True)
    prediction = snt.Linear(2)(normalized)
    loss = tf.reduce_mean(tf.square(prediction - targets))
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      train_op = tf.train.AdamOptimizer(0.01).minimize(loss, global_step)
    saver = tf.train.Saver()
    with tf.Session(config=_single_threaded()) as sess:
      if restore_from:
        saver.restore(sess, restore_from)
      else:
        sess.run(tf.global_variables_initializer())
      assert sess.run(global_step) == first_step
      for step in range(first_step, first_step + num_steps):
        x, y = _batch(step)
        sess.run(train_op, {inputs: x, targets: y})
      if save_to:
        saver.save(sess, save_to)
      return {v.op.name: sess.run(v) for v in tf.global_variables()}


def test_resumed_training_is_bit_identical(tmp_path):
  uninterrupted = _train(12)
  prefix = str(tmp_path / "resume")
  interrupted = _train(5, save_to=prefix)
  resumed = _train(7, first_step=5, restore_from=prefix)
  assert sorted(resumed) == sorted(uninterrupted)
  # Adam slots, beta powers, moving statistics and the global step included.
  assert "batch_norm/moving_mean" in resumed
  assert any(name.endswith("/Adam_1") for name in resumed)
  assert resumed["global_step"] == 12
  for name, value in uninterrupted.items():
    assert resumed[name].tobytes() == value.tobytes(), name
  # Training really changed the weights after the interruption.
  assert not np.array_equal(interrupted["linear/w"], resumed["linear/w"])
