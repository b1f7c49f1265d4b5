"""Issue 15, the database side: the password never goes to a server we have not verified,
TLS checks the host name, ``${VAR}`` in config.ini.php does not read our environment, and no
error repeats a credential.

Hostile servers are ``tests/support/fake_mysql.FakeMySQL`` (a rogue server at the configured
host, which no real server plays); what a real server does is shown on a real MariaDB started
here with TLS (a trustme CA) and the PAM plugin, whose ``pam_use_cleartext_plugin`` makes it
switch clients to ``mysql_clear_password`` exactly like the attack.
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.database.dsn import (
    DbSettings,
    parse_dsn,
    redact_dsn,
    settings_from_matomo_config,
)
from oidcsetup.apps.matomo.database.guard import PasswordWithheld, TlsOptions
from oidcsetup.errors import InputError, UnreachableError, UsageError
from tests.cli import run
from tests.support.fake_mysql import FakeMySQL, RecordingRelay

PASSWORD = "hunter2-db-pass"
SECRET_BYTES = PASSWORD.encode()


def fake_settings(server: FakeMySQL, **kwargs: Any) -> DbSettings:
    return DbSettings(
        database="matomo",
        user="matomo",
        password=PASSWORD,
        host="127.0.0.1",
        port=server.port,
        connect_timeout=5,
        **kwargs,
    )


def attempt(settings: DbSettings) -> BaseException:
    with pytest.raises(Exception) as info:
        MatomoDatabase.connect(settings).close()
    return info.value


@pytest.fixture(scope="module")
def ca() -> Any:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


def server_context(ca: Any, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


# --- a rogue server asks for the password ---------------------------------------------------


@pytest.mark.parametrize(
    ("switch_to", "data"),
    [("mysql_clear_password", b""), ("dialog", b"\x04Password: ")],
)
def test_switch_to_a_cleartext_plugin_gets_no_password(switch_to: str, data: bytes) -> None:
    with FakeMySQL(switch_to=switch_to, switch_data=data) as server:
        error = attempt(fake_settings(server))
    assert not server.saw(SECRET_BYTES), f"the password reached the server via {switch_to}"
    assert isinstance(error, PasswordWithheld), error
    assert f"({switch_to})" in error.message and "not sent" in error.message
    assert error.exit_code == 1 and "TLS" in (error.hint or "")


def test_caching_sha2_full_authentication_gets_no_password() -> None:
    """MySQL 8's default plugin: "perform full authentication" on a plain connection makes
    PyMySQL fetch the server's RSA key and encrypt the password to it; the rogue server
    decrypts it. Refused: the fast path (a challenge-response) still works (next test)."""
    with FakeMySQL(plugin="caching_sha2_password", full_auth=True) as server:
        error = attempt(fake_settings(server))
    assert server.recovered is None and not server.saw(SECRET_BYTES)
    assert isinstance(error, PasswordWithheld), error


def test_caching_sha2_fast_path_is_not_affected() -> None:
    with FakeMySQL(plugin="caching_sha2_password") as server:
        error = attempt(fake_settings(server))
    # the server's answer to the scramble (access denied here) is what the user sees
    assert isinstance(error, InputError) and not isinstance(error, PasswordWithheld)
    assert "access denied" in error.message
    assert not server.saw(SECRET_BYTES)


@pytest.mark.parametrize("offer_tls", [False, True])
def test_sha256_password_gets_no_password(ca: Any, offer_tls: bool) -> None:
    """Plain: PyMySQL asks for the server's key. With TLS offered (PyMySQL's unverified
    "preferred" TLS, no TLS option given): it puts the password in its very first answer."""
    tls = server_context(ca, "127.0.0.1") if offer_tls else None
    with FakeMySQL(plugin="sha256_password", tls=tls) as server:
        error = attempt(fake_settings(server))
    assert server.tls_used is offer_tls
    assert server.recovered is None and not server.saw(SECRET_BYTES)
    assert isinstance(error, PasswordWithheld), error


def test_cleartext_is_sent_over_verified_tls_only(ca: Any, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = server_context(ca, "127.0.0.1")
    with FakeMySQL(switch_to="mysql_clear_password", tls=context) as server:
        error = attempt(fake_settings(server, tls=TlsOptions(ca=str(ca_file))))
    assert server.tls_used and server.saw(SECRET_BYTES)  # verified TLS: the server is ours
    assert isinstance(error, InputError) and "access denied" in error.message
    with FakeMySQL(switch_to="mysql_clear_password", tls=context) as server:
        error = attempt(fake_settings(server, tls=TlsOptions(verify=False)))
    assert server.tls_used and not server.saw(SECRET_BYTES)  # ssl_verify=0: anyone's TLS
    assert isinstance(error, PasswordWithheld)


def test_non_latin1_password_is_not_leaked_nor_called_unreachable() -> None:
    with FakeMySQL() as server:
        error = attempt(
            DbSettings(database="m", user="u", password="pä€ss", host="127.0.0.1", port=server.port)
        )
        sent = b"".join(server.received)
    assert isinstance(error, InputError) and not isinstance(error, UnreachableError)
    assert "access denied" in error.message
    assert "€" not in error.message + (error.hint or "")
    assert b"u\0" in sent  # the handshake went out (PHP sends the UTF-8 bytes too)


# --- credentials in messages -----------------------------------------------------------------


@pytest.mark.parametrize(
    "dsn",
    [
        "postgres://matomo:hunter2-db-pass@db/matomo",
        "mysqlx://matomo:hunter2-db-pass@db/matomo?x",
        "mysql://matomo:hunter2-db-pass@db/matomo#frag",
        "matomo:hunter2-db-pass@db/matomo",
    ],
)
def test_a_dsn_password_is_never_repeated(dsn: str) -> None:
    with pytest.raises((UsageError, InputError)) as info:
        parse_dsn(dsn, environ={})
    assert PASSWORD not in info.value.message + (info.value.hint or "")
    assert PASSWORD not in redact_dsn(dsn)


def test_a_dsn_password_is_not_echoed_by_the_cli() -> None:
    result = run(
        ["--json", "apply", "matomo", "--db", "--dsn", "postgres://u:hunter2-db-pass@db/m"],
        env={"OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 2
    assert PASSWORD not in result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is False


# --- ${VAR} in [database] --------------------------------------------------------------------

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "{host}"
username = "matomo"
password = "{password}"
dbname = "matomo"
tables_prefix = "matomo_"
"""


@pytest.mark.parametrize(
    ("host", "password", "key"),
    [
        ("127.0.0.1", "${CI_DEPLOY_TOKEN}", "password"),
        ("${CI_DEPLOY_TOKEN}.attacker.example", "x", "host"),
    ],
)
def test_config_env_references_are_not_filled_from_our_environment(
    tmp_path: Path, host: str, password: str, key: str
) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG.format(host=host, password=password))
    env = {"CI_DEPLOY_TOKEN": "glpat-very-secret"}
    with pytest.raises(InputError) as info:
        settings_from_matomo_config(config, environ=env)
    text = info.value.message + (info.value.hint or "")
    assert f"[database] {key} refers to ${{CI_DEPLOY_TOKEN}}" in info.value.message
    assert "glpat-very-secret" not in text and "\n" not in info.value.message
    assert "OIDCSETUP_DB_CONFIG_ENV=CI_DEPLOY_TOKEN" in (info.value.hint or "")
    # the explicit, per-variable opt-in
    allowed = settings_from_matomo_config(
        config, environ={**env, "OIDCSETUP_DB_CONFIG_ENV": "OTHER, CI_DEPLOY_TOKEN"}
    )
    assert "glpat-very-secret" in (allowed.password or "") + allowed.host


def test_password_reference_is_moot_when_the_password_comes_from_our_variable(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG.format(host="127.0.0.1", password="${CI_DEPLOY_TOKEN}"))
    s = settings_from_matomo_config(
        config, environ={"CI_DEPLOY_TOKEN": "glpat", "OIDCSETUP_DB_PASSWORD": "mine"}
    )
    assert s.password == "mine"


def test_cli_refuses_config_env_reference_without_printing_it(tmp_path: Path) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG.format(host="127.0.0.1", password="${CI_DEPLOY_TOKEN}"))
    result = run(
        ["--json", "apply", "matomo", "--db", "--from-config", str(config), "--check"],
        env={
            "CI_DEPLOY_TOKEN": "glpat-very-secret",
            "OIDCSETUP_PROFILE": None,
            "OIDCSETUP_DB_PASSWORD": None,
        },
    )
    assert result.exit_code == 1, result.stderr
    assert "glpat-very-secret" not in result.stdout + result.stderr
    assert "CI_DEPLOY_TOKEN" in json.loads(result.stdout)["error"]["message"]


# --- a real MariaDB with TLS and the PAM plugin ----------------------------------------------


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_file: str
    dbname: str


@pytest.fixture(scope="module")
def tls_mariadb(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """A real MariaDB whose certificate (trustme CA) names only ``localhost``, so connecting to
    127.0.0.1 is "the wrong name", with the PAM plugin switching clients to cleartext."""
    from tests.support.mariadb import mariadb_missing_reason, running_mariadb

    reason = mariadb_missing_reason()
    if reason:
        pytest.skip(reason)
    if not Path("/usr/lib/mysql/plugin/auth_pam.so").exists():
        pytest.skip("MariaDB's auth_pam plugin is not installed (mariadb-plugin-... / server)")
    folder = tmp_path_factory.mktemp("tls-mariadb")
    cert = ca.issue_cert("localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    os.chmod(folder, 0o755)
    args = [
        f"--ssl-cert={folder / 'cert.pem'}",
        f"--ssl-key={folder / 'key.pem'}",
        f"--ssl-ca={folder / 'ca.pem'}",
        "--plugin-load-add=auth_pam",
        "--pam-use-cleartext-plugin=ON",
    ]
    with running_mariadb(extra_args=args) as server:
        server.execute("CREATE USER 'pamuser'@'%' IDENTIFIED VIA pam USING 'oidcsetup-test'")
        name = "tls_" + uuid.uuid4().hex[:8]
        server.execute(f"CREATE DATABASE `{name}`")
        server.execute("CREATE USER 'euro'@'%' IDENTIFIED BY 'pä€ss'")
        server.execute(f"GRANT ALL ON `{name}`.* TO 'euro'@'%', 'pamuser'@'%'")
        yield TlsServer(server.port, str(folder / "ca.pem"), name)


def real(server: Any, host: str, user: str = "euro", password: str = "pä€ss", **tls: Any) -> Any:
    return DbSettings(
        database=server.dbname,
        user=user,
        password=password,
        host=host,
        port=server.port,
        tls=TlsOptions(**tls) if tls else None,
    )


def cipher(settings: DbSettings) -> str:
    with MatomoDatabase.connect(settings) as db, db.connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return str(cursor.fetchone()[1])


@pytest.mark.mariadb
def test_tls_without_ca_file_checks_the_host_name(
    tls_mariadb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 item 4: with ?ssl=1 and no CA file, a certificate from a CA the system trusts
    but for another name was accepted. SSL_CERT_FILE makes our CA "the system's" here."""
    monkeypatch.setenv("SSL_CERT_FILE", tls_mariadb.ca_file)
    assert cipher(real(tls_mariadb, "localhost", verify=True))  # the right name: TLS is on
    with pytest.raises(InputError, match=r"certificate that does not verify.*mismatch") as info:
        MatomoDatabase.connect(real(tls_mariadb, "127.0.0.1", verify=True))
    assert "ssl_ca" in (info.value.hint or "")
    # the same through the DSN a user writes
    dsn = parse_dsn(
        f"mysql://euro@127.0.0.1:{tls_mariadb.port}/{tls_mariadb.dbname}?ssl=1",
        environ={"OIDCSETUP_DB_PASSWORD": "pä€ss"},
    )
    with pytest.raises(InputError, match="does not verify"):
        MatomoDatabase.connect(dsn)


@pytest.mark.mariadb
def test_tls_with_a_ca_file(tls_mariadb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    assert cipher(real(tls_mariadb, "localhost", ca=tls_mariadb.ca_file))
    with pytest.raises(InputError, match="mismatch"):
        MatomoDatabase.connect(real(tls_mariadb, "127.0.0.1", ca=tls_mariadb.ca_file))
    # a CA the system does not trust, no CA file: refused
    with pytest.raises(InputError, match="does not verify"):
        MatomoDatabase.connect(real(tls_mariadb, "localhost", verify=True))
    # checks off on request only
    assert cipher(real(tls_mariadb, "127.0.0.1", verify=False))


@pytest.mark.mariadb
def test_non_latin1_password_connects_to_a_real_server(tls_mariadb: Any) -> None:
    with MatomoDatabase.connect(real(tls_mariadb, "127.0.0.1")) as db:
        assert db.connection.get_server_info()


@pytest.mark.mariadb
def test_real_pam_server_switch_to_cleartext_gets_no_password(tls_mariadb: Any) -> None:
    """The real attack surface: MariaDB's PAM plugin switches the client to
    mysql_clear_password; through a man in the middle that hides the server's TLS, the
    password never passes (PyMySQL alone sends it: see docs/security.md)."""
    with RecordingRelay(tls_mariadb.port) as relay:
        settings = DbSettings(
            database=tls_mariadb.dbname,
            user="pamuser",
            password=PASSWORD,
            host="127.0.0.1",
            port=relay.port,
        )
        with pytest.raises(PasswordWithheld, match="mysql_clear_password"):
            MatomoDatabase.connect(settings)
    assert relay.stripped_tls  # the server offered TLS; the man in the middle hid it
    assert b"pamuser" in relay.sent and SECRET_BYTES not in relay.sent


@pytest.mark.mariadb
def test_real_pam_server_over_verified_tls_gets_the_password(tls_mariadb: Any) -> None:
    settings = real(
        tls_mariadb, "localhost", user="pamuser", password=PASSWORD, ca=tls_mariadb.ca_file
    )
    # sent over verified TLS; PAM (no such service/user here) then says no
    with pytest.raises(InputError, match="access denied") as info:
        MatomoDatabase.connect(settings)
    assert not isinstance(info.value, PasswordWithheld)


@pytest.mark.mariadb
@pytest.mark.php
def test_php_pdo_sends_a_non_latin1_password_as_we_do(tls_mariadb: Any) -> None:
    """Matomo connects through PHP's PDO, which sends the UTF-8 bytes of the config file's
    password: the same account works for both (PyMySQL alone would have encoded Latin-1)."""
    import shutil
    import subprocess

    if shutil.which("php") is None:
        pytest.skip("php-cli is not installed")
    script = (
        "$p = new PDO('mysql:host=127.0.0.1;port=' . $argv[1] . ';dbname=' . $argv[2], "
        "'euro', $argv[3]); echo $p->query('SELECT CURRENT_USER()')->fetchColumn();"
    )
    out = subprocess.run(
        ["php", "-r", script, "--", str(tls_mariadb.port), tls_mariadb.dbname, "pä€ss"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if "could not find driver" in out.stdout + out.stderr:
        pytest.skip("php-mysql (pdo_mysql) is not installed")
    assert out.returncode == 0 and out.stdout.startswith("euro@"), out.stdout + out.stderr
    with MatomoDatabase.connect(real(tls_mariadb, "127.0.0.1")) as db:
        assert db.connection.get_server_info()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the socket another owner")
def test_default_socket_planted_in_a_shared_folder_is_not_used(tmp_path: Path) -> None:
    """`localhost` without a port looks for /tmp/mysql.sock among others: a socket there that a
    local user created (not root, us or mysql) would receive our writes. Stands for /tmp."""
    import socket

    from oidcsetup.apps.matomo.database.guard import trusted_default_socket

    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir(mode=0o1777)
    private.mkdir(mode=0o755)
    shared.chmod(0o1777)
    paths = []
    for folder in (shared, private):
        path = folder / "mysql.sock"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
        os.chown(path, 65534, 65534)  # "nobody": a local user, not the server's account
        paths.append(str(path))
    assert not trusted_default_socket(paths[0])  # planted in a folder anyone may write
    assert trusted_default_socket(paths[1])  # only its owner could have put it there
    os.chown(paths[0], 0, 0)
    assert trusted_default_socket(paths[0])  # root's socket in /tmp
    (private / "file").write_text("")
    assert not trusted_default_socket(str(private / "file"))  # not a socket
