"""The redirect URI the login plugin sends, which the provider must have registered byte for byte.

Without ``redirectUriOverride`` the plugin builds
``<scheme>://<host><path>/index.php?module=<LoginOIDC|RebelOIDC>&action=callback&provider=oidc``
(``Controller.php`` of both; the callback answers "Unknown OAuth provider" without
``provider=oidc``); the plugin comes from ``MatomoApp.plugin`` (``plugins.py``).

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

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin, plugin_named
from oidcsetup.errors import InputError, UsageError, ValidationError
from oidcsetup.integration import MatomoApp
from oidcsetup.urls import is_loopback_host, normalize_url

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.inifile import IniDocument

CALLBACK_QUERY = LOGIN_OIDC.callback_query  # Login OIDC's; plugin.callback_query for either


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
    plugin = plugin_named(matomo.plugin)
    return (matomo_base_url(matomo.url) + "index.php?" + plugin.callback_query,)


def switch_partners(uris: tuple[str, ...], plugin: MatomoPlugin) -> dict[str, str]:
    """The other plugins' callback URIs for the same Matomo -> their plugin's title.

    While a Matomo moves from one login plugin to the other (``migrate matomo``), the provider
    keeps the old plugin's redirect URI registered beside the new one.
    """
    from oidcsetup.apps.matomo.plugins import PLUGINS

    partners: dict[str, str] = {}
    for uri in uris:
        if plugin.callback_query not in uri:
            continue
        for other in PLUGINS.values():
            if other is not plugin:
                partners[uri.replace(plugin.callback_query, other.callback_query)] = other.title
    return partners


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


# --- what Matomo itself builds (offline rule) -----------------------------------------------
#
# Login OIDC takes the redirect URI from Matomo's ``Url::getCurrentUrlWithoutQueryString()``
# (matomo-org/matomo 5.1.2 ``core/Url.php``), i.e. scheme + host + script path of the sign-in
# request Matomo receives:
# - scheme: "https" when ``[General] assume_secure_protocol = 1``; otherwise from the request:
#   X-Forwarded-Scheme or X-Url-Scheme "https", X-Forwarded-Proto ("http" wins, then "https"),
#   or the web server's HTTPS=on; else "http". A TLS-terminating proxy that sends none of these
#   makes Matomo build http:// URLs.
# - host: the Host header when it passes the trusted-host check (``enable_trusted_host_check``,
#   ``trusted_hosts[]``, which match the host *with its port*, subdomains included; localhost
#   and 127.0.0.1 are always trusted, Matomo records the first host when the list is empty;
#   an untrusted host gets a warning instead of the login form, seen on Matomo 5.1.2); then,
#   with ``proxy_host_headers[]`` (e.g.
#   HTTP_X_FORWARDED_HOST), that header's value when the proxy sends it.
# - path: the request path up to "?", prefixed with X-Forwarded-Uri when ``proxy_uri_header = 1``.
# ``force_ssl = 1`` redirects plain-http requests to https (``core/FrontController.php``).


@dataclass(frozen=True)
class GeneralSettings:
    """The ``[General]`` keys of config.ini.php that decide the URL Matomo builds."""

    assume_secure_protocol: bool = False
    force_ssl: bool = False
    proxy_client_headers: tuple[str, ...] = ()
    proxy_host_headers: tuple[str, ...] = ()
    proxy_uri_header: bool = False
    trusted_hosts: tuple[str, ...] = ()
    enable_trusted_host_check: bool = True
    source: str = "Matomo's defaults (global.ini.php)"

    @classmethod
    def from_document(cls, document: IniDocument, source: str) -> GeneralSettings:
        values = document.values("General")

        def flag(key: str, default: bool) -> bool:
            value = values.get(key)
            if value is None:
                return default
            return value.decoded.strip().lower() not in ("", "0", "false", "off", "no", "none")

        def array(key: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in (document.array("General", key) or ()) if v.strip())

        return cls(
            assume_secure_protocol=flag("assume_secure_protocol", False),
            force_ssl=flag("force_ssl", False),
            proxy_client_headers=array("proxy_client_headers"),
            proxy_host_headers=array("proxy_host_headers"),
            proxy_uri_header=flag("proxy_uri_header", False),
            trusted_hosts=array("trusted_hosts"),
            enable_trusted_host_check=flag("enable_trusted_host_check", True),
            source=source,
        )


@dataclass(frozen=True)
class SettingFix:
    """Why Matomo's redirect URI differs from the registered one, and the setting to change."""

    problem: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {"problem": self.problem, "fix": self.fix}


@dataclass(frozen=True)
class RedirectPrediction:
    """The redirect URI Matomo will build for users who reach it at ``url``, from its config."""

    redirect_uri: str
    conditions: tuple[str, ...] = ()  # what it hinges on (the web server or proxy, not config)
    fixes: tuple[SettingFix, ...] = ()  # settings that make it differ for sure

    @property
    def certain(self) -> bool:
        return not self.conditions


# Matomo 5.1.2 core/Url.php getLocalHostnames(): always trusted.
_ALWAYS_TRUSTED = ("localhost", "127.0.0.1", "::1", "[::1]")


def host_is_trusted(host: str, general: GeneralSettings) -> bool:
    """Matomo's ``Url::isValidHost`` for a Host header value (``host[:port]``)."""
    if not general.enable_trusted_host_check or not general.trusted_hosts:
        return True
    if host in _ALWAYS_TRUSTED:
        return True
    candidate = host.lower().rstrip(".")
    for trusted in general.trusted_hosts:
        if "://" in trusted:  # Matomo accepts a URL written there and uses its host
            trusted = urlsplit(trusted).hostname or trusted
        trusted = trusted.lower()
        # '/(^|.)' . preg_quote($trusted) . '$/': the host itself or any subdomain of it.
        if candidate == trusted or (len(candidate) > len(trusted) and candidate.endswith(trusted)):
            return True
    return False


def predict_redirect_uri(
    matomo_url: str,
    general: GeneralSettings,
    override: str | None = None,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> RedirectPrediction:
    """What Matomo sends for users reaching it at ``matomo_url``, as far as config decides."""
    if override:
        return RedirectPrediction(check_redirect_uri(override, what="redirectUriOverride"))
    base = matomo_base_url(matomo_url)
    parts = urlsplit(base)
    scheme, host = parts.scheme, parts.netloc
    conditions: list[str] = []
    fixes: list[SettingFix] = []
    if general.assume_secure_protocol:
        if scheme == "http":
            fixes.append(
                SettingFix(
                    f"[General] assume_secure_protocol = 1 makes Matomo build https:// URLs, "
                    f"but users reach it at {base}",
                    "set [General] assume_secure_protocol = 0, or serve Matomo over https and "
                    "use its https:// URL (--matomo-url)",
                )
            )
            scheme = "https"
    elif scheme == "https":
        conditions.append(
            "Matomo's web server reports https (HTTPS=on: TLS ends at Matomo's own web server), "
            "or the TLS proxy in front sends X-Forwarded-Proto: https; "
            "[General] assume_secure_protocol is 0"
        )
    elif general.force_ssl:
        fixes.append(
            SettingFix(
                f"[General] force_ssl = 1 sends users to https://, but the integration uses {base}",
                "use Matomo's https:// URL (--matomo-url), or set [General] force_ssl = 0",
            )
        )
        scheme = "https"
    if general.proxy_host_headers:
        conditions.append(
            "the proxy sends "
            + " or ".join(_header_name(h) for h in general.proxy_host_headers)
            + f": {host} ([General] proxy_host_headers)"
        )
    elif not host_is_trusted(host, general):
        fixes.append(
            SettingFix(
                f"{host} is not in [General] trusted_hosts[] ({', '.join(general.trusted_hosts)})"
                ": Matomo's login page shows its trusted-host warning instead of the login form",
                f'add trusted_hosts[] = "{host}" to [General] in config.ini.php',
            )
        )
    if general.proxy_uri_header:
        conditions.append(
            "the proxy sends X-Forwarded-Uri with the path prefix it strips "
            "([General] proxy_uri_header = 1)"
        )
    uri = urlunsplit((scheme, host, parts.path, "", "")) + "index.php?" + plugin.callback_query
    return RedirectPrediction(uri, tuple(conditions), tuple(fixes))


def _header_name(server_key: str) -> str:
    """HTTP_X_FORWARDED_HOST -> X-Forwarded-Host."""
    name = server_key.upper().removeprefix("HTTP_")
    return "-".join(word.capitalize() for word in name.split("_"))


def explain_difference(
    sent: str, registered: str, plugin: MatomoPlugin = LOGIN_OIDC
) -> tuple[SettingFix, ...]:
    """Name the Matomo setting behind each difference between two redirect URIs."""
    a, b = urlsplit(sent), urlsplit(registered)
    fixes: list[SettingFix] = []
    callback = a.query == plugin.callback_query
    if not callback or b.query != plugin.callback_query:
        return (
            SettingFix(
                f"Matomo's redirect URI {sent} is not the registered {registered}",
                f"make {plugin.title}'s redirectUriOverride and the provider's redirect_uris agree "
                "(oidcsetup apply matomo, oidcsetup gen authelia)",
            ),
        )
    if a.scheme != b.scheme:
        if a.scheme == "http":
            fixes.append(
                SettingFix(
                    "Matomo builds http:// URLs although users reach it by https:// (it sits "
                    "behind a TLS-terminating proxy that does not send X-Forwarded-Proto)",
                    "set [General] assume_secure_protocol = 1 in Matomo's config.ini.php",
                )
            )
        else:
            fixes.append(
                SettingFix(
                    "Matomo builds https:// URLs but the registered redirect URI is http://",
                    "register the https:// URL (--matomo-url https://...), or set "
                    "[General] assume_secure_protocol = 0",
                )
            )
    if a.netloc.lower() != b.netloc.lower():
        fixes.append(
            SettingFix(
                f"Matomo builds the host {a.netloc}, users reach it as {b.netloc}",
                f"make the proxy forward the Host header ({b.netloc}), or send X-Forwarded-Host "
                "and set [General] proxy_host_headers[] = HTTP_X_FORWARDED_HOST; add "
                f'trusted_hosts[] = "{b.netloc}" to [General]',
            )
        )
    if a.path != b.path:
        fixes.append(
            SettingFix(
                f"Matomo builds the path {a.path}, users reach it at {b.path}",
                "have the proxy send X-Forwarded-Uri with the prefix it strips and set "
                f"[General] proxy_uri_header = 1 (or set {plugin.title}'s redirectUriOverride)",
            )
        )
    return tuple(fixes)
