"""Run every benchmark and print one table of figures and ratios (docs/benchmarks.md).

    python -m benchmarks.run [--runs N] [--markdown] [--only startup,digest,discovery,apply,check]

Each comparison (oidcsetup against the floor for the same work) is measured in this same run,
interleaved, as a median. The machine is printed first: figures mean little without it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from collections.abc import Callable

from benchmarks.timing import Row

SUITES = ("startup", "digest", "discovery", "apply", "check")


def machine() -> str:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        model = platform.processor()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model or 'unknown CPU'}; "
        f"Python {platform.python_version()}; {platform.system()} {platform.release()}; "
        f"load average {load}"
    )


def suite(name: str) -> Callable[[int], list[Row]]:
    if name == "startup":
        from benchmarks import startup

        return startup.measure
    if name == "digest":
        from benchmarks import digest

        return digest.measure
    if name == "discovery":
        from benchmarks import discovery

        return discovery.measure
    if name == "check":
        from benchmarks import check_latency

        return check_latency.measure
    from benchmarks import apply

    return apply.measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per comparison (default per suite)"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    args = parser.parse_args()
    from benchmarks.report import print_rows

    defaults = {"startup": 20, "digest": 9, "discovery": 15, "apply": 7}
    rows: list[Row] = []
    for name in args.only.split(","):
        name = name.strip()
        if name not in SUITES:
            parser.error(f"unknown suite {name!r}; choose from {', '.join(SUITES)}")
        print(f"running {name}...", file=sys.stderr, flush=True)
        rows += suite(name)(args.runs or defaults[name])
    header = "Machine: " + machine()
    print(header if not args.markdown else f"{header}\n")
    print_rows(rows, markdown=args.markdown)


if __name__ == "__main__":
    main()
