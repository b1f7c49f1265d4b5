"""The client JSON Glewlwyd's admin API takes (``POST /api/client/``) for Matomo.

Facts (Glewlwyd 2.7.5, Debian; ../shared/reference/real-providers.md): a confidential client
carries ``password`` (stored hashed, never read back) and ``client_secret`` (stored and read back
in clear). The secret a client presents is compared with ``client_secret`` when the client has
one, else with the ``password`` hash (upstream src/plugin.c,
``glewlwyd_callback_check_client_valid``): so ``client_secret`` decides, and drift in it shows;
``token_endpoint_auth_method`` lists the methods allowed per client (a Basic-only client that
posts its secret is refused): Login OIDC posts it, so ``client_secret_post``;
``authorization_type`` lists the grants; scopes must exist in Glewlwyd. Never imports an app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oidcsetup.findings import Finding, Level
from oidcsetup.integration import Integration

SECRET_KEYS = ("password", "client_secret")
# Sent on every write but never answered by GET /api/client/{id}: cannot be compared.
WRITE_ONLY_KEYS = ("password",)


def build_client(
    integration: Integration, redirect_uris: Sequence[str], secret: str
) -> dict[str, Any]:
    client = integration.client
    return {
        "client_id": client.client_id,
        "name": client.display_name,
        "description": f"Matomo ({integration.plugin_title}), written by oidcsetup",
        "confidential": True,
        "password": secret,
        "client_secret": secret,
        "redirect_uri": list(redirect_uris),
        "authorization_type": ["code"],
        "token_endpoint_auth_method": ["client_secret_post"],
        "scope": list(client.scopes),
        "enabled": True,
    }


def shown(client: dict[str, Any], show_secrets: bool) -> dict[str, Any]:
    if show_secrets:
        return client
    return {k: ("********" if k in SECRET_KEYS else v) for k, v in client.items()}


def validate_client(client: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    if not client["client_id"].strip():
        findings.append(
            Finding(Level.ERROR, "glewlwyd-client-id", "the client id is empty", "pass --client-id")
        )
    if not client["redirect_uri"]:
        findings.append(
            Finding(Level.ERROR, "glewlwyd-no-redirect-uri", "no redirect URI", "pass --matomo-url")
        )
    for scope in client["scope"]:
        if scope != "openid":
            findings.append(
                Finding(
                    Level.INFO,
                    "glewlwyd-scope",
                    f"scope {scope!r} must exist in Glewlwyd (POST /api/scope/) and be granted "
                    "to the users",
                )
            )
    return findings
