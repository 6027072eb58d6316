"""Image augmentation with torchvision's names, vectorised over a batch and seeded from nerve's RNG.

Every transform takes a float image, as an ``np.ndarray`` or a nerve ``Tensor``, of shape (C, H, W) or a
batch (N, C, H, W), and returns the same type and shape (``RandomCrop``: the crop size). Random transforms
draw independent parameters for every sample of a batch, all at once, so a batch of 128 MNIST digits costs
a few NumPy calls rather than 128 Python iterations.

Randomness: each random transform draws from its ``generator`` (a ``nerve.Generator``) or, when that is
``None``, from nerve's global generator, so ``nerve.manual_seed(s)`` makes the augmentation reproducible.
A ``DataLoader``'s ``generator`` only decides the order of the samples; it never feeds the transforms.
The parameters a sample gets depend on its position in the batch, so ``ds.get_batch(idx)`` and
``[ds[i] for i in idx]`` draw from the same distribution but not the same values.

Every transform has ``batched = True``: datasets such as ``nerve.datasets.MNIST`` then apply it once to a
whole batch in ``get_batch`` (``Compose`` is batched when all its parts are). Outputs are new arrays, never
views of the input, and carry no autograd history (augmentation is not differentiated through).

Example:
    >>> from nerve.data import transforms as T
    >>> augment = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
    ...                      T.Normalize((0.1307,), (0.3081,))])
    >>> train = MNIST(train=True, transform=augment)       # get_batch augments whole batches
    >>> x = augment(nerve.rand(128, 1, 28, 28))             # or call it on any batch
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _wrap

PaddingMode = Literal["constant", "edge", "reflect", "symmetric"]
Interpolation = Literal["nearest", "bilinear"]


# ---------------------------------------------------------------------------------------------- helpers
def _as_batch(img: Any, name: str) -> tuple[np.ndarray, bool, bool]:
    """``img`` as an (N, C, H, W) array, whether it was a Tensor, and whether it was a single (C, H, W) image."""
    if isinstance(img, Tensor):
        arr, is_tensor = img.data, True
    elif isinstance(img, np.ndarray):
        arr, is_tensor = img, False
    else:
        raise TypeError(f"{name}: expected an np.ndarray or nerve Tensor image, got {type(img).__name__}")
    if arr.ndim not in (3, 4):
        raise ValueError(f"{name}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {arr.shape}")
    single = arr.ndim == 3
    return (arr[None] if single else arr), is_tensor, single


def _require_float(x: np.ndarray, name: str) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point image, got dtype {x.dtype} (scale it to float first)")


def _pair(value: Any, name: str, what: str) -> tuple[float, float]:
    """A number ``v`` as the range (-v, v), or a sequence (lo, hi) as is."""
    if isinstance(value, numbers.Number):
        if value < 0:  # type: ignore[operator]
            raise ValueError(f"{name}: {what} as a single number must be non-negative, got {value}")
        return -float(value), float(value)  # type: ignore[arg-type]
    if isinstance(value, Sequence) and len(value) == 2:
        return float(value[0]), float(value[1])
    raise ValueError(f"{name}: {what} must be a number or a sequence (min, max), got {value!r}")


def _check_range(value: Any, name: str, what: str, low: float = -math.inf, high: float = math.inf
                 ) -> tuple[float, float]:
    """A (min, max) sequence with ``low <= min <= max <= high``."""
    if not (isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, numbers.Number) for v in value)):
        raise ValueError(f"{name}: {what} must be a sequence (min, max) of numbers, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not low <= lo <= hi <= high:
        raise ValueError(f"{name}: {what} must satisfy {low} <= min <= max <= {high}, got {value!r}")
    return lo, hi


def _channel_values(value: float | Sequence[float], channels: int, dtype: Any, name: str, what: str) -> np.ndarray:
    """A scalar or per-channel value as a (C,) array of the image's dtype."""
    arr = np.asarray(value, dtype=dtype).reshape(-1)
    if arr.size == 1:
        return np.broadcast_to(arr, (channels,))
    if arr.size != channels:
        raise ValueError(f"{name}: {what} has {arr.size} values, but the image has {channels} channels")
    return arr


def _pad(x: np.ndarray, left: int, top: int, right: int, bottom: int, fill: Any, mode: PaddingMode,
         name: str) -> np.ndarray:
    """Pad the last two axes of an (N, C, H, W) batch."""
    if mode == "constant":
        n, c, h, w = x.shape
        out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        out[...] = _channel_values(fill, c, x.dtype, name, "fill")[:, None, None]
        out[:, :, top : top + h, left : left + w] = x
        return out
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode)


# ------------------------------------------------------------------------------------------- base classes
class Transform:
    """Base of nerve's transforms: ``__call__`` checks and batches the input, ``_apply`` works on (N, C, H, W)."""

    batched: bool = True
    """Works on a whole (N, C, H, W) batch at once, so datasets may apply it per batch instead of per sample."""

    def __call__(self, img: Any) -> Any:
        batch, is_tensor, single = _as_batch(img, type(self).__name__)
        out = self._apply(batch)
        if single:
            out = out[0]
        return _wrap(out) if is_tensor else out

    def _apply(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomTransform(Transform):
    """A transform that draws its parameters from ``generator`` (default: nerve's global generator)."""

    def __init__(self, generator: Generator | None = None) -> None:
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"{type(self).__name__}: generator must be a nerve.Generator or None, "
                            f"got {type(generator).__name__}")
        self.generator = generator

    def _rng(self) -> np.random.Generator:
        # NOTE: resolved at every call, since nerve.manual_seed replaces the global NumPy generator.
        return resolve_generator(self.generator)


# -------------------------------------------------------------------------------------------- transforms
class Compose:
    """Apply ``transforms`` one after another.

    Args:
        transforms: callables, applied in order. The composition is ``batched`` (applied to whole batches by
            datasets) only if every part is.

    Example:
        >>> t = Compose([RandomCrop(28, padding=2), Normalize((0.1307,), (0.3081,))])
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        if callable(transforms) or not isinstance(transforms, Sequence) or not all(callable(t) for t in transforms):
            raise TypeError(f"Compose: expected a sequence of callables, got {transforms!r}")
        self.transforms = list(transforms)

    @property
    def batched(self) -> bool:
        return all(getattr(t, "batched", False) for t in self.transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Normalize(Transform):
    """Standardise each channel: ``out[c] = (x[c] - mean[c]) / std[c]``.

    Args:
        mean: per-channel means (a sequence of C numbers, or one for all channels).
        std: per-channel standard deviations, all non-zero.

    Shape:
        - Input: (C, H, W) or (N, C, H, W), floating point.
        - Output: same shape and dtype.

    Example:
        >>> Normalize((0.1307,), (0.3081,))    # MNIST's training-set statistics
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = tuple(np.atleast_1d(np.asarray(mean, dtype=np.float64)).tolist())
        self.std = tuple(np.atleast_1d(np.asarray(std, dtype=np.float64)).tolist())
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std must be non-zero in every channel, got {std!r}")

    def _apply(self, x: np.ndarray) -> np.ndarray:
        _require_float(x, "Normalize")
        c = x.shape[1]
        mean = _channel_values(self.mean, c, x.dtype, "Normalize", "mean")[:, None, None]
        std = _channel_values(self.std, c, x.dtype, "Normalize", "std")[:, None, None]
        out = x - mean
        out /= std
        return out

    def __repr__(self) -> str:
        return f"Normalize(mean={list(self.mean)}, std={list(self.std)})"


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability ``p``, independently per sample.

    Args:
        p: probability of flipping (default 0.5).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W). Output: same.
    """

    _axis = -1

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        super().__init__(generator)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p}")
        self.p = float(p)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        flip = self._rng().random(x.shape[0]) < self.p
        return np.where(flip[:, None, None, None], np.flip(x, axis=self._axis), x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``, independently per sample.

    Args:
        p: probability of flipping (default 0.5).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W). Output: same.
    """

    _axis = -2


class RandomCrop(RandomTransform):
    """Pad, then cut a ``size`` window at a random position, chosen independently per sample.

    ``RandomCrop(28, padding=4)`` is the classic "pad 4 and crop" shift augmentation: each image moves by up
    to 4 pixels in each direction, with ``fill`` entering at the borders.

    Args:
        size: output (height, width), or one int for a square.
        padding: added before cropping: an int for all sides, (left/right, top/bottom), or
            (left, top, right, bottom). Default ``None``: no padding.
        pad_if_needed: also pad images smaller than ``size`` up to it (default False).
        fill: the value of padded pixels for ``padding_mode="constant"``: a number or one per channel (default 0).
        padding_mode: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"`` (torchvision's meanings).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W).
        - Output: (C, *size) or (N, C, *size), same dtype.

    Example:
        >>> RandomCrop(28, padding=2)(nerve.rand(128, 1, 28, 28)).shape
        (128, 1, 28, 28)
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float | Sequence[float] = 0,
                 padding_mode: PaddingMode = "constant", generator: Generator | None = None) -> None:
        super().__init__(generator)
        if isinstance(size, numbers.Integral):
            size = (int(size), int(size))
        if not (isinstance(size, Sequence) and len(size) in (1, 2) and all(isinstance(s, numbers.Integral) and s > 0
                                                                         for s in size)):
            raise ValueError(f"RandomCrop: size must be a positive int or (height, width), got {size!r}")
        self.size = (int(size[0]), int(size[-1]))
        if padding is None:
            self.padding = (0, 0, 0, 0)
        else:
            pads = [padding] if isinstance(padding, numbers.Integral) else list(padding)
            if len(pads) not in (1, 2, 4) or not all(isinstance(p, numbers.Integral) and p >= 0 for p in pads):
                raise ValueError("RandomCrop: padding must be a non-negative int or a sequence of 2 or 4 of them, "
                                 f"got {padding!r}")
            l, t, r, b = (pads * 4)[:4] if len(pads) == 1 else (pads * 2 if len(pads) == 2 else pads)
            self.padding = (int(l), int(t), int(r), int(b))
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("RandomCrop: padding_mode must be 'constant', 'edge', 'reflect' or 'symmetric', "
                             f"got {padding_mode!r}")
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = fill
        self.padding_mode = padding_mode
        self._padding_arg = padding

    def _apply(self, x: np.ndarray) -> np.ndarray:
        th, tw = self.size
        l, t, r, b = self.padding
        h, w = x.shape[2] + t + b, x.shape[3] + l + r
        if self.pad_if_needed:  # torchvision pads both sides by the shortfall
            dw, dh = max(tw - w, 0), max(th - h, 0)
            l, r, t, b = l + dw, r + dw, t + dh, b + dh
            h, w = h + 2 * dh, w + 2 * dw
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} is larger than the padded image {(h, w)} "
                             f"(input {tuple(x.shape[2:])}, padding {self._padding_arg!r}); expected a size at "
                             "most the padded image's, or pad_if_needed=True")
        if (l, t, r, b) != (0, 0, 0, 0):
            x = _pad(x, l, t, r, b, self.fill, self.padding_mode, "RandomCrop")
        rng = self._rng()
        n = x.shape[0]
        i = rng.integers(0, h - th + 1, n)
        j = rng.integers(0, w - tw + 1, n)
        windows = np.lib.stride_tricks.sliding_window_view(x, (th, tw), axis=(2, 3))  # (N, C, h-th+1, w-tw+1, th, tw)
        return windows[np.arange(n), :, i, j]  # NOTE: the advanced indices go first: (N, C, th, tw), a copy

    def __repr__(self) -> str:
        return (f"RandomCrop(size={self.size}, padding={self._padding_arg!r}, pad_if_needed={self.pad_if_needed}, "
                f"fill={self.fill!r}, padding_mode={self.padding_mode!r})")


class RandomAffine(RandomTransform):
    """Rotate, translate, scale and shear each image about its centre, with parameters drawn per sample.

    Each output pixel is mapped back through the inverse transform to a point of the input and interpolated
    there; points outside the input read ``fill``. The centre is the middle of the image, ((W-1)/2, (H-1)/2) in
    pixel indices, so a 90° rotation of an image permutes its pixels exactly (as ``np.rot90``).

    Per sample: ``angle ~ U(degrees)`` (positive = counter-clockwise as displayed), ``dx`` and ``dy`` uniform in
    ``±translate * (W, H)`` then rounded to whole pixels (positive = right and down), ``scale ~ U(scale)``,
    shear angles ``~ U(shear)`` as in torchvision.

    Differences from torchvision's ``RandomAffine``: the default interpolation is bilinear (torchvision's is
    nearest); a positive angle turns counter-clockwise, as in torchvision's ``RandomRotation`` (torchvision's
    ``F.affine`` turns clockwise; symmetric ranges such as ``degrees=10`` draw the same distribution either
    way); bilinear taps outside the image read ``fill`` exactly (no extra mask blending); there is no ``center``.

    Args:
        degrees: rotation range in degrees: ``d`` for (-d, d), or (min, max); 0 for none.
        translate: maximal absolute fractions (a, b) of the width and height to shift by (default ``None``).
        scale: scale factor range (min, max), both positive (default ``None``: 1).
        shear: shear range in degrees: ``s`` for an x-shear in (-s, s), (min, max) for an x-shear, or
            (xmin, xmax, ymin, ymax) for both (default ``None``).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill: value of pixels that come from outside the input: a number or one per channel (default 0).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W), floating point.
        - Output: same shape and dtype.

    Example:
        >>> augment = RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
        >>> augment(nerve.rand(128, 1, 28, 28)).shape
        (128, 1, 28, 28)
    """

    def __init__(self, degrees: float | Sequence[float], translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None, shear: float | Sequence[float] | None = None,
                 interpolation: Interpolation = "bilinear", fill: float | Sequence[float] = 0,
                 generator: Generator | None = None) -> None:
        super().__init__(generator)
        name = type(self).__name__
        self.degrees = _pair(degrees, name, "degrees")
        self.translate: tuple[float, float] | None = None
        if translate is not None:
            if not (isinstance(translate, Sequence) and len(translate) == 2
                    and all(isinstance(t, numbers.Number) and 0 <= t <= 1 for t in translate)):  # type: ignore[operator]
                raise ValueError(f"{name}: translate must be a pair (a, b) of fractions in [0, 1], got {translate!r}")
            self.translate = (float(translate[0]), float(translate[1]))
        self.scale = None if scale is None else _check_range(scale, name, "scale")
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"{name}: scale values must be positive, got {scale!r}")
        self.shear: tuple[float, float, float, float] | None = None
        if shear is not None:
            if isinstance(shear, Sequence) and len(shear) == 4:
                self.shear = (*_pair(shear[:2], name, "shear"), *_pair(shear[2:], name, "shear"))
            else:
                self.shear = (*_pair(shear, name, "shear"), 0.0, 0.0)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{name}: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.interpolation = interpolation
        self.fill = fill

    def _inverse_matrices(self, rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
        """Draw the parameters of ``n`` samples; (N, 2, 3) maps centred output coordinates to centred input ones."""
        angle = rng.uniform(*self.degrees, n)
        tx = ty = np.zeros(n)
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * w, self.translate[1] * h
            tx = np.round(rng.uniform(-max_dx, max_dx, n))
            ty = np.round(rng.uniform(-max_dy, max_dy, n))
        s = rng.uniform(*self.scale, n) if self.scale is not None else np.ones(n)
        sx = sy = np.zeros(n)
        if self.shear is not None:
            sx = rng.uniform(self.shear[0], self.shear[1], n)
            if self.shear[2:] != (0.0, 0.0):
                sy = rng.uniform(self.shear[2], self.shear[3], n)
        # Forward map in (x right, y down) coordinates: scale * R * ShearY * ShearX, torchvision's composition, with
        # the angle negated so that positive turns counter-clockwise on screen. det(R * Sh) = 1, so its inverse is
        # the adjugate.
        rot, sx, sy = np.radians(-angle), np.radians(sx), np.radians(sy)
        a = np.cos(rot - sy) / np.cos(sy)
        b = -(a * np.tan(sx) + np.sin(rot))
        c = np.sin(rot - sy) / np.cos(sy)
        d = np.cos(rot) - c * np.tan(sx)
        inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / s[:, None, None]  # (N, 2, 2)
        shift = -(inv @ np.stack([tx, ty], -1)[:, :, None])  # (N, 2, 1): source = inv @ (out - t)
        return np.concatenate([inv, shift], axis=2)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        _require_float(x, type(self).__name__)
        n, _, h, w = x.shape
        m = self._inverse_matrices(self._rng(), n, h, w)
        return _warp(x, m, self.fill, self.interpolation, type(self).__name__)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, interpolation={self.interpolation!r}, fill={self.fill!r})")


class RandomRotation(RandomAffine):
    """Rotate each image about its centre by an angle drawn per sample (positive = counter-clockwise).

    ``RandomAffine`` with rotation only; see it for the sampling and interpolation details.

    Args:
        degrees: ``d`` for (-d, d), or (min, max), in degrees.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill: value of the corners that come from outside the input (default 0).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W), floating point. Output: same.
    """

    def __init__(self, degrees: float | Sequence[float], interpolation: Interpolation = "bilinear",
                 fill: float | Sequence[float] = 0, generator: Generator | None = None) -> None:
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation!r}, fill={self.fill!r})"


_CHUNK_PIXELS = 8192
"""Output pixels resampled per step of ``_warp``. Its buffers are then small enough for the allocator to reuse
them instead of faulting in fresh pages, which took most of the time when a whole (128, 1, 28, 28) batch
was done in one step."""


def _warp(x: np.ndarray, inverse: np.ndarray, fill: Any, interpolation: Interpolation, name: str) -> np.ndarray:
    """Resample an (N, C, H, W) batch: output pixel p of sample k reads input point ``inverse[k] @ (p, 1)``.

    Coordinates are centred pixel indices (x - (W-1)/2, y - (H-1)/2). A few samples at a time are copied into a
    buffer with a border of ``fill`` (1 pixel before, 2 after, so that the four bilinear taps of any point
    clipped to [-1, W] x [-1, H] stay inside) and gathered at once by flat index.
    """
    n, c, h, w = x.shape
    dtype = x.dtype
    m = inverse
    u, v = np.arange(w) - (w - 1) / 2, np.arange(h) - (h - 1) / 2
    # Source index = m[:, :, 0] * u + m[:, :, 1] * v + m[:, :, 2] + centre, split into per-column and per-row
    # parts (computed in float64 on small arrays) so that the per-pixel work is one addition per coordinate.
    col_x = (m[:, 0, 0, None] * u + (m[:, 0, 2] + (w - 1) / 2)[:, None]).astype(dtype)[:, None, None, :]
    row_x = (m[:, 0, 1, None] * v).astype(dtype)[:, None, :, None]
    col_y = (m[:, 1, 0, None] * u).astype(dtype)[:, None, None, :]
    row_y = (m[:, 1, 1, None] * v + (m[:, 1, 2] + (h - 1) / 2)[:, None]).astype(dtype)[:, None, :, None]

    step = min(n, max(1, _CHUNK_PIXELS // (h * w)))
    hp, wp = h + 3, w + 3
    padded = np.empty((step, c, hp, wp), dtype)
    padded[...] = _channel_values(fill, c, dtype, name, "fill")[:, None, None]
    flat = padded.reshape(-1)
    # Flat index of (sample k, channel i, padded row 1, padded column 1). NOTE: indices are formed in floating
    # point, exact as a step's padded pixels number far below 2**24 (float32's integer range).
    offset = (np.arange(step * c) * (hp * wp) + (wp + 1)).astype(dtype).reshape(step, c, 1, 1)
    xs_buf, ys_buf, x0_buf, y0_buf = (np.empty((step, 1, h, w), dtype) for _ in range(4))
    idx_buf = np.empty((step, c, h, w), np.intp)
    tap_bufs = [np.empty((step, c, h, w), dtype) for _ in range(4)]
    out = np.empty(x.shape, dtype)
    for k in range(0, n, step):
        j = min(step, n - k)  # the last step may be short: use the first j samples of every buffer
        padded[:j, :, 1 : h + 1, 1 : w + 1] = x[k : k + j]
        xs = np.add(row_x[k : k + j], col_x[k : k + j], out=xs_buf[:j])
        ys = np.add(row_y[k : k + j], col_y[k : k + j], out=ys_buf[:j])  # (j, 1, H, W), broadcast over channels
        np.clip(xs, -1, w, out=xs)
        np.clip(ys, -1, h, out=ys)
        idx = idx_buf[:j]
        tl, tr, bl, br = (b[:j] for b in tap_bufs)
        # NOTE: mode="clip" only because "raise" buffers its output; every index is in range by construction.
        if interpolation == "nearest":
            np.rint(xs, out=xs)
            np.rint(ys, out=ys)
            ys *= wp
            ys += xs
            np.copyto(idx, np.add(ys, offset[:j], out=tl), casting="unsafe")
            flat.take(idx, out=out[k : k + j], mode="clip")
            continue
        x0, y0 = np.floor(xs, out=x0_buf[:j]), np.floor(ys, out=y0_buf[:j])
        fx, fy = np.subtract(xs, x0, out=xs), np.subtract(ys, y0, out=ys)
        y0 *= wp
        y0 += x0
        np.copyto(idx, np.add(y0, offset[:j], out=tl), casting="unsafe")
        flat.take(idx, out=tl, mode="clip")
        idx += 1
        flat.take(idx, out=tr, mode="clip")
        idx += wp
        flat.take(idx, out=br, mode="clip")
        idx -= 1
        flat.take(idx, out=bl, mode="clip")
        # top = tl + fx (tr - tl), bottom = bl + fx (br - bl), out = top + fy (bottom - top), in place
        tr -= tl
        tr *= fx
        tl += tr
        br -= bl
        br *= fx
        bl += br
        bl -= tl
        bl *= fy
        np.add(tl, bl, out=out[k : k + j])
    return out


class RandomErasing(RandomTransform):
    """Blank a random rectangle of each image with probability ``p`` (Zhong et al., 2017), per sample.

    As torchvision: the rectangle covers a fraction ``~ U(scale)`` of the image with aspect ratio (h/w) drawn
    log-uniformly from ``ratio``; up to 10 draws are tried for one that fits, else the image is left as is.
    Expects images already normalised if ``value="random"`` (standard-normal noise) is used.

    Args:
        p: probability of erasing (default 0.5).
        scale: range (min, max) of the erased fraction of the area (default (0.02, 0.33)).
        ratio: range (min, max) of the aspect ratio (default (0.3, 3.3)).
        value: the erased pixels' value: a number, one per channel, or ``"random"`` (default 0).
        generator: a ``nerve.Generator`` to draw from (default ``None``: nerve's global generator).

    Shape:
        - Input: (C, H, W) or (N, C, H, W). Output: same.
    """

    attempts = 10

    def __init__(self, p: float = 0.5, scale: Sequence[float] = (0.02, 0.33), ratio: Sequence[float] = (0.3, 3.3),
                 value: float | Sequence[float] | Literal["random"] = 0, generator: Generator | None = None) -> None:
        super().__init__(generator)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomErasing: p must be a probability in [0, 1], got {p}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', got {value!r}")
        self.p = float(p)
        self.scale = _check_range(scale, "RandomErasing", "scale", 0.0, 1.0)
        self.ratio = _check_range(ratio, "RandomErasing", "ratio", 0.0)
        if self.ratio[0] == 0:
            raise ValueError(f"RandomErasing: ratio values must be positive, got {ratio!r}")
        self.value = value

    def _apply(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        rng = self._rng()
        apply = rng.random(n) < self.p
        k = self.attempts
        area = h * w * rng.uniform(*self.scale, (n, k))
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), (n, k)))
        eh = np.round(np.sqrt(area * aspect)).astype(np.int64)
        ew = np.round(np.sqrt(area / aspect)).astype(np.int64)
        fits = (eh < h) & (ew < w)
        first = fits.argmax(axis=1)  # the first attempt that fits (torchvision stops there)
        rows = np.arange(n)
        eh, ew = eh[rows, first], ew[rows, first]
        apply &= fits[rows, first]
        top = np.floor(rng.random(n) * (h - eh + 1)).astype(np.int64)
        left = np.floor(rng.random(n) * (w - ew + 1)).astype(np.int64)
        r, q = np.arange(h), np.arange(w)
        inside = (((r >= top[:, None]) & (r < (top + eh)[:, None]))[:, :, None]
                  & ((q >= left[:, None]) & (q < (left + ew)[:, None]))[:, None, :]) & apply[:, None, None]
        if isinstance(self.value, str):
            _require_float(x, "RandomErasing")
            fill: Any = rng.standard_normal(x.shape).astype(x.dtype)
        else:
            fill = _channel_values(self.value, c, x.dtype, "RandomErasing", "value")[:, None, None]
        return np.where(inside[:, None], fill, x)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r})"


__all__ = [
    "Compose",
    "Normalize",
    "RandomAffine",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomTransform",
    "RandomVerticalFlip",
    "Transform",
]
