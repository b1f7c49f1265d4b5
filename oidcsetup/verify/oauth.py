"""HTTP for the login and the probes: the client (no redirects followed), the client's
authentication at the token endpoint, OAuth error bodies, refused redirects, JSON answers.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from oidcsetup.errors import OidcSetupError, UsageError
from oidcsetup.http import NetworkOptions

if TYPE_CHECKING:
    import httpx


SUPPORTED_AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")


class LoginError(OidcSetupError):
    """The login flow failed at a step; ``code`` names the step's error (stable, kebab-case)."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "login-failed"):
        super().__init__(message, hint)
        self.code = code


class IdTokenError(LoginError):
    """The id_token failed verification (signature, iss, aud, exp or nonce)."""


def http_client(network: NetworkOptions) -> httpx.Client:
    """The project's httpx client (TLS settings, timeouts). It never follows a redirect: the
    token and userinfo requests carry the secret, the code, the PKCE verifier or a bearer
    token, and a 3xx answer to them is an error naming where it pointed (docs/security.md)."""
    from oidcsetup.discovery.fetch import make_client

    return make_client(network)


def client_auth(
    auth_method: str, client_id: str, secret: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Form fields and headers that authenticate the client at the token endpoint."""
    if auth_method == "client_secret_post":
        if not secret:
            raise UsageError("client_secret_post needs the client secret", hint=SECRET_HINT)
        return {"client_id": client_id, "client_secret": secret}, {}
    if auth_method == "client_secret_basic":
        if not secret:
            raise UsageError("client_secret_basic needs the client secret", hint=SECRET_HINT)
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
        raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        return {}, {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    if auth_method == "none":
        return {"client_id": client_id}, {}
    raise UsageError(
        f"client authentication method {auth_method!r} is not supported here",
        hint="use client_secret_post (what Login OIDC sends) or client_secret_basic",
    )


SECRET_HINT = (
    'set OIDCSETUP_CLIENT_SECRET, or client.secret = "env:NAME" / "file:PATH" in the profile'
)


def oauth_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """(error, error_description) of an OAuth JSON error response, or (None, None)."""
    from oidcsetup.discovery.fetch import response_json

    try:
        body = response_json(response)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    description = body.get("error_description")
    return (
        error if isinstance(error, str) else None,
        description if isinstance(description, str) else None,
    )


def send(
    client: httpx.Client, method: str, url: str, network: NetworkOptions, **kwargs: Any
) -> httpx.Response:
    """A request under the network limits (hard deadline, size cap), never following a
    redirect; network failures raise ``UnreachableError`` (exit 4) with a one-line message."""
    from oidcsetup.discovery.fetch import request

    return request(client, method, url, network, **kwargs)


def refuse_redirect(response: httpx.Response, what: str, sent: str, code: str) -> None:
    """A credential request answered 3xx: raise ``LoginError`` naming the Location's host.

    The redirect was not followed (``send`` never does), so ``sent`` (what the request
    carried) went only to the URL configured, never to the host named here.
    """
    from oidcsetup.discovery.fetch import display_url, redirect_location

    location = redirect_location(response)
    if location is None:
        return
    host = urlsplit(location).netloc.rpartition("@")[2] or display_url(location)
    raise LoginError(
        f"{what} answered HTTP {response.status_code} redirecting to {host}: not followed, "
        f"{sent} never sent there",
        hint=f"configure the provider's exact {what} URL (see `oidcsetup discover`); "
        "a request carrying credentials is never redirected",
        code=code,
    )


def fetch_json(
    client: httpx.Client, url: str, what: str, network: NetworkOptions | None = None
) -> dict[str, Any]:
    """A public JSON document (the JWKS): redirects followed by hand, never to plain http."""
    from oidcsetup.discovery.fetch import fetch, loads

    fetched = fetch(client, url, network or NetworkOptions())
    if fetched.status != 200:
        raise LoginError(f"{what} at {url} answered HTTP {fetched.status}", code=f"{what}-error")
    try:
        body = loads(fetched.body)
    except ValueError:
        raise LoginError(f"{what} at {url} is not JSON", code=f"{what}-invalid") from None
    if not isinstance(body, dict):
        raise LoginError(f"{what} at {url} is not a JSON object", code=f"{what}-invalid")
    return body
