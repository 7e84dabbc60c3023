"""Test set-up: Sonnet 1 builds graphs, so the suite runs with eager execution off.

Resource variables stay on (TensorFlow 2's default); tests that need reference
variables (`tf.disable_v2_behavior()`) run that in a subprocess.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

tf.disable_eager_execution()

import numpy as np  # pylint: disable=g-import-not-at-top,g-bad-import-order
import pytest  # pylint: disable=g-import-not-at-top,g-bad-import-order


@pytest.fixture(autouse=True)
def _deterministic_numpy():
  """Seeds NumPy's global generator so test data is the same on every run."""
  np.random.seed(0)


# Every graph built by a test gets graph-level seed 0, so that initial
# weights (and other random ops without an explicit seed) are the same on
# every run: a test's outcome must not depend on an unlucky draw. Random ops
# still produce fresh values on each Session.run, and tests may still call
# tf.set_random_seed themselves.
from tensorflow.python.framework import ops as _tf_ops  # pylint: disable=g-import-not-at-top,g-bad-import-order

_original_graph_init = _tf_ops.Graph.__init__


def _seeded_graph_init(self, *args, **kwargs):
  _original_graph_init(self, *args, **kwargs)
  self.seed = 0


_tf_ops.Graph.__init__ = _seeded_graph_init


def pytest_collection_modifyitems(config, items):
  """Drops tf.test.TestCase's `test_session` helper, which pytest collects.

  It is a session context manager, not a test (it only skips itself).
  """
  helpers = [item for item in items if item.name == "test_session"]
  if helpers:
    config.hook.pytest_deselected(items=helpers)
    items[:] = [item for item in items if item.name != "test_session"]
