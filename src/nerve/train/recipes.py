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
from nerve.train.text_classification import bbc_setup


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
    scheduler_interval: str = "epoch"  # or "step": the scheduler advances after every batch
    description: str = ""
    stateful: bool = False  # truncated BPTT: the trainer carries the model's state between batches

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
    #: replaces :func:`build` when the recipe needs its own loaders, loss or trainer mode
    setup: Callable[[Recipe, dict[str, Any]], Setup] | None = field(default=None, repr=False)
    #: after the test evaluation: writes the recipe's own artifacts into the run folder and returns extra
    #: results for ``results.json`` (forecasts against baselines, sampled text)
    finish: Callable[[Setup, Any, Path], dict[str, Any]] | None = field(default=None, repr=False)


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
    if recipe.setup is not None:
        return recipe.setup(recipe, config)
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
    train_idx = np.arange(n - n_val)
    if config.get("train_size") is not None:
        size = int(config["train_size"])
        if not 1 <= size <= len(train_idx):
            raise ValueError(f"train_size must be between 1 and {len(train_idx)} (the training images left after "
                             f"val_size {n_val}), got {size}")
        train_idx = stratified_subset(train_full.targets[train_idx], size, config["seed"])
    info = {"task": "classification", "class_names": [str(i) for i in range(10)], "input_shape": [1, 28, 28],
            "input_kind": "image", "pixel_scale": 255.0, "description": _describe_model(config) + " on MNIST"
            + (f" with augmentation ({config['augment']})" if augment is not None else "")
            + (f", {len(train_idx)} training images" if len(train_idx) < n - n_val else "")}
    # the validation set is the last val_size training images (fixed, so runs are comparable)
    return Data(Subset(train_source, train_idx), Subset(train_full, np.arange(n - n_val, n)), test, info)


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` sorted indices into ``labels``, drawn without replacement (seeded) so that every class keeps
    its share: class c gets floor(size·n_c/n) images, and the largest remainders one more each."""
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * size / len(labels)
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(take - quota, kind="stable")[: size - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked))


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
    if "patch_size" in config:  # only the ViT recipes have patches
        return (f"ViT ({config['num_layers']} pre-norm blocks, width {config['hidden_dim']}, {config['num_heads']} "
                f"heads, MLP {config['mlp_dim']}, {config['patch_size']}x{config['patch_size']} patches)")
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


# ------------------------------------------------------------------------------------ vit-mnist
def _vit_model(config: dict[str, Any], info: dict[str, Any]) -> nn.Module:
    from nerve.models import ViT

    channels, height, width = (int(v) for v in info["input_shape"])
    if height != width:
        raise ValueError(f"vit: the ViT takes square images, got {height}x{width}")
    return ViT(image_size=height, patch_size=config["patch_size"], num_layers=config["num_layers"],
               num_heads=config["num_heads"], hidden_dim=config["hidden_dim"], mlp_dim=config["mlp_dim"],
               dropout=config["dropout"], num_classes=len(info["class_names"]), in_channels=channels)


def _vit_setup(recipe: Recipe, config: dict[str, Any]) -> Setup:
    """The standard data and loaders, then AdamW with a per-step schedule: linear warm-up over
    ``warmup_steps`` batches, cosine decay to zero over the rest."""
    import dataclasses

    setup = build(dataclasses.replace(recipe, setup=None), config)
    # decay the projection matrices only: pulling LayerNorm gains, biases, the class token or the position
    # table toward zero is not regularisation, it removes signal
    named = dict(setup.model.named_parameters())
    no_decay = {"class_token", "encoder.pos_embedding"}
    decay = [p for name, p in named.items() if p.ndim >= 2 and name not in no_decay]
    rest = [p for name, p in named.items() if p.ndim < 2 or name in no_decay]
    opt = optim.AdamW([{"params": decay, "weight_decay": config["weight_decay"]},
                       {"params": rest, "weight_decay": 0.0}], lr=config["lr"])
    total = config["epochs"] * len(setup.train)
    warmup = min(config["warmup_steps"], total // 2)
    schedulers: list[Any] = [optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total - warmup, 1))]
    if warmup:
        schedulers.insert(0, optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warmup))
    setup.optimizer = opt
    setup.scheduler = schedulers[0] if len(schedulers) == 1 else optim.lr_scheduler.SequentialLR(
        opt, schedulers, milestones=[warmup])
    setup.scheduler_interval = "step"
    return setup


def _vit_finish(setup: Setup, trainer: Any, run_dir: Path) -> dict[str, Any]:
    """``attention.png``: the class token's attention over the patches for the first test images."""
    from nerve.models.vit import class_token_attention
    from nerve.train.plots import _pyplot

    plt = _pyplot()
    if plt is None:
        return {}
    images, labels = next(iter(setup.test))
    images, labels = images[:8], labels.data[:8]
    predicted = trainer.predict([(images, labels)]).argmax(axis=1)
    rows = {"last block": class_token_attention(setup.model, images, "last"),  # type: ignore[arg-type]
            "rollout": class_token_attention(setup.model, images, "rollout")}  # type: ignore[arg-type]
    fig, axes = plt.subplots(1 + len(rows), len(labels), figsize=(1.6 * len(labels), 1.75 * (1 + len(rows))),
                             squeeze=False)
    size = images.shape[-1]
    for j in range(len(labels)):
        axes[0, j].imshow(images.data[j, 0], cmap="gray")
        axes[0, j].set_title(f"label {labels[j]}, pred {predicted[j]}", fontsize=8)
        for i, (name, maps) in enumerate(rows.items(), start=1):
            axes[i, j].imshow(images.data[j, 0], cmap="gray")
            # nearest-neighbour upsampling: one block of colour per patch, drawn over the digit
            axes[i, j].imshow(maps[j], cmap="inferno", alpha=0.6, extent=(-0.5, size - 0.5, size - 0.5, -0.5),
                              interpolation="nearest")
            if j == 0:
                axes[i, j].set_ylabel(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("class-token attention over patches (mean over heads)", fontsize=10)
    fig.tight_layout()
    fig.savefig(run_dir / "attention.png", dpi=110)
    plt.close(fig)
    return {}


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


# ------------------------------------------------------------------------ time-series forecasting
SERIES = ("sunspots", "airpassengers")


def _load_series(config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str]:
    from nerve import datasets

    if config["series"] == "sunspots":
        times, values = datasets.sunspots(config.get("data_dir"))
        return times, values, "yearly sunspot numbers (statsmodels)"
    if config["series"] == "airpassengers":
        times, values = datasets.air_passengers(config.get("data_dir"))
        return times, values, "monthly airline passengers, thousands (pmdarima)"
    raise ValueError(f"series must be one of {', '.join(SERIES)}, got {config['series']!r}")


def _forecast_data(config: dict[str, Any]) -> Data:
    """Windows of a scaled series: training windows inside the training span, validation and test windows
    whose targets lie in their span (inputs may reach back). The scaler sees the training span only."""
    from nerve.data.timeseries import StandardScaler, sliding_windows, split_by_time, windows_for_span

    _, values, what = _load_series(config)
    series = np.log(values) if config["log"] else values.astype(np.float64)
    train, val, test = split_by_time(series, config["val_size"], config["test_size"])
    scaler = StandardScaler().fit(train)
    z = scaler.transform(series).astype(np.float32)
    length, horizon = config["input_length"], config["horizon"]
    t1, t2 = len(train), len(train) + len(val)

    def dataset(inputs: np.ndarray, targets: np.ndarray) -> TensorDataset:
        return TensorDataset(inputs[..., None], targets)

    splits = [sliding_windows(z[:t1], length, horizon),
              windows_for_span(z, t1, t2, length, horizon),  # every origin: validation picks the epoch
              windows_for_span(z, t2, len(z), length, horizon, step=config["eval_step"])]
    info = {"task": "regression", "input_kind": "series", "input_shape": [length, 1], "series": config["series"],
            "log": config["log"], "scaler": {k: np.asarray(v).tolist() for k, v in scaler.state_dict().items()},
            "boundaries": [t1, t2], "n": len(series), "season": config["season"], "eval_step": config["eval_step"],
            "data_dir": config.get("data_dir"),
            "description": f"{config['cell'].upper()} forecaster ({length} steps in, {horizon} out) on {what}: "
                           f"{t1} train / {len(val)} validation / {len(test)} test steps"}
    return Data(*(dataset(*split) for split in splits), info)


def _forecast_model(config: dict[str, Any], info: dict[str, Any]) -> nn.Module:
    from nerve.models import RNNForecaster

    baseline = config["baseline"]
    return RNNForecaster(1, config["hidden_size"], config["num_layers"], config["horizon"], config["cell"],
                         config["dropout"], residual=baseline != "none",
                         season=config["season"] if baseline == "seasonal" else None)


def _forecast_finish(setup: Setup, trainer: Any, run_dir: Path) -> dict[str, Any]:
    """Test-span forecasts in the series' units against the baselines: ``forecast.csv``, ``forecast.png``."""
    from nerve.data.timeseries import StandardScaler
    from nerve.train.forecasting import baselines, score
    from nerve.train.plots import plot_forecast

    info = setup.info
    scaler = StandardScaler()
    scaler.load_state_dict(info["scaler"])

    def units(z: np.ndarray) -> np.ndarray:
        raw = scaler.inverse_transform(z.astype(np.float64))
        return np.exp(raw) if info["log"] else raw

    targets = np.concatenate([b[1].data for b in setup.test])
    predicted = trainer.predict(setup.test)
    (n, horizon), season, length = targets.shape, int(info["season"]), int(info["input_shape"][0])
    times, values, _ = _load_series({"series": info["series"], "data_dir": info.get("data_dir")})
    t1, t2 = info["boundaries"]
    # window k forecasts the steps first + k·eval_step + [0, horizon) (the first needs a full input window);
    # the actual values and the baselines' history come from the raw series at those positions
    first = max(t2, length)
    origins = first + info["eval_step"] * np.arange(n)
    index = (origins[:, None] + np.arange(horizon)).reshape(-1)
    actual = values[index].reshape(n, horizon)
    history = values[origins[:, None] - length + np.arange(length)]
    if not np.allclose(units(targets), actual, rtol=1e-4):  # the windows must be the steps we think they are
        raise RuntimeError("forecast evaluation: test windows and series positions disagree")
    forecasts = {"model": units(predicted), **baselines(history, horizon, season)}
    scores = score(actual, forecasts, values[:t1], season)
    rows = ["time,actual," + ",".join(forecasts)]
    for k, i in enumerate(index):
        w, h = divmod(k, horizon)
        rows.append(f"{times[i]},{values[i]:.6g}," + ",".join(f"{f[w, h]:.6g}" for f in forecasts.values()))
    (run_dir / "forecast.csv").write_text("\n".join(rows) + "\n")
    shown = {name: f.reshape(-1) for name, f in forecasts.items()}
    unique = np.unique(index, return_index=True)[1]  # overlapping windows: plot each step's first forecast
    plot_forecast(list(times), values, (t1, t2), [times[i] for i in index[unique]],
                  {k: v[unique] for k, v in shown.items()}, run_dir / "forecast.png",
                  title=f"{info['series']}: test-span forecasts, MASE " + ", ".join(
                      f"{k} {v['mase']:.3f}" for k, v in scores.items()))
    lines = [f"  {name:15s} MASE {v['mase']:.3f}  MAE {v['mae']:.2f}  RMSE {v['rmse']:.2f}"
             for name, v in scores.items()]
    print("test-span forecasts:\n" + "\n".join(lines), flush=True)
    return {"forecast": scores}


# ------------------------------------------------------------------- character-level language models
@dataclass
class _Corpus:
    """Shakespeare as one stream of character ids, split in order into train/val/test (90/5/5 %)."""

    text: str
    vocab: Any  # nerve.data.CharVocabulary
    splits: tuple[np.ndarray, np.ndarray, np.ndarray]

    def info(self, description: str) -> dict[str, Any]:
        return {"task": "language_model", "vocabulary": self.vocab.to_dict(), "corpus_chars": len(self.text),
                "splits": [len(part) for part in self.splits], "description": description}


def _shakespeare(config: dict[str, Any]) -> _Corpus:
    """``corpus_chars`` of Shakespeare (0: all 5 M), contiguous and unshuffled: no validation text leaks into
    training through shuffling."""
    from nerve import datasets
    from nerve.data import CharVocabulary

    text = datasets.shakespeare(config.get("data_dir"))
    if config["corpus_chars"]:
        text = text[: config["corpus_chars"]]
    vocab = CharVocabulary(text)
    ids = vocab.encode(text)
    n_train, n_val = int(len(ids) * 0.9), int(len(ids) * 0.05)
    return _Corpus(text, vocab, (ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]))


def _per_character_loss(classes: int) -> Callable[[Any, Any], Any]:
    from nerve.nn import functional as F

    def loss_fn(logits: Any, targets: Any) -> Any:  # mean cross-entropy per character, in nats
        return F.cross_entropy(logits.reshape(-1, classes), targets.reshape(-1))

    return loss_fn


def _write_sample(setup: Setup, run_dir: Path, continue_ids: Callable[[np.ndarray], np.ndarray],
                  options: dict[str, float]) -> dict[str, Any]:
    """600 characters after "ROMEO:\n" (or the first character), from ``continue_ids``: ``sample.txt``."""
    from nerve.data import CharVocabulary

    vocab = CharVocabulary.from_dict(setup.info["vocabulary"])
    prompt = "ROMEO:\n" if all(c in vocab.chars for c in "ROMEO:\n") else vocab.chars[0]
    sample = prompt + vocab.decode(continue_ids(vocab.encode(prompt)))
    (run_dir / "sample.txt").write_text(sample + "\n")
    shown = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in options.items())
    print(f"sample ({shown}):\n{sample[:400]}", flush=True)
    return {"sample": sample, **{f"sample_{k}": v for k, v in options.items()}}


def _char_setup(recipe: Recipe, config: dict[str, Any]) -> Setup:
    """The corpus read in BPTT chunks (consecutive rows, the LSTM state carried between batches)."""
    from nerve.data import BPTTLoader
    from nerve.models import CharRNN

    corpus = _shakespeare(config)
    bs, seq = config["batch_size"], config["seq_len"]
    train, val, test = (BPTTLoader(part, bs, seq) for part in corpus.splits)
    classes = len(corpus.vocab)
    model = CharRNN(classes, config["embedding_dim"], config["hidden_size"], config["num_layers"],
                    config["dropout"], config["cell"])
    opt = optim.Adam(model.parameters(), lr=config["lr"])
    info = corpus.info(f"char-{config['cell'].upper()} {config['num_layers']}x{config['hidden_size']} on "
                       f"Shakespeare ({len(corpus.text):,} characters, {classes} distinct), BPTT {seq}")
    return Setup(model=model, optimizer=opt, loss_fn=_per_character_loss(classes), train=train, val=val,  # type: ignore
                 test=test, info=info, metrics=("perplexity",),
                 scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config["epochs"]),
                 description=info["description"], stateful=True)


def _char_finish(setup: Setup, trainer: Any, run_dir: Path) -> dict[str, Any]:
    from nerve.random import Generator

    return _write_sample(setup, run_dir, lambda prompt: setup.model.sample(  # type: ignore[operator]
        prompt, 600, temperature=0.8, generator=Generator(0)), {"temperature": 0.8})


def _gpt_setup(recipe: Recipe, config: dict[str, Any]) -> Setup:
    """The corpus read as blocks of ``block_size`` characters: shuffled offsets and order for training, fixed
    blocks for evaluation. AdamW with linear warm-up then cosine decay, stepped every batch."""
    from nerve.data import TokenBlockLoader
    from nerve.models import GPT

    corpus = _shakespeare(config)
    bs, block = config["batch_size"], config["block_size"]
    train = TokenBlockLoader(corpus.splits[0], bs, block, shuffle=True, seed=config["seed"])
    val, test = (TokenBlockLoader(part, bs, block) for part in corpus.splits[1:])
    classes = len(corpus.vocab)
    model = GPT(classes, block, config["d_model"], config["n_head"], config["n_layer"], dropout=config["dropout"])
    # Weight decay on matrices only: decaying LayerNorm gains and biases toward zero only hurts.
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": matrices, "weight_decay": config["weight_decay"]},
                       {"params": others, "weight_decay": 0.0}], lr=config["lr"], betas=(0.9, 0.99))
    total = max(config["epochs"] * len(train), 1)
    warmup = min(config["warmup_steps"], total // 2)
    schedule = optim.lr_scheduler.SequentialLR(
        opt, [optim.lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=max(warmup, 1)),
              optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total - warmup, 1), eta_min=config["lr"] / 10)],
        milestones=[warmup])
    info = corpus.info(f"char-GPT {config['n_layer']} layers x {config['d_model']} ({config['n_head']} heads, "
                       f"context {block}) on Shakespeare ({len(corpus.text):,} characters, {classes} distinct)")
    return Setup(model=model, optimizer=opt, loss_fn=_per_character_loss(classes), train=train, val=val,  # type: ignore
                 test=test, info=info, metrics=("perplexity",), scheduler=schedule, scheduler_interval="step",
                 description=info["description"])


def _gpt_finish(setup: Setup, trainer: Any, run_dir: Path) -> dict[str, Any]:
    from nerve.random import Generator

    return _write_sample(setup, run_dir, lambda prompt: setup.model.generate(  # type: ignore[operator]
        prompt, 600, temperature=0.8, top_p=0.95, generator=Generator(0)), {"temperature": 0.8, "top_p": 0.95})


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            name="mlp-mnist",
            summary="MLP 784-256-128-10 (ReLU, dropout 0.2) on MNIST, Adam + cosine LR",
            defaults=dict(epochs=10, lr=1e-3, batch_size=128, hidden=[256, 128], dropout=0.2, weight_decay=0.0,
                          val_size=5000, train_size=None, seed=0, data_dir=None, patience=None, grad_clip_norm=None,
                          tensorboard=False),
            data=_mnist_data, model=_mlp_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int),
                   "train_size": (int,)},
        ),
        Recipe(
            name="lenet-mnist",
            summary="LeNet-5 (ReLU, max pool) on MNIST, Adam + cosine LR",
            defaults=dict(model="lenet5", epochs=12, lr=2e-3, batch_size=128, augment="none", weight_decay=0.0,
                          val_size=5000, train_size=None, seed=0, data_dir=None, patience=None, grad_clip_norm=None,
                          tensorboard=False),
            data=_mnist_data, model=_cnn_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int),
                   "train_size": (int,)},
        ),
        Recipe(
            name="resnet-mnist",
            summary="ResNet-8 (CIFAR-style, batch norm) on MNIST with rotation/shift/zoom augmentation, AdamW",
            defaults=dict(model="resnet8", epochs=8, lr=2e-3, batch_size=128, augment="affine",
                          weight_decay=5e-4, val_size=5000, train_size=None, seed=0, data_dir=None, patience=None,
                          grad_clip_norm=None, tensorboard=False),
            data=_mnist_data, model=_cnn_model,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int),
                   "train_size": (int,)},
        ),
        Recipe(
            name="vit-mnist",
            summary="Vision Transformer (7x7 patches, 6 pre-norm blocks of width 64) on MNIST, AdamW + warm-up/cosine",
            defaults=dict(patch_size=7, hidden_dim=64, num_layers=6, num_heads=4, mlp_dim=128, dropout=0.0,
                          epochs=6, lr=1e-3, batch_size=128, augment="crop", weight_decay=0.05, warmup_steps=200,
                          val_size=5000, train_size=None, seed=0, data_dir=None, patience=None, grad_clip_norm=1.0,
                          tensorboard=False),
            data=_mnist_data, model=_vit_model, setup=_vit_setup, finish=_vit_finish,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int), "train_size": (int,)},
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
        Recipe(
            name="lstm-sunspots",
            summary="LSTM forecaster of yearly sunspot numbers (one year ahead), scored against naive baselines",
            defaults=dict(series="sunspots", cell="lstm", input_length=22, horizon=1, val_size=30, test_size=30,
                          eval_step=1, season=11, baseline="last", log=False, hidden_size=32, num_layers=1, dropout=0.0,
                          epochs=150, lr=3e-3, batch_size=32, weight_decay=0.0, seed=0, data_dir=None,
                          patience=30, grad_clip_norm=1.0, tensorboard=False),
            data=_forecast_data, model=_forecast_model, finish=_forecast_finish,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="gru-airpassengers",
            summary="GRU forecaster of monthly airline passengers (log scale, 12 months ahead) vs naive baselines",
            defaults=dict(series="airpassengers", cell="gru", input_length=24, horizon=12, val_size=24,
                          test_size=12, eval_step=12, season=12, baseline="seasonal", log=True, hidden_size=32,
                          num_layers=1, dropout=0.0, epochs=300, lr=3e-3, batch_size=16, weight_decay=0.0, seed=0,
                          data_dir=None, patience=30, grad_clip_norm=1.0, tensorboard=False),
            data=_forecast_data, model=_forecast_model, finish=_forecast_finish,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="charrnn-shakespeare",
            summary="Character-level LSTM language model on Shakespeare (truncated BPTT), with a text sample",
            defaults=dict(cell="lstm", corpus_chars=0, embedding_dim=64, hidden_size=256, num_layers=2,
                          dropout=0.2, seq_len=100, epochs=2, lr=3e-3, batch_size=64, seed=0, data_dir=None,
                          patience=None, grad_clip_norm=5.0, tensorboard=False),
            data=lambda config: None, model=lambda config, info: None,  # type: ignore[arg-type,return-value]
            setup=_char_setup, finish=_char_finish,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="gpt-shakespeare",
            summary="Character-level GPT (decoder-only transformer) on Shakespeare, with a text sample",
            # Two passes over the 4.5 M training characters reach val 1.53 nats/char (one pass with dropout 0.1:
            # 1.73). A 1.8 M-parameter model that sees each block twice cannot overfit it, so no dropout.
            defaults=dict(corpus_chars=0, block_size=128, d_model=192, n_head=6, n_layer=4, dropout=0.0,
                          epochs=2, lr=2e-3, warmup_steps=200, weight_decay=0.1, batch_size=32, seed=0,
                          data_dir=None, patience=None, grad_clip_norm=1.0, tensorboard=False),
            data=lambda config: None, model=lambda config, info: None,  # type: ignore[arg-type,return-value]
            setup=_gpt_setup, finish=_gpt_finish,
            types={"data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
        ),
        Recipe(
            name="minilm-bbc",
            summary="Pretrained MiniLM-L6 (all-MiniLM-L6-v2) fine-tuned on BBC News topics; baselines: "
                    "--set variant=scratch|bow",
            defaults=dict(variant="pretrained", max_length=128, epochs=3, lr=None, batch_size=16, weight_decay=0.01,
                          dropout=0.1, vocab_size=10000, hidden=[256], val_fraction=0.1, test_fraction=0.2, seed=0,
                          data_dir=None, patience=None, grad_clip_norm=1.0, tensorboard=False),
            data=lambda config: None, model=lambda config, info: None,  # type: ignore[arg-type,return-value]
            setup=bbc_setup,
            types={"lr": (float, int), "data_dir": (str,), "patience": (int,), "grad_clip_norm": (float, int)},
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
