"""Custom getters: functions passed as `custom_getter=` to modules or scopes."""

from sonnet.python.custom_getters import bayes_by_backprop
from sonnet.python.custom_getters.context import Context
from sonnet.python.custom_getters.non_trainable import non_trainable
from sonnet.python.custom_getters.override_args import override_args
from sonnet.python.custom_getters.override_args import override_default_args
from sonnet.python.custom_getters.restore_initializer import restore_initializer
from sonnet.python.custom_getters.stop_gradient import stop_gradient
