"""The "nth farthest" relational reasoning task (Santoro et al. 2018).

Each sample has `num_objects` random vectors in [-1, 1]^num_features; given a
reference object and a rank n, the label is the index of the object at
position n when the objects are sorted by their distance to the reference.
Each input row is
`[features, one-hot object id, one-hot reference id, one-hot n]`, and the rows
are shuffled.
"""

import numpy as np
import tensorflow.compat.v1 as tf


class NthFarthest(object):
  """Batches: `get_batch()` gives inputs `[B, N, F + 3N]` and labels `[B]`."""

  def __init__(self, batch_size, num_objects, num_features, seed=None):
    self._batch_size = batch_size
    self._num_objects = num_objects
    self._num_features = num_features
    self._rng = np.random.RandomState(seed)

  def _get_single_set(self, num_objects, num_features):
    data = self._rng.uniform(-1, 1, size=(num_objects, num_features))
    distances = np.linalg.norm(data[:, None, :] - data[None, :, :], axis=-1)
    # As in the original task code, the label is column `nth` of the argsort
    # of the reference's distances (ascending, so column 0 is the reference
    # itself).
    order = np.argsort(distances, axis=-1)
    reference = self._rng.randint(num_objects)
    nth = self._rng.randint(num_objects)
    label = order[reference, nth]
    eye = np.eye(num_objects)
    inputs = np.concatenate([
        data, eye,
        np.tile(eye[reference], (num_objects, 1)),
        np.tile(eye[nth], (num_objects, 1))], axis=1)
    permutation = self._rng.permutation(num_objects)
    return inputs[permutation], label

  def _get_batch_data(self):
    pairs = [self._get_single_set(self._num_objects, self._num_features)
             for _ in range(self._batch_size)]
    inputs = np.stack([p[0] for p in pairs]).astype(np.float32)
    labels = np.array([p[1] for p in pairs], dtype=np.float32)
    return inputs, labels

  def get_batch(self):
    """Graph ops yielding a fresh batch each run."""
    inputs, labels = tf.py_func(self._get_batch_data, [],
                                [tf.float32, tf.float32], stateful=True)
    inputs.set_shape([self._batch_size, self._num_objects,
                      self._num_features + 3 * self._num_objects])
    labels.set_shape([self._batch_size])
    return inputs, labels
