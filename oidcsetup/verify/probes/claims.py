"""Probes of what the login gives Matomo: the scopes, userinfo (GET, Bearer, plain JSON) and
the claims Login OIDC reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.expected import Target
from oidcsetup.verify.login import LoginResult
from oidcsetup.verify.oauth import LoginError, oauth_error, send
from oidcsetup.verify.result import ProbeResult, failed, passed, skipped, unreachable_result

if TYPE_CHECKING:
    import httpx


def probe_scopes(
    target: Target,
    scopes_supported: list[str] | tuple[str, ...] | None,
    quirks: frozenset[str] = frozenset(),
) -> ProbeResult:
    name = "scopes"
    requested = list(target.scopes)
    if "openid" not in requested:
        return failed(
            name,
            "scope-openid-missing",
            "the scopes do not include openid, so the provider may not act as OpenID Connect",
            'request "openid email" (--scopes)',
            requested=requested,
        )
    if target.allow_signup and "email" not in requested:
        return failed(
            name,
            "scope-email-missing",
            "allowSignup is on but the email scope is not requested: new users cannot be created",
            'add "email" to the scopes',
            requested=requested,
        )
    if not scopes_supported:
        return skipped(name, "scopes-not-advertised", "the provider lists no scopes_supported")
    unsupported = [s for s in requested if s not in scopes_supported]
    from oidcsetup.discovery.presets import QUIRK_SCOPES_NOT_ADVERTISED

    if unsupported and QUIRK_SCOPES_NOT_ADVERTISED in quirks:
        return skipped(
            name,
            "scope-not-advertised",
            f"not verifiable: {', '.join(unsupported)} is not in scopes_supported, but this "
            "provider accepts scopes it does not list (and ignores those it does not know)",
            "check the claims with a real login (`oidcsetup check --login` with a test user)",
        )
    if unsupported:
        return failed(
            name,
            "scope-unsupported",
            "the provider does not support scope(s) " + ", ".join(unsupported),
            "request only scopes from the provider's scopes_supported ("
            + " ".join(scopes_supported)
            + ")",
            requested=requested,
            unsupported=unsupported,
        )
    return passed(
        name, "scopes-supported", "all requested scopes are supported: " + " ".join(requested)
    )


def probe_userinfo(
    client: httpx.Client, userinfo_endpoint: str | None, network: NetworkOptions | None = None
) -> ProbeResult:
    """userinfo answers; without a token 401/400 with an OAuth error is 'reachable'."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    name = "userinfo"
    if not userinfo_endpoint:
        return failed(
            name,
            "userinfo-missing",
            "no userinfo endpoint is known",
            "Login OIDC reads the user from userinfo; the provider must offer it",
        )
    try:
        response = send(
            client,
            "GET",
            userinfo_endpoint,
            network or NetworkOptions(),
            headers={"Accept": "application/json"},
        )
    except (FetchUnreachable, FetchInvalid) as exc:
        return unreachable_result(name, userinfo_endpoint, exc)
    return userinfo_verdict(name, userinfo_endpoint, response)


def userinfo_verdict(name: str, url: str, response: httpx.Response) -> ProbeResult:
    """userinfo without a token must refuse: HTTP 401, with or without ``WWW-Authenticate:
    Bearer`` (LemonLDAP::NG sends ``error=...`` without a scheme, Glewlwyd no header and no
    body, django-oidc-provider ``error="invalid_token"``), or 400 with an OAuth error. A 200, a
    redirect or an HTML page (a proxy's login page) means the URL is not the userinfo endpoint."""
    status = response.status_code
    error, _ = oauth_error(response)
    challenge = response.headers.get("www-authenticate", "")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    html_page = content_type in ("text/html", "application/xhtml+xml") and bool(
        response.content.strip()
    )
    if status == 401 and not html_page:
        how = (
            "WWW-Authenticate: Bearer"
            if "bearer" in challenge.lower()
            else f"WWW-Authenticate: {challenge[:60]}"
            if challenge
            else "no WWW-Authenticate header"
        )
        return passed(
            name,
            "userinfo-reachable",
            f"{url} answers 401 without a token ({how})",
            challenge=challenge or None,
        )
    if status == 400 and (error or "bearer" in challenge.lower()) and not html_page:
        return passed(
            name, "userinfo-reachable", f"{url} answers 400 {error or ''} without a token"
        )
    what = f"an HTML page (HTTP {status})" if html_page else f"HTTP {status}"
    return failed(
        name,
        "userinfo-error",
        f"{url} answered {what} without a token, where userinfo answers 401",
        "check the userinfo URL (a proxy in front of it must let the Bearer token through)",
        status=status,
    )


def probe_claims(
    result: LoginResult | None, error: LoginError | None, target: Target
) -> ProbeResult:
    name = "userinfo-claims"
    if error is not None:
        return failed(name, error.code, f"the test login failed: {error.message}", error.hint)
    if result is None:
        return skipped(
            name,
            "login-not-run",
            f"the {target.userinfo_id!r} claim was not checked (needs a real login)",
            "pass --login with a test user in OIDCSETUP_LOGIN_USERNAME/OIDCSETUP_LOGIN_PASSWORD "
            "(a headless browser fills the provider's login form), or run `oidcsetup login`",
        )
    if result.userinfo_signed:
        return failed(
            name,
            "userinfo-signed",
            "userinfo answered a signed JWT; Login OIDC can only read plain JSON",
            "configure the client at the provider to answer userinfo unsigned",
        )
    claims = sorted(result.userinfo)
    if result.matomo_user in (None, ""):
        return failed(
            name,
            "userinfo-claim-missing",
            f"userinfo has no {target.userinfo_id!r} claim (it has: {', '.join(claims)})",
            'set userinfoId to "sub" (--userinfo-id sub), or grant the scope carrying that claim',
            claims=claims,
        )
    if target.allow_signup and not result.email:
        return failed(
            name,
            "email-claim-missing",
            "allowSignup is on but userinfo has no email claim",
            "request the email scope and allow it for the client at the provider",
            claims=claims,
        )
    return passed(
        name,
        "userinfo-claims-ok",
        f"userinfo has {target.userinfo_id}={result.matomo_user!r}"
        + (f" and email={result.email!r}" if result.email else ""),
        claims=claims,
    )
