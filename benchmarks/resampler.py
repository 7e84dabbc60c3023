"""Speed of the Resampler op against the same sampling from composite TF ops.

For each shape (float32) it times, in one process:
  * op:        snt.resampler (C++ kernel), forward and forward+backward;
  * composite: the same bilinear sampling written with gather / arithmetic
               ops (gradient by autodiff), run plainly;
  * xla:       that composite compiled with XLA (tf.function(jit_compile=True)),
               forward and forward+backward inside one compiled function.
It checks that the three agree, then prints times, speed-ups, the forward
pass's effective bandwidth against this machine's copy bandwidth (a large
array copy measured in the same run) and the op's 1 -> 2 thread speed-up.
TensorFlow shares one intra-op thread pool per process, sized at its first
session, so the thread counts are compared in a child process where
TF_OVERRIDE_GLOBAL_THREADPOOL=1 gives each session its own pool: 1 and 2
threads alternate there, and the speed-up is that of the op's own kernel
time (from the step stats), with the whole session.run's printed beside it.

Warps are smooth (a rotated, scaled sampling grid plus small jitter, as a
spatial transformer makes), mostly inside the image. Times are the best of
several repeats of a loop of runs (robust to other load on the machine).

  python benchmarks/resampler.py [--quick]

`make bench` also times the same CPU loops outside TensorFlow, one and two
threads and each instruction set interleaved
(sonnet/cc/tests/resampler_cpu_check.cc --bench).
"""
import json
import os
import subprocess
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

tf.disable_eager_execution()

from sonnet.python.ops import resampler as resampler_lib  # pylint: disable=g-import-not-at-top

SHAPES = [  # (data shape, warp shape)
    ((32, 64, 64, 16), (32, 64, 64, 2)),
    ((8, 256, 256, 3), (8, 256, 256, 2)),
    ((64, 32, 32, 64), (64, 16, 16, 2)),
]
TARGET_SPEEDUP = 5.0
TARGET_BANDWIDTH = 0.40
TARGET_THREADS = 1.7


def composite_resampler(data, warp):
  """Bilinear sampling as resampler.md §4, from gather and arithmetic ops."""
  shape = tf.shape(data)
  batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
  points_shape = tf.shape(warp)[:-1]
  warp = tf.reshape(warp, [batch, -1, 2])
  x, y = warp[..., 0], warp[..., 1]
  w_f = tf.cast(width, data.dtype)
  h_f = tf.cast(height, data.dtype)
  inside = tf.cast((x > -1) & (y > -1) & (x < w_f) & (y < h_f), data.dtype)
  fx, fy = tf.floor(x), tf.floor(y)
  dx, dy = (fx + 1 - x) * inside, (fy + 1 - y) * inside
  flat = tf.reshape(data, [-1, channels])
  base = tf.range(batch)[:, None] * height * width
  fxi, fyi = tf.cast(fx, tf.int32), tf.cast(fy, tf.int32)

  def corner(xi, yi):
    valid = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
    index = base + tf.clip_by_value(yi, 0, height - 1) * width + (
        tf.clip_by_value(xi, 0, width - 1))
    return tf.gather(flat, index) * tf.cast(valid, data.dtype)[..., None]

  inv_dx, inv_dy = (1 - dx) * inside, (1 - dy) * inside
  out = ((dx * dy)[..., None] * corner(fxi, fyi) +
         (inv_dx * inv_dy)[..., None] * corner(fxi + 1, fyi + 1) +
         (dx * inv_dy)[..., None] * corner(fxi, fyi + 1) +
         (inv_dx * dy)[..., None] * corner(fxi + 1, fyi))
  return tf.reshape(out, tf.concat([points_shape, [channels]], 0))


def smooth_warp(rng, warp_shape, height, width):
  batch, rows, cols = warp_shape[0], warp_shape[1], warp_shape[2]
  v, u = np.meshgrid(np.linspace(-1, 1, rows), np.linspace(-1, 1, cols),
                     indexing="ij")
  warp = np.empty(warp_shape)
  for b in range(batch):
    angle = rng.uniform(-0.3, 0.3)
    scale = rng.uniform(0.8, 1.0)
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    xs = cos * u - sin * v + rng.uniform(-0.05, 0.05)
    ys = sin * u + cos * v + rng.uniform(-0.05, 0.05)
    warp[b, ..., 0] = (xs + 1) / 2 * (width - 1)
    warp[b, ..., 1] = (ys + 1) / 2 * (height - 1)
  warp += rng.uniform(-0.3, 0.3, warp.shape)
  return warp.astype(np.float32)


CPU_TIMES = {}  # Best process CPU time per call, keyed like the results.
# Many short loops rather than a few long ones: on a shared machine the
# best short loop finds the quiet spells that a long loop averages away.
REPEATS = 15


def best_time(run, min_seconds, repeats=REPEATS, key=None):
  """Best per-call wall time over `repeats` loops each >= min_seconds.

  With `key`, also records the best process CPU time per call (all threads)
  in CPU_TIMES: a measure of work done that other load on the machine
  barely disturbs.
  """
  run()
  run()
  start = time.perf_counter()
  run()
  once = max(time.perf_counter() - start, 1e-6)
  loops = max(1, int(min_seconds / once))
  best = best_cpu = float("inf")
  for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(loops):
      run()
    best = min(best, (time.perf_counter() - start) / loops)
    best_cpu = min(best_cpu, (time.process_time() - start_cpu) / loops)
  if key is not None:
    CPU_TIMES[key] = best_cpu
  return best


def copy_bandwidth(min_seconds):
  """Bytes/s of a large array copy (read + write), best of 1 and 2 threads."""
  n = 64 * 2 ** 20  # 256 MiB of float32 per array.
  src = np.ones(n, np.float32)
  dst = np.empty_like(src)

  def copy_with(threads):
    bounds = np.linspace(0, n, threads + 1).astype(int)

    def part(i):
      np.copyto(dst[bounds[i]:bounds[i + 1]], src[bounds[i]:bounds[i + 1]])

    def run():
      workers = [threading.Thread(target=part, args=(i,))
                 for i in range(threads)]
      for w in workers:
        w.start()
      for w in workers:
        w.join()
    return 2 * src.nbytes / best_time(run, min_seconds)

  return max(copy_with(1), copy_with(2))


def steal_seconds():
  """CPU time the hypervisor gave to other guests while this machine's CPUs
  wanted it (Linux /proc/stat "steal", all CPUs), or None elsewhere."""
  try:
    with open("/proc/stat") as f:
      fields = f.readline().split()
  except OSError:
    return None
  if fields[0] != "cpu" or len(fields) < 9:
    return None
  return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def session(threads):
  return tf.Session(config=tf.ConfigProto(
      intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1,
      use_per_session_threads=True))


def shape_inputs(data_shape, warp_shape):
  """The same data, smooth warp and output gradient for every measurement."""
  rng = np.random.RandomState(0)
  data_np = rng.uniform(size=data_shape).astype(np.float32)
  warp_np = smooth_warp(rng, warp_shape, data_shape[1], data_shape[2])
  grad_np = rng.uniform(
      size=warp_shape[:-1] + data_shape[-1:]).astype(np.float32)
  return data_np, warp_np, grad_np


def bench_shape(data_shape, warp_shape, min_seconds, threads):
  data_np, warp_np, grad_np = shape_inputs(data_shape, warp_shape)
  results = {}
  with tf.Graph().as_default():
    data_v = tf.Variable(data_np)
    warp_v = tf.Variable(warp_np)
    grad_v = tf.Variable(grad_np)
    data, warp, grad = (v.read_value() for v in (data_v, warp_v, grad_v))

    def fwd_bwd(fn):
      def run(d, w, g):
        out = fn(d, w)
        return [out] + tf.gradients(out, [d, w], g)
      return run

    op_out = resampler_lib.resampler(data, warp)
    graphs = {
        "op": (op_out, fwd_bwd(resampler_lib.resampler)(data, warp, grad)),
        "composite": (composite_resampler(data, warp),
                      fwd_bwd(composite_resampler)(data, warp, grad)),
    }
    xla_fwd = tf.function(composite_resampler, jit_compile=True)

    @tf.function(jit_compile=True)
    def xla_fwd_bwd(d, w, g):
      with tf.GradientTape() as tape:
        tape.watch([d, w])
        out = composite_resampler(d, w)
      return [out] + tape.gradient(out, [d, w], g)

    graphs["xla"] = (xla_fwd(data, warp), xla_fwd_bwd(data, warp, grad))
    init = tf.global_variables_initializer()
    with session(threads) as sess:
      sess.run(init)
      # Same sampling, same gradients, before anything is timed.
      values = {k: sess.run(v) for k, v in graphs.items()}
      for name in ("composite", "xla"):
        np.testing.assert_allclose(values[name][0], values["op"][0],
                                   atol=1e-4, rtol=1e-4)
        for got, want in zip(values[name][1], values["op"][1]):
          np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)
      # Run the producing ops as targets: fetching the tensors would add a
      # copy to NumPy, and a tf.group of stateless ops is pruned by grappler
      # (it would time nothing).
      for name, (fwd, both) in graphs.items():
        fwd_op, both_ops = fwd.op, list({t.op for t in both})
        results[name, "fwd"] = best_time(lambda: sess.run(fwd_op),
                                         min_seconds, key=(name, "fwd"))
        results[name, "fwd+bwd"] = best_time(lambda: sess.run(both_ops),
                                             min_seconds,
                                             key=(name, "fwd+bwd"))
  # The output has the shape and dtype of its gradient.
  nbytes = data_np.nbytes + warp_np.nbytes + grad_np.nbytes
  return results, nbytes


def kernel_time(sess, fetches, runs):
  """Best time of the op's own kernels in one run of `fetches`: the sum of
  the Resampler / ResamplerGrad kernel times in the session's step stats,
  best of `runs` traced runs. This leaves out what every session.run costs
  whatever the op (Python, the executor, the variable reads), which no
  number of intra-op threads speeds up."""
  names = {op.name for op in sess.graph.get_operations()
           if op.type in ("Resampler", "ResamplerGrad")}
  options = tf.RunOptions(trace_level=tf.RunOptions.SOFTWARE_TRACE)
  best = float("inf")
  for _ in range(runs):
    metadata = tf.RunMetadata()
    sess.run(fetches, options=options, run_metadata=metadata)
    micros = sum(node.all_end_rel_micros
                 for dev in metadata.step_stats.dev_stats
                 for node in dev.node_stats if node.node_name in names)
    best = min(best, micros * 1e-6)
  return best


def op_thread_times(threads, min_seconds, rounds):
  """Op times per shape with 1 and `threads` intra-op threads, both in this
  process, alternating `rounds` times so that a busy spell of the machine
  hits both alike. Needs TF_OVERRIDE_GLOBAL_THREADPOOL=1 before TensorFlow
  makes its first session: without it TensorFlow shares one intra-op pool
  per process, sized by the first session, and every session would run
  with that many threads.

  Returns {(t, shape index, kind): (session.run wall time, kernel time)},
  each the best seen, and {t: CPU seconds per wall second during the
  forward loops}, which shows how many threads really worked.
  """
  if os.environ.get("TF_OVERRIDE_GLOBAL_THREADPOOL") != "1":
    raise RuntimeError("op_thread_times needs TF_OVERRIDE_GLOBAL_THREADPOOL=1")
  best, busy = {}, {}
  for k, (data_shape, warp_shape) in enumerate(SHAPES):
    with tf.Graph().as_default():
      data, warp, grad = (tf.Variable(v).read_value()
                          for v in shape_inputs(data_shape, warp_shape))
      out = resampler_lib.resampler(data, warp)
      both = [out.op] + [t.op for t in tf.gradients(out, [data, warp], grad)]
      sessions = {t: session(t) for t in (1, threads)}
      for sess in sessions.values():
        sess.run(tf.global_variables_initializer())
      for _ in range(rounds):
        for t, sess in sessions.items():
          for kind, fetches in (("fwd", out.op), ("fwd+bwd", both)):
            start, start_cpu = time.perf_counter(), time.process_time()
            wall = best_time(lambda: sess.run(fetches), min_seconds / 4,
                             repeats=3)
            if kind == "fwd":
              spent = (time.process_time() - start_cpu,
                       time.perf_counter() - start)
              cpu, elapsed = busy.get(t, (0.0, 0.0))
              busy[t] = (cpu + spent[0], elapsed + spent[1])
            kernel = kernel_time(sess, fetches, 10)
            old = best.get((t, k, kind), (float("inf"), float("inf")))
            best[t, k, kind] = (min(old[0], wall), min(old[1], kernel))
      for sess in sessions.values():
        sess.close()
  return best, {t: cpu / elapsed for t, (cpu, elapsed) in busy.items()}


def thread_scaling(min_seconds, threads, rounds):
  """op_thread_times() in a child process with TF_OVERRIDE_GLOBAL_THREADPOOL
  set (this process's pool is already sized)."""
  proc = subprocess.run(
      [sys.executable, os.path.abspath(__file__), "--op-times", str(threads),
       str(min_seconds), str(rounds)], check=True, capture_output=True,
      text=True, env=dict(os.environ, TF_OVERRIDE_GLOBAL_THREADPOOL="1"))
  best, busy = json.loads(proc.stdout.strip().splitlines()[-1])
  return ({tuple(json.loads(k)): tuple(v) for k, v in best.items()},
          {int(t): v for t, v in busy.items()})


def main(argv):
  if argv[1:2] == ["--op-times"]:  # Child of thread_scaling().
    best, busy = op_thread_times(int(argv[2]), float(argv[3]), int(argv[4]))
    print(json.dumps([{json.dumps(k): v for k, v in best.items()}, busy]))
    return
  quick = "--quick" in argv
  min_seconds = 0.03 if quick else 0.08
  start, start_steal = time.perf_counter(), steal_seconds()
  threads = 2
  session(threads).close()  # The first session sizes the intra-op pool.
  print("Resampler benchmark, float32, best of {} loops of >= {:.2f}s; "
        "sessions with {} intra-op threads (machine has {} CPUs)".format(
            REPEATS, min_seconds, threads, os.cpu_count()))
  if hasattr(os, "getloadavg"):
    print("load average before the run: {:.1f} (other work on the machine "
          "inflates wall times; CPU-time ratios are printed too)".format(
              os.getloadavg()[0]))
  bandwidth = copy_bandwidth(min_seconds)
  print("memory bandwidth (256 MiB array copy, bytes read + written, best of "
        "1 and 2 threads): {:.2f} GB/s".format(bandwidth / 1e9))
  met = True
  rounds = 2 if quick else 8
  scaling, busy = thread_scaling(min_seconds, threads, rounds)
  print("thread scaling: sessions with 1 and {} intra-op threads alternating "
        "in one process, {} rounds; the target is judged on the op's own "
        "kernel time (session step stats). CPU seconds per wall second in "
        "the forward loops: {:.2f} (1 thread), {:.2f} ({} threads)".format(
            threads, rounds, busy[1], busy[threads], threads))
  for k, (data_shape, warp_shape) in enumerate(SHAPES):
    r, nbytes = bench_shape(data_shape, warp_shape, min_seconds, threads)
    print("\ndata {} warp {}".format(list(data_shape), list(warp_shape)))
    for kind in ("fwd", "fwd+bwd"):
      op = r["op", kind]
      comp = r["composite", kind]
      xla = r["xla", kind]
      ok = comp / op >= TARGET_SPEEDUP and xla / op > 1
      met &= ok
      print("  {:8s} op {:8.3f} ms | composite {:8.3f} ms ({:5.1f}x op) | "
            "xla {:8.3f} ms ({:5.1f}x op, xla {:4.1f}x faster than composite)"
            " {}".format(kind, op * 1e3, comp * 1e3, comp / op, xla * 1e3,
                         xla / op, comp / xla, "ok" if ok else "MISSED"))
      cpu = {k: CPU_TIMES[k, kind] for k in ("op", "composite", "xla")}
      print("  {:8s} CPU time per call: op {:8.3f} ms | composite {:8.3f} ms"
            " ({:5.1f}x op) | xla {:8.3f} ms ({:5.1f}x op)".format(
                "", cpu["op"] * 1e3, cpu["composite"] * 1e3,
                cpu["composite"] / cpu["op"], cpu["xla"] * 1e3,
                cpu["xla"] / cpu["op"]))
    fraction = nbytes / r["op", "fwd"] / bandwidth
    ok = fraction >= TARGET_BANDWIDTH
    met &= ok
    print("  forward bandwidth: {:.2f} GB/s = {:.0%} of copy bandwidth "
          "(bytes counted: data + warp + output, each once = {:.1f} MB) {}"
          .format(nbytes / r["op", "fwd"] / 1e9, fraction, nbytes / 1e6,
                  "ok" if ok else "MISSED"))
    for kind in ("fwd", "fwd+bwd"):
      (one_wall, one), (two_wall, two) = (scaling[1, k, kind],
                                          scaling[threads, k, kind])
      ok = one / two >= TARGET_THREADS
      met &= ok
      print("  threads {:8s} 1: {:8.3f} ms, {}: {:8.3f} ms -> {:.2f}x {} "
            "(op's kernels; whole session.run: {:.3f} / {:.3f} ms -> {:.2f}x)"
            .format(kind, one * 1e3, threads, two * 1e3, one / two,
                    "ok" if ok else "MISSED", one_wall * 1e3,
                    two_wall * 1e3, one_wall / two_wall))
  print("\nall targets met (>= {}x composite, faster than xla, >= {:.0%} of "
        "copy bandwidth, >= {}x from 2 threads): {}".format(
            TARGET_SPEEDUP, TARGET_BANDWIDTH, TARGET_THREADS,
            "yes" if met else "NO (on a shared machine, rerun to confirm)"))
  if start_steal is not None:
    # Steal time is a virtual machine's neighbours taking its CPUs: wall
    # times of a run with much of it are not to be trusted.
    stolen = steal_seconds() - start_steal
    available = os.cpu_count() * (time.perf_counter() - start)
    print("CPU time stolen by the hypervisor during the run: {:.1f} s of {:.0f}"
          " CPU-seconds ({:.1%})".format(stolen, available, stolen / available))

if __name__ == "__main__":
  main(sys.argv)
