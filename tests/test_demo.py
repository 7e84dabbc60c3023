"""Smoke test of the quick-start demo (examples/demo.py)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_loss_goes_down():
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "examples", "demo.py"),
       "--num_steps=200", "--report_every=100"],
      capture_output=True, text=True, timeout=300,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-2000:]
  losses = [float(v) for v in re.findall(r"test loss ([0-9.]+)", result.stdout)]
  assert len(losses) == 3
  assert losses[-1] < 0.5 * losses[0]
  assert "regressor/mlp/linear_0/w  3x64" in result.stdout
