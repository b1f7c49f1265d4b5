"""Known providers' endpoint layouts and quirks, for when discovery is absent or unreachable.

Endpoints derived here are NOT discovered: they are the provider's documented layout applied to
the issuer, marked ``source = "preset:<name>"`` and reported with a ``not-discovered`` warning.
``oidcsetup check`` probes them against the live provider.

Templates use ``{issuer}`` (the issuer without a trailing slash) and ``{origin}``
(scheme://host[:port]). Layouts, from each project's documentation:

- authelia: ``/api/oidc/{authorization,token,userinfo}``, ``/jwks.json``, no end-session
  endpoint (shared/reference/authelia.md, from internal/oidc/const.go).
- unikname: Unikname Connect runs Apereo CAS under ``/oidc``; its docs list the discovery
  document https://connect.unikname.com/oidc/.well-known/openid-configuration and the endpoints
  ``/oidc/authorize``, ``/oidc/accessToken``, ``/oidc/profile``; CAS serves ``/oidc/jwks`` and
  ends sessions at ``/oidc/oidcLogout`` (CAS OidcConstants.LOGOUT_URL).
- keycloak: ``<issuer>/protocol/openid-connect/{auth,token,userinfo,logout,certs}``, issuer
  ``/realms/<realm>`` (``/auth/realms/<realm>`` before Keycloak 17).
- authentik: one issuer per application, ``/application/o/<slug>/`` (trailing slash); shared
  ``/application/o/{authorize,token,userinfo}/``, per-application ``end-session/`` and ``jwks/``.
- kanidm: one issuer per client, ``/oauth2/openid/<client_id>``; ``/ui/oauth2``,
  ``/oauth2/token``, ``<issuer>/userinfo``, ``<issuer>/public_key.jwk``.
- lemonldap: LemonLDAP::NG's portal is the issuer (with its trailing slash); ``/oauth2/{authorize,
  token,userinfo,logout,jwks}`` under the portal's origin (observed on 2.16, see docs/providers.md).
- glewlwyd: one issuer per OIDC plugin instance, ``<origin>/api/<plugin>``; ``{issuer}/{auth,token,
  userinfo,jwks}``, no end-session endpoint (observed on 2.7.5).
- django-oidc-provider: the issuer is SITE_URL plus the app's mount point (usually ``/openid``);
  ``{issuer}/{authorize,token,userinfo,end-session,jwks}`` (observed on 0.9).
- generic: the most common paths under the issuer; a guess, to be checked.

Quirks (``Preset.quirks``) are behaviours ``oidcsetup check`` must read differently from the RFCs;
each was observed on the real provider by tests/test_real_providers.py.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from oidcsetup.discovery.validate import (
    AUTHENTIK_RE,
    KANIDM_RE,
    KEYCLOAK_RE,
    endpoint_findings,
)
from oidcsetup.errors import UsageError
from oidcsetup.findings import Finding, Level
from oidcsetup.integration import ProviderEndpoints


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    authorization: str
    token: str
    userinfo: str
    end_session: str | None
    jwks: str | None
    issuer_example: str
    issuer_path: re.Pattern[str] | None = None  # the issuer path this provider uses
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    auth_methods: tuple[str, ...] = ()
    pkce: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # Observed deviations the probes account for (QUIRK_* below).
    quirks: frozenset[str] = frozenset()
    # Where an administrator registers the client (named in hints).
    client_settings: str = "the provider's client settings"

    def endpoints(self, issuer: str) -> ProviderEndpoints:
        base, origin = _issuer_parts(issuer)

        def fill(template: str | None) -> str | None:
            return template.format(issuer=base, origin=origin) if template else None

        return ProviderEndpoints(
            issuer=issuer,
            authorization_endpoint=fill(self.authorization),
            token_endpoint=fill(self.token),
            userinfo_endpoint=fill(self.userinfo),
            end_session_endpoint=fill(self.end_session),
            jwks_uri=fill(self.jwks),
            scopes_supported=self.scopes,
            token_endpoint_auth_methods_supported=self.auth_methods,
            code_challenge_methods_supported=self.pkce,
            source=f"preset:{self.name}",
            preset=self.name,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "issuer_example": self.issuer_example,
            "notes": list(self.notes),
        }


def _issuer_parts(issuer: str) -> tuple[str, str]:
    parts = urlsplit(issuer)
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return issuer.rstrip("/"), origin


# The token endpoint answers a made-up code with good credentials with this error, not
# invalid_grant (Glewlwyd 2.7.5: 403 invalid_code).
QUIRK_BOGUS_CODE_INVALID_CODE = "bogus-code-invalid-code"
# Bad credentials, an unknown client and a refused auth method all get unauthorized_client, not
# invalid_client (Glewlwyd 2.7.5, HTTP 403).
QUIRK_BAD_CLIENT_UNAUTHORIZED = "bad-client-unauthorized-client"
# The token endpoint answers a redirect_uri mismatch with the error it uses for bad credentials
# (django-oidc-provider 0.9: invalid_client; Glewlwyd 2.7.5: unauthorized_client).
QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR = "token-redirect-mismatch-as-client-error"
# Before login, the authorization endpoint shows the same login form whatever the client_id and
# redirect_uri; it checks them only after login (LemonLDAP::NG 2.16).
QUIRK_REDIRECT_CHECKED_AFTER_LOGIN = "redirect-uri-checked-after-login"
# Error pages come back with HTTP 200 (django-oidc-provider 0.9: "Redirect URI Error").
QUIRK_ERROR_PAGES_200 = "error-pages-http-200"
# Scopes outside scopes_supported are accepted silently (LemonLDAP::NG: the list is fixed,
# per-client scopes add claims).
QUIRK_SCOPES_NOT_ADVERTISED = "scopes-beyond-scopes-supported"

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="authelia",
            title="Authelia",
            authorization="{issuer}/api/oidc/authorization",
            token="{issuer}/api/oidc/token",
            userinfo="{issuer}/api/oidc/userinfo",
            end_session=None,
            jwks="{issuer}/jwks.json",
            issuer_example="https://auth.example.com",
            scopes=("openid", "offline_access", "profile", "email", "groups", "address", "phone"),
            auth_methods=(
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ),
            pkce=("S256", "plain"),
            client_settings="Authelia's configuration (oidcsetup gen authelia)",
            notes=(
                "Authelia 4.38+ defaults a client's token_endpoint_auth_method to "
                "client_secret_basic; Login OIDC needs client_secret_post "
                "(`oidcsetup gen authelia` sets it)",
                "Authelia has no end-session endpoint: leave Matomo's Logout URL empty",
            ),
        ),
        Preset(
            name="unikname",
            title="Unikname Connect (Apereo CAS)",
            authorization="{issuer}/authorize",
            token="{issuer}/accessToken",
            userinfo="{issuer}/profile",
            end_session="{issuer}/oidcLogout",
            jwks="{issuer}/jwks",
            issuer_example="https://connect.unikname.com/oidc",
            issuer_path=re.compile(r"/oidc/?$"),
            scopes=("openid", "profile", "email"),
            auth_methods=("client_secret_basic", "client_secret_post"),
            pkce=("S256", "plain"),
            client_settings="the Unikname Connect developer console",
            notes=(
                "Unikname Connect: the client id is your Unikname Connect account id and the "
                "client secret your API secret key",
                "Apereo CAS names the token endpoint /oidc/accessToken and the userinfo "
                "endpoint /oidc/profile",
            ),
        ),
        Preset(
            name="keycloak",
            title="Keycloak",
            authorization="{issuer}/protocol/openid-connect/auth",
            token="{issuer}/protocol/openid-connect/token",
            userinfo="{issuer}/protocol/openid-connect/userinfo",
            end_session="{issuer}/protocol/openid-connect/logout",
            jwks="{issuer}/protocol/openid-connect/certs",
            issuer_example="https://keycloak.example.com/realms/myrealm",
            issuer_path=KEYCLOAK_RE,
            auth_methods=(
                "private_key_jwt",
                "client_secret_basic",
                "client_secret_post",
                "tls_client_auth",
                "client_secret_jwt",
            ),
            pkce=("plain", "S256"),
            client_settings="the Keycloak admin console (Clients)",
            notes=(
                "Keycloak's issuer is per realm: /realms/<realm>, or /auth/realms/<realm> before "
                "Keycloak 17 (or with --http-relative-path=/auth)",
            ),
        ),
        Preset(
            name="authentik",
            title="authentik",
            authorization="{origin}/application/o/authorize/",
            token="{origin}/application/o/token/",
            userinfo="{origin}/application/o/userinfo/",
            end_session="{issuer}/end-session/",
            jwks="{issuer}/jwks/",
            issuer_example="https://authentik.example.com/application/o/matomo/",
            issuer_path=AUTHENTIK_RE,
            auth_methods=("client_secret_post", "client_secret_basic"),
            pkce=("plain", "S256"),
            client_settings="authentik's admin interface (Applications > Providers)",
            notes=(
                "authentik's issuer is per application, /application/o/<slug>/, and ends with a "
                "slash (unless the provider's issuer mode is 'global')",
            ),
        ),
        Preset(
            name="kanidm",
            title="Kanidm",
            authorization="{origin}/ui/oauth2",
            token="{origin}/oauth2/token",
            userinfo="{issuer}/userinfo",
            end_session=None,
            jwks="{issuer}/public_key.jwk",
            issuer_example="https://idm.example.com/oauth2/openid/matomo",
            issuer_path=KANIDM_RE,
            auth_methods=("client_secret_basic", "client_secret_post"),
            pkce=("S256",),
            client_settings="kanidm's CLI (kanidm system oauth2)",
            notes=(
                "Kanidm's issuer is per client: /oauth2/openid/<client_id>",
                "Kanidm requires PKCE, which Login OIDC does not send: disable it for this "
                "client (kanidm system oauth2 warning-insecure-client-disable-pkce <client>)",
            ),
        ),
        Preset(
            name="lemonldap",
            title="LemonLDAP::NG",
            authorization="{origin}/oauth2/authorize",
            token="{origin}/oauth2/token",
            userinfo="{origin}/oauth2/userinfo",
            end_session="{origin}/oauth2/logout",
            jwks="{origin}/oauth2/jwks",
            issuer_example="https://auth.example.com/",
            scopes=("openid", "profile", "email", "address", "phone"),
            auth_methods=("client_secret_post", "client_secret_basic"),
            pkce=("plain", "S256"),
            notes=(
                "LemonLDAP::NG's issuer is the portal URL with its trailing slash",
                "LemonLDAP::NG checks the client_id and redirect_uri only after the user logs "
                "in: `oidcsetup check` cannot verify the redirect URI before login (use "
                "`check --login` with a test user)",
                "claims come from the relying party's exported attributes "
                "(oidcRPMetaDataExportedVars): export email for Matomo's signup",
                "userinfo must stay unsigned for Login OIDC (Options > Security > UserInfo "
                "signature algorithm: empty)",
            ),
            quirks=frozenset({QUIRK_REDIRECT_CHECKED_AFTER_LOGIN, QUIRK_SCOPES_NOT_ADVERTISED}),
            client_settings="the LemonLDAP::NG manager (OpenID Connect Relying Parties)",
        ),
        Preset(
            name="glewlwyd",
            title="Glewlwyd",
            authorization="{issuer}/auth",
            token="{issuer}/token",
            userinfo="{issuer}/userinfo",
            end_session=None,
            jwks="{issuer}/jwks",
            issuer_example="https://glewlwyd.example.com/api/oidc",
            issuer_path=re.compile(r"/api/[^/]+/?$"),
            scopes=("openid",),
            auth_methods=("client_secret_basic", "client_secret_post"),
            pkce=("S256",),
            notes=(
                "Glewlwyd's issuer is per OIDC plugin instance: <origin>/api/<plugin name>",
                "Glewlwyd answers bad client credentials with 403 unauthorized_client and a "
                "made-up code with 403 invalid_code",
                "Glewlwyd has no end-session endpoint: leave Matomo's Logout URL empty",
                "the client needs token_endpoint_auth_method client_secret_post (Login OIDC "
                "posts the secret) and scopes openid and email",
            ),
            quirks=frozenset(
                {
                    QUIRK_BOGUS_CODE_INVALID_CODE,
                    QUIRK_BAD_CLIENT_UNAUTHORIZED,
                    QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR,
                }
            ),
            client_settings="Glewlwyd's administration (Clients), or with `oidcsetup apply glewlwyd`",
        ),
        Preset(
            name="django-oidc-provider",
            title="django-oidc-provider",
            authorization="{issuer}/authorize",
            token="{issuer}/token",
            userinfo="{issuer}/userinfo",
            end_session="{issuer}/end-session",
            jwks="{issuer}/jwks",
            issuer_example="https://sso.example.com/openid",
            scopes=(),
            auth_methods=("client_secret_post", "client_secret_basic"),
            pkce=("S256", "plain"),
            notes=(
                "django-oidc-provider lists no scopes_supported: the client's scopes are set "
                "in the Django admin (Clients > Scopes)",
                "django-oidc-provider shows its error pages with HTTP 200 and answers a "
                "redirect URI mismatch at the token endpoint with invalid_client",
            ),
            quirks=frozenset({QUIRK_ERROR_PAGES_200, QUIRK_TOKEN_REDIRECT_AS_CLIENT_ERROR}),
            client_settings="the Django admin (OpenID Connect Provider > Clients)",
        ),
        Preset(
            name="generic",
            title="Generic OpenID provider (guessed paths)",
            authorization="{issuer}/authorize",
            token="{issuer}/token",
            userinfo="{issuer}/userinfo",
            end_session=None,
            jwks=None,
            issuer_example="https://auth.example.com",
            notes=(
                "the generic preset guesses /authorize, /token and /userinfo under the issuer; "
                "check them in the provider's documentation, or give them with "
                "--authorization-endpoint, --token-endpoint and --userinfo-endpoint",
            ),
        ),
    )
}
ALIASES = {
    "cas": "unikname",
    "apereo-cas": "unikname",
    "unikname-connect": "unikname",
    "lemonldap-ng": "lemonldap",
    "llng": "lemonldap",
    "django": "django-oidc-provider",
}


def get_preset(name: str) -> Preset:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, [*PRESETS, *ALIASES], n=1)
    raise UsageError(
        f"unknown preset {name!r}",
        hint=(f"did you mean {close[0]!r}? " if close else "")
        + "known presets: "
        + ", ".join(PRESETS),
    )


def not_discovered(source: str) -> Finding:
    return Finding(
        Level.WARNING,
        "not-discovered",
        f"endpoints come from {source}, not from the provider's discovery document: "
        "nothing was verified against the provider",
        "run `oidcsetup check` to probe them, or discover them when the provider publishes "
        "its metadata",
    )


def preset_endpoints(name: str, issuer: str) -> tuple[ProviderEndpoints, list[Finding]]:
    """Endpoints of preset ``name`` for ``issuer``, with the preset's notes and issuer checks."""
    preset = get_preset(name)
    endpoints = preset.endpoints(issuer)
    findings = [not_discovered(f"the {preset.name} preset")]
    path = urlsplit(issuer).path
    if preset.issuer_path is not None and not preset.issuer_path.search(path):
        findings.append(
            Finding(
                Level.WARNING,
                "preset-issuer-shape",
                f"{issuer!r} does not look like a {preset.title} issuer "
                f"(e.g. {preset.issuer_example})",
                "check the issuer: the endpoints derived from it are probably wrong",
            )
        )
    findings.extend(Finding(Level.INFO, "preset-note", note, None) for note in preset.notes)
    for field_name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        value = getattr(endpoints, field_name)
        if value:
            findings.extend(endpoint_findings(field_name, value))
    return endpoints, findings


def manual_endpoints(
    base: ProviderEndpoints,
    *,
    authorization: str | None = None,
    token: str | None = None,
    userinfo: str | None = None,
    end_session: str | None = None,
) -> tuple[ProviderEndpoints, list[Finding]]:
    """``base`` with the endpoints given by hand on top, each checked like a discovered one."""
    given = {
        "authorization_endpoint": authorization,
        "token_endpoint": token,
        "userinfo_endpoint": userinfo,
        "end_session_endpoint": end_session,
    }
    findings: list[Finding] = []
    changes: dict[str, Any] = {}
    for field_name, value in given.items():
        if value is None:
            continue
        changes[field_name] = value
        findings.extend(endpoint_findings(field_name, value))
    endpoints = replace(base, **changes, source="manual") if changes else base
    if changes:
        findings.insert(0, not_discovered("the command line"))
    return endpoints, findings


def detect_provider(issuer: str | None, document: Any) -> Preset | None:
    """Which known provider served this document, from its URL layout (None: unknown)."""
    if not isinstance(issuer, str) or not isinstance(document, dict):
        return None
    try:
        path = urlsplit(issuer).path
        host = (urlsplit(issuer).hostname or "").lower()
    except ValueError:
        return None
    authorization = document.get("authorization_endpoint")
    token = document.get("token_endpoint")
    if isinstance(authorization, str) and authorization.endswith("/api/oidc/authorization"):
        return PRESETS["authelia"]
    if KEYCLOAK_RE.match(path) and isinstance(token, str) and "/protocol/openid-connect/" in token:
        return PRESETS["keycloak"]
    if AUTHENTIK_RE.match(path):
        return PRESETS["authentik"]
    if KANIDM_RE.match(path):
        return PRESETS["kanidm"]
    if isinstance(token, str) and token.endswith("/oidc/accessToken"):
        return PRESETS["unikname"] if "unikname" in host else _CAS
    base = issuer.rstrip("/")
    acr = document.get("acr_values_supported")
    if (
        isinstance(authorization, str)
        and authorization.endswith("/oauth2/authorize")
        and isinstance(acr, list)
        and "loa-1" in acr  # LemonLDAP::NG's authentication levels
    ):
        return PRESETS["lemonldap"]
    if re.search(r"/api/[^/]+$", path.rstrip("/")) and authorization == base + "/auth":
        return PRESETS["glewlwyd"]
    if (
        authorization == base + "/authorize"
        and document.get("end_session_endpoint") == base + "/end-session"
        and document.get("introspection_endpoint") == base + "/introspect"
    ):
        return PRESETS["django-oidc-provider"]
    return None


def client_settings_of(preset_name: str | None) -> str:
    """Where the client is registered, for hints: the provider's own tool when known."""
    preset = PRESETS.get(preset_name or "")
    return preset.client_settings if preset else "the provider's client settings"


def quirks_of(preset_name: str | None) -> frozenset[str]:
    preset = PRESETS.get(preset_name or "")
    return preset.quirks if preset else frozenset()


_CAS = replace(
    PRESETS["unikname"],
    name="unikname",
    title="Apereo CAS",
    notes=PRESETS["unikname"].notes[1:],
)
