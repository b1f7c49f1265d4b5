"""``oidcsetup apply matomo``: plan, then write Login OIDC's settings to config.ini.php and/or the DB.

Thin: parse options, build the Integration, open the targets, call the operation
(``apps/matomo/apply.py``: plan, then write exactly the plan), render its report.
The JSON document of ``--json`` is described in docs/apply.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oidcsetup.cli.appside import build_settings, matomo_settings_options
from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import backup_dir_option, database_requested, database_target_options
from oidcsetup.cli.prompts import (
    prompt_client_secret,
    prompt_database_password,
    terminal_prompt,
)
from oidcsetup.errors import UsageError, ValidationError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, default_backup_dir

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.apitarget import ApiTarget
    from oidcsetup.apps.matomo.apply import ApplyOptions, ApplyReport
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.apps.matomo.detect import PluginChoice


EPILOG = """\b
Examples:
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --dry-run
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --activate
  oidcsetup apply matomo --db --from-config /var/www/matomo/config/config.ini.php --check
  OIDCSETUP_DB_PASSWORD=... oidcsetup apply matomo --db --dsn mysql://matomo@127.0.0.1:3306/matomo
  oidcsetup apply matomo --db --from-config config.ini.php --link admin=3f2a9c1e-...
  oidcsetup apply matomo --db --from-config config.ini.php --restore BACKUP.json
  oidcsetup apply matomo --plugin rebeloidc --config config.ini.php --activate
  OIDCSETUP_MATOMO_TOKEN_AUTH=... OIDCSETUP_MATOMO_PASSWORD=... \\
      oidcsetup apply matomo --api https://matomo.example.com
  oidcsetup apply matomo --api https://matomo.example.com --check

\b
The plugin is app.matomo.plugin (--plugin, OIDCSETUP_PLUGIN); unset, the one active in the
target's config.ini.php (else the database's link table) is configured, and said on stderr.
The database password comes from $OIDCSETUP_DB_PASSWORD, the Matomo config file, or a prompt;
never from the command line. It goes only to a server verified by TLS (ssl=1, enable_ssl) or
over a socket, unless as a challenge-response. A ${VAR} in [database] is refused unless named
in $OIDCSETUP_DB_CONFIG_ENV. Exit codes: 0 applied or in sync, 1 failure, 2 usage error,
3 --check found drift, 4 database unreachable.
"""


@click.command("matomo", epilog=EPILOG)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target: Matomo's config/config.ini.php, edited in place (the plugin's section "
    "[LoginOIDC] or [RebelOIDC] only).",
)
@database_target_options
@click.option(
    "--api",
    "api",
    metavar="URL",
    help="Target: Matomo's HTTP API at this base URL (CorePluginsAdmin.setSystemSettings), as "
    "a super user: token from $OIDCSETUP_MATOMO_TOKEN_AUTH, password from "
    "$OIDCSETUP_MATOMO_PASSWORD (or prompts on a terminal).",
)
@click.option(
    "--overwrite-secret",
    is_flag=True,
    help="With --api: write clientSecret even when Matomo holds one (its API never shows it, "
    "so it cannot be compared).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--check", is_flag=True, help="Print the plan; exit 3 when anything would change.")
@click.option(
    "--activate",
    is_flag=True,
    help="Add the plugin to Plugins[] (never PluginsInstalled[]: Matomo installs the plugin "
    "on its next page load). Needs --config.",
)
@click.option(
    "--link",
    "links",
    multiple=True,
    metavar="LOGIN=SUBJECT",
    help="Link a Matomo user to a provider subject (the plugin's loginoidc_provider or "
    "rebeloidc_provider; needs --db).",
)
@click.option(
    "--restore",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="BACKUP",
    help="Put back a backup made by an earlier apply (one target).",
)
@click.option("--prune", is_flag=True, help="Also remove the plugin's settings/rows not generated.")
@click.option(
    "--force",
    is_flag=True,
    help="Override the safety rails (disableSuperuser with a password-less super user, links, "
    "a backup of another database).",
)
@click.option("--show-secrets", is_flag=True, help="Show the client secret in the plan.")
@click.option(
    "--secret-as-env",
    metavar="NAME",
    help="Write clientSecret to the config file as ${NAME} (read from Matomo's environment). "
    "Matomo's own rewrites of the file replace it by the expanded value: --check names that.",
)
@backup_dir_option
@click.option(
    "--keep-backups",
    type=click.IntRange(min=1),
    default=DEFAULT_KEEP_BACKUPS,
    show_default=True,
    envvar="OIDCSETUP_KEEP_BACKUPS",
    show_envvar=True,
    help="Backups kept per target: config.ini.php's beside it, the database's in --backup-dir "
    "(older ones are removed after a write).",
)
@matomo_settings_options
@click.pass_obj
def apply_matomo_command(app: AppContext, **kwargs: Any) -> None:
    """Apply the login plugin's settings to Matomo: print a plan, then write (or --dry-run/--check).

    Writes exactly what `gen matomo` generates, the way Matomo stores it: into config.ini.php
    (--config) and/or the plugin_setting table (--db), or through Matomo's HTTP API (--api). A second run reports "in sync" and
    writes nothing. Previous values are backed up first; --restore puts them back.
    """
    kwargs["use_db"] = database_requested(kwargs["use_db"], kwargs["from_config"])
    _run(app, **kwargs)


# --------------------------------------------------------------------------------------------


def _run(
    app: AppContext,
    *,
    config_path: Path | None,
    use_db: bool,
    dsn: str | None,
    from_config: Path | None,
    api: str | None,
    overwrite_secret: bool,
    dry_run: bool,
    check: bool,
    activate: bool,
    links: tuple[str, ...],
    restore: Path | None,
    prune: bool,
    force: bool,
    show_secrets: bool,
    secret_as_env: str | None,
    backup_dir: Path | None,
    keep_backups: int,
    **integration_options: Any,
) -> None:
    from oidcsetup.apps.matomo.apply import ApplyOptions

    if dry_run and check:
        raise UsageError("--dry-run and --check exclude each other", hint="use one of them")
    if dsn and from_config:
        raise UsageError(
            "--dsn and --from-config exclude each other", hint="give the database one way"
        )
    if api is not None:
        _refuse_with_api(config_path, use_db, links, prune)
    elif overwrite_secret:
        raise UsageError(
            "--overwrite-secret is for --api", hint="the other targets compare the secret"
        )
    elif not config_path and not use_db:
        raise UsageError(
            "no target: give --config PATH and/or --db, or --api URL",
            hint="e.g. --config /var/www/matomo/config/config.ini.php, or --db --from-config PATH",
        )
    if activate and not config_path:
        raise UsageError(
            "--activate edits config.ini.php's plugin lists: give --config PATH",
            hint="or run ./console plugin:activate LoginOIDC in Matomo's folder",
        )
    if links and not use_db:
        raise UsageError(
            "--link writes to the database: add --db", hint="with --dsn or --from-config"
        )
    parsed_links = tuple(_parse_link(item) for item in links)
    if secret_as_env and not config_path:
        raise UsageError(
            "--secret-as-env needs --config: the database cannot hold an environment reference",
            hint="PHP expands ${NAME} only in config.ini.php",
        )
    if restore is not None and config_path and use_db:
        raise UsageError("--restore restores one target: give --config or --db, not both")
    options = ApplyOptions(
        mode="check" if check else "dry-run" if dry_run else "apply",
        prune=prune,
        force=force,
        links=parsed_links,
        backup_dir=backup_dir or default_backup_dir(),
        keep_backups=keep_backups,
    )

    db: MatomoDatabase | None = None
    api_target = _open_api(app, api, overwrite_secret) if api is not None else None
    try:
        if use_db:
            db = _connect(app, dsn=dsn, from_config=from_config, config_path=config_path)
        if restore is not None and api_target is not None:
            from oidcsetup.apps.matomo.apitarget import backup_plugin
            from oidcsetup.apps.matomo.apply import restore as restore_target

            api_target.use_plugin(backup_plugin(restore))
            report = restore_target(api_target, restore, options)
        elif restore is not None:
            choice = _choose_plugin(app, integration_options, config_path or from_config, db)
            report = _restore(restore, config_path, db, options, choice.plugin)
        else:
            report = _apply(
                app,
                integration_options,
                options,
                config_path=config_path,
                db=db,
                api_target=api_target,
                from_config=from_config,
                activate=activate,
                show_secrets=show_secrets,
                secret_as_env=secret_as_env,
            )
    finally:
        if db is not None:
            db.close()
    drift = report.drift
    _render(app, report, show_secrets=show_secrets, drift=drift, plans_shown=report.mode == "apply")
    if check and drift:
        raise click.exceptions.Exit(3)


def _refuse_with_api(
    config_path: Path | None, use_db: bool, links: tuple[str, ...], prune: bool
) -> None:
    """What --api cannot be combined with, said plainly (usage errors, exit 2)."""
    if links:
        raise UsageError(
            "--link needs the database: Matomo's API cannot write Login OIDC's links "
            "(table loginoidc_provider)",
            hint="link with --db --link LOGIN=SUBJECT, with Matomo's 'Link account' button, "
            "or turn on --auto-linking (subject = Matomo login)",
        )
    if config_path or use_db:
        raise UsageError(
            "--api is a target of its own: give it without --config or --db",
            hint="run apply once per target",
        )
    if prune:
        raise UsageError(
            "--prune has nothing to remove through the API: it lists only the plugin's own "
            "settings",
            hint="drop --prune (misspelt settings live in config.ini.php or the database)",
        )


def _open_api(app: AppContext, url: str, overwrite_secret: bool) -> ApiTarget:
    """Matomo's API as a target: the URL checked and the token taken now (before anything is
    planned), the password only when something is written."""
    import os

    from oidcsetup.apps.matomo.api import (
        PASSWORD_ENV,
        TOKEN_ENV,
        ApiCredentials,
        MatomoApi,
        api_url,
        credential,
    )
    from oidcsetup.apps.matomo.apitarget import ApiTarget

    api_url(url)  # a bad URL is a usage error before anything is asked
    prompt = terminal_prompt()
    token = credential(TOKEN_ENV, os.environ, prompt, "Matomo's token_auth")
    return ApiTarget(
        MatomoApi(url, ApiCredentials(token), app.network),
        overwrite_secret=overwrite_secret,
        password=lambda: credential(
            PASSWORD_ENV, os.environ, prompt, "the super user's Matomo password"
        ),
    )


def _api_plugin(
    app: AppContext, api_target: ApiTarget, integration_options: dict[str, Any]
) -> PluginChoice:
    """The plugin configured through the API (apps/matomo/plugins.py), said on stderr when the
    tool chose it."""
    from oidcsetup.apps.matomo.apitarget import api_plugin
    from oidcsetup.cli.appside import settings_overrides

    said = app.integration(settings_overrides(integration_options)).matomo.plugin
    choice = api_plugin(api_target.api, said)
    if choice.note:
        app.output.info(choice.note)
    api_target.use_plugin(choice.plugin)
    return choice


def _parse_link(item: str) -> tuple[str, str]:
    login, sep, subject = item.partition("=")
    if not sep or not login.strip() or not subject.strip():
        raise UsageError(
            f"--link {item!r}: expected LOGIN=SUBJECT", hint="e.g. --link admin=3f2a9c1e"
        )
    return login.strip(), subject.strip()


def _connect(
    app: AppContext, *, dsn: str | None, from_config: Path | None, config_path: Path | None
) -> MatomoDatabase:
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.apps.matomo.database.dsn import resolve_db_settings

    settings = resolve_db_settings(
        dsn=dsn, from_config=from_config, config_path=config_path, prompt=prompt_database_password
    )
    with app.output.spinner(f"connecting to {settings.where}"):
        db = MatomoDatabase.connect(settings)
    db.schema()  # a missing plugin_setting table is an error before anything is planned
    return db


def _restore(
    backup: Path,
    config_path: Path | None,
    db: MatomoDatabase | None,
    options: ApplyOptions,
    plugin: Any,
) -> ApplyReport:
    from oidcsetup.apps.matomo.apply import restore
    from oidcsetup.apps.matomo.targets import ConfigFileTarget, DatabaseTarget

    if db is not None:
        return restore(DatabaseTarget(db), backup, options)
    assert config_path is not None
    return restore(ConfigFileTarget(config_path, plugin=plugin), backup, options)


def _choose_plugin(
    app: AppContext,
    integration_options: dict[str, Any],
    config_file: Path | None,
    db: MatomoDatabase | None,
) -> Any:
    """The plugin to configure: the profile's (flag, env), else the one active in the target,
    said on stderr; the database connection then reads and writes that plugin's rows."""
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.apps.matomo.detect import choose_for_targets
    from oidcsetup.cli.appside import settings_overrides

    said = app.integration(settings_overrides(integration_options)).matomo.plugin
    config = MatomoConfig.load(config_file) if config_file is not None and said is None else None
    choice = choose_for_targets(said, config, db)
    if choice.note:
        app.output.info(choice.note)
    if db is not None:
        db.for_plugin(choice.plugin)
    return choice


def _apply(
    app: AppContext,
    integration_options: dict[str, Any],
    options: ApplyOptions,
    *,
    config_path: Path | None,
    db: MatomoDatabase | None,
    api_target: ApiTarget | None,
    from_config: Path | None,
    activate: bool,
    show_secrets: bool,
    secret_as_env: str | None,
) -> ApplyReport:
    from oidcsetup.apps.matomo.apply import MatomoTargets, plan_apply, write_apply
    from oidcsetup.apps.matomo.targets import ConfigFileTarget, DatabaseTarget

    prompt = prompt_client_secret if sys.stdin.isatty() else None
    if api_target is not None:  # the plugin the profile names, else the one this Matomo runs
        choice = _api_plugin(app, api_target, integration_options)
    else:
        choice = _choose_plugin(app, integration_options, config_path or from_config, db)
    integration_options = {**integration_options, "plugin": choice.plugin.key}
    integration, desired, _ = build_settings(app, integration_options, secret_as_env, prompt)
    targets = MatomoTargets(
        config=ConfigFileTarget(config_path, activate=activate, plugin=choice.plugin)
        if config_path
        else None,
        database=DatabaseTarget(db) if db is not None else None,
        from_config=from_config,
        api=api_target,
    )
    report = plan_apply(integration, desired, targets, options)
    report.plugin["chosen"] = choice.to_json()
    if not options.write:
        return report
    if report.blocked:
        assert report.refused is not None
        if not app.json_mode:  # --json: the error document says it (one JSON document only)
            _render(app, report, show_secrets=show_secrets, drift=True)
        raise ValidationError(report.refused["message"], hint=report.refused["hint"])
    if not app.json_mode:
        _render_plans(app, report, show_secrets)
    try:
        write_apply(report, desired, targets, options)
    except Exception:
        if report.written_before_failure:
            app.output.warn(
                "already written before the failure: " + "; ".join(report.written_before_failure),
                code="partly-written",
            )
        raise
    return report


# --- rendering ---------------------------------------------------------------------------------


def _render(
    app: AppContext,
    report: ApplyReport,
    *,
    show_secrets: bool,
    drift: bool,
    plans_shown: bool = False,
) -> None:
    out = app.output
    if app.json_mode:
        out.json(report.to_json(show_secrets))
        if report.refused is None or report.refused.get("forced") or report.mode != "apply":
            _warn_all(out, report)
        return
    if not plans_shown:  # an apply shows them before it writes
        _render_plans(app, report, show_secrets)
    # An in-sync run says so in one line on stdout (the --json document keeps the full plan).
    no_changes = not drift and report.mode != "restore"
    if not no_changes:
        _render_outcome(app, report)
    config_state = report.plugin.get("config")
    module = report.plugin.get("chosen", {}).get("module", "LoginOIDC")
    if config_state is not None and not config_state.get("activated") and not report.activation:
        out.warn(
            f"{module} is not in the config's Plugins[] list",
            hint=f"add --activate, or run ./console plugin:activate {module}",
            code="plugin-not-activated",
        )
    if report.read_only:
        from oidcsetup.apps.matomo.settings import SETTING_NAMES

        names = (
            f"all {len(SETTING_NAMES)} Login OIDC settings"
            if set(report.read_only) >= set(SETTING_NAMES)
            else ", ".join(report.read_only)
        )
        out.info(
            "read-only in Matomo: config.ini.php pins " + names + " (hidden from Matomo's "
            "settings screen and API; use --db instead to keep them editable there)"
        )
    _warn_all(out, report)
    if no_changes:
        out.text("No changes.")


def _warn_all(out: Any, report: ApplyReport) -> None:
    """The report's warnings, and a refusal that did not stop the run, on stderr."""
    for warning in report.warnings:
        out.warn(warning["message"], warning.get("hint"), code=warning["code"])
    refused = report.refused
    if refused and (report.mode != "apply" or refused.get("forced")):
        forced = " (overridden by --force)" if refused.get("forced") else ""
        out.warn(refused["message"] + forced, refused["hint"], code=refused["code"])


def _render_outcome(app: AppContext, report: ApplyReport) -> None:
    """What each target, link and activation came to (text mode; stderr)."""
    out = app.output
    module = report.plugin.get("chosen", {}).get("module", "LoginOIDC")
    for plan, target in zip(report.plans, report.targets, strict=False):
        if plan.in_sync:
            out.info(f"{plan.target}: in sync, nothing to write")
        elif target.get("written"):
            backup = target.get("backup")
            out.info(
                f"{plan.target}: wrote {len(plan.pending)} change(s)"
                + (f"; previous values saved to {backup}" if backup else "")
            )
        elif report.mode in ("check", "dry-run"):
            out.info(
                f"{plan.target}: {len(plan.pending)} change(s) pending ({report.mode}: nothing written)"
            )
    if report.link:
        for item in report.link.get("all", [report.link]):
            verb = {
                "added": "link added",
                "changed": "link changed",
                "unchanged": "already linked",
            }[item["action"]]
            tail = (
                ""
                if report.mode == "apply" or item["action"] == "unchanged"
                else f" ({report.mode}: not written)"
            )
            out.info(f"{item['login']} -> {item['subject']}: {verb}{tail}")
    if report.activation:
        act = report.activation
        if act.get("already_active"):
            out.info(f"{module} is already in Plugins[]")
        else:
            out.info(f"{module} activation: added to {', '.join(act.get('added_to', []))}")
            out.info("  note: " + act.get("note", ""))


def _render_plans(app: AppContext, report: ApplyReport, show_secrets: bool) -> None:
    """The plan tables (text mode), printed before anything is written."""
    from oidcsetup.apps.matomo.apply import shown_value
    from oidcsetup.apps.matomo.plan import Action

    out = app.output
    for plan in report.plans:
        if plan.in_sync:
            continue  # nothing to show: the outcome line (or "No changes.") says so
        rows = []
        for change in plan.changes:
            if change.action is Action.UNCHANGED:
                continue  # counted in the title; the --json document lists them
            old = shown_value(change.setting, change.old, show_secrets)
            new = shown_value(change.setting, change.new, show_secrets)
            shown = (
                f"{_short(old)} -> {_short(new)}"
                if old is not None and new is not None
                else _short(new if new is not None else old)
            )
            rows.append([change.setting, change.action.value, shown])
        counts = {a: sum(1 for c in plan.changes if c.action is a) for a in Action}
        summary = ", ".join(f"{n} {a.value}" for a, n in counts.items() if n)
        out.table(
            ["setting", "action", "value"], rows, title=f"{plan.target}: {summary or 'no settings'}"
        )


def _short(value: str | None, limit: int = 60) -> str:
    if value is None:
        return "(absent)"
    text = value.replace("\n", "\\n")
    if text == "":
        return '""'
    return text if len(text) <= limit else text[: limit - 3] + "..."
