"""``oidcsetup gen glewlwyd``: the client JSON for Glewlwyd's admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    output_option,
    provider_inputs,
    report_secret,
    secret_json,
    secret_options,
    stop_on_errors,
)


@click.command(
    "glewlwyd",
    epilog="""\b
Examples:
  oidcsetup gen glewlwyd --matomo-url https://matomo.example.com --output client.json
  curl -b cookies -H 'Content-Type: application/json' -d @client.json https://sso/api/client/

\b
The JSON holds the secret (Glewlwyd checks it): --output writes it with mode 0600; the JSON on
stdout masks it unless --show-secrets.
Exit status: 0 ok, 1 failure, 2 usage error, 3 a value Glewlwyd would refuse.
""",
)
# --plugin: the redirect URI follows the Matomo plugin. Glewlwyd's access tokens are always
# JWTs (typ at+jwt: upstream src/plugin/protocol_oidc.c, generate_access_token), as RebelOIDC
# needs: nothing to ask of the client for it.
@client_options()
@output_option("Write the client JSON, secret included, to this file (mode 0600).")
@secret_options("Show the secret in the JSON on stdout.")
@click.pass_obj
def gen_glewlwyd_command(
    app: AppContext,
    output_path: Path | None,
    secret_file: Path | None,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """Glewlwyd's client JSON for Matomo (for POST /api/client/)."""
    from oidcsetup.fileio import atomic_write_text
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.glewlwyd import build_client, shown, validate_client

    out = app.output
    inputs = provider_inputs(app, overrides(shared))
    secret = obtain_client_secret(
        inputs.integration, secret_file=secret_file, base_dir=app.profile.parent
    )
    client = build_client(inputs.integration, inputs.redirect_uris, secret.value)
    findings = validate_client(client)
    document: dict[str, Any] = {
        "provider": "glewlwyd",
        "client_id": client["client_id"],
        "client": shown(client, show_secrets),
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, False),
        "output": str(output_path) if output_path else None,
    }
    stop_on_errors(app, findings, document, "the Glewlwyd client")
    write_secret_file(secret)
    report_secret(app, secret, show_secrets, False, "Glewlwyd gets it in the client JSON")
    if output_path is not None:
        atomic_write_text(output_path, json.dumps(client, indent=2) + "\n", mode=0o600)
        out.info(f"wrote the client (secret included) to {output_path} (mode 0600)")
    if app.json_mode:
        out.json(document)
    elif output_path is None:
        out.raw(json.dumps(document["client"], indent=2) + "\n")
