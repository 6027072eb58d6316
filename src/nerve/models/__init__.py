"""Reference architectures, written with ``nerve.nn`` and PyTorch's (torchvision's) parameter names."""

from nerve.models.bert import BERT, BertConfig, SentenceEncoder
from nerve.models.efficientnet import MBConv, MBConvNet, SqueezeExcitation
from nerve.models.gpt import GPT
from nerve.models.lenet import LeNet5
from nerve.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet8,
    resnet18,
    resnet20,
    resnet34,
    resnet50,
)
from nerve.models.rnn import CharRNN, RNNForecaster
from nerve.models.vgg import SmallVGG
from nerve.models.vit import ViT

__all__ = [
    "BERT", "BertConfig", "SentenceEncoder",
    "BasicBlock", "Bottleneck", "CharRNN", "GPT", "LeNet5", "MBConv", "MBConvNet", "RNNForecaster", "ResNet",
    "SmallVGG", "SqueezeExcitation", "ViT", "resnet8", "resnet18", "resnet20", "resnet34", "resnet50",
]
