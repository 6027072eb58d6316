"""CharVocabulary: sorted distinct characters, vectorised encode/decode, clear errors, config round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nerve
from nerve.data import CharVocabulary


def test_vocabulary_is_sorted_distinct_characters() -> None:
    vocab = CharVocabulary("hello world")
    assert vocab.chars == " dehlorw" and len(vocab) == 8
    assert CharVocabulary("dlrow olleh") == vocab  # order and repeats do not matter
    assert repr(vocab) == "CharVocabulary(8 chars: ' dehlorw')"


def test_encode_decode_round_trip() -> None:
    text = "To be, or not to be: that is the question.\n"
    vocab = CharVocabulary(text)
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.tolist() == [vocab.chars.index(c) for c in text]
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.tolist()) == text and vocab.decode(ids.astype(np.int32)) == text
    assert vocab.decode(ids[:6].reshape(2, 3)) == text[:6]  # any shape, read in C order
    assert vocab.encode("").shape == (0,) and vocab.decode(np.array([], dtype=np.int64)) == ""


def test_decode_accepts_tensors() -> None:
    vocab = CharVocabulary("abc")
    assert vocab.decode(nerve.tensor(np.array([2, 0, 1]))) == "cab"


def test_non_ascii_characters() -> None:
    text = "naïve café — 東京 🙂"
    vocab = CharVocabulary(text)
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.chars == "".join(sorted(set(text)))


def test_unknown_character_is_named() -> None:
    vocab = CharVocabulary("abc")
    with pytest.raises(ValueError, match=r"CharVocabulary\.encode: character 'z' at position 2 is not in the "
                                         r"vocabulary of 3 characters 'abc'"):
        vocab.encode("abza")
    with pytest.raises(ValueError, match=r"character '\\n' at position 0"):
        vocab.encode("\n")
    with pytest.raises(ValueError, match=r"character '0' at position 0"):  # below every vocabulary code point
        vocab.encode("0")


def test_decode_errors() -> None:
    vocab = CharVocabulary("abc")
    with pytest.raises(ValueError, match=r"CharVocabulary\.decode: id 3 at position 1 is outside 0\.\.2"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match=r"id -1 at position 0"):
        vocab.decode([-1])
    with pytest.raises(ValueError, match=r"expected integer ids, got dtype float64"):
        vocab.decode(np.array([0.0, 1.0]))


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match=r"CharVocabulary: expected a non-empty text"):
        CharVocabulary("")
    with pytest.raises(TypeError, match=r"CharVocabulary: expected a str .* got list"):
        CharVocabulary(["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"CharVocabulary\.encode: expected a str, got bytes"):
        CharVocabulary("ab").encode(b"ab")  # type: ignore[arg-type]


def test_to_dict_from_dict_through_json() -> None:
    vocab = CharVocabulary("The quick brown fox\n")
    state = json.loads(json.dumps(vocab.to_dict()))
    assert state == {"chars": "\n Tbcefhiknoqruwx"}
    restored = CharVocabulary.from_dict(state)
    assert restored == vocab
    np.testing.assert_array_equal(restored.encode("fox"), vocab.encode("fox"))


def test_from_dict_errors() -> None:
    with pytest.raises(ValueError, match=r"from_dict: 'chars' must be distinct characters in sorted order"):
        CharVocabulary.from_dict({"chars": "ba"})  # rebuilding would renumber the ids
    with pytest.raises(ValueError, match=r"from_dict: 'chars' must be distinct"):
        CharVocabulary.from_dict({"chars": "aab"})
    with pytest.raises(ValueError, match=r"expected a mapping with a str under 'chars', got keys \['vocab'\]"):
        CharVocabulary.from_dict({"vocab": "ab"})
    with pytest.raises(ValueError, match=r"got list under 'chars'"):
        CharVocabulary.from_dict({"chars": ["a", "b"]})


def test_token_block_loader_fixed_blocks_and_shifted_targets():
    from nerve.data import TokenBlockLoader

    tokens = np.arange(50)
    loader = TokenBlockLoader(tokens, batch_size=3, block_size=8)
    assert len(loader) == 2  # (49 // 8) - 1 = 5 blocks in batches of 3
    batches = list(loader)
    inputs = np.concatenate([x.data for x, _ in batches])
    targets = np.concatenate([y.data for _, y in batches])
    np.testing.assert_array_equal(inputs, np.arange(40).reshape(5, 8))
    np.testing.assert_array_equal(targets, inputs + 1)
    assert inputs.dtype == np.int64


def test_token_block_loader_shuffles_offset_and_order_per_epoch_reproducibly():
    from nerve.data import TokenBlockLoader

    tokens = np.arange(1000)
    loader = TokenBlockLoader(tokens, batch_size=4, block_size=16, shuffle=True, seed=3)
    first = np.concatenate([x.data for x, _ in loader])
    second = np.concatenate([x.data for x, _ in loader])
    assert first.shape == second.shape == (loader._blocks(), 16)
    assert not np.array_equal(first, second)  # a new epoch, a new cut and order
    for blocks in (first, second):
        np.testing.assert_array_equal(np.diff(blocks, axis=1), 1)  # each block is consecutive text
        starts = np.sort(blocks[:, 0])
        assert np.all(np.diff(starts) == 16)  # non-overlapping, evenly cut
        assert blocks.max() + 1 < len(tokens)  # targets stay inside the stream
    again = TokenBlockLoader(tokens, batch_size=4, block_size=16, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([x.data for x, _ in again]), first)


def test_token_block_loader_resumes_mid_epoch():
    from nerve.data import TokenBlockLoader

    loader = TokenBlockLoader(np.arange(500), batch_size=2, block_size=10, shuffle=True, seed=1)
    iterator = iter(loader)
    next(iterator)
    next(iterator)
    state = loader.state_dict()
    rest = [x.data for x, _ in iterator]
    resumed = TokenBlockLoader(np.arange(500), batch_size=2, block_size=10, shuffle=True, seed=1)
    resumed.load_state_dict(state)
    replay = [x.data for x, _ in resumed]
    assert len(replay) == len(rest)
    for a, b in zip(replay, rest):
        np.testing.assert_array_equal(a, b)


def test_token_block_loader_errors():
    from nerve.data import TokenBlockLoader

    with pytest.raises(ValueError, match="too few for blocks of 8"):
        TokenBlockLoader(np.arange(10), batch_size=2, block_size=8)
    with pytest.raises(ValueError, match="expected a 1-D array of int ids"):
        TokenBlockLoader(np.zeros(100), batch_size=2, block_size=8)
