"""Dex's ``staticClients`` entry for Matomo's Login OIDC.

Facts from dexidp/dex (read at ab64ed7, 2026-08; storage/storage.go ``Client``,
server/discovery/discovery.go, server/authflow/request.go):

- fields ``id``, ``name``, ``redirectURIs``, ``secret`` or ``secretEnv`` (the secret read from
  Dex's environment: we never write a plaintext one), ``postLogoutRedirectURIs`` (only in Dex
  releases with RP-initiated logout, 2026-04 on: written only when asked);
- the token endpoint takes ``client_secret_basic`` and ``client_secret_post``;
- redirect URIs are compared exactly (``redirectURI == uri``), query included;
- PKCE is only demanded when the server-wide ``oauth2.pkce.enforce`` is true (Login OIDC sends
  none); userinfo answers plain JSON;
- scopes: ``openid`` is required ("Missing required scope(s) ["openid"]."), and only openid,
  offline_access, email, profile, groups, federated:id (and cross-client scopes) are known:
  any other is "Unrecognized scope(s)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oidcsetup.integration import Integration

DEX_SCOPES = ("openid", "offline_access", "email", "profile", "groups", "federated:id")


@dataclass(frozen=True)
class DexClient:
    entry: dict[str, Any]
    scopes: tuple[str, ...]

    @property
    def client_id(self) -> str:
        return str(self.entry["id"])


def default_secret_env(client_id: str) -> str:
    name = "".join(ch if ch.isalnum() else "_" for ch in client_id.upper())
    return f"{name}_CLIENT_SECRET"


def build_client(
    integration: Integration,
    redirect_uris: Sequence[str],
    secret_env: str,
    post_logout_redirect_uris: Sequence[str] = (),
) -> DexClient:
    client = integration.client
    entry: dict[str, Any] = {
        "id": client.client_id,
        "name": client.display_name,
        "redirectURIs": list(redirect_uris),
        "secretEnv": secret_env,
    }
    if post_logout_redirect_uris:
        entry["postLogoutRedirectURIs"] = list(post_logout_redirect_uris)
    return DexClient(entry=entry, scopes=tuple(client.scopes))
