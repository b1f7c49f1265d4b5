"""Which of Matomo's tables exist, and which columns ``plugin_setting`` has.

``json_encoded`` exists since Matomo 3.5.0-b4 and ``idplugin_setting`` since 3.6.0-b2
(``core/Updates/``); older tables are read and written without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oidcsetup.errors import InputError

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.database.connection import DatabaseConnection


@dataclass(frozen=True)
class SchemaInfo:
    """Which of the tables this module uses exist, and the plugin_setting columns."""

    plugin_setting_columns: frozenset[str]
    has_provider_table: bool
    has_user_table: bool

    @property
    def json_encoded(self) -> bool:
        return "json_encoded" in self.plugin_setting_columns

    @property
    def has_id(self) -> bool:
        return "idplugin_setting" in self.plugin_setting_columns


def probe_schema(db: DatabaseConnection) -> SchemaInfo:
    """One query over information_schema; InputError when plugin_setting is missing."""
    prefix = db.settings.prefix
    names = (f"{prefix}plugin_setting", f"{prefix}{db.plugin.provider_table}", f"{prefix}user")
    rows = db._query(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s)",
        names,
    )
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), set()).add(str(column).lower())
    setting_columns = columns.get(names[0], set())
    if not setting_columns:
        raise InputError(
            f"table {names[0]} does not exist in database {db.settings.database}",
            hint=f"check the table prefix ({prefix!r}; Matomo's [database] tables_prefix) and the database name",
        )
    required = {"plugin_name", "setting_name", "setting_value", "user_login"}
    if not required <= setting_columns:
        raise InputError(
            f"table {names[0]} lacks columns {', '.join(sorted(required - setting_columns))}: not Matomo's plugin_setting",
            hint="check the table prefix and the database",
        )
    return SchemaInfo(
        plugin_setting_columns=frozenset(setting_columns),
        has_provider_table=names[1] in columns,
        has_user_table=names[2] in columns,
    )
