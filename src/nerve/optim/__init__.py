"""Optimizers and learning-rate schedules with PyTorch's names and update rules."""

from nerve.optim import lr_scheduler
from nerve.optim.adagrad import Adagrad
from nerve.optim.adam import Adam, AdamW
from nerve.optim.optimizer import Optimizer
from nerve.optim.rmsprop import RMSprop
from nerve.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
