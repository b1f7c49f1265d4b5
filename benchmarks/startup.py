"""Start-up: `oidcsetup --version` and `--help` against the floor `python -c "import click"`.

Also lists the heavy modules `python -X importtime` shows for `--help` (there must be none).
Run: python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("httpx", "rich", "ruamel", "pymysql", "argon2", "jwt", "tomlkit", "cryptography")


def median_seconds(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def heavy_imports(argv: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=True
    )
    found = set()
    for line in out.stderr.splitlines():
        name = line.rsplit("|", 1)[-1].strip()
        top = name.split(".")[0]
        if top in HEAVY:
            found.add(top)
    return sorted(found)


def measure(runs: int) -> list[dict[str, object]]:
    py = sys.executable
    floor = median_seconds([py, "-c", "import click"], runs)
    rows: list[dict[str, object]] = [
        {"benchmark": "start-up floor: python -c 'import click'", "value": floor, "unit": "s"}
    ]
    for args in (["--version"], ["--help"]):
        seconds = median_seconds([py, "-m", "oidcsetup", *args], runs)
        rows.append(
            {
                "benchmark": f"oidcsetup {args[0]}",
                "value": seconds,
                "unit": "s",
                "ratio": seconds / floor,
                "target": 1.3,
            }
        )
    heavy = heavy_imports(["-m", "oidcsetup", "--help"])
    rows.append(
        {
            "benchmark": "heavy modules imported by --help",
            "value": ", ".join(heavy) or "none",
            "unit": "",
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from benchmarks.report import print_rows

    print_rows(measure(args.runs))


if __name__ == "__main__":
    main()
