"""Rendering for humans and machines.

- ``--json``: exactly one JSON document on stdout; every message, warning and progress on stderr.
- a terminal: rich tables and spinners (rich is imported only then, to keep start-up fast).
- piped: plain text, no colour, no control sequences.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any


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

    def json(self, document: Any) -> None:
        """Print the one JSON document of a ``--json`` run on stdout."""
        self.stdout.write(json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False))
        self.stdout.write("\n")
        self.stdout.flush()

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

    def warn(self, message: str, hint: str | None = None) -> None:
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
            # where the terminal allows, and let the descriptive columns wrap instead.
            last = max((len(str(row[-1])) for row in rows if row), default=0)
            others = len(columns) - 1
            room = console.width - last - (3 * len(columns) + 1)  # borders and padding
            share = room // others if others else 0
            keep_whole = others == 0 or share >= 10
            for index, column in enumerate(columns):
                is_last = index == len(columns) - 1
                table.add_column(
                    column,
                    overflow="fold",
                    min_width=last if is_last and keep_whole and others else None,
                    max_width=share if not is_last and keep_whole else None,
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
