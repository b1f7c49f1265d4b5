"""Acceptance gaps of issue 4 (apply matomo) closed by the audit (docs/dev/acceptance.md).

Real components: the CLI in-process and in separate processes, PHP's ini parser, MariaDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.database.dsn import DbSettings
from tests.cli import Result, run
from tests.support.php import php_read_ini

REPO = Path(__file__).resolve().parents[1]

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
; file automatically generated or modified by Matomo
[database]
host = "127.0.0.1"
dbname = "matomo"

[General]
salt = "0123456789abcdef"

[Plugins]
Plugins[] = "CorePluginsAdmin"
Plugins[] = "Login"

[PluginsInstalled]
PluginsInstalled[] = "CorePluginsAdmin"
PluginsInstalled[] = "Login"
"""
PROVIDER = ["--issuer", "https://auth.example.com", "--preset", "authelia"]
MATOMO = ["--matomo-url", "https://matomo.example.com"]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.ini.php"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def apply(*args: str, secret: str | None = "s3cret") -> Result:
    return run(
        ["--json", "apply", "matomo", *args],
        env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None},
    )


def warning_codes(result: Result) -> list[str]:
    return [w["code"] for w in json.loads(result.stdout)["warnings"]]


# --- Safety rails: "warn when the settings cannot produce a working login (empty client
# secret, userinfoId not sub for an OIDC provider, missing endpoints)" --------------------------


def test_apply_warns_about_an_empty_client_secret(config: Path) -> None:
    result = apply("--config", str(config), *PROVIDER, *MATOMO, secret=None)
    assert result.exit_code == 0, result.stderr
    assert "no-client-secret" in warning_codes(result)
    assert "warning: no client secret is set" in result.stderr
    assert "clientSecret" not in php_read_ini(config.read_text())["LoginOIDC"]


def test_apply_warns_when_userinfo_id_is_not_sub(config: Path) -> None:
    result = apply("--config", str(config), *PROVIDER, *MATOMO, "--userinfo-id", "email")
    assert result.exit_code == 0, result.stderr
    assert warning_codes(result) == ["userinfo-id-not-sub"]
    ok = apply("--config", str(config), *PROVIDER, *MATOMO, "--dry-run")
    assert "userinfo-id-not-sub" not in warning_codes(ok)


def test_apply_without_endpoints_is_a_usage_error_and_writes_nothing(config: Path) -> None:
    result = apply("--config", str(config), *MATOMO)
    assert result.exit_code == 2
    assert "endpoints are not known" in json.loads(result.stdout)["error"]["message"]
    assert config.read_text() == CONFIG


# --- Plugin state: "report whether LoginOIDC is activated (config [Plugins] ...)" -----------


def test_apply_reports_the_plugin_state_of_the_config_file(config: Path) -> None:
    before = apply("--config", str(config), *PROVIDER, *MATOMO, "--dry-run")
    assert json.loads(before.stdout)["plugin"]["config"]["activated"] is False
    activated = apply("--config", str(config), *PROVIDER, *MATOMO, "--activate")
    assert activated.exit_code == 0, activated.stderr
    after = apply("--config", str(config), *PROVIDER, *MATOMO, "--dry-run")
    state = json.loads(after.stdout)["plugin"]["config"]
    # Active, not yet recorded as installed: Matomo installs it (and records it in
    # PluginsInstalled[]) on its next web request; the tool never writes that record.
    assert state["activated"] is True and state["installed"] is False


# --- Bad input: "malformed or non-Matomo config file ... a clear error and exit code" ---------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[PHP]\nengine = On\n", "not a Matomo config file"),
        (
            '; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nhost = "unclosed\n',
            "never closed",
        ),
    ],
    ids=["not-matomo", "malformed"],
)
def test_cli_config_target_refuses_a_bad_file_in_one_line(
    config: Path, text: str, message: str
) -> None:
    config.write_text(text)
    result = run(
        ["apply", "matomo", "--config", str(config), *PROVIDER, *MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": "s", "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 1, result.stderr
    assert len(result.error_lines) == 1 and message in result.error_lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert config.read_text() == text


# --- Faults: "two applies at once end in one consistent state" (two real processes) ---------


def test_two_processes_applying_at_once_end_in_one_whole_state(config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env["PYTHONPATH"] = str(REPO)
    processes = []
    for i in range(2):
        args = ["apply", "matomo", "--config", str(config), *PROVIDER, *MATOMO]
        args += ["--button-name", f"Login {i}", "--client-id", f"client-{i}"]
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "oidcsetup", *args],
                env={**env, "OIDCSETUP_CLIENT_SECRET": f"secret-{i}"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=config.parent,
            )
        )
    outcomes = [p.communicate(timeout=60) for p in processes]
    # Each run either wrote, or found the file changed under it and refused in one clear line
    # (configfile.py re-reads under the lock and writes nothing then): never a half state.
    for process, (_, stderr) in zip(processes, outcomes, strict=True):
        assert "Traceback" not in stderr, stderr
        if process.returncode != 0:
            assert process.returncode == 1, stderr
            errors = [line for line in stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and "changed while it was being updated" in errors[0], stderr
    assert 0 in [p.returncode for p in processes], outcomes
    text = config.read_text()
    assert text.startswith(CONFIG) and text.count("[LoginOIDC]") == 1
    section = php_read_ini(text)["LoginOIDC"]
    wholes = [
        (f"client-{i}", f"secret-{i}", f"Login {i}") for i in range(2)
    ]  # never one process's id with the other's secret
    assert (section["clientId"], section["clientSecret"], section["authenticationName"]) in wholes
    written = [p.returncode for p in processes].count(0)
    assert len(list(config.parent.glob("config.ini.php.bak-*"))) == written
    assert not [p for p in config.parent.iterdir() if p.name.endswith(".tmp")]


# --- --db: "all values parameterised" (hostile values round-trip unchanged) -------------------


@pytest.fixture
def database(mariadb: Any) -> Iterator[DbSettings]:
    from tests.support.mariadb import APP_PASSWORD, APP_USER

    name = "acc_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name, "mtm_")
    yield DbSettings(
        database=name,
        user=APP_USER,
        password=APP_PASSWORD,
        host="127.0.0.1",
        port=mariadb.port,
        prefix="mtm_",
    )
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


HOSTILE = {
    "clientId": "x'); DROP TABLE mtm_plugin_setting; --",
    "clientSecret": "back\\slash ' \" %s %(x)s ` \x1a end",
    "authenticationName": "Ünïcødé 🔐 \\' OR '1'='1",
    "scope": "openid email",
}


@pytest.mark.mariadb
def test_hostile_values_are_stored_verbatim(mariadb: Any, database: DbSettings) -> None:
    with MatomoDatabase.connect(database) as db:
        assert db.apply(HOSTILE).written
        assert db.plan(HOSTILE).in_sync
    rows = mariadb.execute(
        "SELECT setting_name, setting_value, json_encoded FROM `mtm_plugin_setting` "
        "WHERE plugin_name = %s AND user_login = %s",
        ("LoginOIDC", ""),
        database=database.database,
    )
    assert {r[0]: r[1] for r in rows} == HOSTILE
    assert len(rows) == len(HOSTILE) and {r[2] for r in rows} == {0}


# --- --config: "Atomic write ..., same mode and owner" (owner needs root to set up) ----------


def test_config_write_keeps_the_owner_and_group(config: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    os.chown(config, 4321, 4322)
    config.chmod(0o640)
    result = apply("--config", str(config), *PROVIDER, *MATOMO)
    assert result.exit_code == 0, result.stderr
    info = config.stat()
    assert (info.st_uid, info.st_gid) == (4321, 4322)
    assert info.st_mode & 0o777 == 0o640
    assert "[LoginOIDC]" in config.read_text()
