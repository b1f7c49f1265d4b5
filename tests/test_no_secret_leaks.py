"""No secret leaks: every command runs with a known client secret (and a known database
password) and neither appears in any output, log, error message or file name, except where the
user asked for it (``--show-secrets``) and in the files whose job is to hold it.

Real components: the node oidc-provider (discover, check, login) and MariaDB (apply --db).
"""

from __future__ import annotations

import base64
import html
import json
import os
import stat
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.provider import CALLBACK, RunningProvider, matomo_client

# Distinctive, and with characters that get encoded differently in a form, a URL and JSON.
SECRET = "Leak-Canary_7f3a9c~2b/8e+d1=&x"
DB_PASSWORD = "Db-Canary_5c1e9a"  # only for the database user this test creates
MATOMO = "http://127.0.0.1:8080"
PROVIDER_ARGS = ["--issuer", "https://auth.example.com", "--preset", "authelia"]


def secret_forms(secret: str) -> list[str]:
    """The secret as it could slip out: plain, form/URL-encoded, JSON-escaped, entity-encoded
    (ini), in Basic credentials."""
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        json.dumps(secret)[1:-1],
        html.escape(secret),  # config.ini.php values are entity-encoded (Matomo decodes them)
        secret.replace("&", "&amp;"),
        base64.b64encode(f"matomo:{secret}".encode()).decode(),
        base64.b64encode(
            f"matomo:{urllib.parse.quote_plus(secret)}".encode()
        ).decode(),  # RFC 6749 2.3.1: client_secret_basic form-encodes first
    }
    return sorted(forms)


FORMS = secret_forms(SECRET) + secret_forms(DB_PASSWORD)


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def assert_clean(result: Result, what: str) -> None:
    found = leaks(result.stdout + result.stderr)
    assert not found, f"{what}: secret in output ({found}):\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr


def assert_no_file_leaks(root: Path, allowed: dict[Path, int] | None = None) -> None:
    """No file under ``root`` has the secret in its name; only ``allowed`` files (path -> the
    most permissive mode they may have) hold it in their content."""
    allowed = {p.resolve(): m for p, m in (allowed or {}).items()}
    for path in root.rglob("*"):
        assert not leaks(path.name), f"secret in a file name: {path}"
        if not path.is_file():
            continue
        content = path.read_bytes().decode("utf-8", "replace")
        if leaks(content):
            assert path.resolve() in allowed, f"{path} holds the secret"
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & ~allowed[path.resolve()] == 0, f"{path} has mode {mode:04o}"


@pytest.fixture(scope="module")
def provider(provider_factory: Any) -> RunningProvider:
    client = matomo_client(redirect_uri=MATOMO + CALLBACK, client_secret=SECRET)
    started: RunningProvider = provider_factory([client])
    return started


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in [n for n in os.environ if n.startswith("OIDCSETUP_")]:
        monkeypatch.delenv(name)
    yield tmp_path


ENV = {"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None}


# --- commands without a provider or database -----------------------------------------------


def test_init_and_show(home: Path) -> None:
    result = run(["init", "--issuer", "https://auth.example.com"], env=ENV)
    assert result.exit_code == 0, result.stderr
    assert_clean(result, "init")
    for args in (["show"], ["--json", "show"], ["show", "--client-id", "x"]):
        result = run(args, env=ENV)
        assert result.exit_code == 0, result.stderr
        assert_clean(result, " ".join(args))
    assert_no_file_leaks(home)  # the starter profile holds a reference, never the secret


@pytest.mark.parametrize(
    "args",
    [
        ["gen", "matomo", *PROVIDER_ARGS, "--matomo-url", MATOMO],
        ["gen", "matomo", *PROVIDER_ARGS, "--matomo-url", MATOMO, "--format", "ini"],
        ["gen", "matomo", *PROVIDER_ARGS, "--matomo-url", MATOMO, "--format", "console"],
        ["--json", "gen", "matomo", *PROVIDER_ARGS, "--matomo-url", MATOMO, "--format", "json"],
        ["gen", "redirect-uris", "--matomo-url", MATOMO],
        ["--json", "gen", "redirect-uris", "--matomo-url", MATOMO],
        ["gen", "authelia", "--matomo-url", MATOMO, "--algorithm", "pbkdf2-sha512"],
        ["--json", "gen", "authelia", "--matomo-url", MATOMO, "--algorithm", "pbkdf2-sha512"],
    ],
    ids=lambda a: " ".join(x for x in a if not x.startswith("http")),
)
def test_gen_commands(home: Path, args: list[str]) -> None:
    result = run(args, env=ENV)
    assert result.exit_code == 0, result.stderr
    assert_clean(result, " ".join(args))
    assert_no_file_leaks(home)


@pytest.mark.parametrize(
    "args",
    [
        ["gen", "matomo", *PROVIDER_ARGS, "--matomo-url", MATOMO, "--show-secrets"],
        [
            "gen",
            "matomo",
            *PROVIDER_ARGS,
            "--matomo-url",
            MATOMO,
            "--format",
            "ini",
            "--show-secrets",
        ],
        ["gen", "authelia", "--matomo-url", MATOMO, "--show-secrets"],
    ],
    ids=["gen matomo", "gen matomo ini", "gen authelia"],
)
def test_show_secrets_shows_it_when_asked(home: Path, args: list[str]) -> None:
    result = run(args, env=ENV)
    assert result.exit_code == 0, result.stderr
    assert leaks(result.stdout + result.stderr)  # proves the leak checks can fail


def test_gen_authelia_generated_secret_file_is_0600(home: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": None, "OIDCSETUP_PROFILE": None}
    result = run(
        ["gen", "authelia", "--matomo-url", MATOMO, "--algorithm", "pbkdf2-sha512"], env=env
    )
    assert result.exit_code == 0, result.stderr
    files = [p for p in home.rglob("*") if p.is_file()]
    secret_files = [p for p in files if stat.S_IMODE(p.stat().st_mode) == 0o600]
    assert secret_files, f"no 0600 secret file among {files}"
    generated = secret_files[0].read_text().strip()
    assert len(generated) >= 32
    assert generated not in result.stdout + result.stderr
    for path in files:
        if generated in path.read_text(errors="replace"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_secret_hash_and_verify(home: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": None}
    hashed = run(["secret", "hash", "--algorithm", "pbkdf2-sha512"], env=env, input=SECRET + "\n")
    assert hashed.exit_code == 0, hashed.stderr
    assert_clean(hashed, "secret hash")
    digest = hashed.stdout.strip()
    assert run(["secret", "verify", digest], env=env, input=SECRET).exit_code == 0
    wrong = run(["secret", "verify", digest], env=env, input=SECRET + "x")
    assert wrong.exit_code == 1
    assert_clean(wrong, "secret verify (mismatch)")
    bad = run(["--debug", "secret", "verify", "$pbkdf2-sha512$x$y$z"], env=env, input=SECRET)
    assert bad.exit_code != 0
    assert not leaks(bad.stdout + bad.stderr)


# --- apply matomo --config ------------------------------------------------------------------

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "127.0.0.1"
username = "matomo"
password = "not-the-client-secret"
dbname = "matomo"
tables_prefix = "matomo_"

[Plugins]
Plugins[] = "Login"
Plugins[] = "LoginOIDC"
"""


def test_apply_config(home: Path) -> None:
    config = home / "config.ini.php"
    config.write_text(CONFIG)
    config.chmod(0o640)
    base = ["apply", "matomo", "--config", str(config), *PROVIDER_ARGS, "--matomo-url", MATOMO]
    for args in (
        [*base, "--dry-run"],
        ["--json", *base, "--check"],
        base,
        base,
        [*base, "--check"],
    ):
        result = run(args, env=ENV)
        assert result.exit_code in (0, 3), result.stderr
        assert_clean(result, " ".join(args))
    assert leaks(config.read_text())  # the target holds it (Matomo reads it from there)
    assert stat.S_IMODE(config.stat().st_mode) == 0o640  # and keeps the mode it had
    # A second secret: the backup made now holds the first one; its name must not, and its
    # mode is the config's.
    other = {**ENV, "OIDCSETUP_CLIENT_SECRET": SECRET + "-rotated"}
    result = run(base, env=other)
    assert result.exit_code == 0, result.stderr
    assert not leaks(result.stdout + result.stderr.replace(SECRET + "-rotated", ""))
    backups = list(home.glob("config.ini.php.bak-*"))
    assert any(leaks(b.read_text()) for b in backups)
    assert_no_file_leaks(home, {config: 0o640, **{b: 0o640 for b in backups}})
    shown = run([*base, "--dry-run", "--show-secrets"], env=ENV)
    assert leaks(shown.stdout + shown.stderr)


# --- apply matomo --db and check --db (real MariaDB) ----------------------------------------


@pytest.fixture
def matomo_db(mariadb: Any) -> Iterator[str]:
    name = "leak_" + uuid.uuid4().hex[:8]
    user = "u" + uuid.uuid4().hex[:8]
    mariadb.create_matomo(name)
    mariadb.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (DB_PASSWORD,))
    mariadb.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
    yield f"mysql://{user}@127.0.0.1:{mariadb.port}/{name}"
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")
    mariadb.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.mark.mariadb
def test_apply_and_check_db(home: Path, matomo_db: str, provider: RunningProvider) -> None:
    env = {**ENV, "OIDCSETUP_DB_PASSWORD": DB_PASSWORD}
    backups = home / "backups"
    base = ["apply", "matomo", "--db", "--dsn", matomo_db, "--backup-dir", str(backups)]
    base += ["--issuer", provider.issuer, "--matomo-url", MATOMO]
    for args in ([*base, "--dry-run"], base, ["--json", *base, "--check"]):
        result = run(args, env=env)
        assert result.exit_code == 0, result.stderr
        assert_clean(result, " ".join(args))
    # Rotating the secret backs up the rows holding the old one: 0600, name without it.
    rotated = {**env, "OIDCSETUP_CLIENT_SECRET": SECRET + "-rotated"}
    result = run(base, env=rotated)
    assert result.exit_code == 0, result.stderr
    files = list(backups.rglob("*.json"))
    assert files, "no database backup written"
    assert any(leaks(f.read_text()) for f in files)  # the old secret is in there: 0600 matters
    assert_no_file_leaks(home, dict.fromkeys(files, 0o600))
    check = [
        "check",
        "--db",
        "--dsn",
        matomo_db,
        "--issuer",
        provider.issuer,
        "--matomo-url",
        MATOMO,
    ]
    for args in (check, ["--json", *check]):
        result = run(args, env=env)
        assert_clean(result, " ".join(args))
    # A wrong database password: a clear error that names neither password.
    wrong = run(
        ["--debug", *base, "--dry-run"], env={**env, "OIDCSETUP_DB_PASSWORD": DB_PASSWORD + "x"}
    )
    assert wrong.exit_code != 0
    assert not leaks(wrong.stdout + wrong.stderr)
    assert DB_PASSWORD + "x" not in wrong.stdout + wrong.stderr


# --- commands against the real provider -----------------------------------------------------


@pytest.mark.provider
def test_discover_check_login(home: Path, provider: RunningProvider) -> None:
    commands = [
        ["discover", provider.issuer],
        ["--json", "discover", provider.issuer, "--save"],
        ["check", "--issuer", provider.issuer, "--matomo-url", MATOMO],
        ["--json", "check", "--issuer", provider.issuer, "--matomo-url", MATOMO, "--login"],
        ["--json", "login", "--headless", "--issuer", provider.issuer, "--matomo-url", MATOMO],
        ["login", "--headless", "--issuer", provider.issuer, "--matomo-url", MATOMO],
        ["--debug", "check", "--issuer", provider.issuer, "--matomo-url", MATOMO],
    ]
    for args in commands:
        result = run(args, env=ENV)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        assert_clean(result, " ".join(args))
    # A wrong secret: the provider says invalid_client; neither secret is echoed back.
    wrong = {**ENV, "OIDCSETUP_CLIENT_SECRET": SECRET + "-wrong"}
    for args in (commands[2], commands[4]):
        result = run(["--debug", *args], env=wrong)
        assert result.exit_code != 0
        assert not leaks((result.stdout + result.stderr).replace(SECRET + "-wrong", ""))
        assert SECRET + "-wrong" not in result.stdout + result.stderr
    assert_no_file_leaks(home)
    # The secret never travels in a URL: the provider's log has none of its forms.
    assert not leaks(provider.log())
