"""URL helpers shared by discovery, the app side and checks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from oidcsetup.errors import InputError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` (and ``*.localhost``) and loopback IP literals (127.0.0.0/8, ::1)."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_carry_credentials(url: str) -> bool:
    """True when a credential may be sent to ``url``: https, or plain http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop the default port; keep path, query and fragment as given."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{host}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def has_credentials(url: str) -> bool:
    """True when ``url`` carries ``user[:password]@`` before its host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "@" in url.partition("//")[2].partition("/")[0]
    return "@" in parts.netloc


def refuse_credentials(urls: Iterable[tuple[str, str | None]]) -> None:
    """Refuse any ``(name, url)`` whose URL carries ``user:password@``, without echoing it.

    Such a URL would be echoed (``gen redirect-uris``), written into Matomo's settings
    (``gen matomo``) or sent as HTTP Basic credentials to whoever answers: the one-line error
    names the setting and the host only.
    """
    for name, url in urls:
        if url and has_credentials(url):
            netloc = urlsplit(url.strip()).netloc
            host = netloc.rpartition("@")[2] or "the host"
            raise InputError(
                f"{name} carries a user name or password (user:password@{host}); refused",
                hint="remove the user:password@ part: oidcsetup never puts credentials in a URL",
            )
