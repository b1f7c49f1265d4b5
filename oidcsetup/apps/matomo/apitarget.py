"""Matomo's HTTP API as a target for Login OIDC's settings (``targets.SettingsTarget``).

The same contract as the config-file and database targets: ``plan`` reads once and plans,
``write`` does exactly the plan shown (re-read and compared just before writing, read back and
verified after), nothing when in sync, the previous values saved first as a 0600 backup,
``restore`` puts a backup back.

What the API cannot do, said where it matters (apps/matomo/api.py has the sources):
- clientSecret is a password field: Matomo answers ``******``, never the value. A secret
  Matomo holds is kept and reported as not comparable unless ``overwrite_secret``; a backup
  cannot hold it, so a restore keeps whatever secret Matomo has then.
- A setting pinned in config.ini.php is not listed and cannot be written through the API.
- There is no transaction: another writer between the re-read and the write is not excluded
  (the read-back after the write names any difference).
- ``prune`` has nothing to remove: the API lists only the plugin's own settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from oidcsetup.apps.matomo.api import PASSWORD_PLACEHOLDER, ApiSettings, MatomoApi, MatomoApiError
from oidcsetup.apps.matomo.detect import PluginChoice
from oidcsetup.apps.matomo.plan import Action, Change, Plan, diff_settings
from oidcsetup.apps.matomo.plugins import MatomoPlugin
from oidcsetup.apps.matomo.settings import (
    PLUGIN,
    SECRET_SETTING,
    SETTING_NAMES,
    SettingValue,
    SettingWarning,
)
from oidcsetup.apps.matomo.targets import TargetPlan, TargetWrite, stored_settings
from oidcsetup.errors import ApplyError, InputError, UsageError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, rotate_like

BACKUP_FORMAT = "oidcsetup-matomo-api-backup/1"


@dataclass(frozen=True)
class ApiBackup:
    """The values an apply replaced, as the API showed them (never the hidden secret)."""

    matomo: str
    plugin: str
    values: dict[str, str]
    hidden: tuple[str, ...]


@dataclass
class ApiTarget:
    """One plugin's system settings in one Matomo, through its API.

    ``password`` is asked for (called) only when something is written: reading needs the
    token alone. ``overwrite_secret`` writes clientSecret even when Matomo holds one it does
    not show.
    """

    api: MatomoApi
    overwrite_secret: bool = False
    password: Callable[[], str] | None = field(default=None, repr=False)
    plugin: str = PLUGIN
    known: Sequence[str] = SETTING_NAMES
    secret_setting: str = SECRET_SETTING
    current: ApiSettings | None = field(init=False, default=None)  # set by plan()

    def use_plugin(self, plugin: MatomoPlugin) -> None:
        """Configure this plugin of apps/matomo/plugins.py (its module and setting names)."""
        self.plugin = plugin.module
        self.known = plugin.setting_names
        self.secret_setting = plugin.name_of(SECRET_SETTING)

    @property
    def label(self) -> str:
        return f"Matomo API {self.api.where}"

    @property
    def kind(self) -> str:
        return "Matomo API"

    @property
    def target(self) -> str:
        return f"api:{self.api.where}"

    @property
    def holds_hidden_secret(self) -> bool:
        return self.current is not None and self.secret_setting in self.current.hidden

    def read(self) -> ApiSettings:
        return self.api.read_settings(self.plugin, self.known)

    # --- plan --------------------------------------------------------------------------------

    def plan(self, desired: Mapping[str, SettingValue], *, prune: bool = False) -> TargetPlan:
        if prune:
            raise UsageError(
                "--prune has nothing to remove through Matomo's API: it lists only the "
                "plugin's own settings",
                hint="drop --prune (misspelt settings live in config.ini.php or the database)",
            )
        self.current = self.read()
        return TargetPlan(
            dict(self.current.values), self.plan_stored(stored_settings(desired), self.current)
        )

    def plan_stored(self, desired: Mapping[str, str], current: ApiSettings) -> Plan:
        """What writing ``desired`` (stored forms) would change. A secret Matomo holds (hidden)
        is left out (kept) unless ``overwrite_secret``: then it is a change, whatever its value."""
        self._refuse_unlisted(desired, current)
        wanted = dict(desired)
        hidden_change: Change | None = None
        if self.secret_setting in current.hidden and self.secret_setting in wanted:
            new = wanted.pop(self.secret_setting)
            if self.overwrite_secret:
                hidden_change = Change(
                    self.secret_setting, Action.CHANGE, PASSWORD_PLACEHOLDER, new
                )
        plan = diff_settings(current.values, wanted, target=self.target)
        if hidden_change is None:
            return plan
        return Plan(plan.target, (*plan.changes, hidden_change))

    def notes(self, desired: Mapping[str, SettingValue]) -> list[SettingWarning]:
        """What the user must know about this target's plan (after ``plan``)."""
        if (
            self.holds_hidden_secret
            and self.secret_setting in desired
            and not self.overwrite_secret
        ):
            return [
                SettingWarning(
                    "client-secret-not-compared",
                    "Matomo holds a clientSecret its API never shows (a password field answers "
                    "******): it is kept, and cannot be compared with yours",
                    "add --overwrite-secret to write yours (`oidcsetup check --api` tests "
                    "yours at the provider)",
                )
            ]
        return []

    def _refuse_unlisted(self, desired: Mapping[str, str], current: ApiSettings) -> None:
        unlisted = [name for name in desired if name in current.missing]
        if unlisted:
            raise InputError(
                f"Matomo's API does not list {', '.join(unlisted)} of {self.plugin}: "
                "config.ini.php pins them (a pinned setting is read-only in the API), or this "
                "plugin version does not have them",
                hint=f"apply with --config to that config.ini.php, or remove them from its "
                f"[{self.plugin}] section",
            )

    # --- write -------------------------------------------------------------------------------

    def write(
        self,
        desired: Mapping[str, SettingValue],
        *,
        prune: bool = False,
        expected: Plan,
        backup_dir: Path | None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        """Write exactly ``expected`` (the plan shown): re-read first and refuse when Matomo's
        values moved since; save the previous values; write; read back and verify."""
        del prune  # refused by plan()
        current = self.read()
        plan = self.plan_stored(stored_settings(desired), current)
        return self._write(plan, expected, current, backup_dir, keep_backups)

    def _write(
        self,
        plan: Plan,
        expected: Plan,
        current: ApiSettings,
        backup_dir: Path | None,
        keep_backups: int,
    ) -> TargetWrite:
        if plan.changes != expected.changes:
            raise ApplyError(
                f"{self.plugin}'s settings in Matomo changed since the plan was made: nothing "
                "was written",
                hint="run the command again to see the new plan",
            )
        if plan.in_sync:
            return TargetWrite(plan, written=False)
        if not self.api.credentials.password and self.password is not None:
            self.api.credentials = replace(self.api.credentials, password=self.password())
        backup = (
            write_api_backup(self.api.where, self.plugin, current, backup_dir)
            if backup_dir is not None
            else None
        )
        values = {c.setting: c.new or "" for c in plan.pending}
        try:
            self.api.write_settings(self.plugin, values)
        except MatomoApiError:
            # Matomo answered an error: it checks the password and runs every validator before
            # saving anything (CorePluginsAdmin\API::setSystemSettings), so nothing changed.
            if backup is not None:
                backup.unlink(missing_ok=True)
            raise
        self._verify(values)
        if backup is not None:
            rotate_like(backup, keep_backups)
        return TargetWrite(plan, written=True, backup=backup)

    def _verify(self, written: Mapping[str, str]) -> None:
        """Read back: Matomo answered success, but an ignored name would also say success."""
        after = self.read()
        wrong = []
        for name, value in written.items():
            if name in after.hidden:
                ok = value not in ("", PASSWORD_PLACEHOLDER)
            else:
                ok = after.values.get(name) == value
            if not ok:
                wrong.append(name)
        if wrong:
            raise MatomoApiError(
                f"Matomo answered success but reads back other values for {', '.join(wrong)}",
                hint="another writer may have changed them at the same time; run the command "
                "again (the backup of the previous values is kept)",
                code="matomo-api-readback",
            )

    # --- restore -----------------------------------------------------------------------------

    def restore(
        self,
        backup: Path,
        *,
        write: bool,
        force: bool = False,
        backup_dir: Path | None = None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        """Put back the values of ``backup`` (plan only unless ``write``); the secret, which a
        backup cannot hold, stays as Matomo has it."""
        saved = self._saved(backup, force)
        current = self.read()
        self._refuse_unlisted(saved.values, current)
        visible = {k: v for k, v in current.values.items() if k not in saved.hidden}
        plan = diff_settings(visible, saved.values, target=self.target)
        if not write:
            return TargetWrite(plan, written=False)
        return self._write(plan, plan, current, backup_dir, keep_backups)

    def _saved(self, backup: Path, force: bool) -> ApiBackup:
        saved = load_api_backup(backup)
        if saved.plugin != self.plugin:
            raise InputError(f"{backup} holds settings of {saved.plugin}, not {self.plugin}")
        if saved.matomo != self.api.where and not force:
            raise InputError(
                f"{backup} was taken from Matomo at {saved.matomo}, not {self.api.where}",
                hint="check --api (or the backup); --force restores it here anyway",
            )
        return saved


def api_plugin(api: MatomoApi, said: str | None) -> PluginChoice:
    """The plugin to configure: the one the profile (flag, env) names, else the one this Matomo
    has activated (``API.isPluginActivated``), else (neither or both) Login OIDC."""
    from oidcsetup.apps.matomo.detect import choose_plugin
    from oidcsetup.apps.matomo.plugins import PLUGINS

    if said is not None:
        return choose_plugin(said)
    active = [p.module for p in PLUGINS.values() if api.plugin_activated(p.module)]
    return choose_plugin(None, active=active, active_where=f"Matomo at {api.where}")


def backup_plugin(path: Path) -> MatomoPlugin:
    """The plugin whose settings an API backup holds."""
    from oidcsetup.apps.matomo.plugins import PLUGINS

    module = load_api_backup(path).plugin
    for plugin in PLUGINS.values():
        if plugin.module == module:
            return plugin
    raise InputError(f"{path} holds settings of {module!r}, a plugin oidcsetup does not configure")


# --- backups ---------------------------------------------------------------------------------


def write_api_backup(matomo: str, plugin: str, current: ApiSettings, directory: Path) -> Path:
    """``<dir>/matomo-api-<host>-<stamp>.json``, mode 0600: the values as the API showed them."""
    from oidcsetup.fileio import write_stamped_json

    document = {
        "format": BACKUP_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "matomo": matomo,
        "plugin": plugin,
        "settings": current.values,
        # Password fields Matomo held a value for, which its API does not reveal: not saved.
        "hidden": list(current.hidden),
    }
    host = (urlsplit(matomo).netloc or "matomo").replace(":", "_")
    return write_stamped_json(directory, f"matomo-api-{host}", document)


def load_api_backup(path: Path) -> ApiBackup:
    """A backup written by ``write_api_backup`` (InputError for anything else)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"backup file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not an oidcsetup API backup: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise InputError(
            f"{path} is not a backup of `apply matomo --api` (format {BACKUP_FORMAT} expected)",
            hint="a database backup is restored with --db, a config-file backup with --config",
        )
    values = document.get("settings")
    hidden = document.get("hidden") or []
    matomo, plugin = document.get("matomo"), document.get("plugin")
    if (
        not isinstance(values, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
        or not isinstance(hidden, list)
        or not all(isinstance(h, str) for h in hidden)
        or not isinstance(matomo, str)
        or not isinstance(plugin, str)
    ):
        raise InputError(f"{path}: malformed API backup")
    return ApiBackup(matomo, plugin, dict(values), tuple(hidden))
