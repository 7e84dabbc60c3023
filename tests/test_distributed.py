"""Cluster tests of examples/distributed_train.py on loopback (127.0.0.1 only).

Each test starts 2 parameter-server and 2 worker processes (each in its own
process group) on free local ports, trains for a bounded number of steps and
kills every process group it started in a `finally`, whatever happened.
"""

import os
import re
import signal
import subprocess
import sys
import time

from google.protobuf import text_format
import pytest
import tensorflow.compat.v1 as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from examples import distributed_train  # pylint: disable=g-import-not-at-top,wrong-import-position

NUM_PS = 2
NUM_WORKERS = 2


class Cluster:
  """The ps and worker tasks of one run, with their logs."""

  def __init__(self, tmp_path, extra_args):
    ports = distributed_train.free_ports(NUM_PS + NUM_WORKERS)
    hosts = ["127.0.0.1:%d" % p for p in ports]
    self.ps_hosts, self.worker_hosts = hosts[:NUM_PS], hosts[NUM_PS:]
    self.tmp_path = tmp_path
    self.checkpoint_dir = str(tmp_path / "train")
    self.extra_args = ["--checkpoint_dir=" + self.checkpoint_dir,
                       "--num_shards=2"] + list(extra_args)
    self.processes = {}
    self.log_paths = {}
    self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                    PYTHONPATH=os.pathsep.join(
                        [ROOT] + os.environ.get("PYTHONPATH", "").split(
                            os.pathsep)))

  def start(self, job, index, attempt=0):
    log_path = self.tmp_path / ("%s%d_%d.log" % (job, index, attempt))
    with open(log_path, "w") as log:
      self.processes[(job, index)] = subprocess.Popen(
          distributed_train.task_command(job, index, self.ps_hosts,
                                         self.worker_hosts, self.extra_args),
          stdout=log, stderr=subprocess.STDOUT, env=self.env,
          start_new_session=True)
    self.log_paths[(job, index)] = log_path

  def start_all(self):
    for i in range(NUM_PS):
      self.start("ps", i)
    for i in range(NUM_WORKERS):
      self.start("worker", i)

  def output(self, job, index):
    with open(self.log_paths[(job, index)]) as f:
      return f.read()

  def all_output(self):
    return "\n".join("=== %s %d\n%s" % (k[0], k[1], self.output(*k)[-3000:])
                     for k in sorted(self.log_paths))

  def kill(self, job, index):
    distributed_train.kill_process_group(self.processes[(job, index)])

  def kill_all(self):
    for process in self.processes.values():
      if process.poll() is None:
        distributed_train.kill_process_group(process)

  def wait_all(self, timeout):
    """Waits for every task to exit 0; fails at the first error or timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
      codes = {k: p.poll() for k, p in self.processes.items()}
      failed = {k: c for k, c in codes.items() if c}
      assert not failed, "tasks failed: %s\n%s" % (failed, self.all_output())
      if all(c == 0 for c in codes.values()):
        return
      time.sleep(0.5)
    pytest.fail("cluster still running after %d s\n%s" %
                (timeout, self.all_output()))


@pytest.fixture
def cluster_factory(tmp_path):
  clusters = []

  def make(*extra_args):
    clusters.append(Cluster(tmp_path, extra_args))
    return clusters[-1]

  yield make
  for cluster in clusters:  # Cleanup also when the test failed.
    cluster.kill_all()


def _losses(output):
  return [float(v) for v in re.findall(r"loss ([0-9.]+)", output)]


def _checkpoint_step(path):
  return int(tf.train.NewCheckpointReader(path).get_tensor("global_step"))


def _check_placement(chief_output):
  placements = re.findall(r"^placement (\S+) (\S+)$", chief_output, re.M)
  assert len(placements) == 9, chief_output  # global_step + 8 model parts.
  tasks_of = {}
  for name, device in placements:
    match = re.fullmatch(r"/job:ps/task:(\d+)", device)
    assert match, "%s is on %s, not on a ps task" % (name, device)
    tasks_of.setdefault(re.sub(r"/part_\d+$", "", name), set()).add(
        int(match.group(1)))
  # The partitioned variables have one part on each ps task.
  for name in ("bow_classifier/embed/embeddings", "bow_classifier/hidden/w",
               "bow_classifier/hidden/b"):
    assert tasks_of[name] == {0, 1}, (name, tasks_of)


def test_sync_training_on_two_ps_shards(cluster_factory):
  train_steps = 60
  cluster = cluster_factory("--sync_replicas", "--train_steps=%d" % train_steps,
                            "--log_every=5", "--save_checkpoint_steps=1000",
                            "--save_summaries_steps=20")
  start = time.time()
  cluster.start_all()
  cluster.wait_all(timeout=150)
  elapsed = time.time() - start

  chief = cluster.output("worker", 0)
  _check_placement(chief)
  losses = _losses(chief)
  assert len(losses) >= 4, chief
  assert losses[-1] < 0.6 * losses[0], losses

  # Synchronous: both workers took part; together they delivered one
  # gradient per worker per global step. A worker's count comes from its
  # "done" line, or, if that line cannot be found, from its last step report,
  # which may lag by up to log_every steps. (The line went missing twice when
  # print() wrote it piecewise and a thread's traceback landed inside it; the
  # example now writes each line at once.) A step that timed out may still
  # have delivered its gradient, so those count too.
  local_steps, slack = [], NUM_WORKERS
  for i in range(NUM_WORKERS):
    output = cluster.output("worker", i)
    done = re.search(r"done worker \d local_steps (\d+)", output)
    if done:
      steps = int(done.group(1))
    else:
      reported = re.findall(r"^worker %d step (\d+) " % i, output, re.M)
      assert reported, "worker %d reported no step:\n%s" % (i, output[-3000:])
      steps = int(reported[-1])
      slack += 5
    local_steps.append(steps + output.count("step timed out"))
  assert min(local_steps) > 0, local_steps
  assert sum(local_steps) >= NUM_WORKERS * train_steps - slack, local_steps

  # The chief's final checkpoint holds the final step and the partitioned
  # variables as whole tensors.
  # Not anchored at the line start: the example writes each of its lines at
  # once, but another thread's output can still precede one on its line.
  final = re.search(r"final_checkpoint (\S+)$", chief, re.M)
  assert final, cluster.all_output()
  final = final.group(1)
  assert _checkpoint_step(final) == train_steps
  shapes = tf.train.NewCheckpointReader(final).get_variable_to_shape_map()
  assert shapes["bow_classifier/embed/embeddings"] == [64, 16]
  assert shapes["bow_classifier/hidden/w"] == [16, 32]
  assert shapes["bow_classifier/hidden/b"] == [32]
  # The graph the chief ran (graph.pbtxt, written by its saver hook): every
  # variable op is on a ps task; the worker-local step counter of
  # SyncReplicasOptimizer (a local variable) is the only one on the worker.
  graph_def = tf.GraphDef()
  with open(os.path.join(cluster.checkpoint_dir, "graph.pbtxt")) as f:
    text_format.Parse(f.read(), graph_def)
  variable_devices = {node.name: node.device for node in graph_def.node
                      if node.op in ("VarHandleOp", "VariableV2")}
  assert len(variable_devices) >= 9, variable_devices
  off_ps = {name: device for name, device in variable_devices.items()
            if not device.startswith("/job:ps/task:")}
  assert list(off_ps) == ["train/sync_rep_local_step"], off_ps
  for i in range(NUM_PS):
    assert "ps %d done" % i in cluster.output("ps", i)
  print("sync run: %.1f s, losses %s" % (elapsed, losses))


def test_killed_chief_resumes_from_its_checkpoint(cluster_factory):
  train_steps, every = 120, 40
  cluster = cluster_factory("--train_steps=%d" % train_steps,
                            "--save_checkpoint_steps=%d" % every,
                            "--log_every=20", "--step_delay_secs=0.05")
  start = time.time()
  cluster.start_all()
  deadline = time.time() + 120
  checkpoint = None
  while time.time() < deadline:
    checkpoint = tf.train.latest_checkpoint(cluster.checkpoint_dir)
    if checkpoint and _checkpoint_step(checkpoint) >= every:
      break
    assert cluster.processes[("worker", 0)].poll() is None, (
        cluster.all_output())
    time.sleep(0.1)
  else:
    pytest.fail("no checkpoint after 120 s\n" + cluster.all_output())

  cluster.kill("worker", 0)  # SIGKILL mid-run: no clean shutdown.
  checkpoint = tf.train.latest_checkpoint(cluster.checkpoint_dir)
  saved_step = _checkpoint_step(checkpoint)
  assert saved_step < train_steps, "killed too late to test anything"
  first_run = cluster.output("worker", 0)
  assert "done worker" not in first_run

  cluster.start("worker", 0, attempt=1)
  cluster.wait_all(timeout=150)
  elapsed = time.time() - start

  restarted = cluster.output("worker", 0)
  assert "restore_from %s\n" % checkpoint in restarted, restarted
  start_step = int(re.search(r"start global_step (\d+)", restarted).group(1))
  # Nothing up to the last checkpoint is lost.
  assert start_step >= saved_step, (start_step, saved_step)
  final = re.search(r"final_checkpoint (\S+)$", restarted, re.M)
  assert final, cluster.all_output()
  final = final.group(1)
  assert _checkpoint_step(final) >= train_steps
  # Loss falls from the first report (either worker) to the chief's last.
  first = (_losses(first_run) + _losses(cluster.output("worker", 1)))[0]
  assert _losses(restarted)[-1] < 0.6 * first, (first, _losses(restarted))
  assert "done worker 1" in cluster.output("worker", 1)
  print("fault run: %.1f s, killed after checkpoint %d, restarted at %d" %
        (elapsed, saved_step, start_step))


def test_cleanup_kills_process_groups(tmp_path):
  # A task that hangs (no ps to talk to) is killed with its group.
  cluster = Cluster(tmp_path, ["--train_steps=10"])
  try:
    cluster.start("worker", 1)
    time.sleep(1.)
    assert cluster.processes[("worker", 1)].poll() is None
  finally:
    cluster.kill_all()
  assert cluster.processes[("worker", 1)].returncode == -signal.SIGKILL
