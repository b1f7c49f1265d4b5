"""Timing helpers shared by the benchmarks: interleaved runs, medians, one row format.

Each benchmark compares oidcsetup with the floor for the same work *in the same run*. The
commands of one comparison are run round-robin (A, B, A, B, ...) rather than all A then all B,
so a change in machine load during the run affects both sides alike and the ratio stays fair.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
Row = dict[str, object]


# Compiled bytecode as an installed package has it (pip compiles at install time). A caller's
# PYTHONDONTWRITEBYTECODE=1 would make every timed run compile oidcsetup from source while
# click, installed, loads its .pyc: unfair to oidcsetup. The cache goes to a folder of its own,
# never into the source tree; the warm-up run of each comparison fills it.
PYCACHE = Path(tempfile.gettempdir()) / "oidcsetup-benchmarks-pycache"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for timed subprocesses: no OIDCSETUP_* leaking in from the caller,
    bytecode cached (in ``PYCACHE``) as for an installed package."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_once(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> float:
    """Wall time of one process run, in seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        list(argv),
        env=dict(env) if env is not None else clean_env(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
        )
    return elapsed


def interleaved(
    jobs: Mapping[str, Callable[[], float]], runs: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of each job, the jobs run round-robin ``runs`` times after ``warmup``."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(warmup + runs):
        for name, job in jobs.items():
            seconds = job()
            if round_ >= warmup:
                samples[name].append(seconds)
    return {name: statistics.median(values) for name, values in samples.items()}


def timed(
    func: Callable[[], object], clock: Callable[[], float] = time.perf_counter
) -> Callable[[], float]:
    """A job that times one in-process call of ``func`` (``clock``: wall time by default;
    ``time.thread_time`` for single-threaded CPU work is less disturbed by a busy machine)."""

    def job() -> float:
        start = clock()
        func()
        return clock() - start

    return job


def process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Callable[[], float]:
    """A job that times one run of ``argv``."""
    return lambda: run_once(argv, env=env, cwd=cwd)


def oidcsetup_argv(*args: str) -> list[str]:
    """``oidcsetup ARGS`` as the installed console script runs it (same interpreter)."""
    script = Path(sys.executable).with_name("oidcsetup")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "oidcsetup", *args]


def row(
    benchmark: str,
    value: object,
    unit: str = "",
    *,
    floor: float | None = None,
    target: float | None = None,
) -> Row:
    """A table row; ``floor`` (same unit as ``value``) adds the ratio value/floor."""
    result: Row = {"benchmark": benchmark, "value": value, "unit": unit}
    if floor is not None and isinstance(value, float) and floor > 0:
        result["ratio"] = value / floor
    if target is not None:
        result["target"] = target
    return result
