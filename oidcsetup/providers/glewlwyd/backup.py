"""The client as it was before ``apply glewlwyd`` changed it, kept in a 0600 JSON file (it holds
the client's ``client_secret``), and read back by ``--restore``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oidcsetup.errors import ApplyError, InputError

FORMAT = "oidcsetup/glewlwyd-client-backup/1"


@dataclass(frozen=True)
class ClientBackup:
    api: str  # the API root it was read from
    client_id: str
    client: dict[str, Any] | None  # None: the client did not exist
    created: str = ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "client"


def save_backup(backup: ClientBackup, directory: Path) -> Path:
    """Write ``glewlwyd-<host>-<client>-<UTC stamp>.json`` in ``directory`` (made 0700), 0600."""
    from oidcsetup.fileio import atomic_write_bytes

    now = datetime.now(UTC)
    document = {
        "format": FORMAT,
        "created": now.isoformat(timespec="seconds"),
        "api": backup.api,
        "client_id": backup.client_id,
        "client": backup.client,
    }
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ApplyError(f"cannot create backup folder {directory}: {exc.strerror}") from None
    stem = "-".join(
        (
            "glewlwyd",
            _slug(urlsplit(backup.api).netloc),
            _slug(backup.client_id),
            now.strftime("%Y%m%dT%H%M%S%fZ"),
        )
    )
    path = directory / f"{stem}.json"
    number = 1
    while path.exists():
        number += 1
        path = directory / f"{stem}-{number}.json"
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"), mode=0o600, backup=False)
    return path


def load_backup(path: Path) -> ClientBackup:
    """A backup written by :func:`save_backup`; InputError naming what is wrong otherwise."""
    hint = "pass a file written by `oidcsetup apply glewlwyd` (its output names it)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read backup {path}: {exc.strerror}", hint=hint) from None
    except ValueError:
        raise InputError(f"backup {path} is not JSON", hint=hint) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f"{path} is not a Glewlwyd client backup of oidcsetup", hint=hint)
    client = document.get("client")
    client_id = document.get("client_id")
    api = document.get("api")
    if (
        not isinstance(client_id, str)
        or not isinstance(api, str)
        or not (client is None or isinstance(client, dict))
        or (client is not None and client.get("client_id") != client_id)
    ):
        raise InputError(f"backup {path} is damaged (client_id, api or client)", hint=hint)
    return ClientBackup(api, client_id, client, str(document.get("created", "")))
