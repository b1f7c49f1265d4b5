"""Backups of the plugin's rows: one JSON file (mode 0600) per write, restorable."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from oidcsetup.apps.matomo.database.dsn import DbSettings
from oidcsetup.apps.matomo.database.rows import PLUGIN, StoredRow
from oidcsetup.errors import ApplyError, InputError
from oidcsetup.fileio import atomic_write_bytes

BACKUP_FORMAT = "oidcsetup-matomo-db-backup/1"


def write_backup(
    settings: DbSettings, rows: Collection[StoredRow], directory: Path, plugin: str = PLUGIN
) -> Path:
    """Save the plugin's rows to ``<dir>/matomo-db-<db>-<prefix>-<stamp>.json``, mode 0600."""
    directory = Path(directory)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    document = {
        "format": BACKUP_FORMAT,
        "created": now.isoformat(timespec="seconds"),
        "database": settings.database,
        "host": settings.unix_socket or f"{settings.host}:{settings.port}",
        "table": f"{settings.prefix}plugin_setting",
        "plugin_name": plugin,
        "user_login": "",
        "rows": [r.to_json() for r in rows],
    }
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ApplyError(f"cannot create backup folder {directory}: {exc.strerror}") from None
    path = directory / f"matomo-db-{settings.database}-{settings.prefix or 'noprefix'}-{stamp}.json"
    counter = 1
    while path.exists():
        counter += 1
        path = path.with_name(
            f"matomo-db-{settings.database}-{settings.prefix or 'noprefix'}-{stamp}-{counter}.json"
        )
    atomic_write_bytes(path, data, mode=0o600, backup=False)
    return path


@dataclass(frozen=True)
class Backup:
    """A backup written by ``write_backup``: the rows, and where they were taken from."""

    rows: list[StoredRow]
    database: str | None
    table: str | None


def read_backup(path: Path) -> list[StoredRow]:
    """The rows of a backup written by ``write_backup`` (InputError for anything else)."""
    return load_backup(path).rows


def load_backup(path: Path, plugin: str = PLUGIN) -> Backup:
    """A backup written by ``write_backup`` (InputError for anything else)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"backup file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not an oidcsetup database backup: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise InputError(
            f"{path} is not an oidcsetup database backup (format {BACKUP_FORMAT} expected)",
            hint="a config-file backup is restored by copying it over config.ini.php",
        )
    if document.get("plugin_name") != plugin:
        raise InputError(
            f"{path} holds settings of plugin {document.get('plugin_name')!r}, not {plugin}"
        )
    rows: list[StoredRow] = []
    for item in document.get("rows") or []:
        try:
            name, value, encoded = (
                item["setting_name"],
                item["setting_value"],
                item.get("json_encoded", 0),
            )
        except (TypeError, KeyError):
            raise InputError(f"{path}: malformed row {item!r}") from None
        if not isinstance(name, str) or not isinstance(value, str) or encoded not in (0, 1):
            raise InputError(f"{path}: malformed row {item!r}")
        rows.append(StoredRow(name, value, int(encoded)))
    database, table = document.get("database"), document.get("table")
    return Backup(
        rows,
        database if isinstance(database, str) else None,
        table if isinstance(table, str) else None,
    )
