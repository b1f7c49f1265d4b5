"""The redirect URI Login OIDC sends, which the provider must have registered byte for byte.

Without ``redirectUriOverride`` the plugin builds
``<scheme>://<host><path>/index.php?module=LoginOIDC&action=callback&provider=oidc``
(``Controller.php``; the callback answers "Unknown OAuth provider" without ``provider=oidc``).

Normalisation of the Matomo URL (so that what users paste gives one answer):

- scheme and host lower-cased, IDN host converted to its ASCII (punycode) form, default port
  (80 for http, 443 for https) dropped;
- the path is Matomo's folder: ``https://x/matomo``, ``https://x/matomo/`` and
  ``https://x/matomo/index.php`` all mean the folder ``/matomo/``;
- a query string or fragment in the Matomo URL, user info, or a scheme other than http(s) is
  refused (they cannot be part of Matomo's base URL);
- https is required unless the host is a loopback address (``localhost``, 127.0.0.0/8, ::1).

An override is used as given apart from the same scheme/host/port normalisation and the same
checks (https unless loopback, no fragment: RFC 6749 section 3.1.2 forbids one).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from oidcsetup.errors import InputError, UsageError, ValidationError
from oidcsetup.integration import MatomoApp
from oidcsetup.urls import is_loopback_host, normalize_url

CALLBACK_QUERY = "module=LoginOIDC&action=callback&provider=oidc"


def redirect_uris(matomo: MatomoApp) -> tuple[str, ...]:
    """The redirect URI(s) both the provider and Matomo must use for this app (one today)."""
    if matomo.redirect_uri_override:
        return (check_redirect_uri(matomo.redirect_uri_override, what="redirectUriOverride"),)
    if not matomo.url:
        raise UsageError(
            "Matomo's URL is not known, so the redirect URI cannot be built",
            hint="pass --matomo-url https://matomo.example.com (or set app.matomo.url in the "
            "profile, or OIDCSETUP_MATOMO_URL)",
        )
    return (matomo_base_url(matomo.url) + "index.php?" + CALLBACK_QUERY,)


def _split_checked(url: str, what: str) -> tuple[str, str, str, str, str]:
    text = url.strip()
    if not text:
        raise InputError(f"{what} is empty", hint="give an absolute https:// URL")
    if any(ch.isspace() for ch in text):
        raise InputError(
            f"{what} {url!r} contains white space", hint="remove it or percent-encode it"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{what} {url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{what} {url!r} is not an absolute http(s) URL",
            hint="write it with its scheme and host, e.g. https://matomo.example.com/",
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{what} {url!r} contains user info (user@host)",
            hint="remove the user name and password from the URL",
        )
    if "#" in text:
        raise ValidationError(
            f"{what} {url!r} contains a fragment (#...)",
            hint="a redirect URI must not have a fragment (RFC 6749 3.1.2); remove it",
        )
    host = parts.hostname
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InputError(f"{what} {url!r} has an invalid host name") from None
    if scheme == "http" and not is_loopback_host(host):
        raise ValidationError(
            f"{what} {url!r} uses http on a non-loopback host",
            hint="serve Matomo over https (and set [General] assume_secure_protocol = 1 behind a "
            "TLS proxy) and use the https:// URL; plain http is accepted only for localhost",
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    normalized = normalize_url(urlunsplit((scheme, netloc, parts.path, parts.query, "")))
    n = urlsplit(normalized)
    return n.scheme, n.netloc, n.path, n.query, n.fragment


def matomo_base_url(url: str) -> str:
    """Matomo's folder URL, normalised and ending in ``/``: ``https://x/matomo/``."""
    scheme, netloc, path, query, _ = _split_checked(url, "the Matomo URL")
    if query:
        raise InputError(
            f"the Matomo URL {url!r} has a query string",
            hint="give Matomo's base URL only, e.g. https://matomo.example.com/ "
            "(without ?module=...)",
        )
    if path.endswith("/index.php"):
        path = path[: -len("index.php")]
    elif path == "index.php":
        path = "/"
    path = "/" + path.strip("/") + "/" if path.strip("/") else "/"
    return urlunsplit((scheme, netloc, path, "", ""))


def check_redirect_uri(uri: str, what: str = "the redirect URI") -> str:
    """An explicit redirect URI (override), checked and with scheme/host/port normalised."""
    scheme, netloc, path, query, _ = _split_checked(uri, what)
    return urlunsplit((scheme, netloc, path or "/", query, ""))


def rejects_query_redirects(url: str | None) -> bool:
    """True for providers known to refuse a query string in redirect URIs (Azure AD, ADFS)."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    return (
        host
        in (
            "login.microsoftonline.com",
            "login.microsoftonline.us",
            "login.partner.microsoftonline.cn",
        )
        or host.endswith(".b2clogin.com")
        or path == "/adfs"
        or path.startswith("/adfs/")
    )
