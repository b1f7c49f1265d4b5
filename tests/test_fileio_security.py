"""Root never writes where another user points: the symlink race, the lock file, read-only runs.

The race harness is the attack of issue 15 item 1, for real: a throwaway unprivileged user owns
Matomo's ``config/`` folder (as www-data does) and, in a loop, swaps ``config.ini.php`` for a
symlink to a root-only file for a moment and puts a genuine file back, while root runs
``apply_config`` many times. The root-only file must never be written. It needs root (to create
the user and to be the victim's only writer): skipped otherwise. It fails on the 0.1.0 writer
(``realpath`` + ``is_symlink()`` + write through the link): the report of the work says how
that was checked.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oidcsetup.apps.matomo.configfile import apply_config
from oidcsetup.errors import OidcSetupError
from tests.support.profiles import minimal_profile

MATOMO_CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "127.0.0.1"
dbname = "matomo"

[General]
salt = "0123456789abcdef"
"""

VICTIM = b"root-only: ssh-ed25519 AAAA... the attacker wants this file replaced\n"

ATTACKER = textwrap.dedent(
    """
    import os, sys, time
    folder, victim, stop, count = sys.argv[1:5]
    os.chdir(folder)
    n = 0
    while not os.path.exists(stop):
        try:
            good = open("config.ini.php", "rb").read()
        except OSError:
            good = b""
        if not good.startswith(b"; <?php"):
            good = open("pristine", "rb").read()
        for name in (".evil", ".good"):
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass
        os.symlink(victim, ".evil")
        with open(".good", "wb") as f:
            f.write(good)
        os.rename(".evil", "config.ini.php")  # the symlink, for a few hundred microseconds
        end = time.perf_counter() + 0.0003
        while time.perf_counter() < end:
            pass
        os.rename(".good", "config.ini.php")  # a genuine file again
        n += 1
        # bursts of swaps with short pauses: root's applies also meet a quiet folder sometimes
        time.sleep(0.03 if n % 20 == 0 else 0.0005)
    open(count, "w").write(str(n))
    """
)


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip(
            "the race harness needs root (it creates a throwaway user and a root-only file)"
        )
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel are not installed")


def _python_for_other_users() -> str:
    """A python the unprivileged user can run (the venv's may live under root's home)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and os.stat(candidate).st_mode & stat.S_IXOTH:
            return candidate
    pytest.skip("no python3 that an unprivileged user can run (for the attacker's loop)")


@pytest.fixture
def other_user() -> Iterator[tuple[str, int, int]]:
    """A throwaway unprivileged user (removed afterwards): the web server's user in the attack."""
    _need_root()
    import pwd

    name = "oidcrace" + secrets.token_hex(3)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    try:
        entry = pwd.getpwnam(name)
        yield name, entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def shared_tree() -> Iterator[Path]:
    """A folder the other user can reach (pytest's tmp_path is root-only)."""
    base = Path(tempfile.mkdtemp(prefix="oidcsetup-race-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_symlink_race_never_writes_the_root_only_file(
    other_user: tuple[str, int, int], shared_tree: Path
) -> None:
    _, uid, gid = other_user
    config_dir = shared_tree / "matomo" / "config"
    config_dir.mkdir(parents=True)
    (shared_tree / "matomo").chmod(0o755)
    config = config_dir / "config.ini.php"
    config.write_text(MATOMO_CONFIG)
    (config_dir / "pristine").write_text(MATOMO_CONFIG)
    for path in (config_dir, config, config_dir / "pristine"):
        os.chown(path, uid, gid)
    config_dir.chmod(0o755)
    config.chmod(0o644)
    secret_dir = shared_tree / "root-only"
    secret_dir.mkdir(mode=0o700)
    victim = secret_dir / "authorized_keys"
    victim.write_bytes(VICTIM)
    victim.chmod(0o600)
    stop, count = shared_tree / "stop", shared_tree / "count"
    count.touch()
    os.chown(count, uid, gid)

    python = _python_for_other_users()
    attacker = subprocess.Popen(
        [python, "-c", ATTACKER, str(config_dir), str(victim), str(stop), str(count)],
        user=uid,
        group=gid,
        extra_groups=[],
    )
    outcomes: dict[str, int] = {"written": 0, "refused": 0}
    try:
        time.sleep(0.2)
        # At least 400 applies, and on until a few of them wrote (a loaded machine slows root
        # down more than the attacker's loop), at most 3000.
        for i in range(3000):
            if i >= 400 and outcomes["written"] >= 3:
                break
            try:
                result = apply_config(config, {"clientId": f"client-{i}"}, lock_timeout=1.0)
                outcomes["written" if result.written else "refused"] += 1
            except OidcSetupError:
                outcomes["refused"] += 1
            except OSError:  # the 0.1.0 code could also fail this way; not the point here
                outcomes["refused"] += 1
            assert victim.read_bytes() == VICTIM, f"root wrote the root-only file ({outcomes})"
    finally:
        stop.touch()
        attacker.wait(timeout=30)
    swaps = int(count.read_text() or 0)
    assert swaps > 50, f"the attacker swapped only {swaps} times: the race was not run"
    assert victim.read_bytes() == VICTIM
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600 and victim.stat().st_uid == 0
    assert sorted(p.name for p in secret_dir.iterdir()) == ["authorized_keys"]
    # Some applies won the race against the attacker and wrote the real config (not a no-op).
    assert outcomes["written"] > 0, outcomes
    # Whatever is at the name now is a config file, never root's secret.
    assert b"root-only" not in (config_dir / "config.ini.php").read_bytes()


def test_a_symlink_at_the_old_lock_name_creates_nothing(tmp_path: Path) -> None:
    """Issue 15 item 5: 0.1.0 opened ``.config.ini.php.oidcsetup.lock`` with O_CREAT and no
    O_NOFOLLOW, so a symlink planted there made root create any file (e.g. /etc/nologin)."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    config = config_dir / "config.ini.php"
    config.write_text(MATOMO_CONFIG)
    target = tmp_path / "elsewhere" / "nologin"
    target.parent.mkdir()
    (config_dir / ".config.ini.php.oidcsetup.lock").symlink_to(target)
    result = apply_config(config, {"clientId": "matomo"})
    assert result.written and result.backup is not None
    assert not target.exists()
    # ... and no lock file of ours is left beside the user's config (issue 10)
    left = sorted(p.name for p in config_dir.iterdir())
    assert left == [".config.ini.php.oidcsetup.lock", "config.ini.php", result.backup.name]


def test_a_deliberate_symlink_is_resolved_once_and_its_target_written(tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "config.ini.php"
    real.write_text(MATOMO_CONFIG)
    link_dir = tmp_path / "matomo" / "config"
    link_dir.mkdir(parents=True)
    link = link_dir / "config.ini.php"
    link.symlink_to(real)
    result = apply_config(link, {"clientId": "matomo"})
    assert result.written and link.is_symlink()
    assert 'clientId = "matomo"' in real.read_text()
    assert result.backup is not None and result.backup.parent == real_dir


def test_a_folder_swapped_for_a_symlink_after_resolution_is_refused(tmp_path: Path) -> None:
    from oidcsetup.errors import ApplyError
    from oidcsetup.fileio import _open_directory

    (tmp_path / "real").mkdir()
    (tmp_path / "swapped").symlink_to(tmp_path / "real")
    with pytest.raises(ApplyError, match="replaced by a symlink"):
        _open_directory(tmp_path / "swapped")


def test_a_changed_inode_between_read_and_write_is_refused(tmp_path: Path) -> None:
    from oidcsetup.errors import ApplyError
    from oidcsetup.fileio import open_target

    path = tmp_path / "f.yml"
    path.write_text("a: 1\n")
    with open_target(path, lock=True) as target:
        assert target.read() == b"a: 1\n"
        # another writer replaces the file with the same bytes (a new inode)
        (tmp_path / "new").write_text("a: 1\n")
        os.replace(tmp_path / "new", path)
        with pytest.raises(ApplyError, match="changed while it was being updated"):
            target.replace(b"a: 2\n")
    assert path.read_text() == "a: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.yml"]  # no temp file, no backup


def test_backups_are_rotated(tmp_path: Path) -> None:
    from oidcsetup.fileio import atomic_write_text, open_target

    path = tmp_path / "config.ini.php"
    path.write_text("0")
    made = []
    for i in range(1, 8):
        made.append(atomic_write_text(path, str(i), keep_backups=3))
    with open_target(path) as target:
        kept = target.backups()
    assert kept == made[-3:]  # the newest three (several per second: -2, -3 counters)
    assert [p.read_text() for p in kept] == ["4", "5", "6"]
    # a file that merely looks like a backup but is not ours (another owner, a symlink) stays
    (tmp_path / "config.ini.php.bak-20000101T000000Z.php").symlink_to(path)
    atomic_write_text(path, "8", keep_backups=1)
    assert (tmp_path / "config.ini.php.bak-20000101T000000Z.php").is_symlink()


def test_check_and_dry_run_work_on_a_read_only_mount(tmp_path: Path) -> None:
    """Issue 10 item 5, on a real read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a read-only bind mount needs root and unshare(1)")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -m is not allowed here: " + probe.stderr.decode().strip())
    src = tmp_path / "src"
    src.mkdir()
    config = src / "config.ini.php"
    config.write_text(MATOMO_CONFIG)
    mnt = tmp_path / "ro"
    mnt.mkdir()
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(minimal_profile())
    ro_config = mnt / "config.ini.php"
    script = " && ".join(
        [
            f"mount --bind {src} {mnt}",
            f"mount -o remount,ro,bind {mnt}",
            f"! touch {mnt}/probe 2>/dev/null",
            f"{sys.executable} -m oidcsetup --profile {profile} apply matomo --config "
            f"{ro_config} --check; echo check=$?",
            f"{sys.executable} -m oidcsetup --profile {profile} apply matomo --config "
            f"{ro_config} --dry-run; echo dry=$?",
            f"{sys.executable} -m oidcsetup --profile {profile} apply matomo --config "
            f"{ro_config}; echo apply=$?",
        ]
    )
    env = {**os.environ, "OIDCSETUP_CLIENT_SECRET": "s3cret-value", "NO_COLOR": "1"}
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env
    )
    out = run.stdout + run.stderr
    assert "check=3" in run.stdout, out  # drift found, not a permission error
    assert "dry=0" in run.stdout, out
    assert "apply=1" in run.stdout and "read-only" in out, out
    assert "lock" not in out.lower(), out
    assert config.read_text() == MATOMO_CONFIG
    assert sorted(p.name for p in src.iterdir()) == ["config.ini.php"]


def test_a_reader_needs_only_search_permission_on_the_folders(shared_tree: Path) -> None:
    """The folder walk opens the folders on the way O_PATH: a user who may search but not list
    them (mode 0711, common above a web root) can still read the config and dry-run."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make the folders and to drop to another user")
    top = shared_tree / "srv"
    config_dir = top / "matomo" / "config"
    config_dir.mkdir(parents=True)
    for folder in (top, top / "matomo", config_dir):
        folder.chmod(0o711)
    config = config_dir / "config.ini.php"
    config.write_text(MATOMO_CONFIG)
    config.chmod(0o644)
    pid = os.fork()
    if pid == 0:  # the child: nobody, in this interpreter (no python to exec as another user)
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            from oidcsetup.apps.matomo.configfile import MatomoConfig

            loaded = MatomoConfig.load(config)
            dry = apply_config(config, {"clientId": "matomo"}, dry_run=True)
            code = 0 if loaded.data.decode() == MATOMO_CONFIG and dry.plan.pending else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
