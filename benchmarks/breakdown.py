"""Where a workload's step time goes, op by op, in nerve and in PyTorch (one process, same weights and batch).

    python -m benchmarks.breakdown --workload W3 --steps 20

nerve: every autograd primitive's ``forward`` and ``backward`` are wrapped with a clock for the profiled steps
(the wrappers are removed afterwards); what no primitive accounts for is the autograd engine, the optimizer and
Python glue. torch: ``torch.profiler`` self CPU time per ATen op (wall time on the calling thread, which
includes waiting for its intra-op threads). Both profiled step times are printed next to an unprofiled one so
the instrumentation's own cost shows. Like ``benchmarks.run`` this never asserts a time; compare shares and
ratios, not absolute milliseconds across runs (see benchmarks/README.md on the machine's slow periods).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.run import MIN_STEPS, NOISE_NOTE, _reexec_without_openblas_vars
from benchmarks.workloads import WORKLOADS

Row = tuple[str, float, int]  # name, ms per step, calls per step


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.breakdown", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", default="W3", help=f"workload id (registered: {', '.join(WORKLOADS)}); default W3")
    p.add_argument("--steps", type=int, default=20, help=f"profiled steps per framework, at least {MIN_STEPS}")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per framework first (default 5)")
    p.add_argument("--top", type=int, default=15, help="rows shown per framework (default 15)")
    args = p.parse_args(argv)
    if args.workload not in WORKLOADS:
        p.error(f"unknown workload {args.workload!r}; registered: {', '.join(WORKLOADS)}")
    if args.steps < MIN_STEPS:
        p.error(f"--steps must be at least {MIN_STEPS}, got {args.steps}")
    return args


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _timed_steps(step: Callable[[], Any], steps: int) -> float:
    """Mean ms per step over ``steps`` steps."""
    from benchmarks import harness

    gc.collect()
    harness.settle()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps * 1e3


def nerve_breakdown(step: Callable[[], Any], steps: int) -> tuple[float, list[Row]]:
    """(profiled ms per step, rows): every primitive's forward and backward, per step."""
    from nerve.autograd.function import Function

    totals: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    originals: list[tuple[type, str, Any]] = []

    def clocked(cls: type, method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{cls.__name__}.{method}"

        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(self, *args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - t0
                calls[name] += 1

        return run

    for cls in set(_subclasses(Function)):
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                originals.append((cls, method, cls.__dict__[method]))
                setattr(cls, method, clocked(cls, method, cls.__dict__[method]))
    try:
        step_ms = _timed_steps(step, steps)
    finally:
        for cls, method, fn in originals:
            setattr(cls, method, fn)
    rows = [(name, t / steps * 1e3, calls[name] // steps) for name, t in totals.items()]
    return step_ms, rows


def torch_breakdown(step: Callable[[], Any], steps: int) -> tuple[float, list[Row]]:
    """(profiled ms per step, rows): self CPU time of each ATen op, per step."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step_ms = _timed_steps(step, steps)
    rows = [(e.key, e.self_cpu_time_total / steps / 1e3, e.count // steps) for e in prof.key_averages()]
    return step_ms, rows


def print_rows(title: str, plain_ms: float, profiled_ms: float, rows: list[Row], top: int) -> None:
    rows = sorted(rows, key=lambda r: -r[1])
    covered = sum(ms for _, ms, _ in rows)
    print(f"\n{title}: {plain_ms:.2f} ms/step unprofiled, {profiled_ms:.2f} ms/step profiled")
    print(f"  {'op':<44}{'ms/step':>9}{'share':>8}{'calls':>7}")
    for name, ms, n in rows[:top]:
        print(f"  {name:<44}{ms:9.3f}{ms / profiled_ms:8.1%}{n:7d}")
    rest = sum(ms for _, ms, _ in rows[top:])
    if rest:
        print(f"  {f'{len(rows) - top} other ops':<44}{rest:9.3f}{rest / profiled_ms:8.1%}")
    outside = profiled_ms - covered
    print(f"  {'outside the ops (engine, optimizer, Python)':<44}{outside:9.3f}{outside / profiled_ms:8.1%}")


def main(argv: list[str] | None = None) -> None:
    _reexec_without_openblas_vars("benchmarks.breakdown")
    args = parse_args(argv)
    from benchmarks import harness  # NumPy (and OpenBLAS) load here, after the environment is clean

    harness.limit_threads()
    frameworks = {name: harness.load_framework(name) for name in harness.FRAMEWORKS}
    w = WORKLOADS[args.workload]
    x, y = harness.make_batch(w)
    torch_model = harness.build_model(frameworks["torch"], w)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    models = {"torch": torch_model, "nerve": harness.build_model(frameworks["nerve"], w, state)}
    steps = {name: harness.make_step(fw, w, models[name], x, y) for name, fw in frameworks.items()}
    for name in harness.FRAMEWORKS:
        for _ in range(args.warmup):
            steps[name]()

    plain = {name: _timed_steps(steps[name], args.steps) for name in harness.FRAMEWORKS}
    profiled = {"nerve": nerve_breakdown(steps["nerve"], args.steps),
                "torch": torch_breakdown(steps["torch"], args.steps)}
    print(f"{w.id}: {w.description}; {args.steps} steps per framework")
    print(NOISE_NOTE)
    for name in harness.FRAMEWORKS:
        step_ms, rows = profiled[name]
        print_rows(name, plain[name], step_ms, rows, args.top)
    print(f"\nunprofiled ratio nerve / torch: {plain['nerve'] / plain['torch']:.2f}")


if __name__ == "__main__":
    main()
