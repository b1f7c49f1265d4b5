"""Rendering for humans and machines.

- ``--json``: exactly one JSON document on stdout; every message, warning and progress on stderr.
- a terminal: rich tables and spinners (rich is imported only then, to keep start-up fast).
- piped: plain text, no colour, no control sequences.

The JSON contract (README, "Machine-readable output"; docs/schemas/) is kept here, not by each
command: a command hands its result to :meth:`Output.json`, and the CLI's root group calls
:meth:`Output.finish` with the process's real exit code once the command has ended (returned,
exited, failed or been interrupted). ``finish`` prints the one document, with the envelope every
command shares: ``schema_version``, ``ok`` (true exactly when ``exit_code`` is 0), ``exit_code``
and ``warnings`` (every warning the run printed on stderr, as ``{code, message, hint}``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

# The version of the JSON contract shared by every command's document (docs/schemas/). Raised
# when a key changes meaning or goes away; keys are added without raising it.
SCHEMA_VERSION = 2

# Keys the envelope owns: a command's own value for them is replaced by the real one.
ENVELOPE_KEYS = ("schema_version", "ok", "exit_code")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Output:
    """Where and how a command talks. One instance per command invocation, no global state."""

    json_mode: bool = False
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    color: bool | None = None  # None: decide from the terminal and NO_COLOR
    # Every warning printed on stderr during the run, for the JSON document's ``warnings``.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    _result: dict[str, Any] | None = field(default=None, repr=False)
    _finished: bool = field(default=False, repr=False)

    @property
    def rich_stdout(self) -> bool:
        return not self.json_mode and _isatty(self.stdout) and self._color_allowed()

    @property
    def rich_stderr(self) -> bool:
        return _isatty(self.stderr) and self._color_allowed()

    def _color_allowed(self) -> bool:
        if self.color is not None:
            return self.color
        return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    # --- data -----------------------------------------------------------------------------

    def json(self, document: dict[str, Any]) -> None:
        """The command's result for ``--json``: printed by :meth:`finish` when the command ends.

        Called again, the later result replaces the earlier one (there is only one document).
        """
        self._result = dict(document)

    def finish(self, exit_code: int, error: dict[str, Any] | None = None) -> None:
        """Print the one JSON document of a ``--json`` run, once, in the shared envelope.

        ``error`` (``{type, code, message, hint}``) replaces the command's result: the run
        failed or was interrupted, so whatever it had gathered is not its answer. A run that
        ends with exit 0 and no result (``--help``) prints nothing.
        """
        if not self.json_mode or self._finished:
            return
        body: dict[str, Any]
        if error is not None:
            body = {"error": {**error, "exit_code": exit_code}}
        elif self._result is not None:
            body = {k: v for k, v in self._result.items() if k not in ENVELOPE_KEYS}
        elif exit_code == 0:
            return
        else:  # an exit status without a result or an error: still one document
            body = {
                "error": {
                    "type": "Exit",
                    "code": "exit",
                    "message": f"the command ended with exit status {exit_code}",
                    "hint": None,
                    "exit_code": exit_code,
                }
            }
        self._finished = True
        document = {
            "schema_version": SCHEMA_VERSION,
            "ok": exit_code == 0,
            "exit_code": exit_code,
            **body,
            "warnings": self._merged_warnings(body.pop("warnings", None)),
        }
        self.stdout.write(json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False))
        self.stdout.write("\n")
        self.stdout.flush()

    def _merged_warnings(self, own: Any) -> list[dict[str, Any]]:
        """A command's own warning list (if it kept one) and those printed, each once."""
        merged: list[dict[str, Any]] = []
        seen: set[str] = set()
        for warning in [*(own or []), *self.warnings]:
            if warning["message"] in seen:
                continue
            seen.add(warning["message"])
            merged.append(
                {
                    "code": warning.get("code") or "warning",
                    "message": warning["message"],
                    "hint": warning.get("hint"),
                }
            )
        return merged

    def text(self, text: str = "") -> None:
        """Human-facing result text: stdout normally, stderr in ``--json`` mode."""
        stream = self.stderr if self.json_mode else self.stdout
        stream.write(text + "\n")
        stream.flush()

    def raw(self, text: str) -> None:
        """Artefact text (a YAML fragment, an ini block) always on stdout, unchanged."""
        self.stdout.write(text)
        self.stdout.flush()

    # --- messages on stderr ---------------------------------------------------------------

    def info(self, message: str) -> None:
        self._err(message)

    def warn(self, message: str, hint: str | None = None, *, code: str = "warning") -> None:
        """A warning on stderr; also kept for the JSON document's ``warnings`` (``code``: stable)."""
        self.warnings.append({"code": code, "message": message, "hint": hint})
        self._err(self._style("warning:", "yellow") + " " + message)
        if hint:
            self._err("  hint: " + hint)

    def error(self, message: str, hint: str | None = None) -> None:
        self._err(self._style("error:", "red") + " " + message)
        if hint:
            self._err("  hint: " + hint)

    def _err(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()

    def _style(self, text: str, colour: str) -> str:
        if not self.rich_stderr:
            return text
        codes = {"red": "31", "yellow": "33", "green": "32", "dim": "2"}
        return f"\x1b[{codes[colour]}m{text}\x1b[0m"

    # --- tables and progress --------------------------------------------------------------

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]],
        title: str | None = None,
    ) -> None:
        """A table: rich on a terminal, aligned plain text otherwise (stderr in --json mode)."""
        if self.rich_stdout:
            from rich.console import Console
            from rich.table import Table

            console = Console(file=self.stdout)
            table = Table(title=title, title_justify="left")
            # The last column holds what users copy (URLs, values): keep it whole on one line
            # where the terminal allows, and let the descriptive columns wrap instead, at
            # spaces only: a column is never narrower than its longest word, so a name
            # (a setting, a claim) is never cut in two.
            last = max((len(str(row[-1])) for row in rows if row), default=0)
            others = len(columns) - 1
            words = [
                max(
                    len(word)
                    for cell in (column, *(row[i] for row in rows))
                    for word in [*str(cell).split(), ""]
                )
                for i, column in enumerate(columns[:-1])
            ]
            room = console.width - last - (3 * len(columns) + 1)  # borders and padding
            share = room // others if others else 0
            keep_whole = others == 0 or (share >= 10 and room >= sum(words))
            for index, column in enumerate(columns):
                is_last = index == len(columns) - 1
                if is_last:
                    table.add_column(
                        column, overflow="fold", min_width=last if keep_whole and others else None
                    )
                    continue
                single_words = all(len(str(row[index]).split()) <= 1 for row in rows)
                table.add_column(
                    column,
                    overflow="fold",
                    no_wrap=single_words,
                    min_width=words[index],
                    max_width=max(share, words[index]) if keep_whole else None,
                )
            for row in rows:
                table.add_row(*[str(cell) for cell in row])
            console.print(table)
            return
        lines = []
        if title:
            lines.append(title)
        widths = [len(c) for c in columns]
        for row in rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(str(cell)))
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip())
        for row in rows:
            lines.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        self.text("\n".join(lines))

    @contextmanager
    def spinner(self, message: str) -> Iterator[None]:
        """A spinner on a terminal's stderr while work runs; silent otherwise."""
        if not self.rich_stderr:
            yield
            return
        from rich.console import Console

        console = Console(file=self.stderr)
        with console.status(message):
            yield
