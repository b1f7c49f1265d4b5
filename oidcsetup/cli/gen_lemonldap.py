"""``oidcsetup gen lemonldap``: LemonLDAP::NG's relying party for Matomo, as configuration JSON
and as lemonldap-ng-cli commands."""

from __future__ import annotations

from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    post_logout_option,
    provider_inputs,
    report_secret,
    secret_json,
    secret_options,
    stop_on_errors,
)


@click.command(
    "lemonldap",
    epilog="""\b
Examples:
  oidcsetup gen lemonldap --matomo-url https://matomo.example.com
  oidcsetup --json gen lemonldap --matomo-url https://matomo.example.com --client-id matomo

\b
Prints the oidcRPMetaDataOptions / oidcRPMetaDataExportedVars entry (secret masked unless
--show-secrets) and the equivalent lemonldap-ng-cli command, which reads the secret from
$OIDCSETUP_CLIENT_SECRET in your shell. To write it into the configuration yourself, with a
plan first: oidcsetup apply lemonldap --conf-dir DIR.
Exit status: 0 ok, 1 failure, 2 usage error, 3 a value LemonLDAP::NG would refuse.
""",
)
@client_options()
@post_logout_option
@secret_options("Show the client secret in the JSON.")
@click.pass_obj
def gen_lemonldap_command(
    app: AppContext,
    post_logout_redirect_uri: str | None,
    secret_file: Any,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """LemonLDAP::NG's relying party for Matomo (configuration JSON and lemonldap-ng-cli)."""
    from oidcsetup.constants import SECRET_ENV
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.lemonldap import (
        build_client,
        cli_commands,
        render_json,
        validate_client,
    )

    out = app.output
    inputs = provider_inputs(app, overrides(shared), post_logout_redirect_uri)
    secret = obtain_client_secret(
        inputs.integration, secret_file=secret_file, base_dir=app.profile.parent
    )
    client = build_client(
        inputs.integration,
        inputs.redirect_uris,
        inputs.post_logout_redirect_uris,
        secret.value,
        jwt_access_tokens=inputs.jwt_access_tokens,
    )
    findings = validate_client(client)
    commands = cli_commands(client, SECRET_ENV)
    document: dict[str, Any] = {
        "provider": "lemonldap",
        "client_id": client.client_id,
        "options": client.shown_options(show_secrets),
        "exported_vars": client.exported_vars,
        "commands": commands,
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, False),
    }
    stop_on_errors(app, findings, document, "the LemonLDAP::NG relying party")
    write_secret_file(secret)
    report_secret(app, secret, show_secrets, False, "LemonLDAP::NG keeps it in its configuration")
    if app.json_mode:
        out.json(document)
        return
    out.raw(render_json(client, show_secrets))
    out.info(f"or with LemonLDAP::NG's CLI (export {SECRET_ENV} first):")
    for command in commands:
        out.info(command)
