"""Keycloak's client as JSON, and the ``kcadm.sh`` commands that create or update it."""

from __future__ import annotations

import json
import shlex
from typing import Any

from oidcsetup.providers.keycloak.client import KeycloakClient


def render_json(representation: dict[str, Any]) -> str:
    return json.dumps(representation, indent=2, ensure_ascii=False) + "\n"


def kcadm_commands(
    client: KeycloakClient, json_path: str, server: str | None, realm: str | None
) -> list[str]:
    """Log in, then create the client or, when ``clientId`` exists already, update it."""
    q = shlex.quote
    realm_arg = q(realm) if realm else "REALM"
    server_arg = q(server) if server else "https://KEYCLOAK"
    file_arg = q(json_path)
    client_id = q(f"clientId={client.client_id}")
    return [
        f"kcadm.sh config credentials --server {server_arg} --realm master --user admin",
        f"ID=$(kcadm.sh get clients -r {realm_arg} -q {client_id} --fields id --format csv "
        "--noquotes)",
        f'if [ -z "$ID" ]; then kcadm.sh create clients -r {realm_arg} -f {file_arg}; '
        f'else kcadm.sh update "clients/$ID" -r {realm_arg} -f {file_arg}; fi',
    ]
