"""``oidcsetup.apps.matomo.database`` against a real MariaDB with Matomo's real tables."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.database.backup import read_backup
from oidcsetup.apps.matomo.database.dsn import (
    DbSettings,
    parse_dsn,
    settings_from_env,
    settings_from_matomo_config,
)
from oidcsetup.apps.matomo.database.rows import flatten_rows
from oidcsetup.apps.matomo.plan import Action
from oidcsetup.errors import ApplyError, InputError, UnreachableError, UsageError
from tests.support.mariadb import APP_PASSWORD, APP_USER, MariaDB

pytestmark = pytest.mark.mariadb

# Names and stored forms from the plugin's SystemSettings.php (reference table, section 1).
DESIRED: dict[str, str] = {
    "disableSuperuser": "0",
    "disablePasswordConfirmation": "0",
    "disableDirectLoginUrl": "1",
    "allowSignup": "0",
    "bypassTwoFa": "0",
    "autoLinking": "0",
    "authenticationName": "Sign in with Authelia",
    "authorizeUrl": "https://auth.example.com/api/oidc/authorization",
    "tokenUrl": "https://auth.example.com/api/oidc/token",
    "userinfoUrl": "https://auth.example.com/api/oidc/userinfo",
    "endSessionUrl": "",
    "userinfoId": "sub",
    "clientId": "matomo",
    "clientSecret": 's3cr3t & "quoted" $HOME ünï',
    "scope": "openid email",
    "redirectUriOverride": "",
    "allowedSignupDomains": "^example\\.com$\n^example\\.org$",
}
KNOWN = frozenset(DESIRED)


@pytest.fixture
def make_db(mariadb: MariaDB) -> Any:
    created: list[str] = []

    def factory(prefix: str = "matomo_", **kwargs: Any) -> DbSettings:
        name = "m_" + uuid.uuid4().hex[:10]
        mariadb.create_matomo(name, prefix, **kwargs)
        created.append(name)
        settings: DbSettings = mariadb.app_settings(name, prefix)
        return settings

    yield factory
    for name in created:
        mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


def rows_as_matomo_reads(
    mariadb: MariaDB, s: DbSettings, json_col: bool = True
) -> list[tuple[Any, ...]]:
    """PluginSettingsTable::load's SELECT (with or without json_encoded)."""
    cols = (
        "`setting_name`, `setting_value`, `json_encoded`"
        if json_col
        else "`setting_name`, `setting_value`"
    )
    return mariadb.execute(
        f"SELECT {cols} FROM `{s.prefix}plugin_setting` WHERE plugin_name = %s and user_login = %s",
        ("LoginOIDC", ""),
        database=s.database,
    )


def matomo_load(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """PluginSettingsTable::load's flattening: json rows decoded, repeated plain rows -> list."""
    flat: dict[str, Any] = {}
    for row in rows:
        name, value = row[0], row[1]
        if len(row) > 2 and row[2]:
            flat[name] = json.loads(value)
        elif name in flat:
            flat[name] = [*(flat[name] if isinstance(flat[name], list) else [flat[name]]), value]
        else:
            flat[name] = value
    return flat


def test_first_apply_writes_one_row_per_setting_as_matomo_does(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        result = db.apply(DESIRED, known=KNOWN, backup_dir=tmp_path)
    assert result.written
    assert {c.action for c in result.plan.changes} == {Action.ADD}
    rows = rows_as_matomo_reads(mariadb, s)
    assert len(rows) == len(DESIRED)
    assert all(r[2] == 0 for r in rows)
    assert matomo_load(rows) == DESIRED
    users = mariadb.execute(
        f"SELECT DISTINCT user_login FROM `{s.prefix}plugin_setting`", database=s.database
    )
    assert users == [("",)]
    # the backup of an empty state is an empty list of rows, private to the owner
    assert result.backup is not None
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o600
    assert read_backup(result.backup) == []


def test_second_apply_is_in_sync_and_touches_nothing(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED, backup_dir=tmp_path / "one")
    ids = mariadb.execute(
        f"SELECT idplugin_setting FROM `{s.prefix}plugin_setting` ORDER BY 1", database=s.database
    )
    with MatomoDatabase.connect(s) as db:
        assert db.plan(DESIRED).in_sync
        again = db.apply(DESIRED, backup_dir=tmp_path / "two")
    assert not again.written and again.plan.in_sync and again.backup is None
    assert not (tmp_path / "two").exists()
    assert (
        mariadb.execute(
            f"SELECT idplugin_setting FROM `{s.prefix}plugin_setting` ORDER BY 1",
            database=s.database,
        )
        == ids
    )


def test_change_replaces_only_changed_rows_and_restore_puts_them_back(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    s = make_db(prefix="mtm_custom_")
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED)
    before = dict(
        mariadb.execute(
            f"SELECT setting_name, idplugin_setting FROM `{s.prefix}plugin_setting`",
            database=s.database,
        )
    )
    changed = {**DESIRED, "clientId": "matomo-2", "allowSignup": "1"}
    with MatomoDatabase.connect(s) as db:
        plan = db.plan(changed)
        assert {c.setting for c in plan.pending} == {"clientId", "allowSignup"}
        result = db.apply(changed, backup_dir=tmp_path)
    after = dict(
        mariadb.execute(
            f"SELECT setting_name, idplugin_setting FROM `{s.prefix}plugin_setting`",
            database=s.database,
        )
    )
    assert {k for k in after if after[k] != before[k]} == {"clientId", "allowSignup"}
    assert matomo_load(rows_as_matomo_reads(mariadb, s)) == changed
    assert result.backup is not None
    assert flatten_rows(read_backup(result.backup)) == DESIRED
    # the backup holds the secret: 0600
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o600
    with MatomoDatabase.connect(s) as db:
        restored = db.restore(result.backup)
        assert restored.written
        assert {c.setting for c in restored.plan.pending} == {"clientId", "allowSignup"}
        assert not db.restore(result.backup).written  # idempotent
    assert matomo_load(rows_as_matomo_reads(mariadb, s)) == DESIRED


def test_restore_removes_settings_added_since_the_backup(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply({"clientId": "old"})
        result = db.apply({"clientId": "new", "scope": "openid"}, backup_dir=tmp_path)
        assert result.backup is not None
        db.restore(result.backup)
    assert matomo_load(rows_as_matomo_reads(mariadb, s)) == {"clientId": "old"}


def test_duplicates_and_json_rows_are_rewritten_as_one_plain_row(
    mariadb: MariaDB, make_db: Any
) -> None:
    s = make_db()
    table = f"`{s.prefix}plugin_setting`"
    mariadb.execute(
        f"INSERT INTO {table} (plugin_name, setting_name, setting_value, json_encoded, user_login) VALUES "
        "('LoginOIDC','clientId','matomo',0,''), ('LoginOIDC','clientId','matomo',0,''), "
        "('LoginOIDC','scope','\"openid email\"',1,''), ('LoginOIDC','userinfoId','sub',0,'')",
        database=s.database,
    )
    with MatomoDatabase.connect(s) as db:
        assert db.read_settings()["clientId"] == '["matomo", "matomo"]'  # Matomo sees an array
        plan = db.plan({"clientId": "matomo", "scope": "openid email", "userinfoId": "sub"})
        assert {c.setting: c.action for c in plan.changes} == {
            "clientId": Action.CHANGE,
            "scope": Action.CHANGE,
            "userinfoId": Action.UNCHANGED,
        }
        db.apply({"clientId": "matomo", "scope": "openid email", "userinfoId": "sub"})
        assert db.plan({"clientId": "matomo", "scope": "openid email", "userinfoId": "sub"}).in_sync
    rows = rows_as_matomo_reads(mariadb, s)
    assert sorted(rows) == [
        ("clientId", "matomo", 0),
        ("scope", "openid email", 0),
        ("userinfoId", "sub", 0),
    ]


def test_other_plugins_user_rows_and_extra_settings_are_left_alone_unless_pruned(
    mariadb: MariaDB, make_db: Any
) -> None:
    s = make_db()
    table = f"`{s.prefix}plugin_setting`"
    mariadb.execute(
        f"INSERT INTO {table} (plugin_name, setting_name, setting_value, json_encoded, user_login) VALUES "
        "('Other','clientId','x',0,''), ('LoginOIDC','clientId','per-user',0,'bob'), "
        "('LoginOIDC','obsoleteSetting','1',0,'')",
        database=s.database,
    )
    with MatomoDatabase.connect(s) as db:
        db.apply({"clientId": "matomo"})
        assert db.read_settings() == {"clientId": "matomo", "obsoleteSetting": "1"}
        plan = db.plan({"clientId": "matomo"}, prune=True)
        assert [(c.setting, c.action) for c in plan.pending] == [("obsoleteSetting", Action.REMOVE)]
        db.apply({"clientId": "matomo"}, prune=True)
        assert db.read_settings() == {"clientId": "matomo"}
    others = mariadb.execute(
        f"SELECT plugin_name, user_login, setting_value FROM {table} WHERE NOT (plugin_name='LoginOIDC' AND user_login='') ORDER BY 1",
        database=s.database,
    )
    assert others == [("LoginOIDC", "bob", "per-user"), ("Other", "", "x")]


def test_pre_3_5_table_without_json_encoded_and_id(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    s = make_db(prefix="piwik_", legacy=True)
    with MatomoDatabase.connect(s) as db:
        assert not db.schema().json_encoded and not db.schema().has_id
        db.apply(DESIRED)
        changed = {**DESIRED, "clientSecret": "new"}
        result = db.apply(changed, backup_dir=tmp_path)
        assert not db.apply(changed, backup_dir=tmp_path / "x").written
    rows = rows_as_matomo_reads(mariadb, s, json_col=False)
    assert len(rows) == len(DESIRED)
    assert matomo_load(rows) == changed
    assert result.backup is not None
    with MatomoDatabase.connect(s) as db:
        db.restore(result.backup)
    assert matomo_load(rows_as_matomo_reads(mariadb, s, json_col=False)) == DESIRED


def _questions(db: MatomoDatabase) -> int:
    with db.connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Questions'")
        return int(cursor.fetchone()[1])


def test_round_trips_do_not_grow_with_the_number_of_settings(
    mariadb: MariaDB, make_db: Any, tmp_path: Path
) -> None:
    counts = []
    for size in (1, 5, len(DESIRED)):
        s = make_db()
        desired = dict(list(DESIRED.items())[:size])
        with MatomoDatabase.connect(s) as db:
            server_before = _questions(db)
            db.read_settings()
            db.apply(desired, backup_dir=tmp_path)
            db.apply({k: v + "x" for k, v in desired.items()})  # every row changes: DELETE + INSERT
            server_delta = _questions(db) - server_before - 1  # minus the SHOW STATUS itself
            counts.append(db.statements)
            assert server_delta == db.statements  # the counter counts what reaches the server
    assert counts[0] == counts[1] == counts[2]
    # schema, SELECT, then twice: GET_LOCK, BEGIN, SELECT FOR UPDATE, DELETE, INSERT, COMMIT,
    # RELEASE; the first apply has no row to delete, so no DELETE
    assert counts[0] == 2 + 6 + 7


def test_connection_killed_between_delete_and_insert_leaves_old_values(
    mariadb: MariaDB, make_db: Any
) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED)
    db = MatomoDatabase.connect(s)
    thread_id = db.connection.thread_id()

    def kill(stage: str) -> None:
        if stage == "deleted":
            mariadb.execute(f"KILL {int(thread_id)}")

    with pytest.raises(ApplyError) as info:
        db.apply({**DESIRED, "clientId": "new", "scope": "openid"}, hook=kill)
    db.close()
    assert "nothing was changed" in (info.value.hint or "")
    assert matomo_load(rows_as_matomo_reads(mariadb, s)) == DESIRED


def test_error_after_delete_rolls_back(mariadb: MariaDB, make_db: Any, tmp_path: Path) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED)

        def boom(stage: str) -> None:
            if stage == "inserted":
                raise ApplyError("injected failure")

        with pytest.raises(ApplyError, match="injected"):
            db.apply({**DESIRED, "clientId": "new"}, hook=boom, backup_dir=tmp_path)
        assert db.read_settings() == DESIRED  # the same connection still works
    assert matomo_load(rows_as_matomo_reads(mariadb, s)) == DESIRED


def test_two_applies_at_once_end_in_one_consistent_state(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED)
    variants = [{k: f"{v}-{i}" for k, v in DESIRED.items()} for i in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(desired: dict[str, str]) -> None:
        try:
            with MatomoDatabase.connect(s) as db:
                start.wait()
                db.apply(desired, hook=lambda stage: threading.Event().wait(0.05))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    rows = rows_as_matomo_reads(mariadb, s)
    assert len(rows) == len(DESIRED)  # never two rows for one setting
    assert matomo_load(rows) in variants  # wholly one apply or the other


def linked_superusers(db: MatomoDatabase) -> list[str]:
    """The super users the disableSuperuser rail sees as linked (apps/matomo/safety.py)."""
    from oidcsetup.apps.matomo.safety import super_users

    return [user.login for user in super_users(db) if user.linked]


def test_link_inserts_updates_and_refuses(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db()
    t = s.prefix
    mariadb.execute(
        f"INSERT INTO `{t}user` (login, password, email, superuser_access) VALUES "
        "('admin','x','admin@example.com',1), ('alice','x','alice@example.com',0)",
        database=s.database,
    )
    with MatomoDatabase.connect(s) as db:
        assert linked_superusers(db) == []
        assert db.link("admin", "sub-admin", dry_run=True).action == "added"
        assert linked_superusers(db) == []
        result = db.link("admin", "sub-admin")
        assert (result.action, result.superuser) == ("added", True)
        assert linked_superusers(db) == ["admin"]
        assert db.link("admin", "sub-admin").action == "unchanged"
        changed = db.link("admin", "sub-admin-2")
        assert (changed.action, changed.previous_subject) == ("changed", "sub-admin")
        with pytest.raises(InputError, match="already linked to Matomo user 'admin'"):
            db.link("alice", "sub-admin-2")
        with pytest.raises(InputError, match="does not exist"):
            db.link("nobody", "x")
        assert db.link("alice", "sub-admin-2", force=True).action == "added"
        assert linked_superusers(db) == []
        assert db.plugin_state().linked_users == 1
    rows = mariadb.execute(
        f"SELECT user, provider_user, provider FROM `{t}loginoidc_provider`", database=s.database
    )
    assert rows == [("alice", "sub-admin-2", "oidc")]


def test_link_without_the_plugin_table(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db(provider_table=False)
    with MatomoDatabase.connect(s) as db:
        assert db.plugin_state().provider_table is False
        assert linked_superusers(db) == []
        with pytest.raises(InputError, match="never activated") as info:
            db.link("admin", "x")
        assert "plugin:activate LoginOIDC" in (info.value.hint or "")


# --- bad input --------------------------------------------------------------------------------


def test_wrong_password(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db()
    with pytest.raises(InputError, match="access denied") as info:
        MatomoDatabase.connect(DbSettings(**{**s.__dict__, "password": "wrong"}))
    assert info.value.exit_code == 1
    assert "wrong" not in info.value.message


def test_unknown_database(mariadb: MariaDB) -> None:
    s = DbSettings(database="nope", user="root", password="rootpw", unix_socket=mariadb.socket)
    with pytest.raises(InputError, match="database 'nope' does not exist"):
        MatomoDatabase.connect(s)


def test_unreachable_server() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        s = DbSettings(database="m", host="127.0.0.1", port=port, connect_timeout=2)
        with pytest.raises(UnreachableError) as info:
            MatomoDatabase.connect(s)
    assert info.value.exit_code == 4


def test_missing_table_wrong_prefix(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db()
    with (
        MatomoDatabase.connect(DbSettings(**{**s.__dict__, "prefix": "piwik_"})) as db,
        pytest.raises(InputError, match="piwik_plugin_setting does not exist") as info,
    ):
        db.plan(DESIRED)
    assert "prefix" in (info.value.hint or "")


def test_unknown_setting_names_are_refused(mariadb: MariaDB, make_db: Any) -> None:
    s = make_db()
    with (
        MatomoDatabase.connect(s) as db,
        pytest.raises(InputError, match=r"unknown LoginOIDC setting name.*clientID"),
    ):
        db.apply({"clientID": "x"}, known=KNOWN)
    assert rows_as_matomo_reads(mariadb, s) == []


@pytest.mark.parametrize(
    "dsn",
    [
        "matomo@localhost/db",
        "postgres://u@h/db",
        "mysql://u@h:99999/db",
        "mysql://u@h:abc/db",
        "mysql://u@h/",
        "mysql://u@h/db?bogus=1",
        "mysql://u@h/db?prefix=bad-prefix",
        "mysql:///db",
        "mysql://u@[::1/db",
    ],
)
def test_malformed_dsn(dsn: str) -> None:
    with pytest.raises((UsageError, InputError)):
        parse_dsn(dsn, environ={})


def test_dsn_password_is_refused() -> None:
    with pytest.raises(UsageError, match="contains a password") as info:
        parse_dsn("mysql://u:pw@h/db", environ={})
    assert "pw" not in info.value.message and info.value.exit_code == 2


def test_dsn_parsing() -> None:
    s = parse_dsn(
        "mysql://matomo@db.example:3307/analytics?prefix=mtm_&ssl_ca=/ca.pem",
        environ={"OIDCSETUP_DB_PASSWORD": "pw"},
    )
    assert (s.host, s.port, s.user, s.database, s.prefix, s.password) == (
        "db.example",
        3307,
        "matomo",
        "analytics",
        "mtm_",
        "pw",
    )
    assert s.tls and s.tls.ca == "/ca.pem" and s.tls.verify is True
    assert "pw" not in repr(s)
    sock = parse_dsn(
        "mysql://root@localhost/m?socket=/tmp/x.sock", environ={}, prompt=lambda: "typed"
    )
    assert (sock.unix_socket, sock.password) == ("/tmp/x.sock", "typed")


def test_env_settings() -> None:
    env = {
        "OIDCSETUP_DB_HOST": "h",
        "OIDCSETUP_DB_PORT": "3310",
        "OIDCSETUP_DB_USER": "u",
        "OIDCSETUP_DB_PASSWORD": "p",
        "OIDCSETUP_DB_NAME": "n",
        "OIDCSETUP_DB_PREFIX": "",
    }
    s = settings_from_env(env)
    assert s is not None and (s.host, s.port, s.user, s.password, s.database, s.prefix) == (
        "h",
        3310,
        "u",
        "p",
        "n",
        "",
    )
    assert settings_from_env({}) is None
    with pytest.raises(InputError, match="invalid table prefix"):
        settings_from_env({**env, "OIDCSETUP_DB_PREFIX": "x`; DROP TABLE y; --"})


MATOMO_CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
; file automatically generated or modified by Matomo; you can manually override the default values in global.ini.php by redefining them in this file.
[database]
host = "127.0.0.1"
username = "{user}"
password = "{password}"
dbname = "{dbname}"
tables_prefix = "{prefix}"
port = {port}
charset = "utf8mb4"

[General]
salt = "abc"
"""


def test_connection_from_a_matomo_config(mariadb: MariaDB, make_db: Any, tmp_path: Path) -> None:
    s = make_db()
    config = tmp_path / "config.ini.php"
    # Matomo writes values through htmlentities(ENT_COMPAT): & becomes &amp;, ' stays
    config.write_text(
        MATOMO_CONFIG.format(
            user=APP_USER,
            password=APP_PASSWORD.replace("&", "&amp;"),
            dbname=s.database,
            prefix=s.prefix,
            port=mariadb.port,
        )
    )
    from_config = settings_from_matomo_config(config, environ={})
    assert from_config.password == APP_PASSWORD and from_config.source == f"config:{config}"
    with MatomoDatabase.connect(from_config) as db:
        assert db.apply({"clientId": "matomo"}).written
    socket_config = tmp_path / "socket.ini.php"
    socket_config.write_text(
        MATOMO_CONFIG.format(
            user="root", password="rootpw", dbname=s.database, prefix=s.prefix, port=mariadb.socket
        ).replace('host = "127.0.0.1"', 'host = ""')
    )
    via_socket = settings_from_matomo_config(socket_config, environ={})
    assert via_socket.unix_socket == mariadb.socket
    with MatomoDatabase.connect(via_socket) as db:
        assert db.read_settings() == {"clientId": "matomo"}


@pytest.mark.parametrize(
    "text",
    ["[General]\nsalt = 1\n", "not an ini file at all {", "[database]\nhost = x\n", ""],
)
def test_non_matomo_config_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.ini.php"
    path.write_text(text)
    with pytest.raises(InputError, match="not a Matomo config file"):
        settings_from_matomo_config(path, environ={})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        settings_from_matomo_config(tmp_path / "nope.ini.php", environ={})


@pytest.mark.php
@pytest.mark.skipif(shutil.which("php") is None, reason="php-cli is not installed")
def test_php_pdo_reads_what_we_wrote(mariadb: MariaDB, make_db: Any) -> None:
    probe = subprocess.run(
        ["php", "-r", "echo in_array('mysql', PDO::getAvailableDrivers()) ? 1 : 0;"],
        capture_output=True,
        text=True,
    )
    if probe.stdout.strip() != "1":
        pytest.skip("php-mysql (pdo_mysql) is not installed")
    s = make_db()
    with MatomoDatabase.connect(s) as db:
        db.apply(DESIRED)
    # The same SELECT and flattening as PluginSettingsTable::load, through PDO.
    script = r"""
$pdo = new PDO('mysql:host=127.0.0.1;port=' . $argv[1] . ';dbname=' . $argv[2] . ';charset=utf8mb4', $argv[3], $argv[4]);
$st = $pdo->prepare('SELECT `setting_name`, `setting_value`, `json_encoded` FROM ' . $argv[5] . 'plugin_setting WHERE plugin_name = ? and user_login = ?');
$st->execute(['LoginOIDC', '']);
$flat = [];
foreach ($st->fetchAll(PDO::FETCH_ASSOC) as $s) {
  $n = $s['setting_name'];
  if (!empty($s['json_encoded'])) { $flat[$n] = json_decode($s['setting_value'], true); }
  elseif (array_key_exists($n, $flat)) { if (!is_array($flat[$n])) { $flat[$n] = [$flat[$n]]; } $flat[$n][] = $s['setting_value']; }
  else { $flat[$n] = $s['setting_value']; }
}
echo json_encode($flat);
"""
    out = subprocess.run(
        [
            "php",
            "-r",
            script,
            "--",
            str(mariadb.port),
            s.database,
            APP_USER,
            APP_PASSWORD,
            s.prefix,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == DESIRED
