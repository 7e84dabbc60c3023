"""OptimizationConstraints exercised the way Sonnet 1's tests and users did."""

from absl.testing import parameterized
import numpy as np
import sonnet as snt
from sonnet.python.modules import optimization_constraints
import tensorflow.compat.v1 as tf


class OptimizationConstraintsUpstreamTest(parameterized.TestCase,
                                          tf.test.TestCase):

  def testOpDetectionAndChaining(self):
    constraints = snt.OptimizationConstraints()
    ones = tf.ones((1, 2))
    result = (constraints.add(ones < 0).add(ones <= 0).add(ones > 0)
              .add(ones >= 0))
    self.assertIs(result, constraints)
    self.assertLen(constraints.constraints, 4)
    self.assertLen(constraints.lagrange_multipliers, 4)
    self.assertLen(tf.get_collection(
        optimization_constraints.LAGRANGE_MULTIPLIERS), 4)
    for multiplier in constraints.lagrange_multipliers:
      self.assertEqual(multiplier.get_shape().as_list(), [1, 2])
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run(constraints.constraints)
    # leq: lhs - rhs; geq: rhs - lhs.
    self.assertAllClose(values[0], np.ones((1, 2)))
    self.assertAllClose(values[1], np.ones((1, 2)))
    self.assertAllClose(values[2], -np.ones((1, 2)))
    self.assertAllClose(values[3], -np.ones((1, 2)))
    with self.assertRaises(TypeError):
      constraints.add(tf.add(ones, ones))

  def testCannotAddAfterConnection(self):
    constraints = snt.OptimizationConstraints()
    constraints.add_leq(tf.ones(()), 2.0)
    penalty = constraints()
    self.assertIs(penalty, constraints())
    with self.assertRaisesRegexp(ValueError, "Cannot add further constraints"):
      constraints.add_geq(tf.ones(()), 2.0)
    with self.assertRaisesRegexp(ValueError, "Cannot add further constraints"):
      constraints.add(tf.ones(()) > 2.0)

  def testPenaltyValueAndMultiplierInitialValue(self):
    constraints = snt.OptimizationConstraints()
    x = tf.constant([1.0, 2.0])
    constraints.add_leq(x, 3.0, initializer=[0.5, 2.0])
    constraints.add_geq(tf.constant(1.0), 4.0)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      lambdas, penalty = sess.run([constraints.lagrange_multipliers,
                                   constraints()])
    self.assertAllClose([0.5, 2.0], lambdas[0], rtol=1e-5)
    self.assertAllClose(1.0, lambdas[1], rtol=1e-5)
    self.assertAllClose(0.5 * -2.0 + 2.0 * -1.0 + 1.0 * 3.0, penalty,
                        rtol=1e-5)

  @parameterized.parameters(1.0, 0.1, 5.0)
  def testRateScalesReversedGradient(self, rate):
    constraints = snt.OptimizationConstraints(rate=rate)
    constraints.add_leq(tf.constant(2.0), 1.0)
    variable = tf.get_collection(
        optimization_constraints.LAGRANGE_MULTIPLIERS)[0]
    grad = tf.gradients(constraints(), variable)[0]
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      v, g = sess.run([variable, grad])
    # d/dv softplus(v)^2 = 2 softplus(v) sigmoid(v); times constraint 1.0.
    softplus = np.log1p(np.exp(v))
    expected = 2 * softplus / (1 + np.exp(-v)) * 1.0
    self.assertAllClose(-rate * expected, g, rtol=1e-5)

  def testRateOverridesDefault(self):
    constraints = snt.OptimizationConstraints(rate=3.0)
    constraints.add_leq(tf.constant(2.0), 1.0, rate=0.5)
    variable = tf.get_collection(
        optimization_constraints.LAGRANGE_MULTIPLIERS)[0]
    grad = tf.gradients(constraints(), variable)[0]
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      v, g = sess.run([variable, grad])
    softplus = np.log1p(np.exp(v))
    self.assertAllClose(-0.5 * 2 * softplus / (1 + np.exp(-v)), g, rtol=1e-5)

  def testConstrainedMinimization(self):
    """min x^2 s.t. x >= 1: the multiplier converges to 2, x to 1."""
    x = tf.get_variable("x", initializer=3.0)
    constraints = snt.OptimizationConstraints(rate=1.0)
    constraints.add(x >= 1.0)
    loss = tf.square(x) + constraints()
    train_op = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      for _ in range(1500):
        sess.run(train_op)
      x_v, lambda_v = sess.run([x, constraints.lagrange_multipliers[0]])
    self.assertAllClose(1.0, x_v, atol=2e-2)
    self.assertAllClose(2.0, lambda_v, atol=5e-2)

  def testValidRange(self):
    constraints = snt.OptimizationConstraints(valid_range=(1.0, 2.0))
    constraints.add_leq(tf.constant(1.0), 0.0, initializer=5.0)
    constraints.add_leq(tf.constant(1.0), 0.0, initializer=5.0,
                        valid_range=(0.0, 10.0))
    multipliers = constraints.lagrange_multipliers
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      values = sess.run(multipliers)
    self.assertAllClose(2.0, values[0])
    self.assertAllClose(5.0, values[1], rtol=1e-5)

  def testGetLagrangeMultiplier(self):
    multiplier = snt.get_lagrange_multiplier(shape=(2,), initializer=[1., 3.],
                                             name="lm")
    negated = snt.get_lagrange_multiplier(shape=(), maximize=False,
                                          initializer=tf.constant_initializer(
                                              4.0), name="lm2")
    names = sorted(v.op.name for v in tf.global_variables())
    self.assertEqual(names, ["lm/w", "lm2/w"])
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertAllClose([1., 3.], sess.run(multiplier), rtol=1e-5)
      self.assertAllClose(-4.0, sess.run(negated), rtol=1e-5)

  def testConstrainToRangeGradient(self):
    x = tf.constant([-1.0, 0.5, 3.0, -1.0, 3.0])
    grad_in = tf.constant([-1.0, -1.0, 1.0, 1.0, -1.0])
    y = optimization_constraints._constrain_to_range(x, 0.0, 2.0)
    grad = tf.gradients(y, x, grad_ys=grad_in)[0]
    with self.test_session() as sess:
      y_v, g_v = sess.run([y, grad])
    self.assertAllClose([0.0, 0.5, 2.0, 0.0, 2.0], y_v)
    self.assertAllClose([0.0, -1.0, 0.0, 1.0, -1.0], g_v)
    with self.assertRaises(ValueError):
      optimization_constraints._constrain_to_range(tf.constant(1), 0, 2)


if __name__ == "__main__":
  tf.test.main()
