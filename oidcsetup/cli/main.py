"""The ``oidcsetup`` command group: global options and the error-to-exit-code mapping."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

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
    "register": "oidcsetup.cli.register:register_command",
    "migrate": "oidcsetup.cli.migrate:migrate_group",
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
    "register": "Register the client at the provider (RFC 7591), check, update or delete it.",
    "migrate": "Move Matomo to the other login plugin (Login OIDC <-> RebelOIDC), plan first.",
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
Exit codes: 0 ok or in sync, 1 failure, 2 usage error, 3 findings or drift, 4 unreachable,
130/143 interrupted (SIGINT/SIGTERM). With --json, stdout holds one document, also on failure
and interruption: schema_version, ok (true exactly when the exit code is 0), exit_code,
warnings, then the command's result or an error (docs/schemas/).
"""


class RootGroup(LazyGroup):
    """Ends every command the one documented way: an exit code, and with ``--json`` one document.

    Maps OidcSetupError (and stray exceptions) to one line on stderr and an exit code, turns
    SIGINT and SIGTERM into an "interrupted" error (exit 130, 143), and hands the real exit code
    to ``Output.finish``, which prints the JSON document with ``ok`` true exactly when it is 0.
    """

    def invoke(self, ctx: click.Context) -> Any:
        with _signals_interrupt():
            try:
                result = super().invoke(ctx)
            except OidcSetupError as exc:
                report_error(exc, ctx)
                raise click.exceptions.Exit(int(exc.exit_code)) from None
            except click.ClickException as exc:
                # A usage mistake in a subcommand's options: click prints it on stderr; --json
                # still gets its one document on stdout.
                # Also before the root's callback ran (an unknown command is found first).
                _run_output(ctx).finish(exc.exit_code, error=usage_error_json(exc))
                raise
            except click.exceptions.Exit as exc:
                _run_output(ctx).finish(exc.exit_code)
                raise
            except click.exceptions.Abort as exc:
                if isinstance(exc.__context__, KeyboardInterrupt):  # Ctrl-C at a click prompt
                    _report_interrupt(ctx, exc.__context__)
                # A prompt met the end of its input: click says "Aborted!" and exits 1.
                _run_output(ctx).finish(
                    int(ExitCode.FAILURE),
                    error=error_json("Aborted", "aborted", "aborted: a prompt got no answer"),
                )
                raise
            except BrokenPipeError:
                raise  # the reader went away (`| head`): click exits quietly with status 1
            except KeyboardInterrupt as exc:
                _report_interrupt(ctx, exc)
            except Exception as exc:  # a bug, not a user mistake: say so, keep it to one line
                app = _app(ctx)
                if (app and app.debug) or os.environ.get("OIDCSETUP_DEBUG"):
                    _print_traceback()
                output = _run_output(ctx)
                message = f"internal error: {type(exc).__name__}: {exc}"
                hint = "run again with --debug and report the traceback"
                output.error(message, hint)
                output.finish(
                    int(ExitCode.FAILURE),
                    error=error_json("InternalError", "internal", message, hint),
                )
                raise click.exceptions.Exit(int(ExitCode.FAILURE)) from None
            _run_output(ctx).finish(int(ExitCode.OK))
            return result

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
                _output(json_mode=True).finish(exc.exit_code, error=usage_error_json(exc))
            raise


def _report_interrupt(ctx: click.Context, exc: KeyboardInterrupt) -> NoReturn:
    """SIGINT or SIGTERM stopped the command: one error line, the error document, exit 128+N."""
    from oidcsetup.errors import Interrupted

    stop = exc if isinstance(exc, Interrupted) else Interrupted()
    output = _run_output(ctx)
    message = f"interrupted by {stop}; stopped before finishing"
    output.error(message)
    output.finish(stop.exit_code, error=error_json("Interrupted", "interrupted", message))
    raise click.exceptions.Exit(stop.exit_code) from None


def _run_output(ctx: click.Context) -> Output:
    """The run's Output; before the root's callback made one, a fresh one (``--json`` as parsed)."""
    app = _app(ctx)
    if app is not None:
        return app.output
    return _output(json_mode=bool(ctx.params.get("json_mode")))


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While a command runs, SIGINT and SIGTERM raise ``Interrupted`` in the main thread.

    Python already turns SIGINT into KeyboardInterrupt; SIGTERM would end the process on the
    spot, with no JSON document and no clean-up. A signal someone chose to ignore (``nohup``,
    a background job's SIGINT) stays ignored; outside the main thread nothing changes.
    """
    import signal
    import threading

    from oidcsetup.errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {}
    for signum, default in defaults.items():
        if signal.getsignal(signum) is default:
            previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def usage_error_json(exc: click.ClickException) -> dict[str, Any]:
    """The error object of a usage mistake click found (its message is on stderr already)."""
    if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        # A group run without a command: click prints the help; the document says why.
        return error_json("UsageError", "usage", "missing command", "see --help")
    return error_json("UsageError", "usage", exc.format_message())


def error_json(kind: str, code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    """The ``error`` object of a failed run's JSON document (``exit_code`` is added by finish)."""
    return {"type": kind, "code": code, "message": message, "hint": hint}


def report_error(exc: OidcSetupError, ctx: click.Context) -> None:
    """One line (and a hint) on stderr; with ``--json``, the error document on stdout."""
    app = _app(ctx)
    output = _run_output(ctx)
    if app and app.debug:
        _print_traceback()
    output.error(exc.message, exc.hint)
    output.finish(
        int(exc.exit_code), error=error_json(type(exc).__name__, exc.code, exc.message, exc.hint)
    )


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
    """Wire an OpenID Connect provider to Matomo (Login OIDC or RebelOIDC), correctly the first time.

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
            code="insecure",
        )


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="oidcsetup")
