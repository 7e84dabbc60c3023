"""What the module system costs: a 20-layer MLP as Sonnet modules vs raw tf.compat.v1.

Both versions build the same graph (same variables, initializers and ops): an
MLP of 20 ReLU layers, a squared loss and an Adam step. We report, in one run,

  * train-step time ratio (Session.run of the Adam step; target <= 1.02),
  * graph-construction time ratio (model + loss + Adam; target <= 1.3).

Timings are interleaved (A, B, B, A, ...) and summarized by medians so that
load from other processes affects both sides alike.

Usage: python benchmarks/overhead.py [--layers 20] [--width 256] [--batch 64]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import sonnet as snt
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()


class Dense(snt.AbstractModule):
  """y = x w + b, written against the base class only."""

  def __init__(self, output_size, name="dense"):
    super().__init__(name=name)
    self._output_size = output_size

  def _build(self, inputs):
    w = tf.get_variable("w", [inputs.shape[1], self._output_size],
                        initializer=tf.glorot_uniform_initializer())
    b = tf.get_variable("b", [self._output_size],
                        initializer=tf.zeros_initializer())
    return tf.matmul(inputs, w) + b


class DeepMLP(snt.AbstractModule):
  """A stack of Dense layers with ReLUs in between, built in `_build`."""

  def __init__(self, sizes, name="deep_mlp"):
    super().__init__(name=name)
    self._sizes = sizes

  def _build(self, inputs):
    outputs = inputs
    for i, size in enumerate(self._sizes):
      outputs = Dense(size, name="dense_%d" % i)(outputs)
      if i + 1 < len(self._sizes):
        outputs = tf.nn.relu(outputs)
    return outputs


def raw_mlp(inputs, sizes):
  """The same network with variable scopes and tf.get_variable."""
  outputs = inputs
  with tf.variable_scope("deep_mlp"):
    for i, size in enumerate(sizes):
      with tf.variable_scope("dense_%d" % i):
        w = tf.get_variable("w", [outputs.shape[1], size],
                            initializer=tf.glorot_uniform_initializer())
        b = tf.get_variable("b", [size], initializer=tf.zeros_initializer())
        outputs = tf.matmul(outputs, w) + b
      if i + 1 < len(sizes):
        outputs = tf.nn.relu(outputs)
  return outputs


def build_graph(kind, sizes, batch, width, model_only=False):
  """Builds the training graph; returns (graph, train_op, loss, init, feeds)."""
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [batch, width], name="x")
    target = tf.placeholder(tf.float32, [batch, sizes[-1]], name="target")
    if kind == "sonnet":
      outputs = DeepMLP(sizes)(x)
    else:
      outputs = raw_mlp(x, sizes)
    if model_only:
      return graph, None, None, None, None
    loss = tf.reduce_mean(tf.square(outputs - target))
    train_op = tf.train.AdamOptimizer(1e-4).minimize(loss)
    init = tf.global_variables_initializer()
  return graph, train_op, loss, init, (x, target)


def time_construction(kind, sizes, batch, width, model_only=False):
  start = time.perf_counter()
  build_graph(kind, sizes, batch, width, model_only)
  return time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--layers", type=int, default=20)
  parser.add_argument("--width", type=int, default=256)
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--construction_reps", type=int, default=15)
  parser.add_argument("--blocks", type=int, default=30)
  parser.add_argument("--steps_per_block", type=int, default=20)
  args = parser.parse_args()
  sizes = [args.width] * args.layers

  kinds = ("sonnet", "raw")
  # Graph construction, interleaved; the first build of each is a warm-up.
  for kind in kinds:
    time_construction(kind, sizes, args.batch, args.width)
  construction = {kind: [] for kind in kinds}
  forward_only = {kind: [] for kind in kinds}
  for rep in range(args.construction_reps):
    order = kinds if rep % 2 == 0 else kinds[::-1]
    for kind in order:
      construction[kind].append(
          time_construction(kind, sizes, args.batch, args.width))
      forward_only[kind].append(
          time_construction(kind, sizes, args.batch, args.width, True))

  # Both graphs must be the same: same number of ops of each type.
  graphs = {kind: build_graph(kind, sizes, args.batch, args.width)
            for kind in kinds}
  op_counts = {kind: sorted(op.type for op in g[0].get_operations())
               for kind, g in graphs.items()}
  same_ops = op_counts["sonnet"] == op_counts["raw"]

  # Train-step time, interleaved blocks of steps in two live sessions.
  rng = np.random.RandomState(0)
  feeds_np = (rng.randn(args.batch, args.width).astype(np.float32),
              rng.randn(args.batch, sizes[-1]).astype(np.float32))
  sessions, feed_dicts = {}, {}
  config = tf.ConfigProto(intra_op_parallelism_threads=1,
                          inter_op_parallelism_threads=1)
  for kind, (graph, train_op, _, init, feeds) in graphs.items():
    sessions[kind] = tf.Session(graph=graph, config=config)
    sessions[kind].run(init)
    feed_dicts[kind] = dict(zip(feeds, feeds_np))
    for _ in range(5):  # warm-up
      sessions[kind].run(train_op, feed_dicts[kind])
  step_times = {kind: [] for kind in kinds}
  for block in range(args.blocks):
    order = kinds if block % 2 == 0 else kinds[::-1]
    for kind in order:
      train_op = graphs[kind][1]
      sess, feed_dict = sessions[kind], feed_dicts[kind]
      start = time.perf_counter()
      for _ in range(args.steps_per_block):
        sess.run(train_op, feed_dict)
      step_times[kind].append(
          (time.perf_counter() - start) / args.steps_per_block)
  for sess in sessions.values():
    sess.close()

  med = {k: statistics.median(v) for k, v in construction.items()}
  fwd = {k: statistics.median(v) for k, v in forward_only.items()}
  step = {k: statistics.median(v) for k, v in step_times.items()}
  print("20-layer MLP overhead benchmark: {} layers of width {}, batch {}"
        .format(args.layers, args.width, args.batch))
  print("  identical op multiset in both graphs: {}".format(same_ops))
  print("  graph construction (model + loss + Adam), median of {}: "
        "sonnet {:.1f} ms, raw {:.1f} ms".format(
            args.construction_reps, 1e3 * med["sonnet"], 1e3 * med["raw"]))
  print("  graph construction (model only), median of {}: "
        "sonnet {:.1f} ms, raw {:.1f} ms (ratio {:.3f})".format(
            args.construction_reps, 1e3 * fwd["sonnet"], 1e3 * fwd["raw"],
            fwd["sonnet"] / fwd["raw"]))
  print("  train step (Session.run), median of {} blocks x {} steps: "
        "sonnet {:.3f} ms, raw {:.3f} ms".format(
            args.blocks, args.steps_per_block, 1e3 * step["sonnet"],
            1e3 * step["raw"]))
  construction_ratio = med["sonnet"] / med["raw"]
  step_ratio = step["sonnet"] / step["raw"]
  print("RATIO train-step time sonnet/raw = {:.3f} (target <= 1.02)".format(
      step_ratio))
  print("RATIO graph construction sonnet/raw = {:.3f} (target <= 1.3)".format(
      construction_ratio))


if __name__ == "__main__":
  main()
