"""Layers with parameters and state."""

from nerve.nn.modules.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
)
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nerve.nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d
from nerve.nn.modules.distance import CosineSimilarity, PairwiseDistance
from nerve.nn.modules.dropout import Dropout, Dropout1d, Dropout2d
from nerve.nn.modules.linear import Flatten, Identity, Linear, Unflatten
from nerve.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
    TripletMarginLoss,
)
from nerve.nn.modules.module import IncompatibleKeys, Module, StateDictError
from nerve.nn.modules.norm import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    RMSNorm,
)
from nerve.nn.modules.padding import ConstantPad2d, ZeroPad2d
from nerve.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle
from nerve.nn.modules.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from nerve.nn.modules.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from nerve.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from nerve.nn.modules.sparse import Embedding
from nerve.nn.modules.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from nerve.nn.modules.upsampling import Upsample

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "ConvTranspose2d",
    "Dropout1d", "Dropout2d", "MaxPool1d", "MaxPool2d", "Upsample",
    "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer", "LearnedPositionalEmbedding", "SinusoidalPositionalEncoding",
    "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase",
    "ELU", "GELU", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Flatten", "Hardtanh",
    "HuberLoss", "Identity", "IncompatibleKeys", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "Module", "ModuleDict", "ModuleList", "NLLLoss", "ParameterList", "ReLU", "ReLU6", "Sequential", "SiLU",
    "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "StateDictError", "Tanh", "Unflatten",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "CELU", "ConstantPad2d", "CosineEmbeddingLoss", "CosineSimilarity",
    "GLU", "GaussianNLLLoss", "Hardsigmoid", "Hardswish", "InstanceNorm1d", "InstanceNorm2d", "KLDivLoss",
    "LogSigmoid", "MarginRankingLoss", "Mish", "PReLU", "PairwiseDistance", "ParameterDict", "PixelShuffle",
    "PixelUnshuffle", "RMSNorm", "SELU", "Softmin", "Softsign", "TripletMarginLoss", "ZeroPad2d",
]
