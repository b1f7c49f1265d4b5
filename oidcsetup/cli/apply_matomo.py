"""``oidcsetup apply matomo``: plan, then write Login OIDC's settings to config.ini.php and/or the DB.

Thin: parse options, build the Integration, call configfile.py / database.py, render the plan.
The JSON document of ``--json`` is described in docs/apply.md.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.gen_matomo import build_settings, matomo_settings_options
from oidcsetup.cli.options import database_requested
from oidcsetup.cli.secret import prompt_client_secret
from oidcsetup.errors import InputError, UsageError, ValidationError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, rotate_like

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.apps.matomo.database.dsn import DbSettings
    from oidcsetup.apps.matomo.plan import Plan


def default_backup_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "oidcsetup" / "backups"


EPILOG = """\b
Examples:
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --dry-run
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --activate
  oidcsetup apply matomo --db --from-config /var/www/matomo/config/config.ini.php --check
  OIDCSETUP_DB_PASSWORD=... oidcsetup apply matomo --db --dsn mysql://matomo@127.0.0.1:3306/matomo
  oidcsetup apply matomo --db --from-config config.ini.php --link admin=3f2a9c1e-...
  oidcsetup apply matomo --db --from-config config.ini.php --restore BACKUP.json

\b
The database password comes from $OIDCSETUP_DB_PASSWORD, the Matomo config file, or a prompt;
never from the command line. It goes only to a server verified by TLS (ssl=1, enable_ssl) or
over a socket, unless as a challenge-response. A ${VAR} in [database] is refused unless named
in $OIDCSETUP_DB_CONFIG_ENV. Exit codes: 0 applied or in sync, 1 failure, 2 usage error,
3 --check found drift, 4 database unreachable.
"""


@dataclass
class _Report:
    """Everything the command found and did, rendered as text or as the --json document."""

    mode: str
    targets: list[dict[str, Any]] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    plugin: dict[str, Any] = field(default_factory=dict)
    link: dict[str, Any] | None = None
    activation: dict[str, Any] | None = None
    overridden: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, Any] | None = None
    read_only: list[str] = field(default_factory=list)  # pinned in config.ini.php
    superuser_rail: dict[str, Any] | None = None
    plans_shown: bool = False

    def warn(self, code: str, message: str, hint: str | None = None) -> None:
        self.warnings.append({"code": code, "message": message, "hint": hint})


@click.command("matomo", epilog=EPILOG)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Target: Matomo's config/config.ini.php, edited in place ([LoginOIDC] only).",
)
@click.option(
    "--db", "use_db", is_flag=True, help="Target: the plugin_setting table in Matomo's database."
)
@click.option(
    "--dsn",
    envvar="OIDCSETUP_DB_DSN",
    show_envvar=True,
    help="mysql://USER@HOST:PORT/DB[?prefix=matomo_&socket=PATH] (no password in it).",
)
@click.option(
    "--from-config",
    "from_config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the database connection from this config.ini.php's [database] section.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--check", is_flag=True, help="Print the plan; exit 3 when anything would change.")
@click.option(
    "--activate",
    is_flag=True,
    help="Add LoginOIDC to Plugins[] (never PluginsInstalled[]: Matomo installs the plugin "
    "on its next page load). Needs --config.",
)
@click.option(
    "--link",
    "links",
    multiple=True,
    metavar="LOGIN=SUBJECT",
    help="Link a Matomo user to a provider subject (loginoidc_provider; needs --db).",
)
@click.option(
    "--restore",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="BACKUP",
    help="Put back a backup made by an earlier apply (one target).",
)
@click.option("--prune", is_flag=True, help="Also remove [LoginOIDC] settings/rows not generated.")
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
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="OIDCSETUP_BACKUP_DIR",
    show_envvar=True,
    help="Where database backups go (mode 0600). Default: ~/.local/state/oidcsetup/backups.",
)
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
    """Apply the Login OIDC settings to Matomo: print a plan, then write (or --dry-run/--check).

    Writes exactly what `gen matomo` generates, the way Matomo stores it: into config.ini.php
    (--config) and/or the plugin_setting table (--db). A second run reports "in sync" and
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
    if dry_run and check:
        raise UsageError("--dry-run and --check exclude each other", hint="use one of them")
    if dsn and from_config:
        raise UsageError(
            "--dsn and --from-config exclude each other", hint="give the database one way"
        )
    if not config_path and not use_db:
        raise UsageError(
            "no target: give --config PATH and/or --db",
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
    parsed_links = [_parse_link(item) for item in links]
    if secret_as_env and not config_path:
        raise UsageError(
            "--secret-as-env needs --config: the database cannot hold an environment reference",
            hint="PHP expands ${NAME} only in config.ini.php",
        )
    mode = "check" if check else "dry-run" if dry_run else "apply"
    report = _Report(mode="restore" if restore else mode)

    db: MatomoDatabase | None = None
    try:
        if use_db:
            db = _connect(app, dsn=dsn, from_config=from_config, config_path=config_path)
        if restore is not None:
            _restore(
                app,
                report,
                restore,
                config_path,
                db,
                write=mode == "apply",
                backup_dir=backup_dir or default_backup_dir(),
                keep_backups=keep_backups,
                force=force,
            )
        else:
            _apply(
                app,
                report,
                integration_options,
                config_path=config_path,
                db=db,
                from_config=from_config,
                links=parsed_links,
                activate=activate,
                prune=prune,
                force=force,
                show_secrets=show_secrets,
                secret_as_env=secret_as_env,
                backup_dir=backup_dir or default_backup_dir(),
                write=mode == "apply",
                keep_backups=keep_backups,
            )
    finally:
        if db is not None:
            db.close()
    drift = (
        any(not p.in_sync for p in report.plans)
        or bool(report.link and report.link["action"] != "unchanged")
        or bool(report.activation and not report.activation.get("already_active", True))
    )
    _render(app, report, show_secrets=show_secrets, drift=drift)
    if check and drift:
        raise click.exceptions.Exit(3)


def _parse_link(item: str) -> tuple[str, str]:
    login, sep, subject = item.partition("=")
    if not sep or not login.strip() or not subject.strip():
        raise UsageError(
            f"--link {item!r}: expected LOGIN=SUBJECT", hint="e.g. --link admin=3f2a9c1e"
        )
    return login.strip(), subject.strip()


def _prompt_password() -> str | None:
    if not sys.stdin.isatty():
        return None
    value: str = click.prompt(
        "Database password", hide_input=True, default="", show_default=False, err=True
    )
    return value


def _db_settings(dsn: str | None, from_config: Path | None, config_path: Path | None) -> DbSettings:
    from oidcsetup.apps.matomo.database.dsn import resolve_db_settings

    return resolve_db_settings(
        dsn=dsn, from_config=from_config, config_path=config_path, prompt=_prompt_password
    )


def _connect(
    app: AppContext, *, dsn: str | None, from_config: Path | None, config_path: Path | None
) -> MatomoDatabase:
    from oidcsetup.apps.matomo.database import MatomoDatabase

    settings = _db_settings(dsn, from_config, config_path)
    with app.output.spinner(f"connecting to {settings.where}"):
        db = MatomoDatabase.connect(settings)
    db.schema()  # a missing plugin_setting table is an error before anything is planned
    return db


# --- restore -----------------------------------------------------------------------------------


def _restore(
    app: AppContext,
    report: _Report,
    backup: Path,
    config_path: Path | None,
    db: MatomoDatabase | None,
    *,
    write: bool,
    backup_dir: Path,
    keep_backups: int,
    force: bool = False,
) -> None:
    from oidcsetup.apps.matomo.plan import diff_settings

    if config_path and db:
        raise UsageError("--restore restores one target: give --config or --db, not both")
    if db is not None:
        from oidcsetup.apps.matomo.database.rows import flatten_rows

        saved = db.backup_rows(backup, force=force)  # another database/prefix: refused
        if not write:
            plan = diff_settings(
                db.read_settings(), flatten_rows(saved), prune=True, target=db.target
            )
            report.plans.append(plan)
            report.targets.append(
                {
                    **plan.to_json(True),
                    "written": False,
                    "backup": None,
                    "restored_from": str(backup),
                }
            )
            return
        result = db.restore(backup, backup_dir=backup_dir, force=force)
        if result.backup is not None:
            rotate_like(result.backup, keep_backups)
        report.plans.append(result.plan)
        report.targets.append({**result.to_json(True), "restored_from": str(backup)})
        return
    assert config_path is not None
    from oidcsetup.apps.matomo.configfile import restore_config

    # Only [LoginOIDC] is put back (what the plan shows); the rest of the file stays as it is.
    restored = restore_config(config_path, backup, dry_run=not write, keep_backups=keep_backups)
    report.plans.append(restored.plan)
    report.targets.append(
        {
            **restored.plan.to_json(True),
            "written": restored.written,
            "backup": str(restored.backup) if restored.backup else None,
            "restored_from": str(backup),
        }
    )


# --- apply -------------------------------------------------------------------------------------


def _apply(
    app: AppContext,
    report: _Report,
    integration_options: dict[str, Any],
    *,
    config_path: Path | None,
    db: MatomoDatabase | None,
    from_config: Path | None,
    links: list[tuple[str, str]],
    activate: bool,
    prune: bool,
    force: bool,
    show_secrets: bool,
    secret_as_env: str | None,
    backup_dir: Path,
    write: bool,
    keep_backups: int,
) -> None:
    from oidcsetup.apps.matomo.configfile import MatomoConfig, apply_config
    from oidcsetup.apps.matomo.settings import (
        SECRET_SETTING,
        SETTING_NAMES,
        EnvRef,
        setting_warnings,
        stored_form,
    )

    prompt = prompt_client_secret if sys.stdin.isatty() else None
    integration, desired, _ = build_settings(app, integration_options, secret_as_env, prompt)

    # What is there now, per target: config.ini.php parsed once (the dry run, the checks below
    # and the write all use this parse; the write refuses if the file changed since), the
    # database's rows read once (the write re-plans under its lock).
    config_plan = None
    config_doc = MatomoConfig.load(config_path) if config_path else None
    config_current = config_doc.current_settings() if config_doc else None
    if config_path:
        dry = apply_config(
            config_path, desired, prune=prune, activate=activate, dry_run=True, current=config_doc
        )
        config_plan = dry.plan
        for kept in dry.kept_references:
            report.warn(
                "secret-reference-kept",
                f"config.ini.php keeps {kept}: the reference you chose is not replaced by the "
                "plaintext; Matomo reads the secret from that variable",
                "make sure the variable holds the client secret in Matomo's environment, or "
                "remove the line to have the plaintext written",
            )
        if dry.activation is not None:
            report.activation = dry.activation.to_json()
    desired_db = {k: stored_form(v) for k, v in desired.items() if not isinstance(v, EnvRef)}
    db_current, db_plan = (
        db.read_and_plan(desired_db, prune=prune, known=SETTING_NAMES) if db else (None, None)
    )

    # Plugin state.
    source_config = config_doc or (MatomoConfig.load(from_config) if from_config else None)
    if source_config is not None:
        report.plugin["config"] = source_config.plugin_state().to_json()
    if db is not None:
        from oidcsetup.apps.matomo.safety import install_findings, plugin_installs

        report.plugin["database"] = db.plugin_state().to_json()
        installs = plugin_installs(
            db,
            source_config.plugin_state() if source_config is not None else None,
            source_config.path if source_config is not None else None,
        )
        report.plugin["installs"] = [i.to_json() for i in installs]
        for finding in install_findings(installs):
            report.warnings.append(finding.to_json())
        missing = [i for i in installs if i.plugin == "LoginOIDC" and not i.table_exists]
        if links and missing and missing[0].problem != "install-pending":
            blocker = missing[0].finding()
            assert blocker is not None
            raise InputError(
                f"--link needs table {missing[0].table}: {blocker.message}", blocker.hint
            )

    # A value pinned in config.ini.php wins over the database (SystemSetting): say so.
    if db_plan is not None and source_config is not None:
        pinned = source_config.current_settings()
        if config_path:  # the file is a target too: it will hold what we write
            pinned = {**pinned, **{k: stored_form(v) for k, v in desired.items()}}
        for name, value in pinned.items():
            if name in desired_db and value != desired_db[name]:
                report.overridden.append(
                    {"setting": name, "config": value, "database": desired_db[name]}
                )
        if report.overridden:
            names = ", ".join(o["setting"] for o in report.overridden)
            report.warn(
                "config-overrides-database",
                f"config.ini.php [LoginOIDC] sets {names} to other values than the database gets; "
                "Matomo uses the config file's values",
                "apply to the config file too (--config PATH), or remove those keys from it",
            )

    # The config file pins what it holds: Matomo hides those settings from its screen.
    if config_doc is not None:
        from oidcsetup.apps.matomo.settings import pinned_settings

        report.read_only = pinned_settings(config_current or {}, desired, prune=prune)
    # ${NAME} that Matomo's own rewrite of the file turned into a literal or "".
    if config_doc is not None:
        from oidcsetup.apps.matomo.settings import secret_reference_drift

        held = config_doc.login_oidc_values().get(SECRET_SETTING)
        drift_found = secret_reference_drift(
            desired,
            held.decoded if held is not None else None,
            held is not None and held.is_env_reference,
        )
        if drift_found is not None:
            report.warnings.append(drift_found.to_json())

    # Warnings about the settings themselves.
    current_secret = None
    if config_current is not None:  # the plan covers desired settings only: read the file itself
        current_secret = config_current.get(SECRET_SETTING)
    if db_current is not None and not current_secret:
        current_secret = db_current.get(SECRET_SETTING)
    for warning in setting_warnings(integration, desired):
        if warning.code == "no-client-secret" and current_secret:
            report.warn(
                "client-secret-unmanaged",
                "no client secret given: the secret already stored in Matomo is kept as it is",
                "set OIDCSETUP_CLIENT_SECRET (or client.secret in the profile) to manage it",
            )
            continue
        if warning.code == "disable-superuser":
            continue  # the safety rail below says it precisely
        report.warnings.append(warning.to_json())
    if not prune:  # a typo'd key (clientsecret) is silently ignored by Matomo: say so
        stored = (
            [("config.ini.php [LoginOIDC]", config_current)] if config_current is not None else []
        )
        if db is not None and db_current is not None:
            stored.append((db.target.removeprefix("db:"), db_current))
        for where, current in stored:
            unknown = sorted(set(current) - set(SETTING_NAMES))
            if unknown:
                report.warn(
                    "unknown-setting",
                    f"{where} holds setting(s) the plugin does not know: {', '.join(unknown)}",
                    "fix the spelling, or remove them with --prune",
                )

    # Links (dry run first: the safety rail counts a super user linked in this same run).
    link_results = (
        [db.link(login, subject, dry_run=True, force=force) for login, subject in links]
        if db
        else []
    )

    # Safety rail: disableSuperuser refuses the OIDC login of super users; one with no usable
    # password (created by OIDC signup) would then be locked out (apps/matomo/safety.py).
    plans = [p for p in (config_plan, db_plan) if p is not None]
    turning_on = any(
        c.setting == "disableSuperuser" and c.new == "1" and c.action.value in ("added", "changed")
        for p in plans
        for c in p.pending
    )
    if turning_on:
        from oidcsetup.apps.matomo.safety import superuser_rail

        rail = superuser_rail(db, (r.login for r in link_results if r.superuser))
        report.superuser_rail = rail.to_json()
        refusal = rail.refusal()
        if refusal is not None:
            report.refused = {**refusal.to_json(), "forced": force}
        for warning in rail.warnings():
            report.warnings.append(warning.to_json())

    report.plans.extend(plans)
    if not write:
        if config_plan is not None:
            report.targets.append({**config_plan.to_json(True), "written": False, "backup": None})
        if db_plan is not None:
            report.targets.append({**db_plan.to_json(True), "written": False, "backup": None})
        if link_results:
            report.link = link_results[-1].to_json()
            report.link["all"] = [r.to_json() for r in link_results]
        return
    if report.refused and not force:
        if not app.json_mode:  # --json: the error document says it (one JSON document only)
            _render(app, report, show_secrets=show_secrets, drift=True)
        raise ValidationError(report.refused["message"], hint=report.refused["hint"])

    if not app.json_mode:
        _render_plans(app, report, show_secrets)
    # Write: links, then the database (one transaction), then the config file (atomic rename).
    done: list[str] = []
    try:
        if db is not None:
            link_results = [db.link(login, subject, force=force) for login, subject in links]
            if link_results:
                done.append("links")
            db_result = db.apply(
                desired_db,
                prune=prune,
                known=SETTING_NAMES,
                backup_dir=backup_dir,
                expected=db_plan,  # the plan shown above: anything else is refused
            )
            report.plans[report.plans.index(db_plan)] = db_result.plan  # type: ignore[arg-type]
            report.targets.append(db_result.to_json(True))
            if db_result.backup is not None:
                rotate_like(db_result.backup, keep_backups)
            if db_result.written:
                done.append(f"database (backup {db_result.backup})")
        if config_path is not None:
            result = apply_config(
                config_path,
                desired,
                prune=prune,
                activate=activate,
                current=config_doc,
                keep_backups=keep_backups,
            )
            report.targets.insert(
                0,
                {
                    **result.plan.to_json(True),
                    "written": result.written,
                    "backup": str(result.backup) if result.backup else None,
                },
            )
            if result.activation is not None:
                report.activation = result.activation.to_json()
    except Exception:
        if done:
            app.output.warn(
                "already written before the failure: " + "; ".join(done), code="partly-written"
            )
        raise
    if link_results:
        report.link = link_results[-1].to_json()
        report.link["all"] = [r.to_json() for r in link_results]


# --- rendering ---------------------------------------------------------------------------------


def _render(app: AppContext, report: _Report, *, show_secrets: bool, drift: bool) -> None:
    out = app.output
    if app.json_mode:
        out.json(
            {
                "mode": report.mode,
                "in_sync": not drift,
                "written": any(t.get("written") for t in report.targets)
                or bool(
                    report.link and report.mode == "apply" and report.link["action"] != "unchanged"
                ),
                "targets": [_masked_target(t, show_secrets) for t in report.targets],
                "plugin": report.plugin,
                "activation": report.activation,
                "link": report.link,
                "overridden_by_config": [
                    _mask_override(o, show_secrets) for o in report.overridden
                ],
                "refused": report.refused,
                "read_only_in_matomo": report.read_only,
                "superuser_rail": report.superuser_rail,
                "warnings": report.warnings,
            }
        )
        if report.refused is None or report.refused.get("forced") or report.mode != "apply":
            _warn_all(out, report)
        return
    if not report.plans_shown:
        _render_plans(app, report, show_secrets)
    # An in-sync run says so in one line on stdout (the --json document keeps the full plan).
    no_changes = not drift and report.mode != "restore"
    if not no_changes:
        _render_outcome(app, report)
    config_state = report.plugin.get("config")
    if config_state is not None and not config_state.get("activated") and not report.activation:
        out.warn(
            "LoginOIDC is not in the config's Plugins[] list",
            hint="add --activate, or run ./console plugin:activate LoginOIDC",
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


def _warn_all(out: Any, report: _Report) -> None:
    """The report's warnings, and a refusal that did not stop the run, on stderr."""
    for warning in report.warnings:
        out.warn(warning["message"], warning.get("hint"), code=warning["code"])
    refused = report.refused
    if refused and (report.mode != "apply" or refused.get("forced")):
        forced = " (overridden by --force)" if refused.get("forced") else ""
        out.warn(refused["message"] + forced, refused["hint"], code=refused["code"])


def _render_outcome(app: AppContext, report: _Report) -> None:
    """What each target, link and activation came to (text mode; stderr)."""
    out = app.output
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
            out.info("LoginOIDC is already in Plugins[]")
        else:
            out.info(f"LoginOIDC activation: added to {', '.join(act.get('added_to', []))}")
            out.info("  note: " + act.get("note", ""))


def _render_plans(app: AppContext, report: _Report, show_secrets: bool) -> None:
    """The plan tables (text mode), printed before anything is written."""
    from oidcsetup.apps.matomo.plan import Action

    out = app.output
    report.plans_shown = True
    for plan in report.plans:
        if plan.in_sync:
            continue  # nothing to show: the outcome line (or "No changes.") says so
        rows = []
        for change in plan.changes:
            if change.action is Action.UNCHANGED:
                continue  # counted in the title; the --json document lists them
            old = _shown(change.setting, change.old, show_secrets)
            new = _shown(change.setting, change.new, show_secrets)
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


def _masked_target(target: dict[str, Any], show_secrets: bool) -> dict[str, Any]:
    from oidcsetup.apps.matomo.plan import looks_secret

    if show_secrets:
        return target
    changes = []
    for change in target.get("changes", []):
        if looks_secret(change["setting"]):
            change = {
                **change,
                "old": _shown(change["setting"], change["old"], False),
                "new": _shown(change["setting"], change["new"], False),
            }
        changes.append(change)
    return {**target, "changes": changes}


def _shown(setting: str, value: str | None, show_secrets: bool) -> str | None:
    """A value for output: the secret masked unless asked; ${NAME} references are not secret."""
    from oidcsetup.apps.matomo.plan import looks_secret
    from oidcsetup.secretref import mask

    if value is None or show_secrets or not looks_secret(setting):
        return value
    if value.startswith("${") and value.endswith("}"):
        return value
    return mask(value)


def _mask_override(item: dict[str, Any], show_secrets: bool) -> dict[str, Any]:
    return {
        **item,
        "config": _shown(item["setting"], item["config"], show_secrets),
        "database": _shown(item["setting"], item["database"], show_secrets),
    }
