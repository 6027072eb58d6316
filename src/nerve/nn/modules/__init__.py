"""Layers with parameters and state."""

from nerve.nn.modules.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
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
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from nerve.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from nerve.nn.modules.distance import CosineSimilarity, PairwiseDistance
from nerve.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout
from nerve.nn.modules.fold import Fold, Unfold
from nerve.nn.modules.linear import Bilinear, Flatten, Identity, Linear, Unflatten
from nerve.nn.modules.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
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
    LocalResponseNorm,
    RMSNorm,
)
from nerve.nn.modules.padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
)
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
    MaxUnpool1d,
    MaxUnpool2d,
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
from nerve.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

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
__all__ += [
    "AlphaDropout", "Bilinear", "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConvTranspose1d",
    "FeatureAlphaDropout", "Fold", "Hardshrink", "HingeEmbeddingLoss", "LocalResponseNorm", "MaxUnpool1d",
    "MaxUnpool2d", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss", "RReLU",
    "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "SoftMarginLoss", "Softmax2d",
    "Softshrink", "Tanhshrink", "Threshold", "Unfold", "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad1d",
]
