"""Apply: `apply matomo --db` against a real MariaDB, and `apply matomo --config` on a big file.

Database (tests/support/mariadb.py starts a throwaway server):
- SQL round trips of one `oidcsetup apply matomo --db` run, counted twice: on the client (every
  command PyMySQL sends after the handshake) and on the server (the global ``Questions``
  status delta; this benchmark is the server's only client). A plan-only run (--dry-run) and a
  write run, with 5 and with 17 settings to change: the count must not grow with the number of
  settings. An in-sync run (nothing to write) too.
- Wall time of those runs (a fresh `oidcsetup` process each) against a bare Python process that
  connects with PyMySQL and does the minimum for the same job (one SELECT to plan; SELECT ...
  FOR UPDATE, DELETE, INSERT, COMMIT to write).

Config file: `apply matomo --config` on a 5,000-line config.ini.php (write run and --dry-run)
against a bare Python process that reads the file and replaces it atomically (temp file,
fsync, rename), the least any safe editor does.

Run: python -m benchmarks.apply [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.timing import Row, clean_env, interleaved, oidcsetup_argv, row, run_once

SECRET = "apply-benchmark-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PROVIDER_ARGS = [
    "--issuer",
    "https://auth.example.com",
    "--preset",
    "authelia",
    "--matomo-url",
    "https://matomo.example.com",
]
CONFIG_LINES = 5000


# --- database --------------------------------------------------------------------------------


def _count_commands() -> tuple[list[int], Callable[[], None]]:
    """Count every command PyMySQL sends (one round trip each); returns (counter, undo)."""
    import pymysql.connections

    counter = [0]
    connection_class: Any = pymysql.connections.Connection
    original = connection_class._execute_command

    def counting(self: Any, command: int, sql: Any) -> Any:
        counter[0] += 1
        return original(self, command, sql)

    connection_class._execute_command = counting

    def undo() -> None:
        connection_class._execute_command = original

    return counter, undo


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(clean_env(values))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_in_process(args: list[str], env: dict[str, str]) -> int:
    from oidcsetup.cli.main import cli

    sink = io.StringIO()
    with _environ(env), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            cli.main(args, prog_name="oidcsetup", standalone_mode=False)
        except SystemExit as exc:  # pragma: no cover - standalone_mode=False returns instead
            return int(exc.code or 0)
        except Exception as exc:
            code = getattr(exc, "exit_code", None)
            if code is None:
                raise RuntimeError(f"oidcsetup {' '.join(args)} failed: {sink.getvalue()}") from exc
            return int(code)
    return 0


def _questions(server: Any) -> int:
    rows = server.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
    return int(rows[0][1])


def measure_database(runs: int) -> list[Row]:
    from oidcsetup.apps.matomo.settings import SETTING_NAMES
    from tests.support.mariadb import (
        APP_PASSWORD,
        APP_USER,
        mariadb_missing_reason,
        running_mariadb,
    )

    reason = mariadb_missing_reason()
    if reason:
        return [row("apply --db", f"skipped: {reason}")]
    rows: list[Row] = []
    with running_mariadb() as server, tempfile.TemporaryDirectory() as tmp:
        database = "bench_matomo"
        server.create_matomo(database)
        table = f"`{database}`.`matomo_plugin_setting`"
        dsn = f"mysql://{APP_USER}@127.0.0.1:{server.port}/{database}"
        env = {
            "OIDCSETUP_DB_PASSWORD": APP_PASSWORD,
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_BACKUP_DIR": str(Path(tmp) / "backups"),
            "XDG_STATE_HOME": tmp,
        }
        base = ["apply", "matomo", "--db", "--dsn", dsn, *PROVIDER_ARGS]

        def reset(pending: int) -> None:
            """Leave ``pending`` of the 17 settings different from what apply writes."""
            if pending == 0 or pending == len(SETTING_NAMES):
                server.execute(f"DELETE FROM {table} WHERE plugin_name = 'LoginOIDC'")
            if pending == len(SETTING_NAMES):
                return
            assert _run_in_process(base, env) == 0  # all 17 in place
            if pending:
                names = SETTING_NAMES[:pending]
                marks = ", ".join(["%s"] * len(names))
                server.execute(
                    f"UPDATE {table} SET setting_value = CONCAT(setting_value, 'x') "
                    f"WHERE plugin_name = 'LoginOIDC' AND setting_name IN ({marks})",
                    names,
                )

        # Round trips, in process (client count) and on the server (Questions delta).
        calibrate = _questions(server)
        overhead = _questions(server) - calibrate  # the SHOW STATUS itself
        counter, undo = _count_commands()
        try:
            for label, extra, pending in (
                ("plan only (--dry-run), 5 settings to change", ["--dry-run"], 5),
                ("plan only (--dry-run), 17 settings to change", ["--dry-run"], 17),
                ("write, 5 settings to change", [], 5),
                ("write, 17 settings to change", [], 17),
                ("write, in sync (0 to change)", [], 0),
            ):
                reset(pending)
                before = _questions(server)
                counter[0] = 0
                code = _run_in_process([*base, *extra], env)
                client_count = counter[0]
                server_count = _questions(server) - before - overhead
                assert code == 0, f"apply exited {code}"
                rows.append(
                    row(
                        f"apply --db round trips: {label} (client / server)",
                        f"{client_count} / {server_count}",
                    )
                )
        finally:
            undo()

        # Wall time, each run a fresh process; setup between runs is not timed.
        py = sys.executable
        floor_plan = (
            "import os, pymysql\n"
            f"c = pymysql.connect(host='127.0.0.1', port={server.port}, user={APP_USER!r}, "
            f"password=os.environ['OIDCSETUP_DB_PASSWORD'], database={database!r}, autocommit=True)\n"
            "k = c.cursor()\n"
            f'k.execute("SELECT setting_name, setting_value FROM {table} '
            "WHERE plugin_name = 'LoginOIDC' AND user_login = ''\")\n"
            "k.fetchall(); c.close()\n"
        )
        names = ", ".join(repr(n) for n in SETTING_NAMES)
        floor_write = (
            "import os, pymysql\n"
            f"c = pymysql.connect(host='127.0.0.1', port={server.port}, user={APP_USER!r}, "
            f"password=os.environ['OIDCSETUP_DB_PASSWORD'], database={database!r})\n"
            "k = c.cursor()\n"
            f"names = [{names}]\n"
            f'k.execute("SELECT setting_name, setting_value FROM {table} '
            "WHERE plugin_name = 'LoginOIDC' AND user_login = '' FOR UPDATE\")\n"
            "k.fetchall()\n"
            f"k.execute(\"DELETE FROM {table} WHERE plugin_name = 'LoginOIDC' AND user_login = ''\")\n"
            f'k.execute("INSERT INTO {table} (plugin_name, user_login, setting_name, setting_value) '
            "VALUES \" + ', '.join(['(%s, %s, %s, %s)'] * len(names)), "
            "[v for n in names for v in ('LoginOIDC', '', n, 'v')])\n"
            "c.commit(); c.close()\n"
        )
        process_env = clean_env(env)

        def job(argv: list[str], pending: int) -> Callable[[], float]:
            def run() -> float:
                reset(pending)
                return run_once(argv, env=process_env, cwd=Path(tmp))

            return run

        medians = interleaved(
            {
                "floor plan": job([py, "-c", floor_plan], 17),
                "plan": job(oidcsetup_argv(*base, "--dry-run"), 17),
                "floor write": job([py, "-c", floor_write], 17),
                "write": job(oidcsetup_argv(*base), 17),
                "in sync": job(oidcsetup_argv(*base), 0),
            },
            runs,
        )
        rows += [
            row("apply --db floor: bare PyMySQL SELECT (new process)", medians["floor plan"], "s"),
            row(
                "apply --db --dry-run, 17 to change",
                medians["plan"],
                "s",
                floor=medians["floor plan"],
            ),
            row(
                "apply --db floor: bare PyMySQL SELECT, DELETE, INSERT, COMMIT",
                medians["floor write"],
                "s",
            ),
            row(
                "apply --db write, 17 to change",
                medians["write"],
                "s",
                floor=medians["floor write"],
            ),
            row(
                "apply --db write, in sync (nothing written)",
                medians["in sync"],
                "s",
                floor=medians["floor plan"],
            ),
        ]
    return rows


# --- config file -----------------------------------------------------------------------------


def big_config(lines: int = CONFIG_LINES) -> str:
    """A config.ini.php of ``lines`` lines: Matomo's sections, comments, arrays, quoting."""
    head = [
        "; <?php exit; ?> DO NOT REMOVE THIS LINE",
        "; file automatically generated or modified by Matomo",
        "[database]",
        'host = "127.0.0.1"',
        'username = "matomo"',
        'password = "p&amp;ss&#36;word"',
        'dbname = "matomo"',
        'tables_prefix = "matomo_"',
        "",
        "[Plugins]",
        'Plugins[] = "CoreHome"',
        'Plugins[] = "Login"',
        'Plugins[] = "LoginOIDC"',
        "",
        "[PluginsInstalled]",
        'PluginsInstalled[] = "Login"',
        'PluginsInstalled[] = "LoginOIDC"',
        "",
        "[General]",
    ]
    body: list[str] = []
    section = 0
    while len(head) + len(body) < lines:
        n = len(body)
        if n % 500 == 499:
            section += 1
            body += ["", f"[CustomSection{section}]"]
        elif n % 7 == 0:
            body.append(f"; comment {n}: keep me exactly as I am")
        elif n % 11 == 0:
            body.append(f'trusted_hosts[] = "host{n}.example.com"')
        else:
            body.append(f"setting_{n} = \"value {n} with 'quotes' & more\"")
    return "\n".join([*head, *body][:lines]) + "\n"


_FLOOR_CONFIG = """
import os, sys, tempfile
path = sys.argv[1]
data = open(path, "rb").read()
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
with os.fdopen(fd, "wb") as f:
    f.write(data + b"\\n[LoginOIDC]\\nclientId = \\"matomo\\"\\n")
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, path)
"""


def measure_config(runs: int) -> list[Row]:
    py = sys.executable
    original = big_config()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.ini.php"
        env = clean_env({"OIDCSETUP_CLIENT_SECRET": SECRET})
        args = ["apply", "matomo", "--config", str(path), *PROVIDER_ARGS]

        def job(argv: list[str]) -> Callable[[], float]:
            def run() -> float:
                path.write_text(original)
                for stale in Path(tmp).glob("config.ini.php.bak-*"):
                    stale.unlink()
                return run_once(argv, env=env, cwd=Path(tmp))

            return run

        medians = interleaved(
            {
                "floor": job([py, "-c", _FLOOR_CONFIG, str(path)]),
                "write": job(oidcsetup_argv(*args)),
                "dry": job(oidcsetup_argv(*args, "--dry-run")),
            },
            runs,
        )
        lines = original.count("\n")
    return [
        row(f"apply --config floor: read + atomic replace, {lines} lines", medians["floor"], "s"),
        row(
            f"apply --config write, {lines}-line config.ini.php",
            medians["write"],
            "s",
            floor=medians["floor"],
        ),
        row(
            f"apply --config --dry-run, {lines}-line config.ini.php",
            medians["dry"],
            "s",
            floor=medians["floor"],
        ),
    ]


def measure(runs: int) -> list[Row]:
    return measure_config(runs) + measure_database(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", choices=("config", "db"))
    args = parser.parse_args()
    from benchmarks.report import print_rows

    if args.only == "config":
        rows = measure_config(args.runs)
    elif args.only == "db":
        rows = measure_database(args.runs)
    else:
        rows = measure(args.runs)
    print_rows(rows, markdown=args.markdown)


if __name__ == "__main__":
    main()
