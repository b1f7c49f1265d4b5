"""Getting the user through the authorization request without a person: following the
provider's redirects (only when it logs in without a form; it never fills one in), or a real
headless browser with a test user (``browser.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.authorization import (
    AuthorizationRequest,
    authorization_error_hint,
    same_endpoint,
)
from oidcsetup.verify.oauth import LoginError, oauth_error, send

if TYPE_CHECKING:
    import httpx

    from oidcsetup.verify.browser import TestUser


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
