"""ProviderMetadata: the discovery document, typed.

Field kinds follow OpenID Connect Discovery 1.0 section 3, RFC 8414 section 2, RP-Initiated
Logout 1.0, Front-/Back-Channel Logout 1.0, Session Management 1.0, RFC 9126 (PAR) and RFC 8628
(device flow). ``validate.py`` checks every known field against ``FIELD_KINDS``;
``ProviderMetadata.from_document`` keeps only well-typed values, so it never fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oidcsetup.integration import ProviderEndpoints

# Endpoints a client calls: absolute, no fragment, https unless on a loopback host.
ENDPOINT_FIELDS: tuple[str, ...] = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "end_session_endpoint",
    "check_session_iframe",
    "revocation_endpoint",
    "introspection_endpoint",
    "pushed_authorization_request_endpoint",
    "device_authorization_endpoint",
    "backchannel_authentication_endpoint",
)
# Human-readable pages: absolute URLs, but only a warning when not https.
PAGE_FIELDS: tuple[str, ...] = ("service_documentation", "op_policy_uri", "op_tos_uri")

LIST_FIELDS: tuple[str, ...] = (
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "acr_values_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported",
    "userinfo_signing_alg_values_supported",
    "userinfo_encryption_alg_values_supported",
    "userinfo_encryption_enc_values_supported",
    "request_object_signing_alg_values_supported",
    "request_object_encryption_alg_values_supported",
    "request_object_encryption_enc_values_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "display_values_supported",
    "claim_types_supported",
    "claims_supported",
    "claims_locales_supported",
    "ui_locales_supported",
    "revocation_endpoint_auth_methods_supported",
    "revocation_endpoint_auth_signing_alg_values_supported",
    "introspection_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_signing_alg_values_supported",
    "code_challenge_methods_supported",
    "authorization_signing_alg_values_supported",
    "dpop_signing_alg_values_supported",
)
BOOL_FIELDS: tuple[str, ...] = (
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "require_request_uri_registration",
    "frontchannel_logout_supported",
    "frontchannel_logout_session_supported",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
    "require_pushed_authorization_requests",
    "authorization_response_iss_parameter_supported",
    "tls_client_certificate_bound_access_tokens",
)
STRING_FIELDS: tuple[str, ...] = ("signed_metadata",)
OBJECT_FIELDS: tuple[str, ...] = ("mtls_endpoint_aliases",)

FIELD_KINDS: dict[str, str] = {
    **{name: "url" for name in ENDPOINT_FIELDS},
    **{name: "page" for name in PAGE_FIELDS},
    **{name: "list" for name in LIST_FIELDS},
    **{name: "bool" for name in BOOL_FIELDS},
    **{name: "string" for name in STRING_FIELDS},
    **{name: "object" for name in OBJECT_FIELDS},
}


def well_typed(kind: str, value: Any) -> bool:
    if kind in ("url", "page", "string"):
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    return False


@dataclass(frozen=True)
class ProviderMetadata:
    """The fields oidcsetup uses, typed; everything else stays in ``raw``."""

    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    pushed_authorization_request_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    response_modes_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    subject_types_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    userinfo_signing_alg_values_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    claims_supported: tuple[str, ...] = ()
    require_pushed_authorization_requests: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: Any) -> ProviderMetadata:
        """Keep the well-typed known fields of a parsed document; never raises."""
        if not isinstance(document, dict):
            return cls()
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name == "raw" or name not in document:
                continue
            value = document[name]
            kind = FIELD_KINDS.get(name, "")
            if not well_typed(kind, value):
                continue
            values[name] = tuple(value) if kind == "list" else value
        return cls(**values, raw=dict(document))

    def to_endpoints(self, source: str = "discovered") -> ProviderEndpoints:
        return ProviderEndpoints(
            issuer=self.issuer,
            authorization_endpoint=self.authorization_endpoint,
            token_endpoint=self.token_endpoint,
            userinfo_endpoint=self.userinfo_endpoint,
            end_session_endpoint=self.end_session_endpoint,
            jwks_uri=self.jwks_uri,
            scopes_supported=self.scopes_supported,
            token_endpoint_auth_methods_supported=self.token_endpoint_auth_methods_supported,
            code_challenge_methods_supported=self.code_challenge_methods_supported,
            source=source,
        )
