"""Where Matomo keeps the Login OIDC settings, behind one small interface.

A target reads what it holds now and plans the change to the desired settings (one read),
then writes exactly that plan (refusing when what it holds changed since), and can put a backup
back. The desired settings are given as ``apps.matomo.settings`` builds them (typed values,
``EnvRef`` for a ``${NAME}``); each target stores them in its own form.

- :class:`ConfigFileTarget`: ``config/config.ini.php``'s ``[LoginOIDC]`` (configfile.py).
- :class:`DatabaseTarget`: the ``plugin_setting`` rows (database/).

The operation that uses them is ``apps.matomo.apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, rotate_like

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.configfile import Activation, MatomoConfig
    from oidcsetup.apps.matomo.database import MatomoDatabase
    from oidcsetup.apps.matomo.plan import Plan
    from oidcsetup.apps.matomo.settings import SettingValue


@dataclass(frozen=True)
class TargetPlan:
    """What a target holds now and what writing the desired settings would change there."""

    current: dict[str, str]  # stored form, as Matomo reads it
    plan: Plan


@dataclass(frozen=True)
class TargetWrite:
    """What a write (or a restore) did: the plan as made under the lock, and the backup of
    what was there before (None when nothing was written)."""

    plan: Plan
    written: bool
    backup: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """The target's entry in ``apply matomo --json`` (secrets masked later, by the report)."""
        return {
            **self.plan.to_json(True),
            "written": self.written,
            "backup": str(self.backup) if self.backup else None,
        }


class SettingsTarget(Protocol):
    """One place Matomo reads the Login OIDC settings from."""

    @property
    def kind(self) -> str:
        """What it is, in a message: "config file", "database"."""
        ...

    @property
    def label(self) -> str:
        """Where, in a message: ``config.ini.php [LoginOIDC]``, ``matomo.matomo_plugin_setting``."""
        ...

    def plan(self, desired: Mapping[str, SettingValue], *, prune: bool) -> TargetPlan:
        """Read what is there (once) and plan the change to ``desired``; writes nothing."""
        ...

    def write(
        self,
        desired: Mapping[str, SettingValue],
        *,
        prune: bool,
        expected: Plan,
        backup_dir: Path | None,
        keep_backups: int,
    ) -> TargetWrite:
        """Write exactly ``expected`` (the plan the user was shown), or nothing."""
        ...

    def restore(
        self,
        backup: Path,
        *,
        write: bool,
        force: bool,
        backup_dir: Path | None,
        keep_backups: int,
    ) -> TargetWrite:
        """Put back the settings of a backup an earlier write made (plan only unless ``write``)."""
        ...


def stored_settings(desired: Mapping[str, SettingValue]) -> dict[str, str]:
    """The desired settings in the database's stored form; a ``${NAME}`` reference has none
    (only PHP's reading of config.ini.php expands it), so it is left out."""
    from oidcsetup.apps.matomo.settings import EnvRef, stored_form

    return {k: stored_form(v) for k, v in desired.items() if not isinstance(v, EnvRef)}


@dataclass
class ConfigFileTarget:
    """``config.ini.php``'s ``[LoginOIDC]``, parsed once: the plan, the checks and the write all
    use this parse (the write refuses when the file changed since)."""

    path: Path
    activate: bool = False  # also add the plugin to Plugins[]
    plugin: MatomoPlugin = LOGIN_OIDC  # whose section ([LoginOIDC] or [RebelOIDC]) is written
    # Set by plan()/write(): ${NAME} references kept over a plain value, the activation.
    kept_references: tuple[str, ...] = field(init=False, default=())
    activation: Activation | None = field(init=False, default=None)
    _document: MatomoConfig | None = field(init=False, default=None, repr=False)

    @property
    def document(self) -> MatomoConfig:
        """The file as read the first time it was needed (a restore reads it itself)."""
        if self._document is None:
            from oidcsetup.apps.matomo.configfile import MatomoConfig

            self._document = MatomoConfig.load(self.path).for_plugin(self.plugin)
        return self._document

    @property
    def kind(self) -> str:
        return "config file"

    @property
    def label(self) -> str:
        return f"config.ini.php [{self.plugin.module}]"

    def plan(self, desired: Mapping[str, SettingValue], *, prune: bool) -> TargetPlan:
        from oidcsetup.apps.matomo.configfile import apply_config

        dry = apply_config(
            self.path,
            desired,
            prune=prune,
            activate=self.activate,
            dry_run=True,
            current=self.document,
        )
        self.kept_references = dry.kept_references
        self.activation = dry.activation
        return TargetPlan(self.document.current_settings(), dry.plan)

    def write(
        self,
        desired: Mapping[str, SettingValue],
        *,
        prune: bool,
        expected: Plan,
        backup_dir: Path | None = None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        from oidcsetup.apps.matomo.configfile import apply_config

        del expected, backup_dir  # planned from self.document; its backup goes beside the file
        result = apply_config(
            self.path,
            desired,
            prune=prune,
            activate=self.activate,
            current=self.document,
            keep_backups=keep_backups,
        )
        if result.activation is not None:
            self.activation = result.activation
        return TargetWrite(result.plan, result.written, result.backup)

    def restore(
        self,
        backup: Path,
        *,
        write: bool,
        force: bool = False,
        backup_dir: Path | None = None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        from oidcsetup.apps.matomo.configfile import restore_config

        del force, backup_dir
        # Only [LoginOIDC] is put back (what the plan shows); the rest of the file stays as it is.
        restored = restore_config(
            self.path, backup, dry_run=not write, keep_backups=keep_backups, plugin=self.plugin
        )
        return TargetWrite(restored.plan, restored.written, restored.backup)


@dataclass
class DatabaseTarget:
    """The plugin's rows in ``<prefix>plugin_setting``, on an open connection (the caller opens
    and closes it)."""

    db: MatomoDatabase

    @property
    def kind(self) -> str:
        return "database"

    @property
    def label(self) -> str:
        return self.db.target.removeprefix("db:")

    def plan(self, desired: Mapping[str, SettingValue], *, prune: bool) -> TargetPlan:
        current, plan = self.db.read_and_plan(
            stored_settings(desired), prune=prune, known=self.db.plugin.setting_names
        )
        return TargetPlan(current, plan)

    def write(
        self,
        desired: Mapping[str, SettingValue],
        *,
        prune: bool,
        expected: Plan,
        backup_dir: Path | None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        result = self.db.apply(
            stored_settings(desired),
            prune=prune,
            known=self.db.plugin.setting_names,
            backup_dir=backup_dir,
            expected=expected,  # the plan shown: anything else under the lock is refused
        )
        if result.backup is not None:
            rotate_like(result.backup, keep_backups)
        return TargetWrite(result.plan, result.written, result.backup)

    def restore(
        self,
        backup: Path,
        *,
        write: bool,
        force: bool = False,
        backup_dir: Path | None = None,
        keep_backups: int = DEFAULT_KEEP_BACKUPS,
    ) -> TargetWrite:
        from oidcsetup.apps.matomo.database.rows import flatten_rows
        from oidcsetup.apps.matomo.plan import diff_settings

        saved = self.db.backup_rows(backup, force=force)  # another database/prefix: refused
        if not write:
            plan = diff_settings(
                self.db.read_settings(), flatten_rows(saved), prune=True, target=self.db.target
            )
            return TargetWrite(plan, False, None)
        result = self.db.restore(backup, backup_dir=backup_dir, force=force)
        if result.backup is not None:
            rotate_like(result.backup, keep_backups)
        return TargetWrite(result.plan, result.written, result.backup)
