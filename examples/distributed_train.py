r"""Distributed training of a Sonnet model on TensorFlow's parameter servers.

A bag-of-words classifier (`snt.Embed` -> mean -> `snt.Linear` -> ReLU ->
`snt.Linear`) learns synthetic token sequences with between-graph
replication: every worker builds the same graph under
`tf.train.replica_device_setter`, so variables live on the parameter-server
(ps) tasks and computation on the worker. The `Embed` table and the hidden
`Linear` weights and bias are split with the modules' `partitioners`
argument into `--num_shards` partitions; round-robin placement puts
consecutive partitions on different ps tasks. Training is asynchronous, or
synchronous with `--sync_replicas` (`tf.train.SyncReplicasOptimizer`
aggregating one gradient per worker per step). The chief (worker 0) writes
checkpoints, the graph and scalar summaries to `--checkpoint_dir`; a
restarted chief restores the latest checkpoint.

Run a whole cluster (2 ps + 2 workers as separate processes on 127.0.0.1):

    python examples/distributed_train.py --checkpoint_dir=/tmp/dist \
        --num_ps=2 --num_workers=2 --train_steps=400 [--sync_replicas]

or each task by hand (same flags on every task):

    python examples/distributed_train.py --job_name=ps --task_index=0 \
        --ps_hosts=127.0.0.1:2222,127.0.0.1:2223 \
        --worker_hosts=127.0.0.1:2224,127.0.0.1:2225 --checkpoint_dir=/tmp/dist
    ... --job_name=ps --task_index=1 ...
    ... --job_name=worker --task_index=0 ...   # the chief
    ... --job_name=worker --task_index=1 ...

`--job_name=single` trains in this process without a cluster. Ps tasks
exit once every worker has reported (through a queue on each ps) that it has
finished, so a cluster run ends by itself.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from absl import app
from absl import flags
import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

FLAGS = flags.FLAGS

_DONE_QUEUE = "done_queue_{}"


def define_flags():
  """Defines the command-line flags (called only when run as a script)."""
  flags.DEFINE_enum("job_name", "launch", ["launch", "single", "ps", "worker"],
                    "'launch' starts a local cluster of subprocesses; "
                    "'ps'/'worker' run one task; 'single' runs without one.")
  flags.DEFINE_integer("task_index", 0, "Index of this task in its job.")
  flags.DEFINE_string("ps_hosts", "", "Comma-separated host:port of ps tasks.")
  flags.DEFINE_string("worker_hosts", "",
                      "Comma-separated host:port of worker tasks.")
  flags.DEFINE_integer("num_ps", 2, "Ps tasks to start (launch mode).")
  flags.DEFINE_integer("num_workers", 2, "Workers to start (launch mode).")
  flags.DEFINE_integer("num_shards", 2,
                       "Partitions of the Embed and hidden Linear variables.")
  flags.DEFINE_bool("sync_replicas", False,
                    "Aggregate one gradient per worker per step.")
  flags.DEFINE_integer("train_steps", 400, "Global steps to train for.")
  flags.DEFINE_integer("batch_size", 32, "Examples per worker step.")
  flags.DEFINE_float("learning_rate", 0.5, "Gradient descent learning rate.")
  flags.DEFINE_string("checkpoint_dir", "/tmp/snt_distributed",
                      "Checkpoints and summaries (written by the chief).")
  flags.DEFINE_integer("save_checkpoint_steps", 100,
                       "Global steps between checkpoints.")
  flags.DEFINE_integer("save_summaries_steps", 20,
                       "Global steps between scalar summaries.")
  flags.DEFINE_integer("log_every", 50, "Local steps between loss reports.")
  flags.DEFINE_float("step_delay_secs", 0.,
                     "Sleep after each step (paces runs for fault tests).")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.DEFINE_float("sync_step_timeout_secs", 10.,
                     "Synchronous mode: a step that waits longer for the "
                     "other workers is retried, or ends training if the last "
                     "step has been reached.")
  flags.DEFINE_integer("launch_timeout_secs", 600,
                       "Launch mode: kill the cluster after this long.")


# --- model and data ------------------------------------------------------------

VOCAB_SIZE = 64
NUM_CLASSES = 4
SEQUENCE_LENGTH = 8


class BagOfWordsClassifier(snt.AbstractModule):
  """Token ids [B, T] -> class logits [B, num_classes].

  Embeds each token, averages over time, and applies an MLP with one hidden
  layer. With `num_shards > 1` the embedding table and the hidden layer's
  `w` and `b` are each split into `num_shards` partitions along axis 0.
  """

  def __init__(self, vocab_size=VOCAB_SIZE, embed_dim=16, hidden_size=32,
               num_classes=NUM_CLASSES, num_shards=2, name="bow_classifier"):
    super().__init__(name=name)
    self._vocab_size = vocab_size
    self._embed_dim = embed_dim
    self._hidden_size = hidden_size
    self._num_classes = num_classes
    self._num_shards = num_shards

  def _build(self, ids):
    # The submodules are made here rather than in the constructor under
    # `_enter_variable_scope()`: entering the scope there would use up the
    # name scope "bow_classifier", and the ops of this first connection
    # would land in "bow_classifier_1", apart from the variables. Built here,
    # variables and ops share one collapsible TensorBoard node (later
    # connections reuse the variables through the module's template).
    if self._num_shards > 1:
      partitioner = tf.fixed_size_partitioner(self._num_shards)
      embed_partitioners = {"embeddings": partitioner}
      hidden_partitioners = {"w": partitioner, "b": partitioner}
    else:
      embed_partitioners = hidden_partitioners = None
    embed = snt.Embed(self._vocab_size, self._embed_dim,
                      partitioners=embed_partitioners)
    hidden = snt.Linear(self._hidden_size, partitioners=hidden_partitioners,
                        name="hidden")
    logits = snt.Linear(self._num_classes, name="logits")
    pooled = tf.reduce_mean(embed(ids), axis=1)
    return logits(tf.nn.relu(hidden(pooled)))


def make_batch(rng, batch_size):
  """Synthetic data: tokens of class y (token % NUM_CLASSES == y) dominate."""
  labels = rng.randint(NUM_CLASSES, size=batch_size)
  same_class = labels[:, None] + NUM_CLASSES * rng.randint(
      VOCAB_SIZE // NUM_CLASSES, size=(batch_size, SEQUENCE_LENGTH))
  noise = rng.randint(VOCAB_SIZE, size=(batch_size, SEQUENCE_LENGTH))
  ids = np.where(rng.rand(batch_size, SEQUENCE_LENGTH) < 0.6, same_class,
                 noise)
  return ids.astype(np.int64), labels.astype(np.int64)


def build_graph(num_ps, num_workers, num_shards, sync_replicas, is_chief,
                learning_rate, worker_device=None):
  """Builds model, loss, summaries and train op under the device setter.

  Returns:
    dict with `ids`, `labels` (placeholders), `loss`, `accuracy`,
    `train_op`, `global_step`, `model` and `hooks` (session hooks needed by
    the optimizer).
  """
  hooks = []
  device_fn = tf.train.replica_device_setter(
      ps_tasks=num_ps, worker_device=worker_device) if num_ps else None
  with tf.device(device_fn):
    global_step = tf.train.get_or_create_global_step()
    ids = tf.placeholder(tf.int64, [None, SEQUENCE_LENGTH], name="ids")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    model = BagOfWordsClassifier(num_shards=num_shards)
    logits = model(ids)
    with tf.name_scope("objective"):
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
          labels=labels, logits=logits))
      accuracy = tf.reduce_mean(tf.cast(
          tf.equal(tf.argmax(logits, axis=1), labels), tf.float32))
    tf.summary.scalar("loss", loss)
    tf.summary.scalar("accuracy", accuracy)
    with tf.name_scope("train"):
      optimizer = tf.train.GradientDescentOptimizer(learning_rate)
      if sync_replicas:
        optimizer = tf.train.SyncReplicasOptimizer(
            optimizer, replicas_to_aggregate=num_workers,
            total_num_replicas=num_workers)
        hooks.append(optimizer.make_session_run_hook(is_chief))
      train_op = optimizer.minimize(loss, global_step=global_step)
  return dict(ids=ids, labels=labels, loss=loss, accuracy=accuracy,
              train_op=train_op, global_step=global_step, model=model,
              hooks=hooks)


def _quiet_cancelled_queue_runner(args):
  """threading.excepthook: at the end of synchronous training the session
  closes while SyncReplicasOptimizer's token-queue runner is still enqueuing,
  and that thread dies with CancelledError. Expected: one line, no
  traceback. Anything else goes to the default hook."""
  if (issubclass(args.exc_type, tf.errors.CancelledError) and
      args.thread is not None and
      args.thread.name.startswith("QueueRunnerThread")):
    _print("queue runner", args.thread.name, "cancelled at session close")
    return
  threading.__excepthook__(args)


def _print(*args):
  # One write per line: with PYTHONUNBUFFERED, print() writes each argument
  # separately, and a queue-runner thread's traceback on stderr (the same
  # file in the tests) was seen landing inside a status line.
  sys.stdout.write(" ".join(str(a) for a in args) + "\n")
  sys.stdout.flush()


def train(target, task_index, num_ps, num_workers, num_shards, sync_replicas,
          train_steps, batch_size, learning_rate, checkpoint_dir,
          save_checkpoint_steps, save_summaries_steps, log_every,
          step_delay_secs=0., seed=0, config=None, worker_device=None,
          sync_step_timeout_secs=10.):
  """Trains until the global step reaches `train_steps`; worker 0 is chief.

  Prints `placement <variable> <device>` for every global variable (chief
  only), `restore_from <checkpoint or none>` (chief), `start global_step <n>`,
  `worker <i> step <local> global_step <n> loss <mean over the last
  log_every steps>`, `done ...` and `final_checkpoint <path>` (chief).

  Returns:
    (list of reported mean losses, last global step read).
  """
  is_chief = task_index == 0
  tf.set_random_seed(seed)
  graph = build_graph(num_ps, num_workers, num_shards, sync_replicas,
                      is_chief, learning_rate, worker_device)
  if is_chief:
    for var in tf.global_variables():
      _print("placement", var.op.name, var.device or "(local)")
    restored = checkpoint_dir and tf.train.latest_checkpoint(checkpoint_dir)
    _print("restore_from", restored or "none")
  if target and not is_chief:
    _wait_for_chief(target, config)
  rng = np.random.RandomState(seed + 1000 * (task_index + 1))
  hooks = graph["hooks"] + [tf.train.StopAtStepHook(last_step=train_steps)]
  losses, window = [], []
  local_step = 0
  global_step = None
  with tf.train.MonitoredTrainingSession(
      master=target, is_chief=is_chief, checkpoint_dir=checkpoint_dir,
      hooks=hooks, save_checkpoint_steps=save_checkpoint_steps,
      save_summaries_steps=save_summaries_steps, log_step_count_steps=100,
      # In synchronous mode the chief's queue runner is still waiting for
      # gradients at the end; don't give it the default 120 s to finish.
      stop_grace_period_secs=3, config=config) as sess:
    def read_step(step_context):
      # Through run_step_fn: no hooks run (the summary hook needs a feed).
      return step_context.session.run(graph["global_step"])

    global_step = sess.run_step_fn(read_step)
    _print("start global_step", global_step)
    # A synchronous step waits for a token that needs every worker's
    # gradient; once another worker has stopped at the last step that token
    # never comes, so steps time out and the global step is checked.
    options = tf.RunOptions(timeout_in_ms=int(sync_step_timeout_secs * 1000)
                           ) if sync_replicas else None
    while not sess.should_stop():
      ids, labels = make_batch(rng, batch_size)
      try:
        _, loss, global_step = sess.run(
            [graph["train_op"], graph["loss"], graph["global_step"]],
            feed_dict={graph["ids"]: ids, graph["labels"]: labels},
            options=options)
      except tf.errors.DeadlineExceededError:
        global_step = sess.run_step_fn(read_step)
        _print("worker", task_index, "step timed out at global_step",
               global_step)
        if global_step >= train_steps:
          break
        continue
      local_step += 1
      window.append(loss)
      if len(window) == log_every:
        losses.append(float(np.mean(window)))
        window = []
        _print("worker", task_index, "step", local_step, "global_step",
               global_step, "loss", "%.4f" % losses[-1])
      if step_delay_secs:
        time.sleep(step_delay_secs)
  # `global_step` was read in the same run as the last update, so it may
  # miss that update; the chief's final checkpoint holds the final value.
  _print("done worker", task_index, "local_steps", local_step,
         "global_step", global_step)
  if is_chief and checkpoint_dir:
    _print("final_checkpoint", tf.train.latest_checkpoint(checkpoint_dir))
  return losses, global_step


def _wait_for_chief(target, config, poll_secs=0.5):
  """Polls until the chief has initialized (or restored) every variable.

  MonitoredTrainingSession's own wait for a non-chief worker polls every 30
  seconds, which would idle a worker for most of a short run.
  """
  uninitialized = tf.report_uninitialized_variables(tf.global_variables())
  with tf.Session(target, config=config) as sess:
    while sess.run(uninitialized).size:
      time.sleep(poll_secs)


# --- cluster tasks ---------------------------------------------------------------


def _done_queue(ps_index):
  with tf.device("/job:ps/task:%d" % ps_index):
    return tf.FIFOQueue(64, tf.int32, shapes=[[]], shared_name=_DONE_QUEUE.format(ps_index),
                        name=_DONE_QUEUE.format(ps_index))


def run_ps(server, task_index, num_workers):
  """Serves variables until every worker has enqueued its "done" token."""
  with tf.Graph().as_default():
    dequeue = _done_queue(task_index).dequeue_many(num_workers)
    config = tf.ConfigProto(device_filters=["/job:ps/task:%d" % task_index])
    with tf.Session(server.target, config=config) as sess:
      _print("ps", task_index, "serving")
      sess.run(dequeue)
    time.sleep(2.)  # Lets the workers close their sessions cleanly.
  _print("ps", task_index, "done")


def signal_done(target, num_ps, task_index):
  """Tells every ps task that this worker has finished."""
  with tf.Graph().as_default():
    enqueues = [_done_queue(i).enqueue(task_index) for i in range(num_ps)]
    config = tf.ConfigProto(
        device_filters=["/job:ps", "/job:worker/task:%d" % task_index])
    with tf.Session(target, config=config) as sess:
      sess.run(enqueues)


def run_task(job_name, task_index, ps_hosts, worker_hosts):
  """Runs one ps or worker task of the cluster given by the host lists."""
  cluster = tf.train.ClusterSpec({"ps": ps_hosts, "worker": worker_hosts})
  server = tf.distribute.Server(cluster, job_name=job_name,
                                task_index=task_index)
  if job_name == "ps":
    run_ps(server, task_index, len(worker_hosts))
    return
  threading.excepthook = _quiet_cancelled_queue_runner
  # Device filters keep a worker independent of the other workers, so one
  # worker can die and be restarted while the others carry on.
  config = tf.ConfigProto(
      device_filters=["/job:ps", "/job:worker/task:%d" % task_index])
  train(server.target, task_index, len(ps_hosts), len(worker_hosts),
        FLAGS.num_shards, FLAGS.sync_replicas, FLAGS.train_steps,
        FLAGS.batch_size, FLAGS.learning_rate, FLAGS.checkpoint_dir,
        FLAGS.save_checkpoint_steps, FLAGS.save_summaries_steps,
        FLAGS.log_every, FLAGS.step_delay_secs, FLAGS.seed, config,
        worker_device="/job:worker/task:%d" % task_index,
        sync_step_timeout_secs=FLAGS.sync_step_timeout_secs)
  signal_done(server.target, len(ps_hosts), task_index)


def free_ports(count):
  """Returns `count` distinct free TCP ports on 127.0.0.1."""
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      s.bind(("127.0.0.1", 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def task_command(job_name, task_index, ps_hosts, worker_hosts, extra_args=()):
  """Command line that runs one task of this example."""
  return [sys.executable, os.path.abspath(__file__),
          "--job_name=" + job_name, "--task_index=%d" % task_index,
          "--ps_hosts=" + ",".join(ps_hosts),
          "--worker_hosts=" + ",".join(worker_hosts)] + list(extra_args)


def kill_process_group(process):
  """SIGKILLs `process` and its process group (started with a new session)."""
  try:
    os.killpg(process.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass
  process.wait()


def launch():
  """Starts the ps and worker tasks as subprocesses and waits for them all."""
  ports = free_ports(FLAGS.num_ps + FLAGS.num_workers)
  hosts = ["127.0.0.1:%d" % p for p in ports]
  ps_hosts, worker_hosts = hosts[:FLAGS.num_ps], hosts[FLAGS.num_ps:]
  passed = [a for a in sys.argv[1:]
            if not a.startswith(("--job_name", "--task_index", "--ps_hosts",
                                 "--worker_hosts"))]
  processes = []

  def _terminate(signum, frame):
    del frame
    raise SystemExit("launcher got signal %d" % signum)

  signal.signal(signal.SIGTERM, _terminate)
  try:
    for job, count in (("ps", FLAGS.num_ps), ("worker", FLAGS.num_workers)):
      for i in range(count):
        processes.append(subprocess.Popen(
            task_command(job, i, ps_hosts, worker_hosts, passed),
            start_new_session=True))
    deadline = time.time() + FLAGS.launch_timeout_secs
    while any(p.poll() is None for p in processes):
      codes = [p.poll() for p in processes]
      if any(codes):  # A failed task: stop at once rather than wait.
        raise RuntimeError("A task failed; exit codes %s" % codes)
      if time.time() > deadline:
        raise RuntimeError("Cluster still running after %d s" %
                           FLAGS.launch_timeout_secs)
      time.sleep(0.5)
    codes = [p.returncode for p in processes]
    if any(codes):
      raise RuntimeError("Tasks failed with exit codes %s" % codes)
    _print("cluster finished; checkpoints in", FLAGS.checkpoint_dir)
  finally:
    for process in processes:
      if process.poll() is None:
        kill_process_group(process)


def main(argv):
  del argv
  tf.disable_eager_execution()
  if FLAGS.job_name == "launch":
    launch()
  elif FLAGS.job_name == "single":
    train("", 0, 0, 1, FLAGS.num_shards, False, FLAGS.train_steps,
          FLAGS.batch_size, FLAGS.learning_rate, FLAGS.checkpoint_dir,
          FLAGS.save_checkpoint_steps, FLAGS.save_summaries_steps,
          FLAGS.log_every, FLAGS.step_delay_secs, FLAGS.seed)
  else:
    run_task(FLAGS.job_name, FLAGS.task_index, FLAGS.ps_hosts.split(","),
             FLAGS.worker_hosts.split(","))
    # A live gRPC server can keep the interpreter from exiting: leave now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # pylint: disable=protected-access


if __name__ == "__main__":
  define_flags()
  app.run(main)
