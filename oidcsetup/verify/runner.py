"""``oidcsetup check``: every probe against the live provider and Matomo's settings, in order,
side by side where they can be, into one :class:`CheckReport`.

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

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from oidcsetup.apps.matomo.plugins import plugin_named
from oidcsetup.errors import ExitCode, OidcSetupError
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration, ProviderEndpoints
from oidcsetup.verify.expected import MatomoCurrent, Target, target_from, target_from_matomo
from oidcsetup.verify.login import LoginEndpoints, LoginResult, LoginSettings, run_login
from oidcsetup.verify.oauth import LoginError, http_client
from oidcsetup.verify.parallel import concurrent
from oidcsetup.verify.probes.claims import probe_claims, probe_scopes, probe_userinfo
from oidcsetup.verify.probes.client_auth import (
    credentials_withheld,
    probe_client_auth,
    reconcile_client_auth,
)
from oidcsetup.verify.probes.discovery import (
    ENDPOINT_KEYS,
    probe_discovery,
    probe_endpoints,
    with_jwks,
)
from oidcsetup.verify.probes.matomo import (
    probe_matomo_redirect,
    probe_matomo_settings,
    probe_matomo_state,
)
from oidcsetup.verify.probes.redirect import confirm_redirect, probe_redirect_uri
from oidcsetup.verify.probes.tokens import probe_access_token
from oidcsetup.verify.result import ProbeResult, failed, skipped

if TYPE_CHECKING:
    from oidcsetup.verify.browser import TestUser


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
        token_probe = probe_access_token(
            plugin_named(integration.matomo.plugin),
            integration,
            login_result,
            login_error if login else None,
            family,
        )
        if token_probe is not None:
            results.append(token_probe)
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
