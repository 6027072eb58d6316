"""The part MNIST and Digits share: integer images in memory, scaled to float only when read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nerve.data.dataloader import default_collate
from nerve.data.dataset import Dataset
from nerve.tensor import _wrap

DIGIT_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                 "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
"""Class names as torchvision's ``MNIST.classes``."""


class ImageClassification(Dataset):
    """Grey images kept as integers (``data``, (N, H, W)) with int64 labels (``targets``, (N,)).

    Samples are scaled to float32 in [0, 1] one at a time or one batch at a time, so the whole set is never
    held as floats (MNIST would take 188 MB instead of 47 MB).

    A ``transform`` with ``batched = True`` (``nerve.data.transforms``) augments a whole batch at once in
    ``get_batch``; any other callable is called per sample.

    Shape:
        - ``self[i]``: ``(Tensor (1, H, W) float32, int)``, then ``transform``/``target_transform``.
        - ``get_batch(indices)``: ``(Tensor (B, 1, H, W) float32, Tensor (B,) int64)``.
    """

    scale: float = 255.0
    """The pixel value that maps to 1.0."""

    def __init__(self, data: np.ndarray, targets: np.ndarray, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.data = data
        self.targets = targets
        self.classes = list(DIGIT_CLASSES)
        self.transform = transform
        self.target_transform = target_transform

    def _to_float(self, images: np.ndarray) -> np.ndarray:
        # NOTE: divide (not multiply by 1/scale) in float32, so values equal torchvision's ToTensor bit for bit.
        return np.divide(images[..., None, :, :], np.float32(self.scale), dtype=np.float32)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = _wrap(self._to_float(self.data[index]))
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: np.ndarray) -> Any:
        """Samples ``indices`` collated into one batch.

        Vectorised when ``transform`` is ``None`` or batch-capable (``transform.batched``, as nerve's
        ``nerve.data.transforms`` and a ``Compose`` of them): it is then applied once to the whole (B, 1, H, W)
        float batch, drawing its random parameters per sample. Any other callable is applied sample by sample.
        """
        if self.transform is not None and not getattr(self.transform, "batched", False):
            # Per-sample callables: apply them one by one, then stack as the DataLoader would.
            return default_collate([self[int(i)] for i in indices])
        indices = np.asarray(indices, dtype=np.int64)
        images: Any = _wrap(self._to_float(self.data[indices]))
        if self.transform is not None:
            images = self.transform(images)
        if self.target_transform is None:
            return images, _wrap(self.targets[indices])
        return images, default_collate([self.target_transform(int(t)) for t in self.targets[indices]])

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images {'x'.join(map(str, self.data.shape[1:]))})"

