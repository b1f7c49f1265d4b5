"""``apply matomo`` as a library operation: plan every target, then write exactly those plans.

:func:`plan_apply` reads each target once (``targets.py``), plans the change to the desired
settings and gathers what the user must know before anything is written: secret references kept,
the plugin's state and install, settings the config file pins over the database, settings the
plugin does not know, the links, and the safety rail for ``disableSuperuser``. It writes
nothing. :func:`write_apply` then writes: links first, then the targets from the one Matomo reads
last (the database) to the one it reads first (config.ini.php wins over the database), each
exactly as planned. :func:`restore` puts one target's backup back.

Both fill an :class:`ApplyReport`; ``to_json`` is the ``--json`` document of docs/apply.md (the
CLI renders the same value as text).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from oidcsetup.apps.matomo.targets import ConfigFileTarget, DatabaseTarget, stored_settings
from oidcsetup.errors import InputError, ValidationError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.apitarget import ApiTarget
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.apps.matomo.database.links import LinkResult
    from oidcsetup.apps.matomo.plan import Plan
    from oidcsetup.apps.matomo.settings import SettingValue
    from oidcsetup.apps.matomo.targets import SettingsTarget
    from oidcsetup.integration import Integration

Mode = Literal["apply", "dry-run", "check", "restore"]


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: ``mode`` "apply" writes, "dry-run" and "check" only plan."""

    mode: Mode = "apply"
    prune: bool = False  # also remove settings the Integration does not generate
    force: bool = False  # override the safety rails
    links: tuple[tuple[str, str], ...] = ()  # (Matomo login, provider subject)
    backup_dir: Path | None = None  # the database's backups (config.ini.php's go beside it)
    keep_backups: int = DEFAULT_KEEP_BACKUPS

    @property
    def write(self) -> bool:
        return self.mode == "apply"


@dataclass
class MatomoTargets:
    """The targets of one run, and the config.ini.php the database connection was read from
    (``--from-config``: that Matomo's file, for the plugin's state and pinned settings)."""

    config: ConfigFileTarget | None = None
    database: DatabaseTarget | None = None
    from_config: Path | None = None
    api: ApiTarget | None = None  # Matomo's HTTP API: a target of its own (not with the others)

    def in_precedence(self) -> list[SettingsTarget]:
        """The targets in the order Matomo reads them, the winning one first (a value in
        config.ini.php wins over the database's: ``SystemSetting``)."""
        return [t for t in (self.config, self.database, self.api) if t is not None]

    def source_config(self) -> MatomoConfig | None:
        if self.config is not None:
            return self.config.document
        if self.from_config is None:
            return None
        from oidcsetup.apps.matomo.configfile import MatomoConfig

        return MatomoConfig.load(self.from_config)


@dataclass
class ApplyReport:
    """Everything an apply found and did: the report value the CLI renders."""

    mode: Mode
    targets: list[dict[str, Any]] = field(default_factory=list)  # written or not, per target
    plans: list[Plan] = field(default_factory=list)  # in precedence order
    warnings: list[dict[str, Any]] = field(default_factory=list)
    plugin: dict[str, Any] = field(default_factory=dict)
    link: dict[str, Any] | None = None
    activation: dict[str, Any] | None = None
    overridden: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, Any] | None = None
    read_only: list[str] = field(default_factory=list)  # pinned in config.ini.php
    superuser_rail: dict[str, Any] | None = None
    # What a write had done when it failed (the caller says so): "links", "database (...)".
    written_before_failure: list[str] = field(default_factory=list)
    _planned: list[tuple[SettingsTarget, Plan]] = field(default_factory=list, repr=False)

    def warn(self, code: str, message: str, hint: str | None = None) -> None:
        self.warnings.append({"code": code, "message": message, "hint": hint})

    def set_links(self, results: list[LinkResult]) -> None:
        if results:
            self.link = results[-1].to_json()
            self.link["all"] = [r.to_json() for r in results]

    @property
    def drift(self) -> bool:
        """Anything to change (or changed): a plan, a link or the activation."""
        return (
            any(not p.in_sync for p in self.plans)
            or bool(self.link and self.link["action"] != "unchanged")
            or bool(self.activation and not self.activation.get("already_active", True))
        )

    @property
    def blocked(self) -> bool:
        """A safety rail refuses the write (and --force did not override it)."""
        return bool(self.refused and not self.refused.get("forced"))

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        """The ``apply matomo --json`` document (docs/apply.md); secrets masked unless asked."""
        drift = self.drift
        return {
            "mode": self.mode,
            "in_sync": not drift,
            "written": any(t.get("written") for t in self.targets)
            or bool(self.link and self.mode == "apply" and self.link["action"] != "unchanged"),
            "targets": [masked_target(t, show_secrets) for t in self.targets],
            "plugin": self.plugin,
            "activation": self.activation,
            "link": self.link,
            "overridden_by_config": [mask_override(o, show_secrets) for o in self.overridden],
            "refused": self.refused,
            "read_only_in_matomo": self.read_only,
            "superuser_rail": self.superuser_rail,
            "warnings": self.warnings,
        }


# --- planning ------------------------------------------------------------------------------------


def plan_apply(
    integration: Integration,
    desired: Mapping[str, SettingValue],
    targets: MatomoTargets,
    options: ApplyOptions,
) -> ApplyReport:
    """Read and plan every target; the warnings, links and rails of this run. Writes nothing.

    In "dry-run" and "check" mode the report is complete; in "apply" mode hand it to
    :func:`write_apply` (after showing its plans).
    """
    from oidcsetup.apps.matomo.plugins import plugin_named
    from oidcsetup.apps.matomo.settings import SECRET_SETTING, stored_form

    plugin = plugin_named(integration.matomo.plugin)
    report = ApplyReport(mode=options.mode)
    config, database = targets.config, targets.database
    db = database.db if database is not None else None

    # What is there now, per target: one read each (the write re-plans under its lock).
    current: list[tuple[SettingsTarget, dict[str, str]]] = []
    for target in targets.in_precedence():
        planned = target.plan(desired, prune=options.prune)
        report._planned.append((target, planned.plan))
        current.append((target, planned.current))
        if target is config:
            _config_notes(report, config)
    config_current = next((c for t, c in current if t is config), None)
    db_current = next((c for t, c in current if t is database), None)
    db_plan = next((p for t, p in report._planned if t is database), None)

    # Plugin state.
    source_config = targets.source_config()
    if source_config is not None:
        report.plugin["config"] = source_config.plugin_state().to_json()
    if db is not None:
        from oidcsetup.apps.matomo.safety import install_findings, plugin_installs

        report.plugin["database"] = db.plugin_state().to_json()
        installs = plugin_installs(
            db,
            source_config.for_plugin(plugin).plugin_state() if source_config is not None else None,
            source_config.path if source_config is not None else None,
            configured=plugin.module,
        )
        report.plugin["installs"] = [i.to_json() for i in installs]
        for finding in install_findings(installs):
            report.warnings.append(finding.to_json())
        missing = [i for i in installs if i.plugin == plugin.module and not i.table_exists]
        if options.links and missing and missing[0].problem != "install-pending":
            blocker = missing[0].finding()
            assert blocker is not None
            raise InputError(
                f"--link needs table {missing[0].table}: {blocker.message}", blocker.hint
            )

    # A value pinned in config.ini.php wins over the database (SystemSetting): say so.
    if db_plan is not None and source_config is not None:
        desired_db = stored_settings(desired)
        pinned = source_config.current_settings()
        if config is not None:  # the file is a target too: it will hold what we write
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
                f"config.ini.php [{plugin.module}] sets {names} to other values than the database gets; "
                "Matomo uses the config file's values",
                "apply to the config file too (--config PATH), or remove those keys from it",
            )

    if config is not None:
        _config_pins(report, config, config_current or {}, desired, options.prune)

    # Warnings about the settings themselves.
    current_secret = None
    if config_current is not None:  # the plan covers desired settings only: read the file itself
        current_secret = config_current.get(SECRET_SETTING)
    if db_current is not None and not current_secret:
        current_secret = db_current.get(SECRET_SETTING)
    if targets.api is not None:  # a secret Matomo's API does not show is there all the same
        if targets.api.holds_hidden_secret:
            current_secret = "(hidden by Matomo's API)"
        report.warnings.extend(w.to_json() for w in targets.api.notes(desired))
    _setting_warnings(report, integration, desired, current_secret)
    if not options.prune:  # a typo'd key (clientsecret) is silently ignored by Matomo: say so
        _unknown_settings(report, current, plugin.setting_names)
    if db is not None and isinstance(desired.get("initialIdSite"), str):
        from oidcsetup.apps.matomo.settings import check_initial_site

        check_initial_site(desired, db.site_ids())  # RebelOIDC's signup fails on an unknown site

    # Links (dry run first: the safety rail counts a super user linked in this same run).
    link_results = (
        [
            db.link(login, subject, dry_run=True, force=options.force)
            for login, subject in options.links
        ]
        if db is not None
        else []
    )
    _superuser_rail(report, db, link_results, options.force)

    report.plans.extend(p for _, p in report._planned)
    if not options.write:
        for _, plan in report._planned:
            report.targets.append({**plan.to_json(True), "written": False, "backup": None})
        report.set_links(link_results)
    return report


def _config_notes(report: ApplyReport, config: ConfigFileTarget) -> None:
    """What planning config.ini.php found: references kept, the activation."""
    for kept in config.kept_references:
        report.warn(
            "secret-reference-kept",
            f"config.ini.php keeps {kept}: the reference you chose is not replaced by the "
            "plaintext; Matomo reads the secret from that variable",
            "make sure the variable holds the client secret in Matomo's environment, or "
            "remove the line to have the plaintext written",
        )
    if config.activation is not None:
        report.activation = config.activation.to_json()


def _config_pins(
    report: ApplyReport,
    config: ConfigFileTarget,
    config_current: dict[str, str],
    desired: Mapping[str, SettingValue],
    prune: bool,
) -> None:
    """Settings config.ini.php pins (read-only in Matomo's screen), and a ``${NAME}`` that
    Matomo's own rewrite of the file turned into a literal or ""."""
    from oidcsetup.apps.matomo.settings import (
        SECRET_SETTING,
        pinned_settings,
        secret_reference_drift,
    )

    report.read_only = pinned_settings(config_current, desired, prune=prune)
    held = config.document.login_oidc_values().get(SECRET_SETTING)
    drift_found = secret_reference_drift(
        desired,
        held.decoded if held is not None else None,
        held is not None and held.is_env_reference,
    )
    if drift_found is not None:
        report.warnings.append(drift_found.to_json())


def _setting_warnings(
    report: ApplyReport,
    integration: Integration,
    desired: Mapping[str, SettingValue],
    current_secret: str | None,
) -> None:
    from oidcsetup.apps.matomo.settings import setting_warnings

    for warning in setting_warnings(integration, desired):
        if warning.code == "no-client-secret" and current_secret:
            report.warn(
                "client-secret-unmanaged",
                "no client secret given: the secret already stored in Matomo is kept as it is",
                "set OIDCSETUP_CLIENT_SECRET (or client.secret in the profile) to manage it",
            )
            continue
        if warning.code == "disable-superuser":
            continue  # the safety rail says it precisely
        report.warnings.append(warning.to_json())


def _unknown_settings(
    report: ApplyReport,
    current: list[tuple[SettingsTarget, dict[str, str]]],
    known: tuple[str, ...],
) -> None:
    for target, stored in current:
        unknown = sorted(set(stored) - set(known))
        if unknown:
            report.warn(
                "unknown-setting",
                f"{target.label} holds setting(s) the plugin does not know: {', '.join(unknown)}",
                "fix the spelling, or remove them with --prune",
            )


def _superuser_rail(
    report: ApplyReport, db: MatomoDatabase | None, link_results: list[LinkResult], force: bool
) -> None:
    """disableSuperuser refuses the OIDC login of super users; one with no usable password
    (created by OIDC signup) would then be locked out (apps/matomo/safety.py)."""
    turning_on = any(
        c.setting == "disableSuperuser" and c.new == "1" and c.action.value in ("added", "changed")
        for _, plan in report._planned
        for c in plan.pending
    )
    if not turning_on:
        return
    from oidcsetup.apps.matomo.safety import superuser_rail

    rail = superuser_rail(db, (r.login for r in link_results if r.superuser))
    report.superuser_rail = rail.to_json()
    refusal = rail.refusal()
    if refusal is not None:
        report.refused = {**refusal.to_json(), "forced": force}
    for warning in rail.warnings():
        report.warnings.append(warning.to_json())


# --- writing -------------------------------------------------------------------------------------


def write_apply(
    report: ApplyReport,
    desired: Mapping[str, SettingValue],
    targets: MatomoTargets,
    options: ApplyOptions,
) -> None:
    """Write what :func:`plan_apply` planned: links, then each target from the one Matomo reads
    last to the one it reads first, each exactly as planned (a target refuses when what it
    holds changed since). ``report.written_before_failure`` says what was done when this raises.
    """
    if report.blocked:
        assert report.refused is not None
        raise ValidationError(report.refused["message"], hint=report.refused["hint"])
    done = report.written_before_failure
    database = targets.database
    link_results: list[LinkResult] = []
    if database is not None:
        link_results = [
            database.db.link(login, subject, force=options.force)
            for login, subject in options.links
        ]
        if link_results:
            done.append("links")
    written: list[dict[str, Any]] = []
    for target, plan in _lowest_precedence_first(report):
        result = target.write(
            desired,
            prune=options.prune,
            expected=plan,
            backup_dir=options.backup_dir,
            keep_backups=options.keep_backups,
        )
        report.plans[report.plans.index(plan)] = result.plan
        written.insert(0, result.to_json())
        if result.written:
            done.append(f"{target.kind} (backup {result.backup})")
    report.targets.extend(written)
    config = targets.config
    if config is not None and config.activation is not None:
        report.activation = config.activation.to_json()
    report.set_links(link_results)


def _lowest_precedence_first(report: ApplyReport) -> Iterator[tuple[SettingsTarget, Plan]]:
    yield from reversed(report._planned)


# --- restoring -----------------------------------------------------------------------------------


def restore(target: SettingsTarget, backup: Path, options: ApplyOptions) -> ApplyReport:
    """Put back (or with a mode other than "apply", plan putting back) one target's backup."""
    report = ApplyReport(mode="restore")
    result = target.restore(
        backup,
        write=options.write,
        force=options.force,
        backup_dir=options.backup_dir,
        keep_backups=options.keep_backups,
    )
    report.plans.append(result.plan)
    report.targets.append({**result.to_json(), "restored_from": str(backup)})
    return report


# --- secrets in the report -----------------------------------------------------------------------


def masked_target(target: dict[str, Any], show_secrets: bool) -> dict[str, Any]:
    from oidcsetup.apps.matomo.plan import looks_secret

    if show_secrets:
        return target
    changes = []
    for change in target.get("changes", []):
        if looks_secret(change["setting"]):
            change = {
                **change,
                "old": shown_value(change["setting"], change["old"], False),
                "new": shown_value(change["setting"], change["new"], False),
            }
        changes.append(change)
    return {**target, "changes": changes}


def shown_value(setting: str, value: str | None, show_secrets: bool) -> str | None:
    """A value for output: the secret masked unless asked; ${NAME} references are not secret."""
    from oidcsetup.apps.matomo.plan import looks_secret
    from oidcsetup.secretref import mask

    if value is None or show_secrets or not looks_secret(setting):
        return value
    if value.startswith("${") and value.endswith("}"):
        return value
    return mask(value)


def mask_override(item: dict[str, Any], show_secrets: bool) -> dict[str, Any]:
    return {
        **item,
        "config": shown_value(item["setting"], item["config"], show_secrets),
        "database": shown_value(item["setting"], item["database"], show_secrets),
    }
