"""Prompts on the terminal (stderr), for secrets that never come from the command line.

The caller checks that stdin is a terminal; without one, nothing is asked.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click


def prompt_client_secret(confirm: bool = False) -> str:
    """The client secret from a hidden prompt on stderr (the caller checks for a terminal)."""
    return str(
        click.prompt("Client secret", hide_input=True, confirmation_prompt=confirm, err=True)
    )


def terminal_prompt() -> Callable[[str], str] | None:
    """A hidden prompt on stderr when stdin is a terminal, else None: a pipeline or CI job must
    get a clear error naming the variable to set, never a prompt that hangs."""
    if not (sys.stdin and sys.stdin.isatty()):
        return None

    def ask(what: str) -> str:
        return str(click.prompt(what, hide_input=True, default="", show_default=False, err=True))

    return ask


def prompt_database_password() -> str | None:
    """Matomo's database password from a hidden prompt, or None without a terminal."""
    if not sys.stdin.isatty():
        return None
    value: str = click.prompt(
        "Database password", hide_input=True, default="", show_default=False, err=True
    )
    return value
