"""Built-in training recipes for ``nerve train <recipe>``: data, model and defaults in one place.

A recipe has two halves so that a finished run can be rebuilt without its training data:

* ``data(config) -> Data``: the train/validation/test splits plus ``info``, a JSON-able description of
  the inputs (shape, task, class names, feature scaling) that the run folder keeps in ``data.json``;
* ``model(config, info) -> Module``: the network, from the config and that description.

``build(recipe, config)`` assembles the rest the same way for every recipe: Adam (or AdamW with weight
decay) with a cosine-annealed learning rate, cross-entropy and accuracy for classification, MSE and MAE
for regression.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nerve import nn, optim
from nerve.data import DataLoader, Dataset, Subset, TensorDataset
from nerve.random import Generator


@dataclass
class Data:
    train: Dataset
    val: Dataset
    test: Dataset
    info: dict[str, Any]  # task, class_names, input_shape, and anything ``prepare_inputs`` needs


@dataclass
class Setup:
    """Everything a recipe builds for one run."""

    model: nn.Module
    optimizer: optim.Optimizer
    loss_fn: Callable[..., Any]
    train: DataLoader
    val: DataLoader
    test: DataLoader
    info: dict[str, Any]
    metrics: tuple[str, ...] = ("accuracy",)
    scheduler: Any = None
    description: str = ""

    @property
    def class_names(self) -> list[str] | None:
        return self.info.get("class_names")


@dataclass
class Recipe:
    name: str
    summary: str
    defaults: dict[str, Any]
    data: Callable[[dict[str, Any]], Data] = field(repr=False)
    model: Callable[[dict[str, Any], dict[str, Any]], nn.Module] = field(repr=False)
    #: types of keys whose default is None (any other key takes the type of its default)
    types: dict[str, tuple[type, ...]] = field(default_factory=dict)
    #: keys that must be set (by a config file or the command line)
    required: tuple[str, ...] = ()


def mlp(in_features: int, hidden: list[int], out_features: int, dropout: float) -> nn.Sequential:
    """``Flatten`` then Linear-ReLU(-Dropout) blocks of the given widths, then a Linear output layer."""
    sizes = [in_features, *hidden, out_features]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def build(recipe: Recipe, config: dict[str, Any]) -> Setup:
    """Data, model, optimizer, schedule and loss of one run of ``recipe`` with ``config``."""
    data = recipe.data(config)
    model = recipe.model(config, data.info)
    if config.get("weight_decay"):
        opt: optim.Optimizer = optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    else:
        opt = optim.Adam(model.parameters(), lr=config["lr"])
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"])
    classify = data.info["task"] == "classification"
    bs = config["batch_size"]
    train_bs = len(data.train) if bs == "full" else bs
    eval_bs = max(256, train_bs if isinstance(train_bs, int) else 256)
    return Setup(
        model=model, optimizer=opt, scheduler=sched,
        loss_fn=nn.CrossEntropyLoss() if classify else nn.MSELoss(),
        metrics=("accuracy",) if classify else ("mae",),
        train=DataLoader(data.train, batch_size=train_bs, shuffle=True, generator=Generator(config["seed"])),
        val=DataLoader(data.val, batch_size=eval_bs), test=DataLoader(data.test, batch_size=eval_bs),
        info=data.info, description=data.info.get("description", recipe.summary),
    )


# ----------------------------------------------------------------------------------- mlp-mnist
def _mnist_data(config: dict[str, Any]) -> Data:
    from nerve.datasets import MNIST

    train_full = MNIST(config.get("data_dir"), train=True, download=True)
    test = MNIST(config.get("data_dir"), train=False, download=True)
    n_val, n = int(config["val_size"]), len(train_full)
    if not 0 < n_val < n:
        raise ValueError(f"val_size must be between 1 and {n - 1}, got {n_val}")
    augment = _augmentation(config)
    train_source = train_full
    if augment is not None:
        # a second view of the same arrays: only the training split sees the random transforms
        train_source = MNIST(config.get("data_dir"), train=True, download=True, transform=augment)
    info = {"task": "classification", "class_names": [str(i) for i in range(10)], "input_shape": [1, 28, 28],
            "input_kind": "image", "pixel_scale": 255.0, "description": _describe_model(config) + " on MNIST"
            + (f" with augmentation ({config['augment']})" if augment is not None else "")}
    # the validation set is the last val_size training images (fixed, so runs are comparable)
    return Data(Subset(train_source, np.arange(n - n_val)), Subset(train_full, np.arange(n - n_val, n)), test, info)


AUGMENTATIONS = ("none", "affine", "crop")


def _augmentation(config: dict[str, Any]) -> Any:
    """The training-time transform named by ``config['augment']``: small rotations, shifts and zooms
    (``affine``), or pad-2-and-crop shifts (``crop``). Digits must not be flipped."""
    from nerve.data import transforms as T

    kind = config.get("augment") or "none"
    if kind not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {kind!r}")
    if kind == "affine":
        return T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
    if kind == "crop":
        return T.RandomCrop(28, padding=2)
    return None


CNN_MODELS = ("lenet5", "resnet8", "resnet20", "vgg", "mbconv")


def _describe_model(config: dict[str, Any]) -> str:
    name = config.get("model", "mlp")
    if name == "mlp":
        return f"MLP {'-'.join(map(str, [784, *config['hidden'], 10]))} (ReLU, dropout {config['dropout']})"
    return {"lenet5": "LeNet-5 (ReLU, max pool)", "resnet8": "ResNet-8 (CIFAR-style, BN)",
            "resnet20": "ResNet-20 (CIFAR-style, BN)", "vgg": "small VGG (3x3 convs, BN)",
            "mbconv": "MBConv net (EfficientNet-style)"}.get(name, name)


def _cnn_model(config: dict[str, Any], info: dict[str, Any]) -> nn.Module:
    from nerve import models

    name = config["model"]
    channels = int(info["input_shape"][0])
    classes = len(info["class_names"])
    factories: dict[str, Callable[[], nn.Module]] = {
        "lenet5": lambda: models.LeNet5(classes, channels),
        "resnet8": lambda: models.resnet8(classes, channels),
        "resnet20": lambda: models.resnet20(classes, channels),
        "vgg": lambda: models.SmallVGG(classes, channels),
        "mbconv": lambda: models.MBConvNet(classes, channels),
    }
    if name not in factories:
        raise ValueError(f"model must be one of {', '.join(CNN_MODELS)}, got {name!r}")
    return factories[name]()


def _mlp_model(config: dict[str, Any], info: dict[str, Any]) -> nn.Module:
    in_features = int(np.prod(info["input_shape"]))
    out = len(info["class_names"]) if info["task"] == "classification" else int(info.get("target_dim", 1))
    return mlp(in_features, list(config["hidden"]), out, config["dropout"])


# -------------------------------------------------------------------- mlp on the user's own data
def _split_indices(n: int, val_fraction: float, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n - n_val - n_test < 1 or (val_fraction and not n_val) or (test_fraction and not n_test):
        raise ValueError(f"cannot split {n} samples into train/val/test with val_fraction {val_fraction} and "
                         f"test_fraction {test_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]


def _table_data(config: dict[str, Any]) -> Data:
    from nerve.data.files import ImageFolder, encode_targets, read_csv, read_npz

    path = Path(config["data"]).expanduser()
    if path.is_dir():
        size = tuple(config["image_size"]) if config.get("image_size") else None
        folder = ImageFolder(path, size=size)  # type: ignore[arg-type]
        x = np.stack([folder[i][0].data for i in range(len(folder))])
        y, class_names, task = folder.targets, list(folder.classes), "classification"
        info: dict[str, Any] = {"input_kind": "image", "image_size": list(x.shape[-2:]),
                                "grayscale": bool(folder.grayscale), "pixel_scale": 255.0}
    elif path.suffix.lower() == ".csv":
        if not config.get("target"):
            raise ValueError(f"{path} is a CSV file: set target = '<column>' (the column to predict)")
        x, raw, features = read_csv(path, config["target"])
        y, class_names, task = encode_targets(raw, config["task"])
        info = {"input_kind": "table", "feature_names": features, "target": config["target"]}
    elif path.suffix.lower() == ".npz":
        x, raw = read_npz(path)
        y, class_names, task = encode_targets(raw, config["task"])
        info = {"input_kind": "array"}
    elif not path.exists():
        raise FileNotFoundError(f"data file or folder not found: {path}")
    else:
        raise ValueError(f"data {path}: expected a .csv file, a .npz file (X, y) or a folder of images per class")
    train_idx, val_idx, test_idx = _split_indices(len(x), config["val_fraction"], config["test_fraction"],
                                                  config["seed"])
    x = x.astype(np.float32)
    if info["input_kind"] != "image" and config["standardize"]:
        # statistics of the training split only: the validation and test rows must not leak into them
        mean = x[train_idx].mean(axis=0)
        std = x[train_idx].std(axis=0)
        std[std == 0] = 1.0
        x = (x - mean) / std
        info.update(mean=mean.tolist(), std=std.tolist())
    if task == "regression":
        y = y.astype(np.float32).reshape(len(y), -1)
        info["target_dim"] = y.shape[1]
    info.update(task=task, class_names=class_names, input_shape=list(x.shape[1:]),
                description=f"MLP {config['hidden']} ({task}) on {path.name}: {len(train_idx)} train / "
                            f"{len(val_idx)} validation / {len(test_idx)} test samples")
    if task == "classification" and len(class_names or []) < 2:
        raise ValueError(f"data {path}: classification needs at least 2 classes, found {class_names}")
    full = TensorDataset(x, y)
    return Data(Subset(full, train_idx), Subset(full, val_idx), Subset(full, test_idx), info)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            name="mlp-mnist",
            summary="MLP 784-256-128-10 (ReLU, dropout 0.2) on MNIST, Adam + cosine LR",
            defaults=dict(epochs=10, lr=1e-3, batch_size=128, hidden=[256, 128], dropout=0.2, weight_decay=0.0,
                          val_size=5000, seed=0, data_dir=None, patience=None, grad_clip_norm=None,
                          tensorboard=False),
            data=_mnist_data, model=_mlp_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="lenet-mnist",
            summary="LeNet-5 (ReLU, max pool) on MNIST, Adam + cosine LR",
            defaults=dict(model="lenet5", epochs=12, lr=2e-3, batch_size=128, augment="none", weight_decay=0.0,
                          val_size=5000, seed=0, data_dir=None, patience=None, grad_clip_norm=None,
                          tensorboard=False),
            data=_mnist_data, model=_cnn_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="resnet-mnist",
            summary="ResNet-8 (CIFAR-style, batch norm) on MNIST with rotation/shift/zoom augmentation, AdamW",
            defaults=dict(model="resnet8", epochs=8, lr=2e-3, batch_size=128, augment="affine",
                          weight_decay=5e-4, val_size=5000, seed=0, data_dir=None, patience=None,
                          grad_clip_norm=None, tensorboard=False),
            data=_mnist_data, model=_cnn_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="mlp",
            summary="MLP on your data: a CSV (target column), a .npz (X, y) or a folder of images per class",
            defaults=dict(data=None, target=None, task="auto", epochs=30, lr=1e-3, batch_size=32, hidden=[64, 64],
                          dropout=0.1, weight_decay=0.0, val_fraction=0.2, test_fraction=0.2, standardize=True,
                          image_size=None, seed=0, patience=10, grad_clip_norm=None, tensorboard=False),
            data=_table_data, model=_mlp_model,
            types={"data": (str,), "target": (str,), "image_size": (list,), "patience": (int,),
                   "grad_clip_norm": (float, int)},
            required=("data",),
        ),
    ]
}


def prepare_inputs(x: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    """Apply a run's input preprocessing (pixel scaling, feature standardisation) to raw inputs for predict.

    Args:
        x: (N, *input_shape) or (N, H, W) images, or (N, features) table rows, as read from a file.
    """
    x = np.asarray(x)
    if info.get("input_kind") == "image":
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / np.float32(info.get("pixel_scale", 255.0))
        shape = tuple(info["input_shape"])
        if x.shape[1:] != shape and x.ndim == len(shape) and shape[0] == 1:
            x = x[:, None]  # (N, H, W) -> (N, 1, H, W)
    x = x.astype(np.float32)
    if "mean" in info:
        x = (x - np.asarray(info["mean"], np.float32)) / np.asarray(info["std"], np.float32)
    expected = tuple(info["input_shape"])
    if x.shape[1:] != expected:
        raise ValueError(f"predict: inputs of shape {x.shape[1:]} per sample, but the model was trained on "
                         f"{expected}")
    return x
