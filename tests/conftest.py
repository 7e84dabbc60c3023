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
