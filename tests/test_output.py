"""Output: rich tables on a terminal keep the value column whole; plain text when piped."""

from __future__ import annotations

import io
import json
import re

import pytest

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
