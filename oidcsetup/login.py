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

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from oidcsetup.errors import InputError, OidcSetupError, UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration
from oidcsetup.urls import is_loopback_host

if TYPE_CHECKING:
    import httpx

    from oidcsetup.verify.browser import TestUser

CALLBACK_PATH = "/callback"
SUPPORTED_AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")
# Asymmetric algorithms verified against the JWKS; HS* verified with the client secret.
ASYMMETRIC_ALGS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
HMAC_ALGS = ("HS256", "HS384", "HS512")


class LoginError(OidcSetupError):
    """The login flow failed at a step; ``code`` names the step's error (stable, kebab-case)."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "login-failed"):
        super().__init__(message, hint)
        self.code = code


class IdTokenError(LoginError):
    """The id_token failed verification (signature, iss, aud, exp or nonce)."""


# --- HTTP -----------------------------------------------------------------------------------


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
            raise UsageError("client_secret_post needs the client secret", hint=_SECRET_HINT)
        return {"client_id": client_id, "client_secret": secret}, {}
    if auth_method == "client_secret_basic":
        if not secret:
            raise UsageError("client_secret_basic needs the client secret", hint=_SECRET_HINT)
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded before Basic encoding.
        raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        return {}, {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    if auth_method == "none":
        return {"client_id": client_id}, {}
    raise UsageError(
        f"client authentication method {auth_method!r} is not supported here",
        hint="use client_secret_post (what Login OIDC sends) or client_secret_basic",
    )


_SECRET_HINT = (
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


# --- the authorization request ---------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 section 4.1 and 4.2."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_authorization_request(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    extra: Mapping[str, str] | None = None,
) -> AuthorizationRequest:
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **(extra or {}),
    }
    return AuthorizationRequest(
        url=_add_query(authorization_endpoint, params),
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )


def _add_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def response_params(url: str) -> dict[str, str]:
    """Query and fragment parameters of a redirect (errors may come in either)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(parse_qsl(parts.fragment, keep_blank_values=True))
    return params


def same_endpoint(url: str, redirect_uri: str) -> bool:
    """True when ``url`` is ``redirect_uri`` (scheme, host, port, path) plus response params."""
    a, b = urlsplit(url), urlsplit(redirect_uri)
    if (a.scheme.lower(), a.netloc.lower(), a.path or "/") != (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path or "/",
    ):
        return False
    got = dict(parse_qsl(a.query, keep_blank_values=True))
    return all(got.get(k) == v for k, v in parse_qsl(b.query, keep_blank_values=True))


def same_secret(got: str, expected: str) -> bool:
    """Constant-time equality of two strings (``hmac.compare_digest`` refuses non-ASCII str:
    a forged value with one must be a mismatch, not a TypeError)."""
    return hmac.compare_digest(got.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def parse_callback(url: str, request: AuthorizationRequest, issuer: str | None) -> str:
    """The authorization code from the callback URL, after the state and iss checks."""
    params = response_params(url)
    state = params.get("state")
    if state is None or not same_secret(state, request.state):
        raise LoginError(
            "the callback's state does not match the request's (possible CSRF or a stale tab)",
            hint="start the login again and complete it in the same browser tab",
            code="state-mismatch",
        )
    if "error" in params:
        error = params["error"]
        description = params.get("error_description", "")
        raise LoginError(
            f"the provider refused the authorization request: {error}"
            + (f" ({description})" if description else ""),
            hint=authorization_error_hint(error, description),
            code=f"authorization-{error.replace('_', '-')}",
        )
    # RFC 9207: when the provider names itself in the response, it must be the issuer we asked.
    if issuer and "iss" in params and params["iss"] != issuer:
        raise LoginError(
            f"the callback came from issuer {params['iss']!r}, expected {issuer!r} (mix-up attack?)",
            code="issuer-mismatch",
        )
    code = params.get("code")
    if not code:
        raise LoginError("the callback carries no authorization code", code="no-code")
    return code


def authorization_error_hint(
    error: str, description: str = "", where: str = "the provider's client settings"
) -> str | None:
    """How to fix a refused authorization request; ``where`` names the tool in which the
    client is registered (the provider's own, e.g. the LemonLDAP::NG manager)."""
    text = description.lower()
    if error == "invalid_redirect_uri" or (error == "invalid_request" and "redirect_uri" in text):
        return f"register the redirect URI exactly in {where} (oidcsetup gen redirect-uris)"
    if error == "invalid_client" or error == "unauthorized_client":
        return f"register the client in {where} and check --client-id"
    if error == "invalid_scope":
        return "allow these scopes for the client at the provider, or request fewer (--scopes)"
    if error == "unsupported_response_type":
        return "allow response_type code (grant type authorization_code) for the client"
    if "code_challenge" in text or "pkce" in text:
        return "Login OIDC sends no PKCE: the provider must not require PKCE for this client"
    if error == "access_denied":
        return "the user (or a policy) denied the request; check the provider's access rules"
    if error in ("login_required", "interaction_required", "consent_required"):
        return "log in interactively (without --headless)"
    return None


def preflight_authorization(
    client: httpx.Client,
    request: AuthorizationRequest,
    network: NetworkOptions,
    *,
    client_id: str,
    where: str = "the provider's client settings",
) -> None:
    """One GET of the authorization URL before anyone waits on it: an unreachable provider ends
    the login at once (UnreachableError, exit 4), a refused request with the provider's reason
    (e.g. an unregistered redirect URI) instead of a timeout."""
    from oidcsetup.verify.authpage import classify, refusal

    response = send(client, "GET", request.url, network, follow_redirects=False)
    answer = classify(response, request.redirect_uri)
    if answer.kind == "error":
        refused = refusal(answer, client_id, request.redirect_uri, where)
        raise LoginError(refused.message, refused.hint, code=refused.code)


def check_redirect_uri_syntax(uri: str) -> None:
    """Refuse what cannot be a redirect URI before the provider sees it (a usage error)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise UsageError(f"redirect URI {uri!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"redirect URI {uri!r} is not an absolute http(s) URL",
            hint="e.g. http://127.0.0.1:8765/callback (registered for the client at the provider)",
        )
    if parts.fragment or uri.endswith("#"):
        raise UsageError(
            f"redirect URI {uri!r} has a fragment", hint="remove the #... (RFC 6749 3.1.2)"
        )


# --- loopback callback server ----------------------------------------------------------------


class CallbackServer:
    """A one-shot HTTP server on a loopback address receiving the authorization response.

    Only a response carrying the ``state`` of this login (``expect_state``) ends the wait:
    anything else that reaches the port (a forged or stale callback from another local
    process or web page) gets HTTP 400 and the server keeps waiting for the real one.
    """

    def __init__(self, redirect_uri: str | None = None) -> None:
        host, port, path = "127.0.0.1", 0, CALLBACK_PATH
        if redirect_uri:
            parts = urlsplit(redirect_uri)
            if parts.scheme != "http" or not is_loopback_host(parts.hostname):
                raise UsageError(
                    f"{redirect_uri} is not a loopback http:// URI this process can listen on",
                    hint="use e.g. http://127.0.0.1:8765/callback",
                )
            host = parts.hostname or host
            host = "127.0.0.1" if host == "localhost" else host
            port = parts.port or 80
            path = parts.path or "/"
        self._path = path
        self._result: str | None = None
        self._state: str | None = None
        self._event = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                if parts.path != owner._path or not ({"code", "error"} & params.keys()):
                    self.send_response(404)
                    self.end_headers()
                    return
                if not owner._is_ours(params.get("state")):
                    self._page(
                        400,
                        "This response does not belong to the login oidcsetup is waiting for "
                        "(its state differs); it was ignored.",
                    )
                    return
                self._page(200, "oidcsetup received the login response. You can close this tab.")
                if owner._result is None:
                    owner._result = f"{owner.redirect_uri}?{parts.query}"
                    owner._event.set()

            def _page(self, status: int, text: str) -> None:
                page = (
                    "<!doctype html><meta charset=utf-8><title>oidcsetup</title><p>" + text
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
                pass

        try:
            server_class = HTTPServer
            if ":" in host:
                import socket

                class V6Server(HTTPServer):
                    address_family = socket.AF_INET6

                server_class = V6Server
            self._server = server_class((host.strip("[]"), port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port} for the login callback: {exc}",
                hint="choose another port with --redirect-uri http://127.0.0.1:PORT/callback",
            ) from None
        bound_port = self._server.server_address[1]
        netloc = f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"
        if redirect_uri:
            parts = urlsplit(redirect_uri)
            self.redirect_uri = urlunsplit(("http", parts.netloc, path, "", ""))
        else:
            self.redirect_uri = f"http://{netloc}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def expect_state(self, state: str) -> None:
        """Accept only the callback carrying ``state`` (the authorization request's)."""
        self._state = state

    def _is_ours(self, state: str | None) -> bool:
        expected = self._state
        return expected is not None and state is not None and same_secret(state, expected)

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        """The full callback URL, or LoginError after ``timeout`` seconds."""
        if not self._event.wait(timeout):
            raise LoginError(
                f"no login response arrived within {timeout:.0f} s",
                hint="complete the login in the browser sooner, or raise --timeout",
                code="timeout",
            )
        assert self._result is not None
        return self._result


# --- headless: follow the redirects ----------------------------------------------------------


def headless_authorize(
    client: httpx.Client,
    request: AuthorizationRequest,
    *,
    deadline: float,
    max_steps: int = 20,
    network: NetworkOptions | None = None,
) -> str:
    """Follow the provider's redirects until one goes to the redirect URI; return that URL.

    Works only when the provider logs the user in without a form (zero-click provider, or a
    session cookie); a page that is not a redirect ends it with a clear error.
    """
    network = network or NetworkOptions()
    url = request.url
    for _ in range(max_steps):
        if same_endpoint(url, request.redirect_uri):
            return url
        if time.monotonic() > deadline:
            raise LoginError("headless login timed out", hint="raise --timeout", code="timeout")
        response = send(client, "GET", url, network, follow_redirects=False)
        if response.is_redirect and "location" in response.headers:
            url = urljoin(str(response.url), response.headers["location"])
            continue
        if response.status_code >= 400:
            error, description = page_error(response)
            raise LoginError(
                f"the provider answered HTTP {response.status_code} at {_short(url)}"
                + (f": {error}" if error else "")
                + (f" ({description})" if description else ""),
                hint=authorization_error_hint(error or "", description or ""),
                code=f"authorization-{(error or 'error').replace('_', '-')}",
            )
        raise LoginError(
            f"the provider shows a page at {_short(url)} (a login or consent form) instead of "
            "redirecting",
            hint="--headless only works when the provider logs in without a form, unless a "
            "test user is in OIDCSETUP_LOGIN_USERNAME/OIDCSETUP_LOGIN_PASSWORD (a headless "
            "browser then fills the form); or run `oidcsetup login` (browser)",
            code="interaction-required",
        )
    raise LoginError(f"more than {max_steps} redirects without reaching the redirect URI")


def automated_authorize(request: AuthorizationRequest, user: TestUser, deadline: float) -> str:
    """The callback URL after a test user logged in through the provider's form in a headless
    browser (oidcsetup/verify/browser.py)."""
    from oidcsetup.verify.browser import BrowserLoginError, browser_authorize

    try:
        return browser_authorize(
            request.url,
            request.redirect_uri,
            user,
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except BrowserLoginError as exc:
        raise LoginError(exc.message, exc.hint, code=exc.code) from None


def _short(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def page_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """(error, description) from an error response: OAuth JSON, or an HTML error page."""
    error, description = oauth_error(response)
    if error:
        return error, description
    import html
    import re

    text = html.unescape(re.sub(r"<[^>]+>", " ", response.text[:65536]))
    text = re.sub(r"\s+", " ", text)
    # oidc-provider renders "error: invalid_redirect_uri error_description: ..." in <pre> blocks.
    match = re.search(r"\berror\s*[:=]\s*([a-z_]+)", text)
    if match:
        error = match.group(1)
        desc = re.search(r"\berror_description\s*[:=]\s*(.+?)(?:\s+(?:state|iss)\s*[:=]|$)", text)
        return error, desc.group(1).strip() if desc else None
    for known in KNOWN_AUTHORIZATION_ERRORS:
        if known in text:
            return known, None
    return None, None


KNOWN_AUTHORIZATION_ERRORS = (
    "invalid_redirect_uri",
    "invalid_client",
    "unauthorized_client",
    "unsupported_response_type",
    "invalid_scope",
    "invalid_request",
    "access_denied",
)


# --- token exchange, id_token, userinfo -------------------------------------------------------


def exchange_code(
    client: httpx.Client,
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    secret: str | None,
    auth_method: str,
    code_verifier: str | None,
    network: NetworkOptions | None = None,
) -> dict[str, Any]:
    from oidcsetup.discovery.fetch import response_json

    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    fields, headers = client_auth(auth_method, client_id, secret)
    data.update(fields)
    headers["Accept"] = "application/json"
    response = send(
        client, "POST", token_endpoint, network or NetworkOptions(), data=data, headers=headers
    )
    refuse_redirect(
        response,
        "the token endpoint",
        "the code, the PKCE verifier and the client credentials were",
        "token-redirect",
    )
    error, description = oauth_error(response)
    if response.status_code != 200 or error:
        detail = f"{error} ({description})" if description else (error or "no error code")
        hint = None
        if error == "invalid_client":
            hint = (
                f"the provider refused the client's credentials sent with {auth_method}: check "
                "the secret and the client's token_endpoint_auth_method at the provider"
            )
        raise LoginError(
            f"the token request failed with HTTP {response.status_code}: {detail}",
            hint=hint,
            code=f"token-{(error or 'error').replace('_', '-')}",
        )
    try:
        body = response_json(response)
    except ValueError:
        raise LoginError("the token response is not JSON", code="token-invalid") from None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        # Login OIDC: "Unexpected response from OAuth service." in exactly this case.
        raise LoginError("the token response has no access_token", code="token-invalid")
    return body


def verify_id_token(
    id_token: str,
    *,
    jwks: Mapping[str, Any] | None,
    issuer: str,
    client_id: str,
    nonce: str | None,
    secret: str | None = None,
    leeway: float = 60.0,
) -> dict[str, Any]:
    """The id_token's claims after checking signature, iss, aud, exp, iat and nonce."""
    import jwt

    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise IdTokenError(f"the id_token is not a JWS: {exc}", code="id-token-malformed") from None
    alg = header.get("alg")
    if alg in HMAC_ALGS:
        if not secret:
            raise IdTokenError(f"the id_token is signed with {alg} but no client secret is known")
        keys: list[Any] = [secret.encode()]
    elif alg in ASYMMETRIC_ALGS:
        keys = _jwks_keys(jwks or {}, header.get("kid"), alg)
    else:
        raise IdTokenError(
            f"the id_token uses signing algorithm {alg!r}, which is not accepted",
            code="id-token-alg",
        )
    claims: dict[str, Any] | None = None
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                audience=client_id,
                issuer=issuer,
                leeway=leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            break
        except jwt.InvalidSignatureError as exc:
            last = exc  # try the next key with this kid (key rotation)
        except jwt.ExpiredSignatureError:
            raise IdTokenError("the id_token has expired", code="id-token-expired") from None
        except jwt.InvalidAudienceError:
            raise IdTokenError(
                f"the id_token's aud does not contain the client_id {client_id!r}",
                code="id-token-audience",
            ) from None
        except jwt.InvalidIssuerError:
            raise IdTokenError(
                f"the id_token's iss is not {issuer!r}", code="id-token-issuer"
            ) from None
        except jwt.PyJWTError as exc:
            raise IdTokenError(f"the id_token is invalid: {exc}", code="id-token-invalid") from None
    if claims is None:
        raise IdTokenError(
            f"the id_token's signature does not verify{f': {last}' if last else ''}",
            hint="the provider signed it with a key not in its JWKS, or it was altered",
            code="id-token-signature",
        )
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("the id_token has several audiences and azp is not the client")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not same_secret(got, nonce):
            raise IdTokenError(
                "the id_token's nonce does not match the request's (replayed token?)",
                code="id-token-nonce",
            )
    return claims


def _jwks_keys(jwks: Mapping[str, Any], kid: str | None, alg: str) -> list[Any]:
    import jwt

    usable = [
        k
        for k in jwks.get("keys", [])
        if isinstance(k, dict)
        and k.get("use", "sig") == "sig"
        and (kid is None or k.get("kid") == kid)
    ]
    keys: list[Any] = []
    for entry in usable:
        if entry.get("alg") not in (None, alg):
            continue
        with contextlib.suppress(jwt.PyJWTError, ValueError, TypeError):
            keys.append(jwt.PyJWK(entry, algorithm=alg).key)
    if not keys:
        raise IdTokenError(
            f"the JWKS has no {alg} signing key"
            + (f" with kid {kid!r}" if kid else "")
            + " for the id_token",
            hint="the provider's jwks_uri does not publish the key it signs with",
            code="id-token-key",
        )
    return keys


@dataclass(frozen=True)
class Userinfo:
    claims: dict[str, Any]
    content_type: str
    signed: bool  # a JWT answer: Login OIDC cannot read it


def fetch_userinfo(
    client: httpx.Client,
    endpoint: str,
    access_token: str,
    network: NetworkOptions | None = None,
) -> Userinfo:
    """GET userinfo as Login OIDC does: ``Authorization: Bearer``, ``Accept: application/json``."""
    from oidcsetup.discovery.fetch import response_json

    response = send(
        client,
        "GET",
        endpoint,
        network or NetworkOptions(),
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    refuse_redirect(response, "the userinfo endpoint", "the access token was", "userinfo-redirect")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code != 200:
        error, description = oauth_error(response)
        raise LoginError(
            f"userinfo answered HTTP {response.status_code}"
            + (f": {error}" if error else "")
            + (f" ({description})" if description else ""),
            code="userinfo-error",
        )
    if content_type == "application/jwt":
        return Userinfo({}, content_type, signed=True)
    try:
        body = response_json(response)
    except ValueError:
        raise LoginError("userinfo is not JSON", code="userinfo-not-json") from None
    if not isinstance(body, dict):
        raise LoginError("userinfo is not a JSON object", code="userinfo-not-json")
    return Userinfo(body, content_type, signed=False)


# --- the whole flow --------------------------------------------------------------------------


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
        raise InputError("no client secret is configured", hint=_SECRET_HINT)


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
