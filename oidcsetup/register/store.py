"""Where a registration's credentials live: two 0600 files beside the profile, never printed.

- the client secret file (one line, what ``client.secret = "file:PATH"`` reads, secretref.py);
- ``PATH.registration.json``: client_id, registration_access_token, registration_client_uri
  (RFC 7592's credentials to read, update and delete the registration; both null when the
  provider offers no management, e.g. LemonLDAP::NG 2.16).
The profile gets ``client.id``, ``client.secret`` (the file reference) and ``client.auth_method``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oidcsetup.errors import InputError

DEFAULT_SECRET_FILE = "oidcsetup-client.secret"
REGISTRATION_SUFFIX = ".registration.json"
MAX_REGISTRATION_FILE_BYTES = 65536


@dataclass(frozen=True)
class StoredRegistration:
    client_id: str
    client_secret: str | None
    # None (both): the provider gave no RFC 7592 credentials; the registration can be neither
    # read back, nor updated, nor deleted through the registration API.
    registration_access_token: str | None
    registration_client_uri: str | None

    @property
    def managed(self) -> bool:
        return self.registration_access_token is not None


@dataclass(frozen=True)
class StoragePlan:
    """The files of one registration; ``replaces`` is the profile's secret reference that the
    file reference will replace (None when it is already this file or unset)."""

    secret_file: Path
    registration_file: Path
    reference: str
    replaces: str | None


def storage_plan(secret_reference: str | None, profile: Path) -> StoragePlan:
    """The files for the profile's ``client.secret``: its ``file:`` path, or a default one."""
    base = profile.parent
    if secret_reference and secret_reference.startswith("file:") and secret_reference[5:]:
        reference = secret_reference
        path = Path(secret_reference[5:]).expanduser()
        replaces = None
    else:
        reference = f"file:{DEFAULT_SECRET_FILE}"
        path = Path(DEFAULT_SECRET_FILE)
        replaces = secret_reference or None
    secret_file = path if path.is_absolute() else base / path
    return StoragePlan(
        secret_file=secret_file,
        registration_file=secret_file.with_name(secret_file.name + REGISTRATION_SUFFIX),
        reference=reference,
        replaces=replaces,
    )


def load_registration(plan: StoragePlan) -> StoredRegistration | None:
    """The stored registration, or None when there is none; InputError when it is unusable."""
    from oidcsetup.secretfile import check_private_file
    from oidcsetup.secretref import read_secret_file

    path = plan.registration_file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read registration file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        check_private_file(path, os.fstat(fd))
        raw = handle.read(MAX_REGISTRATION_FILE_BYTES + 1)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        data = None
    management = ("registration_access_token", "registration_client_uri")
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("client_id"), str)
        or not (
            all(isinstance(data.get(k), str) for k in management)
            or all(data.get(k, 0) is None for k in management)
        )
    ):
        raise InputError(
            f"registration file {path} is not a registration oidcsetup wrote",
            hint="restore it from its backup, or remove it to register a new client",
        )
    try:
        secret: str | None = read_secret_file(plan.secret_file, owner_only=True)[0]
    except FileNotFoundError:
        secret = None
    return StoredRegistration(
        client_id=data["client_id"],
        client_secret=secret,
        registration_access_token=data["registration_access_token"],
        registration_client_uri=data["registration_client_uri"],
    )


def save_registration(
    plan: StoragePlan,
    stored: StoredRegistration,
    profile: Path,
    also: Mapping[str, Any] | None = None,
) -> None:
    """Write both files (0600, atomically), then the profile's client keys and ``also`` (the
    values the registration was made from; None values are left as they are)."""
    from oidcsetup.fileio import atomic_write_text
    from oidcsetup.profile import update_profile

    if stored.client_secret:
        atomic_write_text(plan.secret_file, stored.client_secret + "\n", mode=0o600, backup=False)
    document = {
        "client_id": stored.client_id,
        "registration_access_token": stored.registration_access_token,
        "registration_client_uri": stored.registration_client_uri,
    }
    atomic_write_text(
        plan.registration_file, json.dumps(document, indent=2) + "\n", mode=0o600, backup=False
    )
    update_profile(
        profile,
        {
            "client.id": stored.client_id,
            "client.secret": plan.reference,
            "client.auth_method": "client_secret_post",
            **{k: v for k, v in (also or {}).items() if v is not None},
        },
    )


def remove_registration(plan: StoragePlan, profile: Path) -> None:
    """Remove both files and the profile's reference to the secret file (the client is gone)."""
    from oidcsetup.profile import update_profile

    for path in (plan.registration_file, plan.secret_file):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    update_profile(profile, {"client.secret": None})
