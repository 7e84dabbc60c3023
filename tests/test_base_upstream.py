"""AbstractModule exercised the way Sonnet 1's own tests and research code do.

Written in the tf.test.TestCase style of upstream tests: modules built in
`__init__` under `_enter_variable_scope`, others passed in from outside,
`self.test_session()`, `assertRaisesRegexp`.
"""

import numpy as np
import sonnet as snt
import tensorflow.compat.v1 as tf


class SimpleModule(snt.AbstractModule):
  """Creates a scalar variable `b` and returns it."""

  def _build(self):
    self._b = tf.get_variable("b", [], initializer=tf.ones_initializer())
    return self._b


class ComplexModule(snt.AbstractModule):
  """Uses two SimpleModules built in `__init__`, plus a variable of its own."""

  def __init__(self, name="complex_build"):
    super(ComplexModule, self).__init__(name=name)
    with self._enter_variable_scope():
      self._a = SimpleModule(name="simple_a")
      self._b = SimpleModule(name="simple_b")

  def _build(self):
    c = tf.get_variable("c", [], initializer=tf.ones_initializer())
    return self._a() + self._b() + c


class ModuleWithSubmodules(snt.AbstractModule):
  """Uses two modules built elsewhere and two built in its own scope."""

  def __init__(self, submodule_a, submodule_b, custom_getter=None,
               name="module_with_submodules"):
    super(ModuleWithSubmodules, self).__init__(
        custom_getter=custom_getter, name=name)
    self._submodule_a = submodule_a
    self._submodule_b = submodule_b
    with self._enter_variable_scope():
      self._submodule_c = SimpleModule(name="simple_build")
      self._submodule_d = ComplexModule(name="complex_build")

  def _build(self):
    c = self._submodule_c()
    d = self._submodule_d()
    a = self._submodule_a()
    b = self._submodule_b()
    return c + d + a + b


class AbstractModuleUpstreamStyleTest(tf.test.TestCase):

  def testVariablesOfNestedAndExternalModules(self):
    submodule_a = SimpleModule(name="simple_submodule")
    submodule_b = ComplexModule(name="complex_submodule")
    module = ModuleWithSubmodules(submodule_a=submodule_a,
                                  submodule_b=submodule_b)
    with self.assertRaisesRegexp(snt.NotConnectedError, "not instantiated"):
      module.get_all_variables()
    out = module()

    own = [v.op.name for v in module.get_variables()]
    self.assertEqual(own, [
        "module_with_submodules/simple_build/b",
        "module_with_submodules/complex_build/c",
        "module_with_submodules/complex_build/simple_a/b",
        "module_with_submodules/complex_build/simple_b/b",
    ])
    all_names = [v.op.name for v in module.get_all_variables()]
    self.assertEqual(all_names, sorted(
        own + ["simple_submodule/b", "complex_submodule/c",
               "complex_submodule/simple_a/b", "complex_submodule/simple_b/b"]))
    self.assertEqual(len(module.variables), 8)
    self.assertEqual(len(submodule_b.variables), 3)
    with self.test_session() as sess:
      sess.run(tf.global_variables_initializer())
      self.assertAllClose(sess.run(out), 8.0)

  def testCustomGetterAppliesToNestedModules(self):
    module = ModuleWithSubmodules(
        submodule_a=SimpleModule(name="outside"),
        submodule_b=SimpleModule(name="outside_2"),
        custom_getter=snt.custom_getters.non_trainable)
    module()
    trainable = [v.op.name for v in tf.trainable_variables()]
    # Only the modules built outside keep trainable variables.
    self.assertEqual(sorted(trainable), ["outside/b", "outside_2/b"])

  def testSecondConnectionReusesVariables(self):
    module = ComplexModule()
    out1 = module()
    out2 = module()
    self.assertEqual(len(tf.global_variables()), 3)
    # Entering the scope in __init__ (to build submodules) already took the
    # name scope "complex_build", as in TF1.
    self.assertEqual(module.name_scopes, ("complex_build_1", "complex_build_2"))
    with self.test_session():
      tf.global_variables_initializer().run()
      self.assertAllEqual(self.evaluate(out1), self.evaluate(out2))

  def testGraphProperty(self):
    module = SimpleModule()
    self.assertIsNone(module.graph)
    module()
    self.assertIs(module.graph, tf.get_default_graph())

  def testSessionRunOfVariablesTuple(self):
    lin = SimpleModule(name="lin")
    lin()
    with self.test_session() as sess:
      sess.run(tf.variables_initializer(lin.get_variables()))
      values = sess.run(lin.get_variables())
    np.testing.assert_array_equal(values, [1.0])


if __name__ == "__main__":
  tf.test.main()
