"""``oidcsetup secret generate | hash | verify`` through the real CLI entry point."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from oidcsetup.cli.main import cli

VECTOR = (
    "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR"
    "/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng"
)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("OIDCSETUP_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("OIDCSETUP_PROFILE", raising=False)
    return CliRunner()


def test_generate_prints_one_secret(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["secret", "generate"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"[A-Za-z0-9._~-]{72}\n", result.stdout)
    assert result.stderr == ""


def test_generate_short_length_warns(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["secret", "generate", "--length", "10"])
    assert result.exit_code == 0
    assert len(result.stdout.strip()) == 10
    assert "warning: a 10-character secret is weak" in result.stderr


def test_generate_rejects_zero_length(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["secret", "generate", "--length", "0"])
    assert result.exit_code == 2


def test_generate_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "secret", "generate", "--length", "40"])
    document = json.loads(result.stdout)
    assert document["ok"] is True and len(document["secret"]) == 40


def test_hash_reads_stdin_and_strips_one_newline(runner: CliRunner) -> None:
    from passlib.hash import pbkdf2_sha512

    result = runner.invoke(cli, ["secret", "hash"], input="my secret \n")
    assert result.exit_code == 0, result.stderr
    digest = result.stdout.strip()
    assert digest.startswith("$pbkdf2-sha512$310000$")
    assert pbkdf2_sha512.verify("my secret ", digest)  # trailing space kept, newline gone
    assert "my secret" not in result.stderr


def test_hash_argon2id(runner: CliRunner) -> None:
    from passlib.hash import argon2

    result = runner.invoke(cli, ["secret", "hash", "--algorithm", "argon2id"], input="pw")
    digest = result.stdout.strip()
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert argon2.verify("pw", digest)


def test_hash_falls_back_to_the_environment(runner: CliRunner) -> None:
    from passlib.hash import pbkdf2_sha512

    result = runner.invoke(
        cli, ["secret", "hash"], input="", env={"OIDCSETUP_CLIENT_SECRET": "from-env"}
    )
    assert result.exit_code == 0, result.stderr
    assert pbkdf2_sha512.verify("from-env", result.stdout.strip())


def test_hash_without_any_secret_fails_clearly(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["secret", "hash"], input="")
    assert result.exit_code == 1
    assert "error: no client secret given" in result.stderr
    assert "OIDCSETUP_CLIENT_SECRET" in result.stderr
    assert "Traceback" not in result.output


def test_hash_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "secret", "hash"], input="abc")
    document = json.loads(result.stdout)
    assert document["algorithm"] == "pbkdf2-sha512" and document["source"] == "stdin"


def test_verify_match_and_mismatch_exit_codes(runner: CliRunner) -> None:
    ok = runner.invoke(cli, ["secret", "verify", VECTOR], input="insecure_secret\n")
    assert ok.exit_code == 0, ok.stderr
    assert "match (pbkdf2-sha512)" in ok.stderr
    bad = runner.invoke(cli, ["secret", "verify", VECTOR], input="insecure_secreT\n")
    assert bad.exit_code == 1
    assert "no match" in bad.stderr


def test_verify_plaintext_and_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "secret", "verify", "$plaintext$abc"], input="abc")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schema_version": 2,
        "ok": True,
        "exit_code": 0,
        "match": True,
        "scheme": "plaintext",
        "source": "stdin",
        "warnings": [],
    }


def test_verify_a_digest_made_by_hash(runner: CliRunner) -> None:
    digest = runner.invoke(
        cli, ["secret", "hash", "--algorithm", "pbkdf2-sha256"], input="x"
    ).stdout
    result = runner.invoke(cli, ["secret", "verify", digest.strip()], input="x")
    assert result.exit_code == 0


def test_verify_unsupported_format_names_it(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["secret", "verify", "$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01"],
        input="x",
    )
    assert result.exit_code == 1
    assert "bcrypt format, which Authelia accepts but oidcsetup cannot verify" in result.stderr
    assert "Traceback" not in result.output


def test_verify_json_mismatch_is_one_document(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "secret", "verify", VECTOR], input="nope")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["match"] is False


@pytest.mark.parametrize("command", ["generate", "hash", "verify"])
def test_help_has_examples(runner: CliRunner, command: str) -> None:
    result = runner.invoke(cli, ["secret", command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout


def test_verify_absurd_iteration_count_is_a_clear_error(runner: CliRunner) -> None:
    digest = "$pbkdf2-sha512$99999999999$c8p78n7pUMln0jzvd4aK4Q$JNRB"
    result = runner.invoke(cli, ["secret", "verify", digest], input="x")
    assert result.exit_code == 1
    assert "internal error" not in result.stderr
    assert "iterations 99999999999 is out of range" in result.stderr


def test_env_secret_is_used_when_stdin_is_an_idle_open_pipe() -> None:
    """A CI runner may hand over a stdin pipe that never closes: with the variable set, no hang."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OIDCSETUP_CLIENT_SECRET": "insecure_secret"}
    env.pop("OIDCSETUP_PROFILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "oidcsetup", "secret", "verify", VECTOR],
        stdin=subprocess.PIPE,  # kept open, nothing written
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        code = process.wait(timeout=20)  # before the fix: blocked in stdin.read() forever
        assert process.stderr is not None
        assert code == 0 and b"match (pbkdf2-sha512)" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait()
