"""Measurement: side-by-side step timing, per-process peak memory, matmul peak and the environment.

Imported by ``benchmarks.run`` only after the OpenBLAS variables have been removed from the environment, since
OpenBLAS reads them once, when NumPy loads it.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from benchmarks.workloads import Workload

THREADS = 2  # WORKLOADS.md: torch.set_num_threads(2); NumPy's BLAS gets the same budget
SEED = 0
FRAMEWORKS = ("nerve", "torch")
#: Seconds to wait before each timed block. After its last call a framework's idle worker threads keep spinning
#: (NumPy's OpenBLAS worker for ~0.1 s, torch's OpenMP threads for ~8 ms: process CPU time over a sleep after
#: a call) on the core the other framework's next block needs. Without the pause, ``benchmarks.layers`` on a
#: 2-core machine timed torch's W3 convolutions at 70 ms instead of the 44 ms they take in torch's own step.
SETTLE_S = 0.25

# Kept alive for the life of the process: dropping the controller would not undo the limit, but holding it
# makes the intent visible and lets a caller restore the original limits if it ever needs to.
_blas_limit: Any = None


@dataclass(frozen=True)
class Framework:
    """What the harness needs from a framework; nerve and torch fill it from the same attribute names."""

    name: str
    module: ModuleType
    nn: ModuleType
    functional: ModuleType
    optim: ModuleType
    from_numpy: Callable[[np.ndarray], Any]
    no_grad: Callable[[], Any]
    to_numpy: Callable[[Any], np.ndarray]


def limit_threads() -> None:
    """Pin NumPy's BLAS to ``THREADS`` threads (a no-op on a 2-core machine; fair to torch on a larger one)."""
    global _blas_limit
    _blas_limit = threadpool_limits(limits=THREADS, user_api="blas")


def load_framework(name: str) -> Framework:
    """Import one framework (torch is pinned to ``THREADS`` intra-op threads as it is imported)."""
    if name == "torch":
        import torch

        torch.set_num_threads(THREADS)
        return Framework(name, torch, torch.nn, torch.nn.functional, torch.optim, torch.from_numpy,
                         torch.no_grad, lambda t: t.detach().numpy())
    if name == "nerve":
        import nerve
        import nerve.nn.functional

        return Framework(name, nerve, nerve.nn, nerve.nn.functional, nerve.optim, nerve.from_numpy,
                         nerve.no_grad, lambda t: t.detach().numpy())
    raise ValueError(f"unknown framework {name!r}; expected one of {FRAMEWORKS}")


def make_batch(w: Workload) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed synthetic batch, made once from a seeded generator (identical for both frameworks)."""
    rng = np.random.default_rng(SEED)
    x = w.x(rng)
    return x, (w.y(rng) if w.y is not None else None)


def build_model(fw: Framework, w: Workload, state: dict[str, np.ndarray] | None = None) -> Any:
    """The workload's model in ``fw``; ``state`` (NumPy arrays, e.g. torch's initial weights) is loaded if given."""
    if fw.name == "torch":
        fw.module.manual_seed(SEED)
    model = w.build(fw.nn)
    if state is not None:
        model.load_state_dict({k: fw.from_numpy(v.copy()) for k, v in state.items()})
    if not w.train:
        model.eval()
    return model


def make_step(fw: Framework, w: Workload, model: Any, x: np.ndarray, y: np.ndarray | None) -> Callable[[], Any]:
    """A closure running one timed step: zero_grad, forward, loss, backward, step (or a no_grad forward)."""
    xt = fw.from_numpy(x)
    if not w.train:
        no_grad = fw.no_grad

        def infer() -> Any:
            with no_grad():
                return model(xt)

        return infer

    if w.loss is None or w.optimizer is None or y is None:
        raise ValueError(f"{w.id}: a training workload needs a loss, an optimizer and targets")
    yt = fw.from_numpy(y)
    loss_fn = getattr(fw.functional, w.loss)
    opt = getattr(fw.optim, w.optimizer)(model.parameters(), **w.optimizer_kwargs)

    def train_step() -> Any:
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return train_step


@dataclass
class Timing:
    workload: str
    samples_ms: dict[str, list[float]]  # framework -> per-step times, all repeats concatenated
    first_output_max_abs_diff: float  # nerve vs torch on the first step, same weights: same math?

    def median(self, fw: str) -> float:
        return statistics.median(self.samples_ms[fw])

    def min(self, fw: str) -> float:
        return min(self.samples_ms[fw])


def time_side_by_side(w: Workload, frameworks: dict[str, Framework], steps: int, warmup: int,
                      repeat: int) -> Timing:
    """Time nerve and torch in this process, alternating blocks of ``steps`` steps, ``repeat`` times.

    nerve starts from torch's initial weights. The block order flips every repeat so neither framework always
    runs first (after the other has warmed or cooled the caches). The garbage collector stays on, as in
    real training (a framework whose graph makes reference cycles pays for it here), and a full collection
    runs before each block so one framework's garbage is not collected on the other's clock. Each block then
    waits for the other framework's worker threads to stop spinning (:func:`settle`).
    """
    x, y = make_batch(w)
    torch_model = build_model(frameworks["torch"], w)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    models = {"torch": torch_model, "nerve": build_model(frameworks["nerve"], w, state)}
    step = {name: make_step(fw, w, models[name], x, y) for name, fw in frameworks.items()}

    first = {name: np.asarray(frameworks[name].to_numpy(step[name]()), dtype=np.float64) for name in FRAMEWORKS}
    diff = float(np.max(np.abs(first["nerve"] - first["torch"])))

    for name in FRAMEWORKS:
        for _ in range(max(warmup - 1, 0)):
            step[name]()

    clock = time.perf_counter
    samples: dict[str, list[float]] = {name: [] for name in FRAMEWORKS}
    for r in range(repeat):
        for name in FRAMEWORKS if r % 2 == 0 else FRAMEWORKS[::-1]:
            run, out = step[name], samples[name]
            gc.collect()
            settle()
            for _ in range(steps):
                t0 = clock()
                run()
                out.append((clock() - t0) * 1e3)
    return Timing(w.id, samples, diff)


def settle() -> None:
    """Let the other framework's (or the last block's) spinning worker threads go to sleep: see ``SETTLE_S``."""
    time.sleep(SETTLE_S)


def matmul_peak_gflops(n: int = 2048, tries: int = 5) -> float:
    """Best-of-``tries`` float32 NumPy matmul throughput at n×n (2·n³ FLOPs), on the BLAS threads set above."""
    rng = np.random.default_rng(SEED)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)  # warm-up: threads started, pages touched
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes


def _vm_hwm_mb() -> float | None:
    """This address space's own peak RSS (VmHWM), which, unlike ru_maxrss, starts afresh at exec."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


def memory_child(framework: str, w: Workload, steps: int) -> dict[str, float]:
    """Run in a fresh process: one framework only, ``steps`` steps; peak RSS and its increase over setup.

    The baseline is the current RSS after imports, batch, model and optimizer exist (torch's import alone is
    a few hundred MB, so the increase is the figure that shows what the steps themselves cost). ``vm_hwm_mb``
    is a cross-check: ru_maxrss also counts the RSS of the process this one was forked from, so the parent
    must spawn it while small (``benchmarks.run`` does, before importing NumPy or torch). nerve uses
    its own default initialisation here: memory does not depend on the weights' values, and importing torch
    to copy them would put torch's memory into nerve's figure.
    """
    fw = load_framework(framework)
    x, y = make_batch(w)
    model = build_model(fw, w)
    step = make_step(fw, w, model, x, y)
    base = _current_rss_mb()
    for _ in range(steps):
        step()
    peak = _peak_rss_mb()
    return {"peak_rss_mb": peak, "base_rss_mb": base, "increase_mb": peak - base, "vm_hwm_mb": _vm_hwm_mb()}


def environment(unset_openblas: dict[str, str]) -> dict[str, Any]:
    """Versions, CPU, thread pools (threadpoolctl sees torch's OpenMP only once torch is imported)."""
    import torch

    import nerve

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    pools = [
        {
            "user_api": p.get("user_api"),
            "internal_api": p.get("internal_api"),
            "library": os.path.basename(p.get("filepath", "")),
            "version": p.get("version"),
            "architecture": p.get("architecture"),
            "threading_layer": p.get("threading_layer"),
            "num_threads": p.get("num_threads"),
        }
        for p in threadpool_info()
    ]
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "nerve": nerve.__version__,
        "cpu": cpu,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "threadpools": pools,
        "openblas_env_unset": unset_openblas,  # variable -> the value the machine had set; {} if none was set
    }
