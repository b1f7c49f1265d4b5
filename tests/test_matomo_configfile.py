"""The config-file target: edit config.ini.php in place, read back through PHP as Matomo does."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.configfile import (
    MatomoConfig,
    apply_config,
    plan_config,
    render_config,
    restore_config,
)
from oidcsetup.apps.matomo.plan import Action
from oidcsetup.apps.matomo.settings import EnvRef, SettingValue, desired_settings
from oidcsetup.errors import ApplyError, InputError
from oidcsetup.integration import ClientRegistration, Integration, MatomoApp, ProviderEndpoints
from tests.support.php import php_read_ini, require_php

NASTY_SECRET = 'p"a&b$c;d\\e é ${NOPE} &amp; ${ \nsecond line\\'

# A config.ini.php as Matomo 5 writes it after installation and some use, with the comments,
# blank lines and quoting styles people add by hand.
MATOMO_CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
; file automatically generated or modified by Matomo; you can manually override the default values in global.ini.php by redefining them in this file.
[database]
host = "127.0.0.1"
username = "matomo"
password = "p&amp;ss&#36;word&quot;x"
dbname = "matomo"
tables_prefix = "matomo_"
charset = "utf8mb4"
collation = "utf8mb4_general_ci"

[General]
salt = "4d3e1b0c9f8a7e6d5c4b3a29181716151413121110"
trusted_hosts[] = "matomo.example.com"
trusted_hosts[] = "localhost:8080"
; behind the TLS proxy
assume_secure_protocol = 1
proxy_client_headers[] = "HTTP_X_FORWARDED_FOR"
login_logout_url = 'https://matomo.example.com/'

[mail]
transport = "smtp"
host = "smtp.example.com"  ; relay

[Plugins]
Plugins[] = "CorePluginsAdmin"
Plugins[] = "CoreAdminHome"
Plugins[] = "CoreHome"
Plugins[] = "Login"
Plugins[] = "UsersManager"
Plugins[] = "TwoFactorAuth"

[PluginsInstalled]
PluginsInstalled[] = "Diagnostics"
PluginsInstalled[] = "Login"
PluginsInstalled[] = "CoreAdminHome"
PluginsInstalled[] = "UsersManager"

[Tracker]
; keep
ignore_visits_cookie_name = "matomo_ignore"
"""

GLOBAL_INI = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host =
port = 3306

[Plugins]
Plugins[] = "CorePluginsAdmin"
Plugins[] = "CoreHome"
Plugins[] = "Login"

[PluginsInstalled]
PluginsInstalled[] = "Login"
PluginsInstalled[] = "CoreHome"
"""


def integration(**matomo: Any) -> Integration:
    return Integration(
        provider=ProviderEndpoints(
            issuer="https://auth.example.com",
            authorization_endpoint="https://auth.example.com/api/oidc/authorization",
            token_endpoint="https://auth.example.com/api/oidc/token",
            userinfo_endpoint="https://auth.example.com/api/oidc/userinfo",
        ),
        client=ClientRegistration(client_id="matomo"),
        matomo=MatomoApp(url="https://matomo.example.com", **matomo),
    )


def desired(
    secret: str | None = "insecure_secret", env: str | None = None, **matomo: Any
) -> dict[str, SettingValue]:
    return desired_settings(integration(**matomo), secret, env)


def as_php_reads(values: dict[str, SettingValue]) -> dict[str, str]:
    """What PHP's parse_ini_string gives for each desired value (bools as "1"/"0")."""
    out = {}
    for name, value in values.items():
        out[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.ini.php"
    path.parent.mkdir()
    path.write_text(MATOMO_CONFIG, encoding="utf-8")
    path.chmod(0o640)
    return path


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bak-*"))


# --- writes read back exactly, and nothing else changes -----------------------------------------


def test_new_section_reads_back_exactly_and_rest_is_byte_identical(config: Path) -> None:
    want = desired(
        NASTY_SECRET, allowed_signup_domains=("example.com", "x.example"), allow_signup=True
    )
    result = apply_config(config, want)
    assert result.written and result.backup is not None
    new = config.read_text(encoding="utf-8")
    assert new.startswith(MATOMO_CONFIG)  # every original byte, in place, first line included
    assert new[len(MATOMO_CONFIG) :].startswith("\n[LoginOIDC]\n")
    assert result.backup.read_text(encoding="utf-8") == MATOMO_CONFIG
    assert config.stat().st_mode & 0o777 == 0o640
    php = php_read_ini(new)
    assert php["LoginOIDC"] == as_php_reads(want)
    assert php["LoginOIDC"]["clientSecret"] == NASTY_SECRET
    before = php_read_ini(MATOMO_CONFIG)
    assert {k: v for k, v in php.items() if k != "LoginOIDC"} == before


def test_existing_section_is_updated_in_place(config: Path) -> None:
    text = MATOMO_CONFIG.replace(
        "[mail]",
        '[LoginOIDC]\n; managed by hand until now\nclientId = old\nscope = "openid"\n'
        'allowedSignupDomains = "a\nb"\nextraKey = "kept"\n\n[mail]',
    )
    config.write_text(text)
    want = desired("s3cret")
    plan = plan_config(MatomoConfig.load(config), want)
    actions = {c.setting: c.action for c in plan.changes}
    assert actions["clientId"] is Action.CHANGE
    assert actions["scope"] is Action.CHANGE
    assert actions["allowedSignupDomains"] is Action.CHANGE
    assert actions["tokenUrl"] is Action.ADD
    assert "extraKey" not in actions
    apply_config(config, want)
    new = config.read_text()
    head = text.partition("[LoginOIDC]")[0]
    assert new.startswith(head + '[LoginOIDC]\n; managed by hand until now\nclientId = "matomo"\n')
    assert new.endswith("\n[mail]" + text.split("\n[mail]", 1)[1])  # the rest untouched
    php = php_read_ini(new)
    assert php["LoginOIDC"].pop("extraKey") == "kept"
    assert php["LoginOIDC"] == as_php_reads(want)
    # the new keys went into the existing section, before the blank line that ends it
    assert 'extraKey = "kept"\ndisableSuperuser = 0\n' in new


def test_second_apply_is_in_sync_and_writes_nothing(config: Path) -> None:
    want = desired(NASTY_SECRET)
    apply_config(config, want)
    first = config.read_bytes()
    stat = config.stat()
    result = apply_config(config, want)
    assert result.plan.in_sync and not result.written and result.backup is None
    assert config.read_bytes() == first
    assert config.stat().st_mtime_ns == stat.st_mtime_ns
    assert len(backups(config)) == 1


def test_spelling_differences_are_not_changes(config: Path) -> None:
    """Matomo reads `1`, `"1"` and `on` alike for a bool; `matomo` and "matomo" alike."""
    want = desired("s")
    lines = [
        f"{k} = {('on' if v else 'off') if isinstance(v, bool) else repr(str(v)) if k == 'clientId' else chr(34) + str(v) + chr(34)}"
        for k, v in want.items()
    ]
    config.write_text(MATOMO_CONFIG + "\n[LoginOIDC]\n" + "\n".join(lines) + "\n")
    assert plan_config(MatomoConfig.load(config), want).in_sync


def test_quoted_false_is_a_change(config: Path) -> None:
    """A quoted "false" reads as true in Matomo; the plan says so and the write fixes it."""
    config.write_text(MATOMO_CONFIG + '\n[LoginOIDC]\nallowSignup = "false"\n')
    plan = plan_config(MatomoConfig.load(config), desired("s"))
    change = next(c for c in plan.changes if c.setting == "allowSignup")
    assert (change.action, change.old, change.new) == (Action.CHANGE, "1", "0")


def test_prune_removes_unwanted_keys_but_never_an_unmanaged_secret(config: Path) -> None:
    config.write_text(
        MATOMO_CONFIG + '\n[LoginOIDC]\nclientSecret = "keep-me"\nobsolete = "x"\nmulti = "a\nb"\n'
    )
    want = desired(secret=None)
    assert "clientSecret" not in want
    result = apply_config(config, want, prune=True)
    removed = {c.setting for c in result.plan.changes if c.action is Action.REMOVE}
    assert removed == {"obsolete", "multi"}
    php = php_read_ini(config.read_text())
    assert php["LoginOIDC"]["clientSecret"] == "keep-me"
    assert "obsolete" not in php["LoginOIDC"] and "multi" not in php["LoginOIDC"]
    assert not apply_config(config, want, prune=True).written


def test_duplicate_keys_collapse_to_one(config: Path) -> None:
    config.write_text(
        MATOMO_CONFIG + '\n[LoginOIDC]\nclientId = "a"\n\n[LoginOIDC]\nclientId = "b"\n'
    )
    apply_config(config, desired("s"))
    new = config.read_text()
    assert new.count("clientId") == 1
    assert php_read_ini(new)["LoginOIDC"]["clientId"] == "matomo"


def test_secret_as_env_reference(config: Path) -> None:
    want = desired(secret=None, env="MATOMO_OIDC_CLIENT_SECRET")
    assert want["clientSecret"] == EnvRef("MATOMO_OIDC_CLIENT_SECRET")
    apply_config(config, want)
    text = config.read_text()
    assert 'clientSecret = "${MATOMO_OIDC_CLIENT_SECRET}"\n' in text
    env = {"PATH": "/usr/bin:/bin", "MATOMO_OIDC_CLIENT_SECRET": "from-the-env"}
    assert php_read_ini(text, env)["LoginOIDC"]["clientSecret"] == "from-the-env"
    assert apply_config(config, want).plan.in_sync
    # a literal secret that reads like the reference is a different thing
    literal = desired(secret="${MATOMO_OIDC_CLIENT_SECRET}")
    change = next(
        c
        for c in plan_config(MatomoConfig.load(config), literal).changes
        if c.setting == "clientSecret"
    )
    assert change.action is Action.CHANGE
    # ... but the reference the user chose is kept over a plain secret (issue 10 item 9)
    kept = apply_config(config, literal)
    assert kept.kept_references == ("clientSecret = ${MATOMO_OIDC_CLIENT_SECRET}",)
    assert 'clientSecret = "${MATOMO_OIDC_CLIENT_SECRET}"\n' in config.read_text()
    # where the file holds no reference, the literal is written as a literal
    config.write_text(MATOMO_CONFIG)
    apply_config(config, literal)
    text = config.read_text()
    assert 'clientSecret = "&#36;{MATOMO_OIDC_CLIENT_SECRET}"' in text
    assert php_read_ini(text, env)["LoginOIDC"]["clientSecret"] == "${MATOMO_OIDC_CLIENT_SECRET}"
    assert plan_config(MatomoConfig.load(config), want).pending[0].setting == "clientSecret"


def test_crlf_file_keeps_its_line_endings(config: Path) -> None:
    crlf = MATOMO_CONFIG.replace("\n", "\r\n")
    config.write_bytes(crlf.encode())
    want = desired("s", allowed_signup_domains=("a.example", "b.example"))
    apply_config(config, want)
    data = config.read_bytes()
    assert data.startswith(crlf.encode())
    added = data[len(crlf) :].decode()
    assert "\r\n[LoginOIDC]\r\n" in added
    php = php_read_ini(data.decode())
    assert (
        php["LoginOIDC"]["allowedSignupDomains"] == "a.example\nb.example"
    )  # the value's own \n is kept


def test_file_without_final_newline(config: Path) -> None:
    config.write_text(MATOMO_CONFIG.rstrip("\n"))
    assert not apply_config(config, desired("s"), dry_run=True).written
    apply_config(config, desired("s"))
    assert config.read_text().startswith(MATOMO_CONFIG)
    assert (
        php_read_ini(config.read_text())["Tracker"]["ignore_visits_cookie_name"] == "matomo_ignore"
    )


def test_dry_run_writes_nothing(config: Path) -> None:
    result = apply_config(config, desired("s"), dry_run=True)
    assert not result.written and not result.plan.in_sync
    assert config.read_text() == MATOMO_CONFIG and backups(config) == []


def test_symlinked_config_is_written_through(config: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.ini.php"
    link.symlink_to(config)
    apply_config(link, desired("s"))
    assert link.is_symlink()
    assert "[LoginOIDC]" in config.read_text()


# --- plugin activation --------------------------------------------------------------------------


def test_activate_appends_to_the_complete_local_lists(config: Path) -> None:
    result = apply_config(config, desired("s"), activate=True)
    assert result.activation is not None
    # Plugins[] only: a hand-written PluginsInstalled[] line makes Matomo skip the plugin's
    # install for good (seen on Matomo 5.1.2; tests/test_real_matomo_fixes.py shows it).
    assert result.activation.added_to == ("Plugins",)
    assert result.activation.copied_from_global == ()
    assert "next web request" in result.activation.note
    php = php_read_ini(config.read_text())
    assert php["Plugins"]["Plugins"] == [
        "CorePluginsAdmin", "CoreAdminHome", "CoreHome", "Login", "UsersManager", "TwoFactorAuth", "LoginOIDC",
    ]  # fmt: skip
    assert "LoginOIDC" not in php["PluginsInstalled"]["PluginsInstalled"]
    assert len(php["PluginsInstalled"]["PluginsInstalled"]) == 4
    assert (
        'Plugins[] = "TwoFactorAuth"\nPlugins[] = "LoginOIDC"\n\n[PluginsInstalled]'
        in config.read_text()
    )
    again = apply_config(config, desired("s"), activate=True)
    assert again.activation is not None and again.activation.already_active and not again.written
    assert MatomoConfig.load(config).plugin_state().activated


def test_activate_copies_global_list_when_local_has_none(config: Path) -> None:
    text = MATOMO_CONFIG.split("[Plugins]")[0] + "[Tracker]\nx = 1\n"
    config.write_text(text)
    (config.parent / "global.ini.php").write_text(GLOBAL_INI)
    state = MatomoConfig.load(config).plugin_state()
    assert state.plugins is None and not state.activated
    result = apply_config(config, desired("s"), activate=True)
    assert result.activation is not None
    assert result.activation.copied_from_global == ("Plugins",)
    php = php_read_ini(config.read_text())
    assert php["Plugins"]["Plugins"] == ["CorePluginsAdmin", "CoreHome", "Login", "LoginOIDC"]
    assert "PluginsInstalled" not in php  # Matomo's own record, never written by the tool
    assert config.read_text().startswith(text)


def test_activate_refuses_without_a_complete_list(config: Path) -> None:
    text = MATOMO_CONFIG.split("[Plugins]")[0]
    config.write_text(text)
    with pytest.raises(ApplyError, match="complete list") as info:
        apply_config(config, desired("s"), activate=True)
    assert "plugin:activate" in (info.value.hint or "")
    assert config.read_text() == text and backups(config) == []


# --- [database] for the database target ----------------------------------------------------------


def test_database_section_is_decoded_like_matomo(config: Path) -> None:
    db = MatomoConfig.load(config).database(environ={})
    php = php_read_ini(MATOMO_CONFIG)["database"]
    assert db.password == php["password"] == 'p&ss$word"x'
    assert (db.host, db.port, db.unix_socket, db.username, db.dbname) == (
        "127.0.0.1",
        3306,
        None,
        "matomo",
        "matomo",
    )
    assert (db.tables_prefix, db.charset, db.collation) == (
        "matomo_",
        "utf8mb4",
        "utf8mb4_general_ci",
    )
    assert db.to_json()["password"] == "********"


def test_database_socket_ssl_and_env(config: Path) -> None:
    config.write_text(
        "; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nhost = \nport = /run/mysqld/mysqld.sock\n"
        'username = "u"\npassword = "${DB_PASS}"\ndbname = "m"\ntables_prefix = "piwik_"\n'
        'enable_ssl = 1\nssl_ca = "/etc/ssl/ca.pem"\nssl_no_verify = 0\n'
    )
    db = MatomoConfig.load(config).database(environ={"DB_PASS": "from env"})
    assert (db.host, db.unix_socket, db.password, db.tables_prefix) == (
        "",
        "/run/mysqld/mysqld.sock",
        "from env",
        "piwik_",
    )
    assert db.enable_ssl and db.ssl_ca == "/etc/ssl/ca.pem" and not db.ssl_no_verify
    assert db.env_refs == ("DB_PASS",)
    config.write_text("; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nport = abc\n")
    with pytest.raises(InputError, match="port"):
        MatomoConfig.load(config).database(environ={})
    config.write_text("; <?php exit; ?> DO NOT REMOVE THIS LINE\n[General]\nx = 1\n")
    with pytest.raises(InputError, match=r"no \[database\]"):
        MatomoConfig.load(config).database(environ={})


# --- refusing what is not a Matomo config ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[PHP]\nengine = On\n", "not a Matomo config file"),
        (b"\xff\xfe binary", "not UTF-8"),
        (
            b"; <?php exit; ?> DO NOT REMOVE THIS LINE\n[other]\nx = 1\n",
            "none of Matomo's sections",
        ),
        (
            b'; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nhost = "unclosed\n',
            "never closed",
        ),
        (b"", "not a Matomo config file"),
    ],
)
def test_non_matomo_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.ini"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        apply_config(path, desired("s"))
    assert path.read_bytes() == content


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        apply_config(tmp_path / "nope.ini.php", desired("s"))
    with pytest.raises(InputError, match="folder"):
        apply_config(tmp_path, desired("s"))


# --- faults ---------------------------------------------------------------------------------------


def test_failed_rename_leaves_the_old_file(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: Any, dst: Any, **_: Any) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(ApplyError, match="left unchanged"):
        apply_config(config, desired("s"))
    monkeypatch.undo()
    assert config.read_text() == MATOMO_CONFIG
    assert backups(config) == []
    assert [p.name for p in config.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_full_disk_gives_a_clear_error(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the new content (the backup is the first)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(ApplyError, match="no space left"):
        apply_config(config, desired("s"))
    monkeypatch.undo()
    assert config.read_text() == MATOMO_CONFIG and backups(config) == []


def test_read_only_file_gives_a_clear_error(config: Path) -> None:
    config.chmod(0o444)
    with pytest.raises(ApplyError, match="read-only") as info:
        apply_config(config, desired("s"))
    assert "chmod" in (info.value.hint or "")
    assert config.read_text() == MATOMO_CONFIG and backups(config) == []
    # in sync needs no write, so a read-only file that is already right is fine
    config.chmod(0o644)
    apply_config(config, desired("s"))
    config.chmod(0o444)
    assert apply_config(config, desired("s")).plan.in_sync


def test_concurrent_applies_end_consistent(config: Path) -> None:
    """Two writers at once: the lock serialises them; the file is one whole desired state."""
    wants = [desired(f"secret-{i}", button_name=f"Login {i}") for i in range(2)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(want: dict[str, SettingValue]) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                apply_config(config, want)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in wants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    text = config.read_text()
    assert text.startswith(MATOMO_CONFIG) and text.count("[LoginOIDC]") == 1
    assert php_read_ini(text)["LoginOIDC"] in [as_php_reads(w) for w in wants]


def test_lock_held_by_another_writer_times_out(config: Path) -> None:
    from oidcsetup.fileio import file_lock

    with file_lock(config), pytest.raises(ApplyError, match="locked"):
        apply_config(config, desired("s"), lock_timeout=0.2)
    assert config.read_text() == MATOMO_CONFIG


def test_restore_puts_the_backup_back(config: Path) -> None:
    result = apply_config(config, desired("s"), activate=True)
    assert result.backup is not None
    saved = restore_config(config, result.backup)
    assert config.read_text() == MATOMO_CONFIG
    assert saved.backup is not None and "[LoginOIDC]" in saved.backup.read_text()
    assert {c.setting for c in saved.plan.pending} >= {"clientId", "Plugins[]"}
    assert not restore_config(config, result.backup).written  # already equal: nothing to do
    bogus = config.parent / "bogus"
    bogus.write_text("[x]\n")
    with pytest.raises(InputError, match="not a Matomo config"):
        restore_config(config, bogus)


def test_render_is_pure(config: Path) -> None:
    cfg = MatomoConfig.load(config)
    text, activation = render_config(cfg, desired("s"))
    assert activation is None and text != MATOMO_CONFIG
    assert config.read_text() == MATOMO_CONFIG


def test_php_is_available_for_these_tests() -> None:
    require_php()


# --- issue 10: the file as PHP reads it, restore, references, refusals -----------------------


def test_two_login_oidc_sections_php_reads_the_last_and_so_do_we(config: Path) -> None:
    """Issue 10 item 7: PHP's parse_ini_string (Matomo's IniReader) keeps the LAST of two
    sections whole; 0.1.0 wrote into the first and then said "in sync"."""
    require_php()
    text = MATOMO_CONFIG + (
        '\n[LoginOIDC]\nclientId = "old"\nclientSecret = "lost"\n\n[LoginOIDC]\nscope = "openid"\n'
    )
    config.write_text(text)
    php = php_read_ini(text)["LoginOIDC"]
    assert php == {"scope": "openid"}  # the real parser: the first section is gone
    assert MatomoConfig.load(config).current_settings() == {"scope": "openid"}
    want = desired("s")
    plan = plan_config(MatomoConfig.load(config), want)
    assert {c.setting for c in plan.pending} == set(want)  # clientSecret "lost" does not count
    apply_config(config, want)
    new = config.read_text()
    assert php_read_ini(new)["LoginOIDC"] == as_php_reads(want)
    assert apply_config(config, want).plan.in_sync
    assert MatomoConfig.load(config).current_settings()["clientSecret"] == "s"


def test_restore_reverts_only_what_its_plan_shows(config: Path) -> None:
    """Issue 10 item 3: a salt changed after the apply survives --restore."""
    require_php()
    result = apply_config(config, desired("s"), activate=True)
    assert result.backup is not None
    changed = config.read_text().replace(
        'salt = "4d3e1b0c9f8a7e6d5c4b3a29181716151413121110"', 'salt = "new-salt"'
    )
    changed = changed.replace("[Tracker]\n", '[Tracker]\nrecord_statistics = "1"\n')
    config.write_text(changed)
    outcome = restore_config(config, result.backup)
    assert outcome.written
    php = php_read_ini(config.read_text())
    assert php["General"]["salt"] == "new-salt"
    assert php["Tracker"]["record_statistics"] == "1"
    assert "LoginOIDC" not in php and "LoginOIDC" not in php["Plugins"]["Plugins"]
    # every line that changed is one the plan named
    before = php_read_ini(changed)
    for section in before:
        if section not in ("LoginOIDC", "Plugins", "PluginsInstalled"):
            assert php[section] == before[section]
    shown = {c.setting for c in outcome.plan.pending}
    assert result.activation is not None
    activated = {f"{name}[]" for name in result.activation.added_to}
    assert "Plugins[]" in activated
    assert shown == set(desired("s")) | activated


def test_restore_with_a_database_backup_names_the_backup_not_config(
    config: Path, tmp_path: Path
) -> None:
    db_backup = tmp_path / "matomo-db-matomo-matomo_-20261126T100000Z.json"
    db_backup.write_text('{"format": "oidcsetup-matomo-db-backup/1", "rows": []}\n')
    with pytest.raises(InputError, match="is a database backup") as info:
        restore_config(config, db_backup)
    assert "--db" in (info.value.hint or "")
    assert config.read_text() == MATOMO_CONFIG


def test_global_ini_php_is_refused(config: Path) -> None:
    global_ini = config.parent / "global.ini.php"
    global_ini.write_text(MATOMO_CONFIG)
    with pytest.raises(InputError, match=r"global\.ini\.php.*upgrade") as info:
        apply_config(global_ini, desired("s"))
    assert "config.ini.php" in (info.value.hint or "")
    assert global_ini.read_text() == MATOMO_CONFIG


def test_a_plain_secret_never_replaces_the_users_env_reference(config: Path) -> None:
    """Issue 10 item 9: clientSecret = "${VAR}" the user chose stays; the result says so."""
    require_php()
    config.write_text(MATOMO_CONFIG + '\n[LoginOIDC]\nclientSecret = "${OIDC_SECRET}"\n')
    result = apply_config(config, desired("plain-secret"))
    assert result.kept_references == ("clientSecret = ${OIDC_SECRET}",)
    text = config.read_text()
    assert "plain-secret" not in text
    env = {"PATH": "/usr/bin:/bin", "OIDC_SECRET": "from-env"}
    assert php_read_ini(text, env)["LoginOIDC"]["clientSecret"] == "from-env"
    assert apply_config(config, desired("plain-secret")).plan.in_sync


def test_immutable_file_is_named_as_such(config: Path) -> None:
    """Issue 10: chattr +i was reported as "read-only (mode 0644)" with a chmod hint."""
    import shutil
    import subprocess

    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("chattr +i needs root and e2fsprogs' chattr")
    if subprocess.run(["chattr", "+i", str(config)], capture_output=True).returncode != 0:
        pytest.skip("this file system does not support chattr +i")
    try:
        with pytest.raises(ApplyError, match=r"immutable \(chattr \+i\)") as info:
            apply_config(config, desired("s"))
        assert "chattr -i" in (info.value.hint or "") and "chmod" not in (info.value.hint or "")
    finally:
        subprocess.run(["chattr", "-i", str(config)], check=True)
    assert config.read_text() == MATOMO_CONFIG and backups(config) == []
