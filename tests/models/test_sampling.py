"""Next-token sampling: temperature, top-k and top-p restrict the draw as documented."""

import numpy as np
import pytest

from nerve.models.sampling import check_sampling, draw


def _frequencies(logits, n=4000, **options):
    rng = np.random.default_rng(0)
    options = {"temperature": 1.0, "top_k": None, "top_p": None} | options
    counts = np.bincount([draw(np.asarray(logits, float), rng=rng, **options) for _ in range(n)],
                         minlength=len(logits))
    return counts / n


def test_top_k_draws_only_k_ids_even_when_logits_tie():
    assert np.count_nonzero(_frequencies(np.zeros(10), top_k=2, n=300)) == 2


def test_plain_draw_follows_the_softmax():
    logits = np.log([0.5, 0.3, 0.2])
    np.testing.assert_allclose(_frequencies(logits), [0.5, 0.3, 0.2], atol=0.03)


def test_temperature_sharpens_and_flattens():
    logits = np.log([0.5, 0.3, 0.2])
    cold = _frequencies(logits, temperature=0.25)
    expected = np.array([0.5, 0.3, 0.2]) ** 4
    np.testing.assert_allclose(cold, expected / expected.sum(), atol=0.03)
    hot = _frequencies(logits, temperature=100.0)
    np.testing.assert_allclose(hot, [1 / 3] * 3, atol=0.03)


def test_top_p_keeps_the_smallest_nucleus():
    logits = np.log([0.5, 0.3, 0.15, 0.05])
    # 0.5 < 0.7, 0.5 + 0.3 >= 0.7: the nucleus is {0, 1}, renormalised to 5/8 and 3/8.
    np.testing.assert_allclose(_frequencies(logits, top_p=0.7), [0.625, 0.375, 0, 0], atol=0.03)
    # A tiny p still keeps the likeliest id.
    assert _frequencies(logits, top_p=1e-6, n=200)[0] == 1.0


def test_top_k_then_top_p():
    logits = np.log([0.4, 0.3, 0.2, 0.1])
    # top-2 renormalises to 4/7, 3/7; then p=0.5 keeps only the first.
    assert _frequencies(logits, top_k=2, top_p=0.5, n=200)[0] == 1.0


def test_sampling_errors():
    with pytest.raises(ValueError, match=r"GPT\.generate: temperature must be > 0, got 0"):
        check_sampling("GPT.generate", 10, 0, None, None)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 10\], got 11"):
        check_sampling("GPT.generate", 10, 1.0, 11, None)
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\], got 0"):
        check_sampling("GPT.generate", 10, 1.0, None, 0)
