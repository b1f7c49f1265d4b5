"""Output: rich tables on a terminal keep the value column whole; plain text when piped."""

from __future__ import annotations

import io
import json
import re

import pytest

from oidcsetup.output import Output

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
    output.json({"ok": True})
    assert json.loads(stdout.getvalue()) == {"ok": True}
    assert "for humans" in stderr.getvalue()
