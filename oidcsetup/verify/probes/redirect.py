"""Probe: does the provider accept the redirect URI Matomo sends (an authorization request as
Login OIDC sends it: no PKCE, no nonce); confirmed by a real login when one ran.
"""

from __future__ import annotations

import secrets as _secrets
from typing import TYPE_CHECKING

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.expected import Target
from oidcsetup.verify.login import LoginResult
from oidcsetup.verify.oauth import http_client, send
from oidcsetup.verify.parallel import concurrent
from oidcsetup.verify.result import ProbeResult, failed, passed, skipped, unreachable_result

if TYPE_CHECKING:
    import httpx


def probe_redirect_uri(
    client: httpx.Client,
    authorization_endpoint: str | None,
    target: Target,
    network: NetworkOptions | None = None,
    *,
    client_settings: str = "the provider's client settings",
) -> ProbeResult:
    """An authorization request as Login OIDC sends it gets a login page or a redirect, and
    the same request with a redirect URI nobody registered does not (a control request, sent
    side by side): a provider showing its login form whatever the redirect URI cannot be
    checked before login, and is reported so, never as "accepted"."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable
    from oidcsetup.verify.authpage import UNREGISTERED_REDIRECT_URI, classify, refusal, same_answer

    name = "redirect-uri"
    if not authorization_endpoint:
        return skipped(name, "no-authorization-endpoint", "the authorization endpoint is unknown")
    if not target.redirect_uri and target.redirect_problem is not None:
        return failed(
            name,
            "redirect-uri-invalid",
            target.redirect_problem.message,
            target.redirect_problem.hint,
        )
    if not target.redirect_uri:
        return skipped(
            name,
            "no-redirect-uri",
            "the redirect URI is unknown",
            "pass --matomo-url (or --redirect-uri-override)",
        )
    network = network or NetworkOptions()
    redirect_uri = target.redirect_uri
    details = {"redirect_uri": redirect_uri, "client_id": target.client_id}

    def ask(uri: str, via: httpx.Client) -> httpx.Response:
        params = {
            "client_id": target.client_id,
            "redirect_uri": uri,
            "response_type": "code",
            "scope": " ".join(target.scopes),
            "state": _secrets.token_urlsafe(16),
        }
        return send(
            via, "GET", authorization_endpoint, network, params=params, follow_redirects=False
        )

    # The control request has a client of its own: a request's deadline cuts its client's sockets.
    with http_client(network) as control_client, concurrent(2) as pool:
        asked = pool.submit(ask, redirect_uri, client)
        control_asked = pool.submit(ask, UNREGISTERED_REDIRECT_URI, control_client)
        try:
            response = asked.result()
        except (FetchUnreachable, FetchInvalid) as exc:
            return unreachable_result(name, authorization_endpoint, exc)
        try:
            control = classify(control_asked.result(), UNREGISTERED_REDIRECT_URI)
        except (FetchUnreachable, FetchInvalid):
            control = None
    answer = classify(response, redirect_uri)
    if answer.kind == "error":
        refused = refusal(answer, target.client_id, redirect_uri, client_settings)
        return failed(
            name,
            refused.code,
            refused.message,
            refused.hint,
            error=answer.error,
            status=answer.status,
            **details,
        )
    if answer.kind == "code":
        return passed(
            name,
            "redirect-uri-accepted",
            "the provider accepted the request and answered with a code (an SSO session)",
            **details,
        )
    if control is not None and same_answer(answer, control):
        return ProbeResult(
            name,
            "skip",
            "redirect-uri-unverifiable",
            "not verifiable before login: the provider answers a redirect URI nobody "
            f"registered exactly like {redirect_uri} (it checks the redirect URI only after "
            "the user logs in)",
            "check it with a real login: `oidcsetup check --login` with a test user in "
            "OIDCSETUP_LOGIN_USERNAME and OIDCSETUP_LOGIN_PASSWORD",
            details,
        )
    if answer.kind == "login":
        shown = "redirected to its login" if answer.location else "shows its login page"
    else:
        shown = f"answered HTTP {answer.status}"
    return passed(
        name,
        "redirect-uri-accepted",
        f"the provider accepted {redirect_uri} for client {target.client_id} and {shown}"
        + ("; it refuses a redirect URI nobody registered" if control is not None else ""),
        **details,
    )


def confirm_redirect(redirect: ProbeResult, login: LoginResult | None) -> ProbeResult:
    """A redirect URI that could not be verified before login is verified by a real login that
    came back to it."""
    if login is None or redirect.code != "redirect-uri-unverifiable":
        return redirect
    return passed(
        redirect.name,
        "redirect-uri-accepted",
        f"the provider sent the test login back to {login.redirect_uri} (verified after login)",
        **redirect.details,
    )
