"""The relying party as configuration JSON, and as ``lemonldap-ng-cli`` commands."""

from __future__ import annotations

import json
import shlex
from typing import Any

from oidcsetup.providers.lemonldap.client import SECRET_KEY, LemonClient

CLI = "/usr/share/lemonldap-ng/bin/lemonldap-ng-cli"


def render_json(client: LemonClient, show_secrets: bool) -> str:
    document: dict[str, Any] = {
        "oidcRPMetaDataOptions": {client.key: client.shown_options(show_secrets)},
        "oidcRPMetaDataExportedVars": {client.key: client.exported_vars},
    }
    return json.dumps(document, indent=2) + "\n"


def cli_commands(client: LemonClient, secret_env: str) -> list[str]:
    """addKey triples (key, subkey, value); the secret is read from ``$secret_env`` by the
    shell, so it is never written in the commands."""
    q = shlex.quote
    lines = [f"{CLI} -yes 1 addKey \\"]
    key = f"oidcRPMetaDataOptions/{client.key}"
    for name, value in client.options.items():
        if value is None:
            continue
        shown = f'"${secret_env}"' if name == SECRET_KEY else q(str(value))
        lines.append(f"    {q(key)} {name} {shown} \\")
    for claim, attribute in client.exported_vars.items():
        lines.append(
            f"    {q('oidcRPMetaDataExportedVars/' + client.key)} {q(claim)} {q(attribute)} \\"
        )
    lines[-1] = lines[-1].removesuffix(" \\")
    removed = [name for name, value in client.options.items() if value is None]
    commands = ["\n".join(lines)]
    for name in removed:
        commands.append(f"{CLI} -yes 1 delKey {q(key)} {name}")
    return commands
