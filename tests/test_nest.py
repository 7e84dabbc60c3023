"""Tests of snt.nest: Sonnet 1's ordering rules and its deprecation warnings."""

import collections
from unittest import mock

import numpy as np
import pytest
import sonnet as snt
from sonnet.python.ops import nest as snt_nest
import tensorflow.compat.v1 as tf

A = collections.namedtuple("A", ("b", "c"))
Empty = collections.namedtuple("Empty", ())

STRUCTURE = ["z", A(b=3, c=4),
             {"c": [1, collections.OrderedDict([("b", 3), ("a", 2)])], "b": 5},
             17]


def test_public_names():
  for name in ("assert_same_structure", "flatten", "flatten_iterable",
               "is_sequence", "is_iterable", "pack_sequence_as",
               "pack_iterable_as", "map", "map_up_to",
               "assert_shallow_structure", "flatten_up_to",
               "flatten_dict_items", "with_deprecation_warning"):
    assert callable(getattr(snt.nest, name)), name


def test_flatten_sorts_mappings_including_ordered_dict():
  flat = ["z", 3, 4, 5, 1, 2, 3, 17]
  assert snt.nest.flatten(STRUCTURE) == flat
  assert snt.nest.flatten_iterable(STRUCTURE) == flat


def test_pack_sequence_as_rebuilds_types_and_order():
  flat = list(range(8))
  packed = snt.nest.pack_sequence_as(STRUCTURE, flat)
  assert packed[1] == A(b=1, c=2)
  assert isinstance(packed[1], A)
  ordered = packed[2]["c"][1]
  assert isinstance(ordered, collections.OrderedDict)
  assert list(ordered.items()) == [("b", 6), ("a", 5)]
  assert packed[2]["b"] == 3
  assert snt.nest.pack_iterable_as(STRUCTURE, flat) == packed


def test_pack_sequence_as_errors():
  assert snt.nest.pack_sequence_as("leaf", [5]) == 5
  with pytest.raises(TypeError):
    snt.nest.pack_sequence_as([1], 5)
  with pytest.raises(ValueError):
    snt.nest.pack_sequence_as("leaf", [1, 2])
  with pytest.raises(ValueError, match="Structure had 2 elements, but "
                     "flat_sequence had 3 elements."):
    snt.nest.pack_sequence_as([1, 2], [1, 2, 3])


def test_is_sequence():
  for seq in ([], (), {}, A(1, 2), collections.OrderedDict()):
    assert snt.nest.is_sequence(seq)
    assert snt.nest.is_iterable(seq)
  for leaf in ("abc", 1, np.zeros(3), None):
    assert not snt.nest.is_sequence(leaf)
  with tf.Graph().as_default():
    assert not snt.nest.is_sequence(tf.ones([2]))


def test_map():
  assert snt.nest.map(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)]) == [
      11, (22, 33)]
  assert snt.nest.map(lambda x: x, ()) == ()
  assert snt.nest.map(lambda x: x, []) == []
  assert snt.nest.map(lambda x: x, Empty()) == Empty()
  with pytest.raises(ValueError, match="don't have the same number of "
                     "elements"):
    snt.nest.map(lambda x, y: x, [1, 2], [1])
  with pytest.raises(ValueError, match="Must provide at least one structure"):
    snt.nest.map(lambda: 0)


def test_up_to_functions():
  shallow = [None, None]
  deep = [[1, 2], (3, 4)]
  assert snt.nest.flatten_up_to(shallow, deep) == [[1, 2], (3, 4)]
  assert snt.nest.map_up_to(shallow, len, deep) == [2, 2]
  snt.nest.assert_shallow_structure(shallow, deep)
  with pytest.raises((TypeError, ValueError)):
    snt.nest.assert_shallow_structure([None, None, None], deep)


def test_assert_same_structure():
  snt.nest.assert_same_structure([1, (2, 3)], [4, (5, 6)])
  with pytest.raises(ValueError):
    snt.nest.assert_same_structure([1, (2, 3)], [4, 5])
  with pytest.raises(TypeError):
    snt.nest.assert_same_structure([1, 2], (1, 2))


def test_flatten_dict_items():
  assert snt.nest.flatten_dict_items({("a", "b"): (1, 2), "c": 3}) == {
      "a": 1, "b": 2, "c": 3}


def test_deprecation_warning_once_per_message():
  snt_nest._DONE_WARN.clear()
  with mock.patch.object(tf.logging, "warning") as warning:
    snt.nest.flatten([1])
    snt.nest.flatten([2])
    snt.nest.map(lambda x: x, [1])
    snt.nest.map(lambda x: x, [1])
  assert warning.call_count == 2
  assert "deprecated" in warning.call_args_list[0][0][0]
  assert "map_structure" in warning.call_args_list[1][0][0]
  wrapped = snt.nest.with_deprecation_warning(lambda x: x * 2, "custom note")
  with mock.patch.object(tf.logging, "warning") as warning:
    assert wrapped(2) == 4
    assert wrapped(3) == 6
  warning.assert_called_once()
  assert "custom note" in warning.call_args[0][0]
