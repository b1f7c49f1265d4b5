"""Our own model of an Authelia OpenID Connect client entry, per Authelia version.

Authelia's files cannot ship in this project, so this is a description written from
``internal/configuration/schema/identity_providers.go`` and
``internal/configuration/validator/{const,identity_providers}.go`` at v4.37.5, v4.38.19 and
v4.39.20. Tests cross-check it against the JSON Schemas Authelia publishes for 4.38 and 4.39.

Keys are modelled under their 4.38+ names ("canonical"); 4.37 spells five of them differently
(``id``, ``secret``, ``description``, ``sector_identifier``, ``userinfo_signing_algorithm``),
and 4.38+ still read those old names with a deprecation warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Kind = Literal["str", "bool", "list", "duration", "digest", "uris", "any"]

SUPPORTED_VERSIONS: tuple[str, ...] = ("4.37", "4.38", "4.39")
DEFAULT_VERSION = "4.39"

# canonical (4.38+) name -> the 4.37 name
RENAMED_IN_438: dict[str, str] = {
    "client_id": "id",
    "client_secret": "secret",
    "client_name": "description",
    "sector_identifier_uri": "sector_identifier",
    "userinfo_signed_response_alg": "userinfo_signing_algorithm",
}

RFC3986_UNRESERVED = r"^[a-zA-Z0-9._~-]+$"
CLIENT_ID_MAX_LENGTH = 100

_JWS_ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")
_JWS_HMAC = ("HS256", "HS384", "HS512")

# Durations: 4.38+ "1 week", "1w", "90 minutes 30s", or an integer of seconds
# (internal/utils ParseDurationString); 4.37 the shorter unit forms ("1w", "2d", "3h").
DURATION_438 = (
    r"^\d+\s*(y|M|w|d|h|m|s|ms|((year|month|week|day|hour|minute|second|millisecond)s?))"
    r"(\s*(\s+and\s+)?\d+\s*(y|M|w|d|h|m|s|ms|((year|month|week|day|hour|minute|second|"
    r"millisecond)s?)))*$"
)
DURATION_437 = r"^(\d+|([1-9]\d*\s*[a-zA-Z]+\s*)+)$"


@dataclass(frozen=True)
class KeySpec:
    kind: Kind
    allowed: frozenset[str] | None = None  # allowed values (of the string, or of each item)


@dataclass(frozen=True)
class VersionModel:
    version: str
    keys: MappingProxyType[str, KeySpec]  # canonical name -> spec, in Authelia's docs order
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    response_modes: tuple[str, ...]
    auth_methods: tuple[str, ...]
    consent_modes: tuple[str, ...]
    duration_pattern: str
    # 4.37: unknown scopes are errors; 4.38+: warnings
    unknown_scope_level: Literal["error", "warning"]
    # 4.37: only one_factor/two_factor; 4.38+: also named authorization_policies
    named_policies: bool
    # 4.38+: client_id charset and length are checked
    checks_client_id: bool
    legacy_names: bool  # True for 4.37: keys are written with their 4.37 names
    extra: dict[str, str] = field(default_factory=dict)

    def key_name(self, canonical: str) -> str:
        """The name this version writes ``canonical`` under."""
        if self.legacy_names:
            return RENAMED_IN_438.get(canonical, canonical)
        return canonical

    def canonical_name(self, key: str) -> str:
        if self.legacy_names:
            for canonical, old in RENAMED_IN_438.items():
                if key == old:
                    return canonical
        return key


def _spec(kind: Kind, allowed: tuple[str, ...] | None = None) -> KeySpec:
    return KeySpec(kind, frozenset(allowed) if allowed is not None else None)


def _model_437() -> VersionModel:
    scopes = ("openid", "email", "profile", "groups", "offline_access")
    grants = ("implicit", "refresh_token", "authorization_code", "password", "client_credentials")
    response_types = (
        "code",
        "id_token",
        "token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
    )
    response_modes = ("form_post", "query", "fragment")
    consent = ("auto", "implicit", "explicit", "pre-configured")
    keys = {
        "client_id": _spec("str"),
        "client_name": _spec("str"),
        "client_secret": _spec("digest"),
        "sector_identifier_uri": _spec("str"),
        "public": _spec("bool"),
        "authorization_policy": _spec("str", ("one_factor", "two_factor")),
        "consent_mode": _spec("str", consent),
        "pre_configured_consent_duration": _spec("duration"),
        "redirect_uris": _spec("uris"),
        "audience": _spec("list"),
        "scopes": _spec("list"),
        "grant_types": _spec("list", grants),
        "response_types": _spec("list", response_types),
        "response_modes": _spec("list", response_modes),
        "userinfo_signed_response_alg": _spec("str", ("none", "RS256")),
    }
    return VersionModel(
        version="4.37",
        keys=MappingProxyType(keys),
        scopes=scopes,
        grant_types=grants,
        response_types=response_types,
        response_modes=response_modes,
        auth_methods=(),
        consent_modes=consent,
        duration_pattern=DURATION_437,
        unknown_scope_level="error",
        named_policies=False,
        checks_client_id=False,
        legacy_names=True,
    )


def _model_438_439(version: str) -> VersionModel:
    v439 = version == "4.39"
    scopes = ["openid", "offline_access", "groups", "email", "profile", "authelia.bearer.authz"]
    if v439:
        scopes[4:4] = ["address", "phone"]
    grants = ["authorization_code", "implicit", "refresh_token", "client_credentials"]
    if v439:
        grants.append("urn:ietf:params:oauth:grant-type:device_code")
    response_types = (
        "code",
        "id_token token",
        "id_token",
        "token",
        "code token",
        "code id_token",
        "code id_token token",
    )
    response_modes = (
        "form_post",
        "form_post.jwt",
        "query",
        "query.jwt",
        "fragment",
        "fragment.jwt",
        "jwt",
    )
    auth_methods = (
        "none",
        "client_secret_post",
        "client_secret_basic",
        "private_key_jwt",
        "client_secret_jwt",
    )
    consent = ("auto", "explicit", "implicit", "pre-configured")
    # 4.39 also signs with HMAC algorithms (client_secret-keyed) and reads '' as "the default".
    sig = ("none", *_JWS_ASYMMETRIC) + ((*_JWS_HMAC, "") if v439 else ())
    id_sig = _JWS_ASYMMETRIC + ((*_JWS_HMAC, "") if v439 else ())
    keys: dict[str, KeySpec] = {
        "client_id": _spec("str"),
        "client_name": _spec("str"),
        "client_secret": _spec("digest"),
        "sector_identifier_uri": _spec("str"),
        "public": _spec("bool"),
        "authorization_policy": _spec("str"),
        "lifespan": _spec("str"),
        "consent_mode": _spec("str", consent),
        "pre_configured_consent_duration": _spec("duration"),
        "requested_audience_mode": _spec("str", ("explicit", "implicit")),
        "require_pushed_authorization_requests": _spec("bool"),
        "require_pkce": _spec("bool"),
        # Authelia accepts '' (no method) in both; only 4.39's JSON schema lists it.
        "pkce_challenge_method": _spec("str", ("", "plain", "S256")),
        "redirect_uris": _spec("uris"),
        "request_uris": _spec("uris"),
        "audience": _spec("list"),
        "scopes": _spec("list"),
        "grant_types": _spec("list", tuple(grants)),
        "response_types": _spec("list", response_types),
        "response_modes": _spec("list", response_modes),
        "authorization_signed_response_alg": _spec("str", sig),
        "id_token_signed_response_alg": _spec("str", id_sig),
        "access_token_signed_response_alg": _spec("str", sig),
        "userinfo_signed_response_alg": _spec("str", sig),
        "introspection_signed_response_alg": _spec("str", sig),
        "token_endpoint_auth_method": _spec("str", auth_methods + (("",) if v439 else ())),
        "token_endpoint_auth_signing_alg": _spec("str", _JWS_HMAC + _JWS_ASYMMETRIC),
        "allow_multiple_auth_methods": _spec("bool"),
        "jwks_uri": _spec("str"),
        "jwks": _spec("any"),
        "request_object_signing_alg": _spec("str"),
    }
    for name in (
        "authorization_signed_response_key_id",
        "id_token_signed_response_key_id",
        "access_token_signed_response_key_id",
        "userinfo_signed_response_key_id",
        "introspection_signed_response_key_id",
    ):
        keys[name] = _spec("str")
    if v439:
        keys["claims_policy"] = _spec("str")
        for prefix in ("revocation", "introspection", "pushed_authorization_request"):
            keys[f"{prefix}_endpoint_auth_method"] = _spec("str", ("", *auth_methods))
            keys[f"{prefix}_endpoint_auth_signing_alg"] = _spec("str")
        for prefix in ("authorization", "id_token", "access_token", "userinfo", "introspection"):
            for suffix in ("encrypted_response_alg", "encrypted_response_enc"):
                keys[f"{prefix}_{suffix}"] = _spec("str")
            keys[f"{prefix}_encrypted_response_key_id"] = _spec("str")
        for name in ("request_object_encryption_alg", "request_object_encryption_enc"):
            keys[name] = _spec("str")
    return VersionModel(
        version=version,
        keys=MappingProxyType(keys),
        scopes=tuple(scopes),
        grant_types=tuple(grants),
        response_types=response_types,
        response_modes=response_modes,
        auth_methods=auth_methods,
        consent_modes=consent,
        duration_pattern=DURATION_438,
        unknown_scope_level="warning",
        named_policies=True,
        checks_client_id=True,
        legacy_names=False,
    )


MODELS: MappingProxyType[str, VersionModel] = MappingProxyType(
    {"4.37": _model_437(), "4.38": _model_438_439("4.38"), "4.39": _model_438_439("4.39")}
)


def model_for(version: str) -> VersionModel:
    from oidcsetup.errors import InputError

    key = version.strip().lstrip("v")
    # "4.38.14" -> "4.38"
    parts = key.split(".")
    key = ".".join(parts[:2])
    if key not in MODELS:
        raise InputError(
            f"Authelia version {version!r} is not supported",
            hint="choose one of: " + ", ".join(SUPPORTED_VERSIONS),
        )
    return MODELS[key]
