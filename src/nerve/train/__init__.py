"""Training: the fit loop, callbacks, metrics and run records."""

from nerve.train.callbacks import Callback, CallbackList, History, ProgressBar, TerminateOnNaN
from nerve.train.metrics import accuracy, confusion_matrix
from nerve.train.trainer import Trainer

__all__ = ["Callback", "CallbackList", "History", "ProgressBar", "TerminateOnNaN", "Trainer", "accuracy",
           "confusion_matrix"]
