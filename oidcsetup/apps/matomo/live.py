"""Ask the running Matomo which authorization request Login OIDC sends (``check``).

What a browser does, stopped before the provider: GET Matomo's login page (keeping its session
cookie), take the ``form_nonce`` of Login OIDC's button form
(``plugins/LoginOIDC/templates/loginMod.twig``), POST it to
``index.php?module=LoginOIDC&action=signin`` with the Origin and Referer a browser sends
(Matomo checks both: ``core/Nonce.php``), and read client_id, redirect_uri, scope and
response_type from the ``Location`` Matomo answers (``Controller.php`` ``signin``). The redirect
is not followed. Matomo records a visitor session for this, as for any visitor; nothing else is
written.

When Matomo cannot be reached, ``redirect_probe`` falls back to the offline rule of
``redirect.py`` and says so: it never claims what "Matomo sends" without having asked it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin, plugin_named
from oidcsetup.errors import OidcSetupError

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.redirect import GeneralSettings
    from oidcsetup.http import NetworkOptions
    from oidcsetup.integration import Integration
    from oidcsetup.verify.expected import MatomoCurrent
    from oidcsetup.verify.result import ProbeResult

NAME = "matomo-redirect-uri"

_FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.IGNORECASE | re.DOTALL)
_INPUT_RE = re.compile(r"<input\b([^>]*)>", re.IGNORECASE)
_ATTR_RE = re.compile(r'([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')

# Login OIDC's and Matomo's own messages on an error page, with what to do (reference
# matomo-loginoidc.md; "has not been configured yet" is isPluginSetup failing).
_KNOWN_ERRORS = (
    (
        "has not been configured yet",
        "matomo-oidc-not-configured",
        "run `oidcsetup apply matomo` (authorizeUrl, tokenUrl, userinfoUrl, clientId and "
        "clientSecret must all be set)",
    ),
    (
        # core/Nonce.php checkNonce (Matomo 5.1.2's message; InvalidNonce* before it)
        "failed due to a security check",
        "matomo-signin-refused",
        "Matomo refused its own sign-in form (nonce check): its session cookie did not come back "
        "(Matomo marks it Secure when [General] assume_secure_protocol = 1 or force_ssl = 1, "
        "so it is lost over http://), or the Origin/Referer does not match the host Matomo sees "
        "(make the proxy forward the Host header)",
    ),
    (
        "form security failed",
        "matomo-signin-refused",
        "Matomo refused the sign-in form (nonce, Referer or Origin): make the proxy forward "
        "the Host users reach Matomo by, and check [General] trusted_hosts[]",
    ),
    (
        "Method not allowed",
        "matomo-signin-refused",
        "Login OIDC accepts only its login button's POST (disableDirectLoginUrl)",
    ),
)


class MatomoNotReached(Exception):
    """Matomo's login page could not be fetched (network failure): use the offline rule."""


@dataclass(frozen=True)
class SigninFailure(Exception):
    """Matomo answered, but not with a redirect to the provider."""

    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class SigninRequest:
    """The authorization request Matomo's sign-in redirected to (not followed)."""

    login_page: str
    location: str
    authorization_endpoint: str
    client_id: str | None
    redirect_uri: str | None
    scope: str | None
    response_type: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "login_page": self.login_page,
            "authorization_endpoint": self.authorization_endpoint,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "response_type": self.response_type,
        }


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR_RE.finditer(text)
    }


def signin_form(page: str, plugin: MatomoPlugin = LOGIN_OIDC) -> tuple[str, str] | None:
    """(action, form_nonce) of the plugin's button form on Matomo's login page, or None.

    Both plugins' buttons can be on one page (both active); the form posts to
    ``module=<module>&action=<signin_action>`` (Login OIDC ``signin``, RebelOIDC ``signIn``)."""
    for match in _FORM_RE.finditer(page):
        action = _attrs(match.group(1)).get("action", "")
        if (
            f"module={plugin.module}" not in action
            or f"action={plugin.signin_action}" not in action
        ):
            continue
        for field in _INPUT_RE.finditer(match.group(2)):
            attrs = _attrs(field.group(1))
            if attrs.get("name") == "form_nonce":
                return action, attrs.get("value", "")
    return None


def matomo_error_text(page: str) -> str:
    """The visible text of a Matomo error page, shortened to its message."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.IGNORECASE | re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\s+", " ", text).strip()
    # Matomo's error page: "An error occurred <message> Go Back | Go to Matomo ..."
    if "An error occurred" in text:
        text = text[text.index("An error occurred") + len("An error occurred") :]
    if "Go Back" in text:
        text = text[: text.index("Go Back")]
    return text.strip()[:300]


def ask_signin(
    matomo_url: str, network: NetworkOptions, plugin: MatomoPlugin = LOGIN_OIDC
) -> SigninRequest:
    """Run Matomo's login button's request and return where Matomo redirects to."""
    from oidcsetup.apps.matomo.redirect import matomo_base_url
    from oidcsetup.discovery.fetch import (
        FetchInvalid,
        FetchUnreachable,
        make_client,
        redirect_location,
        request,
    )

    login_page = matomo_base_url(matomo_url) + "index.php?module=Login"
    with make_client(network) as client:
        page = _get_following(client, login_page, network)
        if page.status_code >= 400:
            raise SigninFailure(
                "matomo-login-page-error",
                f"Matomo's login page {login_page} answered HTTP {page.status_code}",
                "check the Matomo URL (--matomo-url, app.matomo.url): Matomo's base URL",
            )
        form = signin_form(page.text, plugin)
        if form is None and "trusted_hosts[]" in page.text:
            # plugins/Login/templates/loginLayout.twig: an untrusted Host gets a warning
            # instead of the login form (core/Url.php isValidHost).
            host = urlsplit(str(page.url)).netloc
            raise SigninFailure(
                "matomo-untrusted-host",
                f"Matomo does not trust the host {host}: its login page shows the trusted-host "
                "warning instead of the login form, so nobody can log in there",
                f'add trusted_hosts[] = "{host}" to [General] in Matomo\'s config.ini.php',
            )
        if form is None:
            looks_like_matomo = "piwik" in page.text.lower() or "matomo" in page.text.lower()
            raise SigninFailure(
                "matomo-oidc-button-missing" if looks_like_matomo else "matomo-login-page-error",
                f"{page.url} has no {plugin.title} button"
                + (": the plugin is not active" if looks_like_matomo else " (is it Matomo?)"),
                f"activate {plugin.title} (`./console plugin:activate {plugin.module}`, or "
                "`oidcsetup apply matomo --config ... --activate`)"
                if looks_like_matomo
                else "check the Matomo URL (--matomo-url, app.matomo.url)",
            )
        action, nonce = form
        page_url = str(page.url)
        signin = urljoin(page_url, action)
        origin = urlunsplit((*urlsplit(page_url)[:2], "", "", ""))
        try:
            answer = request(
                client,
                "POST",
                signin,
                network,
                data={"form_nonce": nonce},
                headers={"Origin": origin, "Referer": page_url},
                follow_redirects=False,
            )
        except FetchUnreachable as exc:
            raise MatomoNotReached(exc.message) from None
        except FetchInvalid as exc:
            raise SigninFailure("matomo-signin-error", exc.message) from None
    location = redirect_location(answer)
    if not location:
        text = matomo_error_text(answer.text)
        for needle, code, hint in _KNOWN_ERRORS:
            if needle.lower() in text.lower():
                raise SigninFailure(code, f"Matomo's Login OIDC sign-in answered: {text}", hint)
        raise SigninFailure(
            "matomo-signin-error",
            f"Matomo's Login OIDC sign-in answered HTTP {answer.status_code}, not a redirect"
            + (f": {text}" if text else ""),
        )
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    return SigninRequest(
        login_page=page_url,
        location=location,
        authorization_endpoint=urlunsplit((*urlsplit(location)[:3], "", "")),
        client_id=one("client_id"),
        redirect_uri=one("redirect_uri"),
        scope=one("scope"),
        response_type=one("response_type"),
    )


def _get_following(client: Any, url: str, network: NetworkOptions, hops: int = 5) -> Any:
    """GET Matomo's login page, following Matomo's own redirects (e.g. ``force_ssl`` to
    https) by hand, each judged first (never https to http), cookies kept by the client."""
    from oidcsetup.discovery.fetch import (
        FetchInvalid,
        FetchUnreachable,
        redirect_location,
        redirect_refusal,
        request,
    )

    for _ in range(hops + 1):
        try:
            page = request(client, "GET", url, network)
        except FetchUnreachable as exc:
            raise MatomoNotReached(exc.message) from None
        except FetchInvalid as exc:
            raise SigninFailure("matomo-login-page-error", exc.message) from None
        target = redirect_location(page)
        if target is None:
            return page
        refusal = redirect_refusal(url, target)
        if refusal is not None:
            raise SigninFailure("matomo-login-page-error", refusal.message, refusal.hint)
        url = target
    raise SigninFailure(
        "matomo-login-page-error",
        f"Matomo's login page redirects more than {hops} times (last to {url})",
        "check [General] force_ssl and the proxy's redirects",
    )


# --- the probe ---------------------------------------------------------------------------------


def redirect_probe(
    current: MatomoCurrent | None,
    integration: Integration,
    expected: str | None,
    *,
    network: NetworkOptions | None = None,
    authorization_endpoint: str | None = None,
    general: GeneralSettings | None = None,
) -> ProbeResult:
    """``matomo-redirect-uri``: what Matomo sends (asked live), else what it will build."""
    from oidcsetup.http import NetworkOptions
    from oidcsetup.verify.result import skipped

    network = network or NetworkOptions()
    if expected is None:
        return skipped(NAME, "no-redirect-uri", "the profile's redirect URI is unknown")
    if not integration.matomo.url:
        if current is None:
            return skipped(
                NAME, "no-matomo", "Matomo's settings were not read", "pass --config or --db"
            )
        return _offline(current, integration, expected, general, "Matomo's URL is not known")
    try:
        sent = ask_signin(integration.matomo.url, network, plugin_named(integration.matomo.plugin))
    except MatomoNotReached as exc:
        if current is None:
            return skipped(
                NAME,
                "no-matomo",
                f"Matomo could not be reached ({exc}) and its settings were not read",
                "run check where Matomo is reachable, or pass --config or --db",
            )
        return _offline(current, integration, expected, general, f"not reached: {exc}")
    except SigninFailure as exc:
        from oidcsetup.verify.result import failed

        return failed(NAME, exc.code, exc.message, exc.hint, source="live")
    except OidcSetupError as exc:  # an unusable Matomo URL: the redirect-uri probe says why
        return skipped(NAME, "no-matomo-url", exc.message, exc.hint)
    return _live_verdict(sent, integration, expected, network, authorization_endpoint)


def _live_verdict(
    sent: SigninRequest,
    integration: Integration,
    expected: str,
    network: NetworkOptions,
    authorization_endpoint: str | None,
) -> ProbeResult:
    from oidcsetup.apps.matomo.redirect import explain_difference
    from oidcsetup.verify.expected import target_from
    from oidcsetup.verify.oauth import http_client
    from oidcsetup.verify.probes.redirect import probe_redirect_uri
    from oidcsetup.verify.result import failed, passed

    details: dict[str, Any] = {"source": "live", "matomo": sent.to_json(), "registered": expected}
    if not sent.redirect_uri:
        return failed(
            NAME,
            "matomo-redirect-uri-missing",
            f"Matomo redirected to {sent.authorization_endpoint} without a redirect_uri",
            "check Login OIDC's authorizeUrl (oidcsetup apply matomo)",
            **details,
        )
    # The provider's answer to exactly the request Matomo sends.
    target = replace(
        target_from(integration, None),
        client_id=sent.client_id or "",
        redirect_uri=sent.redirect_uri,
        scopes=tuple((sent.scope or "").split()),
        redirect_problem=None,
    )
    with http_client(network) as client:
        provider = probe_redirect_uri(
            client, authorization_endpoint or sent.authorization_endpoint, target, network
        )
    details["provider"] = {"status": provider.status, "code": provider.code}
    differs: list[str] = []
    if sent.client_id != integration.client.client_id:
        differs.append(
            f"client_id {sent.client_id!r} (the profile says {integration.client.client_id!r})"
        )
    if (sent.scope or "").split() != list(integration.client.scopes):
        differs.append(
            f"scope {sent.scope!r} (the profile says {' '.join(integration.client.scopes)!r})"
        )
    if sent.response_type != "code":
        differs.append(f"response_type {sent.response_type!r} (Login OIDC sends 'code')")
    if sent.redirect_uri != expected:
        fixes = explain_difference(
            sent.redirect_uri, expected, plugin_named(integration.matomo.plugin)
        )
        refused = " The provider refuses it." if provider.status == "fail" else ""
        return failed(
            NAME,
            "matomo-redirect-uri-mismatch",
            f"Matomo sends redirect_uri {sent.redirect_uri} (asked at {sent.login_page}), but "
            f"the provider has {expected} registered.{refused} "
            + " ".join(f.problem + "." for f in fixes),
            "; ".join(f.fix for f in fixes),
            fixes=[f.to_json() for f in fixes],
            **details,
        )
    if provider.status == "fail":
        return failed(
            NAME,
            provider.code,
            f"Matomo sends redirect_uri {sent.redirect_uri}: {provider.message}",
            provider.hint,
            **details,
        )
    if differs:
        return failed(
            NAME,
            "matomo-request-differs",
            "Matomo sends " + "; ".join(differs),
            "run `oidcsetup apply matomo` to write the profile's values",
            **details,
        )
    return passed(
        NAME,
        "matomo-redirect-uri-ok",
        f"Matomo sends the registered redirect URI {sent.redirect_uri} (asked at "
        f"{sent.login_page}) and the provider accepts it",
        **details,
    )


def _offline(
    current: MatomoCurrent,
    integration: Integration,
    expected: str,
    general: GeneralSettings | None,
    why: str,
) -> ProbeResult:
    from oidcsetup.apps.matomo.redirect import GeneralSettings, predict_redirect_uri
    from oidcsetup.verify.result import failed, passed, skipped

    general = general or GeneralSettings()
    label = f"offline (Matomo {why}; computed from {general.source})"
    override = current.get("redirectUriOverride") or None
    url = integration.matomo.url
    if not url and not override:
        return skipped(
            NAME, "no-matomo-url", f"{label}: Matomo's URL is not known", "pass --matomo-url"
        )
    try:
        prediction = predict_redirect_uri(
            url or "", general, override, plugin_named(integration.matomo.plugin)
        )
    except OidcSetupError as exc:
        return skipped(NAME, "no-matomo-url", f"{label}: {exc.message}", exc.hint)
    details: dict[str, Any] = {
        "source": "offline",
        "matomo": prediction.redirect_uri,
        "registered": expected,
        "conditions": list(prediction.conditions),
        "fixes": [f.to_json() for f in prediction.fixes],
    }
    if prediction.fixes or prediction.redirect_uri != expected:
        problems = [f.problem for f in prediction.fixes] or [
            f"it would use redirect_uri {prediction.redirect_uri}"
        ]
        return failed(
            NAME,
            "matomo-redirect-uri-mismatch",
            f"{label}: Matomo will not use the registered {expected}: " + "; ".join(problems),
            "; ".join(f.fix for f in prediction.fixes)
            or "make redirectUriOverride (or the Matomo URL) and the provider's redirect_uris "
            "agree (oidcsetup apply matomo, oidcsetup gen authelia)",
            **details,
        )
    if prediction.conditions:
        return skipped(
            NAME,
            "matomo-redirect-uri-unverified",
            f"{label}: Matomo builds {expected} only if " + "; and ".join(prediction.conditions),
            "run check where Matomo is reachable to ask it; behind a TLS-terminating proxy set "
            "[General] assume_secure_protocol = 1",
        )
    return passed(
        NAME,
        "matomo-redirect-uri-ok",
        f"{label}: Matomo will build the registered redirect URI {expected}",
        **details,
    )
