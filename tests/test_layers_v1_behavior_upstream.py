"""Normalization, nets and friends under `tf.disable_v2_behavior()`.

Old research code calls `tf.disable_v2_behavior()` first: reference variables
and v1 control flow (`Switch`/`Merge`, `Enter`/`Exit` loops). This runs, in a
subprocess, the usage patterns of such code: BatchNorm/BatchNormV2 in
`tf.nn.dynamic_rnn` cells and under an `is_training` placeholder, spectral
norm in a `tf.while_loop`, a batch-normalized ConvNet2D in `snt.BatchApply`,
AttentiveRead in an RNN, VectorQuantizerEMA updates, Lagrange multipliers and
the affine grid warper with the resampler, all trained one step.
"""

import os
import subprocess
import sys
import textwrap

import tensorflow.compat.v1 as tf

_V1_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    import sonnet as snt

    rng = np.random.RandomState(0)

    class Cell(snt.RNNCore):
      def __init__(self, make_inner, name="cell"):
        super(Cell, self).__init__(name=name)
        with self._enter_variable_scope():
          self._lin = snt.Linear(4)
          self._inner = make_inner()
      def _build(self, x, state):
        h = tf.tanh(self._inner(self._lin(tf.concat([x, state], 1))))
        return h, h
      @property
      def state_size(self):
        return tf.TensorShape([4])
      @property
      def output_size(self):
        return tf.TensorShape([4])

    memory = tf.constant(rng.randn(3, 6, 4).astype(np.float32))
    bn = snt.BatchNorm(update_ops_collection=None, scale=True)
    bn_v2 = snt.BatchNormV2()
    att = snt.AttentiveRead(snt.Linear(1, name="logit"))
    cells = [Cell(lambda: (lambda h: bn(h, is_training=True)), "bn_cell"),
             Cell(lambda: (lambda h: bn_v2(h, is_training=True)), "v2_cell"),
             Cell(lambda: (lambda h: att(memory, h).read), "att_cell")]
    x = tf.constant(rng.randn(3, 5, 2).astype(np.float32))
    rnn_outs = [tf.nn.dynamic_rnn(c, x, dtype=tf.float32)[0] for c in cells]

    is_training = tf.placeholder(tf.bool, [])
    images = tf.constant(rng.randn(4, 6, 6, 2).astype(np.float32))
    bn_fused = snt.BatchNorm(fused=True, scale=True)
    bn_fused_out = bn_fused(images, is_training=is_training)

    sn_linear = snt.wrap_with_spectral_norm(snt.Linear, {"num_iters": 2})(3)
    _, sn_out = tf.while_loop(lambda i, h: i < 3,
                              lambda i, h: (i + 1, tf.tanh(sn_linear(h))),
                              [0, tf.ones([2, 3])])

    net = snt.nets.ConvNet2D([2, 3], [3], [1], [snt.SAME],
                             use_batch_norm=True)
    net_out = snt.BatchApply(lambda t: net(t, is_training=is_training))(
        tf.reshape(images[..., :1], [2, 2, 6, 6, 1]))
    net_t_out = net.transpose()(tf.reshape(net_out, [4, 6, 6, 3]),
                                is_training=is_training)

    vq = snt.nets.VectorQuantizerEMA(3, 5, 0.25, 0.5)
    vq_out = vq(tf.constant(rng.randn(8, 3).astype(np.float32)),
                is_training=True)

    weight = tf.get_variable("weight", initializer=3.0)
    constraints = snt.OptimizationConstraints()
    constraints.add(weight >= 1.0)

    warper = snt.AffineGridWarper((6, 6), (4, 4),
                                  snt.AffineWarpConstraints.no_shear_2d())
    params = tf.get_variable("params", initializer=[[1.0, 0.0, 1.0, 0.0]])
    warped = snt.resampler(images[:1], warper(params))

    loss = (sum(tf.reduce_sum(o) for o in rnn_outs)
            + tf.reduce_sum(tf.square(bn_fused_out)) + tf.reduce_sum(sn_out)
            + tf.reduce_sum(net_t_out) + vq_out["loss"]
            + tf.square(weight) + constraints() + tf.reduce_sum(warped))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    assert tf.global_variables()[0].dtype.name.endswith("_ref")

    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      embeddings = sess.run(vq.embeddings)
      # The EMA codebook update is a control dependency of the VQ loss (as
      # upstream), so the loss is fetched with the train op.
      sess.run([train_op, loss], {is_training: True})
      sess.run([train_op, loss], {is_training: False})
      assert np.abs(sess.run(bn.moving_mean)).sum() > 0
      assert np.abs(sess.run(bn_v2.moving_mean)).sum() > 0
      assert np.abs(sess.run(bn_fused.moving_mean)).sum() > 0
      assert np.abs(sess.run(vq.embeddings) - embeddings).max() > 0
      # Training mode normalizes each channel to zero mean.
      out = sess.run(bn_fused_out, {is_training: True})
      assert np.abs(out.mean(axis=(0, 1, 2))).max() < 1e-4, out
    print("V1 OK")
""")


class DisableV2BehaviorTest(tf.test.TestCase):

  def testLayersUnderDisableV2Behavior(self):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", _V1_SCRIPT], cwd=root,
                            env=env, capture_output=True, text=True,
                            timeout=300)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertIn("V1 OK", result.stdout)


if __name__ == "__main__":
  tf.test.main()
