"""Datasets and mini-batch loading (``nerve.data.DataLoader``)."""

from nerve.data import transforms
from nerve.data.dataloader import DataLoader, default_collate
from nerve.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from nerve.data.files import ImageFolder, encode_targets, read_csv, read_npz

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "ImageFolder",
    "Subset",
    "TensorDataset",
    "default_collate",
    "encode_targets",
    "random_split",
    "read_csv",
    "read_npz",
    "transforms",
]
