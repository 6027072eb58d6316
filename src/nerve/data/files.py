"""Bring your own data: arrays from ``.npz`` and ``.csv`` files, images from one folder per class.

``read_npz`` and ``read_csv`` return plain NumPy arrays (inputs as float32, targets as stored);
``encode_targets`` turns raw targets into class indices or float32 regression values; ``ImageFolder``
is a ``Dataset`` over ``root/<class_name>/<image>``.

Example:
    >>> X, y, names = read_csv("houses.csv", target="price")
    >>> y, classes, task = encode_targets(y)          # "regression": float prices
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    >>> images = ImageFolder("photos/", size=(64, 64))  # photos/cat/*.jpg, photos/dog/*.jpg
"""

from __future__ import annotations

import csv
import difflib
import operator
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from nerve.data.dataset import Dataset
from nerve.tensor import Tensor, _wrap

X_KEYS = ("X", "x", "inputs", "features")
Y_KEYS = ("y", "Y", "targets", "labels")
MAX_AUTO_CLASSES = 50
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
_GRAY_MODES = frozenset({"1", "L", "LA", "I;16", "I;16B", "I;16L", "I"})
# NOTE: Pillow converts 16-bit modes to "L" by clipping at 255, so these are scaled by 65535 by hand.
_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I"})

Task = Literal["auto", "classification", "regression"]
PathLike = str | os.PathLike[str]


def _existing_file(fn: str, path: PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{fn}: {p} is a directory, expected a file")
    if not p.is_file():
        raise FileNotFoundError(f"{fn}: {p} does not exist")
    return p


# ---------------------------------------------------------------------------------------------- npz


def _npz_key(path: Path, keys: list[str], key: str | None, defaults: tuple[str, ...], arg: str) -> str:
    if key is not None:
        if key not in keys:
            raise ValueError(f"read_npz: {path} has no array {key!r}; available arrays: {keys}")
        return key
    for k in defaults:
        if k in keys:
            return k
    raise ValueError(f"read_npz: {path} has none of the arrays {list(defaults)}; available arrays: {keys}; "
                     f"pass {arg}= to choose one")


def read_npz(path: PathLike, x_key: str | None = None, y_key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets from a NumPy ``.npz`` archive (as written by ``np.savez(path, X=X, y=y)``).

    Args:
        path: the ``.npz`` file. Pickled (object) arrays are refused.
        x_key: name of the inputs array (default: the first of ``X``, ``x``, ``inputs``, ``features``).
        y_key: name of the targets array (default: the first of ``y``, ``Y``, ``targets``, ``labels``).

    Returns:
        ``(X, y)``: ``X`` cast to float32, ``y`` as stored.

    Shape:
        - X: (n, features...) (1-D inputs are refused: reshape them to (n, 1))
        - y: (n, ...)
    """
    path = _existing_file("read_npz", path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"read_npz: {path} is not a valid .npz archive ({e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"read_npz: {path} holds a single array, expected a .npz archive of inputs and targets "
                         "(write it with np.savez(path, X=X, y=y))")
    with archive:
        keys = list(archive.files)
        xk = _npz_key(path, keys, x_key, X_KEYS, "x_key")
        yk = _npz_key(path, keys, y_key, Y_KEYS, "y_key")
        try:
            X, y = archive[xk], archive[yk]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"read_npz: cannot read arrays {xk!r} and {yk!r} from {path} ({e})") from None
    if X.dtype.kind not in "biuf":
        raise ValueError(f"read_npz: inputs {xk!r} in {path} have dtype {X.dtype}, expected numbers")
    if X.ndim < 2:
        raise ValueError(f"read_npz: inputs {xk!r} in {path} have shape {X.shape}, expected (n, features...); "
                         "reshape 1-D inputs to (n, 1) with X[:, None]")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"read_npz: inputs {xk!r} in {path} have {X.shape[0]} rows but targets {yk!r} have "
                         f"shape {y.shape}, expected ({X.shape[0]}, ...)")
    return X.astype(np.float32, copy=False), y


# ---------------------------------------------------------------------------------------------- csv


def _csv_column(path: Path, header: list[str], name: str, role: str, delimiter: str) -> int:
    if name in header:
        return header.index(name)
    msg = f"read_csv: {role} column {name!r} not found in {path}; available columns: {header}"
    close = difflib.get_close_matches(name, header, n=3)
    if close:
        msg += f"; did you mean {' or '.join(map(repr, close))}?"
    if len(header) == 1:
        guess = next((d for d in ",;\t|" if d != delimiter and d in header[0]), None)
        if guess is not None:
            msg += f" (the header has a single column: is the delimiter {guess!r}?)"
    raise ValueError(msg)


def _csv_number(path: Path, line: int, column: str, value: str) -> float:
    if not value.strip():
        raise ValueError(f"read_csv: {path} line {line}: empty value in column {column!r}; "
                         "fill in or drop missing values first (read_csv does not impute)")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"read_csv: {path} line {line}: column {column!r} holds {value!r}, expected a number "
                         "(only the target column may hold text)") from None


def _typed_column(values: list[str]) -> np.ndarray:
    """int64 if every value is an integer literal, else float64 if every value is a number, else str."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def read_csv(path: PathLike, target: str, features: Sequence[str] | None = None,
             delimiter: str = ",") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Numeric feature columns and one target column from a CSV file with a header row.

    Args:
        path: the CSV file (UTF-8; a byte-order mark is skipped). Blank lines are skipped.
        target: name of the target column; it may hold numbers or text labels.
        features: names of the input columns, in the order wanted (default: every column but the target).
            They must all hold numbers.
        delimiter: the field separator (default ``","``).

    Returns:
        ``(X, y, feature_names)``: ``X`` float32; ``y`` the raw target column, int64 if every value is an
        integer literal, else float64 if every value is a number, else ``str`` (see ``encode_targets``).

    Shape:
        - X: (n, len(feature_names))
        - y: (n,)

    Missing values are an error, never imputed silently.
    """
    path = _existing_file("read_csv", path)
    if isinstance(features, str):
        raise TypeError(f"read_csv: features must be a list of column names, got the string {features!r}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise ValueError(f"read_csv: {path} is empty or its first line is blank; "
                             "expected a header row of column names")
        dupes = sorted({h for h in header if h and header.count(h) > 1})
        if dupes:
            raise ValueError(f"read_csv: {path} has duplicate column names {dupes}; expected unique names")
        t = _csv_column(path, header, target, "target", delimiter)
        if features is None:
            if "" in header:
                raise ValueError(f"read_csv: column {header.index('') + 1} of {path} has no name (a saved pandas "
                                 "index? write it with index=False); name it or pass features=[...]")
            names = [h for h in header if h != target]
        else:
            names = list(features)
            if target in names:
                raise ValueError(f"read_csv: the target column {target!r} is also listed in features {names}; "
                                 "expected the inputs only")
        if not names:
            raise ValueError(f"read_csv: {path} has no feature columns besides the target {target!r}")
        cols = [_csv_column(path, header, name, "feature", delimiter) for name in names]
        rows: list[list[float]] = []
        raw_y: list[str] = []
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"read_csv: {path} line {line} has {len(row)} fields, expected {len(header)} "
                                 f"like the header (delimiter {delimiter!r})")
            rows.append([_csv_number(path, line, header[j], row[j]) for j in cols])
            if not row[t].strip():
                raise ValueError(f"read_csv: {path} line {line}: empty value in target column {target!r}; "
                                 "drop rows without a target first (read_csv does not impute)")
            raw_y.append(row[t].strip())
    if not rows:
        raise ValueError(f"read_csv: {path} has a header but no data rows")
    X = np.array(rows, dtype=np.float32).reshape(len(rows), len(cols))
    return X, _typed_column(raw_y), names


# -------------------------------------------------------------------------------------------- targets


def encode_targets(y: np.ndarray, task: Task = "auto") -> tuple[np.ndarray, list[str] | None, str]:
    """Targets ready for a loss: class indices for classification, float32 values for regression.

    Args:
        y: raw targets (numbers, bools or strings), e.g. from ``read_csv`` or ``read_npz``.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (default). ``"auto"`` picks
            classification for strings and bools, and for 1-D integers with at most 50 distinct values;
            regression otherwise (floats, integers with more values, multi-column targets).

    Returns:
        ``(targets, classes, task)``. Classification: int64 indices into ``classes``, the sorted distinct
        labels as strings (numbers sort numerically: ``["1", "2", "10"]``). Regression: float32 targets
        of ``y``'s shape and ``classes=None``. ``task`` is the resolved task.

    Example:
        >>> encode_targets(np.array(["dog", "cat", "dog"]))
        (array([1, 0, 1]), ['cat', 'dog'], 'classification')
    """
    if task not in ("auto", "classification", "regression"):
        raise ValueError(f"encode_targets: task must be 'auto', 'classification' or 'regression', got {task!r}")
    y = np.asarray(y)
    if y.dtype.kind == "O":
        y = np.array(y.tolist())  # let NumPy infer numbers vs text
    if y.dtype.kind == "S":
        y = y.astype(str)
    if y.ndim == 0:
        raise ValueError(f"encode_targets: expected an array of targets of shape (n, ...), got the scalar {y!r}")
    if y.dtype.kind not in "biufU":
        raise ValueError(f"encode_targets: expected numbers, bools or strings, got dtype {y.dtype}")
    if task == "auto":
        few_ints = y.dtype.kind in "iu" and y.ndim == 1 and len(np.unique(y)) <= MAX_AUTO_CLASSES
        task = "classification" if y.dtype.kind in "bU" or few_ints else "regression"
    if task == "regression":
        if y.dtype.kind != "U":
            return y.astype(np.float32), None, task
        values = []
        for v in y.ravel().tolist():
            try:
                values.append(float(v))
            except ValueError:
                raise ValueError(f"encode_targets: regression needs numeric targets, got {v!r}; "
                                 "use task='classification' for labels") from None
        return np.array(values, dtype=np.float32).reshape(y.shape), None, task
    if y.ndim != 1:
        raise ValueError(f"encode_targets: classification needs labels of shape (n,), got shape {y.shape} "
                         "(for one-hot labels pass y.argmax(1))")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("encode_targets: classification labels contain NaN; drop those rows first")
    labels, index = np.unique(y, return_inverse=True)
    return index.astype(np.int64), [str(v) for v in labels.tolist()], task


# --------------------------------------------------------------------------------------------- images


def _pillow() -> ModuleType:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("ImageFolder needs Pillow: pip install 'nerve[image]'") from e
    return Image


class ImageFolder(Dataset):
    """Images in one subfolder per class: ``root/<class_name>/<image>``.

    Args:
        root: the folder holding one subfolder per class (hidden entries are ignored).
        size: ``(H, W)`` to resize every image to (bilinear). ``None`` (default): all images must
            already share one size.
        grayscale: ``True`` for 1 channel, ``False`` for RGB. ``None`` (default): 1 channel if every image
            is single-channel (Pillow modes ``1``, ``L``, ``LA``, ``I;16``, ``I``), else RGB; alpha is dropped.
        transform: called on each image tensor (C, H, W) after loading, e.g. an augmentation.
        cache: keep decoded images in memory after their first read (default ``True``); cached arrays are
            read-only, so a transform must not modify its input in place.

    Attributes:
        classes: sorted subfolder names; ``class_to_idx`` maps them to indices.
        samples: ``(path, class index)`` per image, by class then file name; ``targets`` the indices (int64).
        image_shape: ``(C, H, W)`` of a loaded image before ``transform``.

    Shape:
        - ``ds[i]``: (image float32 (C, H, W) in [0, 1], class index int64 ())
        - ``ds.get_batch(indices)``: (images (B, C, H, W), class indices (B,))

    Files with extensions ``.bmp .gif .jpeg .jpg .png .webp`` (any case) are images; others are ignored.

    Example:
        >>> ds = ImageFolder("photos/", size=(32, 32))
        >>> loader = DataLoader(ds, batch_size=64, shuffle=True)
    """

    def __init__(self, root: PathLike, size: tuple[int, int] | None = None, grayscale: bool | None = None,
                 transform: Callable[[Tensor], Tensor | np.ndarray] | None = None, cache: bool = True) -> None:
        _pillow()
        self.root = Path(root)
        if not self.root.is_dir():
            what = "is a file" if self.root.exists() else "does not exist"
            raise FileNotFoundError(f"ImageFolder: {self.root} {what}; expected a folder with one subfolder "
                                    "of images per class")
        if size is not None and (len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size)):
            raise ValueError(f"ImageFolder: size must be (H, W) with positive integers, got {size!r}")
        self.size = None if size is None else (size[0], size[1])
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not self.classes:
            raise ValueError(f"ImageFolder: {self.root} has no class subfolders; expected "
                             f"{self.root}/<class_name>/<image files>")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples: list[tuple[str, int]] = []
        for c in self.classes:
            files = sorted(p for p in (self.root / c).iterdir()
                           if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not files:
                raise ValueError(f"ImageFolder: class folder {self.root / c} has no images "
                                 f"({' '.join(IMAGE_EXTENSIONS)}); add images or remove the folder")
            self.samples += [(str(p), self.class_to_idx[c]) for p in files]
        self.targets = np.array([t for _, t in self.samples], dtype=np.int64)
        modes, (h, w) = self._scan()
        self.grayscale = modes <= _GRAY_MODES if grayscale is None else bool(grayscale)
        self.image_shape = (1 if self.grayscale else 3, h, w)
        self.transform = transform
        self._cache: list[np.ndarray | None] | None = [None] * len(self.samples) if cache else None

    def _open(self, path: str) -> Any:
        try:
            return _pillow().open(path)
        except (OSError, ValueError) as e:
            raise ValueError(f"ImageFolder: cannot read image {path} ({e})") from None

    def _scan(self) -> tuple[set[str], tuple[int, int]]:
        """Modes of all images and the common (H, W), from headers only (Pillow decodes lazily)."""
        modes: set[str] = set()
        sizes: dict[tuple[int, int], str] = {}  # NOTE: Pillow sizes are (W, H)
        for path, _ in self.samples:
            with self._open(path) as img:
                modes.add(img.mode)
                sizes.setdefault(img.size, path)
            if self.size is None and len(sizes) > 1:
                (wa, ha), (wb, hb) = sizes
                raise ValueError(f"ImageFolder: images differ in size: {sizes[wa, ha]} is {ha}x{wa} and {path} is "
                                 f"{hb}x{wb} (HxW); pass size=(H, W) to resize them all")
        w, h = next(iter(sizes))
        return modes, self.size or (h, w)

    def _decode(self, img: Any) -> np.ndarray:
        Image = _pillow()
        hw = (self.image_shape[1], self.image_shape[2])
        if img.mode in _WIDE_MODES:
            scale, channels = 65535, img
        else:
            if img.mode in ("P", "PA"):
                img = img.convert("RGBA")  # palette transparency converts cleanly only via RGBA
            scale, channels = 255, img.convert("L" if self.grayscale else "RGB")
        if channels.size != hw[::-1]:
            channels = channels.resize(hw[::-1], Image.Resampling.BILINEAR)
        arr = np.asarray(channels, dtype=np.float32) / np.float32(scale)
        if arr.ndim == 2:
            arr = np.clip(arr, 0, 1) if scale == 65535 else arr
            arr = arr[None] if self.grayscale else np.repeat(arr[None], 3, axis=0)
        else:
            arr = arr.transpose(2, 0, 1)
        return np.ascontiguousarray(arr)

    def _image(self, i: int) -> np.ndarray:
        if self._cache is not None and self._cache[i] is not None:
            return self._cache[i]
        path = self.samples[i][0]
        try:
            with self._open(path) as img:
                arr = self._decode(img)
        except OSError as e:  # truncated or corrupt pixel data only shows when decoding
            raise ValueError(f"ImageFolder: cannot read image {path} ({e})") from None
        if arr.shape != self.image_shape:
            raise ValueError(f"ImageFolder: {path} loads as {arr.shape}, expected {self.image_shape} "
                             "(did the file change after the dataset was created?)")
        if self._cache is not None:
            arr.flags.writeable = False
            self._cache[i] = arr
        return arr

    def _sample(self, i: int) -> np.ndarray:
        if self.transform is None:
            return self._image(i)
        out = self.transform(_wrap(self._image(i)))
        return out.data if isinstance(out, Tensor) else np.asarray(out)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        i = operator.index(index)
        n = len(self.samples)
        if not -n <= i < n:
            raise IndexError(f"ImageFolder: index {index} out of range for {n} images")
        i %= n
        return _wrap(self._sample(i)), _wrap(self.targets[i])

    def get_batch(self, indices: np.ndarray) -> tuple[Tensor, Tensor]:
        idx = np.asarray(indices, dtype=np.int64)
        return _wrap(np.stack([self._sample(int(i)) for i in idx])), _wrap(self.targets[idx])

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return (f"ImageFolder(root={str(self.root)!r}, classes={len(self.classes)}, images={len(self)}, "
                f"image_shape={self.image_shape})")
