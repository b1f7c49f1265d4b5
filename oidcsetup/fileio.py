"""Safe file writes: every name looked up in a folder opened once, never through a symlink.

oidcsetup runs as root beside folders another user can write (Matomo's ``config/`` belongs to
the web server's user). Such a user can swap ``config.ini.php`` for a symlink to a root-only
file between the moment we check the file and the moment we write it. So:

- a symlink the user points us at is resolved ONCE (``open_target``), before anything is read;
  from then on the folder is held as a file descriptor, opened component by component from
  ``/`` with ``O_NOFOLLOW`` (a component that became a symlink since is refused);
- the file is read, the backup and the temp file are created, and the temp file is renamed over
  the file, all relative to that descriptor (``dir_fd``), with ``O_NOFOLLOW`` / ``O_EXCL``: a
  symlink or hard link planted at the name is replaced, never written through;
- right before the rename, the file at the name must still be the one that was read
  (``(st_dev, st_ino)`` and content), or nothing is written;
- the writer lock is an ``flock`` on the folder itself: no lock file is created (none to leave
  behind, none for a planted symlink to redirect).

Owner and mode of the replaced file are kept (set on the temp file's descriptor). Backups sit
beside the file (``<name>.bak-<UTC stamp>[.php]``, mode 0600, owned by the running user) and
only the newest ``keep_backups`` of them are kept.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oidcsetup.errors import ApplyError, InputError

DEFAULT_KEEP_BACKUPS = 5
"""Backups of one file kept by default (older ones are removed after a successful write)."""


def default_backup_dir() -> Path:
    """Where the backups of a database or an API write go unless ``--backup-dir`` says
    (a config file's go beside it): ``$XDG_STATE_HOME/oidcsetup/backups``."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "oidcsetup" / "backups"


# The UTC stamp in a backup's name (seconds, or microseconds for database backups) and the
# counter that follows it when several backups share a stamp.
_STAMP_RE = re.compile(r"(\d{8}T\d{6}(?:\d{6})?Z)(?:-(\d+))?")


def _family(name: str) -> tuple[str, tuple[str, int]] | None:
    """A backup name without its stamp (its kind), and the stamp and counter (its age)."""
    matches = list(_STAMP_RE.finditer(name))
    if not matches:
        return None
    last = matches[-1]
    return name[: last.start()] + "*" + name[last.end() :], (last.group(1), int(last.group(2) or 1))


def backup_path(path: Path, now: datetime | None = None) -> Path:
    """``configuration.yml`` -> ``configuration.yml.bak-20261122T041500Z`` (unique if taken).

    A ``.php`` file keeps ``.php`` last (``config.ini.php.bak-<stamp>.php``): Matomo's config
    starts with ``; <?php exit; ?>`` precisely so that a web server that can reach the config
    folder runs it as PHP and shows nothing; a backup named ``*.bak-<stamp>`` would be served
    as plain text, database password and client secret included.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    return path.with_name(_backup_name(path.name, names, now))


def _backup_name(name: str, existing: list[str], now: datetime | None = None) -> str:
    """A backup name newer than every backup of ``name`` in ``existing`` with the same stamp
    (a counter after the stamp), so that names sort in the order the backups were made."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".php" if name.endswith(".php") else ""
    family = f"{name}.bak-*{suffix}"
    counter = 0
    for other in existing:
        kind = _family(other)
        if kind is not None and kind[0] == family and kind[1][0] == stamp:
            counter = max(counter, kind[1][1])
    if counter == 0:
        return f"{name}.bak-{stamp}{suffix}"
    return f"{name}.bak-{stamp}-{counter + 1}{suffix}"


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno == errno.ELOOP:
        return "it is a symlink that appeared after the path was resolved"
    return exc.strerror or str(exc)


def resolve_target(path: Path | str) -> Path:
    """The absolute path a deliberate symlink points at (resolved once, before planning)."""
    return Path(os.path.realpath(os.path.abspath(path)))


def _open_directory(directory: Path) -> int:
    """Open ``directory`` (absolute, already resolved) without following any symlink in it.

    The folders on the way are opened ``O_PATH`` (search permission is enough, as for a plain
    path lookup); the last one for reading (to lock it and list backups), or ``O_PATH`` too
    when it may only be searched (reading and writing its files still work then).
    """
    walk = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open("/", walk)
    try:
        parts = directory.parts[1:]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                try:
                    nxt = os.open(part, (walk & ~os.O_PATH) if last else walk, dir_fd=fd)
                except PermissionError:
                    if not last:
                        raise
                    nxt = os.open(part, walk, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise ApplyError(
                        f"cannot use folder {directory}: {part!r} was replaced by a symlink or a "
                        "file after the path was resolved; nothing was written",
                        hint="check who else can write the folders on that path, then run the "
                        "command again",
                    ) from None
                raise
            os.close(fd)
            fd = nxt
        if not parts:  # the root folder itself
            nxt = os.open("/", walk & ~os.O_PATH)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass(frozen=True)
class FileIdentity:
    """What a file was when it was read: the same name must still be this file at the write."""

    dev: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino)


class TargetFile:
    """One file, reached through its folder's descriptor; see the module docstring."""

    def __init__(self, requested: Path, real: Path, dir_fd: int) -> None:
        self.requested = requested  # what the user gave (may be a deliberate symlink)
        self.path = real  # where it resolved to, once
        self.name = real.name
        self.dir_fd = dir_fd
        self._read: tuple[FileIdentity, bytes] | None = None
        self._was_read = False

    # -- reading

    def _open_file(self) -> tuple[int, os.stat_result] | None:
        try:
            fd = os.open(
                self.name,
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                dir_fd=self.dir_fd,
            )
        except FileNotFoundError:
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise InputError(
                f"{self.path} is not a regular file", hint="give the path of the file itself"
            )
        return fd, st

    def _current(self) -> tuple[FileIdentity, bytes] | None:
        try:
            opened = self._open_file()
        except OSError as exc:
            raise ApplyError(f"cannot read {self.path}: {_describe(exc)}") from None
        if opened is None:
            return None
        fd, st = opened
        with os.fdopen(fd, "rb") as handle:
            return FileIdentity.of(st), handle.read()

    def read(self) -> bytes | None:
        """The file's bytes (None when it does not exist); remembered for the write's check."""
        self._read = self._current()
        self._was_read = True
        return self._read[1] if self._read else None

    def stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _check_unchanged(self, now: tuple[FileIdentity, bytes] | None) -> None:
        before = self._read
        if (before is None) != (now is None) or (
            before is not None and now is not None and before != now
        ):
            raise ApplyError(
                f"{self.requested} changed while it was being updated; nothing was written",
                hint="run the command again",
            )

    # -- writing

    def replace(
        self,
        data: bytes,
        *,
        mode: int | None = None,
        backup: bool = True,
        keep_backups: int | None = DEFAULT_KEEP_BACKUPS,
    ) -> Path | None:
        """Replace the file with ``data`` atomically; returns the backup made (or None).

        When ``read()`` was called, the file at the name must still be what it returned (same
        device and inode, same bytes), checked right before the rename. Keeps the existing
        file's mode and owner (``mode`` applies to a new file, or forces one). On any error the
        file is untouched and no temp file or backup is left.
        """
        current = self._current()
        if self._was_read:
            self._check_unchanged(current)
        existing_st = None
        if current is not None:
            existing_st = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        saved: str | None = None
        tmp: str | None = None
        renamed = False
        try:
            if backup and current is not None:
                saved = _backup_name(self.name, os.listdir(self.dir_fd))
                self._create(saved, current[1], 0o600)
            tmp = f".{self.name}.{secrets.token_hex(6)}.tmp"
            fd = os.open(
                tmp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=self.dir_fd,
            )
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if existing_st is not None:
                    os.fchmod(fd, mode if mode is not None else stat.S_IMODE(existing_st.st_mode))
                    with contextlib.suppress(PermissionError):
                        os.fchown(fd, existing_st.st_uid, existing_st.st_gid)
                else:
                    os.fchmod(fd, mode if mode is not None else 0o644)
                os.fsync(fd)
                written = FileIdentity.of(os.fstat(fd))
            # The last look before the rename: still the file we read (or still absent).
            if self._was_read:
                self._check_unchanged(self._current())
            os.rename(tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            tmp, renamed = None, True
            now = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
            if FileIdentity.of(now) != written:  # the temp name was swapped before the rename
                raise ApplyError(
                    f"{self.requested} was replaced by another writer during the update",
                    hint="check who else can write its folder, then run the command again",
                )
            with contextlib.suppress(OSError):
                os.fsync(self.dir_fd)
        except BaseException as exc:
            if saved is not None and not renamed:  # nothing replaced: the backup is no use
                with contextlib.suppress(OSError):
                    os.unlink(saved, dir_fd=self.dir_fd)
            if isinstance(exc, OSError):
                raise ApplyError(
                    f"cannot write {self.requested}: {_describe(exc)}; the file was left unchanged",
                    hint="check free space and permissions of the file and its folder",
                ) from None
            raise
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=self.dir_fd)
        self._read = None
        self._was_read = False
        if saved is not None and keep_backups is not None:
            with contextlib.suppress(OSError):  # the write is done; a folder we may not list
                self.rotate_backups(keep_backups)
        return self.path.with_name(saved) if saved else None

    def _create(self, name: str, data: bytes, mode: int) -> None:
        fd = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            mode,
            dir_fd=self.dir_fd,
        )
        # Owner-only, whatever the original's mode: the files we back up (config.ini.php,
        # Authelia's configuration.yml, the profile) hold passwords and keys.
        os.fchmod(fd, mode)  # the umask may only remove bits; make it exact
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    # -- backups

    def backups(self) -> list[Path]:
        """Backups of this file made by oidcsetup (regular files we own), oldest first."""
        suffix = ".php" if self.name.endswith(".php") else ""
        names = _same_kind(self.dir_fd, f"{self.name}.bak-*{suffix}")
        return [self.path.with_name(name) for name in names]

    def rotate_backups(self, keep: int) -> list[Path]:
        """Remove all but the newest ``keep`` backups; returns what was removed."""
        old = self.backups()
        removed = old[: max(0, len(old) - max(keep, 0))]
        for path in removed:
            with contextlib.suppress(OSError):
                os.unlink(path.name, dir_fd=self.dir_fd)
        return removed

    # -- locking

    def lock(self, timeout: float = 10.0) -> None:
        """An exclusive ``flock`` on the folder against a concurrent oidcsetup writer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ApplyError(
                        f"{self.requested} is locked by another oidcsetup process",
                        hint="wait for it to finish, then run the command again",
                    ) from None
                time.sleep(0.05)
            except OSError as exc:
                raise ApplyError(f"cannot lock {self.requested}: {_describe(exc)}") from None


@contextlib.contextmanager
def open_target(
    path: Path | str, *, lock: bool = False, timeout: float = 10.0
) -> Iterator[TargetFile]:
    """Resolve ``path`` once, open its folder, optionally lock it; yields the ``TargetFile``.

    Use one ``open_target`` for the whole read-plan-write cycle: read with ``target.read()``,
    write with ``target.replace()``; the write refuses when the file changed in between.
    """
    requested = Path(path)
    real = resolve_target(requested)
    try:
        dir_fd = _open_directory(real.parent)
    except FileNotFoundError:
        raise InputError(
            f"folder {real.parent} does not exist", hint="create it, or fix the path"
        ) from None
    except OSError as exc:
        raise ApplyError(f"cannot open folder {real.parent}: {_describe(exc)}") from None
    try:
        target = TargetFile(requested, real, dir_fd)
        if lock:
            target.lock(timeout)
        yield target
    finally:
        os.close(dir_fd)  # also releases the lock


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    backup: bool = True,
    keep_backups: int | None = DEFAULT_KEEP_BACKUPS,
) -> Path | None:
    """Replace ``path`` with ``data`` atomically, the old content backed up; returns the backup.

    A symlink at ``path`` is resolved once and its target replaced; nothing else is ever
    followed (see the module docstring). Callers that read the file first and must refuse a
    concurrent change use ``open_target`` instead.
    """
    with open_target(path) as target:
        return target.replace(data, mode=mode, backup=backup, keep_backups=keep_backups)


def write_stamped_json(directory: Path, prefix: str, document: Any) -> Path:
    """``<directory>/<prefix>-<UTC stamp with microseconds>.json`` holding ``document``, mode
    0600, written atomically (the folder is created 0700 when missing; a counter follows the
    stamp when the name is taken). For backups of settings taken before a write: names sort in
    the order they were made, and ``rotate_like`` keeps the newest of one ``prefix``."""
    import json

    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    directory = Path(directory)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ApplyError(f"cannot create backup folder {directory}: {exc.strerror}") from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{prefix}-{stamp}.json"
    counter = 1
    while path.exists():
        counter += 1
        path = directory / f"{prefix}-{stamp}-{counter}.json"
    atomic_write_bytes(path, data, mode=0o600, backup=False)
    return path


def atomic_write_text(
    path: Path,
    text: str,
    *,
    mode: int | None = None,
    backup: bool = True,
    keep_backups: int | None = DEFAULT_KEEP_BACKUPS,
) -> Path | None:
    return atomic_write_bytes(
        path, text.encode("utf-8"), mode=mode, backup=backup, keep_backups=keep_backups
    )


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = 10.0) -> Iterator[None]:
    """An exclusive lock against a concurrent oidcsetup writer of ``path`` (on its folder).

    No lock file is created: the lock is an ``flock`` on the folder's descriptor.
    """
    with open_target(path, lock=True, timeout=timeout):
        yield


def _same_kind(dir_fd: int, family: str) -> list[str]:
    """Names in the folder of this kind (``_family``), regular files we own, oldest first."""
    found: list[tuple[tuple[str, int], str]] = []
    for entry in os.listdir(dir_fd):
        kind = _family(entry)
        if kind is None or kind[0] != family:
            continue
        try:
            st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
            found.append((kind[1], entry))
    return [name for _, name in sorted(found)]


def rotate_backups(path: Path, keep: int) -> list[Path]:
    """Keep only the newest ``keep`` backups of ``path`` made by oidcsetup; returns the removed."""
    with open_target(path) as target:
        return target.rotate_backups(keep)


def rotate_like(backup: Path, keep: int) -> list[Path]:
    """Keep the newest ``keep`` files of ``backup``'s kind in its folder (its name with another
    stamp, e.g. ``matomo-db-<db>-<prefix>-<stamp>.json``); returns the removed."""
    kind = _family(backup.name)
    if kind is None:
        return []
    with open_target(backup) as target:
        names = _same_kind(target.dir_fd, kind[0])
        removed = names[: max(0, len(names) - max(keep, 0))]
        for name in removed:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=target.dir_fd)
    return [backup.with_name(name) for name in removed]
