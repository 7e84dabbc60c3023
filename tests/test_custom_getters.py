"""Tests of snt.custom_getters (except Bayes by Backprop) and restore_initializer."""

import os
from unittest import mock

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


class Dense(snt.AbstractModule):

  def __init__(self, output_size=2, name="dense", **kwargs):
    super().__init__(name=name, **kwargs)
    self._output_size = output_size

  def _build(self, inputs):
    w = tf.get_variable("w", [inputs.shape[1], self._output_size],
                        initializer=tf.ones_initializer())
    b = tf.get_variable("b", [self._output_size],
                        initializer=tf.zeros_initializer())
    return tf.matmul(inputs, w) + b


@pytest.fixture
def graph():
  with tf.Graph().as_default() as g:
    yield g


def test_package_exports():
  getters = snt.custom_getters
  for name in ("bayes_by_backprop", "Context", "non_trainable",
               "override_args", "override_default_args", "restore_initializer",
               "stop_gradient"):
    assert hasattr(getters, name), name


def test_non_trainable(graph):
  mod = Dense(custom_getter=snt.custom_getters.non_trainable)
  mod(tf.ones([1, 3]))
  assert tf.trainable_variables() == []
  assert len(tf.global_variables()) == 2


def test_non_trainable_does_not_change_existing_variable(graph):
  with tf.variable_scope("s"):
    existing = tf.get_variable("v", [1])
  with tf.variable_scope("s", reuse=True,
                         custom_getter=snt.custom_getters.non_trainable):
    assert tf.get_variable("v", [1]) is existing
  assert tf.trainable_variables() == [existing]


def test_stop_gradient(graph):
  mod = Dense(custom_getter=snt.custom_getters.stop_gradient)
  out = mod(tf.ones([1, 3]))
  assert len(tf.trainable_variables()) == 2
  grads = tf.gradients(tf.reduce_sum(out), tf.trainable_variables())
  assert grads == [None, None]


def test_override_args(graph):
  getter = snt.custom_getters.override_args(trainable=False)
  with tf.variable_scope("s", custom_getter=getter):
    tf.get_variable("v", [1], trainable=True)
  assert tf.trainable_variables() == []


def test_override_default_args(graph):
  getter = snt.custom_getters.override_default_args(
      initializer=tf.constant_initializer(7.), trainable=False)
  with tf.variable_scope("s", custom_getter=getter):
    defaulted = tf.get_variable("a", [1])  # initializer None -> overridden
    explicit = tf.get_variable("b", [1], initializer=tf.zeros_initializer())
  # trainable is passed as True (not None), so the override does not apply.
  assert len(tf.trainable_variables()) == 2
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    assert sess.run(defaulted)[0] == 7.
    assert sess.run(explicit)[0] == 0.


def test_context(graph):
  ctx = snt.custom_getters.Context(snt.custom_getters.stop_gradient)
  mod = Dense(custom_getter=ctx)
  x = tf.ones([1, 3])
  normal = mod(x)
  with ctx:
    with ctx:  # re-entrant
      stopped = mod(x)
    still_stopped = mod(x)
  normal_again = mod(x)
  variables = tf.trainable_variables()

  def has_grads(out):
    return [g is not None for g in tf.gradients(tf.reduce_sum(out), variables)]

  assert has_grads(normal) == [True, True]
  assert has_grads(stopped) == [False, False]
  assert has_grads(still_stopped) == [False, False]
  assert has_grads(normal_again) == [True, True]


def test_context_default_getter_and_verbose(graph):
  ctx = snt.custom_getters.Context(
      snt.custom_getters.stop_gradient, verbose=True,
      default_getter=snt.custom_getters.non_trainable)
  with mock.patch.object(tf.logging, "info") as info:
    Dense(custom_getter=ctx)(tf.ones([1, 3]))
  assert tf.trainable_variables() == []
  assert "default" in info.call_args_list[0][0]
  assert ctx.__enter__() is None


def _write_checkpoint(directory):
  path = os.path.join(directory, "model")
  with tf.Graph().as_default():
    with tf.variable_scope("agent/dense"):
      w = tf.get_variable("w", initializer=np.arange(6.).reshape(3, 2).astype(
          np.float32))
      tf.get_variable("b", initializer=np.array([5., 6.], np.float32))
    with tf.variable_scope("part"):
      tf.get_variable("p", initializer=np.arange(8.).reshape(4, 2).astype(
          np.float32))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, path)
      return path, sess.run(w)


def test_restore_initializer_getter(tmp_path):
  path, expected_w = _write_checkpoint(str(tmp_path))
  with tf.Graph().as_default():
    getter = snt.custom_getters.restore_initializer(
        path, name_fn=lambda name: "agent/" + name)
    mod = Dense(custom_getter=getter)
    mod(tf.ones([1, 3]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w, b = sess.run(mod.get_variables())
    np.testing.assert_array_equal(w, expected_w)
    np.testing.assert_array_equal(b, [5., 6.])


def test_restore_initializer_getter_collection_filter(tmp_path):
  path, _ = _write_checkpoint(str(tmp_path))
  with tf.Graph().as_default():
    getter = snt.custom_getters.restore_initializer(
        path, name_fn=lambda name: "agent/" + name,
        collection=tf.GraphKeys.LOCAL_VARIABLES)
    mod = Dense(custom_getter=getter)
    mod(tf.ones([1, 3]))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      w, _ = sess.run(mod.get_variables())
    np.testing.assert_array_equal(w, np.ones([3, 2]))  # not restored


def test_restore_initializer_scopes(tmp_path):
  path, expected_w = _write_checkpoint(str(tmp_path))
  with tf.Graph().as_default():
    explicit = tf.get_variable(
        "x", shape=[3, 2],
        initializer=snt.restore_initializer(path, "w", scope="agent/dense"))
    with tf.variable_scope("agent/dense"):
      current = tf.get_variable(
          "w", shape=[3, 2], initializer=snt.restore_initializer(path, "w"))
    with tf.variable_scope("other/dense"):
      mapped = tf.get_variable(
          "b", shape=[2], initializer=snt.restore_initializer(
              path, "b", scope=lambda name: name.replace("other", "agent")))
    top = tf.get_variable("y", shape=[3, 2], initializer=snt.restore_initializer(
        path, "agent/dense/w", scope=""))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run([explicit, current, mapped, top])
  np.testing.assert_array_equal(values[0], expected_w)
  np.testing.assert_array_equal(values[1], expected_w)
  np.testing.assert_array_equal(values[2], [5., 6.])
  np.testing.assert_array_equal(values[3], expected_w)


def test_restore_initializer_partitioned(tmp_path):
  path, _ = _write_checkpoint(str(tmp_path))
  with tf.Graph().as_default():
    with tf.variable_scope("part", partitioner=tf.fixed_size_partitioner(2)):
      var = tf.get_variable("p", shape=[4, 2],
                            initializer=snt.restore_initializer(path, "p"))
    assert len(list(var)) == 2
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      parts = sess.run(list(var))
  np.testing.assert_array_equal(np.concatenate(parts),
                                np.arange(8.).reshape(4, 2))


def test_restore_initializer_missing_key(tmp_path):
  path, _ = _write_checkpoint(str(tmp_path))
  with tf.Graph().as_default():
    var = tf.get_variable("nope", shape=[2],
                          initializer=snt.restore_initializer(path, "nope"))
    with tf.Session() as sess:
      with pytest.raises(tf.errors.NotFoundError):
        sess.run(var.initializer)
