"""RNNCore and friends exercised the way Sonnet 1's tests and research code do.

tf.test.TestCase style (parameterized cases, `self.evaluate`,
`assertRaisesRegexp`), plus user-written cores in the styles of the DNC and
of learning-to-learn, and one subprocess under `tf.disable_v2_behavior()`.
"""

import abc
import collections
import inspect
import os
import subprocess
import sys
import textwrap
from unittest import mock
import warnings

from absl.testing import parameterized
import numpy as np
import sonnet as snt
from sonnet.python.modules import rnn_core
import tensorflow.compat.v1 as tf

nest = tf.nest

_STATE_SIZE_TUPLE = (3, (4, 5))
_STATE_SIZE_ELEMENT = 6
BATCH_SIZE = 5

Pair = collections.namedtuple("Pair", ("first", "second"))


class RNNCoreTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      (False, False, _STATE_SIZE_TUPLE),
      (False, True, _STATE_SIZE_TUPLE),
      (True, False, _STATE_SIZE_TUPLE),
      (True, True, _STATE_SIZE_TUPLE),
      (False, False, _STATE_SIZE_ELEMENT),
      (True, True, _STATE_SIZE_ELEMENT))
  def testInitialStateTuple(self, trainable, use_custom_initial_value,
                            state_size):
    batch_size = 6
    flat_state_size = nest.flatten(state_size)
    # As upstream: the base class itself, with state_size patched in.
    with mock.patch.object(snt.RNNCore, "state_size", state_size):
      core = snt.RNNCore(name="dummy_core")
      if use_custom_initial_value:
        trainable_initializers = nest.pack_sequence_as(
            state_size, [tf.constant_initializer(2)] * len(flat_state_size))
      else:
        trainable_initializers = None
      initial_state = core.initial_state(
          batch_size, dtype=tf.float32, trainable=trainable,
          trainable_initializers=trainable_initializers)

    nest.assert_same_structure(initial_state, state_size)
    flat_initial_state = nest.flatten(initial_state)
    for state, size in zip(flat_initial_state, flat_state_size):
      self.assertEqual(state.get_shape(), [batch_size, size])

    self.evaluate(tf.global_variables_initializer())
    for value, size in zip(self.evaluate(flat_initial_state),
                           flat_state_size):
      expected = 2. if (trainable and use_custom_initial_value) else 0.
      self.assertAllClose(value, np.full([batch_size, size], expected))
    self.assertLen(tf.trainable_variables(),
                   len(flat_state_size) if trainable else 0)

  @parameterized.parameters(
      (False, _STATE_SIZE_TUPLE), (True, _STATE_SIZE_TUPLE),
      (True, _STATE_SIZE_ELEMENT))
  def testRegularizers(self, trainable, state_size):
    flat_state_size = nest.flatten(state_size)
    with mock.patch.object(snt.RNNCore, "state_size", state_size):
      core = snt.RNNCore(name="dummy_core")
      trainable_regularizers = nest.pack_sequence_as(
          state_size, [tf.nn.l2_loss] * len(flat_state_size))
      core.initial_state(BATCH_SIZE, dtype=tf.float32, trainable=trainable,
                         trainable_regularizers=trainable_regularizers)
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    if not trainable:
      self.assertEmpty(losses)
    else:
      self.assertLen(losses, len(flat_state_size))
      for loss in losses:
        self.assertEqual(loss.get_shape(), [])

  def testBadInitializersAndRegularizers(self):
    with mock.patch.object(snt.RNNCore, "state_size", _STATE_SIZE_TUPLE):
      core = snt.RNNCore(name="dummy_core")
      with self.assertRaisesRegexp(ValueError, "initializers are callable"):
        core.initial_state(BATCH_SIZE, trainable=True,
                           trainable_initializers=(1, (2, 3)))
      with self.assertRaisesRegexp(ValueError, "regularizers are callable"):
        core.initial_state(BATCH_SIZE, trainable=True,
                           trainable_regularizers=("a", ("b", "c")))
      with self.assertRaises(ValueError):  # Wrong structure.
        core.initial_state(
            BATCH_SIZE, trainable=True,
            trainable_initializers=(tf.zeros_initializer(),) * 2)

  def testTrainableInitialStateNames(self):
    with mock.patch.object(snt.RNNCore, "state_size", Pair(3, 4)):
      core = snt.RNNCore(name="my_core")
      state = core.initial_state(BATCH_SIZE, trainable=True)
      named = core.initial_state(BATCH_SIZE, trainable=True, name="blah")
      with tf.variable_scope("outer"):
        scoped = core.initial_state(BATCH_SIZE, trainable=True)
    self.assertIsInstance(state, Pair)
    self.assertEqual(state.first.name,
                     "my_core_initial_state/state_first_tiled:0")
    self.assertEqual(named.second.name, "blah/state_second_tiled:0")
    names = sorted(v.op.name for v in tf.global_variables())
    # Created in the *current* variable scope, not the core's.
    self.assertEqual(names, [
        "blah_first/w", "blah_second/w", "my_core_initial_state_first/w",
        "my_core_initial_state_second/w",
        "outer/my_core_initial_state_first/w",
        "outer/my_core_initial_state_second/w"])
    self.assertEqual(scoped.first.get_shape(), [BATCH_SIZE, 3])

  def testTensorBatchSizeAndZeroState(self):
    state_size = (tf.TensorShape([2, 3]), 4)
    with mock.patch.object(snt.RNNCore, "state_size", state_size):
      core = snt.RNNCore(name="dummy_core")
      batch_size = tf.placeholder(tf.int32, [])
      zeros = core.zero_state(batch_size, tf.float64)
      trainable = core.initial_state(batch_size, trainable=True)
      static_zeros = core.initial_state(3, dtype=tf.float16)
    self.assertEqual(zeros[0].name, "RNNCoreZeroState/zeros:0")
    self.assertEqual(zeros[0].dtype, tf.float64)
    self.assertEqual(zeros[0].get_shape().as_list(), [None, 2, 3])
    self.assertEqual(static_zeros[1].get_shape().as_list(), [3, 4])
    self.assertEqual(static_zeros[1].dtype, tf.float16)
    self.assertEqual(static_zeros[0].name,
                     "dummy_core_initial_state_1/RNNCoreZeroState/zeros:0")
    self.evaluate(tf.global_variables_initializer())
    with self.cached_session() as sess:
      zeros_value, trainable_value = sess.run((zeros, trainable),
                                              feed_dict={batch_size: 7})
    self.assertEqual(zeros_value[0].shape, (7, 2, 3))
    self.assertEqual(trainable_value[0].shape, (7, 2, 3))
    self.assertEqual(trainable_value[1].shape, (7, 4))

  def testAbstractProperties(self):
    core = snt.RNNCore(name="dummy_core")
    with self.assertRaisesRegexp(NotImplementedError, "Abstract method"):
      _ = core.state_size
    with self.assertRaisesRegexp(NotImplementedError, "Abstract method"):
      _ = core.output_size


class TrainableInitialStateTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((True, None), (True, (True, (False, True))),
                            (False, None), (False, False))
  def testInitialStateComputation(self, tuple_state, mask):
    if tuple_state:
      initial_state = (tf.fill([BATCH_SIZE, 6], 2.),
                       (tf.fill([BATCH_SIZE, 7], 3.),
                        tf.fill([BATCH_SIZE, 8], 4.)))
    else:
      initial_state = tf.fill([BATCH_SIZE, 9], 10.)
    with warnings.catch_warnings(record=True) as caught:
      module = snt.TrainableInitialState(initial_state, mask=mask)
    self.assertTrue(any(issubclass(w.category, DeprecationWarning) and
                        "trainable flag" in str(w.message) for w in caught))
    trainable_state = module()
    nest.assert_same_structure(initial_state, trainable_state)
    flat_trainable = nest.flatten(trainable_state)
    flat_initial = nest.flatten(initial_state)
    flat_mask = (nest.flatten(mask) if mask is not None
                 else [True] * len(flat_initial))

    self.evaluate(tf.global_variables_initializer())
    for trained, initial in zip(flat_trainable, flat_initial):
      self.assertAllEqual(self.evaluate(trained), self.evaluate(initial))
    self.assertLen(tf.trainable_variables(), sum(flat_mask))
    for variable in tf.trainable_variables():
      self.evaluate(tf.assign(variable, tf.ones_like(variable)))
    for trained, initial, learnable in zip(flat_trainable, flat_initial,
                                           flat_mask):
      initial_value = self.evaluate(initial)
      expected = np.ones_like(initial_value) if learnable else initial_value
      self.assertAllEqual(self.evaluate(trained), expected)

  def testBadArguments(self):
    initial_state = (tf.random_normal([BATCH_SIZE, 6]),
                     (tf.random_normal([BATCH_SIZE, 7]),
                      tf.random_normal([BATCH_SIZE, 8])))
    with self.assertRaisesRegexp(TypeError, "boolean values"):
      snt.TrainableInitialState(initial_state, mask=(True, (False, "foo")))
    with self.assertRaises(ValueError):
      snt.TrainableInitialState(initial_state, mask=(True, False))
    state = snt.TrainableInitialState(initial_state,
                                      mask=(True, (False, True)))()
    # Rows differ: the run-time assertions fire.
    with self.assertRaises(tf.errors.InvalidArgumentError):
      self.evaluate(tf.global_variables_initializer())
      self.evaluate(state)


class _DuckCell(object):
  """A minimal RNNCell-like object, as accepted by RNNCellWrapper."""

  def __init__(self, num_units, name=None):
    self._num_units = num_units
    self.name = name

  @property
  def state_size(self):
    return self._num_units

  @property
  def output_size(self):
    return self._num_units

  def __call__(self, inputs, state):
    w = tf.get_variable("kernel", [inputs.get_shape()[-1], self._num_units])
    out = tf.tanh(tf.matmul(inputs, w) + state)
    return out, out


class RNNCellWrapperTest(tf.test.TestCase):

  def testWrappedCell(self):
    seen = []

    def custom_getter(getter, name, *args, **kwargs):
      seen.append(name)
      return getter(name, *args, **kwargs)

    core = snt.RNNCellWrapper(_DuckCell, 4, name="wrapped",
                              custom_getter=custom_getter)
    self.assertEqual(core.module_name, "wrapped")
    self.assertEqual(core._cell.name, "wrapped")  # pylint: disable=protected-access
    self.assertEqual(core.output_size, 4)
    self.assertEqual(core.state_size, 4)
    self.assertEqual(snt.RNNCellWrapper(_DuckCell, 2).module_name,
                     "rnn_cell_wrapper")
    inputs = tf.ones([3, 6, 2])
    outputs, final_state = tf.nn.dynamic_rnn(
        core, inputs, initial_state=core.initial_state(3))
    self.assertEqual(outputs.get_shape(), [3, 6, 4])
    self.assertEqual([v.name for v in core.get_variables()],
                     ["wrapped/kernel:0"])
    self.assertEqual(seen, ["wrapped/kernel"])
    self.evaluate(tf.global_variables_initializer())
    self.assertEqual(self.evaluate(final_state).shape, (3, 4))

  def testWithDoc(self):

    def documented(a, b=2):
      """The documented function."""
      del a, b

    class Wrapper(object):

      @rnn_core.with_doc(documented)
      def __init__(self, *args, **kwargs):
        self.args = (args, kwargs)

    self.assertEqual(Wrapper.__init__.__doc__, "The documented function.")
    self.assertEqual(list(inspect.signature(Wrapper.__init__).parameters),
                     ["a", "b"])
    self.assertEqual(Wrapper(1, b=3).args, ((1,), {"b": 3}))


AccessState = collections.namedtuple("AccessState",
                                     ("memory", "read_weights", "usage"))
DNCState = collections.namedtuple(
    "DNCState", ("access_output", "access_state", "controller_state"))


class _Access(snt.RNNCore):
  """DNC-style memory: TensorShape and int state sizes, base initial_state."""

  def __init__(self, name="memory_access"):
    super(_Access, self).__init__(name=name)

  def _build(self, inputs, prev_state):
    memory = prev_state.memory + tf.reduce_mean(inputs, 1)[:, None, None]
    read = tf.reshape(memory, [-1, 12])
    return read, AccessState(memory=memory,
                             read_weights=prev_state.read_weights * 0.5,
                             usage=prev_state.usage + 1.)

  @property
  def state_size(self):
    return AccessState(memory=tf.TensorShape([3, 4]),
                       read_weights=tf.TensorShape([2, 3]), usage=3)

  @property
  def output_size(self):
    return tf.TensorShape([12])


class _DNC(snt.RNNCore):
  """DNC-style core: submodules built in __init__, own initial_state."""

  def __init__(self, output_size, name="dnc"):
    super(_DNC, self).__init__(name=name)
    with self._enter_variable_scope():
      self._controller = snt.VanillaRNN(8, name="controller")
      self._access = _Access()
    self._output_size = tf.TensorShape([output_size])
    self._state_size = DNCState(
        access_output=self._access.output_size,
        access_state=self._access.state_size,
        controller_state=self._controller.state_size)

  def _build(self, inputs, prev_state):
    controller_input = tf.concat([inputs, prev_state.access_output], 1)
    controller_output, controller_state = self._controller(
        controller_input, prev_state.controller_state)
    access_output, access_state = self._access(controller_output,
                                               prev_state.access_state)
    output = snt.Linear(self._output_size.as_list()[0], name="output_linear")(
        tf.concat([controller_output, access_output], 1))
    return output, DNCState(access_output=access_output,
                            access_state=access_state,
                            controller_state=controller_state)

  def initial_state(self, batch_size, dtype=tf.float32):
    return DNCState(
        controller_state=self._controller.initial_state(batch_size, dtype),
        access_state=self._access.initial_state(batch_size, dtype),
        access_output=tf.zeros(
            [batch_size] + self._access.output_size.as_list(), dtype))

  @property
  def state_size(self):
    return self._state_size

  @property
  def output_size(self):
    return self._output_size


class _Network(snt.RNNCore, metaclass=abc.ABCMeta):
  """learning-to-learn style: abstract extra method, no state/output size."""

  @abc.abstractmethod
  def initial_state_for_inputs(self, inputs, **kwargs):
    pass


class _DeepLSTMNet(_Network):

  def __init__(self, output_size, layers, name="deep_lstm"):
    super(_DeepLSTMNet, self).__init__(name=name)
    with tf.variable_scope(self._template.variable_scope):
      self._cores = [snt.LSTM(size, name="lstm_{}".format(i))
                     for i, size in enumerate(layers, start=1)]
      self._rnn = snt.DeepRNN(self._cores, skip_connections=False,
                              name="deep_rnn")
      self._linear = snt.Linear(output_size, name="linear")

  def _build(self, inputs, prev_state):
    output, next_state = self._rnn(inputs, prev_state)
    return self._linear(output), next_state

  def initial_state_for_inputs(self, inputs, **kwargs):
    return self._rnn.initial_state(inputs.get_shape().as_list()[0], **kwargs)


class UserCoresTest(tf.test.TestCase):

  def testDNCStyleCoreInDynamicRNN(self):
    core = _DNC(5)
    inputs = tf.random_normal([7, 2, 6])
    outputs, final_state = tf.nn.dynamic_rnn(
        core, inputs, initial_state=core.initial_state(2), time_major=True)
    outputs_default, _ = tf.nn.dynamic_rnn(core, inputs, dtype=tf.float32,
                                           time_major=True)
    # Class names starting with "_" would be invalid root name scopes.
    zero_state = core.zero_state(2, tf.float32)
    self.assertEqual(zero_state.access_output.name, "DNCZeroState/zeros:0")
    self.assertIsInstance(zero_state.access_state, AccessState)
    self.assertEqual(zero_state.access_state.memory.get_shape(), [2, 3, 4])
    self.assertEqual(zero_state.access_state.usage.get_shape(), [2, 3])
    # The base class's trainable state works for nested namedtuples too
    # (leaves numbered, since the top-level fields are not leaves).
    trainable = snt.RNNCore.initial_state(core, 2, trainable=True)
    self.assertEqual(trainable.controller_state.get_shape(), [2, 8])
    self.assertIn("dnc_initial_state_4/w:0",
                  [v.name for v in tf.global_variables()])
    self.assertEqual(sorted(v.name for v in core.get_variables()), [
        "dnc/controller/hidden_to_hidden/b:0",
        "dnc/controller/hidden_to_hidden/w:0",
        "dnc/controller/in_to_hidden/b:0", "dnc/controller/in_to_hidden/w:0",
        "dnc/output_linear/b:0", "dnc/output_linear/w:0"])
    self.assertEqual(outputs.get_shape(), [7, 2, 5])
    self.evaluate(tf.global_variables_initializer())
    outputs_value, _, state_value = self.evaluate(
        (outputs, outputs_default, final_state))
    self.assertEqual(outputs_value.shape, (7, 2, 5))
    self.assertAllClose(state_value.access_state.usage, np.full([2, 3], 7.))

  def testLearningToLearnStyleNetwork(self):
    net = _DeepLSTMNet(1, (4, 4))
    inputs = tf.ones([10, 1])
    state = net.initial_state_for_inputs(inputs, dtype=tf.float32)

    def body(step, prev_state):
      _, next_state = net(inputs, prev_state)
      return step + 1, next_state

    _, final_state = tf.while_loop(lambda step, _: step < 3, body,
                                   (0, state))
    self.assertEqual(sorted(v.name for v in net.get_variables()), [
        "deep_lstm/linear/b:0", "deep_lstm/linear/w:0",
        "deep_lstm/lstm_1/b_gates:0", "deep_lstm/lstm_1/w_gates:0",
        "deep_lstm/lstm_2/b_gates:0", "deep_lstm/lstm_2/w_gates:0"])
    with self.assertRaises(NotImplementedError):
      _ = net.state_size
    self.evaluate(tf.global_variables_initializer())
    self.assertEqual(self.evaluate(final_state)[1].hidden.shape, (10, 4))


  def testStateHeldInNonTrainableVariables(self):
    # learning-to-learn keeps the state in tf.Variables rebuilt as plain
    # tuples (namedtuples are lost), then assigns the next state back.

    def nested_variable(init):
      if isinstance(init, (list, tuple)):
        result = [nested_variable(i) for i in init]
        return tuple(result) if isinstance(init, tuple) else result
      return tf.Variable(init, name="state", trainable=False)

    net = _DeepLSTMNet(1, (4, 4))
    inputs = tf.ones([10, 1])
    state = nested_variable(
        net.initial_state_for_inputs(inputs, dtype=tf.float32))
    self.assertNotIsInstance(state[0], snt.LSTMState)
    _, next_state = net(inputs, state)
    update = [tf.assign(v, t) for v, t in zip(nest.flatten(state),
                                              nest.flatten(next_state))]
    self.evaluate(tf.global_variables_initializer())
    self.evaluate(update)
    self.assertEqual(self.evaluate(state[1][1]).shape, (10, 4))


_V1_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    import sonnet as snt

    x = tf.random_normal([5, 3, 6])
    batch_size = x.get_shape()[1]  # A Dimension in TF1 mode.
    deep = snt.DeepRNN([snt.LSTM(4), snt.LSTM(4)], skip_connections=True)
    out, _ = tf.nn.dynamic_rnn(deep, x, time_major=True,
                               initial_state=deep.initial_state(
                                   batch_size, trainable=True))
    assert out.get_shape().as_list() == [5, 3, 8], out
    rmc = snt.RelationalMemory(mem_slots=2, head_size=3, num_heads=2)
    rmc_out, _ = tf.nn.dynamic_rnn(rmc, x, time_major=True,
                                   initial_state=rmc.initial_state(batch_size))
    act = snt.ACTCore(snt.VanillaRNN(4), 3, 0.9, lambda s: s, max_steps=3)
    (act_out, (steps, _)), _ = tf.nn.dynamic_rnn(
        act, x, time_major=True, initial_state=act.initial_state(3))
    residual = snt.ResidualCore(snt.VanillaRNN(6))
    skip = snt.SkipConnectionCore(snt.VanillaRNN(2), input_shape=(6,))
    res_out, _ = tf.nn.dynamic_rnn(residual, x, dtype=tf.float32,
                                   time_major=True)
    skip_out, _ = tf.nn.dynamic_rnn(skip, x, dtype=tf.float32,
                                    time_major=True)
    xl = snt.nets.TransformerXL(
        dict(value_size=3, num_heads=2, num_layers=1, mlp_hidden_sizes=[4]),
        memory_size=2, chunk_size=0)
    xl_out, _ = tf.nn.dynamic_rnn(xl, x, time_major=True,
                                  initial_state=xl.initial_state(3))
    assert tf.global_variables()[0].dtype.name.endswith("_ref")
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run([out, rmc_out, act_out, steps, res_out, skip_out,
                         xl_out])
    assert [v.shape for v in values] == [
        (5, 3, 8), (5, 3, 12), (5, 3, 3), (5, 3, 1), (5, 3, 6), (5, 3, 8),
        (5, 3, 6)], [v.shape for v in values]
    assert values[3].max() <= 3 and values[3].min() >= 1
    print("V1 OK")
""")


class DisableV2BehaviorTest(tf.test.TestCase):

  def testCoresUnderDisableV2Behavior(self):
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
