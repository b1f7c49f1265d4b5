"""Keycloak as the OpenID provider: a ``ClientRepresentation`` for Matomo, its validation, and
the JSON / ``kcadm.sh`` commands to load it. A pure function of (Integration, redirect URIs,
post-logout redirect URIs, secret); nothing here imports an app package.
"""

from __future__ import annotations

from oidcsetup.providers.keycloak.client import KeycloakClient, build_client, realm_of_issuer
from oidcsetup.providers.keycloak.render import kcadm_commands, render_json
from oidcsetup.providers.keycloak.validate import validate_client

__all__ = [
    "KeycloakClient",
    "build_client",
    "kcadm_commands",
    "realm_of_issuer",
    "render_json",
    "validate_client",
]
