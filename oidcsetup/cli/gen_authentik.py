"""``oidcsetup gen authentik``: authentik's blueprint for Matomo (print, --output or --merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    merge_options,
    output_option,
    provider_inputs,
    report_file_merge,
    report_secret,
    secret_json,
    secret_options,
    stop_on_errors,
)


@click.command(
    "authentik",
    epilog="""\b
Examples:
  oidcsetup gen authentik --matomo-url https://matomo.example.com --output matomo.yaml
  oidcsetup gen authentik --matomo-url https://matomo.example.com \\
      --secret-env MATOMO_CLIENT_SECRET --merge /blueprints/custom/sso.yaml --dry-run
  oidcsetup --json gen authentik --matomo-url https://matomo.example.com --slug matomo

\b
The blueprint holds an OAuth2 provider (confidential, strict redirect URI, the openid, email and
profile scope mappings) and its application. The client secret comes from
$OIDCSETUP_CLIENT_SECRET or the profile's client.secret, else is generated into --secret-file
(mode 0600). It goes into --output (mode 0600) or --merge files in clear, or, with
--secret-env NAME, as `!Env NAME` read from authentik's environment; the blueprint on stdout
leaves it out unless --show-secrets or --secret-env.
Exit status: 0 ok or in sync, 1 failure, 2 usage error, 3 the blueprint breaks a rule of
authentik's schema.
""",
)
@client_options(issuer=True)
@click.option(
    "--slug",
    envvar="OIDCSETUP_AUTHENTIK_SLUG",
    show_envvar=True,
    default=None,
    help="The application's slug (default: from the client id); the issuer ends in it.",
)
@click.option(
    "--secret-env",
    metavar="NAME",
    default=None,
    help="Write client_secret as `!Env NAME`: authentik reads it from its environment.",
)
@output_option("Write the blueprint to this file (mode 0600; backup of an existing one).")
@merge_options(
    "Add or replace our two entries in this blueprint, keeping the rest (backup kept).",
    "With --merge/--output: show the diff, write nothing.",
)
@secret_options("Put the secret in what is printed too.")
@click.pass_obj
def gen_authentik_command(
    app: AppContext,
    slug: str | None,
    secret_env: str | None,
    output_path: Path | None,
    merge_path: Path | None,
    dry_run: bool,
    secret_file: Path | None,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """authentik's blueprint (OAuth2 provider + application) for Matomo; print, write or merge."""
    from urllib.parse import urlsplit

    from oidcsetup.errors import UsageError
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.authentik import (
        Env,
        build_blueprint,
        issuer_for,
        plan_blueprint_merge,
        render_blueprint,
        validate_blueprint,
        write_blueprint_merge,
    )

    if output_path is not None and merge_path is not None:
        raise UsageError("--output and --merge cannot be combined", hint="choose one")
    out = app.output
    inputs = provider_inputs(app, overrides(shared))
    integration = inputs.integration
    secret = obtain_client_secret(integration, secret_file=secret_file, base_dir=app.profile.parent)
    target = output_path or merge_path
    in_clear = secret_env is None and (target is not None or show_secrets)
    value: str | Env | None = (
        Env(secret_env) if secret_env else (secret.value if in_clear else None)
    )
    blueprint = build_blueprint(integration, inputs.redirect_uris, value, slug=slug)
    from oidcsetup.providers.access_tokens import access_token_findings

    findings = validate_blueprint(blueprint) + access_token_findings(
        "authentik", inputs.jwt_access_tokens
    )
    issuer = integration.provider.issuer
    base = None
    if issuer:
        parts = urlsplit(issuer)
        base = f"{parts.scheme}://{parts.netloc}"
    document: dict[str, Any] = {
        "provider": "authentik",
        "client_id": integration.client.client_id,
        "slug": blueprint.slug,
        "issuer": issuer_for(base, blueprint.slug),
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, dry_run),
        "secret_env": secret_env,
    }
    stop_on_errors(app, findings, document, "the authentik blueprint")

    merge = None
    if target is not None:
        merge = plan_blueprint_merge(
            target, blueprint, secret.value if isinstance(value, str) else None
        )
        if output_path is not None and merge.old_text is not None:
            # --output replaces the file with our blueprint (backed up); --merge keeps the rest
            from dataclasses import replace

            merge = replace(merge, new_text=render_blueprint(blueprint), action="replaced")
    if not dry_run:
        write_secret_file(secret)
    report_secret(app, secret, show_secrets, dry_run, "authentik gets it through the blueprint")
    if secret_env:
        out.info(
            f"authentik reads the secret from ${secret_env}: set it, in authentik's worker and "
            "server environment, to the client secret above before applying the blueprint"
        )
    elif target is None and not show_secrets:
        out.warn(
            "the blueprint on stdout leaves client_secret out (authentik would generate another)",
            hint="write it with --output FILE (mode 0600), use --secret-env NAME, or add "
            "--show-secrets",
            code="secret-left-out",
        )
    if merge is None:
        text = render_blueprint(blueprint)
        if app.json_mode:
            document["yaml"] = text
            out.json(document)
        else:
            out.raw(text)
            out.info(f"issuer for the Matomo side: {document['issuer']}")
        return
    backup = None if dry_run else write_blueprint_merge(merge)
    report_file_merge(
        app,
        document,
        merge,
        what=f"the '{blueprint.slug}' provider and application",
        dry_run=dry_run,
        backup=backup,
        diff=merge.diff(show_secrets),
        next_step=f"issuer for the Matomo side: {document['issuer']}",
    )
