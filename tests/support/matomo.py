"""The real Matomo 5.1.2 (+ Login OIDC 5.0.0, RebelOIDC 5.1.6) from ../shared/peers/matomo/.

Installed once per test session (about 5 s): the peer's tarball is unpacked into a temp dir,
Matomo's own web installer runs through the peer's ``start-matomo`` script against a database
of its own on the session MariaDB (tests/support/mariadb.py), LoginOIDC is activated with
Matomo's console, and PHP's built-in server serves the tree on a free loopback port in its own
process group (stopped with ``killpg`` at the end).

Right after the install a *baseline* is taken: config.ini.php's bytes, the list of tables with
their DDL, and a checksum of each table. ``RunningMatomo.reset()`` brings Matomo back to it
between tests (config file restored, tables added since dropped, tables dropped since recreated,
changed tables' rows restored, Matomo's file caches cleared when the config changed), so each
test starts from a freshly installed Matomo with LoginOIDC active and nothing configured.

This is upstream code used as a peer, like MariaDB: nothing of it is copied into the project.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.mariadb import APP_PASSWORD, APP_USER, MariaDB
from tests.support.mariadb import _free_port as free_port
from tests.support.shared import shared_dir

REPO = Path(__file__).resolve().parents[2]


PEER_DIR = shared_dir() / "peers" / "matomo"
START_SCRIPT = PEER_DIR / "start-matomo"
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Admin-pass-123!"
ADMIN_EMAIL = "admin@example.org"
PREFIX = "matomo_"
CALLBACK = "index.php?module=LoginOIDC&action=callback&provider=oidc"
# Marks of a test module that logs in with a real browser on the real Matomo; the first test
# also waits for the session's Matomo install (5 s idle, a minute on a busy box).
BROWSER_LOGIN_MARKS = [
    pytest.mark.matomo,
    pytest.mark.browser,
    pytest.mark.provider,
    pytest.mark.mariadb,
    pytest.mark.timeout(300),
]
PHP_MODULES = {
    "pdo_mysql": "php-mysql",
    "curl": "php-curl",
    "gd": "php-gd",
    "mbstring": "php-mbstring",
    "dom": "php-xml",
}


def peer_tarball() -> Path | None:
    found = sorted(PEER_DIR.glob("matomo-*.tar.xz"))
    return found[-1] if found else None


def matomo_missing_reason() -> str | None:
    """Why the real Matomo cannot run here, or None. Only an absent peer or tool skips."""
    if not PEER_DIR.is_dir():
        return f"the real Matomo peer is absent ({PEER_DIR} does not exist)"
    if peer_tarball() is None or not START_SCRIPT.exists():
        return f"{PEER_DIR} has no matomo-*.tar.xz or no start-matomo"
    for tool, package in (("php", "php-cli"), ("curl", "curl"), ("xz", "xz-utils"), ("bc", "bc")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package}), needed by the real Matomo"
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.lower().split()
    missing = [pkg for mod, pkg in PHP_MODULES.items() if mod not in modules]
    if missing:
        return f"PHP extensions for Matomo are missing (apt-get install {' '.join(missing)})"
    return None


@dataclass
class Baseline:
    config: bytes
    ddl: dict[str, str]  # table -> SHOW CREATE TABLE
    checksums: dict[str, int]
    rows: dict[str, list[tuple[Any, ...]]]  # the non-empty tables' rows


@dataclass
class RunningMatomo:
    """A served, installed Matomo; ``url`` is its base URL (ends in ``/``)."""

    tree: Path
    port: int
    database: str
    mariadb: MariaDB
    pgid: int
    prefix: str = PREFIX
    baseline: Baseline | None = field(default=None, repr=False)

    # --- where things are ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def callback_url(self) -> str:
        """The redirect URI Login OIDC builds when Matomo is reached at ``url``."""
        return self.url + CALLBACK

    @property
    def config_path(self) -> Path:
        return self.tree / "config" / "config.ini.php"

    @property
    def dsn(self) -> str:
        """For ``--db --dsn``; the password goes in $OIDCSETUP_DB_PASSWORD (``db_env``)."""
        return (
            f"mysql://{APP_USER}@127.0.0.1:{self.mariadb.port}/{self.database}?prefix={self.prefix}"
        )

    def db_env(self) -> dict[str, str]:
        return {"OIDCSETUP_DB_PASSWORD": APP_PASSWORD}

    def table(self, name: str) -> str:
        return f"`{self.prefix}{name}`"

    # --- reading and poking --------------------------------------------------------------

    def execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        return self.mariadb.execute(sql.replace("{p}", self.prefix), args, database=self.database)

    def plugin_settings(self, plugin: str = "LoginOIDC") -> dict[str, str]:
        rows = self.execute(
            "SELECT setting_name, setting_value FROM {p}plugin_setting "
            "WHERE plugin_name = %s AND user_login = ''",
            (plugin,),
        )
        return {str(name): str(value) for name, value in rows}

    def links(self, table: str = "loginoidc_provider") -> dict[str, str]:
        """provider subject -> Matomo login."""
        rows = self.execute(f"SELECT provider_user, user FROM {{p}}{table}")
        return {str(sub): str(user) for sub, user in rows}

    def users(self) -> dict[str, dict[str, Any]]:
        rows = self.execute("SELECT login, email, superuser_access, password FROM {p}user")
        return {
            str(login): {"email": email, "superuser": bool(su), "password": password}
            for login, email, su, password in rows
        }

    def has_table(self, name: str) -> bool:
        return bool(self.execute("SHOW TABLES LIKE %s", (self.prefix + name,)))

    def console(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``php console ARGS`` in the tree (Matomo's own CLI)."""
        return subprocess.run(
            ["php", "console", *args, "--no-ansi"],
            cwd=self.tree,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def add_general(self, *lines: str) -> None:
        """Add lines to config.ini.php's [General], as an administrator would by hand
        (e.g. ``'trusted_hosts[] = "127.0.0.1:8443"'``, ``"assume_secure_protocol = 1"``)."""
        text = self.config_path.read_text()
        assert "\n[General]\n" in text, "the installer writes a [General] section"
        self.config_path.write_text(
            text.replace(
                "\n[General]\n", "\n[General]\n" + "".join(line + "\n" for line in lines), 1
            )
        )

    def create_token(self, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> str:
        """A new token_auth for ``login``, made by Matomo's own API method (what its "Personal >
        Security > Auth tokens" screen calls): ``UsersManager.createAppSpecificTokenAuth``
        checks the user's password and stores the token in ``user_token_auth``. Created after
        ``reset()``, it is gone at the next one."""
        answer = httpx.post(
            self.url + "index.php",
            data={
                "module": "API",
                "method": "UsersManager.createAppSpecificTokenAuth",
                "format": "json",
                "userLogin": login,
                "passwordConfirmation": password,
                "description": "oidcsetup tests",
            },
            timeout=30,
        ).json()
        assert isinstance(answer, dict) and "value" in answer, answer
        return str(answer["value"])

    def server_log(self, tail: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return (self.tree / "tmp" / "php-server.log").read_text(errors="replace")[-tail:]
        return ""

    def clear_caches(self) -> None:
        """Matomo's file caches (tmp/cache): what ``console core:clear-caches`` removes, faster."""
        cache = self.tree / "tmp" / "cache"
        if cache.is_dir():
            for child in cache.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        child.unlink()

    # --- baseline ------------------------------------------------------------------------

    def _connect(self) -> Any:
        return self.mariadb.root(self.database)

    @staticmethod
    def _tables(cursor: Any) -> list[str]:
        cursor.execute("SHOW TABLES")
        return [str(r[0]) for r in cursor.fetchall()]

    @staticmethod
    def _checksums(cursor: Any, tables: list[str]) -> dict[str, int]:
        if not tables:
            return {}
        cursor.execute("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
        return {str(name).split(".", 1)[1]: int(value or 0) for name, value in cursor.fetchall()}

    def take_baseline(self) -> None:
        """Remember config.ini.php, every table's DDL and the rows of the non-empty ones."""
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                tables = self._tables(cursor)
                ddl = {}
                for t in tables:
                    cursor.execute(f"SHOW CREATE TABLE `{t}`")
                    ddl[t] = str(cursor.fetchone()[1])
                checksums = self._checksums(cursor, tables)
                rows: dict[str, list[tuple[Any, ...]]] = {}
                for t, checksum in checksums.items():
                    if checksum:
                        cursor.execute(f"SELECT * FROM `{t}`")
                        rows[t] = list(cursor.fetchall())
        finally:
            conn.close()
        self.baseline = Baseline(self.config_path.read_bytes(), ddl, checksums, rows)

    def reset(self) -> None:
        """Back to the state right after the install (LoginOIDC active, nothing configured)."""
        base = self.baseline
        assert base is not None, "take_baseline() first"
        config_changed = (
            not self.config_path.exists() or self.config_path.read_bytes() != base.config
        )
        if config_changed:
            tmp = self.config_path.with_name("config.ini.php.oidcsetup-test-reset")
            tmp.write_bytes(base.config)
            os.replace(tmp, self.config_path)
        for backup in self.config_path.parent.glob("config.ini.php?*"):
            with contextlib.suppress(OSError):
                backup.unlink()  # backups oidcsetup wrote next to the file
        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                tables = self._tables(cursor)
                extra = [t for t in tables if t not in base.ddl]
                missing = [t for t in base.ddl if t not in tables]
                current = self._checksums(cursor, [t for t in tables if t in base.ddl])
                changed = [t for t, c in current.items() if c != base.checksums.get(t)]
                if extra or missing or changed:
                    cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
                    for t in extra:
                        cursor.execute(f"DROP TABLE `{t}`")
                    for t in missing:
                        cursor.execute(base.ddl[t])
                    # One transaction, and REPLACE: the php server may still be finishing a
                    # request of the previous test (Matomo writes UpdateCheck_* options on page
                    # loads); an INSERT racing it failed with "Duplicate entry".
                    conn.begin()
                    for t in [*missing, *changed]:
                        cursor.execute(f"DELETE FROM `{t}`")
                        if base.rows.get(t):
                            marks = ", ".join(["%s"] * len(base.rows[t][0]))
                            cursor.executemany(f"REPLACE INTO `{t}` VALUES ({marks})", base.rows[t])
                    conn.commit()
                    cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        finally:
            conn.close()
        if config_changed or extra or missing:
            self.clear_caches()
            self.warm_up()

    def warm_up(self) -> None:
        """One page load that rebuilds the caches clear_caches() removed.

        Seen under load on the real Matomo: the first page after a cache clear took over 10 s
        (php -S log), so a test's first probe, which allows 10 s like a user's would, timed out
        with "sent nothing". The test is about the probe, not about a cold cache.
        """
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(self.url + "index.php?module=Login", timeout=120)

    # --- lifecycle -----------------------------------------------------------------------

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(self.url + "robots.txt", timeout=2)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Matomo did not answer at {self.url}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)


def install_matomo(mariadb: MariaDB, workdir: Path, *, activate: bool = True) -> RunningMatomo:
    """Unpack the peer into ``workdir``, install it against ``mariadb`` and serve it."""
    reason = matomo_missing_reason()
    if reason:
        raise RuntimeError(reason)
    tarball = peer_tarball()
    assert tarball is not None
    subprocess.run(["tar", "-C", str(workdir), "-xJf", str(tarball)], check=True, timeout=300)
    tree = workdir / "matomo"
    database = "matomo_real_" + secrets.token_hex(4)
    mariadb.execute(f"CREATE DATABASE `{database}` DEFAULT CHARACTER SET utf8mb4")
    mariadb.execute(f"GRANT ALL ON `{database}`.* TO '{APP_USER}'@'%'")
    env = {
        **os.environ,
        "ADMIN_LOGIN": ADMIN_LOGIN,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "TABLES_PREFIX": PREFIX,
    }
    if not activate:
        env["SKIP_ACTIVATE"] = "1"
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between our probe and php -S
        port = free_port()
        run = subprocess.run(
            [
                str(START_SCRIPT),
                str(tree),
                "127.0.0.1",
                str(mariadb.port),
                APP_USER,
                APP_PASSWORD,
                database,
                str(port),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        pid_file = tree / "tmp" / "php-server.pid"
        pgid = int(pid_file.read_text().strip()) if pid_file.exists() else 0
        matomo = RunningMatomo(tree, port, database, mariadb, pgid)
        if run.returncode == 0:
            matomo.wait_ready()
            matomo.take_baseline()
            return matomo
        last_error = f"{run.stdout[-2000:]}\n{run.stderr[-2000:]}\n{matomo.server_log()}"
        if pgid:
            matomo.stop()
        if "already in use" not in run.stderr:
            break
    raise RuntimeError(f"installing the real Matomo failed:\n{last_error}")
