"""``oidcsetup gen kanidm``: the ``kanidm system oauth2`` commands registering Matomo."""

from __future__ import annotations

from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import provider_inputs, stop_on_errors


@click.command(
    "kanidm",
    epilog="""\b
Examples:
  oidcsetup gen kanidm --matomo-url https://matomo.example.com --issuer https://idm.example.com
  oidcsetup gen kanidm --matomo-url https://matomo.example.com --group matomo_users > kanidm.sh
  oidcsetup --json gen kanidm --matomo-url https://matomo.example.com

\b
Kanidm generates the client secret: the last command (show-basic-secret) prints it. Give it to
oidcsetup through $OIDCSETUP_CLIENT_SECRET or the file the profile's client.secret names; this
command never handles a secret.
Exit status: 0 ok, 1 failure, 2 usage error, 3 a value Kanidm would refuse.
""",
)
@client_options(issuer=True)
@click.option(
    "--group",
    envvar="OIDCSETUP_KANIDM_GROUP",
    show_envvar=True,
    default=None,
    help="The Kanidm group whose members may log in to Matomo (default <client_id>_users).",
)
@click.pass_obj
def gen_kanidm_command(app: AppContext, group: str | None, **shared: Any) -> None:
    """The kanidm system oauth2 commands that register Matomo in Kanidm."""
    from oidcsetup.errors import UsageError
    from oidcsetup.providers.kanidm import build_client, validate_client

    out = app.output
    inputs = provider_inputs(app, overrides(shared))
    if not inputs.app_url:
        raise UsageError(
            "Kanidm needs Matomo's URL as the client's landing URL",
            hint="pass --matomo-url https://matomo.example.com",
        )
    client = build_client(inputs.integration, inputs.redirect_uris, inputs.app_url, group=group)
    from oidcsetup.providers.access_tokens import access_token_findings

    findings = validate_client(client) + access_token_findings("kanidm", inputs.jwt_access_tokens)
    commands = client.commands()
    document: dict[str, Any] = {
        "provider": "kanidm",
        "client_id": client.name,
        "group": client.group,
        "issuer": client.issuer,
        "commands": commands,
        "findings": [f.to_json() for f in findings],
    }
    stop_on_errors(app, findings, document, "the Kanidm client")
    if app.json_mode:
        out.json(document)
        return
    out.raw(
        f"# Register Matomo's {inputs.integration.plugin_title} in Kanidm (written by oidcsetup).\n"
        f"# Members of {client.group} may log in; skip 'group create' if it exists.\n"
        + "\n".join(commands)
        + "\n"
    )
    out.info(
        "the last command prints the client secret Kanidm generated: put it in "
        "$OIDCSETUP_CLIENT_SECRET or the file named by client.secret (mode 0600)"
    )
    out.info(f"Matomo side: oidcsetup gen matomo --preset kanidm --issuer {client.issuer}")
