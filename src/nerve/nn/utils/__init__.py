"""Gradient clipping, parameter/vector conversion and variable-length sequences (``nn.utils.rnn``)."""

from nerve.nn.utils import rnn
from nerve.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from nerve.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["rnn", "clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
