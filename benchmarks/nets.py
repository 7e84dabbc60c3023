"""Benchmark: snt.nets.MLP/ConvNet2D training steps vs raw tf.compat.v1.

For each model, the same training-step graph (forward pass, loss, plain SGD
update) is written twice: with Sonnet modules and with raw `tf.compat.v1`
ops and `tf.get_variable`. The two are measured in the same process, so the
printed ratios (Sonnet / raw) compare like with like on whatever machine
runs this:

* graph construction: time to build the whole training-step graph in a fresh
  `tf.Graph` (target <= 1.3); also shown for the forward pass alone.
* run time: time of `session.run(train_op)` (target <= 1.02).

The machine may be shared and noisy, so measurements are made robust:
warm-up runs first; the two variants alternate in pairs (in random order
within each pair) so that load changes hit both alike; each run-time sample
is a block of several steps; the reported ratio is the median of the
per-pair ratios, with a bootstrap 95% confidence interval of that median.

Usage: python benchmarks/nets.py [--models mlp,convnet] [--pairs N] ...
"""

import argparse
import os
import random
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top
import numpy as np
import tensorflow.compat.v1 as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import sonnet as snt  # noqa: E402
from sonnet.python.modules import nets  # noqa: E402

tf.disable_eager_execution()
tf.logging.set_verbosity(tf.logging.ERROR)

RUN_TARGET = 1.02
BUILD_TARGET = 1.3

# MLP: 784-[512]x8-10, batch 128.
MLP_SIZES = [512] * 8 + [10]
MLP_IN = 784
MLP_BATCH = 128

# ConvNet2D: 4 SAME 3x3 convolutions on 32x32x3 images, batch 32.
CONV_CHANNELS = [32, 32, 64, 64]
CONV_STRIDES = [1, 2, 1, 2]
CONV_KERNEL = 3
CONV_IMAGE = (32, 32, 3)
CONV_BATCH = 32

LEARNING_RATE = 1e-3


def _truncated_normal(fan_in):
  return tf.truncated_normal_initializer(stddev=1.0 / np.sqrt(fan_in))


# --- models ------------------------------------------------------------------


def mlp_sonnet(inputs):
  return nets.MLP(MLP_SIZES)(inputs)


def mlp_raw(inputs):
  """The MLP in raw TF: same variables, initializers and ops as snt.Linear."""
  net = inputs
  with tf.variable_scope("mlp"):
    for i, size in enumerate(MLP_SIZES):
      with tf.variable_scope("linear_{}".format(i)):
        fan_in = net.get_shape().as_list()[-1]
        w = tf.get_variable("w", [fan_in, size],
                            initializer=_truncated_normal(fan_in))
        b = tf.get_variable("b", [size], initializer=tf.zeros_initializer())
        net = tf.matmul(net, w) + b
      if i != len(MLP_SIZES) - 1:
        net = tf.nn.relu(net)
  return net


def convnet_sonnet(inputs):
  return nets.ConvNet2D(output_channels=CONV_CHANNELS,
                        kernel_shapes=[CONV_KERNEL],
                        strides=CONV_STRIDES,
                        paddings=[snt.SAME],
                        normalize_final=False)(inputs)


def convnet_raw(inputs):
  """The ConvNet2D in raw TF: same variables, initializers and ops."""
  net = inputs
  with tf.variable_scope("conv_net_2d"):
    for i, (channels, stride) in enumerate(zip(CONV_CHANNELS, CONV_STRIDES)):
      with tf.variable_scope("conv_2d_{}".format(i)):
        in_channels = net.get_shape().as_list()[-1]
        shape = [CONV_KERNEL, CONV_KERNEL, in_channels, channels]
        w = tf.get_variable(
            "w", shape,
            initializer=_truncated_normal(np.prod(shape[:-1])))
        b = tf.get_variable("b", [channels],
                            initializer=tf.zeros_initializer())
        net = tf.nn.convolution(net, w, strides=[stride, stride],
                                padding="SAME")
        net = tf.nn.bias_add(net, b)
      if i != len(CONV_CHANNELS) - 1:
        net = tf.nn.relu(net)
  return net


MODELS = {
    # name: (sonnet model, raw model, input shape, steps per timed block)
    "mlp": (mlp_sonnet, mlp_raw, (MLP_BATCH, MLP_IN), 3),
    "convnet": (convnet_sonnet, convnet_raw, (CONV_BATCH,) + CONV_IMAGE, 2),
}


# --- graph building ----------------------------------------------------------


_DATA = {}


def _data(shape):
  """Fixed input batch (generated once, outside the timed region)."""
  if shape not in _DATA:
    _DATA[shape] = np.random.RandomState(0).randn(*shape).astype(np.float32)
  return _DATA[shape]


def build_train_step(model_fn, input_shape, forward_only=False):
  """Builds a training step for `model_fn` in a new graph.

  Returns:
    (graph, train_op) -- `train_op` is the forward output if `forward_only`.
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(0)
    inputs = tf.constant(_data(input_shape))
    outputs = model_fn(inputs)
    if forward_only:
      return graph, outputs
    loss = tf.reduce_mean(tf.square(outputs))
    train_op = tf.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
  return graph, train_op


def _session(graph, threads):
  config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                          inter_op_parallelism_threads=threads)
  return tf.Session(graph=graph, config=config)


# --- statistics --------------------------------------------------------------


def _interleaved_pairs(n_pairs, measure_a, measure_b, rng):
  """Measures a and b in `n_pairs` pairs, random order within each pair."""
  times_a, times_b = [], []
  for _ in range(n_pairs):
    if rng.random() < 0.5:
      times_a.append(measure_a())
      times_b.append(measure_b())
    else:
      times_b.append(measure_b())
      times_a.append(measure_a())
  return np.array(times_a), np.array(times_b)


def _ratio_summary(times_snt, times_raw, rng_seed=0):
  """Median of paired ratios with a bootstrap 95% CI; medians of each side."""
  ratios = times_snt / times_raw
  rng = np.random.RandomState(rng_seed)
  boot = np.median(
      rng.choice(ratios, size=(2000, len(ratios)), replace=True), axis=1)
  return {
      "ratio": float(np.median(ratios)),
      "ci": (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))),
      "ratio_of_medians": float(np.median(times_snt) / np.median(times_raw)),
      "snt": float(np.median(times_snt)),
      "raw": float(np.median(times_raw)),
  }


def _report(label, summary, target, unit_scale, unit):
  verdict = "OK" if summary["ratio"] <= target else "ABOVE TARGET"
  lo, hi = summary["ci"]
  print("  {:<28} ratio {:.3f} (95% CI {:.3f}-{:.3f}; ratio of medians "
        "{:.3f})  snt {:.2f} {u}, raw {:.2f} {u}  target <= {}: {}".format(
            label, summary["ratio"], lo, hi, summary["ratio_of_medians"],
            summary["snt"] * unit_scale, summary["raw"] * unit_scale, target,
            verdict, u=unit))
  return summary["ratio"] <= target


# --- measurements ------------------------------------------------------------


def measure_build(snt_fn, raw_fn, input_shape, pairs, rng, forward_only):
  def timed(fn):
    def measure():
      start = time.perf_counter()
      build_train_step(fn, input_shape, forward_only=forward_only)
      return time.perf_counter() - start
    return measure
  for _ in range(3):  # warm-up: imports, op registrations, caches
    timed(snt_fn)()
    timed(raw_fn)()
  times_snt, times_raw = _interleaved_pairs(pairs, timed(snt_fn),
                                            timed(raw_fn), rng)
  return _ratio_summary(times_snt, times_raw)


def measure_run(snt_fn, raw_fn, input_shape, pairs, steps, warmup, threads,
                rng):
  sessions = []
  for fn in (snt_fn, raw_fn):
    graph, train_op = build_train_step(fn, input_shape)
    with graph.as_default():
      init = tf.global_variables_initializer()
    graph.finalize()
    sess = _session(graph, threads)
    sess.run(init)
    for _ in range(warmup):
      sess.run(train_op)
    sessions.append((sess, train_op))

  def timed(sess, train_op):
    def measure():
      start = time.perf_counter()
      for _ in range(steps):
        sess.run(train_op)
      return (time.perf_counter() - start) / steps
    return measure

  try:
    times_snt, times_raw = _interleaved_pairs(
        pairs, timed(*sessions[0]), timed(*sessions[1]), rng)
  finally:
    for sess, _ in sessions:
      sess.close()
  return _ratio_summary(times_snt, times_raw)


def check_same_graphs(snt_fn, raw_fn, input_shape):
  """Asserts both variants create the same variables and op types (sanity)."""
  def describe(fn):
    graph, _ = build_train_step(fn, input_shape)
    with graph.as_default():
      variables = sorted((v.op.name, tuple(v.get_shape().as_list()))
                         for v in tf.global_variables())
    heavy = sorted(op.type for op in graph.get_operations()
                   if op.type in ("MatMul", "Conv2D", "Conv2DBackpropInput",
                                  "Conv2DBackpropFilter", "BiasAdd", "AddV2",
                                  "Relu", "ReluGrad"))
    return variables, heavy
  snt_vars, snt_ops = describe(snt_fn)
  raw_vars, raw_ops = describe(raw_fn)
  if snt_vars != raw_vars:
    raise AssertionError("variables differ:\n{}\n{}".format(snt_vars,
                                                            raw_vars))
  return snt_ops == raw_ops


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--models", default="mlp,convnet")
  parser.add_argument("--pairs", type=int, default=40,
                      help="interleaved (snt, raw) run-time pairs")
  parser.add_argument("--build_pairs", type=int, default=15,
                      help="interleaved (snt, raw) graph-construction pairs")
  parser.add_argument("--warmup", type=int, default=10,
                      help="untimed training steps per session first")
  parser.add_argument("--steps", type=int, default=0,
                      help="steps per timed block (0: model default)")
  parser.add_argument("--threads", type=int, default=1,
                      help="intra/inter-op threads of each session")
  parser.add_argument("--strict", action="store_true",
                      help="exit with status 1 if a target is missed")
  args = parser.parse_args(argv)

  rng = random.Random(0)
  print("snt.nets benchmark (Sonnet / raw tf.compat.v1; median of {} "
        "interleaved pairs, {} thread(s) per session)".format(
            args.pairs, args.threads))
  all_ok = True
  for name in args.models.split(","):
    snt_fn, raw_fn, input_shape, steps = MODELS[name]
    steps = args.steps or steps
    same_ops = check_same_graphs(snt_fn, raw_fn, input_shape)
    print("{} (input {}; same variables{}):".format(
        name, list(input_shape),
        ", same compute ops" if same_ops else "; compute ops differ"))
    build = measure_build(snt_fn, raw_fn, input_shape, args.build_pairs, rng,
                          forward_only=False)
    all_ok &= _report("graph construction (train)", build, BUILD_TARGET,
                      1e3, "ms")
    forward = measure_build(snt_fn, raw_fn, input_shape, args.build_pairs,
                            rng, forward_only=True)
    _report("graph construction (fwd)", forward, BUILD_TARGET, 1e3, "ms")
    run = measure_run(snt_fn, raw_fn, input_shape, args.pairs, steps,
                      args.warmup, args.threads, rng)
    all_ok &= _report("run time per step", run, RUN_TARGET, 1e3, "ms")
  if args.strict and not all_ok:
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
