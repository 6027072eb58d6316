"""``train_size`` and ``augment`` of the MNIST recipes: a stratified, seeded subsample of the training split, and
augmentation of that split only."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve.train.config import ConfigError, resolve
from nerve.train.recipes import stratified_subset


def test_stratified_subset_keeps_each_class_share_and_is_seeded() -> None:
    labels = np.repeat(np.arange(4), [500, 300, 150, 50])
    np.random.default_rng(0).shuffle(labels)
    picked = stratified_subset(labels, 101, seed=0)
    assert len(picked) == 101 and len(np.unique(picked)) == 101
    assert np.all(np.diff(picked) > 0)
    counts = np.bincount(labels[picked], minlength=4)
    quota = np.array([500, 300, 150, 50]) * 101 / 1000
    assert np.all(np.abs(counts - quota) < 1), counts
    np.testing.assert_array_equal(picked, stratified_subset(labels, 101, seed=0))
    assert not np.array_equal(picked, stratified_subset(labels, 101, seed=1))
    np.testing.assert_array_equal(stratified_subset(labels, 1000, seed=3), np.arange(1000))


@pytest.mark.download
@pytest.mark.parametrize("recipe", ["lenet-mnist", "vit-mnist"])
def test_train_size_subsamples_only_the_training_split(recipe: str) -> None:
    recipe_, config = resolve(recipe, {"train_size": 1000})
    data = recipe_.data(config)
    assert len(data.train) == 1000 and len(data.val) == 5000 and len(data.test) == 10000
    labels = np.array([int(data.train[i][1]) for i in range(len(data.train))])
    assert np.all(np.abs(np.bincount(labels, minlength=10) - 100) <= 15)  # MNIST's classes are 9-11 % each
    assert "1000 training images" in data.info["description"]


@pytest.mark.download
def test_train_size_larger_than_the_split_is_rejected() -> None:
    recipe, config = resolve("lenet-mnist", {"train_size": 56000})
    with pytest.raises(ValueError, match=r"train_size must be between 1 and 55000 \(the training images left after "
                                         r"val_size 5000\), got 56000"):
        recipe.data(config)
    with pytest.raises(ConfigError, match=r"train_size = 1.5 is float, expected an integer"):
        resolve("lenet-mnist", {"train_size": 1.5})


@pytest.mark.download
@pytest.mark.parametrize("augment", ["affine", "crop"])
def test_mnist_augmentation_reaches_the_training_split_only(augment: str) -> None:
    nerve.manual_seed(0)
    recipe, config = resolve("resnet-mnist", {"augment": augment})
    data = recipe.data(config)
    raw = recipe.data(resolve("resnet-mnist", {"augment": "none"})[1])
    picks = np.arange(0, 1000, 50)
    for split in ("val", "test"):  # evaluation images are the plain ones, every time
        for i in picks:
            np.testing.assert_array_equal(getattr(data, split)[i][0].numpy(), getattr(raw, split)[i][0].numpy())
    moved = [not np.array_equal(data.train[i][0].numpy(), raw.train[i][0].numpy()) for i in picks]
    assert sum(moved) >= 0.8 * len(picks)
