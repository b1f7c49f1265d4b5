"""Output: rich tables on a terminal keep the value column whole; plain text when piped."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oidcsetup.output import SCHEMA_VERSION, Output

URL = "https://auth.example.com/api/oidc/authorization"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ROWS = [
    ("Create new users when users try to log in with unknown OIDC accounts", "allowSignup", "off"),
    ("Authorize URL", "authorizeUrl", URL),
]


def test_terminal_table_keeps_urls_on_one_line_in_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stdout = Terminal()
    Output(stdout=stdout, stderr=io.StringIO(), color=True).table(
        ["Field", "Setting", "Value"], ROWS
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", stdout.getvalue())
    assert "┃" in text  # rich drew it
    assert URL in text  # whole, not folded across lines
    assert all(len(line) <= 80 for line in text.splitlines())  # and nothing cropped


def test_piped_table_is_plain_text() -> None:
    stdout = io.StringIO()
    Output(stdout=stdout, stderr=io.StringIO()).table(["Field", "Setting", "Value"], ROWS)
    text = stdout.getvalue()
    assert "\x1b[" not in text and "┃" not in text
    assert URL in text


def test_json_mode_sends_human_text_to_stderr() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    output = Output(json_mode=True, stdout=stdout, stderr=stderr)
    output.text("for humans")
    output.table(["a"], [("b",)])
    output.json({"ok": True, "answer": 42})
    assert stdout.getvalue() == ""  # printed once, when the command has ended
    output.finish(0)
    assert json.loads(stdout.getvalue()) == {
        "schema_version": SCHEMA_VERSION,
        "ok": True,
        "exit_code": 0,
        "answer": 42,
        "warnings": [],
    }
    assert "for humans" in stderr.getvalue()


def test_ok_follows_the_exit_code_not_the_commands_opinion() -> None:
    stdout = io.StringIO()
    output = Output(json_mode=True, stdout=stdout, stderr=io.StringIO())
    output.json({"ok": True, "exit_code": 0, "in_sync": False})  # what apply --check once said
    output.warn("look", hint="here", code="a-code")
    output.finish(3)
    output.finish(0)  # only one document, ever
    document = json.loads(stdout.getvalue())
    assert document["ok"] is False and document["exit_code"] == 3
    assert document["warnings"] == [{"code": "a-code", "message": "look", "hint": "here"}]


def test_an_error_replaces_the_result() -> None:
    stdout = io.StringIO()
    output = Output(json_mode=True, stdout=stdout, stderr=io.StringIO())
    output.json({"partial": True})
    output.finish(130, error={"type": "Interrupted", "code": "interrupted", "message": "m"})
    document = json.loads(stdout.getvalue())
    assert "partial" not in document
    assert document["error"]["code"] == "interrupted" and document["error"]["exit_code"] == 130


def test_text_mode_prints_no_document() -> None:
    stdout = io.StringIO()
    output = Output(stdout=stdout, stderr=io.StringIO())
    output.json({"x": 1})
    output.finish(0)
    assert stdout.getvalue() == ""


# --- issue 10: "the plan table never breaks a setting name mid-word at 80 columns" ------------

SETTINGS = (
    "disablePasswordConfirmation",
    "allowedSignupDomains",
    "redirectUriOverride",
    "endSessionUrl",
    "authenticationName",
    "clientSecret",
)
ACTIONS = ("added", "changed", "unchanged", "removed")


def cells(text: str, column: int) -> list[str]:
    return [line.split("│")[column].strip() for line in text.splitlines() if line.startswith("│")]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(SETTINGS),
            st.sampled_from(ACTIONS),
            st.text(alphabet="abcdefghij/:.- ", max_size=124),
        ),
        min_size=1,
        max_size=17,
    ),
    st.sampled_from([60, 80, 100]),
)
def test_terminal_table_never_cuts_a_name(rows: list[tuple[str, str, str]], width: int) -> None:
    # Before: with a short value column, the others got an equal share of the rest, and
    # "allowedSignupDomains" came out as "allowedSignup" / "Domains" at 80 columns.
    stdout = Terminal()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(width))
        Output(stdout=stdout, stderr=io.StringIO(), color=True).table(
            ["setting", "action", "value"], rows
        )
    text = re.sub(r"\x1b\[[0-9;]*m", "", stdout.getvalue())
    assert [c for c in cells(text, 1) if c] == [name for name, _, _ in rows]
    assert [c for c in cells(text, 2) if c] == [action for _, action, _ in rows]
    assert all(len(line) <= width for line in text.splitlines())


def test_apply_plan_on_an_80_column_terminal(tmp_path: Path) -> None:
    """The real command on a real pseudo-terminal 80 columns wide (rich reads COLUMNS)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    config = tmp_path / "config.ini.php"
    config.write_text('; <?php exit; ?> DO NOT REMOVE THIS LINE\n[General]\nsalt = "x"\n')
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env.pop("NO_COLOR", None)
    env.update(
        COLUMNS="80",
        TERM="xterm",
        OIDCSETUP_CLIENT_SECRET="s3cret",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    args = ["apply", "matomo", "--config", str(config), "--dry-run", "--preset", "keycloak"]
    args += ["--issuer", "https://auth.example.com/realms/a-rather-long-realm-name"]
    args += ["--matomo-url", "https://m.example.com/", "--allowed-signup-domain", "example.com"]
    process = subprocess.Popen(
        [sys.executable, "-m", "oidcsetup", *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", data.decode()).replace("\r", "")
    assert "┃" in text  # rich drew it: a terminal
    names = [c for c in cells(text, 1) if c]
    assert "allowedSignupDomains" in names and "disablePasswordConfirmation" in names
    assert len(names) == 17  # every setting whole on its own line
    assert all(len(line) <= 80 for line in text.splitlines())
