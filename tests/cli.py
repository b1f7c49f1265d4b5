"""Run the real CLI in-process (click's CliRunner) with stdout and stderr kept apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from click.testing import CliRunner

from oidcsetup.cli.main import cli


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
) -> Result:
    runner = CliRunner()
    outcome = runner.invoke(
        cli, list(args), env=dict(env or {}), input=input, catch_exceptions=False
    )
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)
