"""``oidcsetup register``: dynamic client registration at the provider (docs/register.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import overrides, shared_options
from oidcsetup.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from oidcsetup.register import RegistrationReport


@click.command(
    "register",
    epilog="""\b
Examples:
  OIDCSETUP_REGISTRATION_TOKEN=file:/run/secrets/iat oidcsetup register \\
      --issuer https://auth.example.com --matomo-url https://matomo.example.com
  oidcsetup register            # again: brings the registration in line (RFC 7592 PUT)
  oidcsetup register --check    # read it back, exit 3 on drift
  oidcsetup --json register --check
  oidcsetup register --delete
\b
The provider's discovery document must advertise registration_endpoint. An initial access
token, when the provider wants one, comes from $OIDCSETUP_REGISTRATION_TOKEN (the token, or
file:PATH), never from a flag. The client secret and the registration access token go to
0600 files beside the profile (client.secret = "file:..."); the profile gets client.id.
\b
Exit codes: 0 registered (or in sync), 1 failure (the provider refused), 2 usage error,
3 drift (--check) or a registration Matomo cannot log in with, 4 provider unreachable.
""",
)
@shared_options("issuer", "client_name", "scopes", "matomo_url", "redirect_uri_override", "plugin")
@click.option(
    "--check", "check_only", is_flag=True, help="Read the registration back; exit 3 on drift."
)
@click.option("--delete", is_flag=True, help="Delete the registration at the provider.")
@click.option(
    "--show-secrets",
    is_flag=True,
    help="Show the client secret and registration access token.",
)
@click.pass_obj
def register_command(
    app: AppContext, check_only: bool, delete: bool, show_secrets: bool, **kwargs: Any
) -> None:
    """Register Matomo's client at the provider (RFC 7591), check, update or delete it (RFC 7592).

    The client is registered with exactly what Matomo's login plugin needs (Login OIDC or
    RebelOIDC, --plugin): the plugin's redirect URI,
    client_secret_post, the authorization_code grant, the code response type, unsigned
    userinfo, the scopes and the client name. What the provider granted is compared with what
    was asked: a difference with which Matomo's login fails is an error (exit 3).
    """
    from oidcsetup.register import (
        check_registration,
        delete_registration,
        initial_access_token,
        register_client,
    )
    from oidcsetup.register.store import storage_plan

    if check_only and delete:
        raise UsageError("--check and --delete exclude each other")
    integration = app.integration(overrides(kwargs))
    plan = storage_plan(integration.client.secret, app.profile)
    if delete:
        report = delete_registration(app.network, plan, app.profile)
        _render(app, report, show_secrets, plan)
        return
    uris = integration.redirect_uris
    if integration.jwt_access_tokens:
        # RFC 7591 has no metadata asking for JWT access tokens (docs/rebeloidc.md).
        app.output.warn(
            "the login plugin (RebelOIDC) decodes the access token as a JWT, and a registration "
            "cannot ask the provider for JWT access tokens: an opaque one fails Matomo's login "
            'with "Invalid JWT token format."',
            hint="make the provider issue JWT access tokens for this client (LemonLDAP::NG: "
            "oidcRPMetaDataOptionsAccessTokenJWT = 1 in its manager), see docs/rebeloidc.md",
            code="registration-jwt-access-token",
        )
    if check_only:
        report = check_registration(integration, uris, app.network, plan)
    else:
        if plan.replaces:
            app.output.info(
                f"note: client.secret {plan.replaces!r} is replaced by {plan.reference!r} "
                "(the secret the provider issued)"
            )
        report = register_client(
            integration, uris, app.network, plan, app.profile, token=initial_access_token()
        )
    _render(app, report, show_secrets, plan)
    # Exit 3 with the report as the document (an error would replace it): what differs is
    # the answer, as with `apply matomo --check`.
    if report.breaking:
        first = report.breaking[0]
        app.output.error(
            f"{first.field}: {first.message}",
            hint="change the provider's registration policy, then run `oidcsetup register` again",
        )
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))
    if check_only and not report.in_sync:
        first = report.differences[0]
        app.output.error(
            f"the registration drifted: {first.field}: {first.message}",
            hint="run `oidcsetup register` to bring it in line",
        )
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


def _render(app: AppContext, report: RegistrationReport, show_secrets: bool, plan: Any) -> None:
    document = {
        **report.to_json(show_secrets=show_secrets),
        "secret_file": str(plan.secret_file),
        "registration_file": str(plan.registration_file),
        "profile": str(app.profile),
    }
    for difference in report.differences:
        if not difference.breaks_matomo:
            app.output.warn(
                difference.message, code="registration-" + difference.field.replace("_", "-")
            )
    if report.stored is not None and not report.stored.managed:
        app.output.warn(
            "the provider offers no registration management (RFC 7592: it gave no "
            "registration_access_token): `register --check`, a second `register` and "
            "`register --delete` cannot reach this client; change it at the provider",
            code="registration-unmanaged",
        )
    if app.json_mode:
        app.output.json(document)
        return
    out = app.output
    out.text(f"Client {report.client_id}: {report.action}")
    if report.action == "deleted":
        out.text(f"  removed {plan.registration_file} and {plan.secret_file}")
        return
    rows = [
        [name, _display(report.requested.get(name)), _display(report.granted.get(name))]
        for name in report.requested
    ]
    out.table(["metadata", "asked", "provider has"], rows)
    out.text(f"  registration: {report.registration_client_uri or '(not manageable)'}")
    out.text(f"  credentials:  {plan.secret_file} and {plan.registration_file} (0600)")
    if report.action in ("created", "updated"):
        out.text(
            f"  profile {app.profile}: client.id, client.secret ({plan.reference}), "
            "client.auth_method and what was registered from (issuer, name, scopes, Matomo URL, plugin)"
        )
    if show_secrets and report.stored is not None:
        out.text(f"  client_secret: {report.stored.client_secret}")
        out.text(f"  registration_access_token: {report.stored.registration_access_token}")
    if report.in_sync:
        out.text("  in sync: the provider holds exactly what the login plugin needs")


def _display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)
