"""The "learning to execute" task (Zaremba & Sutskever 2014) as a tf.data source.

Random short programs (additions, subtractions, multiplications, if/else,
for loops, or the memory tasks copy, double and reverse) are rendered as
character sequences; the target is the printed result. A curriculum decides
the length (digits per number) and nesting (operations per program) of each
batch.

`LearnToExecute(batch_size, ...)` returns a `tf.data.Dataset` (with the
generating `LearnToExecuteState` as its `.state`) yielding time-major one-hot
batches `(obs [num_steps, B, V], target [num_steps_out, B, V], target_in
[num_steps_out, B, V], seq_sizes_in [B], seq_sizes_out [B])`.
"""

import random
import re

import numpy as np
import tensorflow.compat.v1 as tf

DEFAULT_MIN_CURRICULUM_EVAL_TRIES = 10
_MAX_TRIES = 10


class Mode(object):
  TRAIN_COMBINE = 1
  TRAIN_MIX = 2
  TRAIN_NAIVE = 3
  TEST = 4


class TaskType(object):
  ALGEBRA = 1
  CONTROL = 2
  ALL = 3
  ALG_CTRL = 4
  ADDITION = 5
  COPY = 6
  DOUBLE = 7
  REVERSE = 8


# --- Curricula ---------------------------------------------------------------

class LTECurriculum(object):
  """Tracks the loss and decides which (length, nesting) to sample next."""

  def __init__(self, max_length, max_nesting, loss_threshold=0.05,
               min_tries=DEFAULT_MIN_CURRICULUM_EVAL_TRIES):
    self._curr_length = 1
    self._max_length = max_length
    self._curr_nesting = 1
    self._max_nesting = max_nesting
    self._loss_threshold = loss_threshold
    self._min_tries = min_tries
    self._num_tries = 0
    self._window = max(5, min(10, min_tries))
    self._losses = []

  @property
  def max_length(self):
    return self._max_length

  @property
  def max_nesting(self):
    return self._max_nesting

  @property
  def current(self):
    return self._curr_length, self._curr_nesting

  def update(self, loss, cur_length=None, cur_nesting=None):
    """Records `loss`; returns True when the curriculum advanced."""
    del cur_length, cur_nesting
    self._losses = (self._losses + [float(loss)])[-self._window:]
    self._num_tries += 1
    if self._num_tries < self._min_tries or len(self._losses) < 2:
      return False
    losses = np.array(self._losses)
    change = np.mean(np.abs(np.diff(losses))) / max(np.mean(losses), 1e-12)
    if change < self._loss_threshold:
      advanced = self._advance()
      if advanced:
        self._num_tries = 0
        self._losses = []
      return advanced
    return False

  def _advance(self):
    """Advances length, then nesting; False once at the maxima."""
    if self._curr_length < self._max_length:
      self._curr_length += 1
      return True
    if self._curr_nesting < self._max_nesting:
      self._curr_nesting += 1
      self._curr_length = 1
      return True
    return False

  def fetch(self):
    raise NotImplementedError


class CombineCurriculum(LTECurriculum):
  """Samples uniformly up to the current level."""

  def fetch(self):
    if self._curr_nesting > 1:
      nesting = random.randint(1, self._curr_nesting)
      length = random.randint(1, self._max_length if nesting <
                              self._curr_nesting else self._curr_length)
    else:
      nesting = 1
      length = random.randint(1, self._curr_length)
    return length, nesting


class MixCurriculum(LTECurriculum):
  """Samples uniformly up to the maxima."""

  def fetch(self):
    return (random.randint(1, self._max_length),
            random.randint(1, self._max_nesting))


class NaiveCurriculum(LTECurriculum):
  """Always the current level."""

  def fetch(self):
    return self._curr_length, self._curr_nesting


class BaselineCurriculum(LTECurriculum):
  """Always the maxima (the test setting)."""

  def fetch(self):
    return self._max_length, self._max_nesting


# --- Program generation ------------------------------------------------------

def _number(length):
  return random.randint(0, 10 ** length - 1)


def _operands(stack, count, length):
  out = []
  for _ in range(count):
    if stack:
      out.append(stack.pop())
    else:
      value = _number(length)
      out.append((value, str(value)))
  return out


def _add(stack, length):
  (a, ac), (b, bc) = _operands(stack, 2, length)
  stack.append((a + b, '(%s+%s)' % (ac, bc)))


def _subtract(stack, length):
  (a, ac), (b, bc) = _operands(stack, 2, length)
  stack.append((a - b, '(%s-%s)' % (ac, bc)))


def _multiply(stack, length):
  (a, ac), = _operands(stack, 1, length)
  b = random.randint(0, 10 ** max(length // 2, 1) - 1)
  stack.append((a * b, '(%s*%d)' % (ac, b)))


def _divide(stack, length):
  (a, ac), = _operands(stack, 1, length)
  b = random.randint(1, 10 ** max(length // 2, 1) - 1)
  stack.append((a // b, '(%s/%d)' % (ac, b)))


def _if(stack, length):
  (a, ac), (b, bc) = _operands(stack, 2, length)
  c, d = _number(length), _number(length)
  if random.random() < 0.5:
    value, code = (a if b < c else d), '(%s if %s<%d else %d)' % (ac, bc, c, d)
  else:
    value, code = (a if b > c else d), '(%s if %s>%d else %d)' % (ac, bc, c, d)
  stack.append((value, code))


def _for(stack, length):
  (a, ac), = _operands(stack, 1, length)
  b = _number(length)
  k = random.randint(1, 9)
  stack.append((a + k * b, '(x=%s for[%d] x+=%d)' % (ac, k, b)))


def _copy(stack, length):
  del stack
  text = ''.join(random.choice('0123456789') for _ in range(length))
  return text, text


def _double(stack, length):
  del stack
  text = ''.join(random.choice('0123456789') for _ in range(length))
  return text, text + text


def _reverse(stack, length):
  del stack
  text = ''.join(random.choice('0123456789') for _ in range(length))
  return text, text[::-1]


_TASK_OPS = {
    TaskType.ALGEBRA: (_add, _subtract, _multiply),
    TaskType.CONTROL: (_if, _for),
    TaskType.ALL: (_add, _subtract, _multiply, _if, _for),
    TaskType.ALG_CTRL: (_add, _subtract, _if),
    TaskType.ADDITION: (_add,),
    TaskType.COPY: (_copy,),
    TaskType.DOUBLE: (_double,),
    TaskType.REVERSE: (_reverse,),
}
_MEMORY_TASKS = (TaskType.COPY, TaskType.DOUBLE, TaskType.REVERSE)


def generate_code(max_length, max_nest, ops):
  """A program `(code, printed value)` of `max_nest` operations from `ops`."""
  stack = []
  for _ in range(max_nest):
    random.choice(ops)(stack, max_length)
  value, code = stack.pop()
  if code.startswith('(') and code.endswith(')'):
    code = code[1:-1]
  return code, str(value % 10 ** (max_length + 1))


# --- Tokens and batches ------------------------------------------------------

_LITERALS = ['+', '-', '*', '=', ':', '/', '(', ')', ' ', 'x', '|', '<', '>',
             '[', ']', '~', '!', '.']
_KEYWORDS = ['if', 'for', 'else', 'range']
START, END, PAD = '~', '!', '.'


class LearnToExecuteState(object):
  """Generates batches; owns the curriculum and the vocabulary."""

  def __init__(self, batch_size, max_length, max_nesting, curriculum,
               token_by_char=True, task_type=TaskType.ALG_CTRL):
    if task_type not in _TASK_OPS:
      raise ValueError('Invalid task type {}.'.format(task_type))
    self._batch_size = batch_size
    self._curriculum = curriculum
    self._task_type = task_type
    if task_type in _MEMORY_TASKS:
      token_by_char = True
    self._token_by_char = token_by_char
    tokens = set(_LITERALS + list('0123456789'))
    for keyword in _KEYWORDS:
      tokens.add(keyword)
      tokens.update(keyword)
    if not token_by_char:
      # Whole numbers are tokens: every value a program or result can show.
      tokens.update(str(i) for i in range(10 ** (max_length + 1)))
    self.vocab = ['_unk_', '_null_', '_eos_', '|'] + sorted(
        tokens - {'|'})
    self.vocab_dict = {t: i for i, t in enumerate(self.vocab)}
    n, length = max_nesting, max_length
    if task_type in (TaskType.COPY, TaskType.REVERSE):
      self.num_steps, self.num_steps_out = length + 1, length + 1
    elif task_type == TaskType.DOUBLE:
      self.num_steps, self.num_steps_out = length + 1, 2 * length + 1
    elif token_by_char:
      # The original's bound, widened where this generator's program
      # format can be longer (so no valid program is ever rejected).
      longest = 4 * length + 16 + (3 * length + 18) * (n - 1)
      self.num_steps = max((3 * length + 10) * (n - 1) + 4 * length + 10 +
                           2 * (n - 1), longest)
      self.num_steps_out = 2 * length + 1  # result digits and end marker
    else:
      longest = 13 + 15 * (n - 1)  # the `for` format, in tokens
      self.num_steps = max(10 * (n - 1) + 11 + 2 * (n - 1), longest)
      self.num_steps_out = 1  # the result is one token
    self.vocab_size = len(self.vocab)

  @property
  def curriculum(self):
    return self._curriculum

  def tokenize(self, text):
    """Characters, or (`token_by_char=False`) numbers, keywords, symbols."""
    if self._token_by_char:
      return list(text)
    return re.findall(r'\d+|if|for|else|range|.', text)

  def _sample(self, length, nesting):
    """Token lists `(program, result)`; the result ends with END by char."""
    ops = _TASK_OPS[self._task_type]
    for _ in range(_MAX_TRIES):
      if self._task_type in _MEMORY_TASKS:
        code, value = ops[0]([], length)
      else:
        code, value = generate_code(length, nesting, ops)
      code = self.tokenize(code)
      value = self.tokenize(value) + ([END] if self._token_by_char else [])
      if len(code) <= self.num_steps and len(value) <= self.num_steps_out:
        return code, value
    raise ValueError('Could not generate a sample that fits {} input and {} '
                     'output steps.'.format(self.num_steps, self.num_steps_out))

  def _one_hot(self, tokens, steps):
    ids = [self.vocab_dict.get(c, 0) for c in tokens]
    ids += [self.vocab_dict[PAD]] * (steps - len(ids))
    return np.eye(self.vocab_size, dtype=np.float32)[ids]

  def make_batch(self):
    """Generator of batches (see the module docstring)."""
    while True:
      obs, target, target_in, sizes_in, sizes_out = [], [], [], [], []
      for _ in range(self._batch_size):
        length, nesting = self._curriculum.fetch()
        code, out = self._sample(length, nesting)
        obs.append(self._one_hot(code, self.num_steps))
        target.append(self._one_hot(out, self.num_steps_out))
        target_in.append(self._one_hot(([START] + out)[:self.num_steps_out],
                                       self.num_steps_out))
        sizes_in.append(len(code))
        sizes_out.append(len(out))
      yield (np.stack(obs, 1), np.stack(target, 1), np.stack(target_in, 1),
             np.array(sizes_in, np.int64), np.array(sizes_out, np.int64))

  def to_human_readable(self, data, label_batch_entries=True, indices=None,
                        sep='\n'):
    """Decodes `data` ([T, B, V] one-hots) per batch column."""
    indices = range(data.shape[1]) if indices is None else indices
    lines = []
    for i in indices:
      text = ''.join(self.vocab[j] for j in np.argmax(data[:, i], -1))
      lines.append('b_{}: {}'.format(i, text) if label_batch_entries else text)
    return sep.join(lines)


def LearnToExecute(  # pylint: disable=invalid-name
    batch_size, max_length=1, max_nesting=1, token_by_char=True,
    mode=Mode.TRAIN_COMBINE, loss_threshold=0.1,
    min_tries=DEFAULT_MIN_CURRICULUM_EVAL_TRIES, task_type=TaskType.ALG_CTRL):
  """The task as a `tf.data.Dataset` with its `LearnToExecuteState` in `.state`."""
  if mode == Mode.TRAIN_COMBINE:
    curriculum = CombineCurriculum(max_length, max_nesting, loss_threshold,
                                   min_tries=min_tries)
  elif mode == Mode.TRAIN_MIX:
    curriculum = MixCurriculum(max_length, max_nesting, loss_threshold,
                               min_tries=min_tries)
  elif mode == Mode.TRAIN_NAIVE:
    curriculum = NaiveCurriculum(max_length, max_nesting, loss_threshold,
                                 min_tries=min_tries)
  elif mode == Mode.TEST:
    curriculum = BaselineCurriculum(max_length, max_nesting, loss_threshold,
                                    min_tries=0)
  else:
    raise ValueError('Invalid mode.')
  lte = LearnToExecuteState(batch_size, max_length, max_nesting, curriculum,
                            token_by_char, task_type=task_type)
  vocab = lte.vocab_size
  signature = (
      tf.TensorSpec([lte.num_steps, batch_size, vocab], tf.float32),
      tf.TensorSpec([lte.num_steps_out, batch_size, vocab], tf.float32),
      tf.TensorSpec([lte.num_steps_out, batch_size, vocab], tf.float32),
      tf.TensorSpec([batch_size], tf.int64),
      tf.TensorSpec([batch_size], tf.int64))
  dataset = tf.data.Dataset.from_generator(lte.make_batch,
                                           output_signature=signature)
  dataset.state = lte
  return dataset
