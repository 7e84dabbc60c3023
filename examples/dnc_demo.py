r"""A short DNC repeat-copy run: the falling cost and one decoded example.

Trains `snt.nets.DNC` (the reference model of `dnc_repeat_copy.py`) for a few
hundred iterations with a larger learning rate than the reference (1e-3
instead of 1e-4, so the cost visibly falls within a minute or two on a CPU),
printing the average cost and bit error as it goes, then one decoded example:
observations, targets and the model's (rounded, masked) output.

  python examples/dnc_demo.py [--num_training_iterations=400]
"""

import os
import sys

from absl import app
from absl import flags

if __package__ in (None, ''):  # run as a script: make `examples` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
from examples import dnc_repeat_copy  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def define_flags():
  """Defines the command-line flags of this script (when run as one)."""
  flags.DEFINE_integer('demo_iterations', 400, 'Training iterations.')
  flags.DEFINE_integer('demo_report_interval', 50, 'Iterations between lines.')
  flags.DEFINE_float('demo_learning_rate', 1e-3, 'RMSProp learning rate.')
  flags.DEFINE_integer('demo_seed', 0, 'Graph-level random seed.')


def run_demo(num_iterations=400, report_interval=50, learning_rate=1e-3,
             seed=0, print_fn=print):
  """Runs the demo; returns the (iteration, cost, bit error) reports."""
  print_fn('DNC repeat-copy demo: %d iterations, batch 16, memory 16x16, '
           '4 read heads, RMSProp lr %g' % (num_iterations, learning_rate))
  reports = dnc_repeat_copy.train(
      num_training_iterations=num_iterations, report_interval=report_interval,
      logdir='', learning_rate=learning_rate, seed=seed, print_fn=print_fn)
  first, last = reports[0], reports[-1]
  print_fn('cost %.3f -> %.3f, bit error %.2f -> %.2f per sequence' % (
      first[1], last[1], first[2], last[2]))
  return reports


def main(argv):
  del argv
  run_demo(FLAGS.demo_iterations, FLAGS.demo_report_interval,
           FLAGS.demo_learning_rate, FLAGS.demo_seed)


if __name__ == '__main__':
  define_flags()
  app.run(main)
