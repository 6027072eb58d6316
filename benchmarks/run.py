"""Side-by-side benchmark of nerve against PyTorch on the workloads of WORKLOADS.md.

    python -m benchmarks.run --workload W1 --repeat 5
    python -m benchmarks.run --workload all --steps 50 --warmup 10 --json out.json

Run from the repository root. See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from benchmarks.workloads import WORKLOADS

# OpenBLAS reads these once, when NumPy loads it, so they are removed before NumPy is imported: this module
# imports NumPy (through benchmarks.harness) only inside main(), after _reexec_without_openblas_vars().
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_UNSET_MARK = "NERVE_BENCH_UNSET_OPENBLAS"  # carries "NAME=value;..." of what was removed across the re-exec
MIN_STEPS = 20
ROOT = Path(__file__).resolve().parents[1]
NOISE_NOTE = ("Note: these machines are shared and noisy; absolute times drift between runs. The nerve/torch "
              "ratios, measured side by side in one process, are the figure of merit.")


def _reexec_without_openblas_vars(module: str = "benchmarks.run") -> None:
    """Restart this command with the OpenBLAS variables removed, if the machine sets them (benchmarks only).

    A fresh interpreter guarantees NumPy has not loaded OpenBLAS yet; the memory children inherit the cleaned
    environment. The removed values travel in ``_UNSET_MARK`` so the report can say what was changed.
    """
    found = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    if not found:
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    previous = os.environ.get(_UNSET_MARK)
    env[_UNSET_MARK] = ";".join(filter(None, [previous, *(f"{k}={v}" for k, v in found.items())]))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], env)


def _unset_openblas() -> dict[str, str]:
    mark = os.environ.get(_UNSET_MARK, "")
    return dict(item.split("=", 1) for item in mark.split(";") if "=" in item)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", default="all",
                   help=f"workload id or 'all' (registered: {', '.join(WORKLOADS)}); default all")
    p.add_argument("--repeat", type=int, default=5, help="alternating nerve/torch blocks per framework (default 5)")
    p.add_argument("--steps", type=int, default=50,
                   help=f"timed steps per block, at least {MIN_STEPS} (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per framework first (default 10)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write environment and results to this file")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--memory-child", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.workload != "all" and args.workload not in WORKLOADS:
        p.error(f"--workload: expected 'all' or one of {', '.join(WORKLOADS)}, got {args.workload!r}")
    if args.steps < MIN_STEPS:
        p.error(f"--steps: WORKLOADS.md asks for at least {MIN_STEPS} timed steps, got {args.steps}")
    if args.repeat < 1 or args.warmup < 1:
        p.error(f"--repeat and --warmup must be at least 1, got {args.repeat} and {args.warmup}")
    return args


def measure_memory(framework: str, workload: str, steps: int) -> dict[str, float] | None:
    """Peak RSS of ``framework`` alone on ``workload``, in a fresh ``--memory-child`` process."""
    cmd = [sys.executable, "-m", "benchmarks.run", "--memory-child", framework, workload, "--steps", str(steps)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"[memory] {framework} {workload} failed (exit {proc.returncode}):\n{proc.stderr}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_memory_row(wid: str, steps: int) -> dict[str, Any]:
    """Both frameworks' memory figures for one workload, as table-row entries."""
    row: dict[str, Any] = {}
    for fw in ("nerve", "torch"):
        mem = measure_memory(fw, wid, steps)
        for key, value in (mem or {}).items():
            row[f"{fw}_{key}"] = value
    row["memory_ratio"] = _ratio(row.get("nerve_peak_rss_mb"), row.get("torch_peak_rss_mb"))
    return row


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def print_environment(env: dict[str, Any], peak: float, args: argparse.Namespace) -> None:
    print(f"nerve {env['nerve']} vs torch {env['torch']} | numpy {env['numpy']} | Python {env['python']}")
    print(f"CPU: {env['cpu']} ({env['cpus_usable']} usable CPUs) | torch threads: {env['torch_threads']}")
    for pool in env["threadpools"]:
        print(f"  threadpool: {pool['user_api']}/{pool['internal_api']} {pool['version'] or ''} "
              f"arch={pool['architecture']} threads={pool['num_threads']} ({pool['library']})")
    unset = env["openblas_env_unset"]
    if unset:
        shown = ", ".join(f"{k}={v}" for k, v in unset.items())
        print(f"OpenBLAS env: the machine set {shown}; UNSET for this benchmark (re-exec before NumPy loaded)")
    else:
        print(f"OpenBLAS env: {' and '.join(OPENBLAS_VARS)} not set")
    print(f"matmul peak: {peak:.1f} GFLOP/s (NumPy float32 matmul, n=2048, best of 5 before and 5 after the "
          "workloads, BLAS threads as above)")
    print(f"timing: {args.warmup} warm-up steps, then {args.repeat} x {args.steps} timed steps per framework, "
          "alternating nerve/torch blocks in one process (order flips each repeat)")


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = [
        ("workload", "<8", lambda r: r["workload"]),
        ("nerve med ms", ">12", lambda r: _fmt(r.get("nerve_median_ms"), ".3f")),
        ("nerve min ms", ">12", lambda r: _fmt(r.get("nerve_min_ms"), ".3f")),
        ("torch med ms", ">12", lambda r: _fmt(r.get("torch_median_ms"), ".3f")),
        ("torch min ms", ">12", lambda r: _fmt(r.get("torch_min_ms"), ".3f")),
        ("ratio", ">6", lambda r: _fmt(r.get("time_ratio"), ".2f")),
        ("nerve MB", ">9", lambda r: _fmt(r.get("nerve_peak_rss_mb"), ".1f")),
        ("torch MB", ">9", lambda r: _fmt(r.get("torch_peak_rss_mb"), ".1f")),
        ("mem ratio", ">9", lambda r: _fmt(r.get("memory_ratio"), ".2f")),
        ("nerve +MB", ">9", lambda r: _fmt(r.get("nerve_increase_mb"), ".1f")),
        ("torch +MB", ">9", lambda r: _fmt(r.get("torch_increase_mb"), ".1f")),
        ("GFLOP/s", ">8", lambda r: _fmt(r.get("nerve_gflops"), ".3g")),
        ("% peak", ">7", lambda r: _fmt(None if r.get("nerve_peak_fraction") is None
                                        else 100 * r["nerve_peak_fraction"], ".3g")),
    ]
    lines = ["  ".join(format(name, spec) for name, spec, _ in cols)]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append("  ".join(format("ERROR" if i == 1 and "error" in r else get(r), spec)
                               for i, (_, spec, get) in enumerate(cols)))
    print("\n".join(lines))
    print("ratio = nerve median / torch median (< 1: nerve faster). MB = peak RSS (ru_maxrss) of each framework "
          "alone in its own process; mem ratio = nerve MB / torch MB; +MB = peak minus RSS after imports and "
          "model creation. GFLOP/s = nerve's analytic FLOPs per step / nerve median; % peak = of the matmul peak.")


#: A framework whose slowest block median exceeds its fastest by this factor ran through a slow period.
BLOCK_SPREAD_WARNING = 1.3


def block_medians(samples_ms: list[float], steps: int) -> list[float]:
    """Median step time of each timed block (``samples_ms`` holds the blocks one after another)."""
    return [statistics.median(samples_ms[i : i + steps]) for i in range(0, len(samples_ms), steps)]


def slow_period_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """One line per workload and framework whose block medians spread by more than ``BLOCK_SPREAD_WARNING``.

    The machines slow memory-heavy work for tens of seconds at a time (benchmarks/README.md); a run that
    overlaps such a period shows it as a few blocks far slower than the rest, and its median is not the
    machine's steady figure.
    """
    lines = []
    for r in rows:
        for fw in ("nerve", "torch"):
            blocks = r.get(f"{fw}_block_median_ms")
            if blocks and max(blocks) > BLOCK_SPREAD_WARNING * min(blocks):
                lines.append(f"WARNING: {r['workload']}: {fw}'s block medians range from {min(blocks):.3g} to "
                             f"{max(blocks):.3g} ms: a slow period overlapped this run; re-run it for the ratio.")
    return lines


def run_workload(wid: str, args: argparse.Namespace, frameworks: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Time ``wid`` side by side and add the figures to ``row`` (which may already hold its memory figures)."""
    from benchmarks import harness

    w = WORKLOADS[wid]
    row.update({"workload": wid, "description": w.description, "step_flops": w.step_flops})
    try:
        t = harness.time_side_by_side(w, frameworks, args.steps, args.warmup, args.repeat)
    except Exception:
        row["error"] = traceback.format_exc()
        print(f"[{wid}] timing failed:\n{row['error']}", file=sys.stderr)
        return row
    for fw in harness.FRAMEWORKS:
        row[f"{fw}_median_ms"] = t.median(fw)
        row[f"{fw}_min_ms"] = t.min(fw)
        row[f"{fw}_gflops"] = w.step_flops / (t.median(fw) * 1e-3) / 1e9
        row[f"{fw}_samples_ms"] = t.samples_ms[fw]
        row[f"{fw}_block_median_ms"] = block_medians(t.samples_ms[fw], args.steps)
    row["time_ratio"] = _ratio(row["nerve_median_ms"], row["torch_median_ms"])
    row["first_step_max_abs_diff"] = t.first_output_max_abs_diff
    return row


def main(argv: list[str] | None = None) -> None:
    _reexec_without_openblas_vars()
    args = parse_args(argv)
    if args.memory_child:
        framework, wid = args.memory_child
        if wid not in WORKLOADS:
            raise SystemExit(f"--memory-child: unknown workload {wid!r}")
        from benchmarks import harness

        harness.limit_threads()
        print(json.dumps(harness.memory_child(framework, WORKLOADS[wid], args.steps)))
        return

    ids = list(WORKLOADS) if args.workload == "all" else [args.workload]
    rows: dict[str, dict[str, Any]] = {wid: {} for wid in ids}
    if not args.no_memory:
        # NOTE: before this process imports NumPy or torch. Linux carries the RSS a child had when it was
        # forked (a copy of this process) into its ru_maxrss across exec, so a child spawned from a parent
        # holding torch would report at least the parent's few hundred MB whatever it did itself.
        print("measuring peak memory, one framework per process ...", flush=True)
        for wid in ids:
            rows[wid] = measure_memory_row(wid, args.warmup + args.steps)

    from benchmarks import harness  # NumPy (and OpenBLAS) load here, after the environment is clean

    harness.limit_threads()
    frameworks = {name: harness.load_framework(name) for name in harness.FRAMEWORKS}
    env = harness.environment(_unset_openblas())
    # NOTE: measured before and after the workloads, best taken: one burst of other engineers' jobs during a
    # single measurement would otherwise deflate the peak and inflate every workload's fraction of it.
    peak_before = harness.matmul_peak_gflops()
    print(f"matmul peak before the workloads: {peak_before:.1f} GFLOP/s ... timing", flush=True)
    rows = {wid: run_workload(wid, args, frameworks, rows[wid]) for wid in ids}
    peak_after = harness.matmul_peak_gflops()
    peak = max(peak_before, peak_after)
    for r in rows.values():
        if "nerve_gflops" in r:
            r["nerve_peak_fraction"] = r["nerve_gflops"] / peak

    print()
    print_environment(env, peak, args)
    print(NOISE_NOTE)
    print()
    print_table(list(rows.values()))
    for r in rows.values():
        if "first_step_max_abs_diff" in r:
            print(f"{r['workload']}: {r['description']}; {r['step_flops'] / 1e6:.3f} MFLOP/step; first step, "
                  f"same weights: max |nerve - torch| = {r['first_step_max_abs_diff']:.2e}")
        else:
            print(f"{r['workload']}: FAILED in timing (traceback above and in --json)")
    for line in slow_period_warnings(list(rows.values())):
        print(line)
    if any(r.get("nerve_peak_fraction", 0) > 1 for r in rows.values()):
        print("WARNING: a workload exceeds 100% of the matmul peak: the peak measurement was disturbed by other "
              "load; re-run for the fractions.")
    print(NOISE_NOTE)

    if args.json:
        out = {"environment": env, "matmul_peak_gflops": peak,
               "matmul_peak_gflops_before_after": [peak_before, peak_after],
               "settings": {"repeat": args.repeat, "steps": args.steps, "warmup": args.warmup,
                            "threads": harness.THREADS, "seed": harness.SEED},
               "results": list(rows.values())}
        args.json.write_text(json.dumps(out, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
