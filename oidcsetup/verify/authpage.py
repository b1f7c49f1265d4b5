"""What an authorization endpoint's answer means, by content as well as by status.

Providers differ in how they refuse an authorization request before login:

- a redirect to the client with ``error=...`` (RFC 6749 section 4.1.2.1), or an error page with
  a 4xx status (oidc-provider: 400; Glewlwyd 2.7.5: 403 with an empty body);
- an error page with HTTP 200 (django-oidc-provider 0.9: "Redirect URI Error", "Client ID
  Error"), recognised here by its text;
- no refusal at all: the same login form whatever the client_id and redirect_uri, checked only
  after login (LemonLDAP::NG 2.16). Only a control request with a redirect URI that cannot be
  registered tells this apart (``same_answer``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import httpx

Kind = Literal["code", "login", "error", "page"]

# A redirect URI no provider has registered (RFC 6761 reserves .invalid), for control requests.
UNREGISTERED_REDIRECT_URI = "https://oidcsetup-check.invalid/unregistered-redirect-uri"

# Visible texts of 200-status error pages, with the OAuth error they stand for.
_PAGE_ERRORS = (
    (re.compile(r"redirect[ _-]?uri (error|mismatch|invalid|not (registered|allowed))"), "invalid_redirect_uri"),
    (re.compile(r"(invalid|unknown|unregistered|mismatching) redirect[ _-]?uri"), "invalid_redirect_uri"),
    (re.compile(r"client[ _-]?id error|(invalid|unknown) client\b|client (is )?not found"), "invalid_client"),
)  # fmt: skip

# "error: invalid_request" / "error=invalid_client" shown on a page (oidc-provider's layout).
_OAUTH_ERROR = re.compile(
    r"\berror\s*[:=]\s*(invalid_[a-z_]+|unauthorized_client|unsupported_response_type"
    r"|access_denied|server_error)"
)


@dataclass(frozen=True)
class AuthorizationAnswer:
    """One answer of the authorization endpoint, classified."""

    kind: Kind  # code: sent back with a code; login: a login step; error: refused; page: other
    status: int
    error: str | None = None
    description: str | None = None
    location: str | None = None  # where a redirect goes
    fingerprint: str = ""  # what identifies the page or redirect target (for a control request)


def visible_text(markup: str) -> str:
    """The text a person sees: scripts, styles and tags (with their attributes) removed."""
    text = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1\s*>", " ", markup)
    text = re.sub(r"(?s)<!--.*?-->", " ", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()


def has_password_field(markup: str) -> bool:
    return re.search(r"(?i)<input\b[^>]*\btype\s*=\s*[\"']?password", markup) is not None


def error_in_page(text: str) -> tuple[str | None, str | None]:
    """(error, description) a 200-status page shows in its visible text, else (None, None)."""
    lowered = text.lower()
    oauth = _OAUTH_ERROR.search(lowered)
    if oauth:
        return oauth.group(1), text[oauth.start() : oauth.end() + 120].strip()
    for pattern, error in _PAGE_ERRORS:
        match = pattern.search(lowered)
        if match:
            start = max(0, match.start() - 40)
            return error, text[start : match.end() + 120].strip()
    return None, None


def classify(response: httpx.Response, redirect_uri: str) -> AuthorizationAnswer:
    """Classify the answer to an authorization request sent with ``redirect_uri``."""
    from oidcsetup.verify.authorization import response_params, same_endpoint
    from oidcsetup.verify.headless import page_error

    status = response.status_code
    if response.is_redirect and "location" in response.headers:
        location = urljoin(str(response.url), response.headers["location"])
        params = response_params(location)
        if params.get("error"):
            return AuthorizationAnswer(
                "error",
                status,
                params["error"],
                params.get("error_description") or None,
                location,
                fingerprint="redirect-error:" + params["error"],
            )
        if same_endpoint(location, redirect_uri) and "code" in params:
            return AuthorizationAnswer("code", status, location=location, fingerprint="code")
        parts = urlsplit(location)
        return AuthorizationAnswer(
            "login", status, location=location, fingerprint=f"redirect:{parts.netloc}{parts.path}"
        )
    if status >= 400:
        error, description = page_error(response)
        return AuthorizationAnswer(
            "error", status, error, description, fingerprint=f"status:{status}"
        )
    markup = response.text[:262144]
    title = re.search(r"(?is)<title[^>]*>(.*?)</title>", markup)
    fingerprint = f"{status}:" + (visible_text(title.group(1)) if title else "")
    if status == 200 and has_password_field(markup):
        return AuthorizationAnswer("login", status, fingerprint=fingerprint + ":form")
    text = visible_text(markup)
    error, description = error_in_page(text)
    if error:
        return AuthorizationAnswer("error", status, error, description, fingerprint=fingerprint)
    return AuthorizationAnswer("page", status, fingerprint=fingerprint)


def same_answer(first: AuthorizationAnswer, control: AuthorizationAnswer) -> bool:
    """True when the control request (an unregistered redirect URI) got the same kind of answer:
    the provider does not check the redirect URI before login."""
    if control.kind in ("error", "code"):
        return False
    return first.kind == control.kind


@dataclass(frozen=True)
class Refusal:
    code: str  # stable probe code (docs/check.md)
    message: str
    hint: str | None


def refusal(
    answer: AuthorizationAnswer,
    client_id: str,
    redirect_uri: str,
    where: str = "the provider's client settings",
) -> Refusal:
    """What a refused authorization request means, in words, with the fix (``where``: the tool
    in which the client is registered)."""
    from oidcsetup.verify.authorization import authorization_error_hint

    error, description = answer.error or "", answer.description or ""
    text = description.lower()
    if error == "invalid_redirect_uri" or (error == "invalid_request" and "redirect_uri" in text):
        code, message = (
            "redirect-uri-unregistered",
            f"the provider refuses the redirect URI {redirect_uri}",
        )
    elif error == "invalid_client":
        code, message = "client-unknown", f"the provider does not know client {client_id!r}"
    elif error == "unsupported_response_type" or (
        error in ("invalid_request", "unauthorized_client") and "response_type" in text
    ):
        code, message = (
            "response-type-unsupported",
            "the provider refuses response_type=code for this client",
        )
    elif error == "unauthorized_client":
        code, message = "client-unauthorized", "the client may not use the authorization code flow"
    elif error == "invalid_scope":
        code, message = "scope-invalid", "the provider refuses the requested scopes for this client"
    elif "code_challenge" in text or "pkce" in text:
        code, message = (
            "pkce-required",
            "the provider requires PKCE, which Login OIDC does not send",
        )
    elif not error:
        code = "authorization-error"
        message = (
            f"the provider refused the authorization request with HTTP {answer.status} and no "
            f"reason: client {client_id!r} or its redirect URI {redirect_uri} is probably not "
            "registered"
        )
        return Refusal(
            code,
            message,
            f"register the client and the redirect URI exactly in {where} "
            "(oidcsetup gen redirect-uris)",
        )
    else:
        code, message = (
            "authorization-error",
            f"the provider refused the authorization request: {error}",
        )
    if description:
        message += f" ({error}: {description})"
    elif error and code != "authorization-error":
        message += f" ({error})"
    return Refusal(code, message, authorization_error_hint(error, description, where))
