"""What Login OIDC needs registered, and how what a provider granted differs from it.

RFC 7591 section 2 defaults (used when the provider's answer leaves a field out):
token_endpoint_auth_method ``client_secret_basic``, grant_types ``[authorization_code]``,
response_types ``[code]``. OpenID Connect Dynamic Client Registration 1.0 section 2: without
``userinfo_signed_response_alg`` userinfo answers plain JSON, the only form Login OIDC reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oidcsetup.integration import Integration

# Login OIDC posts the secret in the token request's body and runs the code flow only.
AUTH_METHOD = "client_secret_post"
GRANT_TYPES = ("authorization_code",)
RESPONSE_TYPES = ("code",)
DEFAULT_CLIENT_NAME = "Matomo"  # the client_id is the provider's choice: not a name
RFC7591_DEFAULTS: dict[str, Any] = {
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["authorization_code"],
    "response_types": ["code"],
}


def requested_metadata(integration: Integration, redirect_uris: Sequence[str]) -> dict[str, Any]:
    """The client metadata to register: exactly what Login OIDC needs, nothing more."""
    client = integration.client
    return {
        "redirect_uris": list(redirect_uris),
        "token_endpoint_auth_method": AUTH_METHOD,
        "grant_types": list(GRANT_TYPES),
        "response_types": list(RESPONSE_TYPES),
        "scope": " ".join(client.scopes),
        "client_name": client.client_name or DEFAULT_CLIENT_NAME,
    }


@dataclass(frozen=True)
class Difference:
    """One field where the provider's registration differs from what was asked."""

    field: str
    asked: Any
    granted: Any
    breaks_matomo: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "asked": self.asked,
            "granted": self.granted,
            "breaks_matomo": self.breaks_matomo,
            "message": self.message,
        }


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def compare(asked: Mapping[str, Any], granted: Mapping[str, Any]) -> list[Difference]:
    """Every difference between ``asked`` and ``granted``; ``breaks_matomo`` marks those with
    which Login OIDC's login fails (the rest is drift worth reporting, not fatal)."""
    found: list[Difference] = []

    def get(name: str) -> Any:
        value = granted.get(name)
        return RFC7591_DEFAULTS.get(name) if value is None else value

    uris_asked = _strings(asked["redirect_uris"])
    uris_granted = _strings(get("redirect_uris"))
    dropped = [u for u in uris_asked if u not in uris_granted]
    extra = [u for u in uris_granted if u not in uris_asked]
    if dropped:
        found.append(
            Difference(
                "redirect_uris",
                uris_asked,
                uris_granted,
                True,
                f"the provider does not have the redirect URI {dropped[0]}: it will refuse "
                "Matomo's login request",
            )
        )
    elif extra:
        found.append(
            Difference(
                "redirect_uris",
                uris_asked,
                uris_granted,
                False,
                "the provider also accepts " + ", ".join(extra),
            )
        )
    method = get("token_endpoint_auth_method")
    # Glewlwyd 2.7.5 reads the method back (RFC 7592) as a one-element array: its client keeps
    # it as a multi-valued property and the read copies the client as stored (upstream
    # src/plugin/protocol_oidc.c, convert_client_glewlwyd_to_registration).
    if isinstance(method, list) and len(method) == 1:
        method = method[0]
    if method != asked["token_endpoint_auth_method"]:
        found.append(
            Difference(
                "token_endpoint_auth_method",
                asked["token_endpoint_auth_method"],
                method,
                True,
                f"the provider registered the client for {method}, but Login OIDC sends "
                f"{asked['token_endpoint_auth_method']}: a provider enforcing the registered "
                "method (Authelia 4.38+) answers the token request with invalid_client",
            )
        )
    for name, what in (("grant_types", "grant type"), ("response_types", "response type")):
        want, got = _strings(asked[name]), _strings(get(name))
        missing = [v for v in want if v not in got]
        if missing or sorted(got) != sorted(want):
            found.append(
                Difference(
                    name,
                    want,
                    got,
                    bool(missing),
                    f"the provider lacks the {what} {missing[0]} Login OIDC uses"
                    if missing
                    else f"the provider also allows {what}s "
                    + ", ".join(v for v in got if v not in want),
                )
            )
    signed = granted.get("userinfo_signed_response_alg")
    if signed not in (None, "", "none"):
        found.append(
            Difference(
                "userinfo_signed_response_alg",
                None,
                signed,
                True,
                f"the provider signs userinfo ({signed}): Login OIDC reads plain JSON only",
            )
        )
    if "scope" in granted:
        want, got = _strings(asked["scope"]), _strings(granted.get("scope"))
        missing = [v for v in want if v not in got]
        if missing or sorted(got) != sorted(want):
            found.append(
                Difference(
                    "scope",
                    " ".join(want),
                    " ".join(got),
                    bool(missing),
                    f"the provider does not grant the scope {missing[0]}"
                    if missing
                    else "the provider also grants " + " ".join(v for v in got if v not in want),
                )
            )
    granted_name = granted.get("client_name")
    if granted_name is not None and granted_name != asked["client_name"]:
        found.append(
            Difference(
                "client_name",
                asked["client_name"],
                granted_name,
                False,
                f"the client is named {granted_name!r}, not {asked['client_name']!r}",
            )
        )
    return found
