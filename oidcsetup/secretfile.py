"""Is a file that holds a secret still private? (owner and mode, as ssh checks its keys)

A secret file owned by another user could have been planted by them (they know the secret that
oidcsetup would hand to Authelia and Matomo); one readable by group or others may already have
leaked. Either way reusing it silently is wrong: refuse, naming the fix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from oidcsetup.errors import SecretError


def check_private_file(path: Path, info: os.stat_result, *, euid: int | None = None) -> None:
    """Raise SecretError unless ``info`` (the ``fstat`` of the opened ``path``) shows a regular
    file owned by the running user (or root) and not readable or writable by group or others."""
    me = os.geteuid() if euid is None else euid
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(
            f"secret file {path} is not a regular file",
            hint="point at a file that holds only the secret",
        )
    if info.st_uid not in (me, 0):
        raise SecretError(
            f"secret file {path} is owned by uid {info.st_uid}, not by you (uid {me}) or root: "
            "another user may have written or read it",
            hint=f"check its content, then `chown {me} {path}`; or delete it to generate a new "
            "secret",
        )
    loose = info.st_mode & 0o077
    if loose:
        raise SecretError(
            f"secret file {path} is accessible to group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}): the secret may have leaked",
            hint=f"`chmod 600 {path}` (and rotate the secret if others could read it)",
        )
