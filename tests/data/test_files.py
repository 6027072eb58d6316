"""Bring-your-own-data loaders: read_npz, read_csv, encode_targets, ImageFolder."""

import csv
import sys

import numpy as np
import pytest
from PIL import Image  # in the test extra: a broken install must fail, not skip

import nerve
from nerve.data import DataLoader, ImageFolder, encode_targets, read_csv, read_npz

RED, GREEN, BLUE, GRAY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (51, 51, 51)


def write_csv(path, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def save_image(path, color, size=(8, 8), mode="RGB"):
    """A constant image; ``size`` is (H, W)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size[::-1], color).save(path)
    return path


def pixels(color):
    """The (C,) values ImageFolder should produce for a constant 8-bit color."""
    return np.array(color, dtype=np.float32).reshape(-1) / np.float32(255)


@pytest.fixture
def folder(tmp_path):
    """2 classes x 3 RGB 8x8 images, each a distinct constant color (class 'a' reds, class 'b' blues)."""
    root = tmp_path / "images"
    for k in range(3):
        save_image(root / "a" / f"{k}.png", (255, 10 * k, 0))
        save_image(root / "b" / f"{k}.png", (0, 10 * k, 255))
    return root


# -------------------------------------------------------------------------------------------- read_npz


def test_read_npz_round_trips_with_default_keys(tmp_path):
    X, y = np.arange(12, dtype=np.int32).reshape(4, 3), np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    X2, y2 = read_npz(tmp_path / "d.npz")
    assert X2.dtype == np.float32 and np.array_equal(X2, X)
    assert y2.dtype == y.dtype and np.array_equal(y2, y)


def test_read_npz_finds_alternative_and_explicit_keys(tmp_path):
    X, y = np.ones((2, 2, 2), np.float32), np.array(["a", "b"])
    np.savez(tmp_path / "d.npz", inputs=X, labels=y, other=X[:, 0])
    X2, y2 = read_npz(str(tmp_path / "d.npz"))
    assert X2.shape == (2, 2, 2) and y2.tolist() == ["a", "b"]
    X3, _ = read_npz(tmp_path / "d.npz", x_key="other", y_key="labels")
    assert X3.shape == (2, 2)


def test_read_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_npz: .*missing\.npz does not exist"):
        read_npz(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(ValueError, match=r"read_npz: .*text\.npz is not a valid \.npz archive"):
        read_npz(tmp_path / "text.npz")
    with open(tmp_path / "single.npz", "wb") as f:
        np.save(f, np.ones(3))
    with pytest.raises(ValueError, match=r"read_npz: .*single\.npz holds a single array.*np\.savez"):
        read_npz(tmp_path / "single.npz")

    np.savez(tmp_path / "keys.npz", a=np.ones((2, 1)), b=np.ones(2))
    with pytest.raises(ValueError, match=r"read_npz: .*keys\.npz has none of the arrays \['X'.*available arrays: "
                                         r"\['a', 'b'\]; pass x_key="):
        read_npz(tmp_path / "keys.npz")
    with pytest.raises(ValueError, match=r"read_npz: .*keys\.npz has no array 'c'; available arrays: \['a', 'b'\]"):
        read_npz(tmp_path / "keys.npz", x_key="a", y_key="c")

    np.savez(tmp_path / "rows.npz", X=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(ValueError, match=r"read_npz: inputs 'X' in .*rows\.npz have 3 rows but targets 'y' have "
                                         r"shape \(4,\)"):
        read_npz(tmp_path / "rows.npz")
    np.savez(tmp_path / "flat.npz", X=np.ones(3), y=np.ones(3))
    with pytest.raises(ValueError, match=r"read_npz: inputs 'X' in .*flat\.npz have shape \(3,\), expected "
                                         r"\(n, features\.\.\.\)"):
        read_npz(tmp_path / "flat.npz")
    np.savez(tmp_path / "text_x.npz", X=np.array([["a"]]), y=np.ones(1))
    with pytest.raises(ValueError, match=r"read_npz: inputs 'X' in .*text_x\.npz have dtype <U1, expected numbers"):
        read_npz(tmp_path / "text_x.npz")
    np.savez(tmp_path / "pickled.npz", X=np.ones((1, 1)), y=np.array([{}], dtype=object))
    with pytest.raises(ValueError, match=r"read_npz: cannot read arrays 'X' and 'y' from .*pickled\.npz"):
        read_npz(tmp_path / "pickled.npz")


# -------------------------------------------------------------------------------------------- read_csv


def test_read_csv_round_trips_numbers_and_integer_targets(tmp_path):
    path = write_csv(tmp_path / "d.csv", [["a", "label", "b"], ["0.5", "1", "-2"], ["1.25", "10", "3e2"], [],
                                          ["7", "2", "0"]])  # the blank line is skipped
    X, y, names = read_csv(path, target="label")
    assert names == ["a", "b"]
    assert X.dtype == np.float32 and X.tolist() == [[0.5, -2.0], [1.25, 300.0], [7.0, 0.0]]
    assert y.dtype == np.int64 and y.tolist() == [1, 10, 2]


def test_read_csv_features_order_delimiter_and_target_types(tmp_path):
    path = write_csv(tmp_path / "d.csv", [["a", "b", "c", "t"], ["1", "2", "3", " cat "], ["4", "5", "6", "dog"]],
                     delimiter=";")
    X, y, names = read_csv(path, target="t", features=["c", "a"], delimiter=";")
    assert names == ["c", "a"] and X.tolist() == [[3, 1], [6, 4]]
    assert y.dtype.kind == "U" and y.tolist() == ["cat", "dog"]
    path = write_csv(tmp_path / "f.csv", [["a", "t"], ["1", "0.5"], ["2", "3"]])
    _, y, _ = read_csv(path, target="t")
    assert y.dtype == np.float64 and y.tolist() == [0.5, 3.0]


@pytest.mark.parametrize(("rows", "kwargs", "match"), [
    ([], {}, r"read_csv: .*d\.csv is empty or its first line is blank; expected a header row"),
    ([["x", "labels"], ["1", "2"]], {}, r"read_csv: target column 'label' not found in .*d\.csv; available columns: "
                                        r"\['x', 'labels'\]; did you mean 'labels'\?"),
    ([["x;label"], ["1;2"]], {}, r"available columns: \['x;label'\].*is the delimiter ';'\?"),
    ([["x", "label"], ["1", "2"]], {"features": ["x", "y"]}, r"read_csv: feature column 'y' not found in .*d\.csv; "
                                                            r"available columns: \['x', 'label'\]"),
    ([["x", "label"], ["1", "2"], ["abc", "3"]], {}, r"read_csv: .*d\.csv line 3: column 'x' holds 'abc', "
                                                     r"expected a number"),
    ([["x", "label"], ["1", "2"], ["1", "2", "3"]], {}, r"read_csv: .*d\.csv line 3 has 3 fields, expected 2"),
    ([["x", "label"], ["", "2"]], {}, r"read_csv: .*d\.csv line 2: empty value in column 'x'.*does not impute"),
    ([["x", "label"], ["1", "2"], ["1", " "]], {}, r"read_csv: .*d\.csv line 3: empty value in target column "
                                                   r"'label'"),
    ([["x", "label"]], {}, r"read_csv: .*d\.csv has a header but no data rows"),
    ([["label"], ["1"]], {}, r"read_csv: .*d\.csv has no feature columns besides the target 'label'"),
    ([["x", "label"], ["1", "2"]], {"features": ["x", "label"]}, r"read_csv: the target column 'label' is also listed"),
    ([["", "x", "label"], ["0", "1", "2"]], {}, r"read_csv: column 1 of .*d\.csv has no name.*features="),
    ([["x", "x", "label"], ["0", "1", "2"]], {}, r"read_csv: .*d\.csv has duplicate column names \['x'\]"),
])
def test_read_csv_errors(tmp_path, rows, kwargs, match):
    path = write_csv(tmp_path / "d.csv", rows)
    with pytest.raises(ValueError, match=match):
        read_csv(path, target="label", **kwargs)


def test_read_csv_missing_file_and_bad_features_type(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_csv: .*nope\.csv does not exist"):
        read_csv(tmp_path / "nope.csv", target="y")
    path = write_csv(tmp_path / "d.csv", [["x", "y"], ["1", "2"]])
    with pytest.raises(TypeError, match=r"read_csv: features must be a list of column names, got the string 'x'"):
        read_csv(path, target="y", features="x")


# -------------------------------------------------------------------------------------- encode_targets


def test_encode_targets_classification_sorts_numbers_numerically():
    t, classes, task = encode_targets(np.array([10, 2, 1, 2]), task="classification")
    assert (task, classes) == ("classification", ["1", "2", "10"])
    assert t.dtype == np.int64 and t.tolist() == [2, 1, 0, 1]
    t, classes, task = encode_targets(np.array(["dog", "cat", "dog"]))
    assert (t.tolist(), classes, task) == ([1, 0, 1], ["cat", "dog"], "classification")


def test_encode_targets_auto_rule():
    assert encode_targets(np.array([True, False]))[1:] == (["False", "True"], "classification")
    assert encode_targets(np.arange(50) % 7)[2] == "classification"
    assert encode_targets(np.arange(51))[2] == "regression"
    t, classes, task = encode_targets(np.array([0.5, 1.0]))
    assert (classes, task) == (None, "regression") and t.dtype == np.float32 and t.tolist() == [0.5, 1.0]
    assert encode_targets(np.ones((4, 2), dtype=np.int64))[2] == "regression"  # multi-column targets


def test_encode_targets_regression_from_text_and_errors():
    t, _, _ = encode_targets(np.array(["1.5", "2"]), task="regression")
    assert t.dtype == np.float32 and t.tolist() == [1.5, 2.0]
    with pytest.raises(ValueError, match=r"encode_targets: regression needs numeric targets, got 'cat'"):
        encode_targets(np.array(["1", "cat", "dog"]), task="regression")
    with pytest.raises(ValueError, match=r"encode_targets: task must be 'auto', 'classification' or 'regression', "
                                         r"got 'classify'"):
        encode_targets(np.array([1]), task="classify")
    with pytest.raises(ValueError, match=r"encode_targets: classification needs labels of shape \(n,\), got shape "
                                         r"\(2, 2\)"):
        encode_targets(np.eye(2, dtype=np.int64), task="classification")


# ------------------------------------------------------------------------------------------ ImageFolder


def test_image_folder_indexes_classes_and_loads_exact_pixels(folder):
    (folder / "a" / ".hidden.png").write_bytes(b"junk")
    (folder / "a" / "notes.txt").write_text("not an image")
    (folder / ".cache").mkdir()
    save_image(folder / "b" / "3.PNG", BLUE)
    ds = ImageFolder(folder)
    assert ds.classes == ["a", "b"] and ds.class_to_idx == {"a": 0, "b": 1}
    assert len(ds) == 7 and ds.targets.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert [p.rsplit("/", 2)[1:] for p, _ in ds.samples][:4] == [["a", "0.png"], ["a", "1.png"], ["a", "2.png"],
                                                                  ["b", "0.png"]]
    assert ds.image_shape == (3, 8, 8) and "classes=2" in repr(ds)
    x, y = ds[1]
    assert x.shape == (3, 8, 8) and x.dtype == np.float32
    assert np.array_equal(x.data, np.broadcast_to(pixels((255, 10, 0))[:, None, None], (3, 8, 8)))
    assert y.dtype == np.int64 and y.shape == () and int(y.item()) == 0
    assert int(ds[-1][1].item()) == 1
    with pytest.raises(IndexError, match="ImageFolder: index 7 out of range for 7 images"):
        ds[7]


def test_image_folder_batches_through_the_data_loader(folder):
    ds = ImageFolder(folder)
    seen = []
    for xb, yb in DataLoader(ds, batch_size=4, shuffle=True, generator=nerve.Generator(0)):
        assert xb.shape[1:] == (3, 8, 8) and xb.dtype == np.float32 and yb.dtype == np.int64
        # class 'a' images are red, class 'b' blue: the label must match the pixels it came with
        assert np.array_equal(xb.data[:, 0, 0, 0] == 1.0, yb.data == 0)
        seen += yb.tolist()
    assert sorted(seen) == [0, 0, 0, 1, 1, 1]


def test_image_folder_trains_a_tiny_model_one_step(folder):
    ds = ImageFolder(folder)
    model = nerve.nn.Sequential(nerve.nn.Flatten(), nerve.nn.Linear(3 * 8 * 8, len(ds.classes)))
    opt = nerve.optim.SGD(model.parameters(), lr=0.1)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    loss = nerve.nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item()) and all(p.grad is not None for p in model.parameters())


def test_image_folder_grayscale_auto_and_forced(tmp_path):
    for k, name in enumerate(["a", "b"]):
        save_image(tmp_path / "g" / name / "0.png", 51 * (k + 1), mode="L")
    ds = ImageFolder(tmp_path / "g")
    assert ds.grayscale and ds.image_shape == (1, 8, 8)
    assert np.array_equal(ds[1][0].data, np.full((1, 8, 8), pixels(102)[0]))

    save_image(tmp_path / "g" / "b" / "1.png", RED)  # one RGB image: everything becomes RGB
    ds = ImageFolder(tmp_path / "g")
    assert not ds.grayscale and ds.image_shape == (3, 8, 8)
    assert np.array_equal(ds[0][0].data, np.full((3, 8, 8), pixels(51)[0]))

    ds = ImageFolder(tmp_path / "g", grayscale=True)
    assert ds.get_batch(np.array([0, 2]))[0].shape == (2, 1, 8, 8)


def test_image_folder_reads_palette_images_with_transparency_without_warning(tmp_path):
    path = tmp_path / "p" / "a" / "0.png"
    path.parent.mkdir(parents=True)
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    im.save(path, transparency=bytes([0, 128]))  # tRNS as bytes: Pillow warns on a direct P -> RGB convert
    x, _ = ImageFolder(tmp_path / "p")[0]
    assert x.shape == (3, 8, 8) and np.array_equal(x.data[:, 0, 0], pixels((200, 100, 50)))


def test_image_folder_scales_16_bit_grayscale(tmp_path):
    path = tmp_path / "w" / "a" / "0.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(np.full((4, 4), 65535 // 5, dtype=np.uint16)).save(path)
    x, _ = ImageFolder(tmp_path / "w")[0]
    assert x.shape == (1, 4, 4) and np.allclose(x.data, 0.2)


def test_image_folder_sizes_must_match_unless_resized(tmp_path):
    save_image(tmp_path / "r" / "a" / "0.png", GREEN, size=(8, 8))
    save_image(tmp_path / "r" / "b" / "0.png", GRAY, size=(6, 10))
    with pytest.raises(ValueError, match=r"ImageFolder: images differ in size: .*a/0\.png is 8x8 and .*b/0\.png is "
                                         r"6x10 \(HxW\); pass size=\(H, W\)"):
        ImageFolder(tmp_path / "r")
    ds = ImageFolder(tmp_path / "r", size=(4, 6))
    xb, yb = ds.get_batch(np.array([0, 1]))
    assert xb.shape == (2, 3, 4, 6) and yb.tolist() == [0, 1]
    assert np.array_equal(xb.data[1], np.full((3, 4, 6), pixels(GRAY)[0]))
    with pytest.raises(ValueError, match=r"ImageFolder: size must be \(H, W\) with positive integers, got \(4,\)"):
        ImageFolder(tmp_path / "r", size=(4,))


def test_image_folder_transform_and_cache(folder):
    ds = ImageFolder(folder, transform=lambda x: x * 2)
    assert ds[0][0].data.max() == 2.0 and ds.get_batch(np.array([0]))[0].data.max() == 2.0
    ds = ImageFolder(folder)
    first = ds[0][0].data
    (folder / "a" / "0.png").unlink()  # cached: no second read
    assert np.array_equal(ds[0][0].data, first) and not first.flags.writeable


def test_image_folder_without_cache_reads_again(folder):
    ds = ImageFolder(folder, cache=False)
    ds[0]
    (folder / "a" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match=r"ImageFolder: cannot read image .*a/0\.png"):
        ds[0]


def test_image_folder_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"ImageFolder: .*nope does not exist; expected a folder"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"ImageFolder: .*file\.png is a file"):
        ImageFolder(tmp_path / "file.png")
    save_image(tmp_path / "flat" / "loose.png", RED)
    with pytest.raises(ValueError, match=r"ImageFolder: .*flat has no class subfolders"):
        ImageFolder(tmp_path / "flat")
    save_image(tmp_path / "e" / "a" / "0.png", RED)
    (tmp_path / "e" / "b").mkdir()
    (tmp_path / "e" / "b" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"ImageFolder: class folder .*e/b has no images"):
        ImageFolder(tmp_path / "e")
    save_image(tmp_path / "u" / "a" / "0.png", RED)
    (tmp_path / "u" / "a" / "bad.jpg").write_text("not a jpeg")
    with pytest.raises(ValueError, match=r"ImageFolder: cannot read image .*u/a/bad\.jpg"):
        ImageFolder(tmp_path / "u")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"ImageFolder needs Pillow: pip install 'nerve\[image\]'"):
        ImageFolder(tmp_path / "e")
