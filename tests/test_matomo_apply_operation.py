"""``apps.matomo.apply``, the library operation behind ``apply matomo``, called directly: a real
MariaDB with Matomo's tables and a config.ini.php as the two targets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from oidcsetup.apps.matomo.apply import ApplyOptions, MatomoTargets, plan_apply, write_apply
from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.settings import desired_settings
from oidcsetup.apps.matomo.targets import ConfigFileTarget, DatabaseTarget
from oidcsetup.errors import ApplyError
from oidcsetup.integration import Integration, build_integration
from tests.support.mariadb import MariaDB

pytestmark = pytest.mark.mariadb

SECRET = "operation-secret-0123456789"
CONFIG = """\
; <?php exit; ?> DO NOT REMOVE THIS LINE
[General]
salt = "0123456789abcdef"

[Plugins]
Plugins[] = "Login"
Plugins[] = "LoginOIDC"
"""


def integration() -> Integration:
    return build_integration(
        {
            "provider.issuer": "https://auth.example.com",
            "provider.authorization_endpoint": "https://auth.example.com/authorize",
            "provider.token_endpoint": "https://auth.example.com/token",
            "provider.userinfo_endpoint": "https://auth.example.com/userinfo",
            "client.id": "matomo",
            "app.matomo.url": "https://matomo.example.com",
        }
    )


@pytest.fixture
def database(mariadb: MariaDB) -> Iterator[MatomoDatabase]:
    name = "op_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name)
    with MatomoDatabase.connect(mariadb.app_settings(name)) as db:
        yield db
    mariadb.execute(f"DROP DATABASE `{name}`")


def rows(db: MatomoDatabase) -> dict[str, str]:
    return db.read_settings()


def test_plan_writes_nothing_then_the_write_does_the_plan_and_a_second_run_is_in_sync(
    database: MatomoDatabase, tmp_path: Path
) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    desired = desired_settings(integration(), SECRET, None)

    def targets() -> MatomoTargets:
        return MatomoTargets(config=ConfigFileTarget(config), database=DatabaseTarget(database))

    dry = plan_apply(integration(), desired, targets(), ApplyOptions(mode="dry-run"))
    assert dry.drift
    assert [p.target for p in dry.plans] == [
        f"config:{config}",
        f"db:{database.settings.database}.matomo_plugin_setting",
    ]  # the order Matomo reads them in: the config file wins
    assert [t["written"] for t in dry.targets] == [False, False]
    assert config.read_text() == CONFIG and rows(database) == {}

    options = ApplyOptions(mode="apply", backup_dir=tmp_path / "backups")
    chosen = targets()
    report = plan_apply(integration(), desired, chosen, options)
    assert report.targets == []  # nothing written yet: the caller shows the plans first
    write_apply(report, desired, chosen, options)
    assert [t["written"] for t in report.targets] == [True, True]
    assert rows(database)["clientSecret"] == SECRET
    assert rows(database)["clientId"] == "matomo"
    assert 'clientId = "matomo"' in config.read_text()
    assert report.written_before_failure == [
        f"database (backup {report.targets[1]['backup']})",
        f"config file (backup {report.targets[0]['backup']})",
    ]
    document = report.to_json()
    assert document["written"] is True and document["in_sync"] is False
    assert SECRET not in str(document)  # masked unless asked
    assert SECRET in str(report.to_json(show_secrets=True))

    again = plan_apply(integration(), desired, targets(), ApplyOptions(mode="check"))
    assert not again.drift and again.to_json()["in_sync"] is True


def test_a_config_file_changed_after_the_plan_is_refused_and_the_report_says_what_was_written(
    database: MatomoDatabase, tmp_path: Path
) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    desired = desired_settings(integration(), SECRET, None)
    chosen = MatomoTargets(config=ConfigFileTarget(config), database=DatabaseTarget(database))
    options = ApplyOptions(mode="apply", backup_dir=tmp_path / "backups")
    report = plan_apply(integration(), desired, chosen, options)
    config.write_text(CONFIG + "\n[LoginOIDC]\nclientId = someone-else\n")  # edited meanwhile

    with pytest.raises(ApplyError):
        write_apply(report, desired, chosen, options)
    # The database (written first: Matomo reads it last) was written; the file was not.
    assert rows(database)["clientId"] == "matomo"
    assert "someone-else" in config.read_text()
    assert [w.split(" (")[0] for w in report.written_before_failure] == ["database"]


def test_the_database_write_refuses_rows_changed_since_the_plan(
    database: MatomoDatabase, mariadb: MariaDB, tmp_path: Path
) -> None:
    desired = desired_settings(integration(), SECRET, None)
    chosen = MatomoTargets(database=DatabaseTarget(database))
    options = ApplyOptions(mode="apply", backup_dir=tmp_path / "backups")
    report = plan_apply(integration(), desired, chosen, options)
    mariadb.execute(
        "INSERT INTO matomo_plugin_setting (plugin_name, user_login, setting_name, setting_value, "
        "json_encoded) VALUES ('LoginOIDC', '', 'clientId', 'someone-else', 0)",
        database=database.settings.database,
    )
    with pytest.raises(ApplyError, match="changed since the plan"):
        write_apply(report, desired, chosen, options)
    assert rows(database) == {"clientId": "someone-else"}
    assert report.written_before_failure == []
