"""`snt.nets`: networks built from Sonnet modules."""

from sonnet.python.modules.nets.mlp import MLP
