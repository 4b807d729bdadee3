"""Fair timing for the benchmark scripts: whole processes, alternating rounds, medians.

Every method runs as its own process (``run``): its wall-clock time from the parent and its peak
resident memory (``os.wait4`` rusage of that child alone; on Linux a child's peak starts from its
parent's RSS at fork, so keep the parent small: build large inputs in a child process).
``alternate`` runs warm-up rounds (not counted: page cache, imports compiled to bytecode, numba
caches) then counted rounds, reversing the order of the methods every round so that neither
always runs first after the other. All methods
get the same thread limits (``thread_env``). Report medians over the counted rounds and the machine
load (``load``) next to them: the machine may be shared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass
class Run:
    seconds: float  # wall clock of the whole process, seen from the parent
    peak_mib: float  # the child's own peak RSS
    stdout: str


def thread_env(threads: int) -> dict[str, str]:
    """The environment with every BLAS / OpenMP / numba thread pool capped at ``threads``."""
    return {**os.environ, **{name: str(threads) for name in THREAD_VARIABLES}}


def run(cmd: Sequence[str], env: Mapping[str, str]) -> Run:
    """Run ``cmd`` to completion (output to temporary files); raise with its stderr when it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=dict(env), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} … failed ({proc.returncode}):\n{err.read()[-3000:]}")
        return Run(seconds, usage.ru_maxrss / 1024, out.read())


def alternate(
    methods: Mapping[str, Callable[[], Run]], rounds: int, warmup: int, log: Callable[[str], None] = print
) -> dict[str, list[Run]]:
    """``warmup`` uncounted then ``rounds`` counted rounds of every method, order reversed each round."""
    names = list(methods)
    counted: dict[str, list[Run]] = {name: [] for name in names}
    for round_ in range(warmup + rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        label = "warm-up" if round_ < warmup else f"round {round_ - warmup + 1}/{rounds}"
        for name in order:
            result = methods[name]()
            log(f"  {label:12s} {name:22s} {result.seconds:8.2f} s  peak {result.peak_mib:8.0f} MiB  (load {load()})")
            if round_ >= warmup:
                counted[name].append(result)
    return counted


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def load() -> str:
    """1-minute load average / cores."""
    return f"{os.getloadavg()[0]:.2f}/{os.cpu_count()}"
