"""Datasets, samplers and mini-batch loading (``nerve.data.DataLoader``), vocabularies, time-series tooling."""

from nerve.data import transforms
from nerve.data.dataloader import DataLoader, default_collate
from nerve.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nerve.data.files import ImageFolder, encode_targets, read_csv, read_npz
from nerve.data.sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from nerve.data.text import BPTTLoader, CharVocabulary, TokenBlockLoader
from nerve.data.timeseries import (
    MinMaxScaler,
    StandardScaler,
    mae,
    mase,
    naive_forecast,
    rmse,
    seasonal_naive_forecast,
    sliding_windows,
    split_by_time,
    windows_for_span,
)

__all__ = [
    "BPTTLoader",
    "BatchSampler",
    "ChainDataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "TokenBlockLoader",
    "CharVocabulary",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "ImageFolder",
    "MinMaxScaler",
    "StandardScaler",
    "Subset",
    "TensorDataset",
    "default_collate",
    "encode_targets",
    "mae",
    "mase",
    "naive_forecast",
    "random_split",
    "read_csv",
    "read_npz",
    "rmse",
    "seasonal_naive_forecast",
    "sliding_windows",
    "split_by_time",
    "transforms",
    "windows_for_span",
]
