"""nerve.data.transforms: exact geometry on small arrays, per-sample randomness, seeding, dataset batching."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve.data import DataLoader
from nerve.data import transforms as T
from nerve.datasets import _image

torch = pytest.importorskip("torch")


def image(*shape: int, seed: int = 0, dtype: type = np.float32) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, shape).astype(dtype)


def shifted(x: np.ndarray, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """``x`` (..., H, W) moved down by ``dy`` and right by ``dx``, ``fill`` entering at the borders."""
    h, w = x.shape[-2:]
    out = np.full_like(x, fill)
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = \
        x[..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
    return out


ALL = [
    lambda g: T.RandomCrop(6, padding=2, generator=g),
    lambda g: T.RandomHorizontalFlip(generator=g),
    lambda g: T.RandomVerticalFlip(generator=g),
    lambda g: T.RandomAffine(15, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=(-5, 5, -5, 5), generator=g),
    lambda g: T.RandomAffine(15, interpolation="nearest", generator=g),
    lambda g: T.RandomRotation(30, generator=g),
    lambda g: T.RandomErasing(p=1.0, generator=g),
    lambda g: T.RandomErasing(p=1.0, value="random", generator=g),
]


# ------------------------------------------------------------------------------------- types and seeding
@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_and_types_preserved(make, dtype) -> None:
    t = make(None)
    x = image(5, 3, 6, 6, dtype=dtype)
    out = t(x)
    assert isinstance(out, np.ndarray) and out.shape == x.shape and out.dtype == dtype
    assert not np.shares_memory(out, x)
    single = t(x[0])
    assert single.shape == x.shape[1:] and single.dtype == dtype
    tensor_out = t(nerve.tensor(x))
    assert isinstance(tensor_out, nerve.Tensor) and tensor_out.shape == x.shape and tensor_out.dtype == nerve.tensor(
        x).dtype
    assert t.batched is True


@pytest.mark.parametrize("make", ALL)
def test_reproducible_under_manual_seed_and_generator(make) -> None:
    x = image(8, 1, 6, 6)
    nerve.manual_seed(3)
    a = make(None)(x)
    nerve.manual_seed(3)
    b = make(None)(x)
    np.testing.assert_array_equal(a, b)
    c = make(nerve.Generator(7))(x)
    nerve.manual_seed(123)  # the global seed does not matter when a generator is given
    d = make(nerve.Generator(7))(x)
    np.testing.assert_array_equal(c, d)
    # and the draws do depend on the seed: a transform with a fixed internal stream would pass the above
    e = make(nerve.Generator(8))(x)
    assert not np.array_equal(c, e)
    assert c.shape != x.shape or not np.array_equal(c, x)


@pytest.mark.parametrize("make", ALL)
def test_parameters_drawn_per_sample(make) -> None:
    x = np.repeat(image(1, 1, 12, 12), 32, axis=0)
    out = make(nerve.Generator(0))(x)
    distinct = {o.tobytes() for o in out}
    assert len(distinct) >= 2, "every sample of the batch got the same parameters"
    if not isinstance(make(None), T.RandomHorizontalFlip):  # flips have only two outcomes
        assert len(distinct) >= 8


def test_global_generator_advances_between_calls() -> None:
    t = T.RandomAffine(20)
    x = image(4, 1, 8, 8)
    assert not np.array_equal(t(x), t(x))


# ------------------------------------------------------------------------------------------------- crop
def test_random_crop_with_padding_is_a_shift_with_fill() -> None:
    x = np.arange(1, 26, dtype=np.float32).reshape(1, 1, 5, 5)
    xs = np.repeat(x, 200, axis=0)
    out = T.RandomCrop(5, padding=1, generator=nerve.Generator(0))(xs)
    seen = set()
    for o in out:
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if np.array_equal(o, shifted(x[0], dy, dx))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9  # all nine offsets occur
    # exact values of one case: a crop at the top-left corner of the padded image moves the content down-right
    expected = np.array([[0, 0, 0, 0, 0], [0, 1, 2, 3, 4], [0, 6, 7, 8, 9], [0, 11, 12, 13, 14],
                         [0, 16, 17, 18, 19]], dtype=np.float32)
    assert any(np.array_equal(o[0], expected) for o in out)


def test_random_crop_padding_forms_fill_and_modes() -> None:
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 2, 3)
    # (left/right, top/bottom) padding with a crop of the whole padded image is deterministic
    out = T.RandomCrop((4, 5), padding=(1, 1), fill=-1)(x)
    assert out.shape == (1, 4, 5)
    np.testing.assert_array_equal(out[0], [[-1, -1, -1, -1, -1], [-1, 1, 2, 3, -1], [-1, 4, 5, 6, -1],
                                           [-1, -1, -1, -1, -1]])
    out = T.RandomCrop((2, 5), padding=(2, 0, 0, 0), padding_mode="reflect")(x)  # (left, top, right, bottom)
    np.testing.assert_array_equal(out[0], [[3, 2, 1, 2, 3], [6, 5, 4, 5, 6]])
    def windows(canvas: np.ndarray, h: int, w: int) -> list[np.ndarray]:
        return [canvas[i : i + h, j : j + w] for i in range(canvas.shape[0] - h + 1)
                for j in range(canvas.shape[1] - w + 1)]

    edge = np.array([[1, 1, 2, 3, 3], [4, 4, 5, 6, 6]], dtype=np.float32)  # one edge column each side
    for seed in range(4):
        out = T.RandomCrop((2, 4), padding=(1, 0), padding_mode="edge", generator=nerve.Generator(seed))(x)
        assert out.shape == (1, 2, 4) and any(np.array_equal(out[0], w) for w in windows(edge, 2, 4))
    # pad_if_needed, as torchvision: each side padded by the shortfall (2 rows top and bottom, 1 column each side)
    canvas = np.pad(x[0], ((2, 2), (1, 1)), constant_values=9)
    crops = [T.RandomCrop(4, pad_if_needed=True, fill=9, generator=nerve.Generator(seed))(x) for seed in range(8)]
    assert all(c.shape == (1, 4, 4) and any(np.array_equal(c[0], w) for w in windows(canvas, 4, 4)) for c in crops)
    rgb = np.zeros((3, 2, 2), np.float32)
    out = T.RandomCrop(4, padding=1, fill=(1, 2, 3))(rgb)
    np.testing.assert_array_equal(out[:, 0, 0], [1, 2, 3])


def test_random_crop_without_padding_picks_windows() -> None:
    x = image(50, 1, 6, 6)
    out = T.RandomCrop(4)(x)
    for o, src in zip(out, x):
        assert any(np.array_equal(o, src[:, i : i + 4, j : j + 4]) for i in range(3) for j in range(3))


def test_random_crop_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"RandomCrop: crop size \(40, 40\) is larger than the padded image "
                                         r"\(32, 32\) \(input \(28, 28\), padding 2\)"):
        T.RandomCrop(40, padding=2)(image(1, 28, 28))
    with pytest.raises(ValueError, match="RandomCrop: size must be a positive int"):
        T.RandomCrop(0)
    with pytest.raises(ValueError, match="RandomCrop: padding must be a non-negative int"):
        T.RandomCrop(4, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="RandomCrop: padding_mode must be"):
        T.RandomCrop(4, padding=1, padding_mode="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="RandomCrop: fill has 2 values, but the image has 3 channels"):
        T.RandomCrop(4, padding=1, fill=(0, 1))(image(3, 4, 4))


# ------------------------------------------------------------------------------------------------ flips
def test_flips_are_exact() -> None:
    x = image(2, 3, 4, 5)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(x), x[..., ::-1, :])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    out = T.RandomHorizontalFlip(generator=nerve.Generator(1))(np.repeat(x[:1], 400, axis=0))
    flipped = np.array([np.array_equal(o, x[0, :, :, ::-1]) for o in out])
    kept = np.array([np.array_equal(o, x[0]) for o in out])
    assert np.all(flipped ^ kept) and 0.4 < flipped.mean() < 0.6
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: p must be a probability in \[0, 1\], got 1.5"):
        T.RandomHorizontalFlip(p=1.5)


# ----------------------------------------------------------------------------------------------- affine
def test_affine_identity() -> None:
    x = image(4, 2, 7, 9)
    for t in (T.RandomAffine(0), T.RandomAffine(0, scale=(1, 1)), T.RandomRotation((0, 0)),
              T.RandomAffine(0, interpolation="nearest")):
        np.testing.assert_allclose(t(x), x, atol=1e-6)


@pytest.mark.parametrize("size", [(4, 4), (5, 5)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotation_by_90_degrees_is_rot90_counter_clockwise(size, interpolation) -> None:
    x = np.arange(size[0] * size[1], dtype=np.float32).reshape(1, *size)
    ccw = T.RandomRotation((90, 90), interpolation=interpolation)(x)
    np.testing.assert_allclose(ccw, np.rot90(x, k=1, axes=(1, 2)), atol=1e-5)  # np.rot90 turns counter-clockwise
    cw = T.RandomAffine((-90, -90), interpolation=interpolation)(x)
    np.testing.assert_allclose(cw, np.rot90(x, k=-1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(T.RandomRotation((180, 180))(x), x[:, ::-1, ::-1], atol=1e-5)


def test_rotation_moves_a_pixel_right_of_centre_upwards() -> None:
    x = np.zeros((1, 7, 7), np.float32)
    x[0, 3, 5] = 1.0  # two pixels right of the centre (3, 3)
    out = T.RandomRotation((90, 90))(x)
    assert out[0, 1, 3] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_integer_translation_is_a_shift() -> None:
    x = image(1, 2, 10, 10)
    out = T.RandomAffine(0, translate=(0.2, 0.3), generator=nerve.Generator(0))(np.repeat(x, 100, axis=0))
    seen = set()
    for o in out:
        matches = [(dy, dx) for dy in range(-3, 4) for dx in range(-2, 3)
                   if np.allclose(o, shifted(x[0], dy, dx), atol=1e-6)]
        assert len(matches) == 1, "a translation must be a whole-pixel shift with zero fill"
        seen.add(matches[0])
    assert len(seen) > 15 and {dy for dy, _ in seen} == set(range(-3, 4))


def test_affine_fill_value() -> None:
    x = np.zeros((2, 8, 8), np.float32)
    out = T.RandomAffine((45, 45), fill=(5.0, -1.0))(x)
    assert out[0, 0, 0] == pytest.approx(5.0) and out[1, 0, 0] == pytest.approx(-1.0)
    np.testing.assert_array_equal(out[:, 2:6, 2:6], 0.0)
    assert np.any((out[0] > 0.1) & (out[0] < 4.9))  # bilinear blends of the fill and the image at the border


def test_shear_follows_torchvision_convention() -> None:
    # torchvision's x-shear by s maps (x, y) to (x - tan(s) y, y) about the centre: at 45°, rows above the
    # centre move right by their distance from it.
    x = image(1, 5, 5)
    out = T.RandomAffine(0, shear=(45, 45))(x)
    for row in range(5):
        v = row - 2
        np.testing.assert_allclose(out[0, row], shifted(x[0, row][None], 0, -v)[0], atol=1e-5)


@pytest.mark.parametrize("chunk", [T._CHUNK_PIXELS, 200])  # 200: two samples per step, the last one short
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resampling_matches_torch_grid_sample(chunk: int, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same inverse maps through torch.nn.functional.grid_sample (align_corners=False, zero padding).
    monkeypatch.setattr(T, "_CHUNK_PIXELS", chunk)
    x = image(7, 3, 9, 11, seed=1)
    t = T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.7, 1.3), shear=(-10, 10, -10, 10))
    m = t._inverse_matrices(np.random.default_rng(5), 7, 9, 11)
    ours = T._warp(x, m, 0.0, mode, "test")  # type: ignore[arg-type]
    h, w = x.shape[2:]
    u, v = np.meshgrid(np.arange(w) - (w - 1) / 2, np.arange(h) - (h - 1) / 2)
    src_x = m[:, 0, 0, None, None] * u + m[:, 0, 1, None, None] * v + m[:, 0, 2, None, None]
    src_y = m[:, 1, 0, None, None] * u + m[:, 1, 1, None, None] * v + m[:, 1, 2, None, None]
    grid = np.stack([src_x / (w / 2), src_y / (h / 2)], axis=-1)  # normalised, pixel centres at (i + 0.5) / (w/2) - 1
    ref = torch.nn.functional.grid_sample(torch.from_numpy(x).double(), torch.from_numpy(grid), mode=mode,
                                          padding_mode="zeros", align_corners=False).numpy()
    assert ours.dtype == np.float32 and 0.1 < (ours == 0).mean() < 0.5  # some, not all, pixels come from outside
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_scale_shrinks_about_the_centre() -> None:
    x = np.zeros((1, 9, 9), np.float32)
    x[0, 4, 8] = 1.0  # four pixels right of the centre
    out = T.RandomAffine(0, scale=(0.5, 0.5))(x)
    assert out[0, 4, 6] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)  # now two pixels right of it
    out = T.RandomAffine(0, scale=(2.0, 2.0))(x)
    assert out[0, 4, 8] == pytest.approx(0.0)  # moved out of the image...
    x[0, 4, 5] = 1.0
    out = T.RandomAffine(0, scale=(2.0, 2.0))(x)
    np.testing.assert_allclose(out[0, 4, 5:], [0.5, 1.0, 0.5, 0.0], atol=1e-6)  # ...while u=1 maps to u=2


def test_affine_errors() -> None:
    with pytest.raises(ValueError, match="RandomAffine: degrees as a single number must be non-negative, got -5"):
        T.RandomAffine(-5)
    with pytest.raises(ValueError, match=r"RandomAffine: translate must be a pair \(a, b\) of fractions in \[0, 1\]"):
        T.RandomAffine(0, translate=(0.1, 1.5))
    with pytest.raises(ValueError, match="RandomAffine: scale values must be positive"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match=r"RandomAffine: scale must satisfy -inf <= min <= max <= inf, got \(2, 1\)"):
        T.RandomAffine(0, scale=(2, 1))
    with pytest.raises(ValueError, match="RandomRotation: interpolation must be 'nearest' or 'bilinear'"):
        T.RandomRotation(5, interpolation="bicubic")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RandomAffine: expected a floating-point image, got dtype uint8"):
        T.RandomAffine(5)(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"RandomRotation: expected an image \(C, H, W\) or a batch \(N, C, H, W\), "
                                         r"got shape \(4, 4\)"):
        T.RandomRotation(5)(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match=r"RandomRotation: expected an np\.ndarray or nerve Tensor image, got list"):
        T.RandomRotation(5)([[0.0]])
    with pytest.raises(TypeError, match=r"RandomAffine: generator must be a nerve\.Generator or None, got int"):
        T.RandomAffine(5, generator=3)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ normalize, erasing
def test_normalize() -> None:
    x = image(4, 3, 5, 5, seed=2)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    expected = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.5)(x[0]), (x[0] - 0.5) / 0.5, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="Normalize: std must be non-zero in every channel"):
        T.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match="Normalize: mean has 2 values, but the image has 3 channels"):
        T.Normalize((0.5, 0.5), (1.0, 1.0, 1.0))(x)


def test_random_erasing_blanks_one_rectangle() -> None:
    x = np.ones((200, 2, 16, 16), np.float32)
    out = T.RandomErasing(p=1.0, value=(0.0, -1.0), generator=nerve.Generator(0))(x)
    fractions = []
    for o in out:
        rows, cols = np.nonzero(o[0] != 1)
        assert len(rows) > 0
        box = o[:, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert np.all(box[0] == 0) and np.all(box[1] == -1)  # one solid rectangle, per-channel value
        assert np.count_nonzero(o[0] != 1) == box[0].size
        fractions.append(box[0].size / 256)
    assert 0.01 < min(fractions) and max(fractions) < 0.45 and np.std(fractions) > 0.03
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(x), x)
    half = T.RandomErasing(p=0.5, generator=nerve.Generator(1))(x)
    assert 0.4 < np.mean([np.any(h != 1) for h in half]) < 0.6
    with pytest.raises(ValueError, match="RandomErasing: value must be a number, a sequence or 'random'"):
        T.RandomErasing(value="noise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"RandomErasing: scale must satisfy 0.0 <= min <= max <= 1.0"):
        T.RandomErasing(scale=(0.5, 0.1))


# ---------------------------------------------------------------------------------------------- compose
def test_compose_applies_in_order() -> None:
    x = np.arange(64, dtype=np.float32).reshape(1, 8, 8) / 64
    crop_then_norm = T.Compose([T.RandomCrop((2, 2), padding=(0, 0, 0, 0)), T.Normalize(1.0, 2.0)])
    flip_then_norm = T.Compose([T.RandomHorizontalFlip(p=1.0), T.Normalize(1.0, 2.0)])
    norm_then_erase = T.Compose([T.Normalize(1.0, 2.0), T.RandomErasing(p=1.0, value=100.0)])
    np.testing.assert_allclose(flip_then_norm(x), (x[..., ::-1] - 1) / 2)
    assert crop_then_norm(x).shape == (1, 2, 2)
    assert norm_then_erase(x).max() == 100.0  # the erasing came last: its value was not normalised
    assert T.Compose([T.RandomErasing(p=1.0, value=100.0), T.Normalize(1.0, 2.0)])(x).max() == pytest.approx(49.5)
    calls: list[str] = []
    T.Compose([lambda a: calls.append("a") or a, lambda a: calls.append("b") or a])(x)
    assert calls == ["a", "b"]
    assert crop_then_norm.batched and not T.Compose([T.Normalize(0, 1), lambda a: a]).batched
    assert "RandomHorizontalFlip(p=1.0)" in repr(flip_then_norm)
    with pytest.raises(TypeError, match="Compose: expected a sequence of callables"):
        T.Compose(T.Normalize(0, 1))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- datasets
def dot_dataset(n: int, transform, target_transform=None) -> _image.ImageClassification:
    """Identical 9 x 9 images with one bright pixel at the centre: its position reveals the crop offset."""
    data = np.zeros((n, 9, 9), np.uint8)
    data[:, 4, 4] = 255
    return _image.ImageClassification(data, np.arange(n) % 10, transform, target_transform)


def offset_histogram(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).argmax(axis=1)
    counts = np.zeros((9, 9))
    np.add.at(counts, np.unravel_index(flat, (9, 9)), 1)
    return counts / len(images)


def test_dataset_batch_path_and_sample_path_agree() -> None:
    crop = T.RandomCrop(9, padding=2)
    ds = dot_dataset(2000, crop, target_transform=lambda y: y + 10)
    xb, yb = ds.get_batch(np.arange(2000))
    assert isinstance(xb, nerve.Tensor) and xb.shape == (2000, 1, 9, 9) and xb.dtype == nerve.float32
    assert yb.tolist()[:3] == [10, 11, 12] and yb.dtype == nerve.int64
    x0, y0 = ds[0]
    assert isinstance(x0, nerve.Tensor) and x0.shape == (1, 9, 9) and y0 == 10
    per_sample = np.stack([ds[i][0].numpy() for i in range(2000)])
    batch_hist, sample_hist = offset_histogram(xb.numpy()), offset_histogram(per_sample)
    support = np.zeros((9, 9), bool)
    support[2:7, 2:7] = True  # shifts of -2..2 in each direction, 25 equally likely offsets
    for hist in (batch_hist, sample_hist):
        assert hist[~support].sum() == 0
        np.testing.assert_allclose(hist[support], 1 / 25, atol=0.015)
    np.testing.assert_allclose(xb.numpy().sum(axis=(1, 2, 3)), 1.0)  # the dot is never cropped away


def test_dataset_uses_one_call_per_batch_for_batched_transforms() -> None:
    seen: list[tuple[int, ...]] = []

    class Spy(T.Transform):
        def _apply(self, x: np.ndarray) -> np.ndarray:
            seen.append(x.shape)
            return x * 2

    ds = dot_dataset(10, T.Compose([Spy(), T.Normalize(0.0, 2.0)]))
    xb, _ = ds.get_batch(np.array([3, 1, 4]))
    assert seen == [(3, 1, 9, 9)]
    expected = np.zeros((3, 1, 9, 9), np.float32)  # the dot, scaled to [0, 1], doubled, then halved
    expected[:, 0, 4, 4] = 1.0
    np.testing.assert_allclose(xb.numpy(), expected, rtol=1e-6)
    plain = dot_dataset(10, lambda x: x * 2)  # an arbitrary callable still runs per sample
    assert plain.get_batch(np.array([0, 1]))[0].shape == (2, 1, 9, 9)


def test_dataloader_with_seeded_generator_and_seeded_transforms_is_reproducible() -> None:
    def first_batches() -> list[np.ndarray]:
        ds = dot_dataset(64, T.Compose([T.RandomAffine(10, translate=(0.1, 0.1), generator=nerve.Generator(1)),
                                        T.RandomCrop(9, padding=1)]))
        nerve.manual_seed(5)  # the RandomCrop draws from the global generator
        loader = DataLoader(ds, batch_size=16, shuffle=True, generator=nerve.Generator(2))
        return [xb.numpy() for xb, _ in loader]

    a, b = first_batches(), first_batches()
    assert len(a) == 4
    for xa, xb in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(a[0], a[1])


@pytest.mark.download
def test_mnist_batched_augmentation() -> None:
    from nerve.datasets import MNIST

    augment = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1)), T.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(train=False, transform=augment)
    xb, yb = ds.get_batch(np.arange(256))
    x0, y0 = ds[0]
    assert xb.shape == (256, 1, 28, 28) and xb.dtype == nerve.float32 and x0.shape == (1, 28, 28)
    assert yb.tolist()[0] == y0 == 7
    per_sample = np.stack([ds[i][0].numpy() for i in range(256)])
    # same distribution: the mean intensity and the background level agree between the two paths
    assert xb.numpy().mean() == pytest.approx(per_sample.mean(), abs=0.02)
    assert xb.numpy().min() == pytest.approx(per_sample.min())
    # and the batch was augmented: it differs from the normalized test images themselves
    plain = MNIST(train=False, transform=T.Normalize((0.1307,), (0.3081,))).get_batch(np.arange(256))[0].numpy()
    moved = np.abs(xb.numpy() - plain).reshape(256, -1).max(axis=1) > 0.5
    assert moved.mean() > 0.9
