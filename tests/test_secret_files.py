"""Secret files and stdin: one rule for both, bounded, and refused when another user controls them.

Issue 15 (low): ``file:`` references took any path, multi-line and large files; a secret file
owned by another user or readable by others was reused silently. Issue 10 (smaller): an empty
file gave ``hint: null``, a binary one Python's decode error, and ``abc\\n\\n`` gave one digest
from a file and another from ``secret hash`` on stdin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from oidcsetup.cli.main import cli
from oidcsetup.errors import SecretError
from oidcsetup.secretref import (
    MAX_SECRET_FILE_BYTES,
    read_secret_file,
    resolve_secret,
    secret_from_text,
)
from tests.support.profiles import minimal_profile


def _file(tmp_path: Path, data: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "client.secret"
    path.write_bytes(data)
    path.chmod(mode)
    return path


def test_one_trailing_newline_is_removed_and_nothing_else(tmp_path: Path) -> None:
    for data, want in (
        (b"abc\n", "abc"),
        (b"abc\r\n", "abc"),
        (b"abc", "abc"),
        (b" a b ", " a b "),
    ):
        assert read_secret_file(_file(tmp_path, data))[0] == want
        assert secret_from_text(data.decode(), "stdin") == want


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"abc\n\n", "several lines"),
        (b"abc\ndef\n", "several lines"),
        (b"\nabc", "several lines"),
        (b"ab\x00c", "NUL"),
        (b"", "empty"),
        (b"\n", "empty"),
    ],
)
def test_file_and_stdin_refuse_the_same_things(tmp_path: Path, data: bytes, problem: str) -> None:
    with pytest.raises(SecretError, match=problem) as from_file:
        read_secret_file(_file(tmp_path, data))
    assert from_file.value.hint  # a real hint, never null
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--json", "secret", "hash"], input=data.decode(), env={"OIDCSETUP_CLIENT_SECRET": ""}
    )
    if data.strip(b"\n"):  # an empty stdin means "no secret given" (then the env, a prompt)
        assert result.exit_code == 1, result.output
        document = json.loads(result.stdout)
        assert problem in document["error"]["message"] and document["error"]["hint"]


def test_abc_newline_gives_the_same_digest_from_a_file_and_stdin(tmp_path: Path) -> None:
    from passlib.hash import pbkdf2_sha512

    path = _file(tmp_path, b"abc\n")
    value = read_secret_file(path)[0]
    result = CliRunner().invoke(
        cli, ["secret", "hash"], input="abc\n", env={"OIDCSETUP_CLIENT_SECRET": ""}
    )
    assert result.exit_code == 0, result.output
    assert pbkdf2_sha512.verify(value, result.stdout.strip())


def test_empty_file_has_a_real_hint_in_json(tmp_path: Path) -> None:
    path = _file(tmp_path, b"")
    with pytest.raises(SecretError) as info:
        resolve_secret(f"file:{path}", environ={})
    assert "empty" in info.value.message and "secret generate" in (info.value.hint or "")


def test_binary_file_is_named_not_a_decode_error(tmp_path: Path) -> None:
    path = _file(tmp_path, b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SecretError, match="is not text") as info:
        resolve_secret(f"file:{path}", environ={})
    assert "codec" not in info.value.message and "0x" not in info.value.message


def test_large_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _file(tmp_path, b"a" * (MAX_SECRET_FILE_BYTES + 1))
    with pytest.raises(SecretError, match="too large"):
        resolve_secret(f"file:{path}", environ={})
    with pytest.raises(SecretError, match="not a regular file"):
        resolve_secret("file:/dev/zero", environ={})


def test_a_file_others_can_write_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, b"abc\n", mode=0o622)
    with pytest.raises(SecretError, match="written by others") as info:
        resolve_secret(f"file:{path}", environ={})
    assert info.value.hint == f"chmod 600 {path}"


def test_a_file_others_can_read_is_a_warning_or_refused_for_our_own(tmp_path: Path) -> None:
    path = _file(tmp_path, b"abc\n", mode=0o644)
    resolved = resolve_secret(f"file:{path}", environ={})
    assert resolved is not None and resolved.value == "abc"
    assert resolved.warning is not None and f"chmod 600 {path}" in resolved.warning
    with pytest.raises(SecretError, match="accessible to group or others"):
        read_secret_file(path, owner_only=True)  # the generated secret file gen authelia reuses


def test_gen_matomo_shows_the_warning(tmp_path: Path) -> None:
    secret = _file(tmp_path, b"abc\n", mode=0o640)
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(minimal_profile(f"file:{secret}"))
    result = CliRunner().invoke(
        cli, ["--profile", str(profile), "gen", "matomo"], env={"OIDCSETUP_CLIENT_SECRET": ""}
    )
    assert result.exit_code == 0, result.output
    assert "readable by others (mode 0640)" in result.stderr and "chmod 600" in result.stderr


def test_a_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    path = _file(tmp_path, b"abc\n")
    os.chown(path, 65534, 65534)  # nobody: whoever owns the file chooses the client secret
    with pytest.raises(SecretError, match="belongs to another user") as info:
        resolve_secret(f"file:{path}", environ={})
    assert "chown" in (info.value.hint or "")


def test_root_owned_file_is_fine_for_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker/Kubernetes secrets are root's files (0444/0644): readable, a warning at most."""
    if os.geteuid() != 0:
        pytest.skip("needs a root-owned file")
    path = _file(tmp_path, b"abc\n", mode=0o444)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # oidcsetup running as uid 1000
    resolved = resolve_secret(f"file:{path}", environ={})
    assert resolved is not None and resolved.value == "abc" and resolved.warning
