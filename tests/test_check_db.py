"""``oidcsetup check --db``: Login OIDC settings read from a real MariaDB, probed at the real
oidc-provider (the config file, when given too, wins over the database as in Matomo)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run
from tests.support.mariadb import APP_USER, MariaDB
from tests.support.provider import RunningProvider

pytestmark = [pytest.mark.mariadb, pytest.mark.provider]

MATOMO = "http://127.0.0.1:8080"
SECRET = "matomo-test-secret"


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def matomo_db(mariadb: MariaDB) -> Iterator[str]:
    name = "chk_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name, "matomo_")
    yield name
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


def store(mariadb: MariaDB, database: str, values: dict[str, str]) -> None:
    for key, value in values.items():
        mariadb.execute(
            "INSERT INTO matomo_plugin_setting (plugin_name, setting_name, setting_value, "
            "json_encoded, user_login) VALUES ('LoginOIDC', %s, %s, 0, '')",
            (key, value),
            database=database,
        )


def settings(provider: RunningProvider, **overrides: str) -> dict[str, str]:
    return {
        "authorizeUrl": provider.issuer + "/auth",
        "tokenUrl": provider.issuer + "/token",
        "userinfoUrl": provider.issuer + "/me",
        "userinfoId": "sub",
        "clientId": "matomo",
        "clientSecret": SECRET,
        "scope": "openid email",
        **overrides,
    }


def check_db(
    provider: RunningProvider,
    mariadb: MariaDB,
    database: str,
    *extra: str,
    source: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """``check --db`` with ``--dsn`` to ``database``, or with ``source`` (e.g. --from-config)."""
    from tests.support.mariadb import APP_PASSWORD

    dsn = f"mysql://{APP_USER}@127.0.0.1:{mariadb.port}/{database}?prefix=matomo_"
    result = run(
        [
            "--json",
            "check",
            "--issuer",
            provider.issuer,
            "--matomo-url",
            MATOMO,
            "--db",
            *(source or ("--dsn", dsn)),
            *extra,
        ],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_DB_PASSWORD": APP_PASSWORD,
            "OIDCSETUP_PROFILE": None,
        },
    )
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.exit_code
    return document


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in document["probes"]}


def test_db_settings_consistent(
    oidc_provider: RunningProvider, mariadb: MariaDB, matomo_db: str
) -> None:
    store(mariadb, matomo_db, settings(oidc_provider))
    document = check_db(oidc_provider, mariadb, matomo_db)
    assert document["exit_code"] == 0, document
    probes = by_name(document)
    assert probes["matomo-settings"]["code"] == "matomo-settings-complete"
    assert probes["endpoints"]["code"] == "endpoints-match"
    assert "database" in probes["matomo-settings"]["message"]


def test_db_without_client_id(
    oidc_provider: RunningProvider, mariadb: MariaDB, matomo_db: str
) -> None:
    values = settings(oidc_provider)
    del values["clientId"]
    store(mariadb, matomo_db, values)
    document = check_db(oidc_provider, mariadb, matomo_db)
    assert document["exit_code"] == 3
    probe = by_name(document)["matomo-settings"]
    assert probe["code"] == "matomo-setting-missing"
    assert probe["details"]["missing"] == ["clientId"]


def test_config_file_wins_over_db(
    oidc_provider: RunningProvider, mariadb: MariaDB, matomo_db: str, tmp_path: Path
) -> None:
    store(mariadb, matomo_db, settings(oidc_provider, clientSecret="stale"))
    config = tmp_path / "config.ini.php"
    config.write_text(
        f'; <?php exit; ?> DO NOT REMOVE THIS LINE\n[General]\n\n[LoginOIDC]\nclientSecret = "{SECRET}"\n'
    )
    document = check_db(oidc_provider, mariadb, matomo_db, "--config", str(config))
    assert document["exit_code"] == 0, document
    assert by_name(document)["client-auth"]["code"] == "client-auth-ok"


def test_db_unreachable_exits_4(oidc_provider: RunningProvider) -> None:
    result = run(
        [
            "--json",
            "check",
            "--issuer",
            oidc_provider.issuer,
            "--matomo-url",
            MATOMO,
            "--db",
            "--dsn",
            "mysql://nobody@127.0.0.1:1/matomo",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 4


def test_from_config_file_value_beats_the_database(
    oidc_provider: RunningProvider, mariadb: MariaDB, matomo_db: str, tmp_path: Path
) -> None:
    """Issue 10 item 6: a stale clientId in the --from-config file's [LoginOIDC] is what Matomo
    uses (the file wins over the database): check reports it, as it does with --config."""
    store(mariadb, matomo_db, settings(oidc_provider))
    config = tmp_path / "config.ini.php"
    config.write_text(
        '; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nhost = "127.0.0.1"\n'
        f'port = {mariadb.port}\nusername = "{APP_USER}"\ndbname = "{matomo_db}"\n'
        'tables_prefix = "matomo_"\n\n[LoginOIDC]\nclientId = "stale-client"\n'
    )
    document = check_db(oidc_provider, mariadb, matomo_db, source=("--from-config", str(config)))
    assert document["exit_code"] == 3, document
    probe = by_name(document)["matomo-settings"]
    assert probe["code"] == "matomo-setting-differs"
    assert "stale-client" in probe["message"] and str(config) in probe["message"]
