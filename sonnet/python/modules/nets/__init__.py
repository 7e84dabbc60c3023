"""`snt.nets`: networks built from Sonnet modules."""

from sonnet.python.modules.nets.mlp import MLP
from sonnet.python.modules.nets.vqvae import VectorQuantizer
from sonnet.python.modules.nets.vqvae import VectorQuantizerEMA
