"""A real OpenID Connect login: authorization code flow with PKCE (S256), state and nonce.

Used by ``oidcsetup login`` (and by ``oidcsetup check --login``) to show exactly which claims
Matomo's Login OIDC plugin will receive. The steps:

1. build the authorization request (``response_type=code``, PKCE S256, ``state``, ``nonce``);
2. get the user through it, one of three ways:
   - *browser*: a loopback HTTP server on a free port (or the port of ``--redirect-uri``)
     receives the callback; the browser is opened with :mod:`webbrowser`, or the URL printed;
   - *paste*: a non-loopback ``--redirect-uri`` (e.g. Matomo's own callback): the user pastes
     the URL the browser was sent to;
   - *headless*: this process follows the provider's redirects itself (cookies kept). This only
     works when the provider logs the user in WITHOUT a form (a zero-click test provider, or an
     existing SSO session cookie); at the first HTML page that is not a redirect it stops and
     says so. It never fills in a login form;
3. check ``state`` (and RFC 9207 ``iss`` when sent), exchange the code at the token endpoint
   with the client's authentication method (``client_secret_post`` as Login OIDC does, or
   ``client_secret_basic``);
4. verify the id_token's signature against the JWKS (PyJWT) and its iss, aud, exp, nonce;
5. fetch userinfo with the access token, the way Login OIDC does (GET, Bearer, plain JSON).

Tokens and the client secret are never part of the result or the output.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from oidcsetup.errors import InputError, UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration
from oidcsetup.urls import is_loopback_host
from oidcsetup.verify.authorization import (
    build_authorization_request,
    check_redirect_uri_syntax,
    parse_callback,
    preflight_authorization,
)
from oidcsetup.verify.callback import CallbackServer
from oidcsetup.verify.headless import automated_authorize, headless_authorize
from oidcsetup.verify.oauth import SECRET_HINT, LoginError, fetch_json, http_client
from oidcsetup.verify.tokens import Userinfo, exchange_code, fetch_userinfo, verify_id_token

if TYPE_CHECKING:
    from oidcsetup.verify.browser import TestUser


@dataclass(frozen=True)
class LoginEndpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str | None


@dataclass(frozen=True)
class LoginSettings:
    client_id: str
    secret: str | None = field(repr=False)
    auth_method: str
    scopes: tuple[str, ...]
    userinfo_id: str = "sub"
    allow_signup: bool = False


@dataclass(frozen=True)
class LoginResult:
    redirect_uri: str
    mode: str
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any]
    userinfo_signed: bool
    userinfo_id: str
    scope: str | None  # what the token response says was granted
    # The tokens themselves, for the probes that read them as a plugin does (RebelOIDC decodes
    # them); bearer credentials: never in to_json, never printed.
    access_token: str = field(default="", repr=False)
    id_token: str | None = field(default=None, repr=False)

    @property
    def matomo_user(self) -> Any:
        """The value Login OIDC takes as the user's id (userinfo claim ``userinfoId``)."""
        return self.userinfo.get(self.userinfo_id)

    @property
    def email(self) -> Any:
        return self.userinfo.get("email")

    def to_json(self) -> dict[str, Any]:
        return {
            "redirect_uri": self.redirect_uri,
            "mode": self.mode,
            "granted_scope": self.scope,
            "id_token_claims": self.id_token_claims,
            "userinfo": self.userinfo,
            "userinfo_signed": self.userinfo_signed,
            "userinfo_id": self.userinfo_id,
            "matomo_user": self.matomo_user,
            "email": self.email,
        }


Mode = str  # "browser" | "no-browser" | "headless"


def run_login(
    endpoints: LoginEndpoints,
    settings: LoginSettings,
    network: NetworkOptions,
    *,
    mode: Mode = "browser",
    redirect_uri: str | None = None,
    timeout: float = 120.0,
    announce: Callable[[str], None] = lambda url: None,
    open_browser: Callable[[str], bool] | None = None,
    paste: Callable[[], str] | None = None,
    test_user: TestUser | None = None,
    client_settings: str = "the provider's client settings",
) -> LoginResult:
    """Run the authorization code flow end to end (see the module docstring)."""
    if mode not in ("browser", "no-browser", "headless"):
        raise UsageError(f"unknown login mode {mode!r}")
    if mode == "headless" and not redirect_uri:
        raise UsageError("headless login needs the redirect URI registered for the client")
    if redirect_uri is not None:
        check_redirect_uri_syntax(redirect_uri)
    deadline = time.monotonic() + timeout
    with http_client(network) as client, _callback(mode, redirect_uri) as server:
        uri = server.redirect_uri if server else redirect_uri
        assert uri is not None
        request = build_authorization_request(
            endpoints.authorization_endpoint,
            client_id=settings.client_id,
            redirect_uri=uri,
            scopes=settings.scopes,
        )
        if server is not None:
            server.expect_state(request.state)
        if mode != "headless" or test_user is not None:
            # Nobody waits for a provider that is down or refuses the request (exit 4 / reason).
            preflight_authorization(
                client, request, network, client_id=settings.client_id, where=client_settings
            )
        if mode == "headless" and test_user is not None:
            callback_url = automated_authorize(request, test_user, deadline)
        elif mode == "headless":
            callback_url = headless_authorize(client, request, deadline=deadline, network=network)
        else:
            announce(request.url)
            if mode == "browser" and open_browser is not None:
                open_browser(request.url)
            if server is not None:
                callback_url = server.wait(max(0.0, deadline - time.monotonic()))
            else:
                if paste is None:
                    raise UsageError(
                        f"the redirect URI {uri} is not a loopback address this process can "
                        "listen on, and no terminal to paste the callback URL into",
                        hint="use a loopback --redirect-uri (registered at the provider) or "
                        "--headless",
                    )
                callback_url = paste().strip()
        code = parse_callback(callback_url, request, endpoints.issuer)
        tokens = exchange_code(
            client,
            endpoints.token_endpoint,
            code=code,
            redirect_uri=uri,
            client_id=settings.client_id,
            secret=settings.secret,
            auth_method=settings.auth_method,
            code_verifier=request.code_verifier,
            network=network,
        )
        claims: dict[str, Any] = {}
        id_token = tokens.get("id_token")
        if isinstance(id_token, str):
            jwks = (
                fetch_json(client, endpoints.jwks_uri, "jwks", network)
                if endpoints.jwks_uri
                else None
            )
            claims = verify_id_token(
                id_token,
                jwks=jwks,
                issuer=endpoints.issuer,
                client_id=settings.client_id,
                nonce=request.nonce,
                secret=settings.secret,
            )
        elif "openid" in settings.scopes:
            raise LoginError("the token response has no id_token although openid was requested")
        userinfo = Userinfo({}, "", signed=False)
        if endpoints.userinfo_endpoint:
            userinfo = fetch_userinfo(
                client, endpoints.userinfo_endpoint, tokens["access_token"], network
            )
        scope = tokens.get("scope")
        return LoginResult(
            redirect_uri=uri,
            mode=mode,
            id_token_claims=claims,
            userinfo=userinfo.claims,
            userinfo_signed=userinfo.signed,
            userinfo_id=settings.userinfo_id,
            scope=scope if isinstance(scope, str) else None,
            access_token=str(tokens["access_token"]),
            id_token=id_token if isinstance(id_token, str) else None,
        )


@contextlib.contextmanager
def _callback(mode: Mode, redirect_uri: str | None) -> Iterator[CallbackServer | None]:
    if mode == "headless":
        yield None
        return
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or not is_loopback_host(parts.hostname):
            yield None  # paste mode
            return
    with CallbackServer(redirect_uri) as server:
        yield server


def claim_rows(result: LoginResult) -> list[tuple[str, str, str]]:
    """(claim, value, note) rows for display: what Matomo receives from userinfo first."""
    rows: list[tuple[str, str, str]] = []
    for name, value in sorted(result.userinfo.items()):
        note = ""
        if name == result.userinfo_id:
            note = "<- userinfoId: Matomo's user id"
        elif name == "email":
            note = "<- login for new users (allowSignup)"
        rows.append((name, _display(value), note))
    if result.userinfo_id not in result.userinfo:
        rows.insert(0, (result.userinfo_id, "(missing)", "<- userinfoId: Matomo cannot log in"))
    return rows


def _display(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def check_secret_given(settings: LoginSettings) -> None:
    if settings.auth_method != "none" and not settings.secret:
        raise InputError("no client secret is configured", hint=SECRET_HINT)


def login_endpoints(integration: Integration, network: NetworkOptions) -> LoginEndpoints:
    """The endpoints a login needs: from the profile, a preset or discovery (as ``gen`` does);
    the JWKS URI discovered from the issuer when the profile lacks it."""
    from oidcsetup.discovery import resolve_endpoints

    provider = resolve_endpoints(integration, network).provider
    if not provider.issuer:
        raise UsageError(
            "the provider's issuer is not known (the id_token's iss cannot be checked)",
            hint="pass --issuer URL (or run `oidcsetup discover ISSUER --save`)",
        )
    if not provider.jwks_uri:
        jwks_uri = _discover_endpoints(provider.issuer, network).get("jwks_uri")
        provider = replace(provider, jwks_uri=jwks_uri if isinstance(jwks_uri, str) else None)
    if not (provider.issuer and provider.authorization_endpoint and provider.token_endpoint):
        raise UsageError(
            "the provider's authorization and token endpoints are not known",
            hint="run `oidcsetup discover ISSUER --save` or check --issuer",
        )
    return LoginEndpoints(
        issuer=provider.issuer,
        authorization_endpoint=provider.authorization_endpoint,
        token_endpoint=provider.token_endpoint,
        userinfo_endpoint=provider.userinfo_endpoint,
        jwks_uri=provider.jwks_uri,
    )


def _discover_endpoints(issuer: str, network: NetworkOptions) -> dict[str, Any]:
    from oidcsetup.discovery import discover

    result = discover(issuer, network, check_keys=False)
    raw = getattr(result.metadata, "raw", None)
    return dict(raw) if isinstance(raw, Mapping) else {}
