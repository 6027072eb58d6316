"""Optimizers and learning-rate schedules with PyTorch's names and update rules."""

from nerve.optim import lr_scheduler, swa_utils
from nerve.optim.adadelta import Adadelta
from nerve.optim.adagrad import Adagrad
from nerve.optim.adam import Adam, AdamW
from nerve.optim.adamax import Adamax
from nerve.optim.asgd import ASGD
from nerve.optim.lbfgs import LBFGS
from nerve.optim.nadam import NAdam
from nerve.optim.optimizer import Optimizer
from nerve.optim.radam import RAdam
from nerve.optim.rmsprop import RMSprop
from nerve.optim.rprop import Rprop
from nerve.optim.sgd import SGD

__all__ = ["ASGD", "LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "Rprop", "lr_scheduler", "swa_utils"]
