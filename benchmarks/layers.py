"""A workload's convolution and linear layers, each timed alone (forward + backward) in nerve and in PyTorch.

    python -m benchmarks.layers --workload W3

``benchmarks.breakdown`` sums a primitive over every layer that calls it; this splits the other way, layer by
layer, so a ratio can be traced to the shapes behind it (on W3, say, which of its stride-1 convolutions is far
from PyTorch and which is ahead). Each distinct layer (type, hyper-parameters, input shape, whether the input
needs a gradient) is built once per framework with the same weights, fed the same input and output gradient,
and timed in alternating blocks in one process. ``count`` is how many of the workload's layers share that
configuration, and the totals weight each row by it. Like ``benchmarks.run`` this never asserts a time; compare
ratios, not absolute milliseconds across runs (see benchmarks/README.md on the machine's slow periods).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.run import NOISE_NOTE, _reexec_without_openblas_vars
from benchmarks.workloads import WORKLOADS


@dataclass(frozen=True)
class Layer:
    """One layer configuration as the workload's forward pass calls it."""

    kind: str  # "Conv2d" or "Linear"
    args: tuple[int, ...]  # Conv2d: (in, out, kh, kw, stride h, stride w, pad h, pad w, groups); Linear: (in, out)
    bias: bool
    input_shape: tuple[int, ...]
    input_grad: bool

    def describe(self) -> str:
        if self.kind == "Linear":
            return f"Linear {self.args[0]}->{self.args[1]} on {self.input_shape}"
        cin, cout, kh, kw, sh, sw, ph, pw, groups = self.args
        stride = f"s{sh}" if sh == sw else f"s{sh}x{sw}"
        padding = f"p{ph}" if ph == pw else f"p{ph}x{pw}"
        extra = f" g{groups}" if groups != 1 else ""
        return f"Conv {cin}->{cout} {kh}x{kw} {stride} {padding}{extra} @{'x'.join(map(str, self.input_shape[2:]))}"

    def flops(self, output_shape: tuple[int, ...]) -> int:
        """Multiply-adds x2 of forward plus backward (the input gradient only where the input needs it)."""
        if self.kind == "Linear":
            forward = 2 * self.args[1] * math.prod(self.input_shape)
        else:
            cin, _, kh, kw, *_, groups = self.args
            forward = 2 * cin // groups * kh * kw * math.prod(output_shape)
        return forward * (3 if self.input_grad else 2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.layers", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", default="W3", help=f"workload id (registered: {', '.join(WORKLOADS)}); default W3")
    p.add_argument("--repeat", type=int, default=8, help="alternating blocks per framework and layer (default 8)")
    p.add_argument("--calls", type=int, default=4, help="timed calls per block (default 4)")
    args = p.parse_args(argv)
    if args.workload not in WORKLOADS:
        p.error(f"unknown workload {args.workload!r}; registered: {', '.join(WORKLOADS)}")
    if not WORKLOADS[args.workload].train:
        p.error(f"{args.workload} is an inference workload; this tool times forward plus backward")
    if args.repeat < 2 or args.calls < 1:
        p.error("--repeat must be at least 2 and --calls at least 1")
    return args


def record_layers(fw: Any, model: Any, x: Any) -> list[Layer]:
    """The Conv2d and Linear layers ``model(x)`` calls, in call order, via forward hooks (removed after)."""
    calls: list[Layer] = []

    def hook(module: Any, inputs: tuple[Any, ...], output: Any) -> None:
        xin = inputs[0]
        if isinstance(module, fw.nn.Conv2d):
            if not isinstance(module.padding, tuple):
                raise ValueError(f"layers: padding {module.padding!r} is not supported here; give it as numbers")
            args = (module.in_channels, module.out_channels, *module.kernel_size, *module.stride, *module.padding,
                    module.groups)
            kind = "Conv2d"
        else:
            args, kind = (module.in_features, module.out_features), "Linear"
        calls.append(Layer(kind, args, module.bias is not None, tuple(xin.shape), bool(xin.requires_grad)))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, fw.nn.Conv2d | fw.nn.Linear)]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def build(fw: Any, layer: Layer) -> Any:
    if layer.kind == "Linear":
        return fw.nn.Linear(*layer.args, bias=layer.bias)
    cin, cout, kh, kw, sh, sw, ph, pw, groups = layer.args
    return fw.nn.Conv2d(cin, cout, (kh, kw), stride=(sh, sw), padding=(ph, pw), groups=groups, bias=layer.bias)


def make_call(fw: Any, module: Any, x: Any, grad: Any) -> Callable[[], None]:
    """Forward plus backward of ``module`` on ``x`` against output gradient ``grad``; gradients cleared after."""

    def call() -> None:
        module(x).backward(grad)
        module.zero_grad()
        x.grad = None

    return call


def time_layer(layer: Layer, frameworks: dict[str, Any], repeat: int, calls: int) -> dict[str, Any]:
    import numpy as np

    from benchmarks import harness

    rng = np.random.default_rng(0)
    x = rng.standard_normal(layer.input_shape).astype(np.float32)
    torch_fw = frameworks["torch"]
    torch_layer = build(torch_fw, layer)
    state = {k: v.detach().numpy().copy() for k, v in torch_layer.state_dict().items()}
    modules = {"torch": torch_layer, "nerve": build(frameworks["nerve"], layer)}
    modules["nerve"].load_state_dict({k: frameworks["nerve"].from_numpy(v.copy()) for k, v in state.items()})
    with torch_fw.no_grad():
        output_shape = tuple(torch_layer(torch_fw.from_numpy(x)).shape)
    grad = rng.standard_normal(output_shape).astype(np.float32)
    runs = {}
    for name, fw in frameworks.items():
        xt = fw.from_numpy(x.copy())
        xt.requires_grad_(layer.input_grad)
        runs[name] = make_call(fw, modules[name], xt, fw.from_numpy(grad.copy()))
        runs[name]()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in frameworks}
    for block in range(repeat):
        for name in (list(frameworks) if block % 2 == 0 else list(frameworks)[::-1]):
            harness.settle()  # the other framework's idle threads would otherwise share this block's cores
            for _ in range(calls):
                t0 = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    return {"nerve_ms": med["nerve"], "torch_ms": med["torch"], "ratio": med["nerve"] / med["torch"],
            "gflops": layer.flops(output_shape) / (med["nerve"] * 1e6)}


def main(argv: list[str] | None = None) -> None:
    _reexec_without_openblas_vars("benchmarks.layers")
    args = parse_args(argv)
    from benchmarks import harness  # NumPy (and OpenBLAS) load here, after the environment is clean

    harness.limit_threads()
    frameworks = {name: harness.load_framework(name) for name in harness.FRAMEWORKS}
    w = WORKLOADS[args.workload]
    x, _ = harness.make_batch(w)
    nerve_fw = frameworks["nerve"]
    layers = record_layers(nerve_fw, harness.build_model(nerve_fw, w), nerve_fw.from_numpy(x))
    counts: dict[Layer, int] = {}
    for layer in layers:
        counts[layer] = counts.get(layer, 0) + 1
    print(f"{w.id}: {w.description}; each layer alone, forward + backward, {args.repeat} x {args.calls} calls "
          "per framework, alternating")
    print(NOISE_NOTE)
    print(f"\n  {'layer':<40}{'count':>6}{'nerve ms':>10}{'torch ms':>10}{'ratio':>7}{'GFLOP/s':>9}")
    total = {"nerve": 0.0, "torch": 0.0}
    for layer, count in counts.items():
        r = time_layer(layer, frameworks, args.repeat, args.calls)
        total["nerve"] += count * r["nerve_ms"]
        total["torch"] += count * r["torch_ms"]
        grad_note = "" if layer.input_grad else " (no dx)"
        print(f"  {layer.describe() + grad_note:<40}{count:>6}{r['nerve_ms']:10.2f}{r['torch_ms']:10.2f}"
              f"{r['ratio']:7.2f}{r['gflops']:9.1f}")
    print(f"  {'all, weighted by count':<40}{len(layers):>6}{total['nerve']:10.2f}{total['torch']:10.2f}"
          f"{total['nerve'] / total['torch']:7.2f}")


if __name__ == "__main__":
    main()
