"""Training: the fit loop, callbacks, metrics, checkpoints and run records."""

from nerve.train.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    GradientClipping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
)
from nerve.train.checkpoint import load_checkpoint, save_checkpoint
from nerve.train.metrics import accuracy, confusion_matrix, perplexity, top_k_accuracy
from nerve.train.trainer import Trainer, fit, make_loader

__all__ = ["Callback", "CallbackList", "EarlyStopping", "GradientClipping", "History", "LearningRateScheduler",
           "ModelCheckpoint", "ProgressBar", "TerminateOnNaN", "Trainer", "accuracy", "confusion_matrix",
           "fit", "load_checkpoint", "make_loader", "perplexity", "save_checkpoint", "top_k_accuracy"]
