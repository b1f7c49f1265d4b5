"""apps/matomo/safety.py against a real MariaDB with Matomo's tables: "active but not installed"
and the disableSuperuser facts. The states are built by hand here as Matomo leaves them (reference
matomo-loginoidc.md sections 5, 7); tests/test_real_matomo_fixes.py makes each on the real
Matomo 5.1.2 and shows the login failing or working as these verdicts say."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.configfile import MatomoConfig
from oidcsetup.apps.matomo.current import read_matomo
from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.database.dsn import DbSettings
from oidcsetup.apps.matomo.safety import (
    has_signup_password,
    install_findings,
    plugin_installs,
    superuser_rail,
)
from oidcsetup.verify.probes.matomo import probe_matomo_state
from tests.cli import run
from tests.support.mariadb import APP_PASSWORD, APP_USER, MariaDB

pytestmark = pytest.mark.mariadb

CONFIG = """\
; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "127.0.0.1"
username = "{user}"
password = "{password}"
dbname = "{dbname}"
tables_prefix = "matomo_"
port = {port}

[Plugins]
Plugins[] = "Login"
{plugins}
[PluginsInstalled]
PluginsInstalled[] = "Login"
{installed}
"""


def signup_hash() -> str:
    """PHP password_hash("(disallow password login)") as Matomo stores it ($2y$ bcrypt)."""
    import bcrypt

    return "$2y$" + bcrypt.hashpw(b"(disallow password login)", bcrypt.gensalt(4)).decode()[4:]


@pytest.fixture
def matomo(mariadb: MariaDB, tmp_path: Path) -> Iterator[Any]:
    name = "saf_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name, "matomo_", provider_table=False)

    class Site:
        database = name
        config = tmp_path / "config.ini.php"

        def write_config(self, plugins: list[str], installed: list[str]) -> Path:
            self.config.write_text(
                CONFIG.format(
                    user=APP_USER,
                    password=APP_PASSWORD.replace("&", "&amp;"),
                    dbname=name,
                    port=mariadb.port,
                    plugins="".join(f'Plugins[] = "{p}"\n' for p in plugins),
                    installed="".join(f'PluginsInstalled[] = "{p}"\n' for p in installed),
                )
            )
            return self.config

        def connect(self) -> MatomoDatabase:
            return MatomoDatabase.connect(
                DbSettings(
                    database=name,
                    user=APP_USER,
                    password=APP_PASSWORD,
                    host="127.0.0.1",
                    port=mariadb.port,
                )
            )

        def sql(self, statement: str, args: Any = None) -> Any:
            return mariadb.execute(statement, args, database=name)

    yield Site()
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


def codes(site: Any, plugins: list[str], installed: list[str]) -> dict[str, Any]:
    config = MatomoConfig.load(site.write_config(plugins, installed))
    with site.connect() as db:
        return {
            f.code: f
            for f in install_findings(plugin_installs(db, config.plugin_state(), config.path))
        }


def test_active_and_recorded_but_no_table_is_broken_with_the_repair(matomo: Any) -> None:
    found = codes(matomo, ["LoginOIDC"], ["LoginOIDC"])
    broken = found["plugin-active-not-installed"]
    assert "matomo_loginoidc_provider" in broken.message
    assert f'PluginsInstalled[] = "LoginOIDC" from {matomo.config}' in (broken.hint or "")
    assert "open any Matomo page" in (broken.hint or "")
    # Only the Plugins[] line: Matomo's next web request installs it, no fault.
    assert set(codes(matomo, ["LoginOIDC"], [])) == {"plugin-install-pending"}
    assert codes(matomo, [], []) == {}  # inactive: nothing to install
    # The table there: installed, whatever the lists say.
    matomo.sql("CREATE TABLE matomo_loginoidc_provider (user VARCHAR(100))")
    assert codes(matomo, ["LoginOIDC"], ["LoginOIDC"]) == {}


def test_rebeloidc_is_looked_at_only_when_active(matomo: Any) -> None:
    matomo.sql("CREATE TABLE matomo_loginoidc_provider (user VARCHAR(100))")
    assert codes(matomo, ["LoginOIDC"], ["LoginOIDC"]) == {}
    found = codes(matomo, ["LoginOIDC", "RebelOIDC"], ["LoginOIDC", "RebelOIDC"])
    assert set(found) == {"plugin-active-not-installed"}
    assert "matomo_rebeloidc_provider" in found["plugin-active-not-installed"].message
    assert 'PluginsInstalled[] = "RebelOIDC"' in (found["plugin-active-not-installed"].hint or "")


def test_without_a_config_file_a_missing_table_is_reported(matomo: Any) -> None:
    with matomo.connect() as db:
        (finding,) = install_findings(plugin_installs(db, None))
    assert finding.code == "plugin-table-missing"
    assert "plugin:activate LoginOIDC" in (finding.hint or "")
    assert "already activated" in (finding.hint or "")


def test_apply_and_check_report_the_broken_install(matomo: Any, tmp_path: Path) -> None:
    config = matomo.write_config(["LoginOIDC"], ["LoginOIDC"])
    (tmp_path / "none.toml").write_text("")
    result = run(
        [
            "--profile", str(tmp_path / "none.toml"), "--json", "apply", "matomo",
            "--from-config", str(config), "--dry-run",
            "--authorization-endpoint", "https://auth.example.com/a",
            "--token-endpoint", "https://auth.example.com/t",
            "--userinfo-endpoint", "https://auth.example.com/u",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": "s", "OIDCSETUP_DB_PASSWORD": None},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert "plugin-active-not-installed" in [w["code"] for w in doc["warnings"]]
    assert doc["plugin"]["installs"][0]["problem"] == "not-installed"
    assert "open any Matomo page" in result.stderr
    # --link cannot work without the table: refused with the same repair, not "activate it".
    matomo.sql(
        "INSERT INTO matomo_user (login, password, email, superuser_access) "
        "VALUES ('admin', 'x', 'a@x.example', 1)"
    )
    link = run(
        [
            "--profile", str(tmp_path / "none.toml"), "apply", "matomo",
            "--from-config", str(config), "--link", "admin=sub-admin",
            "--authorization-endpoint", "https://auth.example.com/a",
            "--token-endpoint", "https://auth.example.com/t",
            "--userinfo-endpoint", "https://auth.example.com/u",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": "s", "OIDCSETUP_DB_PASSWORD": None},
    )  # fmt: skip
    assert link.exit_code == 1 and "Traceback" not in link.stderr
    assert "--link needs table matomo_loginoidc_provider" in link.stderr
    assert 'delete the line PluginsInstalled[] = "LoginOIDC"' in link.stderr
    # check: the same verdict as a failing probe (exit 3 from the probe's status)
    current = read_matomo(None, True, None, config)
    probe = probe_matomo_state(current)
    assert (
        probe is not None and probe.status == "fail" and probe.code == "plugin-active-not-installed"
    )
    matomo.write_config(["LoginOIDC"], [])
    pending = probe_matomo_state(read_matomo(None, True, None, config))
    assert pending is not None and pending.status == "pass" and "next page load" in pending.message


def test_signup_password_is_recognised(matomo: Any) -> None:
    import bcrypt

    assert has_signup_password(signup_hash())
    other = bcrypt.hashpw(b"5f4dcc3b5aa765d61d8327deb882cf99", bcrypt.gensalt(4)).decode()
    assert not has_signup_password(other)
    assert not has_signup_password("")
    assert not has_signup_password("5f4dcc3b5aa765d61d8327deb882cf99")  # Matomo 3 md5
    from argon2 import PasswordHasher

    assert has_signup_password(PasswordHasher().hash("(disallow password login)"))


def test_superuser_rail_facts(matomo: Any) -> None:
    usable = (
        "$2y$" + __import__("bcrypt").hashpw(b"x", __import__("bcrypt").gensalt(4)).decode()[4:]
    )
    matomo.sql(
        "INSERT INTO matomo_user (login, password, email, superuser_access) VALUES "
        "(%s,%s,'a@x.example',1), (%s,%s,'j@x.example',1), (%s,%s,'v@x.example',0)",
        ("admin", usable, "jane@x.example", signup_hash(), "viewer@x.example", signup_hash()),
    )
    with matomo.connect() as db:
        rail = superuser_rail(db)  # no link table yet: nobody linked
        assert rail.checked and rail.oidc_only == ("jane@x.example",) and rail.linked == ()
        assert rail.refusal() is not None
        assert superuser_rail(db, ["admin"]).linked == ("admin",)
    assert not superuser_rail(None).checked
    assert [w.code for w in superuser_rail(None).warnings()] == ["disable-superuser-unchecked"]
