"""Moving a Matomo from one login plugin to the other (Login OIDC <-> RebelOIDC).

The settings part is pure: :func:`translate_settings` gives the destination plugin's settings
that make it behave as the source plugin does now. Every source setting is carried over with
the value the source plugin *uses* (what is stored, else the source's default: Login OIDC's
``userinfoId`` defaults to "id", RebelOIDC's to "sub", so an unset one is written explicitly);
names follow the plugin descriptions (``userinfoUrl`` <-> ``userInfoUrl``); a
``redirectUriOverride`` pointing at the source's callback is pointed at the destination's.
Settings only the destination has take the Integration's values, else the destination's
defaults; settings only the source has are dropped and reported.

Each setting goes where the source's came from: one held in config.ini.php's section goes to the
destination's section of that file (the file wins over the database in Matomo), the others to the
database when there is one, else to the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oidcsetup.apps.matomo.plugins import MatomoPlugin
from oidcsetup.apps.matomo.settings import SECRET_SETTING, EnvRef, SettingValue, stored_form
from oidcsetup.errors import UsageError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.configfile import ConfigApplyResult
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.integration import Integration


def _loginoidc_name(plugin: MatomoPlugin, name: str) -> str:
    """Login OIDC's name for ``plugin``'s setting ``name`` (the names both plugins share)."""
    for loginoidc, own in plugin.renamed.items():
        if own == name:
            return loginoidc
    return name


def counterpart(source: MatomoPlugin, dest: MatomoPlugin, name: str) -> str | None:
    """The destination's name for the source's setting ``name``; None when it has none."""
    candidate = dest.name_of(_loginoidc_name(source, name))
    return candidate if candidate in dest.specs else None


@dataclass(frozen=True)
class Translation:
    """The destination's settings, split by where they go, and what could not be carried."""

    to_config: dict[str, SettingValue] = field(default_factory=dict)
    to_database: dict[str, SettingValue] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()  # source settings the destination does not have (not default)
    notes: tuple[str, ...] = ()

    @property
    def values(self) -> dict[str, SettingValue]:
        return {**self.to_database, **self.to_config}


def _typed(plugin: MatomoPlugin, name: str, stored: str | SettingValue) -> SettingValue:
    if isinstance(stored, (bool, EnvRef)):
        return stored
    if plugin.specs[name].type == "bool":
        return stored not in ("", "0")
    return stored


def translate_settings(
    source: MatomoPlugin,
    dest: MatomoPlugin,
    *,
    in_config: Mapping[str, str | SettingValue],
    in_database: Mapping[str, str],
    extras: Mapping[str, SettingValue] | None = None,
    database_target: bool,
) -> Translation:
    """The destination's settings for a Matomo whose source plugin holds these values.

    ``in_config`` is the source's section of config.ini.php as Matomo reads it (a ``${NAME}``
    clientSecret as an :class:`EnvRef`), ``in_database`` its ``plugin_setting`` rows;
    ``extras`` the destination-only settings the Integration asks for (e.g. initialIdSite).
    """
    to_config: dict[str, SettingValue] = {}
    to_database: dict[str, SettingValue] = {}
    dropped: list[str] = []
    notes: list[str] = []
    for spec in source.settings:
        name = spec.name
        if name in in_config:
            value: str | SettingValue = in_config[name]
            into = to_config
        elif name in in_database:
            value = in_database[name]
            into = to_database if database_target else to_config
        else:
            if name == SECRET_SETTING:
                continue  # nothing to carry: the destination stays unconfigured, as the source
            value = spec.default
            into = to_database if database_target else to_config
        target = counterpart(source, dest, name)
        if target is None:
            if stored_form(_typed(source, name, value)) != stored_form(spec.default):
                dropped.append(name)
            continue
        typed = _typed(dest, target, value)
        if name == "redirectUriOverride" and isinstance(typed, str):
            if source.callback_query in typed:
                typed = typed.replace(source.callback_query, dest.callback_query)
                notes.append(
                    f"redirectUriOverride now ends in {dest.callback_query} (the "
                    f"{dest.module} callback); register it at the provider"
                )
            elif typed:
                notes.append(
                    f"redirectUriOverride {typed} is rewritten by the web server: point its "
                    f"rewrite at index.php?{dest.callback_query}"
                )
        into[target] = typed
    for name, value in (extras or {}).items():
        if name in dest.specs:
            (to_database if database_target and name not in to_config else to_config)[name] = value
    for spec in dest.settings:
        if spec.name not in to_config and spec.name not in to_database:
            if spec.name == SECRET_SETTING:
                continue
            (to_database if database_target else to_config)[spec.name] = spec.default
    order = list(dest.setting_names)
    return Translation(
        to_config={n: to_config[n] for n in order if n in to_config},
        to_database={n: to_database[n] for n in order if n in to_database},
        dropped=tuple(dropped),
        notes=tuple(notes),
    )


# --- the operation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkCopy:
    """Linked accounts carried from the source's link table to the destination's."""

    source_table: str
    dest_table: str
    to_copy: tuple[tuple[str, str], ...] = ()  # (Matomo login, provider subject)
    already: int = 0  # links the destination already has
    conflicts: tuple[str, ...] = ()  # logins or subjects linked otherwise there: left alone
    pending: str | None = None  # why nothing can be copied yet (the table does not exist)
    copied: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "source_table": self.source_table,
            "dest_table": self.dest_table,
            "to_copy": [{"login": login, "subject": sub} for login, sub in self.to_copy],
            "already": self.already,
            "conflicts": list(self.conflicts),
            "pending": self.pending,
            "copied": self.copied,
        }


def source_values(values: Mapping[str, object]) -> dict[str, str | SettingValue]:
    """A config section's values (``IniValue``) as translate_settings takes them."""
    out: dict[str, str | SettingValue] = {}
    for name, value in values.items():
        refs = getattr(value, "env_refs", ())
        if name == SECRET_SETTING and getattr(value, "is_env_reference", False) and refs:
            out[name] = EnvRef(refs[0])
        else:
            out[name] = str(getattr(value, "decoded", value))
    return out


@dataclass
class MigrationReport:
    """What ``migrate matomo`` found and did (the CLI renders it; ``to_json`` is --json)."""

    source: MatomoPlugin
    dest: MatomoPlugin
    mode: str  # "apply" | "dry-run"
    translation: Translation
    config: ConfigApplyResult | None = None
    database: dict[str, Any] | None = None  # plan, written, backup
    links: LinkCopy | None = None
    redirect_uris: dict[str, list[str]] = field(default_factory=dict)  # new / old
    notes: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        config_done = self.config is None or (
            self.config.plan.in_sync
            and (self.config.activation is None or self.config.activation.already_active)
        )
        db_done = self.database is None or self.database["plan"].in_sync
        links_done = self.links is None or (not self.links.to_copy and not self.links.pending)
        return config_done and db_done and links_done

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        database = None
        if self.database is not None:
            database = {
                "plan": self.database["plan"].to_json(show_secrets),
                "written": self.database["written"],
                "backup": self.database["backup"],
            }
        return {
            "from": self.source.key,
            "to": self.dest.key,
            "mode": self.mode,
            "in_sync": self.in_sync,
            "config": self.config.to_json(show_secrets) if self.config else None,
            "database": database,
            "links": self.links.to_json() if self.links else None,
            "dropped": list(self.translation.dropped),
            "redirect_uris": self.redirect_uris,
            "notes": self.notes + list(self.translation.notes),
        }


def migrate(
    integration: Integration,
    dest: MatomoPlugin,
    *,
    config_path: Path | None,
    db: MatomoDatabase | None,
    dry_run: bool,
    backup_dir: Path | None = None,
    keep_backups: int = DEFAULT_KEEP_BACKUPS,
    install: Callable[[], None] | None = None,
) -> MigrationReport:
    """Configure ``dest`` as the other plugin is configured, activate it, carry the links.

    The source plugin is left as it is (active, configured, linked): its button stays until the
    user deactivates it, and ``migrate matomo --to <source>`` is the way back. Idempotent: a
    second run finds everything in sync and writes nothing. Writes: config.ini.php atomically
    with a backup beside it (the destination's section and ``Plugins[]``; never
    ``PluginsInstalled[]``), the database's rows in one transaction with a 0600 backup, the
    links in one transaction. ``install`` makes the web request after which Matomo has installed
    an activated plugin (its link table exists); without it the links wait for the next run.
    """
    from oidcsetup.apps.matomo.configfile import MatomoConfig, apply_config
    from oidcsetup.apps.matomo.plugins import PLUGINS
    from oidcsetup.apps.matomo.settings import REBEL_FIELDS, validate_settings
    from oidcsetup.apps.matomo.targets import stored_settings

    source = next(p for p in PLUGINS.values() if p is not dest)
    config = MatomoConfig.load(config_path) if config_path is not None else None
    in_config = source_values(config.for_plugin(source).login_oidc_values()) if config else {}
    in_database: dict[str, str] = {}
    if db is not None:
        in_database = db.for_plugin(source).read_settings()
    if not in_config and not in_database:
        raise UsageError(
            f"nothing to migrate: {source.title} has no settings in "
            + ("config.ini.php" if db is None else "the config file or the database"),
            hint=f"configure {dest.title} with oidcsetup apply matomo --plugin {dest.key}",
        )
    extras = {
        setting: getattr(integration.matomo, field_name)
        for field_name, setting in REBEL_FIELDS.items()
        if getattr(integration.matomo, field_name) is not None and setting in dest.specs
    }
    translation = translate_settings(
        source,
        dest,
        in_config=in_config,
        in_database=in_database,
        extras=extras,
        database_target=db is not None,
    )
    validate_settings(translation.values, dest)
    report = MigrationReport(source, dest, "dry-run" if dry_run else "apply", translation)

    if config is not None and config_path is not None:
        report.config = apply_config(
            config_path,
            translation.to_config,
            activate=True,
            dry_run=dry_run,
            current=config.for_plugin(dest),
            keep_backups=keep_backups,
            plugin=dest,
        )
    else:
        report.notes.append(
            f"activate {dest.module} in Matomo's folder: ./console plugin:activate {dest.module}"
        )
    if db is not None:
        db.for_plugin(dest)
        stored = stored_settings(translation.to_database)
        if dry_run:
            _, plan = db.read_and_plan(stored, known=dest.setting_names)
            report.database = {"plan": plan, "written": False, "backup": None}
        else:
            result = db.apply(stored, known=dest.setting_names, backup_dir=backup_dir)
            report.database = {
                "plan": result.plan,
                "written": result.written,
                "backup": str(result.backup) if result.backup else None,
            }
        report.links = _carry_links(db, source, dest, dry_run, install)
    _redirect_notes(report, integration)
    return report


def _carry_links(
    db: MatomoDatabase,
    source: MatomoPlugin,
    dest: MatomoPlugin,
    dry_run: bool,
    install: Callable[[], None] | None,
) -> LinkCopy:
    from oidcsetup.apps.matomo.safety import existing_tables

    prefix = db.settings.prefix
    links = LinkCopy(prefix + source.provider_table, prefix + dest.provider_table)
    tables = existing_tables(db, [links.source_table, links.dest_table])
    if links.source_table not in tables:
        return links  # the source plugin never linked anyone
    if links.dest_table not in tables and install is not None and not dry_run:
        install()  # Matomo installs the activated plugin on a web request
        db.for_plugin(source).for_plugin(dest)  # the schema is probed again
        tables = existing_tables(db, [links.source_table, links.dest_table])
    if links.dest_table not in tables:
        return replace(
            links,
            pending=f"table {links.dest_table} does not exist yet: Matomo creates it when it "
            f"installs {dest.module} on its next web request; open any Matomo page, then run "
            "this migrate again to carry the links",
        )
    copy, already, conflicts = db.copy_links(source.provider_table, dry_run=dry_run)
    return replace(
        links,
        to_copy=tuple(copy),
        already=already,
        conflicts=tuple(conflicts),
        copied=bool(copy) and not dry_run,
    )


def _redirect_notes(report: MigrationReport, integration: Integration) -> None:
    from oidcsetup.apps.matomo.redirect import redirect_uris

    app = integration.matomo
    if not app.url:
        report.notes.append(
            f"register {report.dest.title}'s redirect URI at the provider (pass --matomo-url to "
            "see it)"
        )
        return
    new = list(redirect_uris(replace(app, plugin=report.dest.key, redirect_uri_override=None)))
    old = list(redirect_uris(replace(app, plugin=report.source.key, redirect_uri_override=None)))
    report.redirect_uris = {"new": new, "old": old}
    report.notes.append(
        f"register {new[0]} at the provider beside {old[0]} (oidcsetup gen authelia --merge "
        f"--plugin {report.dest.key} keeps both); once everyone logs in through "
        f"{report.dest.title}, deactivate {report.source.module} and drop the old URI "
        "(gen authelia --merge --drop-old-redirect-uris)"
    )
