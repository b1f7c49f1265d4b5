"""A throwaway MariaDB server for tests (facts: ../shared/reference/test-infra.md, "MariaDB").

``mariadb-install-db`` into a temp dir (about 0.6 s), ``mariadbd`` on a free loopback port and a
socket in that dir, poll until it answers, stop with SIGTERM by the PID we started, remove the
dir. ``--no-defaults`` first on every tool: Debian's /etc/mysql config points at /run/mysqld.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
ROOT_PASSWORD = "rootpw"
APP_USER = "matomo"
APP_PASSWORD = "s3cret & pass 'quoted'"


def mariadb_missing_reason() -> str | None:
    for tool in ("mariadbd", "mariadb-install-db"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (apt-get install mariadb-server)"
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "PyMySQL is not installed"
    return None


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MariaDB:
    """A running server: root over the socket, an app user over TCP."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> str:
        return str(self.directory / "mysqld.sock")

    def root(self, database: str | None = None, **kwargs: Any) -> Any:
        import pymysql

        return pymysql.connect(
            unix_socket=self.socket,
            user="root",
            password=ROOT_PASSWORD,
            database=database,
            autocommit=True,
            charset="utf8mb4",
            **kwargs,
        )

    def app_settings(self, database: str, prefix: str = "matomo_") -> Any:
        """``DbSettings`` for the app user over TCP to ``database``."""
        from oidcsetup.apps.matomo.database.dsn import DbSettings

        return DbSettings(
            database=database,
            user=APP_USER,
            password=APP_PASSWORD,
            host="127.0.0.1",
            port=self.port,
            prefix=prefix,
        )

    def execute(
        self, sql: str, args: Any = None, database: str | None = None
    ) -> list[tuple[Any, ...]]:
        conn = self.root(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def create_matomo(
        self,
        database: str,
        prefix: str = "matomo_",
        *,
        legacy: bool = False,
        provider_table: bool = True,
    ) -> None:
        """A database with Matomo's real user / plugin_setting / loginoidc_provider tables."""
        self.execute(f"DROP DATABASE IF EXISTS `{database}`")
        self.execute(f"CREATE DATABASE `{database}` DEFAULT CHARACTER SET utf8mb4")
        self.execute(f"GRANT ALL ON `{database}`.* TO '{APP_USER}'@'%'")
        sql = (SQL_DIR / "matomo_tables.sql").read_text(encoding="utf-8")
        blocks = {}
        for chunk in sql.split("-- @table ")[1:]:
            name, _, body = chunk.partition("\n")
            blocks[name.strip()] = body.strip().rstrip(";").replace("{prefix}", prefix)
        wanted = ["user", "plugin_setting_pre35" if legacy else "plugin_setting"]
        if provider_table:
            wanted.append("loginoidc_provider")
        conn = self.root(database)
        try:
            with conn.cursor() as cursor:
                for name in wanted:
                    cursor.execute(blocks[name])
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def running_mariadb(timeout: float = 20.0, extra_args: Sequence[str] = ()) -> Iterator[MariaDB]:
    """A fresh server; ``extra_args`` go to mariadbd (e.g. ``--ssl-cert=...``, plugins)."""
    directory = Path(tempfile.mkdtemp(prefix="oidcsetup-mariadb-"))
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                _tool("mariadb-install-db"),
                "--no-defaults",
                *as_root,
                f"--datadir={directory / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        port = _free_port()
        process = subprocess.Popen(
            [
                _tool("mariadbd"),
                "--no-defaults",
                *as_root,
                f"--datadir={directory / 'data'}",
                "--bind-address=127.0.0.1",
                f"--port={port}",
                f"--socket={directory / 'mysqld.sock'}",
                f"--pid-file={directory / 'mysqld.pid'}",
                f"--log-error={directory / 'error.log'}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--innodb-lock-wait-timeout=10",
                "--innodb-flush-log-at-trx-commit=0",  # throwaway data: no fsync per commit
                "--innodb-doublewrite=0",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                *extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = MariaDB(directory, port, process)
        _wait_ready(server, timeout)
        import pymysql

        conn = pymysql.connect(unix_socket=server.socket, user="root", password="", autocommit=True)
        with conn.cursor() as cursor:
            cursor.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (ROOT_PASSWORD,))
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (APP_USER, APP_PASSWORD))
        conn.close()
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(server: MariaDB, timeout: float) -> None:
    import pymysql

    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            log = (server.directory / "error.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mariadbd exited with {server.process.returncode}:\n{log}")
        try:
            pymysql.connect(
                unix_socket=server.socket, user="root", password="", connect_timeout=1
            ).close()
            return
        except pymysql.err.MySQLError:
            if time.monotonic() > deadline:
                raise RuntimeError("mariadbd did not answer in time") from None
            time.sleep(0.05)
