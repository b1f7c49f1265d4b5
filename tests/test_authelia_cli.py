"""``oidcsetup gen authelia`` through the real CLI: secrets, output, merge, exit codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from oidcsetup.cli.main import cli
from oidcsetup.secrets import verify_secret

URL = "https://matomo.example.com"
REDIRECT = f"{URL}/index.php?module=LoginOIDC&action=callback&provider=oidc"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for name in ("OIDCSETUP_CLIENT_SECRET", "OIDCSETUP_PROFILE", "OIDCSETUP_MATOMO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def client_of(text: str) -> dict[str, object]:
    return yaml.safe_load(text)["identity_providers"]["oidc"]["clients"][0]  # type: ignore[no-any-return]


def test_generates_and_keeps_a_secret_file_when_none_is_given(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("gen", "authelia", "--matomo-url", URL, "--algorithm", "pbkdf2-sha512")
    assert result.exit_code == 0, result.stderr
    secret_file = tmp_path / "matomo.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) == 72
    assert secret not in result.stdout and secret not in result.stderr
    client = client_of(result.stdout)
    assert verify_secret(secret, str(client["client_secret"]))
    assert client["redirect_uris"] == [REDIRECT]
    assert client["token_endpoint_auth_method"] == "client_secret_post"
    assert "wrote it to matomo.secret (mode 0600)" in result.stderr
    assert f'client.secret = "file:{secret_file.resolve()}"' in result.stderr
    # the next run reuses the same secret
    again = run("gen", "authelia", "--matomo-url", URL, "--algorithm", "pbkdf2-sha512")
    assert verify_secret(secret, str(client_of(again.stdout)["client_secret"]))
    assert "using the client secret kept in matomo.secret" in again.stderr


def test_show_secrets_prints_the_plaintext_on_stderr(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--show-secrets",
        "--algorithm",
        "pbkdf2-sha512",
        env={"OIDCSETUP_CLIENT_SECRET": "the-plain-secret"},
    )
    assert "client secret (for Matomo only): the-plain-secret" in result.stderr
    assert "the-plain-secret" not in result.stdout


def test_environment_secret_writes_no_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--client-name",
        "Matomo",
        "--scopes",
        "openid groups email",
        "--algorithm",
        "argon2id",
        env={"OIDCSETUP_CLIENT_SECRET": "insecure_secret"},
    )
    assert result.exit_code == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    client = client_of(result.stdout)
    assert str(client["client_secret"]).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_secret("insecure_secret", str(client["client_secret"]))
    assert client["scopes"] == ["openid", "groups", "email"]
    assert "# The digest of the client secret from env:OIDCSETUP_CLIENT_SECRET." in result.stdout


def test_profile_file_reference_is_generated_into_that_path(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "oidcsetup.toml").write_text(
        '[client]\nid = "stats"\nsecret = "file:secrets/stats.secret"\n'
        '[app.matomo]\nurl = "https://stats.example.com"\n'
        '[provider.authelia]\nversion = "4.38"\n',
        encoding="utf-8",
    )
    result = run("gen", "authelia", "--algorithm", "pbkdf2-sha512")
    assert result.exit_code == 0, result.stderr
    secret = (tmp_path / "secrets" / "stats.secret").read_text().strip()
    client = client_of(result.stdout)
    assert client["client_id"] == "stats"
    assert "pkce_challenge_method" not in client  # 4.38 from the profile
    assert verify_secret(secret, str(client["client_secret"]))
    # The profile already names that file: no advice to set what is already set.
    assert "next: set client.secret" not in result.stderr


def test_json_output_is_one_document_without_the_secret(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "--json",
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--authelia-version",
        "4.37",
        "--algorithm",
        "pbkdf2-sha512",
        env={"OIDCSETUP_CLIENT_SECRET": "s3"},
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["authelia_version"] == "4.37"
    assert document["entry"]["id"] == "matomo"
    assert [f["code"] for f in document["findings"]] == ["auth-method-implicit-437"]
    assert "value" not in document["secret"]
    assert document["secret"]["source"] == "env:OIDCSETUP_CLIENT_SECRET"
    assert (
        yaml.safe_load(document["yaml"])["identity_providers"]["oidc"]["clients"][0]["id"]
        == "matomo"
    )


def test_rule_violations_exit_3_and_write_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("gen", "authelia", "--matomo-url", URL, "--client-id", "matomo stats")
    assert result.exit_code == 3
    assert (
        "error: [client-id-charset] client 'matomo stats': option 'client_id' must only"
        in result.stderr
    )
    assert "nothing was written" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_rule_violations_in_json_mode(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "--json",
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--scopes",
        "openid",
        "--authorization-policy",
        "admins",
        "--client-id",
        "x" * 101,
        env={"OIDCSETUP_CLIENT_SECRET": "s"},
    )
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    codes = {f["code"]: f["level"] for f in document["findings"]}
    assert codes == {
        "client-id-too-long": "error",
        "policy-named": "warning",
        "matomo-scope-email": "warning",
    }
    assert document["ok"] is False


def test_missing_matomo_url_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("gen", "authelia", env={"OIDCSETUP_CLIENT_SECRET": "s"})
    assert result.exit_code == 2
    assert "--matomo-url" in result.stderr


CONFIG = """\
# Authelia
identity_providers:
  oidc:
    hmac_secret: 'abc'
    clients:
      - client_id: 'grafana'  # keep me
        client_secret: '$plaintext$g'
        redirect_uris:
          - 'https://grafana.example.com/cb'
"""


def test_merge_then_in_sync(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "configuration.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {"OIDCSETUP_CLIENT_SECRET": "merge-secret"}
    args = (
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--merge",
        str(config),
        "--algorithm",
        "pbkdf2-sha512",
    )

    dry = run(*args, "--dry-run", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert "+      - client_id: 'matomo'" in dry.stdout
    assert "would be added; nothing written" in dry.stderr
    assert config.read_text() == CONFIG

    first = run(*args, env=env)
    assert first.exit_code == 0, first.stderr
    assert "added client 'matomo' in" in first.stdout
    text = config.read_text()
    assert text.startswith(CONFIG)
    backups = list(tmp_path.glob("configuration.yml.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == CONFIG

    second = run(*args, env=env)
    assert second.exit_code == 0
    assert "in sync: client 'matomo' in" in second.stdout
    assert config.read_text() == text
    assert len(list(tmp_path.glob("configuration.yml.bak-*"))) == 1

    as_json = run("--json", *args, env=env)
    document = json.loads(as_json.stdout)
    assert document["merge"]["in_sync"] is True and document["merge"]["written"] is False
    assert document["merge"]["kept_digest"] is True


def test_merge_changes_the_auth_method_back(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "configuration.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {"OIDCSETUP_CLIENT_SECRET": "merge-secret"}
    args = (
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--merge",
        str(config),
        "--algorithm",
        "pbkdf2-sha512",
    )
    assert run(*args, env=env).exit_code == 0
    config.write_text(
        config.read_text().replace("'client_secret_post'", "'client_secret_basic'"),
        encoding="utf-8",
    )
    result = run("--json", *args, env=env)
    document = json.loads(result.stdout)
    assert document["merge"]["action"] == "updated"
    assert document["merge"]["changed_keys"] == ["token_endpoint_auth_method"]
    assert "token_endpoint_auth_method: 'client_secret_post'" in config.read_text()


def test_dry_run_with_a_generated_secret_writes_no_secret_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "configuration.yml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run(
        "gen",
        "authelia",
        "--matomo-url",
        URL,
        "--merge",
        str(config),
        "--dry-run",
        "--algorithm",
        "pbkdf2-sha512",
    )
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "matomo.secret").exists()
    assert "would write it to matomo.secret" in result.stderr
    assert config.read_text() == CONFIG


def test_help_has_examples(run) -> None:  # type: ignore[no-untyped-def]
    result = run("gen", "authelia", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    for option in (
        "--authelia-version",
        "--merge",
        "--dry-run",
        "--show-secrets",
        "--algorithm",
        "--authorization-policy",
        "--consent-mode",
        "--client-id",
        "--matomo-url",
    ):
        assert option in result.stdout


# --- issues 10 and 15 ------------------------------------------------------------------------

OTHERS = """\
identity_providers:
  oidc:
    hmac_secret: 'hmac-value-that-must-stay-hidden'
    jwks:
      - key_id: 'main'
        key: |
          -----BEGIN PRIVATE KEY-----
          MIIprivatekeymaterial
          -----END PRIVATE KEY-----
    clients:
      - client_id: 'grafana'
        client_secret: '$plaintext$grafana-plain-secret'
      - client_id: 'matomo'
        client_secret: '$plaintext$the-old-matomo-secret'
"""


@pytest.mark.parametrize("json_mode", [False, True])
def test_dry_run_prints_no_secret_of_the_file(run, tmp_path: Path, json_mode: bool) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 4: other clients' $plaintext$ secrets, hmac_secret and the old plaintext
    being replaced were printed by `--merge --dry-run`, text and --json."""
    path = tmp_path / "configuration.yml"
    path.write_text(OTHERS, encoding="utf-8")
    args = ["gen", "authelia", "--matomo-url", URL, "--merge", str(path), "--dry-run"]
    env = {"OIDCSETUP_CLIENT_SECRET": "the-new-matomo-secret"}
    result = run(*(["--json"] if json_mode else []), *args, env=env)
    assert result.exit_code == 0, result.stderr
    printed = result.stdout + result.stderr
    for secret in (
        "grafana-plain-secret",
        "hmac-value-that-must-stay-hidden",
        "MIIprivatekeymaterial",
        "the-old-matomo-secret",
        "the-new-matomo-secret",
    ):
        assert secret not in printed
    diff = json.loads(result.stdout)["merge"]["diff"] if json_mode else result.stdout
    assert "-        client_secret: '********'" in diff
    assert path.read_text(encoding="utf-8") == OTHERS
    shown = run(*(["--json"] if json_mode else []), *args, "--show-secrets", env=env)
    assert "the-old-matomo-secret" in shown.stdout and "grafana-plain-secret" in shown.stdout


def test_kept_plaintext_secret_is_masked_in_the_json_entry(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "configuration.yml"
    path.write_text(OTHERS, encoding="utf-8")
    result = run(
        "--json", "gen", "authelia", "--matomo-url", URL, "--merge", str(path), "--dry-run",
        env={"OIDCSETUP_CLIENT_SECRET": "the-old-matomo-secret"},
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert document["merge"]["kept_digest"] is True
    assert document["entry"]["client_secret"] == "********"
    assert "the-old-matomo-secret" not in result.stdout


def test_a_client_id_with_a_line_break_prints_no_fragment(run) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: with Authelia 4.37 (charset only warned) the id's newline injected keys into
    the fragment's ``##`` comment line."""
    result = run(
        "gen", "authelia", "--authelia-version", "4.37", "--matomo-url", URL,
        "--client-id", "matomo\nfoo: bar", env={"OIDCSETUP_CLIENT_SECRET": "s"},
    )  # fmt: skip
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "[control-character]" in result.stderr
    assert "\nfoo: bar" not in result.stderr  # shown escaped, never as a new line


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_secret_file_others_can_read_is_refused(run, tmp_path: Path, mode: int) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: a generated secret file made readable by group/other was reused silently."""
    secret_file = tmp_path / "matomo.secret"
    secret_file.write_text("kept-secret\n")
    secret_file.chmod(mode)
    result = run("gen", "authelia", "--matomo-url", URL)
    assert result.exit_code == 1
    assert f"(mode {mode:04o})" in result.stderr and "chmod 600" in result.stderr
    assert "kept-secret" not in result.stdout + result.stderr
    secret_file.chmod(0o600)
    assert run("gen", "authelia", "--matomo-url", URL).exit_code == 0


def test_a_secret_file_of_another_user_is_refused(tmp_path: Path) -> None:
    import os

    from oidcsetup.errors import SecretError
    from oidcsetup.secretfile import check_private_file

    path = tmp_path / "matomo.secret"
    path.write_text("s\n")
    path.chmod(0o600)
    info = os.stat(path)
    check_private_file(path, info, euid=info.st_uid)  # ours: fine
    fields = list(info[:10])
    fields[4] = 4242  # st_uid: a file another (unprivileged) user wrote
    with pytest.raises(SecretError, match="owned by uid 4242") as error:
        check_private_file(path, os.stat_result(fields), euid=1000)
    assert "chown 1000" in (error.value.hint or "")
    fields[4] = 0  # root's files are trusted by every user
    check_private_file(path, os.stat_result(fields), euid=1000)


@pytest.mark.skipif(
    getattr(__import__("os"), "geteuid", lambda: -1)() != 0,
    reason="needs root to give the file to another user",
)
def test_a_secret_file_owned_by_nobody_is_refused_by_the_cli(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os

    secret_file = tmp_path / "matomo.secret"
    secret_file.write_text("planted-secret\n")
    secret_file.chmod(0o600)
    os.chown(secret_file, 65534, 65534)
    result = run("gen", "authelia", "--matomo-url", URL)
    assert result.exit_code == 1
    assert "is owned by uid 65534" in result.stderr and "chown" in result.stderr


def test_a_secret_file_path_with_a_line_break_cannot_inject_yaml(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same class as the client id's newline (issue 15): the fragment's secret comment
    names the secret file, and a line break in its path ended the comment."""
    name = "matomo\nfoo: bar"
    result = run("gen", "authelia", "--matomo-url", URL, "--secret-file", name)
    assert result.exit_code == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert set(document) == {"identity_providers"}
    assert "\nfoo: bar" not in result.stdout + result.stderr
    assert (tmp_path / name).is_file()  # the file is still written where asked
