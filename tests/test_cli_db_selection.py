"""Which database a command uses: named on the command line, by OIDCSETUP_DB_*, or none.

A DSN in the environment (OIDCSETUP_DB_DSN) only says *which* database when one is asked for;
it must not turn a config-file apply or a plain check into a database run.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.cli import run
from tests.support.provider import CALLBACK, RunningProvider

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[General]
salt = "0123456789abcdef"
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when we return: nothing listens


@pytest.fixture
def nowhere_dsn() -> str:
    return f"mysql://matomo@127.0.0.1:{closed_port()}/matomo"


def test_a_dsn_in_the_environment_does_not_add_the_database_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nowhere_dsn: str
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    env = {
        "OIDCSETUP_DB_DSN": nowhere_dsn,
        "OIDCSETUP_DB_PASSWORD": "x",
        "OIDCSETUP_CLIENT_SECRET": "s3cret",
    }
    args = ["--json", "apply", "matomo", "--config", str(config), "--preset", "authelia"]
    result = run([*args, "--issuer", "https://auth.example.com"], env=env)
    assert result.exit_code == 0, result.stderr
    targets = json.dumps(json.loads(result.stdout))
    assert "db:" not in targets  # the config file only
    assert "LoginOIDC" in config.read_text()


def test_a_dsn_on_the_command_line_means_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nowhere_dsn: str
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"OIDCSETUP_DB_PASSWORD": "x", "OIDCSETUP_CLIENT_SECRET": "s3cret"}
    args = ["apply", "matomo", "--dsn", nowhere_dsn, "--preset", "authelia"]
    result = run([*args, "--issuer", "https://auth.example.com"], env=env)
    assert result.exit_code == 4, result.stderr  # it went for that database: unreachable


def check_args(provider: RunningProvider) -> list[str]:
    return ["check", "--issuer", provider.issuer, "--matomo-url", "http://127.0.0.1:8080/"]


def test_check_ignores_a_dsn_in_the_environment(
    oidc_provider: RunningProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    nowhere_dsn: str,
) -> None:
    assert CALLBACK  # the fixture's client is registered for http://127.0.0.1:8080 + CALLBACK
    monkeypatch.chdir(tmp_path)
    env = {"OIDCSETUP_DB_DSN": nowhere_dsn, "OIDCSETUP_CLIENT_SECRET": "matomo-test-secret"}
    result = run(check_args(oidc_provider), env=env)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_check_db_takes_the_database_from_oidcsetup_db_variables(
    oidc_provider: RunningProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "OIDCSETUP_DB_HOST": "127.0.0.1",
        "OIDCSETUP_DB_PORT": str(closed_port()),
        "OIDCSETUP_DB_USER": "matomo",
        "OIDCSETUP_DB_PASSWORD": "x",
        "OIDCSETUP_DB_NAME": "matomo",
        "OIDCSETUP_CLIENT_SECRET": "matomo-test-secret",
    }
    result = run([*check_args(oidc_provider), "--db"], env=env)
    assert result.exit_code == 4, result.stderr  # it used those variables: that port is closed
    assert "127.0.0.1" in result.stderr
