"""LemonLDAP::NG's File configuration backend, written as its own tools do.

Facts from Lemonldap/NG/Common/Conf/Backends/File.pm and Conf.pm (2.16): configurations are
``lmConf-N.json`` in ``dirName``, the newest number is the live one; saving takes the lock file
``lmConf.lock`` (a writer that finds it waits, then gives up), refuses when the configuration
changed meanwhile, stores the new one as ``lmConf-<N+1>.json`` with ``cfgNum`` N+1 (umask 0027:
mode 0640), and keeps the old files (each one is a backup the manager can restore).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oidcsetup.errors import ApplyError, InputError

CONF_NAME = re.compile(r"^lmConf-(\d+)\.js(?:on)?$")
LOCK_NAME = "lmConf.lock"


@dataclass(frozen=True)
class LiveConf:
    directory: Path
    number: int
    path: Path
    conf: dict[str, Any]


def read_live(directory: Path) -> LiveConf:
    """The newest configuration in ``directory``; reads only."""
    if not directory.is_dir():
        raise InputError(
            f"{directory} is not a folder",
            hint="pass --conf-dir with the dirName of lemonldap-ng.ini's [configuration] (File)",
        )
    numbers = sorted(
        (int(m.group(1)), name) for name in os.listdir(directory) if (m := CONF_NAME.match(name))
    )
    if not numbers:
        raise InputError(
            f"{directory} holds no lmConf-N.json",
            hint="pass the folder of LemonLDAP::NG's File configuration backend",
        )
    number, name = numbers[-1]
    path = directory / name
    # The newest file is the live one (File.pm): a damaged one is not skipped for an older one,
    # as that would plan against a configuration the portal does not serve.
    restore = (
        "fix it, or restore a saved configuration in the manager (the folder keeps the older "
        "lmConf-N.json); nothing was written"
    )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}",
            hint="run as a user that may read and write LemonLDAP::NG's configuration folder, "
            "or fix the file's permissions; nothing was written",
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", hint=restore) from None
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
            hint=restore,
        ) from None
    if not isinstance(conf, dict):
        raise InputError(
            f"{path} is not a LemonLDAP::NG configuration (no JSON object)", hint=restore
        )
    return LiveConf(directory, number, path, conf)


def save_next(live: LiveConf, conf: dict[str, Any], log: str) -> Path:
    """Store ``conf`` as configuration N+1 under LemonLDAP::NG's lock; N must still be the
    newest. Returns the new file; the previous one is kept as it was."""
    lock = live.directory / LOCK_NAME
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    except FileExistsError:
        raise ApplyError(
            f"{lock} exists: another tool is saving a LemonLDAP::NG configuration; nothing written",
            hint="run again once it has finished (remove the lock only if no one is saving)",
        ) from None
    except OSError as exc:
        raise ApplyError(f"cannot lock {live.directory}: {exc.strerror}") from None
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        if read_live(live.directory).number != live.number:
            raise ApplyError(
                f"the configuration in {live.directory} changed while oidcsetup was planning; "
                "nothing written",
                hint="run the command again to plan against the new configuration",
            )
        number = live.number + 1
        stored = dict(conf)
        stored.update(
            {
                "cfgNum": number,
                "cfgDate": str(int(time.time())),
                "cfgAuthor": "oidcsetup",
                "cfgAuthorIP": "oidcsetup",
                "cfgLog": log,
            }
        )
        path = live.directory / f"lmConf-{number}.json"
        from oidcsetup.fileio import atomic_write_text

        if path.exists():
            raise ApplyError(f"{path} exists already; nothing written")
        atomic_write_text(
            path, json.dumps(stored, indent=1, sort_keys=True), mode=0o640, backup=False
        )
        return path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
