"""The ``oidcsetup`` command group: global options and the error-to-exit-code mapping."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from oidcsetup import __version__
from oidcsetup.cli.lazy import LazyGroup
from oidcsetup.errors import ExitCode, OidcSetupError

if TYPE_CHECKING:
    from oidcsetup.cli.context import AppContext
    from oidcsetup.output import Output

# Start-up: `--version` and `--help` end before the group's callback runs, so what only a
# command run needs (the context, output, traceback) is imported inside the functions below.


def _app(ctx: click.Context) -> AppContext | None:
    from oidcsetup.cli.context import AppContext

    return ctx.obj if isinstance(ctx.obj, AppContext) else None


def _output(json_mode: bool = False) -> Output:
    from oidcsetup.output import Output

    return Output(json_mode=json_mode)


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


COMMANDS = {
    "init": "oidcsetup.cli.init:init_command",
    "show": "oidcsetup.cli.show:show_command",
    "discover": "oidcsetup.cli.discover:discover_command",
    "gen": "oidcsetup.cli.gen:gen_group",
    "apply": "oidcsetup.cli.apply:apply_group",
    "check": "oidcsetup.cli.check:check_command",
    "login": "oidcsetup.cli.login:login_command",
    "secret": "oidcsetup.cli.secret:secret_group",
}

COMMAND_HELP = {
    "init": "Write a commented starter profile (./oidcsetup.toml or --profile).",
    "show": "Show the resolved integration and where each value comes from.",
    "discover": "Discover ISSUER's endpoints and check its metadata strictly.",
    "gen": "Generate the provider side, the app side, or the redirect URIs.",
    "apply": "Apply settings to an application, with a plan first.",
    "check": "Probe the provider with the integration's values and report each probe.",
    "login": "Log in with the authorization code flow and show the claims.",
    "secret": "Client secrets: generate one, digest it for Authelia, verify a digest.",
}

EPILOG = """\
\b
Examples:
  oidcsetup init --issuer https://auth.example.com --matomo-url https://matomo.example.com
  oidcsetup discover https://auth.example.com --save
  oidcsetup gen authelia --merge /etc/authelia/configuration.yml
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --dry-run
  oidcsetup check --json

\b
Exit codes: 0 ok or in sync, 1 failure, 2 usage error, 3 findings or drift, 4 unreachable.
"""


class RootGroup(LazyGroup):
    """Maps OidcSetupError (and stray exceptions) to one line on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OidcSetupError as exc:
            app = _app(ctx)
            report_error(exc, app)
            raise click.exceptions.Exit(int(exc.exit_code)) from None
        except click.ClickException as exc:
            # A usage mistake in a subcommand's options: click prints it on stderr; --json
            # still gets its one document on stdout.
            # Also before the root's callback ran (an unknown command is found first).
            app = _app(ctx)
            if app.json_mode if app else ctx.params.get("json_mode"):
                output = app.output if app else _output(json_mode=True)
                report_json_error(output, "UsageError", exc.format_message(), exc.exit_code)
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader went away (`| head`): click exits quietly with status 1
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # a bug, not a user mistake: say so, keep it to one line
            app = _app(ctx)
            if (app and app.debug) or os.environ.get("OIDCSETUP_DEBUG"):
                _print_traceback()
            output = app.output if app else _output()
            message = f"internal error: {type(exc).__name__}: {exc}"
            hint = "run again with --debug and report the traceback"
            output.error(message, hint)
            if app and app.json_mode:
                report_json_error(output, "InternalError", message, int(ExitCode.FAILURE), hint)
            raise click.exceptions.Exit(int(ExitCode.FAILURE)) from None

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Looked at before parsing: click's parser consumes ``args``.
        global_args = args[: args.index("--")] if "--" in args else list(args)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            # A mistake in the global options (`--json --profile /etc`): the one JSON document
            # still reaches stdout; click prints the message on stderr.
            if "--json" in global_args:
                report_json_error(_output(json_mode=True), "UsageError", exc.format_message(), 2)
            raise


def report_error(exc: OidcSetupError, app: AppContext | None) -> None:
    output = app.output if app else _output()
    if app and app.debug:
        _print_traceback()
    output.error(exc.message, exc.hint)
    if app and app.json_mode:
        code = getattr(exc, "code", None)
        report_json_error(
            output,
            type(exc).__name__,
            exc.message,
            int(exc.exit_code),
            exc.hint,
            code=code if isinstance(code, str) else None,
        )


def report_json_error(
    output: Output,
    kind: str,
    message: str,
    exit_code: int,
    hint: str | None = None,
    *,
    code: str | None = None,
) -> None:
    """The one JSON document of a failed ``--json`` run (``code``: a stable error code, if any)."""
    error: dict[str, Any] = {"type": kind, "message": message, "hint": hint, "exit_code": exit_code}
    if code:
        error["code"] = code
    output.json({"ok": False, "error": error})


@click.group(
    cls=RootGroup,
    lazy_subcommands=COMMANDS,
    lazy_help=COMMAND_HELP,
    epilog=EPILOG,
    context_settings={"auto_envvar_prefix": "OIDCSETUP", "help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="oidcsetup")
@click.option(
    "--profile",
    type=click.Path(dir_okay=False),
    envvar="OIDCSETUP_PROFILE",
    show_envvar=True,
    help="The integration profile. Default: ./oidcsetup.toml.",
)
@click.option(
    "--json",
    "json_mode",
    is_flag=True,
    envvar="OIDCSETUP_JSON",
    help="One JSON document on stdout; logs on stderr.",
)
@click.option("--debug", is_flag=True, envvar="OIDCSETUP_DEBUG", help="Show tracebacks.")
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    envvar="OIDCSETUP_CA_BUNDLE",
    show_envvar=True,
    help="PEM file of CA certificates to trust for the provider.",
)
@click.option(
    "--insecure",
    is_flag=True,
    envvar="OIDCSETUP_INSECURE",
    help="Do not verify TLS certificates (dangerous; for tests only).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    json_mode: bool,
    debug: bool,
    ca_bundle: str | None,
    insecure: bool,
) -> None:
    """Wire an OpenID Connect provider to Matomo's Login OIDC plugin, correctly the first time.

    One integration profile (oidcsetup.toml) drives every command, so the provider side
    (Authelia's client entry) and the app side (Matomo's settings) always agree.
    """
    from oidcsetup.cli.context import make_context

    ctx.obj = make_context(profile, json_mode, debug, ca_bundle, insecure)
    if insecure:
        ctx.obj.output.warn(
            "--insecure: TLS certificates are NOT verified; anyone on the path can impersonate "
            "the provider",
            hint="use --ca-bundle PEM to trust a private CA instead",
        )


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="oidcsetup")
