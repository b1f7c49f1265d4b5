"""``oidcsetup apply glewlwyd``: our client into Glewlwyd through its admin REST API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import client_options, overrides
from oidcsetup.cli.providerside import (
    provider_inputs,
    report_secret,
    secret_json,
    secret_options,
    stop_on_errors,
)

if TYPE_CHECKING:
    from oidcsetup.providers.glewlwyd import GlewlwydPlan
    from oidcsetup.providers.glewlwyd.adminapi import AdminCredentials, GlewlwydAdmin


@click.command(
    "glewlwyd",
    epilog="""\b
Examples:
  export OIDCSETUP_GLEWLWYD_USERNAME=admin OIDCSETUP_GLEWLWYD_PASSWORD=...
  oidcsetup apply glewlwyd --api https://sso.example.com/api --matomo-url https://matomo.example.com --dry-run
  oidcsetup apply glewlwyd --api https://sso.example.com/api --matomo-url https://matomo.example.com
  oidcsetup apply glewlwyd --api https://sso.example.com/api --check
  oidcsetup apply glewlwyd --api https://sso.example.com/api --restore ~/.local/state/oidcsetup/backups/glewlwyd-....json

\b
Reads the client (named by the client id) through Glewlwyd's admin API, plans the changes
(secrets masked unless --show-secrets), then creates or updates it; the other properties of an
existing client are kept. Nothing is written when in sync. Before a write the client as it was
is saved to a 0600 JSON file (--backup-dir); --restore puts it back. The administrator's
credentials come from OIDCSETUP_GLEWLWYD_USERNAME / OIDCSETUP_GLEWLWYD_PASSWORD (or an API key in
OIDCSETUP_GLEWLWYD_API_KEY), else a prompt on a terminal; never from a flag.
The client's password is stored hashed and cannot be read back: Glewlwyd checks client_secret
first, which is compared.
Exit status: 0 applied or in sync, 1 failure (wrong credentials, Glewlwyd refused), 2 usage
error, 3 drift found by --check or a value Glewlwyd would not honour, 4 Glewlwyd unreachable.
""",
)
@click.option(
    "--api",
    "api_url",
    required=True,
    envvar="OIDCSETUP_GLEWLWYD_API",
    show_envvar=True,
    help="Glewlwyd's API root, e.g. https://sso.example.com/api (/api is added to a bare URL).",
)
@click.option("--dry-run", is_flag=True, help="Show the plan, write nothing.")
@click.option("--check", is_flag=True, help="Exit 3 when the client differs; write nothing.")
@click.option(
    "--restore",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Put back the client saved in this backup (made by an earlier apply).",
)
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="OIDCSETUP_BACKUP_DIR",
    show_envvar=True,
    help="Where the previous client is saved (mode 0600). "
    "Default: ~/.local/state/oidcsetup/backups.",
)
# --plugin: the redirect URI follows the Matomo plugin. Glewlwyd's access tokens are always
# JWTs (typ at+jwt: upstream src/plugin/protocol_oidc.c, generate_access_token), as RebelOIDC
# needs: nothing to ask of the client for it.
@client_options()
@secret_options("Show secrets in the plan.")
@click.pass_obj
def apply_glewlwyd_command(
    app: AppContext,
    api_url: str,
    dry_run: bool,
    check: bool,
    restore: Path | None,
    backup_dir: Path | None,
    secret_file: Path | None,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """Apply the client to Glewlwyd through its admin API: a plan, then the write."""
    from oidcsetup.errors import UsageError
    from oidcsetup.fileio import default_backup_dir
    from oidcsetup.providers.glewlwyd.adminapi import admin_session, api_root

    if dry_run and check:
        raise UsageError("--dry-run and --check cannot be combined", hint="choose one")
    if restore is not None and check:
        raise UsageError("--restore and --check cannot be combined", hint="choose one")
    root = api_root(api_url)
    mode = "check" if check else "dry-run" if dry_run else "apply"
    write = mode == "apply"
    backups = backup_dir or default_backup_dir()
    if restore is not None:
        _restore(app, root, restore, write=write, backups=backups, show_secrets=show_secrets)
        return

    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.glewlwyd import build_client, plan_client, validate_client

    inputs = provider_inputs(app, overrides(shared))
    secret = obtain_client_secret(
        inputs.integration, secret_file=secret_file, base_dir=app.profile.parent
    )
    client = build_client(inputs.integration, inputs.redirect_uris, secret.value)
    # Whether each scope exists is asked of Glewlwyd itself below.
    findings = [f for f in validate_client(client) if f.code != "glewlwyd-scope"]
    document: dict[str, Any] = {
        "provider": "glewlwyd",
        "api": root,
        "client_id": client["client_id"],
        "mode": mode,
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, not write),
    }
    stop_on_errors(app, findings, document, "the Glewlwyd client")
    credentials = _credentials()
    with admin_session(root, credentials, app.network) as admin:
        findings += _missing_scopes(admin, client["scope"])
        document["findings"] = [f.to_json() for f in findings]
        stop_on_errors(app, findings, document, "the Glewlwyd client")
        live = admin.get_client(client["client_id"])
        plan = plan_client(live, client)
        saved = None
        if write and not plan.in_sync:
            saved = _backup(root, plan.client_id, live, backups)
            write_secret_file(secret)
            _send(admin, plan)
            _verify(admin, client)
    document.update(_plan_json(plan, show_secrets, written=saved is not None, backup=saved))
    if write:
        report_secret(app, secret, show_secrets, False, "Glewlwyd keeps it as the client secret")
    _render(app, document, plan, root, check)


def _credentials(environ: Any = None) -> AdminCredentials:
    """The administrator: API key, or username + password, from the environment; what is
    missing is asked on a terminal; without one, a one-line error (never a flag: see
    docs/security.md)."""
    from oidcsetup.errors import UsageError
    from oidcsetup.providers.glewlwyd.adminapi import (
        API_KEY_ENV,
        CREDENTIALS_HINT,
        PASSWORD_ENV,
        USERNAME_ENV,
        AdminCredentials,
    )

    env = os.environ if environ is None else environ
    if env.get(API_KEY_ENV):
        return AdminCredentials(api_key=env[API_KEY_ENV])
    username = env.get(USERNAME_ENV) or ""
    password = env.get(PASSWORD_ENV) or ""
    if (not username or not password) and sys.stdin.isatty():
        if not username:
            username = click.prompt("Glewlwyd administrator", err=True)
        if not password:
            password = click.prompt(
                f"Password of {username}", hide_input=True, err=True, default="",
                show_default=False,
            )  # fmt: skip
    if not username or not password:
        missing = USERNAME_ENV if not username else PASSWORD_ENV
        raise UsageError(f"no Glewlwyd administrator credentials ({missing} is not set)",
                         hint=CREDENTIALS_HINT)  # fmt: skip
    return AdminCredentials(username=username, password=password)


def _missing_scopes(admin: GlewlwydAdmin, scopes: list[str]) -> list[Any]:
    from oidcsetup.findings import Finding, Level

    return [
        Finding(
            Level.ERROR,
            "glewlwyd-scope-missing",
            f"scope {scope!r} does not exist in Glewlwyd (it would store the client anyway, "
            "and the login would not get the scope)",
            "create it in Glewlwyd's administration (Scopes), or drop it from --scopes",
        )
        for scope in scopes
        if not admin.scope_exists(scope)
    ]


def _backup(root: str, client_id: str, live: dict[str, Any] | None, directory: Path) -> Path:
    from oidcsetup.providers.glewlwyd.backup import ClientBackup, save_backup

    return save_backup(ClientBackup(root, client_id, live), directory)


def _send(admin: GlewlwydAdmin, plan: GlewlwydPlan) -> None:
    if plan.action == "create" and plan.body is not None:
        admin.create_client(plan.body)
    elif plan.action == "update" and plan.body is not None:
        admin.replace_client(plan.client_id, plan.body)
    elif plan.action == "delete":
        admin.delete_client(plan.client_id)


def _verify(admin: GlewlwydAdmin, client: dict[str, Any]) -> None:
    """Read the client back: Glewlwyd stores only the properties its client module knows."""
    from oidcsetup.errors import ApplyError
    from oidcsetup.providers.glewlwyd import plan_client

    after = plan_client(admin.get_client(str(client["client_id"])), client)
    if not after.in_sync:
        fields = ", ".join(c.field for c in after.changes)
        raise ApplyError(
            f"Glewlwyd did not keep {fields} of client {client['client_id']!r}",
            hint="its client module's data-format must list these properties (Glewlwyd's "
            "administration, Parameters, Clients); the previous client is in the backup",
        )


def _plan_json(
    plan: GlewlwydPlan, show_secrets: bool, *, written: bool, backup: Path | None
) -> dict[str, Any]:
    from oidcsetup.providers.glewlwyd import WRITE_ONLY_KEYS

    return {
        "action": plan.action,
        "in_sync": plan.in_sync,
        "changes": [c.shown(show_secrets) for c in plan.changes],
        "write_only": [k for k in WRITE_ONLY_KEYS if plan.body and k in plan.body],
        "written": written,
        "backup": str(backup) if backup else None,
    }


def _render(
    app: AppContext, document: dict[str, Any], plan: GlewlwydPlan, root: str, check: bool
) -> None:
    out = app.output
    if app.json_mode:
        out.json(document)
    else:
        for change in document["changes"]:
            out.text(f"  {change['field']}: {change['old']!r} -> {change['new']!r}")
        if document["write_only"]:
            out.text(
                f"  {', '.join(document['write_only'])}: sent with the write (Glewlwyd never shows it back)"
            )
        where = f"client '{plan.client_id}' at {root}"
        if plan.in_sync:
            out.text(f"in sync: {where} already matches; nothing written")
        elif document["written"]:
            verb = {"create": "created", "update": "updated", "delete": "deleted"}[plan.action]
            out.text(f"{verb} {where}; previous state saved as {document['backup']}")
        else:
            out.info(
                f"{document['mode']}: {where} would be {plan.action}d "
                f"({len(plan.changes)} value(s)); nothing written"
            )
    if check and not plan.in_sync:
        raise click.exceptions.Exit(3)


def _restore(
    app: AppContext, root: str, path: Path, *, write: bool, backups: Path, show_secrets: bool
) -> None:
    from oidcsetup.errors import InputError
    from oidcsetup.providers.glewlwyd import plan_restore
    from oidcsetup.providers.glewlwyd.adminapi import admin_session
    from oidcsetup.providers.glewlwyd.backup import load_backup

    saved_state = load_backup(path)
    if saved_state.api != root:
        raise InputError(
            f"{path} was taken from {saved_state.api}, not {root}",
            hint="pass the --api it was taken from",
        )
    credentials = _credentials()
    with admin_session(root, credentials, app.network) as admin:
        live = admin.get_client(saved_state.client_id)
        plan = plan_restore(saved_state.client_id, live, saved_state.client)
        saved = None
        if write and not plan.in_sync:
            saved = _backup(root, plan.client_id, live, backups)  # the restore can be undone
            _send(admin, plan)
    document: dict[str, Any] = {
        "provider": "glewlwyd",
        "api": root,
        "client_id": saved_state.client_id,
        "mode": "restore" if write else "dry-run",
        "restored_from": str(path),
        **_plan_json(plan, show_secrets, written=saved is not None, backup=saved),
    }
    if saved_state.client is not None and "client_secret" not in saved_state.client:
        app.output.warn(
            "the saved client had no client_secret: Glewlwyd now checks its password hash, "
            "which a backup cannot hold (the last one set stays)",
            code="glewlwyd-password-not-restored",
        )
    _render(app, document, plan, root, False)
