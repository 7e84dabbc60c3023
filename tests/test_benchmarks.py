"""Smoke test of benchmarks/resampler.py: it runs and reports every figure.

The speed targets themselves are judged by `make bench`, not here; this keeps
the script (and its check that the op, the composite ops and XLA agree) from
rotting.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_resampler_benchmark_quick_run_reports_every_figure():
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, "benchmarks", "resampler.py"),
       "--quick"], capture_output=True, text=True, timeout=600, cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=ROOT), check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = proc.stdout
  assert re.search(r"memory bandwidth .*: [\d.]+ GB/s", out), out
  for shape in ("[32, 64, 64, 16]", "[8, 256, 256, 3]", "[64, 32, 32, 64]"):
    assert "data " + shape in out, out
  assert len(re.findall(r"^  fwd +op +[\d.]+ ms \| composite", out,
                        re.M)) == 3, out
  assert len(re.findall(r"^  fwd\+bwd +op +[\d.]+ ms", out, re.M)) == 3, out
  assert len(re.findall(r"forward bandwidth: [\d.]+ GB/s = \d+% of copy "
                        r"bandwidth \(bytes counted", out)) == 3, out
  assert len(re.findall(r"threads fwd\+bwd +1: +[\d.]+ ms, 2: +[\d.]+ ms",
                        out)) == 3, out
  assert len(re.findall(r"\(op's kernels; whole session.run: [\d.]+ / "
                        r"[\d.]+ ms", out)) == 6, out
  # The 1- and 2-thread sessions really ran with 1 and 2 threads (each has
  # its own intra-op pool): the second kept more than one CPU busy.
  busy = re.search(r"CPU seconds per wall second in the forward loops: "
                   r"([\d.]+) \(1 thread\), ([\d.]+) \(2 threads\)", out)
  assert busy, out
  assert float(busy.group(2)) > float(busy.group(1)) + 0.15, out
  assert re.search(r"all targets met .*: (yes|NO)", out), out
  if os.path.exists("/proc/stat"):
    assert re.search(r"CPU time stolen by the hypervisor during the run: "
                     r"[\d.]+ s of [\d.]+ CPU-seconds", out), out
