"""The plugin's system settings as rows of ``<prefix>plugin_setting``, read as Matomo reads them,
and the plan from them.

What Matomo does (matomo-org/matomo ``core/Settings/Storage/Backend/PluginSettingsTable.php``):
system settings are rows ``(plugin_name='LoginOIDC', user_login='', setting_name,
setting_value, json_encoded)``. Scalars are stored as text with ``json_encoded = 0`` (bools as
``'0'``/``'1'``); arrays as JSON with ``json_encoded = 1``. There is no unique key: two rows with
one ``setting_name`` and ``json_encoded = 0`` are read back as an *array*, so a write must
never leave two rows for one setting.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from oidcsetup.apps.matomo.database.connection import DatabaseConnection
from oidcsetup.apps.matomo.plan import Action, Plan, diff_settings
from oidcsetup.errors import InputError

PLUGIN = "LoginOIDC"


@dataclass(frozen=True)
class StoredRow:
    """One ``plugin_setting`` row of the plugin's system settings."""

    name: str
    value: str
    json_encoded: int = 0
    # The row's primary key (Matomo 3.6+), None for rows not read from the table: the write
    # deletes exactly the rows it read, by key (see ``SettingsWriter._replace_rows``).
    id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "setting_name": self.name,
            "setting_value": self.value,
            "json_encoded": self.json_encoded,
        }


def flatten_rows(rows: Collection[StoredRow]) -> dict[str, str]:
    """The settings as Matomo's ``PluginSettingsTable::load`` sees them, in stored string form.

    A json_encoded row is decoded (a scalar gives its text, a bool '0'/'1'); several plain rows
    of one name are an array in Matomo, shown here as their JSON list (never equal to a desired
    scalar, so such a setting is always rewritten as one row).
    """
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        value: Any = row.value
        if row.json_encoded:
            try:
                value = json.loads(row.value)
            except ValueError:
                value = row.value
            if isinstance(value, bool):
                value = "1" if value else "0"
            elif isinstance(value, int | float) or value is None:
                value = "" if value is None else str(value)
            grouped[row.name] = [value]  # Matomo: a json_encoded row replaces what came before
            continue
        grouped.setdefault(row.name, []).append(value)
    flat: dict[str, str] = {}
    for name, values in grouped.items():
        if len(values) == 1 and isinstance(values[0], str):
            flat[name] = values[0]
        else:
            flat[name] = json.dumps(values if len(values) > 1 else values[0], ensure_ascii=False)
    return flat


def _stored_row_is_clean(rows: Collection[StoredRow], name: str, value: str) -> bool:
    matching = [r for r in rows if r.name == name]
    return len(matching) == 1 and matching[0].value == value and not matching[0].json_encoded


def row_key(row: StoredRow) -> tuple[str, str, int]:
    return (row.name, row.value, row.json_encoded)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def check_names(desired: Mapping[str, str], known: Collection[str] | None) -> None:
    """Refuse setting names the plugin does not have (a typo would be silently ignored by Matomo)."""
    bad = [k for k, v in desired.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise InputError(
            f"setting values must be strings in stored form: {', '.join(map(str, bad))}"
        )
    if known is None:
        return
    unknown = sorted(set(desired) - set(known))
    if unknown:
        raise InputError(
            f"unknown LoginOIDC setting name(s): {', '.join(unknown)}",
            hint="known settings: " + ", ".join(sorted(known)),
        )


class SettingsReader(DatabaseConnection):
    """Reading the plugin's rows and planning the change to the desired settings."""

    def _select_rows_sql(self, for_update: bool = False) -> str:
        schema = self.schema()
        json_col = "`json_encoded`" if schema.json_encoded else "0"
        id_col = "`idplugin_setting`" if schema.has_id else "NULL"
        order = " ORDER BY `idplugin_setting`" if schema.has_id else ""
        lock = " FOR UPDATE" if for_update else ""
        return (
            f"SELECT `setting_name`, `setting_value`, {json_col}, {id_col} "
            f"FROM {self.settings.table('plugin_setting')} "
            f"WHERE `plugin_name` = %s AND `user_login` = ''{order}{lock}"
        )

    def read_rows(self, *, for_update: bool = False) -> list[StoredRow]:
        """The plugin's system-setting rows, as PluginSettingsTable::load selects them.

        The WHERE is Matomo's own (``plugin_name = ? and user_login = ?`` under the table's
        collation), so what we read is what Matomo reads; names are then compared exactly, in
        Python, as PHP compares array keys.
        """
        rows = self._query(self._select_rows_sql(for_update), (self.plugin.module,))
        return [
            StoredRow(str(n), _text(v), int(j or 0), None if i is None else int(i))
            for n, v, j, i in rows
        ]

    def read_settings(self) -> dict[str, str]:
        return flatten_rows(self.read_rows())

    def plan(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
    ) -> Plan:
        return self.read_and_plan(desired, prune=prune, known=known)[1]

    def read_and_plan(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
    ) -> tuple[dict[str, str], Plan]:
        """``read_settings()`` and ``plan(...)`` from one SELECT."""
        check_names(desired, known)
        rows = self.read_rows()
        return flatten_rows(rows), self._plan(rows, desired, prune)

    def _plan(self, rows: list[StoredRow], desired: Mapping[str, str], prune: bool) -> Plan:
        plan = diff_settings(flatten_rows(rows), dict(desired), prune=prune, target=self.target)
        # A setting whose value matches but is stored oddly (duplicates, json_encoded) is rewritten.
        changes = tuple(
            replace(c, action=Action.CHANGE)
            if c.action is Action.UNCHANGED
            and not _stored_row_is_clean(rows, c.setting, c.new or "")
            else c
            for c in plan.changes
        )
        return replace(plan, changes=changes)

    @property
    def target(self) -> str:
        return f"db:{self.settings.database}.{self.settings.prefix}plugin_setting"

    # --- writing ----------------------------------------------------------------------------
