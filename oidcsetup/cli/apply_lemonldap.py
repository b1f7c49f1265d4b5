"""``oidcsetup apply lemonldap``: our relying party into LemonLDAP::NG's File configuration."""

from __future__ import annotations

from pathlib import Path
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
  oidcsetup apply lemonldap --conf-dir /var/lib/lemonldap-ng/conf --matomo-url https://matomo.example.com --dry-run
  oidcsetup apply lemonldap --conf-dir /var/lib/lemonldap-ng/conf --check

\b
Plans the changes to the relying party (named by the client id) in the newest lmConf-N.json,
then stores them as lmConf-<N+1>.json under LemonLDAP::NG's lock, as its own tools do; the
previous configuration stays (the manager can restore it). Nothing is written when in sync.
Exit status: 0 applied or in sync, 1 failure, 2 usage error, 3 drift found by --check or a value
LemonLDAP::NG would refuse.
""",
)
@click.option(
    "--conf-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The dirName of lemonldap-ng.ini's [configuration] (type = File).",
)
@click.option("--dry-run", is_flag=True, help="Show the plan, write nothing.")
@click.option("--check", is_flag=True, help="Exit 3 when the configuration differs; write nothing.")
@client_options()
@post_logout_option
@secret_options("Show secrets in the plan.")
@click.pass_obj
def apply_lemonldap_command(
    app: AppContext,
    conf_dir: Path,
    dry_run: bool,
    check: bool,
    post_logout_redirect_uri: str | None,
    secret_file: Path | None,
    show_secrets: bool,
    **shared: Any,
) -> None:
    """Apply the relying party to LemonLDAP::NG's configuration: a plan, then the write."""
    from oidcsetup.errors import UsageError
    from oidcsetup.providers.authelia.clientsecret import obtain_client_secret, write_secret_file
    from oidcsetup.providers.lemonldap import (
        build_client,
        plan_client,
        read_live,
        save_next,
        validate_client,
    )

    if dry_run and check:
        raise UsageError("--dry-run and --check cannot be combined", hint="choose one")
    out = app.output
    write = not (dry_run or check)
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
    mode = "check" if check else "dry-run" if dry_run else "apply"
    document: dict[str, Any] = {
        "provider": "lemonldap",
        "client_id": client.client_id,
        "mode": mode,
        "findings": [f.to_json() for f in findings],
        "secret": secret_json(secret, show_secrets, not write),
    }
    stop_on_errors(app, findings, document, "the LemonLDAP::NG relying party")
    live = read_live(conf_dir)
    plan = plan_client(live.conf, client)
    written = None
    if write and not plan.in_sync:
        write_secret_file(secret)
        written = save_next(live, plan.conf, f"oidcsetup: relying party {client.key} for Matomo")
    document.update(
        {
            "conf_dir": str(conf_dir),
            "cfg_num": live.number,
            "in_sync": plan.in_sync,
            "changes": [c.shown(show_secrets) for c in plan.changes],
            "written": str(written) if written else None,
            "previous": str(live.path) if written else None,
        }
    )
    if write:
        report_secret(
            app, secret, show_secrets, False, "LemonLDAP::NG keeps it in its configuration"
        )
    if app.json_mode:
        out.json(document)
    else:
        for change in document["changes"]:
            out.text(f"  {change['path']}: {change['old']!r} -> {change['new']!r}")
        where = f"relying party '{client.key}' in {live.path}"
        if plan.in_sync:
            out.text(f"in sync: {where} already matches; nothing written")
        elif written:
            out.text(f"stored as {written} (cfgNum {live.number + 1}); {live.path} kept")
            out.info("the portal reloads the configuration by itself (checkTime)")
        else:
            out.info(f"{mode}: {where} differs in {len(plan.changes)} value(s); nothing written")
    if check and not plan.in_sync:
        raise click.exceptions.Exit(3)
