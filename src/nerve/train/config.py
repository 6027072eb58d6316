"""Run configurations: a recipe's defaults, overridden by a TOML file, overridden by the command line.

A config file names its recipe and sets any of the recipe's keys, flat::

    recipe = "mlp"
    data = "penguins.csv"
    target = "species"
    epochs = 40
    hidden = [64, 32]

Every value is checked before anything runs: unknown keys (with the closest known key suggested), wrong
types, and out-of-range values give a one-line :class:`ConfigError` naming the key, the value and what
was expected.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nerve.train.recipes import RECIPES, Recipe


class ConfigError(ValueError):
    """A bad config file or value; the message is one actionable line."""


def _positive(v: Any) -> bool:
    return v > 0


def _non_negative(v: Any) -> bool:
    return v >= 0


def _fraction(v: Any) -> bool:
    return 0 <= v < 1


#: range checks shared by every recipe: key -> (check, what is expected)
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": (_positive, "a positive integer"),
    "lr": (_positive, "a positive number"),
    "batch_size": (lambda v: v == "full" or (isinstance(v, int) and v >= 1), "a positive integer or 'full'"),
    "seed": (_non_negative, "a non-negative integer"),
    "dropout": (_fraction, "a probability in [0, 1)"),
    "weight_decay": (_non_negative, "a non-negative number"),
    "val_size": (_positive, "a positive integer"),
    "val_fraction": (_fraction, "a fraction in [0, 1)"),
    "test_fraction": (lambda v: 0 < v < 1, "a fraction in (0, 1)"),
    "hidden": (lambda v: all(isinstance(h, int) and h >= 1 for h in v), "a list of positive integers"),
    "patience": (_non_negative, "a non-negative integer"),
    "grad_clip_norm": (_positive, "a positive number"),
    "task": (lambda v: v in ("auto", "classification", "regression"), "'auto', 'classification' or 'regression'"),
    "augment": (lambda v: v in ("none", "affine", "crop"), "'none', 'affine' or 'crop'"),
    "model": (lambda v: v in ("lenet5", "resnet8", "resnet20", "vgg", "mbconv"),
              "one of lenet5, resnet8, resnet20, vgg, mbconv"),
    "cell": (lambda v: v in ("lstm", "gru", "rnn"), "'lstm', 'gru' or 'rnn'"),
    "series": (lambda v: v in ("sunspots", "airpassengers"), "'sunspots' or 'airpassengers'"),
    "baseline": (lambda v: v in ("last", "seasonal", "none"), "'last', 'seasonal' or 'none'"),
    "input_length": (_positive, "a positive integer"),
    "horizon": (_positive, "a positive integer"),
    "test_size": (_positive, "a positive integer"),
    "eval_step": (_positive, "a positive integer"),
    "season": (_positive, "a positive integer"),
    "hidden_size": (_positive, "a positive integer"),
    "num_layers": (_positive, "a positive integer"),
    "embedding_dim": (_positive, "a positive integer"),
    "seq_len": (_positive, "a positive integer"),
    "corpus_chars": (_non_negative, "a non-negative integer (0: the whole corpus)"),
    "image_size": (lambda v: len(v) == 2 and all(isinstance(s, int) and s >= 1 for s in v), "[height, width]"),
}

_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list"}


def _expected_types(recipe: Recipe, key: str) -> tuple[type, ...]:
    if key in recipe.types:
        return recipe.types[key]
    default = recipe.defaults[key]
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return (float, int)
    if key == "batch_size":
        return (int, str)
    return (type(default),)


def _check_value(recipe: Recipe, key: str, value: Any, source: str) -> Any:
    if value is None and (recipe.defaults[key] is None or key in recipe.types):
        return None
    types = _expected_types(recipe, key)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        want = " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types))
        raise ConfigError(f"{source}: {key} = {value!r} is {type(value).__name__}, expected {want}")
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if key in CHECKS:
        check, what = CHECKS[key]
        try:
            good = check(value)
        except TypeError:
            good = False
        if not good:
            raise ConfigError(f"{source}: {key} = {value!r} is out of range, expected {what}")
    return value


def merge(recipe: Recipe, overrides: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate ``overrides`` against ``recipe`` (keys, types, ranges) and return defaults updated by them."""
    config = dict(recipe.defaults)
    for key, value in overrides.items():
        if key not in recipe.defaults:
            close = difflib.get_close_matches(key, recipe.defaults, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(recipe.defaults))}"
            raise ConfigError(f"{source}: unknown key {key!r} for recipe {recipe.name!r}{hint}")
        config[key] = _check_value(recipe, key, value, source)
    return config


def check_required(recipe: Recipe, config: Mapping[str, Any]) -> None:
    for key in recipe.required:
        if config.get(key) is None:
            raise ConfigError(f"recipe {recipe.name!r} needs {key!r}: set it in a config file or with --{key} ...")


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, expected a .toml config file") from None


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown recipe {name!r}{hint}; available: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def resolve(target: str, overrides: Mapping[str, Any] | None = None) -> tuple[Recipe, dict[str, Any]]:
    """The recipe and validated config for ``target`` (a recipe name or a ``.toml`` path) plus ``overrides``.

    Relative paths in a config file (``data``) are taken relative to the file, so a config travels with
    its data.
    """
    overrides = dict(overrides or {})
    if target.endswith(".toml") or Path(target).is_file():
        path = Path(target)
        file_config = read_toml(path)
        name = file_config.pop("recipe", None)
        if not isinstance(name, str):
            raise ConfigError(f"{path}: missing recipe = \"<name>\" (available: {', '.join(sorted(RECIPES))})")
        recipe = get_recipe(name)
        config = merge(recipe, file_config, str(path))
        if isinstance(config.get("data"), str) and not Path(config["data"]).expanduser().is_absolute():
            config["data"] = str((path.parent / config["data"]).resolve())
    else:
        recipe = get_recipe(target)
        config = dict(recipe.defaults)
    if overrides:
        checked = merge(recipe, overrides, "command line")
        config.update({k: checked[k] for k in overrides})
    check_required(recipe, config)
    return recipe, config


def parse_value(text: str) -> Any:
    """A ``--set key=value`` value: TOML syntax (numbers, true/false, lists, quoted strings), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
