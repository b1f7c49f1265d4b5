"""``oidcsetup migrate matomo --to rebeloidc|loginoidc``: move Matomo to the other login plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import (
    backup_dir_option,
    database_requested,
    database_target_options,
    overrides,
    shared_options,
)
from oidcsetup.errors import UsageError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS

EPILOG = """\b
Examples:
  oidcsetup migrate matomo --to rebeloidc --config /var/www/matomo/config/config.ini.php \\
      --db --dry-run --matomo-url https://matomo.example.com
  oidcsetup migrate matomo --to rebeloidc --config config/config.ini.php --db
  oidcsetup migrate matomo --to loginoidc --config config/config.ini.php --db   # the way back

\b
The destination plugin gets the settings the other plugin uses now (names translated, defaults
carried), is activated in config.ini.php (Plugins[] only; Matomo installs it on the next web
request, which migrate makes when --matomo-url is known), and gets the linked accounts. The
other plugin is left as it is: both buttons show until you deactivate it. Backups: beside
config.ini.php, and in --backup-dir for the database. Run it again: nothing changes.
Exit status: 0 done or in sync, 1 failure, 2 usage error, 4 database unreachable.
"""


@click.group(
    "migrate",
    epilog="""\b
Examples:
  oidcsetup migrate matomo --to rebeloidc --config /var/www/matomo/config/config.ini.php --dry-run
  oidcsetup migrate matomo --to loginoidc --config config/config.ini.php --db
""",
)
def migrate_group() -> None:
    """Move an application to another plugin, with a plan first."""


@migrate_group.command("matomo", epilog=EPILOG)
@click.option(
    "--to",
    "to",
    type=click.Choice(["rebeloidc", "loginoidc"], case_sensitive=False),
    required=True,
    help="The plugin to move to (the other one is the source).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Matomo's config/config.ini.php: the source's section is read, the destination's "
    "written and activated.",
)
@database_target_options
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--show-secrets", is_flag=True, help="Show the client secret in the plan.")
@backup_dir_option
@shared_options("matomo_url")
@click.pass_obj
def migrate_matomo_command(
    app: AppContext,
    to: str,
    config_path: Path | None,
    use_db: bool,
    dsn: str | None,
    from_config: Path | None,
    dry_run: bool,
    show_secrets: bool,
    backup_dir: Path | None,
    **shared: Any,
) -> None:
    """Move Matomo from Login OIDC to RebelOIDC (or back): settings, activation, links."""
    from oidcsetup.apps.matomo.migrate import migrate
    from oidcsetup.apps.matomo.plugins import plugin_named
    from oidcsetup.fileio import default_backup_dir

    use_db = database_requested(use_db, from_config)
    if not config_path and not use_db:
        raise UsageError(
            "no target: give --config PATH and/or --db",
            hint="e.g. --config /var/www/matomo/config/config.ini.php --db",
        )
    dest = plugin_named(to)
    integration = app.integration(overrides(shared))
    db = None
    try:
        if use_db:
            from oidcsetup.apps.matomo.database import MatomoDatabase
            from oidcsetup.apps.matomo.database.dsn import resolve_db_settings
            from oidcsetup.cli.prompts import prompt_database_password

            settings = resolve_db_settings(
                dsn=dsn,
                from_config=from_config,
                config_path=config_path,
                prompt=prompt_database_password,
            )
            with app.output.spinner(f"connecting to {settings.where}"):
                db = MatomoDatabase.connect(settings)
        url = integration.matomo.url
        report = migrate(
            integration,
            dest,
            config_path=config_path,
            db=db,
            dry_run=dry_run,
            backup_dir=backup_dir or default_backup_dir(),
            keep_backups=DEFAULT_KEEP_BACKUPS,
            install=(lambda: _load_page(url, app)) if url else None,
        )
    finally:
        if db is not None:
            db.close()
    if app.json_mode:
        app.output.json(report.to_json(show_secrets))
        return
    _render(app, report, show_secrets)


def _load_page(url: str, app: AppContext) -> None:
    """One GET of Matomo's front page: Matomo installs an activated plugin on a web request."""
    import httpx

    from oidcsetup.apps.matomo.redirect import matomo_base_url

    with app.output.spinner("loading a Matomo page (it installs the plugin)"):
        try:
            httpx.get(matomo_base_url(url), timeout=120, follow_redirects=False)
        except httpx.HTTPError as exc:
            app.output.warn(f"could not load {url}: {exc}", code="install-request-failed")


def _render(app: AppContext, report: Any, show_secrets: bool) -> None:
    out = app.output
    document = report.to_json(show_secrets)
    source, dest = report.source.title, report.dest.title
    for block in (document["config"], document["database"]):
        if block is None:
            continue
        plan = block["plan"]
        for change in plan["changes"]:
            if change["action"] != "unchanged":
                out.text(
                    f"{plan['target']}: {change['action']} {change['setting']} = {change['new']}"
                )
    config = document["config"]
    if config and config.get("activation"):
        act = config["activation"]
        out.info(
            f"{report.dest.module} is already in Plugins[]"
            if act["already_active"]
            else f"{report.dest.module}: added to Plugins[] ({act['note']})"
        )
    links = document["links"]
    if links:
        if links["pending"]:
            out.warn(links["pending"], code="links-pending")
        for link in links["to_copy"]:
            out.text(f"link {link['login']} = {link['subject']} -> {links['dest_table']}")
        for login in links["conflicts"]:
            out.warn(
                f"{login} is linked differently in {links['dest_table']}: left as it is",
                code="link-conflict",
            )
    for name in document["dropped"]:
        out.warn(f"{name} has no counterpart in {dest}: not carried", code="setting-dropped")
    for note in document["notes"]:
        out.info(f"note: {note}")
    verb = "would move" if report.mode == "dry-run" else "moved"
    if report.in_sync and report.mode == "apply":
        out.info(f"{dest} is configured as {source} is; nothing to do")
    else:
        out.info(
            f"{verb} Matomo from {source} to {dest}"
            + ("; nothing written" if report.mode == "dry-run" else "")
        )
