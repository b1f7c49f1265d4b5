"""``oidcsetup gen dex``: Dex's staticClients entry for Matomo (print or --merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    merge_options,
    provider_inputs,
    report_file_merge,
    stop_on_errors,
)


@click.command(
    "dex",
    epilog="""\b
Examples:
  oidcsetup gen dex --matomo-url https://matomo.example.com
  oidcsetup gen dex --matomo-url https://matomo.example.com --secret-env MATOMO_CLIENT_SECRET \\
      --merge /etc/dex/config.yaml --dry-run

\b
The entry names the secret with secretEnv: Dex reads it from its own environment, so no secret
is written anywhere. Give Dex's process that variable, set to the secret Matomo gets
($OIDCSETUP_CLIENT_SECRET or the profile's client.secret).
Exit status: 0 ok or in sync, 1 failure, 2 usage error, 3 a value Dex would refuse.
""",
)
@client_options(issuer=True)
@click.option(
    "--secret-env",
    metavar="NAME",
    default=None,
    help="The variable Dex reads the secret from (default <CLIENT_ID>_CLIENT_SECRET).",
)
@click.option(
    "--post-logout-redirect-uri",
    "post_logout_redirect_uri",
    default=None,
    envvar="OIDCSETUP_POST_LOGOUT_REDIRECT_URI",
    show_envvar=True,
    help="Also write postLogoutRedirectURIs (Dex releases from 2026-04 with RP-initiated logout).",
)
@merge_options("Add or update the client in this Dex config file, keeping the rest (backup kept).")
@click.pass_obj
def gen_dex_command(
    app: AppContext,
    secret_env: str | None,
    post_logout_redirect_uri: str | None,
    merge_path: Path | None,
    dry_run: bool,
    **shared: Any,
) -> None:
    """Dex's staticClients entry for Matomo (secretEnv, never a plaintext secret)."""
    from oidcsetup.providers.dex import (
        build_client,
        default_secret_env,
        plan_dex_merge,
        render_entry,
        validate_client,
        write_dex_merge,
    )

    out = app.output
    inputs = provider_inputs(app, overrides(shared), post_logout_redirect_uri)
    integration = inputs.integration
    env_name = secret_env or default_secret_env(integration.client.client_id)
    post = inputs.post_logout_redirect_uris if post_logout_redirect_uri else ()
    client = build_client(integration, inputs.redirect_uris, env_name, post)
    from oidcsetup.providers.access_tokens import access_token_findings

    findings = validate_client(client) + access_token_findings("dex", inputs.jwt_access_tokens)
    document: dict[str, Any] = {
        "provider": "dex",
        "client_id": client.client_id,
        "entry": client.entry,
        "secret_env": env_name,
        "findings": [f.to_json() for f in findings],
    }
    stop_on_errors(app, findings, document, "the Dex client")
    out.info(
        f"Dex reads the client secret from ${env_name}: set it in Dex's environment to the "
        "secret Matomo gets"
    )
    if merge_path is None:
        text = render_entry(client)
        if app.json_mode:
            document["yaml"] = text
            out.json(document)
        else:
            out.raw(text)
        return
    merge = plan_dex_merge(merge_path, client)
    backup = None if dry_run else write_dex_merge(merge)
    report_file_merge(
        app,
        document,
        merge,
        what=f"client '{client.client_id}'",
        dry_run=dry_run,
        backup=backup,
        diff=merge.diff(),
        next_step="restart Dex to load the new client" if merge.action != "unchanged" else "",
    )
