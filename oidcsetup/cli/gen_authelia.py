"""``oidcsetup gen authelia``: Authelia's client entry for the integration (paste or merge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import algorithm_option, client_options, overrides
from oidcsetup.cli.providerside import (
    merge_options,
    report_findings,
    report_secret,
    secret_json,
    secret_options,
)
from oidcsetup.errors import ExitCode, FindingsError
from oidcsetup.providers.authelia.model import SUPPORTED_VERSIONS

CONSENT_MODES = ("auto", "explicit", "implicit", "pre-configured")


@click.command(
    "authelia",
    epilog="""\b
Examples:
  oidcsetup gen authelia --matomo-url https://matomo.example.com
  oidcsetup gen authelia --authelia-version 4.38 --client-id matomo --client-name Matomo
  oidcsetup gen authelia --merge /etc/authelia/configuration.yml --dry-run
  oidcsetup gen authelia --plugin rebeloidc --matomo-url https://matomo.example.com
  OIDCSETUP_CLIENT_SECRET=... oidcsetup --json gen authelia --merge configuration.yml

\b
The plaintext secret comes from $OIDCSETUP_CLIENT_SECRET or the profile's client.secret; when
there is none, a new one is generated into --secret-file (default ./<client_id>.secret, mode
0600) and reused by the next runs. Authelia gets only its digest.
Exit status: 0 ok or in sync, 1 failure, 2 usage error, 3 the entry breaks a rule of Authelia.
""",
)
@client_options()
@click.option(
    "--authelia-version",
    type=click.Choice(SUPPORTED_VERSIONS),
    envvar="OIDCSETUP_AUTHELIA_VERSION",
    show_envvar=True,
    default=None,
    help="Authelia version whose key names and values to use. Default: the profile's, else 4.39.",
)
@click.option(
    "--authorization-policy",
    envvar="OIDCSETUP_AUTHORIZATION_POLICY",
    default=None,
    help="one_factor, two_factor (default) or a policy named in authorization_policies.",
)
@click.option(
    "--consent-mode",
    type=click.Choice(CONSENT_MODES),
    envvar="OIDCSETUP_CONSENT_MODE",
    default=None,
    help="Authelia's consent_mode for the client (left out: Authelia's default, auto).",
)
@click.option(
    "--pre-configured-consent-duration",
    "consent_duration",
    envvar="OIDCSETUP_PRE_CONFIGURED_CONSENT_DURATION",
    default=None,
    help="How long a remembered consent lasts, e.g. '1 week' or '1y'.",
)
@algorithm_option("Digest format for client_secret.")
@merge_options("Insert or update the client in this Authelia configuration.yml (backup kept).")
@secret_options("Also print the plaintext client secret.")
@click.option(
    "--keep-backups",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    envvar="OIDCSETUP_KEEP_BACKUPS",
    show_envvar=True,
    help="With --merge: backups of configuration.yml kept beside it (older ones removed).",
)
@click.option(
    "--drop-old-redirect-uris",
    is_flag=True,
    help="With --merge: drop the other Matomo plugin's redirect URI that is otherwise kept "
    "while Matomo switches from Login OIDC to RebelOIDC (or back).",
)
@click.pass_obj
def gen_authelia_command(
    app: AppContext,
    authelia_version: str | None,
    authorization_policy: str | None,
    consent_mode: str | None,
    consent_duration: str | None,
    algorithm: str,
    merge_path: Path | None,
    dry_run: bool,
    secret_file: Path | None,
    show_secrets: bool,
    keep_backups: int,
    drop_old_redirect_uris: bool,
    **shared: Any,
) -> None:
    """Generate Authelia's OpenID Connect client entry for Matomo (paste it or --merge it)."""
    from oidcsetup.providers.authelia import (
        build_client_entry,
        has_errors,
        plan_merge,
        render_fragment,
        validate_entry,
        write_merge,
    )
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.secrets import hash_secret

    out = app.output
    values = overrides(shared)
    for key, value in (
        ("provider.authelia.version", authelia_version),
        ("provider.authelia.authorization_policy", authorization_policy),
        ("provider.authelia.consent_mode", consent_mode),
        ("provider.authelia.pre_configured_consent_duration", consent_duration),
    ):
        if value is not None:
            values[key] = value
    integration = app.integration(values)
    secret = obtain_client_secret(integration, secret_file=secret_file, base_dir=app.profile.parent)
    digest = hash_secret(secret.value, algorithm)
    from oidcsetup.apps.matomo.plugins import plugin_named
    from oidcsetup.apps.matomo.redirect import switch_partners

    uris = integration.redirect_uris
    if merge_path is not None and not drop_old_redirect_uris:
        plugin = plugin_named(integration.matomo.plugin)
        uris += _switch_in_progress(app, merge_path, integration, uris, plugin, switch_partners)
    entry = build_client_entry(
        integration, digest, uris, jwt_access_tokens=integration.jwt_access_tokens
    )
    findings = validate_entry(entry.values, entry.version, notes=entry.notes)

    merge = None
    if merge_path is not None and not has_errors(findings):
        merge = plan_merge(merge_path, entry, secret.value)
        seen = {(f.code, f.message) for f in findings}
        findings += [
            f
            for f in validate_entry(merge.checked_entry, entry.version, notes=entry.notes)
            if (f.code, f.message) not in seen
        ]

    document: dict[str, Any] = {
        "authelia_version": entry.version,
        "client_id": entry.client_id,
        "entry": entry.as_dict(),
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, dry_run),
    }
    if has_errors(findings):
        report_findings(app, findings)
        if app.json_mode:
            out.json(document)
            raise click.exceptions.Exit(int(ExitCode.FINDINGS))
        count = sum(1 for f in findings if f.level == "error")
        raise FindingsError(
            f"the Authelia client entry breaks {count} rule(s) of Authelia {entry.version}; "
            "nothing was written",
            hint="fix the values named above (flags, OIDCSETUP_* variables or the profile)",
        )
    report_findings(app, findings)

    if not dry_run:
        write_secret_file(secret)
    report_secret(app, secret, show_secrets, dry_run, "Authelia gets only its digest")

    if merge is None:
        comment = _secret_comment(secret)
        fragment = render_fragment(entry, secret_comment=comment)
        if app.json_mode:
            document["yaml"] = fragment
            out.json(document)
        else:
            out.raw(fragment)
        return

    backup = None
    if not dry_run:
        backup = write_merge(merge, keep_backups=keep_backups)
    document["entry"] = _shown_entry(merge.entry, show_secrets)
    document["merge"] = {
        "path": str(merge.path),
        "action": merge.action,
        "in_sync": merge.in_sync,
        "changed_keys": list(merge.changed_keys),
        "kept_digest": merge.kept_digest,
        "written": bool(not dry_run and not merge.in_sync),
        "backup": str(backup) if backup else None,
        "diff": merge.diff(show_secrets),
        "kept_references": list(merge.kept_references),
        "notes": list(merge.notes),
    }
    for note in merge.notes:
        out.warn(note, code="merge-note")
    if app.json_mode:
        out.json(document)
        return
    where = f"client '{entry.client_id}' in {merge.path}"
    if merge.in_sync:
        out.text(f"in sync: {where} already matches; nothing written")
        return
    if dry_run:
        out.raw(merge.diff(show_secrets))
        out.info(f"dry run: {where} would be {merge.action}; nothing written")
        return
    kept = " (existing digest kept)" if merge.kept_digest else ""
    out.text(
        f"{merge.action} {where}{kept}" + (f"; previous file saved as {backup}" if backup else "")
    )
    out.info("restart Authelia to load the new client configuration")


def _switch_in_progress(
    app: AppContext,
    merge_path: Path,
    integration: Any,
    uris: tuple[str, ...],
    plugin: Any,
    switch_partners: Any,
) -> tuple[str, ...]:
    """The other plugin's redirect URI the entry already has: kept while Matomo switches."""
    from oidcsetup.providers.authelia.merge import existing_client

    existing = existing_client(
        merge_path, integration.authelia.version, integration.client.client_id
    )
    held = (existing or {}).get("redirect_uris") or []
    partners = switch_partners(uris, plugin)
    kept = tuple(u for u in held if isinstance(u, str) and u in partners and u not in uris)
    for uri in kept:
        app.output.warn(
            f"kept redirect URI {uri} ({partners[uri]}) beside {plugin.title}'s: Matomo is "
            "switching plugins (oidcsetup migrate matomo)",
            hint="once the switch is done, run gen authelia --merge --drop-old-redirect-uris",
            code="switch-redirect-kept",
        )
    return kept


def _shown_entry(entry: dict[str, Any], show: bool) -> dict[str, Any]:
    """The merged entry for output: a secret kept in the file as plaintext ($plaintext$...) is
    masked unless asked; a digest (what Authelia stores) is shown, as in the fragment."""
    from oidcsetup.providers.authelia.templates import is_reference
    from oidcsetup.secretref import mask
    from oidcsetup.secrets import is_plaintext

    if show:
        return entry
    return {
        key: mask(value)
        if isinstance(value, str)
        and key in ("client_secret", "secret")
        and is_plaintext(value)
        and not is_reference(value)
        else value
        for key, value in entry.items()
    }


def _secret_comment(secret: Any) -> str:
    # printable() in the renderer escapes a line break in the path (it would end the comment)
    if secret.file is not None:
        return f"The digest of the client secret in {secret.file}."
    return f"The digest of the client secret from {secret.source}."
