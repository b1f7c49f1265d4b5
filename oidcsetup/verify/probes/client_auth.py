"""Probe: does the token endpoint accept the client's credentials the way Login OIDC sends
them (client_secret_post, with a code that cannot be valid: ``invalid_grant`` proves the
credentials were accepted, ``invalid_client`` that they were not; RFC 6749 section 5.2).
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oidcsetup.http import NetworkOptions
from oidcsetup.integration import MATOMO_AUTH_METHOD
from oidcsetup.urls import normalize_url
from oidcsetup.verify.expected import Target
from oidcsetup.verify.oauth import LoginError, client_auth, oauth_error, refuse_redirect, send
from oidcsetup.verify.result import ProbeResult, failed, passed, skipped, unreachable_result

if TYPE_CHECKING:
    import httpx


# Answers to a made-up code that prove the client's credentials were accepted: RFC 6749's
# invalid_grant, and Glewlwyd 2.7.5's 403 invalid_code (docs/providers.md).
CREDENTIALS_ACCEPTED = ("invalid_grant", "invalid_code")


def probe_client_auth(
    client: httpx.Client,
    token_endpoint: str | None,
    target: Target,
    methods_supported: tuple[str, ...] | list[str] = (),
    network: NetworkOptions | None = None,
    *,
    quirks: frozenset[str] = frozenset(),
    client_settings: str = "the provider's client settings",
) -> ProbeResult:
    """A token request with a bogus code and the client's credentials must get invalid_grant
    (or a provider's observed equivalent); a refusal is retried with the other method (Basic
    or POST) to tell a wrong secret from an auth method the client is not registered for."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable
    from oidcsetup.discovery.presets import QUIRK_BAD_CLIENT_UNAUTHORIZED

    network = network or NetworkOptions()
    name = "client-auth"
    if not token_endpoint:
        return skipped(name, "no-token-endpoint", "the token endpoint is unknown")
    if target.auth_method != "none" and not target.secret:
        return skipped(
            name,
            "no-secret",
            "no client secret is configured, so client authentication was not tried",
            'set OIDCSETUP_CLIENT_SECRET or client.secret = "env:NAME" in the profile',
        )
    details = {"auth_method": target.auth_method, "client_id": target.client_id}
    try:
        error, description, status = _bogus_token_request(
            client, token_endpoint, target, target.auth_method, network
        )
    except (FetchUnreachable, FetchInvalid) as exc:
        return unreachable_result(name, token_endpoint, exc)
    except LoginError as exc:  # a redirect: not followed, the secret stayed here
        return failed(name, "token-endpoint-redirect", exc.message, exc.hint, **details)
    if error in CREDENTIALS_ACCEPTED:
        return passed(
            name,
            "client-auth-ok",
            f"the provider accepted the credentials of client {target.client_id!r} sent with "
            f"{target.auth_method} (it answered {error} for a made-up code)",
            **details,
        )
    # unauthorized_client means "authenticated, but this grant is not allowed" (RFC 6749 5.2),
    # except where a provider sends it for bad credentials too (Glewlwyd, with HTTP 403).
    refused = error == "invalid_client" or (
        error == "unauthorized_client"
        and (QUIRK_BAD_CLIENT_UNAUTHORIZED in quirks or status in (401, 403))
    )
    if refused:
        return _diagnose_refused_client(
            client,
            token_endpoint,
            target,
            methods_supported,
            details,
            network,
            error=error or "invalid_client",
            client_settings=client_settings,
        )
    if error == "unauthorized_client":
        return failed(
            name,
            "client-grant-not-allowed",
            "the client may not use the authorization_code grant",
            f"allow grant type authorization_code for the client in {client_settings}",
            **details,
        )
    return failed(
        name,
        "token-error",
        f"unexpected answer of the token endpoint: HTTP {status}"
        + (f", {error}" if error else "")
        + (f" ({description})" if description else ""),
        "expected invalid_grant for a made-up code; check the token endpoint URL",
        **details,
    )


def _bogus_token_request(
    client: httpx.Client,
    token_endpoint: str,
    target: Target,
    method: str,
    network: NetworkOptions,
) -> tuple[str | None, str | None, int]:
    data = {
        "grant_type": "authorization_code",
        # A code no provider issued: any well-behaved provider answers invalid_grant after
        # authenticating the client (RFC 6749 section 5.2), invalid_client before.
        "code": "oidcsetup-check-" + _secrets.token_urlsafe(16),
        "redirect_uri": target.redirect_uri or "",
    }
    if not data["redirect_uri"]:
        del data["redirect_uri"]
    fields, headers = client_auth(method, target.client_id, target.secret)
    data.update(fields)
    headers["Accept"] = "application/json"
    response = send(client, "POST", token_endpoint, network, data=data, headers=headers)
    refuse_redirect(response, "the token endpoint", "the client credentials were", "token-redirect")
    error, description = oauth_error(response)
    return error, description, response.status_code


def _diagnose_refused_client(
    client: httpx.Client,
    token_endpoint: str,
    target: Target,
    methods_supported: tuple[str, ...] | list[str],
    details: dict[str, Any],
    network: NetworkOptions,
    *,
    error: str,
    client_settings: str,
) -> ProbeResult:
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    name = "client-auth"
    method = target.auth_method
    if methods_supported and method not in methods_supported:
        return failed(
            name,
            "client-auth-method",
            f"the provider does not accept {method} (it offers "
            f"{', '.join(methods_supported)}); Login OIDC can only send {MATOMO_AUTH_METHOD}",
            f"configure the client in {client_settings} with token_endpoint_auth_method: {method}",
            methods_supported=list(methods_supported),
            **details,
        )
    other = "client_secret_basic" if method == "client_secret_post" else "client_secret_post"
    other_error: str | None = None
    if target.secret:
        try:
            other_error, _, _ = _bogus_token_request(client, token_endpoint, target, other, network)
        except (FetchUnreachable, FetchInvalid, LoginError):
            other_error = None
    if other_error in CREDENTIALS_ACCEPTED:
        return failed(
            name,
            "client-auth-method",
            f"the provider refuses the credentials sent with {method} but accepts them with "
            f"{other}: the client is registered for {other}",
            f"register the client in {client_settings} with token_endpoint_auth_method: "
            f"{method} (Login OIDC sends {MATOMO_AUTH_METHOD})",
            **details,
        )
    causes = "the secret is wrong or the client is unknown"
    if error == "unauthorized_client":
        causes = "the secret is wrong, the client is unknown, or it may not use this grant"
    tried = f"with {method}" + (f" and with {other}" if target.secret else "")
    return failed(
        name,
        "client-secret-wrong",
        f"the provider refused the credentials of client {target.client_id!r} {tried} "
        f"({error}): {causes}",
        f"make the client secret in Matomo/the profile match the one registered in "
        f"{client_settings}",
        error=error,
        **details,
    )


def reconcile_client_auth(
    auth: ProbeResult, redirect: ProbeResult, quirks: frozenset[str] = frozenset()
) -> ProbeResult:
    """Do not blame the secret for what the redirect URI explains.

    Some token endpoints answer a redirect_uri mismatch with the error they use for bad
    credentials (django-oidc-provider: invalid_client; Glewlwyd: unauthorized_client). When the
    redirect-uri probe failed, or could not verify the redirect URI on such a provider, a
    refused client is not proof of a wrong secret.
    """
    from oidcsetup.discovery.presets import QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR

    if auth.code != "client-secret-wrong":
        return auth
    redirect_failed = redirect.status == "fail" and redirect.code in (
        "redirect-uri-unregistered",
        "authorization-error",
    )
    unverified = (
        redirect.code == "redirect-uri-unverifiable"
        and QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR in quirks
    )
    if not (redirect_failed or unverified):
        return auth
    why = (
        "it also refuses the redirect URI"
        if redirect_failed
        else "the redirect URI could not be verified before login"
    )
    return ProbeResult(
        auth.name,
        "skip",
        "client-auth-unverifiable",
        f"not verifiable: the provider refused the client's credentials, but {why}, and a "
        "redirect URI mismatch alone makes its token endpoint refuse them",
        "register the redirect URI first (see the redirect-uri probe), then check again",
        auth.details,
    )


def credentials_withheld(
    discovery: ProbeResult,
    metadata: Mapping[str, Any] | None,
    token_endpoint: str | None,
    configured_token_endpoint: str | None,
) -> ProbeResult | None:
    """The client-auth result when the client secret (and a test login's code and verifier)
    must not be sent, saying why; None when they may be.

    A provider, or whoever sits between us and it, controls the discovery document: a document
    failing validation (issuer on another host, token endpoint on plain http...) or naming
    another token endpoint than the one configured must not receive the configured client's
    credentials (docs/security.md, "Providers and the network"); the probe is skipped, as the
    discovery or endpoints probe fails already. A plain-http token endpoint on a public host
    (from the profile or a preset) fails it: Matomo would post the secret there in cleartext.
    """
    from urllib.parse import urlsplit

    from oidcsetup.urls import is_loopback_host

    name = "client-auth"
    if discovery.status == "fail" and metadata is not None:
        return skipped(
            name,
            "credentials-withheld",
            f"skipped: client credentials not sent, the discovery document has errors "
            f"({discovery.code}: {discovery.message})",
        )
    if (
        token_endpoint
        and configured_token_endpoint
        and normalize_url(token_endpoint) != normalize_url(configured_token_endpoint)
    ):
        return skipped(
            name,
            "credentials-withheld",
            f"skipped: client credentials not sent, the discovered token endpoint "
            f"{token_endpoint} differs from the configured {configured_token_endpoint}",
        )
    parts = urlsplit(token_endpoint or "")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return failed(
            name,
            "token-endpoint-cleartext",
            f"the token endpoint {token_endpoint} is plain http on a public host: client "
            "credentials not sent (Matomo would post the client secret there in cleartext)",
            "use the provider's https:// token endpoint",
        )
    return None
