"""``oidcsetup apply matomo`` end to end (CliRunner) against a real MariaDB and a config file."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.mariadb import APP_PASSWORD, APP_USER, MariaDB

pytestmark = pytest.mark.mariadb

SECRET = "the-client-secret & $x"
PROFILE = """\
[provider]
issuer = "https://auth.example.com"
authorization_endpoint = "https://auth.example.com/api/oidc/authorization"
token_endpoint = "https://auth.example.com/api/oidc/token"
userinfo_endpoint = "https://auth.example.com/api/oidc/userinfo"

[client]
id = "matomo"
scopes = ["openid", "email"]

[app.matomo]
url = "https://matomo.example.com"
{extra}
"""

CONFIG = """\
; <?php exit; ?> DO NOT REMOVE THIS LINE
; file automatically generated or modified by Matomo

[database]
host = "127.0.0.1"
username = "{user}"
password = "{password}"
dbname = "{dbname}"
tables_prefix = "{prefix}"
port = {port}
charset = "utf8mb4"

[General]
salt = "0123456789abcdef"
trusted_hosts[] = "matomo.example.com"

[Plugins]
Plugins[] = "CorePluginsAdmin"
Plugins[] = "Login"

[PluginsInstalled]
PluginsInstalled[] = "CorePluginsAdmin"
PluginsInstalled[] = "Login"
{extra}"""


@pytest.fixture
def site(mariadb: MariaDB, tmp_path: Path) -> Any:
    """A Matomo database, a config.ini.php pointing at it, a profile, and a CLI runner."""

    class Site:
        def __init__(self, prefix: str = "matomo_") -> None:
            self.db = "c_" + uuid.uuid4().hex[:10]
            self.prefix = prefix
            mariadb.create_matomo(self.db, prefix)
            self.config = tmp_path / "config.ini.php"
            self.profile = tmp_path / "oidcsetup.toml"
            self.backups = tmp_path / "backups"
            self.write_config()
            self.write_profile()

        @property
        def dsn(self) -> str:
            return f"mysql://{APP_USER}@127.0.0.1:{mariadb.port}/{self.db}?prefix={self.prefix}"

        def write_config(self, extra: str = "") -> None:
            self.config.write_text(
                CONFIG.format(
                    user=APP_USER,
                    password=APP_PASSWORD.replace("&", "&amp;"),
                    dbname=self.db,
                    prefix=self.prefix,
                    port=mariadb.port,
                    extra=extra,
                )
            )

        def write_profile(self, extra: str = "") -> None:
            self.profile.write_text(PROFILE.format(extra=extra))

        def cli(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
            base: dict[str, str | None] = {
                "OIDCSETUP_CLIENT_SECRET": SECRET,
                "OIDCSETUP_DB_PASSWORD": APP_PASSWORD,
                "OIDCSETUP_BACKUP_DIR": str(self.backups),
                "OIDCSETUP_DB_HOST": None,
                "OIDCSETUP_DB_NAME": None,
                "OIDCSETUP_DB_SOCKET": None,
                "OIDCSETUP_DB_DSN": None,
                "NO_COLOR": "1",
            }
            return run(["--profile", str(self.profile), *args], env={**base, **(env or {})})

        def rows(self) -> dict[str, str]:
            rows = mariadb.execute(
                f"SELECT setting_name, setting_value FROM `{self.prefix}plugin_setting` "
                "WHERE plugin_name='LoginOIDC' AND user_login=''",
                database=self.db,
            )
            names = [r[0] for r in rows]
            assert len(names) == len(set(names)), "two rows for one setting"
            return dict(rows)

        def sql(self, statement: str) -> list[tuple[Any, ...]]:
            return mariadb.execute(statement, database=self.db)

    yield Site
    for row in mariadb.execute("SHOW DATABASES LIKE 'c\\_%'"):
        mariadb.execute(f"DROP DATABASE `{row[0]}`")


def test_db_dry_run_apply_idempotent_check(site: Any) -> None:
    s = site()
    dry = s.cli("apply", "matomo", "--dsn", s.dsn, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "clientId" in dry.stdout and "added" in dry.stdout
    assert SECRET not in dry.stdout + dry.stderr
    assert s.rows() == {}
    assert s.cli("apply", "matomo", "--dsn", s.dsn, "--check").exit_code == 3
    applied = s.cli("apply", "matomo", "--dsn", s.dsn)
    assert applied.exit_code == 0, applied.stderr
    assert "previous values saved to" in applied.stderr
    assert SECRET not in applied.stdout + applied.stderr
    rows = s.rows()
    assert (
        rows["clientSecret"] == SECRET
        and rows["userinfoId"] == "sub"
        and rows["scope"] == "openid email"
    )
    assert rows["disableDirectLoginUrl"] == "1" and rows["allowSignup"] == "0"
    backups = sorted(s.backups.iterdir())
    assert len(backups) == 1 and stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    again = s.cli("apply", "matomo", "--dsn", s.dsn)
    assert again.exit_code == 0 and again.stdout == "No changes.\n"
    assert sorted(s.backups.iterdir()) == backups  # no new backup
    assert s.cli("apply", "matomo", "--dsn", s.dsn, "--check").exit_code == 0
    drift = s.cli("apply", "matomo", "--dsn", s.dsn, "--check", "--client-id", "other")
    assert drift.exit_code == 3 and s.rows()["clientId"] == "matomo"


def test_json_document_masks_the_secret(site: Any) -> None:
    s = site()
    result = s.cli("--json", "apply", "matomo", "--db", "--dsn", s.dsn)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["mode"] == "apply" and doc["written"]
    (target,) = doc["targets"]
    assert target["target"] == f"db:{s.db}.matomo_plugin_setting"
    secret = next(c for c in target["changes"] if c["setting"] == "clientSecret")
    assert secret == {"setting": "clientSecret", "action": "added", "old": None, "new": "********"}
    assert SECRET not in result.stdout + result.stderr
    assert doc["plugin"]["database"]["provider_table"] is True
    shown = s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--check", "--show-secrets")
    doc = json.loads(shown.stdout)
    assert shown.exit_code == 0 and doc["in_sync"] and not doc["written"]
    assert any(c["new"] == SECRET for c in doc["targets"][0]["changes"])


def test_both_targets_from_one_config_then_in_sync(site: Any, tmp_path: Path) -> None:
    s = site(prefix="mtm_")
    result = s.cli("apply", "matomo", "--config", str(s.config), "--db", "--activate")
    assert result.exit_code == 0, result.stderr
    text = s.config.read_text()
    assert text.startswith("; <?php exit; ?> DO NOT REMOVE THIS LINE\n")
    assert "[LoginOIDC]" in text and 'Plugins[] = "LoginOIDC"' in text
    assert s.rows()["clientId"] == "matomo"
    assert "open any Matomo page" in result.stderr
    assert 'PluginsInstalled[] = "LoginOIDC"' not in text
    again = s.cli("--json", "apply", "matomo", "--config", str(s.config), "--db", "--activate")
    assert again.exit_code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["in_sync"] and not doc["written"] and len(doc["targets"]) == 2
    assert doc["overridden_by_config"] == []


def test_config_value_overriding_the_database_is_reported(site: Any) -> None:
    s = site()
    s.write_config('\n[LoginOIDC]\nclientId = "pinned-in-file"\n')
    result = s.cli("--json", "apply", "matomo", "--from-config", str(s.config))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["overridden_by_config"] == [
        {"setting": "clientId", "config": "pinned-in-file", "database": "matomo"}
    ]
    assert any(w["code"] == "config-overrides-database" for w in doc["warnings"])
    assert "Matomo uses the config file's values" in result.stderr


def test_restore_from_a_database_backup(site: Any) -> None:
    s = site()
    assert s.cli("apply", "matomo", "--dsn", s.dsn).exit_code == 0
    assert s.cli("apply", "matomo", "--dsn", s.dsn, "--client-id", "second").exit_code == 0
    assert s.rows()["clientId"] == "second"
    newest = sorted(s.backups.iterdir())[-1]
    restored = s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--restore", str(newest))
    assert restored.exit_code == 0, restored.stderr
    doc = json.loads(restored.stdout)
    assert doc["mode"] == "restore" and doc["written"]
    assert s.rows()["clientId"] == "matomo"
    assert s.cli("apply", "matomo", "--dsn", s.dsn, "--check").exit_code == 0


def _signup_password_hash() -> str:
    """What Login OIDC's signup stores: PHP password_hash("(disallow password login)"), bcrypt
    ``$2y$`` (reference section 7; tests/test_real_matomo_fixes.py makes one by a real signup)."""
    import bcrypt

    hashed = bcrypt.hashpw(b"(disallow password login)", bcrypt.gensalt(rounds=4)).decode()
    return "$2y$" + hashed[4:]


def test_disable_superuser_refused_while_a_super_user_has_no_password(site: Any) -> None:
    s = site()
    s.write_profile("disable_superuser = true\n")
    s.sql(
        "INSERT INTO matomo_user (login, password, email, superuser_access) VALUES "
        f"('admin','$2y$10$usablepasswordhashxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','a@example.com',1),"
        f"('jane@example.org','{_signup_password_hash()}','jane@example.org',1),"
        f"('bob@example.org','{_signup_password_hash()}','bob@example.org',0)"
    )
    refused = s.cli("apply", "matomo", "--dsn", s.dsn)
    assert refused.exit_code == 1
    assert "refusing to turn on disableSuperuser" in refused.stderr
    assert "jane@example.org" in refused.stderr and "bob@example.org" not in refused.stderr
    assert "--force" in refused.stderr and "admin" not in refused.stderr.split("hint")[0]
    assert s.rows() == {}
    json_refused = s.cli("--json", "apply", "matomo", "--dsn", s.dsn)
    doc = json.loads(json_refused.stdout)
    assert json_refused.exit_code == 1 and doc["ok"] is False
    assert doc["error"]["message"].startswith("refusing to turn on disableSuperuser")
    dry = s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--dry-run")
    doc = json.loads(dry.stdout)
    assert dry.exit_code == 0 and doc["refused"]["code"] == "disable-superuser-lockout"
    assert doc["superuser_rail"] == {
        "checked": True,
        "oidc_only": ["jane@example.org"],
        "linked": [],
    }
    forced = s.cli("apply", "matomo", "--dsn", s.dsn, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "overridden by --force" in forced.stderr and s.rows()["disableSuperuser"] == "1"


def test_disable_superuser_warns_naming_linked_super_users(site: Any) -> None:
    s = site()
    s.write_profile("disable_superuser = true\n")
    s.sql(
        "INSERT INTO matomo_user (login, password, email, superuser_access) VALUES "
        "('admin','$2y$10$usablepasswordhashxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','a@example.com',1),"
        "('root2','$2y$10$usablepasswordhashxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','r@example.com',1),"
        "('alice','x','alice@example.com',0)"
    )
    s.sql(
        "INSERT INTO matomo_loginoidc_provider (user, provider_user, provider) VALUES ('root2','s2','oidc')"
    )
    # No super user without a password: applied; the linked ones (also one linked in this run)
    # are named, since their OIDC login is refused from now on.
    applied = s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--link", "admin=sub-admin")
    assert applied.exit_code == 0, applied.stderr
    doc = json.loads(applied.stdout)
    warning = next(w for w in doc["warnings"] if w["code"] == "disable-superuser-linked")
    assert "admin, root2" in warning["message"] and "Matomo password" in warning["message"]
    assert doc["refused"] is None and s.rows()["disableSuperuser"] == "1"


def test_disable_superuser_without_database_access_is_a_warning(site: Any) -> None:
    s = site()
    s.write_profile("disable_superuser = true\n")
    config_only = s.cli("apply", "matomo", "--config", str(s.config))
    assert config_only.exit_code == 0, config_only.stderr
    assert "could not be checked" in config_only.stderr and "--db" in config_only.stderr
    assert "disableSuperuser = 1" in s.config.read_text()


def test_link_errors(site: Any) -> None:
    s = site()
    missing = s.cli("apply", "matomo", "--dsn", s.dsn, "--link", "nobody=sub")
    assert missing.exit_code == 1 and "Matomo user 'nobody' does not exist" in missing.stderr
    malformed = s.cli("apply", "matomo", "--dsn", s.dsn, "--link", "nobody")
    assert malformed.exit_code == 2 and "LOGIN=SUBJECT" in malformed.stderr
    assert s.rows() == {}
    s.sql("DROP TABLE matomo_loginoidc_provider")
    no_table = s.cli("apply", "matomo", "--dsn", s.dsn, "--link", "admin=sub")
    assert no_table.exit_code == 1 and "plugin:activate LoginOIDC" in no_table.stderr


# --- bad input --------------------------------------------------------------------------------


def _one_error(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert len(result.error_lines) == 1 and text in result.error_lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_input(site: Any, mariadb: MariaDB, tmp_path: Path) -> None:
    s = site()
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn, env={"OIDCSETUP_DB_PASSWORD": "wrong"}),
        1,
        "access denied for database user 'matomo'",
    )
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn.replace(s.db, "nope")),
        1,
        "no access to database 'nope' (or it does not exist)",
    )
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn.replace("prefix=matomo_", "prefix=piwik_")),
        1,
        "piwik_plugin_setting does not exist",
    )
    _one_error(s.cli("apply", "matomo", "--dsn", "mysql//oops"), 2, "malformed DSN")
    _one_error(
        s.cli("apply", "matomo", "--dsn", f"mysql://u:pw@127.0.0.1/{s.db}"),
        2,
        "contains a password",
    )
    _one_error(s.cli("apply", "matomo", "--dsn", "mysql://u@127.0.0.1:1/x"), 4, "cannot connect")
    not_matomo = tmp_path / "other.ini"
    not_matomo.write_text("[database]\nhost = x\n")
    _one_error(
        s.cli("apply", "matomo", "--from-config", str(not_matomo)), 1, "not a Matomo config file"
    )
    broken = tmp_path / "broken.ini.php"
    broken.write_text(
        '; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\npassword = "${UNCLOSED\n'
    )
    assert s.cli("apply", "matomo", "--from-config", str(broken)).exit_code == 1
    _one_error(
        s.cli("apply", "matomo", "--from-config", str(tmp_path / "nope.php")), 1, "does not exist"
    )
    assert s.rows() == {}


def test_usage_errors(site: Any) -> None:
    s = site()
    _one_error(s.cli("apply", "matomo"), 2, "no target")
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn, "--dry-run", "--check"), 2, "exclude each other"
    )
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn, "--from-config", str(s.config)),
        2,
        "exclude each other",
    )
    _one_error(
        s.cli("apply", "matomo", "--dsn", s.dsn, "--secret-as-env", "X"),
        2,
        "--secret-as-env needs --config",
    )
    _one_error(s.cli("apply", "matomo", "--dsn", s.dsn, "--activate"), 2, "--activate")
    _one_error(
        s.cli("apply", "matomo", "--config", str(s.config), "--link", "a=b"),
        2,
        "--link writes to the database",
    )


def test_help_has_examples() -> None:
    result = run(["apply", "matomo", "--help"])
    assert (
        result.exit_code == 0 and "Examples:" in result.stdout and "--from-config" in result.stdout
    )


def test_restore_a_config_file_backup(site: Any) -> None:
    s = site()
    original = s.config.read_bytes()
    result = s.cli(
        "--json", "apply", "matomo", "--config", str(s.config), "--secret-as-env", "OIDC_SECRET"
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    backup = doc["targets"][0]["backup"]
    assert backup and Path(backup).read_bytes() == original
    secret = next(c for c in doc["targets"][0]["changes"] if c["setting"] == "clientSecret")
    assert secret["new"] == "${OIDC_SECRET}"  # a reference is not a secret: shown as is
    assert 'clientSecret = "${OIDC_SECRET}"' in s.config.read_text()
    check = s.cli("apply", "matomo", "--config", str(s.config), "--restore", backup, "--check")
    assert check.exit_code == 3
    restored = s.cli("apply", "matomo", "--config", str(s.config), "--restore", backup)
    assert restored.exit_code == 0, restored.stderr
    assert s.config.read_bytes() == original
    assert (
        s.cli(
            "apply", "matomo", "--config", str(s.config), "--restore", backup, "--check"
        ).exit_code
        == 0
    )


# --- regressions found in the QA pass -----------------------------------------------------------


def test_backups_of_the_config_file_are_owner_only(site: Any) -> None:
    """config.ini.php holds the database password: its backup must not be world-readable."""
    s = site()
    s.config.chmod(0o644)
    result = s.cli("--json", "apply", "matomo", "--config", str(s.config))
    assert result.exit_code == 0, result.stderr
    backup = Path(json.loads(result.stdout)["targets"][0]["backup"])
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(s.config.stat().st_mode) == 0o644  # the file itself keeps its mode


def test_secret_already_in_the_config_file_is_reported_as_kept(site: Any) -> None:
    s = site()
    s.write_config('\n[LoginOIDC]\nclientSecret = "stored-before"\n')
    result = s.cli(
        "--json",
        "apply",
        "matomo",
        "--config",
        str(s.config),
        env={"OIDCSETUP_CLIENT_SECRET": None},
    )
    assert result.exit_code == 0, result.stderr
    codes = [w["code"] for w in json.loads(result.stdout)["warnings"]]
    assert "client-secret-unmanaged" in codes and "no-client-secret" not in codes
    assert "stays disabled" not in result.stderr
    assert 'clientSecret = "stored-before"' in s.config.read_text()


def test_unknown_settings_are_warned_about_unless_pruned(site: Any) -> None:
    s = site()
    s.write_config('\n[LoginOIDC]\nclientsecret = "typo"\n')
    s.sql(
        "INSERT INTO matomo_plugin_setting (plugin_name, setting_name, setting_value, user_login) "
        "VALUES ('LoginOIDC', 'userInfoId', 'sub', '')"
    )
    result = s.cli("--json", "apply", "matomo", "--config", str(s.config), "--db", "--dry-run")
    assert result.exit_code == 0, result.stderr
    unknown = [w for w in json.loads(result.stdout)["warnings"] if w["code"] == "unknown-setting"]
    assert len(unknown) == 2
    assert "clientsecret" in unknown[0]["message"] and "userInfoId" in unknown[1]["message"]
    pruned = s.cli("--json", "apply", "matomo", "--config", str(s.config), "--db", "--prune")
    assert pruned.exit_code == 0, pruned.stderr
    assert not [w for w in json.loads(pruned.stdout)["warnings"] if w["code"] == "unknown-setting"]
    assert "clientsecret" not in s.config.read_text() and "userInfoId" not in s.rows()


def test_database_restore_backs_up_what_it_replaces(site: Any) -> None:
    s = site()
    assert s.cli("apply", "matomo", "--dsn", s.dsn).exit_code == 0
    assert s.cli("apply", "matomo", "--dsn", s.dsn, "--client-id", "second").exit_code == 0
    assert stat.S_IMODE(s.backups.stat().st_mode) == 0o700
    before = set(s.backups.iterdir())
    newest = sorted(before)[-1]
    restored = s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--restore", str(newest))
    assert restored.exit_code == 0, restored.stderr
    saved = json.loads(restored.stdout)["targets"][0]["backup"]
    assert saved and Path(saved) not in before and stat.S_IMODE(Path(saved).stat().st_mode) == 0o600
    assert s.rows()["clientId"] == "matomo"
    # ...so the restore itself can be undone
    undo = s.cli("apply", "matomo", "--dsn", s.dsn, "--restore", saved)
    assert undo.exit_code == 0, undo.stderr
    assert s.rows()["clientId"] == "second"


def test_issuer_flag_does_not_reuse_the_profile_endpoints(site: Any) -> None:
    """The profile's saved endpoints belong to its issuer, not to --issuer/--preset's."""
    s = site()
    result = s.cli(
        "--json",
        "apply",
        "matomo",
        "--config",
        str(s.config),
        "--dry-run",
        env={"OIDCSETUP_ISSUER": "https://sso.other.example", "OIDCSETUP_PRESET": "authelia"},
    )
    assert result.exit_code == 0, result.stderr
    changes = {c["setting"]: c["new"] for c in json.loads(result.stdout)["targets"][0]["changes"]}
    assert changes["tokenUrl"] == "https://sso.other.example/api/oidc/token"
    assert changes["authorizeUrl"] == "https://sso.other.example/api/oidc/authorization"
    assert "endpoints saved in the profile are not used" in result.stderr
    same = s.cli("--json", "apply", "matomo", "--config", str(s.config), "--dry-run")
    changes = {c["setting"]: c["new"] for c in json.loads(same.stdout)["targets"][0]["changes"]}
    assert changes["tokenUrl"] == "https://auth.example.com/api/oidc/token"


def test_usage_error_in_json_mode_is_one_json_document(site: Any) -> None:
    s = site()
    result = s.cli("--json", "apply", "matomo", "--no-such-option")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == 2
    assert "--no-such-option" in doc["error"]["message"]


def test_keep_backups_rotates_config_and_database_backups(site: Any) -> None:
    """Issue 10/15: backups (holding the DB password and the client secret) never rotated."""
    s = site()
    for i in range(4):
        result = s.cli(
            "apply", "matomo", "--config", str(s.config), "--dsn", s.dsn,
            "--client-id", f"client-{i}", "--keep-backups", "2",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr

    def by_age(paths: Any) -> list[Path]:
        return sorted(paths, key=lambda p: p.stat().st_mtime_ns)

    config_backups = by_age(s.config.parent.glob("config.ini.php.bak-*"))
    db_backups = by_age(s.backups.iterdir())
    assert len(config_backups) == 2 and len(db_backups) == 2
    # the newest are kept: the last backup holds client-2, the state before the last apply
    assert 'clientId = "client-2"' in config_backups[-1].read_text()
    assert 'clientId = "client-1"' in config_backups[0].read_text()
    assert '"client-2"' in db_backups[-1].read_text()
    # no lock file is left beside the user's config
    assert not list(s.config.parent.glob("*.lock"))


# --- issue 15 (low) and issue 10 (smaller): sec-db ------------------------------------------


def test_prune_masks_every_secret_looking_row(site: Any) -> None:
    """A hand-typed `clientsecret` (or `ClientSecret`, `db_password`) row holds a secret too:
    --prune shows it going away masked, in text and JSON, unless --show-secrets."""
    s = site()
    assert s.cli("apply", "matomo", "--dsn", s.dsn).exit_code == 0
    s.sql(
        "INSERT INTO matomo_plugin_setting (plugin_name, setting_name, setting_value, user_login) "
        "VALUES ('LoginOIDC', 'clientsecret', 'typo-secret-1', ''), "
        "('LoginOIDC', 'CLIENTSECRET', 'typo-secret-2', ''), "
        "('LoginOIDC', 'db_Password', 'typo-secret-3', '')"
    )
    for args in (("--json",), ()):
        result = s.cli(*args, "apply", "matomo", "--dsn", s.dsn, "--prune", "--dry-run")
        assert result.exit_code == 0, result.stderr
        out = result.stdout + result.stderr
        assert "typo-secret" not in out and "clientsecret" in out
    doc = json.loads(s.cli("--json", "apply", "matomo", "--dsn", s.dsn, "--prune").stdout)
    removed = [c for c in doc["targets"][0]["changes"] if c["action"] == "removed"]
    assert len(removed) == 3 and {c["old"] for c in removed} == {"********"}
    assert "clientsecret" not in s.rows()


def test_restore_of_another_databases_backup_needs_force(site: Any) -> None:
    first, second = site(), site()
    assert first.cli("apply", "matomo", "--dsn", first.dsn).exit_code == 0
    assert first.cli("apply", "matomo", "--dsn", first.dsn, "--client-id", "two").exit_code == 0
    backup = sorted(first.backups.iterdir())[-1]
    assert second.cli("apply", "matomo", "--dsn", second.dsn, "--client-id", "other").exit_code == 0
    before = second.rows()
    for mode in ("--dry-run", None):
        args = [a for a in ("--json", "apply", "matomo", "--dsn", second.dsn, mode) if a]
        result = second.cli(*args, "--restore", str(backup))
        assert result.exit_code == 1, result.stdout
        message = json.loads(result.stdout)["error"]["message"]
        assert f"taken from {first.db}.matomo_plugin_setting, not {second.db}" in message
        assert second.rows() == before
    forced = second.cli("apply", "matomo", "--dsn", second.dsn, "--restore", str(backup), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert second.rows()["clientId"] == "matomo"  # what `first` had before "two"


def test_a_users_env_reference_is_kept_and_said(site: Any) -> None:
    """Issue 10 item 9 through the CLI: the plaintext never replaces ${VAR}, and the user is told."""
    s = site()
    s.write_config('\n[LoginOIDC]\nclientSecret = "${OIDC_SECRET}"\n')
    result = s.cli("--json", "apply", "matomo", "--config", str(s.config))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    kept = [w for w in doc["warnings"] if w.get("code") == "secret-reference-kept"]
    assert kept and "${OIDC_SECRET}" in kept[0]["message"]
    assert 'clientSecret = "${OIDC_SECRET}"' in s.config.read_text()
    assert SECRET not in s.config.read_text()
    text = s.cli("apply", "matomo", "--config", str(s.config), "--dry-run")
    assert "keeps clientSecret = ${OIDC_SECRET}" in text.stderr + text.stdout
