"""Start-up: `oidcsetup --version` and `--help` against the floor `python -c "import click"`.

Also lists the heavy modules `python -X importtime` shows for `--help` (there must be none), and
which library modules the command modules import at module level: paid when that command runs,
not by `--help`, which lists the commands from static one-line help and imports none of them.
Run: python -m benchmarks.startup [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.timing import Row, clean_env, interleaved, oidcsetup_argv, process, row

HEAVY = ("httpx", "rich", "ruamel", "pymysql", "argon2", "jwt", "tomlkit", "cryptography")
TARGET = 1.3


def heavy_imports(argv: list[str]) -> list[str]:
    """Top-level packages among HEAVY that ``python -X importtime ARGV`` imports."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    found = set()
    for line in out.stderr.splitlines():
        name = line.rsplit("|", 1)[-1].strip()
        top = name.split(".")[0]
        if top in HEAVY:
            found.add(top)
    return sorted(found)


_PROBE = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
new = sorted(m for m in set(sys.modules) - before
             if m.startswith("oidcsetup.") and not m.startswith("oidcsetup.cli."))
print(json.dumps(new))
"""


def module_level_imports() -> dict[str, list[str]]:
    """For each command module `--help` loads: the non-CLI oidcsetup modules it imports.

    Measured after ``oidcsetup.cli.main`` is imported (what the root needs anyway), in a fresh
    interpreter per module.
    """
    from oidcsetup.cli.main import COMMANDS

    result: dict[str, list[str]] = {}
    for target in COMMANDS.values():
        module = target.split(":")[0]
        code = "import oidcsetup.cli.main\n" + _PROBE
        out = subprocess.run(
            [sys.executable, "-c", code, module],
            capture_output=True,
            text=True,
            check=True,
            env=clean_env(),
        )
        result[module] = json.loads(out.stdout)
    return result


def measure(runs: int) -> list[Row]:
    py = sys.executable
    medians = interleaved(
        {
            "floor": process([py, "-c", "import click"]),
            "--version": process(oidcsetup_argv("--version")),
            "--help": process(oidcsetup_argv("--help")),
        },
        runs,
    )
    floor = medians["floor"]
    rows: list[Row] = [row("start-up floor: python -c 'import click'", floor, "s")]
    for name in ("--version", "--help"):
        rows.append(row(f"oidcsetup {name}", medians[name], "s", floor=floor, target=TARGET))
    for name in ("--help", "--version"):
        heavy = heavy_imports(["-m", "oidcsetup", name])
        rows.append(row(f"heavy modules imported by {name}", ", ".join(heavy) or "none"))
    extra = sorted({m for mods in module_level_imports().values() for m in mods})
    rows.append(
        row(
            "library modules the command modules import (not loaded by --help)",
            ", ".join(m.removeprefix("oidcsetup.") for m in extra) or "none",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument(
        "--imports", action="store_true", help="list module-level imports per command module"
    )
    args = parser.parse_args()
    from benchmarks.report import print_rows

    if args.imports:
        for module, imported in module_level_imports().items():
            print(f"{module}: {', '.join(imported) or '-'}")
        return
    print_rows(measure(args.runs), markdown=args.markdown)


if __name__ == "__main__":
    main()
