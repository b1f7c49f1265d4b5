"""The Integration: one value, built once per command, that every artefact is a function of.

Built from the profile (``oidcsetup.toml``), then command-line flags and ``OIDCSETUP_*``
environment variables on top (flags and env both win over the profile; click gives a flag
precedence over its env var). Both sides (provider and app) read only this value, so they
cannot disagree on client_id, redirect URI, scopes, auth method or secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from oidcsetup.urls import refuse_credentials

DEFAULT_SCOPES: tuple[str, ...] = ("openid", "email")
# Login OIDC posts client_id and client_secret in the token request's form body.
MATOMO_AUTH_METHOD = "client_secret_post"


@dataclass(frozen=True)
class ProviderEndpoints:
    """The provider's endpoints and capabilities, from discovery, a preset, flags or the profile."""

    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    jwks_uri: str | None = None
    scopes_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    # Where the endpoints came from: "discovered", "preset:<name>", "manual" or "profile".
    source: str = "profile"
    preset: str | None = None

    @property
    def has_endpoints(self) -> bool:
        return bool(self.authorization_endpoint and self.token_endpoint and self.userinfo_endpoint)


@dataclass(frozen=True)
class ClientRegistration:
    """The client as registered at the provider and configured in the app."""

    client_id: str = "matomo"
    client_name: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    auth_method: str = MATOMO_AUTH_METHOD
    # A reference to the plaintext secret: "env:NAME" or "file:PATH" (or, discouraged, the
    # plaintext itself). Resolved only by the commands that need the secret (secretref.py).
    secret: str | None = None

    @property
    def display_name(self) -> str:
        return self.client_name or self.client_id


@dataclass(frozen=True)
class MatomoApp:
    """Matomo's login plugin side. ``None`` for a behaviour flag means: the plugin's default.

    ``plugin`` is "loginoidc" or "rebeloidc" (``apps/matomo/plugins.py``); None: not said, which
    a command with a target resolves by detecting the active plugin, Login OIDC otherwise.
    The fields after ``allowed_signup_domains`` are RebelOIDC's own settings.
    """

    url: str | None = None
    plugin: str | None = None
    userinfo_id: str = "sub"
    button_name: str | None = None
    redirect_uri_override: str | None = None
    allow_signup: bool | None = None
    auto_linking: bool | None = None
    bypass_two_fa: bool | None = None
    disable_superuser: bool | None = None
    disable_direct_login_url: bool | None = None
    disable_password_confirmation: bool | None = None
    allowed_signup_domains: tuple[str, ...] = ()
    username_attribute: str | None = None
    fallback_to_email: bool | None = None
    initial_id_site: str | None = None
    allowed_role: str | None = None
    fine_grained_permissions: bool | None = None


@dataclass(frozen=True)
class AutheliaOptions:
    """Provider-side options only Authelia's client entry has."""

    version: str = "4.39"
    authorization_policy: str = "two_factor"
    consent_mode: str | None = None
    pre_configured_consent_duration: str | None = None


@dataclass(frozen=True)
class Integration:
    provider: ProviderEndpoints = field(default_factory=ProviderEndpoints)
    client: ClientRegistration = field(default_factory=ClientRegistration)
    matomo: MatomoApp = field(default_factory=MatomoApp)
    authelia: AutheliaOptions = field(default_factory=AutheliaOptions)

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        """The redirect URI(s) the app side computes from its settings: the one value both
        sides share. A provider side reads them here, never from an app module (the app's rule
        is ``apps/matomo/redirect.redirect_uris``). UsageError when the app's URL is unknown.
        """
        from oidcsetup.apps.matomo.redirect import redirect_uris

        return redirect_uris(self.matomo)

    @property
    def jwt_access_tokens(self) -> bool:
        """The app side decodes the access token as a JWT (RebelOIDC), so the provider side must
        issue JWT access tokens (the app's plugin description, ``apps/matomo/plugins.py``)."""
        from oidcsetup.apps.matomo.plugins import plugin_named

        return plugin_named(self.matomo.plugin).requires_jwt_access_token

    @property
    def plugin_title(self) -> str:
        """The app's login plugin as users know it ("Login OIDC", "RebelOIDC"), for the text a
        provider side writes about the client (a description, a comment)."""
        from oidcsetup.apps.matomo.plugins import plugin_named

        return plugin_named(self.matomo.plugin).title


# Profile table -> (dataclass attribute on Integration, field name mapping profile key -> field).
# The profile's key names are the user-facing ones (README, "Profile format").
PROFILE_LAYOUT: dict[str, tuple[str, dict[str, str]]] = {
    "provider": (
        "provider",
        {f.name: f.name for f in fields(ProviderEndpoints)},
    ),
    "client": (
        "client",
        {
            "id": "client_id",
            "name": "client_name",
            "scopes": "scopes",
            "auth_method": "auth_method",
            "secret": "secret",
        },
    ),
    "app.matomo": ("matomo", {f.name: f.name for f in fields(MatomoApp)}),
    "provider.authelia": ("authelia", {f.name: f.name for f in fields(AutheliaOptions)}),
}


# Profile keys that describe one provider: stale once the issuer or preset changes.
PROVIDER_DERIVED_KEYS: tuple[str, ...] = (
    "provider.authorization_endpoint",
    "provider.token_endpoint",
    "provider.userinfo_endpoint",
    "provider.end_session_endpoint",
    "provider.jwks_uri",
    "provider.scopes_supported",
    "provider.token_endpoint_auth_methods_supported",
    "provider.code_challenge_methods_supported",
    "provider.source",
)


def drop_stale_endpoints(
    values: Mapping[str, Any], overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Leave out the profile's saved endpoints when the overrides name another provider.

    When ``--issuer`` or ``--preset`` (or their OIDCSETUP_* variables) differ from the profile's,
    the endpoints saved in the profile belong to the old provider; using them would point the app
    at the wrong one. Returns the values to use and the key that moved (None when nothing did).
    """

    def differs(key: str) -> bool:
        new, old = overrides.get(key), values.get(key)
        if new is None:
            return False
        if key == "provider.issuer" and isinstance(old, str):
            return str(new).rstrip("/") != old.rstrip("/")
        return bool(new != old)

    moved = next((k for k in ("provider.issuer", "provider.preset") if differs(k)), None)
    if moved is None or not any(k in values for k in PROVIDER_DERIVED_KEYS):
        return dict(values), None
    return {k: v for k, v in values.items() if k not in PROVIDER_DERIVED_KEYS}, moved


def build_integration(
    values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Integration:
    """Build an Integration from profile values and overrides, both keyed by dotted profile path.

    ``values`` is what ``profile.load_profile`` returns (``{"client.id": "matomo", ...}``);
    ``overrides`` comes from flags and environment; a ``None`` override means "not given".
    Types were checked when the profile was loaded; lists become tuples here.
    """
    merged: dict[str, Any] = dict(values or {})
    for key, value in (overrides or {}).items():
        if value is not None:
            merged[key] = value
    parts: dict[str, dict[str, Any]] = {"provider": {}, "client": {}, "matomo": {}, "authelia": {}}
    for dotted, value in merged.items():
        table, _, key = dotted.rpartition(".")
        attr, mapping = PROFILE_LAYOUT[table]
        parts[attr][mapping[key]] = tuple(value) if isinstance(value, list) else value
    integration = Integration()
    built = replace(
        integration,
        provider=replace(integration.provider, **parts["provider"]),
        client=replace(integration.client, **parts["client"]),
        matomo=replace(integration.matomo, **parts["matomo"]),
        authelia=replace(integration.authelia, **parts["authelia"]),
    )
    refuse_credentials(
        [(f"provider.{name}", getattr(built.provider, name)) for name in URL_FIELDS]
        + [
            ("the Matomo URL", built.matomo.url),
            ("redirectUriOverride", built.matomo.redirect_uri_override),
        ]
    )
    return built


# The provider's URLs: none may carry user:password@ (docs/security.md). The issuer is refused
# by discovery's check_issuer_syntax (a usage error), where every command reading it goes.
URL_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "jwks_uri",
)
