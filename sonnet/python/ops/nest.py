"""`snt.nest`: Sonnet 1's (deprecated) names for TensorFlow's nest utilities.

Each function delegates to `tensorflow.python.util.nest`, whose rules are
Sonnet 1's: lists, tuples, namedtuples, mappings and attrs classes are
structures; mappings (OrderedDict included) flatten in sorted key order and
are rebuilt with their own type and key order. The first use of each name
logs a deprecation warning pointing at TensorFlow's nest.
"""

import functools
import re

import tensorflow.compat.v1 as tf
from tensorflow.python.util import nest as tf_nest

_DONE_WARN = {}


def with_deprecation_warning(fn, extra_message=""):
  """Wraps `fn` so that its first call (per `extra_message`) logs a warning."""
  @functools.wraps(fn)
  def new_fn(*args, **kwargs):
    if extra_message not in _DONE_WARN:
      tf.logging.warning(
          "Sonnet nest is deprecated. Please use tf.nest instead. " +
          extra_message)
      _DONE_WARN[extra_message] = True
    return fn(*args, **kwargs)
  return new_fn


assert_same_structure = with_deprecation_warning(
    tf_nest.assert_same_structure)
flatten = with_deprecation_warning(tf_nest.flatten)
flatten_iterable = with_deprecation_warning(
    tf_nest.flatten, "In addition, `flatten_iterable` is renamed to `flatten`.")
is_sequence = with_deprecation_warning(tf_nest.is_nested)
is_iterable = with_deprecation_warning(
    tf_nest.is_nested,
    "In addition, `is_iterable` is renamed to `is_sequence`.")
def _pack_sequence_as(structure, flat_sequence):
  """`tf.nest.pack_sequence_as`, with Sonnet 1's length-mismatch message."""
  try:
    return tf_nest.pack_sequence_as(structure, flat_sequence)
  except ValueError as e:
    # TF 2.21 says "had N atoms, but flat_sequence had M items"; code written
    # for Sonnet 1 matches "had N elements, but flat_sequence had M elements".
    message = re.sub(
        r"Structure had (\d+) atoms, but flat_sequence had (\d+) items",
        r"Structure had \1 elements, but flat_sequence had \2 elements",
        str(e))
    if message == str(e):
      raise
    raise ValueError(message) from None


pack_sequence_as = with_deprecation_warning(_pack_sequence_as)
map = with_deprecation_warning(  # pylint: disable=redefined-builtin
    tf_nest.map_structure,
    "In addition, `map` is renamed to `map_structure`.")
map_up_to = with_deprecation_warning(
    tf_nest.map_structure_up_to,
    "In addition, `map_up_to` is renamed to `map_structure_up_to`.")
assert_shallow_structure = with_deprecation_warning(
    tf_nest.assert_shallow_structure)
flatten_up_to = with_deprecation_warning(tf_nest.flatten_up_to)
flatten_dict_items = with_deprecation_warning(tf_nest.flatten_dict_items)


@functools.partial(
    with_deprecation_warning,
    extra_message="In addition, `pack_iterable_as` is renamed to "
    "`pack_sequence_as`.")
def pack_iterable_as(structure, flat_iterable):
  """Packs `flat_iterable` into the shape of `structure` (`pack_sequence_as`)."""
  return _pack_sequence_as(structure, flat_iterable)
