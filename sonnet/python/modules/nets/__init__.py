"""`snt.nets`: networks built from Sonnet modules."""

from sonnet.python.modules.nets import dnc
from sonnet.python.modules.nets import transformer
from sonnet.python.modules.nets.alexnet import AlexNet
from sonnet.python.modules.nets.alexnet import AlexNetFull
from sonnet.python.modules.nets.alexnet import AlexNetMini
from sonnet.python.modules.nets.convnet import ConvNet2D
from sonnet.python.modules.nets.convnet import ConvNet2DTranspose
from sonnet.python.modules.nets.dilation import Dilation
from sonnet.python.modules.nets.dilation import identity_kernel_initializer
from sonnet.python.modules.nets.dilation import noisy_identity_kernel_initializer  # pylint: disable=line-too-long
from sonnet.python.modules.nets.dnc import DNC
from sonnet.python.modules.nets.mlp import MLP
from sonnet.python.modules.nets.transformer import CompressiveTransformer
from sonnet.python.modules.nets.transformer import future_mask
from sonnet.python.modules.nets.transformer import TransformerTower
from sonnet.python.modules.nets.transformer import TransformerXL
from sonnet.python.modules.nets.vqvae import VectorQuantizer
from sonnet.python.modules.nets.vqvae import VectorQuantizerEMA
