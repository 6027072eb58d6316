"""nerve keeps large temporaries' pages mapped between steps (see nerve/_allocator.py)."""

import os
import subprocess
import sys

import pytest

# One "step" holds 30 arrays of 1 MB at once and then frees them all, as a forward/backward pass does; the
# probe reports the page faults of a second step. Untuned, glibc's dynamic thresholds only reach the size of one
# freed block (1 MB mmap, 2 MB trim), so the 30 MB freed at the heap top are returned and faulted in again.
PROBE = """
import resource, sys
import numpy as np
{setup}
def churn():
    arrays = [np.ones(2**18, dtype=np.float32) for _ in range({megabytes})]
    del arrays
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt tuning is Linux-only")


def glibc_default_env() -> dict[str, str]:
    """This environment without any malloc or nerve tuning variables the caller may have set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "NERVE_TUNE"))}


def page_faults(setup: str, env: dict[str, str] | None = None, megabytes: int = 30) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup, megabytes=megabytes)],
                         capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip())


@linux_only
def test_importing_nerve_keeps_freed_large_arrays_mapped() -> None:
    env = glibc_default_env()
    tuned = page_faults("import nerve; assert nerve._allocator.tune()", env)
    untuned = page_faults("", env)
    # 30 MB of new pages is 7,680 faults of 4 KB; tuned, the heap keeps and reuses them.
    assert tuned < 100, tuned
    assert untuned > 10 * max(tuned, 10), (untuned, tuned)


@linux_only
def test_a_step_larger_than_any_trim_threshold_keeps_its_pages() -> None:
    # A ResNet-8 step (batch 64) frees ~100 MB at the heap top. With a 64 MB trim threshold glibc returned it
    # every step and the next step faulted it back in: 21,000 faults and 80 -> 120 ms per step, measured.
    tuned = page_faults("import nerve; assert nerve._allocator.tune()", glibc_default_env(), megabytes=160)
    assert tuned < 100, tuned  # 160 MB of new pages would be 40,960 faults


@linux_only
def test_tuning_can_be_switched_off() -> None:
    env = glibc_default_env() | {"NERVE_TUNE_MALLOC": "0"}
    assert page_faults("import nerve; assert not nerve._allocator.tune()", env) > 1000  # ~7,680
