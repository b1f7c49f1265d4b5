"""A click group whose subcommands are imported only when used (fast ``--help``/``--version``)."""

from __future__ import annotations

import importlib
from typing import Any

import click


def _set_json_mode(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value:
        return
    from oidcsetup.cli.context import AppContext

    app = ctx.find_object(AppContext)
    if app is not None:
        app.json_mode = True
        app.output.json_mode = True


def prepare_command(command: click.Command, env_prefix: str | None) -> click.Command:
    """Finish a subcommand as it is loaded: flag-named env variables and a local ``--json``."""
    prefix = (
        f"{env_prefix}_{(command.name or '').upper().replace('-', '_')}" if env_prefix else None
    )
    if isinstance(command, click.Group):
        if not isinstance(command, LazyGroup):  # a LazyGroup prepares its own on loading
            for sub in command.commands.values():
                prepare_command(sub, prefix)
        return command
    if prefix:
        name_env_after_flags(command, prefix)
    return with_json_option(command)


def name_env_after_flags(command: click.Command, prefix: str) -> None:
    """``OIDCSETUP_<COMMAND>_<FLAG>`` for every option without an explicit variable.

    click's automatic prefix would name the variable after the Python parameter (``config_path``
    for ``--config``); users read flags, so the variable follows the longest flag instead:
    ``apply matomo --config`` is ``OIDCSETUP_APPLY_MATOMO_CONFIG``.
    """
    for param in command.params:
        if not isinstance(param, click.Option) or param.envvar or not param.expose_value:
            continue
        flags = [opt for opt in param.opts if opt.startswith("--")]
        if not flags:
            continue
        flag = max(flags, key=len)[2:]
        param.envvar = f"{prefix}_{flag.upper().replace('-', '_')}"


def with_json_option(command: click.Command) -> click.Command:
    """Let ``--json`` also follow the subcommand (``oidcsetup check --json``), as users type it.

    The global ``oidcsetup --json COMMAND`` stays the documented form; both set the same mode.
    """
    if any("--json" in getattr(p, "opts", ()) for p in command.params):
        return command
    command.params.append(
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_set_json_mode,
            help="One JSON document on stdout; logs on stderr (same as oidcsetup --json).",
        )
    )
    return command


class LazyGroup(click.Group):
    """Subcommands given as ``{"name": "module.path:attribute"}``, imported on first use.

    Listing them (``--help``) uses ``lazy_help`` and imports none of them. A command module, once
    loaded, still imports nothing heavy at module level by convention: httpx, rich, ruamel,
    pymysql and argon2 are imported inside functions.
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: dict[str, str] | None = None,
        lazy_help: dict[str, str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}
        # One-line help per subcommand, so that listing them (--help) imports none of them.
        # tests/test_foundation.py checks each equals the command's own first help line.
        self.lazy_help = lazy_help or {}

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not all(name in self.lazy_help for name in names):
            super().format_commands(ctx, formatter)
            return
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.lazy_help[name]) for name in names])

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return prepare_command(command, ctx.auto_envvar_prefix)
        return super().get_command(ctx, cmd_name)
