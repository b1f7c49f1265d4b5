"""What every ``gen <provider>`` command shares: the Integration and the URIs the app computed,
findings on stderr, and the client secret's report (never its value unless asked).

A provider package never imports an app package (docs/architecture.md): the redirect URIs come
from the Integration (``Integration.redirect_uris``, computed by the app side) and are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from oidcsetup.errors import ExitCode, FindingsError

if TYPE_CHECKING:
    from oidcsetup.cli.context import AppContext
    from oidcsetup.findings import Finding
    from oidcsetup.integration import Integration

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ProviderInputs:
    """Everything a provider package needs besides the secret: a pure function of these."""

    integration: Integration
    redirect_uris: tuple[str, ...]
    # Where the provider may send the browser after logout (Matomo's base URL by default).
    post_logout_redirect_uris: tuple[str, ...]
    app_url: str | None = None  # Matomo's base URL, normalised (None when only an override)
    # The app's plugin reads the access token as a JWT (RebelOIDC): ask the provider for JWTs.
    jwt_access_tokens: bool = False


def post_logout_option(func: Any) -> Any:
    return click.option(
        "--post-logout-redirect-uri",
        "post_logout_redirect_uri",
        default=None,
        envvar="OIDCSETUP_POST_LOGOUT_REDIRECT_URI",
        show_envvar=True,
        help="Where the provider may send the browser after logout (default: Matomo's URL).",
    )(func)


def provider_inputs(
    app: AppContext, values: Mapping[str, Any], post_logout_redirect_uri: str | None = None
) -> ProviderInputs:
    """The Integration (flags and environment over the profile) and the app's URIs."""
    from oidcsetup.apps.matomo.redirect import check_redirect_uri, matomo_base_url

    integration = app.integration(dict(values))
    uris = integration.redirect_uris
    app_url = matomo_base_url(integration.matomo.url) if integration.matomo.url else None
    if post_logout_redirect_uri:
        post: tuple[str, ...] = (
            check_redirect_uri(post_logout_redirect_uri, "--post-logout-redirect-uri"),
        )
    else:
        post = (app_url,) if app_url else ()
    return ProviderInputs(integration, uris, post, app_url, integration.jwt_access_tokens)


def report_findings(app: AppContext, findings: Iterable[Finding]) -> None:
    for finding in findings:
        text = f"[{finding.code}] {finding.message}"
        if finding.level == "error":
            app.output.error(text, finding.hint)
        elif finding.level == "warning":
            app.output.warn(text, finding.hint, code=finding.code)
        else:
            app.output.info(f"note: {text}")


def stop_on_errors(
    app: AppContext, findings: list[Finding], document: dict[str, Any], what: str
) -> None:
    """Report the findings; on an error-level one, end the command (exit 3), nothing written."""
    from oidcsetup.findings import has_errors

    report_findings(app, findings)
    if not has_errors(findings):
        return
    if app.json_mode:
        app.output.json(document)
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))
    count = sum(1 for f in findings if f.level == "error")
    raise FindingsError(
        f"{what} breaks {count} rule(s); nothing was written",
        hint="fix the values named above (flags, OIDCSETUP_* variables or the profile)",
    )


def secret_json(secret: Any, show: bool, dry_run: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "source": secret.source,
        "generated": secret.generated,
        "file": str(secret.file) if secret.file else None,
        "written": bool(secret.generated and not dry_run),
        "profile_reference": secret.reference,
    }
    if show:
        result["value"] = secret.value
    return result


def _toml_string(text: str) -> str:
    """A TOML basic string (what the profile needs), escaped like JSON."""
    import json

    return json.dumps(text, ensure_ascii=False)


def report_secret(app: AppContext, secret: Any, show: bool, dry_run: bool, gets: str) -> None:
    """Say where the secret came from or went (``gets``: what the provider receives of it)."""
    # printable() escapes a line break in the path (it would end a line of the report)
    from oidcsetup.providers.authelia.render import printable

    out = app.output
    if secret.generated:
        verb = "would write" if dry_run else "wrote"
        out.info(
            f"generated a new client secret and {verb} it to {printable(str(secret.file))} "
            f"(mode 0600); {gets}"
        )
        if not secret.in_profile:
            out.info(
                f"next: set client.secret = {_toml_string(f'file:{secret.file.resolve()}')} "
                "in the profile so that `oidcsetup gen matomo` gives Matomo the same secret"
            )
        if dry_run:
            out.warn(
                "dry run: the secret was not saved, so this digest matches no stored secret",
                code="secret-not-saved",
            )
    elif secret.file is not None:
        out.info(f"using the client secret kept in {printable(str(secret.file))}")
    if show:
        out.info(f"client secret (for Matomo only): {secret.value}")


def file_option(flag: str, dest: str, help_text: str) -> Callable[[F], F]:
    """An option naming a file (not a folder), ``None`` when not given."""
    return click.option(
        flag, dest, type=click.Path(dir_okay=False, path_type=Path), default=None, help=help_text
    )


def secret_options(show_secrets_help: str) -> Callable[[F], F]:
    """``--secret-file`` (where a generated secret is kept) and ``--show-secrets``."""

    def decorate(func: F) -> F:
        func = click.option("--show-secrets", is_flag=True, help=show_secrets_help)(func)
        where = "Where a generated secret is kept (default ./<client_id>.secret)."
        return file_option("--secret-file", "secret_file", where)(func)

    return decorate


def output_option(help_text: str) -> Callable[[F], F]:
    """``--output PATH``: write the artefact to a file (``output_path``)."""
    return file_option("--output", "output_path", help_text)


def merge_options(
    merge_help: str, dry_run_help: str = "With --merge: show the diff, write nothing."
) -> Callable[[F], F]:
    """``--merge PATH`` (``merge_path``: a file the user keeps, updated in place) and ``--dry-run``."""

    def decorate(func: F) -> F:
        func = click.option("--dry-run", is_flag=True, help=dry_run_help)(func)
        return file_option("--merge", "merge_path", merge_help)(func)

    return decorate


def report_file_merge(
    app: AppContext,
    document: dict[str, Any],
    merge: Any,
    *,
    what: str,
    dry_run: bool,
    backup: Any,
    diff: str,
    next_step: str,
) -> None:
    """The end of a ``--merge``: the JSON document, or in sync / the dry run's diff / written."""
    out = app.output
    document["merge"] = {
        "path": str(merge.path),
        "action": merge.action,
        "in_sync": merge.in_sync,
        "written": bool(not dry_run and not merge.in_sync),
        "backup": str(backup) if backup else None,
        "diff": diff,
    }
    if app.json_mode:
        out.json(document)
        return
    where = f"{what} in {merge.path}"
    if merge.in_sync:
        out.text(f"in sync: {where} already matches; nothing written")
    elif dry_run:
        out.raw(diff)
        out.info(f"dry run: {where} would be {merge.action}; nothing written")
    else:
        saved = f"; previous file saved as {backup}" if backup else ""
        out.text(f"{merge.action} {where}{saved}")
    if next_step:
        out.info(next_step)
