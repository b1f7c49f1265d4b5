"""Preflight probes against the live provider and Matomo's settings (``oidcsetup check``).

Each probe is a small function returning a :class:`ProbeResult` with a stable ``code``
(documented in docs/check.md, never renamed). The probes send what Login OIDC sends:

- the authorization request has client_id, redirect_uri, response_type=code, scope and state,
  and no PKCE and no nonce (``Controller.php``), so a provider requiring PKCE shows up here;
- the token request posts client_id and client_secret in the form body (client_secret_post)
  with an authorization code that cannot be valid: ``invalid_grant`` proves the credentials
  were accepted, ``invalid_client`` that they were not (RFC 6749 section 5.2);
- userinfo is called with GET and a Bearer token and must answer plain JSON.

Nothing here prints or returns the client secret.
"""

from __future__ import annotations

import contextlib
import secrets as _secrets
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from oidcsetup.errors import ExitCode, OidcSetupError, UnreachableError, UsageError
from oidcsetup.findings import Finding, Level
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import MATOMO_AUTH_METHOD, Integration, ProviderEndpoints
from oidcsetup.login import (
    LoginEndpoints,
    LoginError,
    LoginResult,
    LoginSettings,
    client_auth,
    http_client,
    oauth_error,
    refuse_redirect,
    run_login,
    send,
)
from oidcsetup.urls import normalize_url

if TYPE_CHECKING:
    import httpx

    from oidcsetup.apps.matomo.redirect import GeneralSettings
    from oidcsetup.verify.browser import TestUser

Status = Literal["pass", "fail", "skip"]

# Login OIDC refuses to start a login unless all of these are non-empty (isPluginSetup).
REQUIRED_MATOMO_SETTINGS = (
    "authorizeUrl",
    "tokenUrl",
    "userinfoUrl",
    "clientId",
    "clientSecret",
    "userinfoId",
)


@dataclass(frozen=True)
class ProbeResult:
    name: str
    status: Status
    code: str
    message: str
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False  # a network failure: the command exits 4

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            # "_" keys are for the library (e.g. the discovery findings), not the document.
            "details": {k: v for k, v in self.details.items() if not k.startswith("_")},
            "unreachable": self.unreachable,
        }


def passed(name: str, code: str, message: str, **details: Any) -> ProbeResult:
    return ProbeResult(name, "pass", code, message, None, details)


def failed(
    name: str, code: str, message: str, hint: str | None = None, **details: Any
) -> ProbeResult:
    return ProbeResult(name, "fail", code, message, hint, details)


def skipped(name: str, code: str, message: str, hint: str | None = None) -> ProbeResult:
    return ProbeResult(name, "skip", code, message, hint)


def unreachable_result(name: str, url: str, exc: BaseException) -> ProbeResult:
    """A probe's request failed: unreachable (exit 4), or an answer far too large (exit 3)."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    if isinstance(exc, FetchInvalid):
        return failed(name, exc.code, exc.message, exc.hint, url=url)
    if isinstance(exc, FetchUnreachable):
        message, hint, cause = exc.message, exc.hint, exc.code
    else:
        message, hint, cause = f"cannot reach {url}: {type(exc).__name__}: {exc}", None, None
    return ProbeResult(
        name,
        "fail",
        f"{name}-unreachable",
        message,
        hint or "check that the provider runs and the URL, network and TLS settings (--ca-bundle)",
        {"url": url, "cause": cause},
        unreachable=True,
    )


# --- what is probed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MatomoCurrent:
    """Login OIDC settings in place: stored strings by setting name (``${NAME}`` kept as is)."""

    source: str  # e.g. "config file /var/www/matomo/config/config.ini.php"
    values: Mapping[str, str]
    # What apps/matomo/safety.py and settings.py found wrong with Matomo's state (a plugin
    # active but not installed, a ${NAME} secret Matomo rewrote); None: not looked at.
    findings: tuple[Any, ...] = ()
    checked: tuple[str, ...] = ()  # what those checks covered, e.g. "LoginOIDC is installed"
    general: GeneralSettings | None = None  # config.ini.php [General], when the file was read

    def get(self, name: str) -> str:
        """The value the plugin uses: the stored one, else the plugin's default."""
        if name in self.values:
            return self.values[name]
        from oidcsetup.apps.matomo.settings import SPECS, stored_form

        spec = SPECS.get(name)
        return stored_form(spec.default) if spec else ""


@dataclass(frozen=True)
class Target:
    """What a login uses: from the integration, or from Matomo's settings when given."""

    client_id: str
    secret: str | None = field(repr=False)
    auth_method: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    userinfo_id: str
    allow_signup: bool
    source: str = "profile"
    # Why redirect_uri is None although Matomo's URL is given (an invalid URL): the probe fails.
    redirect_problem: OidcSetupError | None = field(default=None, repr=False)


def is_env_reference(value: str) -> bool:
    return value.startswith("${") and value.endswith("}")


def target_from(integration: Integration, secret: str | None) -> Target:
    from oidcsetup.apps.matomo.redirect import redirect_uris

    problem: OidcSetupError | None = None
    try:
        redirect: str | None = redirect_uris(integration.matomo)[0]
    except UsageError:
        redirect = None  # Matomo's URL is not known: the probe is skipped
    except OidcSetupError as exc:
        redirect, problem = None, exc  # given but unusable (not a URL, http on a public host)
    return Target(
        client_id=integration.client.client_id,
        secret=secret,
        auth_method=integration.client.auth_method or MATOMO_AUTH_METHOD,
        scopes=integration.client.scopes,
        redirect_uri=redirect,
        userinfo_id=integration.matomo.userinfo_id,
        allow_signup=bool(integration.matomo.allow_signup),
        redirect_problem=problem,
    )


def matomo_redirect_uri(current: MatomoCurrent, integration: Integration) -> str | None:
    """The redirect URI Matomo will send: its override, else its callback URL."""
    from oidcsetup.apps.matomo.redirect import check_redirect_uri, redirect_uris

    override = current.get("redirectUriOverride")
    try:
        if override:
            return check_redirect_uri(override, what="redirectUriOverride")
        return redirect_uris(replace(integration.matomo, redirect_uri_override=None))[0]
    except OidcSetupError:
        return None


def target_from_matomo(target: Target, current: MatomoCurrent, integration: Integration) -> Target:
    """Overlay what Matomo actually uses: that is what a real login will send."""
    secret = current.get("clientSecret")
    return replace(
        target,
        client_id=current.get("clientId") or target.client_id,
        secret=target.secret if (not secret or is_env_reference(secret)) else secret,
        auth_method=MATOMO_AUTH_METHOD,
        scopes=tuple(current.get("scope").split()) or target.scopes,
        redirect_uri=matomo_redirect_uri(current, integration) or target.redirect_uri,
        userinfo_id=current.get("userinfoId") or target.userinfo_id,
        allow_signup=current.get("allowSignup") not in ("", "0"),
        source=current.source,
    )


@contextlib.contextmanager
def concurrent(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for requests that do not depend on each other (each with its own client:
    a request's hard deadline cuts every socket of its client)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oidcsetup-probe") as pool:
        yield pool


# --- probes -----------------------------------------------------------------------------------


def probe_discovery(
    issuer: str | None, network: NetworkOptions, *, check_keys: bool = True
) -> tuple[ProbeResult, dict[str, Any] | None]:
    """Discovery reachable and valid as ``oidcsetup discover`` judges it (errors fail).

    ``check_keys=False`` leaves the JWKS to the caller (``check`` fetches it side by side with
    the other probes, then calls ``discovery_verdict`` again with its findings)."""
    from oidcsetup.discovery import discover

    name = "discovery"
    if not issuer:
        return skipped(name, "no-issuer", "no issuer configured", "pass --issuer URL"), None
    try:
        result = discover(issuer, network, check_keys=check_keys)
    except UnreachableError as exc:
        code = getattr(exc, "code", None) or "discovery-unreachable"
        return (
            ProbeResult(name, "fail", code, exc.message, exc.hint, {}, unreachable=True),
            None,
        )
    except OidcSetupError as exc:
        return failed(
            name, getattr(exc, "code", None) or "discovery-invalid", exc.message, exc.hint
        ), None
    raw = getattr(result.metadata, "raw", None)
    metadata = dict(raw) if isinstance(raw, Mapping) else None
    verdict = discovery_verdict(issuer, list(result.findings), result.document_url, result.provider)
    return verdict, metadata


def discovery_verdict(
    issuer: str,
    findings: list[Finding],
    document_url: str | None,
    provider: str | None,
) -> ProbeResult:
    """The discovery probe from discover's findings: the first error fails it."""
    name = "discovery"
    common = {"document_url": document_url, "provider": provider, "_findings": findings}
    errors = [f for f in findings if f.level is Level.ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return failed(
            name,
            first.code,
            first.message + more,
            first.hint,
            findings=[f.to_json() for f in errors],
            **common,
        )
    warnings = [f.to_json() for f in findings if f.level is Level.WARNING]
    return passed(
        name,
        "discovery-ok",
        f"the discovery document of {issuer} is valid"
        + (f" ({len(warnings)} warning(s): run `oidcsetup discover`)" if warnings else ""),
        warnings=warnings,
        **common,
    )


def with_jwks(
    discovery: ProbeResult,
    issuer: str,
    client: httpx.Client,
    metadata: Mapping[str, Any],
    network: NetworkOptions,
) -> ProbeResult:
    """The discovery probe once the JWKS was judged (as ``discover`` judges it)."""
    from oidcsetup.discovery.jwks import check_jwks

    jwks_uri = metadata.get("jwks_uri")
    if not (isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://"))):
        return discovery
    algs = metadata.get("id_token_signing_alg_values_supported")
    _, findings = check_jwks(client, jwks_uri, algs if isinstance(algs, list) else [], network)
    if not findings:
        return discovery
    before = list(discovery.details.get("_findings", []))
    return discovery_verdict(
        issuer,
        before + findings,
        discovery.details.get("document_url"),
        discovery.details.get("provider"),
    )


ENDPOINT_KEYS = (
    ("authorization_endpoint", "authorizeUrl"),
    ("token_endpoint", "tokenUrl"),
    ("userinfo_endpoint", "userinfoUrl"),
)


def probe_endpoints(
    metadata: Mapping[str, Any] | None,
    configured: Mapping[str, str | None],
    source: str,
) -> ProbeResult:
    """The endpoints Matomo uses (``configured``: Login OIDC names -> URL) equal the discovered."""
    name = "endpoints"
    if metadata is None:
        return skipped(name, "no-discovery", "no discovery document to compare with")
    if not any(configured.values()):
        return skipped(name, "no-endpoints", f"no endpoints configured in {source}")
    mismatches = []
    for key, setting in ENDPOINT_KEYS:
        want = metadata.get(key)
        have = configured.get(setting)
        if not have:
            mismatches.append({"setting": setting, "configured": None, "discovered": want})
        elif not isinstance(want, str) or normalize_url(have) != normalize_url(want):
            mismatches.append({"setting": setting, "configured": have, "discovered": want})
    if mismatches:
        listed = ", ".join(
            f"{m['setting']} is {m['configured'] or '(empty)'}, discovered {m['discovered']}"
            for m in mismatches
        )
        return failed(
            name,
            "endpoint-mismatch",
            f"{source}: {listed}",
            "run `oidcsetup discover ISSUER --save` then `oidcsetup apply matomo`",
            mismatches=mismatches,
        )
    return passed(name, "endpoints-match", f"the endpoints in {source} equal the discovered ones")


def probe_redirect_uri(
    client: httpx.Client,
    authorization_endpoint: str | None,
    target: Target,
    network: NetworkOptions | None = None,
    *,
    client_settings: str = "the provider's client settings",
) -> ProbeResult:
    """An authorization request as Login OIDC sends it gets a login page or a redirect, and
    the same request with a redirect URI nobody registered does not (a control request, sent
    side by side): a provider showing its login form whatever the redirect URI cannot be
    checked before login, and is reported so, never as "accepted"."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable
    from oidcsetup.verify.authpage import UNREGISTERED_REDIRECT_URI, classify, refusal, same_answer

    name = "redirect-uri"
    if not authorization_endpoint:
        return skipped(name, "no-authorization-endpoint", "the authorization endpoint is unknown")
    if not target.redirect_uri and target.redirect_problem is not None:
        return failed(
            name,
            "redirect-uri-invalid",
            target.redirect_problem.message,
            target.redirect_problem.hint,
        )
    if not target.redirect_uri:
        return skipped(
            name,
            "no-redirect-uri",
            "the redirect URI is unknown",
            "pass --matomo-url (or --redirect-uri-override)",
        )
    network = network or NetworkOptions()
    redirect_uri = target.redirect_uri
    details = {"redirect_uri": redirect_uri, "client_id": target.client_id}

    def ask(uri: str, via: httpx.Client) -> httpx.Response:
        params = {
            "client_id": target.client_id,
            "redirect_uri": uri,
            "response_type": "code",
            "scope": " ".join(target.scopes),
            "state": _secrets.token_urlsafe(16),
        }
        return send(
            via, "GET", authorization_endpoint, network, params=params, follow_redirects=False
        )

    # The control request has a client of its own: a request's deadline cuts its client's sockets.
    with http_client(network) as control_client, concurrent(2) as pool:
        asked = pool.submit(ask, redirect_uri, client)
        control_asked = pool.submit(ask, UNREGISTERED_REDIRECT_URI, control_client)
        try:
            response = asked.result()
        except (FetchUnreachable, FetchInvalid) as exc:
            return unreachable_result(name, authorization_endpoint, exc)
        try:
            control = classify(control_asked.result(), UNREGISTERED_REDIRECT_URI)
        except (FetchUnreachable, FetchInvalid):
            control = None
    answer = classify(response, redirect_uri)
    if answer.kind == "error":
        refused = refusal(answer, target.client_id, redirect_uri, client_settings)
        return failed(
            name,
            refused.code,
            refused.message,
            refused.hint,
            error=answer.error,
            status=answer.status,
            **details,
        )
    if answer.kind == "code":
        return passed(
            name,
            "redirect-uri-accepted",
            "the provider accepted the request and answered with a code (an SSO session)",
            **details,
        )
    if control is not None and same_answer(answer, control):
        return ProbeResult(
            name,
            "skip",
            "redirect-uri-unverifiable",
            "not verifiable before login: the provider answers a redirect URI nobody "
            f"registered exactly like {redirect_uri} (it checks the redirect URI only after "
            "the user logs in)",
            "check it with a real login: `oidcsetup check --login` with a test user in "
            "OIDCSETUP_LOGIN_USERNAME and OIDCSETUP_LOGIN_PASSWORD",
            details,
        )
    if answer.kind == "login":
        shown = "redirected to its login" if answer.location else "shows its login page"
    else:
        shown = f"answered HTTP {answer.status}"
    return passed(
        name,
        "redirect-uri-accepted",
        f"the provider accepted {redirect_uri} for client {target.client_id} and {shown}"
        + ("; it refuses a redirect URI nobody registered" if control is not None else ""),
        **details,
    )


# Answers to a made-up code that prove the client's credentials were accepted: RFC 6749's
# invalid_grant, and Glewlwyd 2.7.5's 403 invalid_code (docs/providers.md).
CREDENTIALS_ACCEPTED = ("invalid_grant", "invalid_code")


def probe_client_auth(
    client: httpx.Client,
    token_endpoint: str | None,
    target: Target,
    methods_supported: tuple[str, ...] | list[str] = (),
    network: NetworkOptions | None = None,
    *,
    quirks: frozenset[str] = frozenset(),
    client_settings: str = "the provider's client settings",
) -> ProbeResult:
    """A token request with a bogus code and the client's credentials must get invalid_grant
    (or a provider's observed equivalent); a refusal is retried with the other method (Basic
    or POST) to tell a wrong secret from an auth method the client is not registered for."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable
    from oidcsetup.discovery.presets import QUIRK_BAD_CLIENT_UNAUTHORIZED

    network = network or NetworkOptions()
    name = "client-auth"
    if not token_endpoint:
        return skipped(name, "no-token-endpoint", "the token endpoint is unknown")
    if target.auth_method != "none" and not target.secret:
        return skipped(
            name,
            "no-secret",
            "no client secret is configured, so client authentication was not tried",
            'set OIDCSETUP_CLIENT_SECRET or client.secret = "env:NAME" in the profile',
        )
    details = {"auth_method": target.auth_method, "client_id": target.client_id}
    try:
        error, description, status = _bogus_token_request(
            client, token_endpoint, target, target.auth_method, network
        )
    except (FetchUnreachable, FetchInvalid) as exc:
        return unreachable_result(name, token_endpoint, exc)
    except LoginError as exc:  # a redirect: not followed, the secret stayed here
        return failed(name, "token-endpoint-redirect", exc.message, exc.hint, **details)
    if error in CREDENTIALS_ACCEPTED:
        return passed(
            name,
            "client-auth-ok",
            f"the provider accepted the credentials of client {target.client_id!r} sent with "
            f"{target.auth_method} (it answered {error} for a made-up code)",
            **details,
        )
    # unauthorized_client means "authenticated, but this grant is not allowed" (RFC 6749 5.2),
    # except where a provider sends it for bad credentials too (Glewlwyd, with HTTP 403).
    refused = error == "invalid_client" or (
        error == "unauthorized_client"
        and (QUIRK_BAD_CLIENT_UNAUTHORIZED in quirks or status in (401, 403))
    )
    if refused:
        return _diagnose_refused_client(
            client,
            token_endpoint,
            target,
            methods_supported,
            details,
            network,
            error=error or "invalid_client",
            client_settings=client_settings,
        )
    if error == "unauthorized_client":
        return failed(
            name,
            "client-grant-not-allowed",
            "the client may not use the authorization_code grant",
            f"allow grant type authorization_code for the client in {client_settings}",
            **details,
        )
    return failed(
        name,
        "token-error",
        f"unexpected answer of the token endpoint: HTTP {status}"
        + (f", {error}" if error else "")
        + (f" ({description})" if description else ""),
        "expected invalid_grant for a made-up code; check the token endpoint URL",
        **details,
    )


def _bogus_token_request(
    client: httpx.Client,
    token_endpoint: str,
    target: Target,
    method: str,
    network: NetworkOptions,
) -> tuple[str | None, str | None, int]:
    data = {
        "grant_type": "authorization_code",
        # A code no provider issued: any well-behaved provider answers invalid_grant after
        # authenticating the client (RFC 6749 section 5.2), invalid_client before.
        "code": "oidcsetup-check-" + _secrets.token_urlsafe(16),
        "redirect_uri": target.redirect_uri or "",
    }
    if not data["redirect_uri"]:
        del data["redirect_uri"]
    fields, headers = client_auth(method, target.client_id, target.secret)
    data.update(fields)
    headers["Accept"] = "application/json"
    response = send(client, "POST", token_endpoint, network, data=data, headers=headers)
    refuse_redirect(response, "the token endpoint", "the client credentials were", "token-redirect")
    error, description = oauth_error(response)
    return error, description, response.status_code


def _diagnose_refused_client(
    client: httpx.Client,
    token_endpoint: str,
    target: Target,
    methods_supported: tuple[str, ...] | list[str],
    details: dict[str, Any],
    network: NetworkOptions,
    *,
    error: str,
    client_settings: str,
) -> ProbeResult:
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    name = "client-auth"
    method = target.auth_method
    if methods_supported and method not in methods_supported:
        return failed(
            name,
            "client-auth-method",
            f"the provider does not accept {method} (it offers "
            f"{', '.join(methods_supported)}); Login OIDC can only send {MATOMO_AUTH_METHOD}",
            f"configure the client in {client_settings} with token_endpoint_auth_method: {method}",
            methods_supported=list(methods_supported),
            **details,
        )
    other = "client_secret_basic" if method == "client_secret_post" else "client_secret_post"
    other_error: str | None = None
    if target.secret:
        try:
            other_error, _, _ = _bogus_token_request(client, token_endpoint, target, other, network)
        except (FetchUnreachable, FetchInvalid, LoginError):
            other_error = None
    if other_error in CREDENTIALS_ACCEPTED:
        return failed(
            name,
            "client-auth-method",
            f"the provider refuses the credentials sent with {method} but accepts them with "
            f"{other}: the client is registered for {other}",
            f"register the client in {client_settings} with token_endpoint_auth_method: "
            f"{method} (Login OIDC sends {MATOMO_AUTH_METHOD})",
            **details,
        )
    causes = "the secret is wrong or the client is unknown"
    if error == "unauthorized_client":
        causes = "the secret is wrong, the client is unknown, or it may not use this grant"
    tried = f"with {method}" + (f" and with {other}" if target.secret else "")
    return failed(
        name,
        "client-secret-wrong",
        f"the provider refused the credentials of client {target.client_id!r} {tried} "
        f"({error}): {causes}",
        f"make the client secret in Matomo/the profile match the one registered in "
        f"{client_settings}",
        error=error,
        **details,
    )


def reconcile_client_auth(
    auth: ProbeResult, redirect: ProbeResult, quirks: frozenset[str] = frozenset()
) -> ProbeResult:
    """Do not blame the secret for what the redirect URI explains.

    Some token endpoints answer a redirect_uri mismatch with the error they use for bad
    credentials (django-oidc-provider: invalid_client; Glewlwyd: unauthorized_client). When the
    redirect-uri probe failed, or could not verify the redirect URI on such a provider, a
    refused client is not proof of a wrong secret.
    """
    from oidcsetup.discovery.presets import QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR

    if auth.code != "client-secret-wrong":
        return auth
    redirect_failed = redirect.status == "fail" and redirect.code in (
        "redirect-uri-unregistered",
        "authorization-error",
    )
    unverified = (
        redirect.code == "redirect-uri-unverifiable"
        and QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR in quirks
    )
    if not (redirect_failed or unverified):
        return auth
    why = (
        "it also refuses the redirect URI"
        if redirect_failed
        else "the redirect URI could not be verified before login"
    )
    return ProbeResult(
        auth.name,
        "skip",
        "client-auth-unverifiable",
        f"not verifiable: the provider refused the client's credentials, but {why}, and a "
        "redirect URI mismatch alone makes its token endpoint refuse them",
        "register the redirect URI first (see the redirect-uri probe), then check again",
        auth.details,
    )


def probe_scopes(
    target: Target,
    scopes_supported: list[str] | tuple[str, ...] | None,
    quirks: frozenset[str] = frozenset(),
) -> ProbeResult:
    name = "scopes"
    requested = list(target.scopes)
    if "openid" not in requested:
        return failed(
            name,
            "scope-openid-missing",
            "the scopes do not include openid, so the provider may not act as OpenID Connect",
            'request "openid email" (--scopes)',
            requested=requested,
        )
    if target.allow_signup and "email" not in requested:
        return failed(
            name,
            "scope-email-missing",
            "allowSignup is on but the email scope is not requested: new users cannot be created",
            'add "email" to the scopes',
            requested=requested,
        )
    if not scopes_supported:
        return skipped(name, "scopes-not-advertised", "the provider lists no scopes_supported")
    unsupported = [s for s in requested if s not in scopes_supported]
    from oidcsetup.discovery.presets import QUIRK_SCOPES_NOT_ADVERTISED

    if unsupported and QUIRK_SCOPES_NOT_ADVERTISED in quirks:
        return skipped(
            name,
            "scope-not-advertised",
            f"not verifiable: {', '.join(unsupported)} is not in scopes_supported, but this "
            "provider accepts scopes it does not list (and ignores those it does not know)",
            "check the claims with a real login (`oidcsetup check --login` with a test user)",
        )
    if unsupported:
        return failed(
            name,
            "scope-unsupported",
            "the provider does not support scope(s) " + ", ".join(unsupported),
            "request only scopes from the provider's scopes_supported ("
            + " ".join(scopes_supported)
            + ")",
            requested=requested,
            unsupported=unsupported,
        )
    return passed(
        name, "scopes-supported", "all requested scopes are supported: " + " ".join(requested)
    )


def probe_userinfo(
    client: httpx.Client, userinfo_endpoint: str | None, network: NetworkOptions | None = None
) -> ProbeResult:
    """userinfo answers; without a token 401/400 with an OAuth error is 'reachable'."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    name = "userinfo"
    if not userinfo_endpoint:
        return failed(
            name,
            "userinfo-missing",
            "no userinfo endpoint is known",
            "Login OIDC reads the user from userinfo; the provider must offer it",
        )
    try:
        response = send(
            client,
            "GET",
            userinfo_endpoint,
            network or NetworkOptions(),
            headers={"Accept": "application/json"},
        )
    except (FetchUnreachable, FetchInvalid) as exc:
        return unreachable_result(name, userinfo_endpoint, exc)
    return userinfo_verdict(name, userinfo_endpoint, response)


def userinfo_verdict(name: str, url: str, response: httpx.Response) -> ProbeResult:
    """userinfo without a token must refuse: HTTP 401, with or without ``WWW-Authenticate:
    Bearer`` (LemonLDAP::NG sends ``error=...`` without a scheme, Glewlwyd no header and no
    body, django-oidc-provider ``error="invalid_token"``), or 400 with an OAuth error. A 200, a
    redirect or an HTML page (a proxy's login page) means the URL is not the userinfo endpoint."""
    status = response.status_code
    error, _ = oauth_error(response)
    challenge = response.headers.get("www-authenticate", "")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    html_page = content_type in ("text/html", "application/xhtml+xml") and bool(
        response.content.strip()
    )
    if status == 401 and not html_page:
        how = (
            "WWW-Authenticate: Bearer"
            if "bearer" in challenge.lower()
            else f"WWW-Authenticate: {challenge[:60]}"
            if challenge
            else "no WWW-Authenticate header"
        )
        return passed(
            name,
            "userinfo-reachable",
            f"{url} answers 401 without a token ({how})",
            challenge=challenge or None,
        )
    if status == 400 and (error or "bearer" in challenge.lower()) and not html_page:
        return passed(
            name, "userinfo-reachable", f"{url} answers 400 {error or ''} without a token"
        )
    what = f"an HTML page (HTTP {status})" if html_page else f"HTTP {status}"
    return failed(
        name,
        "userinfo-error",
        f"{url} answered {what} without a token, where userinfo answers 401",
        "check the userinfo URL (a proxy in front of it must let the Bearer token through)",
        status=status,
    )


def probe_claims(
    result: LoginResult | None, error: LoginError | None, target: Target
) -> ProbeResult:
    name = "userinfo-claims"
    if error is not None:
        return failed(name, error.code, f"the test login failed: {error.message}", error.hint)
    if result is None:
        return skipped(
            name,
            "login-not-run",
            f"the {target.userinfo_id!r} claim was not checked (needs a real login)",
            "pass --login with a test user in OIDCSETUP_LOGIN_USERNAME/OIDCSETUP_LOGIN_PASSWORD "
            "(a headless browser fills the provider's login form), or run `oidcsetup login`",
        )
    if result.userinfo_signed:
        return failed(
            name,
            "userinfo-signed",
            "userinfo answered a signed JWT; Login OIDC can only read plain JSON",
            "configure the client at the provider to answer userinfo unsigned",
        )
    claims = sorted(result.userinfo)
    if result.matomo_user in (None, ""):
        return failed(
            name,
            "userinfo-claim-missing",
            f"userinfo has no {target.userinfo_id!r} claim (it has: {', '.join(claims)})",
            'set userinfoId to "sub" (--userinfo-id sub), or grant the scope carrying that claim',
            claims=claims,
        )
    if target.allow_signup and not result.email:
        return failed(
            name,
            "email-claim-missing",
            "allowSignup is on but userinfo has no email claim",
            "request the email scope and allow it for the client at the provider",
            claims=claims,
        )
    return passed(
        name,
        "userinfo-claims-ok",
        f"userinfo has {target.userinfo_id}={result.matomo_user!r}"
        + (f" and email={result.email!r}" if result.email else ""),
        claims=claims,
    )


def probe_matomo_settings(current: MatomoCurrent | None, want: Target) -> ProbeResult:
    """Every setting the login needs is set, and agrees with the profile."""
    name = "matomo-settings"
    if current is None:
        return skipped(
            name, "no-matomo", "Matomo's settings were not read", "pass --config PATH or --db"
        )
    missing = [n for n in REQUIRED_MATOMO_SETTINGS if not current.get(n).strip()]
    if missing:
        return failed(
            name,
            "matomo-setting-missing",
            f"{current.source}: Login OIDC stays disabled while {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} empty",
            "run `oidcsetup apply matomo`",
            missing=missing,
        )
    differs: list[str] = []
    if current.get("clientId") != want.client_id:
        differs.append(
            f"clientId is {current.get('clientId')!r}, the profile says {want.client_id!r}"
        )
    if current.get("userinfoId") != want.userinfo_id:
        differs.append(
            f"userinfoId is {current.get('userinfoId')!r}, the profile says {want.userinfo_id!r}"
        )
    if current.get("scope").split() != list(want.scopes):
        differs.append(
            f"scope is {current.get('scope')!r}, the profile says {' '.join(want.scopes)!r}"
        )
    secret = current.get("clientSecret")
    if want.secret and not is_env_reference(secret) and secret != want.secret:
        differs.append("clientSecret differs from the profile's secret")
    if differs:
        return failed(
            name,
            "matomo-setting-differs",
            f"{current.source}: " + "; ".join(differs),
            "run `oidcsetup apply matomo` to write the profile's values",
            differences=differs,
        )
    note = " (clientSecret from the environment of PHP)" if is_env_reference(secret) else ""
    return passed(
        name, "matomo-settings-complete", f"{current.source}: every needed setting is set{note}"
    )


def probe_matomo_redirect(
    current: MatomoCurrent | None,
    integration: Integration,
    expected: str | None,
    *,
    network: NetworkOptions | None = None,
    authorization_endpoint: str | None = None,
) -> ProbeResult:
    """The redirect URI Matomo sends (asked live; offline rule when Matomo is not reached)
    equals the one the profile registers, and the provider accepts it (apps/matomo/live.py)."""
    from oidcsetup.apps.matomo.live import redirect_probe

    return redirect_probe(
        current,
        integration,
        expected,
        network=network,
        authorization_endpoint=authorization_endpoint,
        general=current.general if current else None,
    )


def probe_matomo_state(current: MatomoCurrent | None) -> ProbeResult | None:
    """The plugin is installed (its table exists), and a wanted ${NAME} secret is still one.

    None (no probe) when neither was looked at: that needs ``--db`` or ``--secret-as-env``.
    """
    name = "matomo-state"
    if current is None or not (current.checked or current.findings):
        return None
    if current.findings:
        first = current.findings[0]
        return failed(
            name,
            first.code,
            " ; ".join(f.message for f in current.findings),
            first.hint,
            findings=[f.to_json() for f in current.findings],
        )
    return passed(name, "matomo-state-ok", f"{current.source}: " + "; ".join(current.checked))


# --- the whole check --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckReport:
    probes: tuple[ProbeResult, ...]
    login: LoginResult | None = None

    @property
    def exit_code(self) -> ExitCode:
        if any(p.unreachable for p in self.probes):
            return ExitCode.UNREACHABLE
        if any(p.status == "fail" for p in self.probes):
            return ExitCode.FINDINGS
        return ExitCode.OK

    @property
    def ok(self) -> bool:
        return self.exit_code is ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(1 for p in self.probes if p.status == s) for s in ("pass", "fail", "skip")}
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "summary": counts,
            "probes": [p.to_json() for p in self.probes],
            "login": self.login.to_json() if self.login else None,
        }


def run_checks(
    integration: Integration,
    network: NetworkOptions,
    *,
    secret: str | None,
    matomo: MatomoCurrent | None = None,
    login: bool = False,
    login_timeout: float = 30.0,
    progress: Callable[[str], None] = lambda name: None,
    test_user: TestUser | None = None,
) -> CheckReport:
    """Run every probe; a probe never raises for what it finds, only for a bug.

    Discovery (and its JWKS) comes first; the authorization, token and userinfo probes depend
    only on it and run side by side, each with a client of its own.
    """
    from oidcsetup.discovery.presets import client_settings_of, quirks_of

    provider = integration.provider
    profile_target = target_from(integration, secret)
    target = target_from_matomo(profile_target, matomo, integration) if matomo else profile_target
    results: list[ProbeResult] = []
    login_result: LoginResult | None = None
    progress("discovery")
    if provider.preset and not provider.has_endpoints:
        discovery, metadata, provider = _preset(integration)
    else:
        # The JWKS is judged below, side by side with the probes that need only the document.
        discovery, metadata = probe_discovery(provider.issuer, network, check_keys=False)
    results.append(discovery)
    md = metadata or {}
    family = provider.preset or discovery.details.get("provider")
    quirks = quirks_of(family)
    where = client_settings_of(family)

    def endpoint(key: str) -> str | None:
        value = md.get(key) or getattr(provider, key)
        return value if isinstance(value, str) and value else None

    if matomo is not None:
        configured = {s: matomo.get(s) or None for _, s in ENDPOINT_KEYS}
        source = matomo.source
    else:
        # Also after `discover --save`: a hand-edited endpoint in the profile is what
        # `gen matomo` writes, so it is compared with the discovered one.
        configured = {s: getattr(provider, k) for k, s in ENDPOINT_KEYS}
        source = "the profile"
        if not any(configured.values()):
            configured = {}
    results.append(probe_endpoints(metadata, configured, source))

    known = provider.has_endpoints and provider.source != "discovered"
    if discovery.status == "fail" and metadata is None and not known:
        # Without endpoints the other probes could only fail for the same cause.
        code, why = (
            ("provider-unreachable", "the provider is unreachable")
            if discovery.unreachable
            else ("no-discovery", "no discovery document, so no endpoints to probe")
        )
        for probe in ("redirect-uri", "client-auth", "scopes", "userinfo", "userinfo-claims"):
            results.append(skipped(probe, code, f"skipped: {why}"))
    else:
        methods = md.get("token_endpoint_auth_methods_supported") or list(
            provider.token_endpoint_auth_methods_supported
        )
        # sec-net: no client secret (nor a test login's code) for a suspicious document.
        withheld = credentials_withheld(
            discovery,
            metadata,
            endpoint("token_endpoint"),
            matomo.get("tokenUrl") if matomo is not None else provider.token_endpoint,
        )

        def redirect_probe() -> ProbeResult:
            with http_client(network) as client:
                return probe_redirect_uri(
                    client,
                    endpoint("authorization_endpoint"),
                    target,
                    network,
                    client_settings=where,
                )

        def client_auth_probe() -> ProbeResult:
            if withheld is not None:
                return withheld
            with http_client(network) as client:
                return probe_client_auth(
                    client,
                    endpoint("token_endpoint"),
                    target,
                    methods or (),
                    network,
                    quirks=quirks,
                    client_settings=where,
                )

        def userinfo_probe() -> ProbeResult:
            with http_client(network) as client:
                return probe_userinfo(client, endpoint("userinfo_endpoint"), network)

        def jwks_probe() -> ProbeResult:
            if metadata is None or not provider.issuer:
                return discovery
            with http_client(network) as client:
                return with_jwks(discovery, provider.issuer, client, metadata, network)

        progress("jwks, redirect-uri, client-auth, userinfo")
        with concurrent(4) as pool:
            jwks_future = pool.submit(jwks_probe)
            redirect_future = pool.submit(redirect_probe)
            auth_future = pool.submit(client_auth_probe)
            userinfo_future = pool.submit(userinfo_probe)
            redirect, auth, userinfo = (
                redirect_future.result(),
                auth_future.result(),
                userinfo_future.result(),
            )
            results[0] = jwks_future.result()
        results.append(redirect)
        results.append(reconcile_client_auth(auth, redirect, quirks))
        scopes = md.get("scopes_supported") or list(provider.scopes_supported)
        results.append(probe_scopes(target, scopes if isinstance(scopes, list) else None, quirks))
        results.append(userinfo)
        login_error: LoginError | None = None
        if login and withheld is not None:
            results.append(replace(withheld, name="userinfo-claims"))
        else:
            if login:
                progress("login")
                login_result, login_error = _headless_login(
                    target, endpoint, provider.issuer, network, login_timeout, test_user, where
                )
                results[results.index(redirect)] = confirm_redirect(redirect, login_result)
            results.append(probe_claims(login_result, login_error, target))
    results.append(probe_matomo_settings(matomo, replace(profile_target, secret=secret)))
    results.append(
        probe_matomo_redirect(
            matomo,
            integration,
            profile_target.redirect_uri,
            network=network,
            authorization_endpoint=endpoint("authorization_endpoint"),
        )
    )
    state = probe_matomo_state(matomo)
    if state is not None:
        results.append(state)
    return CheckReport(tuple(results), login_result if login else None)


def credentials_withheld(
    discovery: ProbeResult,
    metadata: Mapping[str, Any] | None,
    token_endpoint: str | None,
    configured_token_endpoint: str | None,
) -> ProbeResult | None:
    """The client-auth result when the client secret (and a test login's code and verifier)
    must not be sent, saying why; None when they may be.

    A provider, or whoever sits between us and it, controls the discovery document: a document
    failing validation (issuer on another host, token endpoint on plain http...) or naming
    another token endpoint than the one configured must not receive the configured client's
    credentials (docs/security.md, "Providers and the network"); the probe is skipped, as the
    discovery or endpoints probe fails already. A plain-http token endpoint on a public host
    (from the profile or a preset) fails it: Matomo would post the secret there in cleartext.
    """
    from urllib.parse import urlsplit

    from oidcsetup.urls import is_loopback_host

    name = "client-auth"
    if discovery.status == "fail" and metadata is not None:
        return skipped(
            name,
            "credentials-withheld",
            f"skipped: client credentials not sent, the discovery document has errors "
            f"({discovery.code}: {discovery.message})",
        )
    if (
        token_endpoint
        and configured_token_endpoint
        and normalize_url(token_endpoint) != normalize_url(configured_token_endpoint)
    ):
        return skipped(
            name,
            "credentials-withheld",
            f"skipped: client credentials not sent, the discovered token endpoint "
            f"{token_endpoint} differs from the configured {configured_token_endpoint}",
        )
    parts = urlsplit(token_endpoint or "")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return failed(
            name,
            "token-endpoint-cleartext",
            f"the token endpoint {token_endpoint} is plain http on a public host: client "
            "credentials not sent (Matomo would post the client secret there in cleartext)",
            "use the provider's https:// token endpoint",
        )
    return None


def confirm_redirect(redirect: ProbeResult, login: LoginResult | None) -> ProbeResult:
    """A redirect URI that could not be verified before login is verified by a real login that
    came back to it."""
    if login is None or redirect.code != "redirect-uri-unverifiable":
        return redirect
    return passed(
        redirect.name,
        "redirect-uri-accepted",
        f"the provider sent the test login back to {login.redirect_uri} (verified after login)",
        **redirect.details,
    )


def _preset(integration: Integration) -> tuple[ProbeResult, None, ProviderEndpoints]:
    from oidcsetup.discovery import from_preset

    provider = integration.provider
    try:
        result = from_preset(provider.preset or "", provider.issuer)
    except OidcSetupError as exc:
        return failed("discovery", "preset-invalid", exc.message, exc.hint), None, provider
    filled = replace(
        result.endpoints,
        **{
            f: getattr(provider, f)
            for f in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
            if getattr(provider, f)
        },
    )
    return (
        skipped(
            "discovery",
            "preset",
            f"not discovered: the endpoints are derived from preset {provider.preset!r}",
        ),
        None,
        filled,
    )


def _headless_login(
    target: Target,
    endpoint: Callable[[str], str | None],
    issuer: str | None,
    network: NetworkOptions,
    timeout: float,
    test_user: TestUser | None = None,
    client_settings: str = "the provider's client settings",
) -> tuple[LoginResult | None, LoginError | None]:
    authorization, token = endpoint("authorization_endpoint"), endpoint("token_endpoint")
    if not (issuer and authorization and token and target.redirect_uri):
        return None, LoginError(
            "the issuer, endpoints or redirect URI are unknown", code="login-not-possible"
        )
    try:
        result = run_login(
            LoginEndpoints(
                issuer, authorization, token, endpoint("userinfo_endpoint"), endpoint("jwks_uri")
            ),
            LoginSettings(
                client_id=target.client_id,
                secret=target.secret,
                auth_method=target.auth_method,
                scopes=target.scopes,
                userinfo_id=target.userinfo_id,
                allow_signup=target.allow_signup,
            ),
            network,
            mode="headless",
            redirect_uri=target.redirect_uri,
            timeout=timeout,
            test_user=test_user,
            client_settings=client_settings,
        )
    except LoginError as exc:
        return None, exc
    except OidcSetupError as exc:
        return None, LoginError(exc.message, exc.hint, code="login-failed")
    return result, None
