"""scikit-learn's 8×8 handwritten digits (1,797 images, values 0–16, 10 classes): a dataset for fast tests.

The data is the file ``sklearn/datasets/data/digits.csv.gz`` (one image per row: 64 pixels, then the label).
If scikit-learn is installed we read that file where it lies, without importing sklearn (which takes
seconds). Otherwise we take it out of a pinned scikit-learn wheel from PyPI and cache it as ``digits.npz``.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from nerve.datasets import _fetch
from nerve.datasets._image import ImageClassification

PACKAGE, VERSION = "scikit-learn", "1.9.1"
# pip cannot fetch scikit-learn's sdist without building its metadata (meson and compilers: 40 s, and it
# failed here), so we pin one platform wheel instead. Any machine can download it because we never install
# it, we only read one data file out of it; 9.3 MB.
WHEEL_SHA256 = "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df"
PIP_ARGS = ("--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
            "--implementation", "cp", "--abi", "cp311")
MEMBER = "sklearn/datasets/data/digits.csv.gz"
CACHE_NAME = "digits.npz"
N_IMAGES = 1797


def sklearn_csv() -> Path | None:
    """The installed scikit-learn's ``digits.csv.gz``, or None; found without importing sklearn."""
    # find_spec of a top-level package locates it without executing its __init__.
    spec = importlib.util.find_spec("sklearn")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


def parse_csv(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images (1797, 8, 8) uint8 in 0–16 and labels (1797,) int64 from the bytes of ``digits.csv.gz``."""
    table = np.loadtxt(io.StringIO(gzip.decompress(csv_gz).decode("ascii")), delimiter=",", dtype=np.int64)
    if table.shape != (N_IMAGES, 65) or table.min() < 0 or table[:, :64].max() > 16 or table[:, 64].max() > 9:
        raise RuntimeError(f"Digits: expected {N_IMAGES} rows of 64 pixels in 0-16 and a label, got {table.shape}")
    return table[:, :64].astype(np.uint8).reshape(-1, 8, 8), np.ascontiguousarray(table[:, 64])


def _download(path: Path) -> tuple[np.ndarray, np.ndarray]:
    members = _fetch.fetch_members("Digits", PACKAGE, VERSION, WHEEL_SHA256, [MEMBER],
                                   cache_file=path, pip_args=PIP_ARGS)
    images, labels = parse_csv(members[MEMBER])

    def write(f: BinaryIO) -> None:
        np.savez(f, images=images, labels=labels)

    _fetch.atomic_write(path, write)
    return images, labels


class Digits(ImageClassification):
    """scikit-learn's digits (``sklearn.datasets.load_digits``): 1,797 grey 8×8 images of the digits 0–9.

    There is no train/test split; make one with ``nerve.data.random_split(ds, [0.8, 0.2])``.

    Args:
        root: cache directory, used only when scikit-learn is not installed (default ``$NERVE_DATA``,
            else ``~/.cache/nerve``).
        download: without scikit-learn and without a cache, download the pinned scikit-learn wheel
            (default True); if False that is an error.
        transform: called on each image Tensor (1, 8, 8) float32 in [0, 1].
        target_transform: called on each int label.

    Attributes:
        data: (1797, 8, 8) uint8 ndarray, values 0–16 (``load_digits().images``).
        targets: (1797,) int64 ndarray (``load_digits().target``).
        classes: ``["0 - zero", ..., "9 - nine"]``.

    Shape:
        - ``ds[i]``: ``(Tensor (1, 8, 8) float32 = pixels / 16, int)``.
        - ``ds.get_batch(indices)``: ``(Tensor (B, 1, 8, 8) float32, Tensor (B,) int64)``.

    Example:
        >>> train, test = random_split(Digits(), [0.8, 0.2])
        >>> x, y = train[0]        # x.shape == (1, 8, 8)
    """

    scale = 16.0

    def __init__(self, root: str | os.PathLike[str] | None = None, download: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = _fetch.data_root(root)
        path = self.root / CACHE_NAME
        if (csv := sklearn_csv()) is not None:
            data, targets = parse_csv(csv.read_bytes())
        elif path.is_file():
            with np.load(path) as f:
                data, targets = f["images"], f["labels"]
            if data.shape != (N_IMAGES, 8, 8) or targets.shape != (N_IMAGES,):
                raise RuntimeError(f"Digits: {path} holds images {data.shape}, expected ({N_IMAGES}, 8, 8); "
                                   "delete it to download again")
        elif download:
            data, targets = _download(path)
        else:
            raise RuntimeError(
                f"Digits: scikit-learn is not installed and there is no cached dataset at {path}; "
                "pass download=True or install scikit-learn"
            )
        super().__init__(data, targets, transform, target_transform)
