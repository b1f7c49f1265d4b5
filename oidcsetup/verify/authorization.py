"""The authorization request (PKCE S256, state, nonce) and its answer: building it, checking
the callback (state, RFC 9207 ``iss``), what an error there means, a preflight of the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oidcsetup.errors import UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.verify.oauth import LoginError, send

if TYPE_CHECKING:
    import httpx


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
