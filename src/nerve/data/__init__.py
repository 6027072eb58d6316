"""Datasets and mini-batch loading (``nerve.data.DataLoader``)."""

from nerve.data.dataloader import DataLoader, default_collate
from nerve.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
