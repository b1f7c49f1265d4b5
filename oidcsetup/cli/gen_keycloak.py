"""``oidcsetup gen keycloak``: Keycloak's ClientRepresentation for Matomo, and kcadm.sh commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    output_option,
    post_logout_option,
    provider_inputs,
    report_secret,
    secret_json,
    secret_options,
    stop_on_errors,
)


@click.command(
    "keycloak",
    epilog="""\b
Examples:
  oidcsetup gen keycloak --matomo-url https://matomo.example.com \\
      --issuer https://sso.example.com/realms/myrealm --output matomo-client.json
  kcadm.sh create clients -r myrealm -f matomo-client.json
  oidcsetup --json gen keycloak --matomo-url https://matomo.example.com --realm myrealm

\b
The client secret comes from $OIDCSETUP_CLIENT_SECRET or the profile's client.secret; when there
is none, a new one is generated into --secret-file (default ./<client_id>.secret, mode 0600).
Keycloak keeps the secret itself, so the JSON holds it: --output writes the whole JSON with mode
0600; the JSON on stdout leaves the secret out unless --show-secrets.
Exit status: 0 ok, 1 failure, 2 usage error, 3 the client breaks a rule of Keycloak.
""",
)
@client_options(issuer=True)
@post_logout_option
@click.option(
    "--realm",
    envvar="OIDCSETUP_KEYCLOAK_REALM",
    show_envvar=True,
    default=None,
    help="The realm for the kcadm.sh commands (default: taken from --issuer .../realms/REALM).",
)
@output_option("Write the ClientRepresentation, secret included, to this file (mode 0600).")
@secret_options("Put the secret in the JSON on stdout too.")
@click.pass_obj
def gen_keycloak_command(
    app: AppContext,
    post_logout_redirect_uri: str | None,
    realm: str | None,
    output_path: Path | None,
    secret_file: Path | None,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """Keycloak's client (ClientRepresentation JSON) for Matomo, and the kcadm.sh commands."""
    from oidcsetup.fileio import atomic_write_text
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.keycloak import (
        build_client,
        kcadm_commands,
        realm_of_issuer,
        render_json,
        validate_client,
    )

    out = app.output
    inputs = provider_inputs(app, overrides(shared), post_logout_redirect_uri)
    integration = inputs.integration
    secret = obtain_client_secret(integration, secret_file=secret_file, base_dir=app.profile.parent)
    client = build_client(
        integration, inputs.redirect_uris, inputs.post_logout_redirect_uris, secret.value
    )
    from oidcsetup.providers.access_tokens import access_token_findings

    findings = validate_client(client) + access_token_findings("keycloak", inputs.jwt_access_tokens)
    located = realm_of_issuer(integration.provider.issuer)
    server = located[0] if located else None
    realm = realm or (located[1] if located else None)
    json_target = str(output_path) if output_path else "matomo-client.json"
    commands = kcadm_commands(client, json_target, server, realm)
    shown = client.representation if show_secrets else client.without_secret()
    document: dict[str, Any] = {
        "provider": "keycloak",
        "client_id": client.client_id,
        "client": shown,
        "realm": realm,
        "issuer": f"{server}/realms/{realm}" if server and realm else None,
        "commands": commands,
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, False),
        "output": str(output_path) if output_path else None,
    }
    stop_on_errors(app, findings, document, "the Keycloak client")

    write_secret_file(secret)
    report_secret(app, secret, show_secrets, False, "Keycloak gets it in the client's JSON")
    if output_path is not None:
        atomic_write_text(output_path, render_json(client.representation), mode=0o600)
        out.info(f"wrote the client (secret included) to {output_path} (mode 0600)")
    elif not show_secrets:
        out.warn(
            "the JSON on stdout leaves the secret out (Keycloak would generate another one)",
            hint="write it with --output FILE (mode 0600), or add --show-secrets",
            code="secret-left-out",
        )
    if realm is None:
        out.warn(
            "the realm is not known: the commands below say REALM",
            hint="pass --realm NAME or --issuer https://HOST/realms/NAME",
            code="realm-unknown",
        )
    if app.json_mode:
        out.json(document)
        return
    if output_path is None:
        out.raw(render_json(shown))
    out.info("to load it into Keycloak:")
    for command in commands:
        out.info("  " + command)
    if document["issuer"]:
        out.info(
            f"Matomo side: oidcsetup gen matomo --preset keycloak --issuer {document['issuer']}"
        )
