"""Writing the plugin's settings: exactly the plan, in one transaction, the previous rows
backed up first; and putting a backup back."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from oidcsetup.apps.matomo.database.backup import load_backup, write_backup
from oidcsetup.apps.matomo.database.rows import (
    SettingsReader,
    StoredRow,
    check_names,
    flatten_rows,
    row_key,
)
from oidcsetup.apps.matomo.plan import Plan, diff_settings
from oidcsetup.errors import ApplyError, InputError


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    written: bool
    backup: Path | None = None

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            **self.plan.to_json(show_secrets),
            "written": self.written,
            "backup": str(self.backup) if self.backup else None,
        }


class SettingsWriter(SettingsReader):
    """Writing the plugin's rows: ``apply`` a plan, ``restore`` a backup."""

    def _replace_rows(
        self, old: Collection[StoredRow], rows: list[StoredRow], hook: Callable[[str], None] | None
    ) -> None:
        """DELETE exactly the rows ``old`` (read under the lock), then INSERT ``rows``: two
        statements, any count.

        By primary key where the table has one (Matomo 3.6+). Comparing names in SQL would use
        the column's collation (utf8mb4_general_ci: ``clientsecret`` = ``clientSecret``,
        ``clientId `` = ``clientId``) and delete rows the plan never showed. Tables without a
        key (before 3.6) are matched by the exact bytes of the name (``BINARY``).
        """
        table = self.settings.table("plugin_setting")
        ids = [r.id for r in old if r.id is not None]
        if ids and len(ids) == len(old):
            marks = ", ".join(["%s"] * len(ids))
            self._query(f"DELETE FROM {table} WHERE `idplugin_setting` IN ({marks})", ids)
        elif old:
            names = sorted({r.name for r in old})
            marks = ", ".join(["%s"] * len(names))
            self._query(
                f"DELETE FROM {table} WHERE `plugin_name` = %s AND `user_login` = '' "
                f"AND BINARY `setting_name` IN ({marks})",
                (self.plugin.module, *names),
            )
        if hook:
            hook("deleted")
        if rows:
            if self.schema().json_encoded:
                marks = ", ".join(["(%s, '', %s, %s, %s)"] * len(rows))
                args: list[Any] = []
                for row in rows:
                    args += [self.plugin.module, row.name, row.value, row.json_encoded]
                columns = (
                    "`plugin_name`, `user_login`, `setting_name`, `setting_value`, `json_encoded`"
                )
            else:
                marks = ", ".join(["(%s, '', %s, %s)"] * len(rows))
                args = []
                for row in rows:
                    args += [self.plugin.module, row.name, row.value]
                columns = "`plugin_name`, `user_login`, `setting_name`, `setting_value`"
            self._query(f"INSERT INTO {table} ({columns}) VALUES {marks}", args)
        if hook:
            hook("inserted")

    def apply(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
        backup_dir: Path | None = None,
        hook: Callable[[str], None] | None = None,
        expected: Plan | None = None,
    ) -> ApplyResult:
        """Write the desired settings in one transaction; a backup of the previous rows first.

        The plan is recomputed under the lock from the rows as they are then, so two applies at
        once end in one consistent state and an apply with nothing to change writes nothing
        (no backup, no DELETE/INSERT). With ``expected`` (the plan the user was shown), a
        different plan under the lock writes nothing (ApplyError): the write does exactly what
        was shown. Only rows of the settings the plan changes are replaced, matched by their
        exact name. ``hook(stage)`` is called after "deleted" and "inserted" (used by tests to
        inject faults).
        """
        check_names(desired, known)

        def work() -> ApplyResult:
            with self._transaction():
                rows = self.read_rows(for_update=True)
                plan = self._plan(rows, desired, prune)
                if expected is not None and plan.changes != expected.changes:
                    raise ApplyError(
                        "the LoginOIDC rows in the database changed since the plan was made: "
                        "nothing was written",
                        hint="run the command again to see the new plan",
                    )
                if plan.in_sync:
                    return ApplyResult(plan, written=False)
                backup = (
                    write_backup(self.settings, rows, backup_dir, self.plugin.module)
                    if backup_dir is not None
                    else None
                )
                names = {c.setting for c in plan.pending}
                new_rows = [StoredRow(c.setting, c.new) for c in plan.pending if c.new is not None]
                self._replace_rows([r for r in rows if r.name in names], new_rows, hook)
                return ApplyResult(plan, written=True, backup=backup)

        return self._retrying(work)

    def restore(
        self,
        backup: Path,
        *,
        backup_dir: Path | None = None,
        hook: Callable[[str], None] | None = None,
        force: bool = False,
    ) -> ApplyResult:
        """Put back exactly the rows saved in ``backup`` (all of the plugin's system settings).

        With ``backup_dir``, the rows being replaced are saved there first, as ``apply`` does, so
        a restore can be undone too. A backup of another database or table prefix is refused
        unless ``force`` (``backup_rows``).
        """
        saved = self.backup_rows(backup, force=force)

        def work() -> ApplyResult:
            with self._transaction():
                rows = self.read_rows(for_update=True)
                plan = diff_settings(
                    flatten_rows(rows), flatten_rows(saved), prune=True, target=self.target
                )
                if plan.in_sync and sorted(map(row_key, rows)) == sorted(map(row_key, saved)):
                    return ApplyResult(plan, written=False)
                new_rows = saved
                if not self.schema().json_encoded:
                    new_rows = [replace(r, json_encoded=0) for r in saved]
                previous = (
                    write_backup(self.settings, rows, backup_dir, self.plugin.module)
                    if backup_dir is not None
                    else None
                )
                self._replace_rows(rows, new_rows, hook)
                return ApplyResult(plan, written=True, backup=previous)

        return self._retrying(work)

    def backup_rows(self, backup: Path, *, force: bool = False) -> list[StoredRow]:
        """The rows of ``backup``, refused (unless ``force``) when it was taken from another
        database or table prefix: restoring it would copy another Matomo's settings here."""
        saved = load_backup(backup, self.plugin.module)
        table = f"{self.settings.prefix}plugin_setting"
        if (saved.database, saved.table) != (self.settings.database, table) and not force:
            raise InputError(
                f"{backup} was taken from {saved.database}.{saved.table}, not "
                f"{self.settings.database}.{table}",
                hint="check --dsn/--from-config (or the backup); --force restores it here anyway",
            )
        return saved.rows
