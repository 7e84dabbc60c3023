"""Tests for sonnet/python/modules/sequential.py."""

from unittest import mock

import numpy as np
import pytest
import sonnet as snt
import tensorflow.compat.v1 as tf


@pytest.fixture(autouse=True)
def _fresh_graph():
  with tf.Graph().as_default():
    yield


def test_values_and_variables():
  lin1, lin2 = snt.Linear(4), snt.Linear(2)
  seq = snt.Sequential([lin1, tf.nn.relu, lin2])
  assert seq.layers == (lin1, tf.nn.relu, lin2)
  x = np.random.rand(3, 5).astype(np.float32)
  out = seq(tf.constant(x))
  assert out.get_shape().as_list() == [3, 2]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out_v, w1, b1, w2, b2 = sess.run([out, lin1.w, lin1.b, lin2.w, lin2.b])
  np.testing.assert_allclose(out_v, np.maximum(x.dot(w1) + b1, 0).dot(w2) + b2,
                             rtol=1e-5, atol=1e-5)
  expected = {v.name for v in lin1.variables + lin2.variables}
  assert {v.name for v in seq.get_all_variables()} == expected
  assert {v.name for v in seq.variables} == expected


def test_get_variables_is_empty_and_warns():
  seq = snt.Sequential([snt.Linear(2)])
  seq(tf.zeros([1, 3]))
  with mock.patch.object(tf.logging, "warning") as warning:
    assert seq.get_variables() == ()
  warning.assert_called_once()
  assert "get_all_variables" in warning.call_args[0][0]


def test_tuple_outputs_are_splatted():
  seq = snt.Sequential([lambda a, b: (a + b, a - b), lambda s, d: s * d])
  out = seq(tf.constant(3.0), tf.constant(2.0))
  with tf.Session() as sess:
    assert sess.run(out) == pytest.approx(5.0)


def test_empty_is_identity():
  a, b = tf.zeros([1]), tf.ones([1])
  assert snt.Sequential([])(a) is a
  assert snt.Sequential([])(a, b) == (a, b)


def test_not_callable():
  with pytest.raises(TypeError,
                     match=r"Items 1, 2 not callable with types: int, str"):
    snt.Sequential([tf.identity, 1, "relu"])
