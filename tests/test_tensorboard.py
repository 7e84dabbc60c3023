"""TensorBoard: event files hold the graph and the expected scalar summaries,
and every module's ops sit under the module's name scope."""

import glob
import os
import sys

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from examples import distributed_train  # pylint: disable=g-import-not-at-top,wrong-import-position


def _read_events(logdir):
  """Returns (GraphDef or None, {tag: [(step, value)]}) from the event files."""
  graph_def, scalars = None, {}
  paths = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
  assert paths, os.listdir(logdir)
  for path in paths:
    for event in tf.train.summary_iterator(path):
      if event.graph_def:
        graph_def = tf.GraphDef.FromString(event.graph_def)
      for value in event.summary.value:
        if value.HasField("simple_value"):
          scalars.setdefault(value.tag, []).append(
              (event.step, value.simple_value))
  return graph_def, scalars


class _Recorder:
  """Connection observer: records every module connection."""

  def __init__(self):
    self.subgraphs = []

  def __call__(self, subgraph):
    self.subgraphs.append(subgraph)


def test_example_writes_graph_and_scalars(tmp_path):
  logdir = str(tmp_path)
  recorder = _Recorder()
  with tf.Graph().as_default() as graph:
    with snt.observe_connections(recorder):
      losses, _ = distributed_train.train(
          target="", task_index=0, num_ps=0, num_workers=1, num_shards=2,
          sync_replicas=False, train_steps=40, batch_size=16,
          learning_rate=0.5, checkpoint_dir=logdir, save_checkpoint_steps=1000,
          save_summaries_steps=10, log_every=10)
  assert losses[-1] < losses[0], losses

  graph_def, scalars = _read_events(logdir)
  assert graph_def is not None, "no graph in the event file"
  assert {"loss", "accuracy"} <= set(scalars), sorted(scalars)
  loss_steps = [step for step, _ in scalars["loss"]]
  # About every 10 steps (the step is read in the same run as the update).
  assert len(loss_steps) >= 4 and loss_steps == sorted(loss_steps), loss_steps
  assert 0 <= loss_steps[0] <= 1 and loss_steps[-1] <= 40, loss_steps
  assert all(np.isfinite(v) for _, v in scalars["loss"])
  assert all(0. <= v <= 1. for _, v in scalars["accuracy"])

  names = {node.name for node in graph_def.node}
  # One collapsible node per module: its ops and variables under its scope.
  for expected in ("bow_classifier/embed/embedding_lookup",
                   "bow_classifier/embed/embeddings/part_0",
                   "bow_classifier/hidden/MatMul",
                   "bow_classifier/hidden/w/part_1",
                   "bow_classifier/logits/MatMul",
                   "bow_classifier/logits/b"):
    assert expected in names, expected
  top_level = {name.split("/")[0] for name in names}
  assert not [s for s in top_level if s.startswith("bow_classifier_")], (
      sorted(top_level))
  compute_ops = {"MatMul", "Relu", "GatherV2", "ResourceGather",
                 "DynamicPartition", "Mean"}
  stray = [node.name for node in graph_def.node
           if "/" not in node.name and node.op in compute_ops]
  assert not stray, stray

  # The observer saw each module connect once, and each connection's
  # outputs were made under that module's name scope.
  modules = {sg.module.module_name: sg for sg in recorder.subgraphs}
  assert sorted(modules) == ["bow_classifier", "embed", "hidden", "logits"]
  for name, subgraph in modules.items():
    scope = subgraph.name_scope.rstrip("/")
    assert scope == subgraph.module.scope_name, (name, scope)
    for output in tf.nest.flatten(subgraph.outputs):
      assert output.op.name.startswith(scope + "/"), (name, output.op.name)
  del graph


def _ops_added(graph, before):
  return [op for op in graph.get_operations() if op.name not in before]


def test_each_module_connection_sits_under_its_name_scope(tmp_path):
  rng = np.random.RandomState(0)
  with tf.Graph().as_default() as graph:
    images = tf.constant(rng.randn(2, 6, 6, 3).astype(np.float32))
    ids = tf.constant([[1, 2], [3, 0]])
    flat = tf.zeros([2, 108])
    vectors = tf.zeros([2, 5])
    state = snt.LSTMState(tf.zeros([2, 5]), tf.zeros([2, 5]))
    modules_and_calls = [
        (snt.Conv2D(4, 3), lambda m: m(images)),
        (snt.BatchNorm(), lambda m: m(images, is_training=True)),
        (snt.BatchFlatten(), lambda m: m(images)),
        (snt.Linear(5), lambda m: m(flat)),
        (snt.Embed(vocab_size=4, embed_dim=5), lambda m: m(ids)),
        (snt.LSTM(5), lambda m: m(vectors, state)),
        (snt.nets.MLP([8, 2]), lambda m: m(vectors)),
    ]
    for module, call in modules_and_calls:
      before = {op.name for op in graph.get_operations()}
      call(module)
      # The call's ops sit in the connection's name scope, the variables in
      # the module's scope. They differ for modules that make submodules in
      # their constructor under `_enter_variable_scope()` (snt.nets.MLP):
      # that used up the name scope "mlp", so the first call runs in "mlp_1"
      # (TensorFlow's name-scope uniquification, as in Sonnet 1).
      scope = module.scope_name
      call_scope = module.name_scopes[-1].rstrip("/")
      for op in _ops_added(graph, before):
        assert op.name.startswith((scope + "/", call_scope + "/")), (
            scope, call_scope, op.name)
      assert call_scope == (scope + "_1" if isinstance(module, snt.nets.MLP)
                            else scope)
      for var in module.get_all_variables():
        assert var.op.name.startswith(scope + "/"), (scope, var.op.name)

    # A second connection gets its own uniquified name scope, same variables.
    linear = snt.Linear(3, name="shared")
    linear(tf.zeros([1, 2]))
    out = linear(tf.zeros([1, 2]))
    assert linear.name_scopes == ("shared", "shared_1")
    assert out.op.name.startswith("shared_1/")
    assert len(linear.get_variables()) == 2

    tf.summary.scalar("shared_mean", tf.reduce_mean(out))
    tf.summary.scalar("conv_mean", tf.reduce_mean(
        modules_and_calls[0][0](images)))
    summary = tf.summary.merge_all()
    writer = tf.summary.FileWriter(str(tmp_path), graph=graph)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for step in range(3):
        writer.add_summary(sess.run(summary), step)
    writer.close()

  graph_def, scalars = _read_events(str(tmp_path))
  assert set(scalars) == {"shared_mean", "conv_mean"}
  assert [step for step, _ in scalars["conv_mean"]] == [0, 1, 2]
  names = {node.name for node in graph_def.node}
  assert {"conv_2d/w", "conv_2d/convolution", "shared/MatMul",
          "shared_1/MatMul", "lstm/w_gates", "batch_norm/moving_mean",
          "mlp/linear_0/w"} <= names, sorted(names)[:50]
