"""``oidcsetup discover``: find, validate and show a provider's endpoints (docs/discover.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import shared_options
from oidcsetup.errors import ExitCode, UsageError
from oidcsetup.findings import Finding, Level
from oidcsetup.integration import ProviderEndpoints, build_integration
from oidcsetup.output import SCHEMA_VERSION
from oidcsetup.profile import load_profile

if TYPE_CHECKING:
    from oidcsetup.discovery import DiscoveryResult

# Login OIDC setting name -> ProviderEndpoints field (shared/reference/matomo-loginoidc.md).
MATOMO_SETTINGS = (
    ("authorizeUrl", "Authorize URL", "authorization_endpoint"),
    ("tokenUrl", "Token URL", "token_endpoint"),
    ("userinfoUrl", "Userinfo URL", "userinfo_endpoint"),
    ("endSessionUrl", "Logout URL", "end_session_endpoint"),
)


@click.command(
    "discover",
    epilog="""\b
Examples:
  oidcsetup discover https://auth.example.com
  oidcsetup discover https://auth.example.com --save
  oidcsetup --json discover https://keycloak.example.com/realms/main
  oidcsetup discover https://idp.example.com --url https://idp.example.com/oidc/.well-known/openid-configuration
  oidcsetup discover https://connect.unikname.com/oidc --preset unikname --save
  oidcsetup discover https://sso.example.com --authorization-endpoint https://sso.example.com/authorize \\
      --token-endpoint https://sso.example.com/token --userinfo-endpoint https://sso.example.com/userinfo

\b
Exit codes: 0 ok (warnings allowed), 2 usage error, 3 findings at error level, 4 provider unreachable.
""",
)
@click.argument("issuer", required=False, envvar="OIDCSETUP_ISSUER")
@click.option(
    "--url",
    "doc_url",
    metavar="DOC_URL",
    help="Read the discovery document from this URL instead of probing the well-known URLs.",
)
@shared_options("preset")
@click.option("--authorization-endpoint", metavar="URL", help="Authorization endpoint, by hand.")
@click.option("--token-endpoint", metavar="URL", help="Token endpoint, by hand.")
@click.option("--userinfo-endpoint", metavar="URL", help="Userinfo endpoint, by hand.")
@click.option("--end-session-endpoint", metavar="URL", help="End-session (logout) endpoint.")
@click.option("--no-jwks", is_flag=True, help="Do not fetch and check the JWKS.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    envvar="OIDCSETUP_TIMEOUT",
    show_envvar=True,
    metavar="SECONDS",
    help="Overall deadline for each fetch, body included (default 20).",
)
@click.option("--save", is_flag=True, help="Write the endpoints into the profile (kept comments).")
@click.pass_obj
def discover_command(
    app: AppContext,
    issuer: str | None,
    doc_url: str | None,
    preset: str | None,
    authorization_endpoint: str | None,
    token_endpoint: str | None,
    userinfo_endpoint: str | None,
    end_session_endpoint: str | None,
    no_jwks: bool,
    timeout: float | None,
    save: bool,
) -> None:
    """Discover ISSUER's endpoints and check its metadata strictly.

    ISSUER (or OIDCSETUP_ISSUER, or provider.issuer in the profile) must be the provider's
    issuer exactly. Without discovery, endpoints can come from --preset NAME (authelia,
    unikname, keycloak, authentik, kanidm, lemonldap, glewlwyd, django-oidc-provider, generic)
    or the --*-endpoint options; they are then marked as not discovered.
    """
    from oidcsetup import discovery

    values = load_profile(app.profile, required=app.profile_given and not save)
    issuer = build_integration(values, {"provider.issuer": issuer}).provider.issuer
    manual = {
        "authorization": authorization_endpoint,
        "token": token_endpoint,
        "userinfo": userinfo_endpoint,
        "end_session": end_session_endpoint,
    }
    network = app.network
    if timeout is not None:
        network = replace(
            network,
            deadline=timeout,
            read_timeout=min(network.read_timeout, timeout),
            connect_timeout=min(network.connect_timeout, timeout),
        )
    if doc_url and preset:
        raise UsageError("--url and --preset exclude each other")
    if issuer is None and doc_url is None:
        raise UsageError(
            "no issuer given",
            hint="pass ISSUER, set OIDCSETUP_ISSUER, or set provider.issuer in the profile",
        )

    if preset:
        result = discovery.from_preset(preset, issuer)
    elif any(manual.values()):
        if doc_url:
            raise UsageError("--url and the --*-endpoint options exclude each other")
        missing = [k for k in ("authorization", "token", "userinfo") if not manual[k]]
        if missing:
            raise UsageError(
                "missing --" + ", --".join(f"{m}-endpoint" for m in missing),
                hint="give all three endpoints, or --preset NAME to derive the others",
            )
        result = discovery.DiscoveryResult(
            issuer=issuer, endpoints=ProviderEndpoints(issuer=issuer)
        )
    else:
        try:
            with app.output.spinner(f"discovering {issuer or doc_url}"):
                result = discovery.discover(issuer, network, url=doc_url, check_keys=not no_jwks)
        except (discovery.FetchUnreachable, discovery.FetchInvalid) as exc:
            _fail(app, issuer, list(exc.tried_urls), exc)
            return
    if any(manual.values()):
        endpoints, extra = discovery.manual_endpoints(result.endpoints, **manual)
        result = replace(result, endpoints=endpoints, findings=(*result.findings, *extra))

    saved = None
    if save and result.ok:
        saved = _save(app, result)
    document = result_json(result, saved=str(saved) if saved else None)
    if app.json_mode:
        for finding in result.findings:  # the text form lists them under "Findings:"
            if finding.level is Level.WARNING:
                app.output.warn(finding.message, finding.hint, code=finding.code)
        app.output.json(document)
    else:
        _render(app, result, saved)
    if not result.ok:
        errors = [f for f in result.findings if f.level is Level.ERROR]
        more = (
            f" (+{len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
            if len(errors) > 1
            else ""
        )
        app.output.error(
            f"{errors[0].code}: {errors[0].message}{more}"
            + ("; profile not saved" if save else ""),
            hint=errors[0].hint,
        )
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


def _save(app: AppContext, result: DiscoveryResult) -> Any:
    from oidcsetup.profile import update_profile

    endpoints = result.endpoints

    def listed(value: tuple[str, ...]) -> list[str] | None:
        return list(value) if value else None

    updates: dict[str, Any] = {
        "provider.issuer": endpoints.issuer or result.issuer,
        "provider.authorization_endpoint": endpoints.authorization_endpoint,
        "provider.token_endpoint": endpoints.token_endpoint,
        "provider.userinfo_endpoint": endpoints.userinfo_endpoint,
        "provider.end_session_endpoint": endpoints.end_session_endpoint,
        "provider.jwks_uri": endpoints.jwks_uri,
        "provider.scopes_supported": listed(endpoints.scopes_supported),
        "provider.token_endpoint_auth_methods_supported": listed(
            endpoints.token_endpoint_auth_methods_supported
        ),
        "provider.code_challenge_methods_supported": listed(
            endpoints.code_challenge_methods_supported
        ),
        "provider.source": endpoints.source,
        "provider.preset": endpoints.preset,
    }
    update_profile(app.profile, updates)
    return app.profile


def _fail(app: AppContext, issuer: str | None, tried: list[str], exc: Any) -> None:
    """No document at all: one line on stderr (plus the JSON document), exit 3 or 4."""
    finding: Finding = exc.finding()
    if app.json_mode:
        app.output.json(
            {
                "schema_version": SCHEMA_VERSION,
                "ok": False,
                "issuer": issuer,
                "source": None,
                "discovered": False,
                "document_url": None,
                "tried_urls": tried,
                "provider": None,
                "endpoints": None,
                "matomo": None,
                "jwks": None,
                "findings": [finding.to_json()],
                "summary": _summary([finding]),
                "saved": None,
                "exit_code": int(exc.exit_code),
            }
        )
    app.output.error(exc.message, exc.hint)
    if app.debug:
        raise exc
    raise click.exceptions.Exit(int(exc.exit_code))


def _summary(findings: Any) -> dict[str, int]:
    counts = {level.value: 0 for level in Level}
    for finding in findings:
        counts[finding.level.value] += 1
    return counts


def result_json(result: DiscoveryResult, saved: str | None = None) -> dict[str, Any]:
    """The stable ``--json`` document (schema: docs/schemas/discover.schema.json)."""
    from oidcsetup.discovery import endpoints_json

    endpoints = result.endpoints
    return {
        "schema_version": SCHEMA_VERSION,
        "ok": result.ok,
        "issuer": result.issuer,
        "source": endpoints.source,
        "discovered": result.discovered,
        "document_url": result.document_url,
        "tried_urls": list(result.tried_urls),
        "provider": result.provider,
        "endpoints": endpoints_json(endpoints),
        "matomo": {key: getattr(endpoints, attr) for key, _, attr in MATOMO_SETTINGS},
        "jwks": result.jwks.to_json() if result.jwks else None,
        "findings": [f.to_json() for f in result.findings],
        "summary": _summary(result.findings),
        "saved": saved,
        "exit_code": int(ExitCode.OK if result.ok else ExitCode.FINDINGS),
    }


def _render(app: AppContext, result: DiscoveryResult, saved: Any) -> None:
    out = app.output
    endpoints = result.endpoints
    if result.discovered:
        origin = f"discovered from {result.document_url}"
    else:
        origin = f"NOT discovered: {endpoints.source}"
    out.text(f"Provider {result.issuer or endpoints.issuer or '(issuer unknown)'} ({origin})")
    rows = [
        [f"{title} ({key})", getattr(endpoints, attr) or "-"]
        for key, title, attr in MATOMO_SETTINGS
    ]
    out.table(["Login OIDC setting", "Value"], rows, title="For Matomo's Login OIDC plugin")

    def joined(values: tuple[str, ...]) -> str:
        return " ".join(values) if values else "(not advertised)"

    capability_rows = [
        ["Issuer", endpoints.issuer or "-"],
        ["Scopes supported", joined(endpoints.scopes_supported)],
        ["Client auth methods", joined(endpoints.token_endpoint_auth_methods_supported)],
        ["PKCE methods", joined(endpoints.code_challenge_methods_supported)],
        ["JWKS", endpoints.jwks_uri or "-"],
    ]
    if result.jwks is not None:
        capability_rows.append(
            [
                "Signing keys",
                f"{len(result.jwks.keys)} key(s); verifies "
                + (", ".join(result.jwks.usable_algs) or "nothing"),
            ]
        )
    out.table(["Provider", "Value"], capability_rows)
    if result.findings:
        out.text("")
        out.text("Findings:")
        for finding in result.findings:
            out.text(f"  {finding.level.value:<7} {finding.code}: {finding.message}")
            if finding.hint:
                out.text(f"          hint: {finding.hint}")
    if saved:
        out.info(f"saved the endpoints to {saved}")


__all__ = ["discover_command", "result_json"]
