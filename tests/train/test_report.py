import base64
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from nerve.train.report import write_report


def tiny_png(path: Path, color: tuple[int, int, int]) -> bytes:
    Image.new("RGB", (4, 3), color).save(path, format="PNG")
    return path.read_bytes()


def make_run(root: Path, *, results: bool = True, plots: bool = True) -> Path:
    """A fake run folder as `nerve train` writes it, with a config value that is HTML."""
    run = root / "mnist-mlp-20240501-120301"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"recipe": "mnist-mlp", "lr": 0.0123,
                                                 "note": "<script>alert(1)</script>",
                                                 "optim": {"name": "adam", "betas": [0.9, 0.999]}}))
    metrics = [{"epoch": e, "time_s": 2.0 * e, "loss": 1.0 / e, "accuracy": 0.8 + 0.05 * e,
                "val_loss": v, "val_accuracy": 0.9 + 0.01 * e, "lr": 0.0123}
               for e, v in zip((1, 2, 3), (0.5, 0.3, 0.4))]
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    if results:
        (run / "results.json").write_text(json.dumps({
            "test": {"loss": 0.0712, "accuracy": 0.9818}, "epochs": 3, "train_seconds": 6.0,
            "seconds_per_epoch": 2.0, "final": metrics[-1], "best_epoch": 2,
            "stop_reason": "early stopping: val_loss <not> improving"}))
    if plots:
        tiny_png(run / "learning_curves.png", (255, 0, 0))
        tiny_png(run / "confusion_matrix.png", (0, 0, 255))
    (run / "model.safetensors").write_bytes(b"\0" * 2048)
    (run / "checkpoints" / "last.safetensors").write_bytes(b"\0" * 10)
    return run


def test_report_is_self_contained_and_complete(tmp_path):
    run = make_run(tmp_path)
    path = write_report(run)
    assert path == run / "report.html"
    page = path.read_text(encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    for png in ("learning_curves.png", "confusion_matrix.png"):
        uri = "data:image/png;base64," + base64.b64encode((run / png).read_bytes()).decode()
        assert uri in page
    assert page.index("Learning curves") < page.index("Confusion matrix")
    # nothing is fetched from elsewhere
    assert "http://" not in page and "https://" not in page
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))
    assert "<link" not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "early stopping: val_loss &lt;not&gt; improving" in page

    assert "mnist-mlp-20240501-120301" in page and "mnist-mlp" in page
    assert "0.0123" in page and "optim.name" in page and "adam" in page and "[0.9, 0.999]" in page
    assert "98.18%" in page and "0.0712" in page  # test metrics
    # one row per epoch, the best one highlighted
    assert len(re.findall(r"<tr(?: class=\"best\")?><td class=\"num\">[123]</td>", page)) == 3
    assert re.search(r'<tr class="best"><td class="num">2</td>', page)
    assert "model.safetensors" in page and "checkpoints/last.safetensors" in page and "2.0 KB" in page
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_report_of_a_run_in_progress(tmp_path):
    run = make_run(tmp_path, results=False, plots=False)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 4, "lo')  # a line torn by a crash
    page = write_report(run).read_text(encoding="utf-8")
    assert "no results yet" in page and "No plots in this run folder" in page
    assert "95.00%" in page  # the last complete epoch stands in for the final metrics
    assert page.count('<td class="num">4</td>') == 0


def test_report_of_a_bare_folder_and_explicit_status(tmp_path):
    run = tmp_path / "empty-run"
    run.mkdir()
    (run / "bogus.png").write_text("not a png")  # skipped rather than shown broken
    page = write_report(run, status="failed").read_text(encoding="utf-8")
    assert "failed" in page and "No <code>config.json</code>" in page and "No <code>metrics.jsonl</code>" in page
    assert "data:image/png" not in page
    # written again: replaced, and the report does not list itself
    page = write_report(run).read_text(encoding="utf-8")
    assert "report.html" not in page


def test_report_needs_a_directory(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        write_report(tmp_path / "missing")
