"""Benchmark: an LSTM training step with snt.LSTM vs a raw LSTM vs Keras' LSTM.

Shapes: hidden 256, input 128, batch 32, sequence 50 (batch-major inputs).
One training step = forward pass over the sequence, loss mean(outputs^2),
backward pass and an Adam update. Variants, all measured in this process:

* snt:    `snt.LSTM` as the cell of `tf.nn.dynamic_rnn`, tf.train.AdamOptimizer,
          run with `Session.run` (graph mode).
* raw:    a hand-written `tf.compat.v1` LSTM cell (one kernel for [x, h], a
          bias, the same gate equations) in `dynamic_rnn`, same optimizer.
* keras:  `keras.layers.LSTM` (the Keras that ships with TensorFlow) in a
          `tf.function` training step with `keras.optimizers.Adam`, Keras'
          own way of running it.
* snt_fn: `snt.LSTM` in `dynamic_rnn` inside a `tf.function` training step
          with GradientTape and `keras.optimizers.Adam`: exactly Keras'
          harness, so snt_fn/keras compares the two LSTMs like for like.
          (The tape tells the loop's gradient which inputs need no gradient,
          here the data; `tf.gradients`, as used by `optimizer.minimize` in
          graph mode, cannot, so the Session variants also compute the
          gradient with respect to the input sequence.)
* block:  `snt.LSTMBlockCell` (TensorFlow's fused LSTMBlockCell kernel) in
          `dynamic_rnn`, same optimizer.

Printed ratios (time / time): snt/raw (target <= 1.05), snt_fn/keras
(target <= 1.0), snt/keras (information: Session harness vs Keras'),
block/snt (information: the fused CPU kernel).

The machine may be shared and noisy: every variant is warmed up, then the
variants run in rounds (in a random order within each round), each sample a
block of steps; a ratio is the median over rounds of the per-round ratio,
shown with the interquartile range of those per-round ratios.

Usage: python benchmarks/lstm.py [--rounds 25] [--steps_per_sample 2]
       [--threads N] [--variants snt,raw,keras,snt_fn,block] [--strict]
"""

import argparse
import os
import random
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top
import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import sonnet as snt  # noqa: E402

tf.logging.set_verbosity(tf.logging.ERROR)

HIDDEN, INPUT, BATCH, STEPS = 256, 128, 32, 50
LEARNING_RATE = 1e-3
RAW_TARGET = 1.05
KERAS_TARGET = 1.0


class RawLSTMCell(object):
  """A plain hand-written LSTM cell for `tf.nn.dynamic_rnn`."""

  def __init__(self, num_units, forget_bias=1.0):
    self._num_units = num_units
    self._forget_bias = forget_bias

  @property
  def state_size(self):
    return (self._num_units, self._num_units)

  @property
  def output_size(self):
    return self._num_units

  def zero_state(self, batch_size, dtype):
    return (tf.zeros([batch_size, self._num_units], dtype),
            tf.zeros([batch_size, self._num_units], dtype))

  def __call__(self, inputs, state, scope=None):
    del scope
    h, c = state
    input_size = inputs.get_shape().as_list()[1]
    with tf.variable_scope("raw_lstm", reuse=tf.AUTO_REUSE):
      kernel = tf.get_variable(
          "kernel", [input_size + self._num_units, 4 * self._num_units])
      bias = tf.get_variable("bias", [4 * self._num_units],
                             initializer=tf.zeros_initializer())
    gates = tf.matmul(tf.concat([inputs, h], 1), kernel) + bias
    i, j, f, o = tf.split(gates, 4, axis=1)
    new_c = tf.sigmoid(f + self._forget_bias) * c + tf.sigmoid(i) * tf.tanh(j)
    new_h = tf.tanh(new_c) * tf.sigmoid(o)
    return new_h, (new_h, new_c)


def _inputs():
  return np.random.RandomState(0).randn(BATCH, STEPS, INPUT).astype(np.float32)


_SESSION_CONFIG = None


def build_graph_step(make_cell):
  """A `Session.run` training step of `make_cell()` in `dynamic_rnn`."""
  graph = tf.Graph()
  with graph.as_default():
    cell = make_cell()
    outputs, _ = tf.nn.dynamic_rnn(cell, tf.constant(_inputs()),
                                   initial_state=cell.zero_state(
                                       BATCH, tf.float32))
    loss = tf.reduce_mean(tf.square(outputs))
    train_op = tf.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
    init = tf.global_variables_initializer()
  graph.finalize()
  session = tf.Session(graph=graph, config=_SESSION_CONFIG)
  session.run(init)
  return lambda: session.run(train_op)


def build_keras_step():
  """Keras' LSTM layer trained in a `tf.function` (its native execution)."""
  import keras
  layer = keras.layers.LSTM(HIDDEN, return_sequences=True)
  optimizer = keras.optimizers.Adam(LEARNING_RATE)
  inputs = tf2.constant(_inputs())
  layer.build((BATCH, STEPS, INPUT))

  @tf2.function
  def step():
    with tf2.GradientTape() as tape:
      loss = tf2.reduce_mean(tf2.square(layer(inputs)))
    grads = tape.gradient(loss, layer.trainable_variables)
    optimizer.apply_gradients(zip(grads, layer.trainable_variables))
    return loss

  return lambda: step().numpy()


def build_snt_function_step():
  """`snt.LSTM` in `dynamic_rnn`, trained as `build_keras_step` trains Keras."""
  import keras
  lstm = snt.LSTM(HIDDEN)
  optimizer = keras.optimizers.Adam(LEARNING_RATE)
  inputs = tf2.constant(_inputs())

  def loss_fn():
    outputs, _ = tf.nn.dynamic_rnn(
        lstm, inputs, initial_state=lstm.zero_state(BATCH, tf.float32))
    return tf2.reduce_mean(tf2.square(outputs))

  tf2.function(loss_fn)()  # Creates the variables.
  variables = lstm.trainable_variables

  @tf2.function
  def step():
    with tf2.GradientTape() as tape:
      loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return loss

  return lambda: step().numpy()


def measure(fns, rounds, steps_per_sample, warmup=3):
  """Per-step seconds of every variant, sampled in shuffled rounds."""
  for fn in fns.values():
    for _ in range(warmup):
      fn()
  times = {name: [] for name in fns}
  cpu_times = {name: [] for name in fns}
  order = list(fns)
  for _ in range(rounds):
    random.shuffle(order)
    for name in order:
      start, cpu_start = time.perf_counter(), time.process_time()
      for _ in range(steps_per_sample):
        fns[name]()
      times[name].append((time.perf_counter() - start) / steps_per_sample)
      cpu_times[name].append(
          (time.process_time() - cpu_start) / steps_per_sample)
  return ({name: np.array(t) for name, t in times.items()},
          {name: np.array(t) for name, t in cpu_times.items()})


def ratio(times, a, b):
  per_round = times[a] / times[b]
  return (np.median(per_round), np.percentile(per_round, 25),
          np.percentile(per_round, 75))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--rounds", type=int, default=25)
  parser.add_argument("--steps_per_sample", type=int, default=2)
  parser.add_argument("--variants", default="snt,raw,keras,snt_fn,block")
  parser.add_argument("--strict", action="store_true",
                      help="exit with status 1 if a target is missed")
  parser.add_argument("--threads", type=int, default=0,
                      help="intra/inter-op threads of every variant "
                      "(0: TensorFlow's default)")
  args = parser.parse_args()
  random.seed(0)
  if args.threads:
    global _SESSION_CONFIG
    _SESSION_CONFIG = tf.ConfigProto(
        intra_op_parallelism_threads=args.threads,
        inter_op_parallelism_threads=args.threads)
    tf2.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf2.config.threading.set_inter_op_parallelism_threads(args.threads)

  builders = {
      "snt": lambda: build_graph_step(lambda: snt.LSTM(HIDDEN)),
      "raw": lambda: build_graph_step(lambda: RawLSTMCell(HIDDEN)),
      "keras": build_keras_step,
      "snt_fn": build_snt_function_step,
      "block": lambda: build_graph_step(lambda: snt.LSTMBlockCell(HIDDEN)),
  }
  names = args.variants.split(",")
  fns = {name: builders[name]() for name in names}
  print("LSTM training step: hidden {}, input {}, batch {}, sequence {}; "
        "{} rounds x {} steps; threads: {}.".format(
            HIDDEN, INPUT, BATCH, STEPS, args.rounds, args.steps_per_sample,
            args.threads or "default"))
  times, cpu_times = measure(fns, args.rounds, args.steps_per_sample)
  for name in names:
    print("  {:6s} wall median {:7.2f} ms/step (min {:7.2f}); process CPU "
          "median {:7.2f} ms/step".format(
              name, 1e3 * np.median(times[name]), 1e3 * np.min(times[name]),
              1e3 * np.median(cpu_times[name])))
  ok = True
  for a, b, target in (("snt", "raw", RAW_TARGET),
                       ("snt_fn", "keras", KERAS_TARGET),
                       ("snt", "keras", None),
                       ("block", "snt", None)):
    if a not in times or b not in times:
      continue
    med, lo, hi = ratio(times, a, b)
    verdict = ""
    if target is not None:
      verdict = "  target <= {:.2f}: {}".format(
          target, "OK" if med <= target else "MISSED")
      ok &= med <= target
    cpu_med = ratio(cpu_times, a, b)[0]
    print("  {}/{} = {:.3f}  (IQR {:.3f}-{:.3f}; CPU-time ratio {:.3f}){}"
          .format(a, b, med, lo, hi, cpu_med, verdict))
  return 1 if args.strict and not ok else 0


if __name__ == "__main__":
  sys.exit(main())
