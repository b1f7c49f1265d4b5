"""Safe file writes: atomic replace, same mode and owner, timestamped backup, writer lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from oidcsetup.errors import ApplyError


def backup_path(path: Path, now: datetime | None = None) -> Path:
    """``configuration.yml`` -> ``configuration.yml.bak-20261122T041500Z`` (unique if taken).

    A ``.php`` file keeps ``.php`` last (``config.ini.php.bak-<stamp>.php``): Matomo's config
    starts with ``; <?php exit; ?>`` precisely so that a web server that can reach the config
    folder runs it as PHP and shows nothing; a backup named ``*.bak-<stamp>`` would be served
    as plain text, database password and client secret included.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".php" if path.suffix == ".php" else ""
    candidate = path.with_name(f"{path.name}.bak-{stamp}{suffix}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{counter}{suffix}")
    return candidate


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    backup: bool = True,
) -> Path | None:
    """Replace ``path`` with ``data`` atomically (temp file in the same folder, fsync, rename).

    A symlink is followed: its target is replaced (and backed up beside the target).

    Keeps the existing file's mode and owner (``mode`` applies to a new file, or forces one).
    With ``backup``, the old content is first copied to a timestamped backup (mode 0600, owned by
    the running user), which is returned.
    On any error the original file is untouched and the temp file removed.
    """
    # A symlinked file (a mounted or generated configuration.yml) is written through to its
    # target: replacing the link itself would leave what the service reads unchanged.
    path = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    existing: os.stat_result | None
    try:
        existing = path.stat()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise ApplyError(f"cannot write {path}: {_describe(exc)}") from None
    saved: Path | None = None
    tmp_name: str | None = None
    try:
        if backup and existing is not None:
            saved = backup_path(path)
            old = path.read_bytes()
            # Owner-only, whatever the original's mode: the files we back up (config.ini.php,
            # Authelia's configuration.yml, the profile) hold passwords and keys, and a backup
            # has no reason to be readable by the web server or other users.
            fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.fchmod(fd, 0o600)  # the umask may only remove bits; make it exact
            with os.fdopen(fd, "wb") as handle:
                handle.write(old)
                handle.flush()
                os.fsync(handle.fileno())
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            os.chmod(tmp_name, mode if mode is not None else existing.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(tmp_name, existing.st_uid, existing.st_gid)
        else:
            os.chmod(tmp_name, mode if mode is not None else 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        if saved is not None:
            with contextlib.suppress(OSError):
                saved.unlink()
            saved = None
        raise ApplyError(
            f"cannot write {path}: {_describe(exc)}; the file was left unchanged",
            hint="check free space and permissions of the file and its folder",
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return saved


def atomic_write_text(
    path: Path, text: str, *, mode: int | None = None, backup: bool = True
) -> Path | None:
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode, backup=backup)


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """An exclusive advisory lock on ``<path>.lock`` against a concurrent oidcsetup writer."""
    lock_path = path.with_name(f".{path.name}.oidcsetup.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ApplyError(f"cannot lock {path}: {_describe(exc)}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ApplyError(
                        f"{path} is locked by another oidcsetup process",
                        hint="wait for it to finish, then run the command again",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
