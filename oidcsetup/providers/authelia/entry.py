"""Build Authelia's ``identity_providers.oidc.clients`` entry from an Integration.

The values for Matomo follow what the Login OIDC plugin does on the wire
(../shared/reference/matomo-loginoidc.md) and Authelia's Matomo recipe
(docs/content/integration/openid-connect/clients/matomo/index.md, tested with 4.38.14):
a confidential client posting its secret in the form body (client_secret_post), no PKCE sent,
an unsigned userinfo response, response type ``code`` with the authorization_code grant only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oidcsetup.integration import Integration
from oidcsetup.providers.authelia.model import VersionModel, model_for


@dataclass(frozen=True)
class ClientEntry:
    """One client entry, keyed in the names of ``version`` and ordered as Authelia's docs."""

    version: str
    values: dict[str, Any] = field(default_factory=dict)
    # What could not be expressed in this version (reported as findings by validate_entry).
    notes: tuple[str, ...] = ()

    @property
    def client_id(self) -> str:
        model = model_for(self.version)
        return str(self.values.get(model.key_name("client_id"), ""))

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in self.values.items()}


def _duration_value(text: str) -> str | int:
    return int(text) if text.strip().isdigit() else text


def build_client_entry(
    integration: Integration,
    digest: str,
    redirect_uris: Sequence[str] | None = None,
    *,
    jwt_access_tokens: bool = False,
) -> ClientEntry:
    """The client entry for ``integration`` in its Authelia version, with ``digest`` as secret.

    ``redirect_uris`` defaults to the ones the app side computed (``integration.redirect_uris``).
    ``jwt_access_tokens``: the app decodes the access token as a JWT (RebelOIDC), so Authelia
    signs it (``access_token_signed_response_alg: RS256``, 4.38+; its default ``none`` issues
    opaque tokens, reference section 8); 4.37 cannot, which ``validate_entry`` reports.
    Nothing is validated here: call ``validate_entry`` on the result.
    """
    model = model_for(integration.authelia.version)
    if redirect_uris is None:
        redirect_uris = integration.redirect_uris
    client = integration.client
    options = integration.authelia
    canonical: dict[str, Any] = {
        "client_id": client.client_id,
        "client_name": client.display_name,
        "client_secret": digest,
        "public": False,
        "authorization_policy": options.authorization_policy,
    }
    if options.consent_mode:
        canonical["consent_mode"] = options.consent_mode
    if options.pre_configured_consent_duration:
        canonical["pre_configured_consent_duration"] = _duration_value(
            options.pre_configured_consent_duration
        )
    if model.version != "4.37":
        # Login OIDC sends no code_challenge, so PKCE must not be required. 4.37 has no
        # per-client PKCE keys (its global enforce_pkce defaults to public_clients_only).
        canonical["require_pkce"] = False
        if model.version != "4.38":
            # 4.38's JSON schema rejects pkce_challenge_method: '' (Authelia itself accepts it,
            # and '' is the default), so 4.38 entries leave the key out; 4.39 writes it as the
            # recipe does.
            canonical["pkce_challenge_method"] = ""
    canonical["redirect_uris"] = list(redirect_uris)
    canonical["scopes"] = list(client.scopes)
    canonical["response_types"] = ["code"]
    canonical["grant_types"] = ["authorization_code"]
    notes: list[str] = []
    if model.version != "4.37":
        # 4.37 access tokens are always opaque: no key for their signing algorithm.
        canonical["access_token_signed_response_alg"] = "RS256" if jwt_access_tokens else "none"
    elif jwt_access_tokens:
        notes.append("jwt-access-token")
    canonical["userinfo_signed_response_alg"] = "none"
    if model.auth_methods:
        canonical["token_endpoint_auth_method"] = client.auth_method
    else:
        notes.append(f"auth_method:{client.auth_method}")
    return ClientEntry(
        version=model.version,
        values=_rename(canonical, model),
        notes=tuple(notes),
    )


def _rename(canonical: dict[str, Any], model: VersionModel) -> dict[str, Any]:
    return {model.key_name(key): value for key, value in canonical.items()}
