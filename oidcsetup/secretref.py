"""Resolve the client's plaintext secret from where it lives, only when a command needs it.

Order: ``$OIDCSETUP_CLIENT_SECRET``; then the profile's ``client.secret`` reference
(``env:NAME`` or ``file:PATH``; a bare string is taken as the plaintext, discouraged);
then a hidden prompt when stdin is a terminal and the command allows prompting.

One rule for a secret read as text, from a file or from stdin (``secret_from_text``): one
trailing line ending (``\n`` or ``\r\n``, as ``echo`` and editors add) is removed; what is left
must be one non-empty line without NUL. A secret file must be a regular file of at most
``MAX_SECRET_FILE_BYTES``, owned by the running user or root and writable by nobody else
(whoever can write it chooses the client secret); readable by group or others is a warning
(Docker and Kubernetes mount secrets 0444/0644), or an error for files oidcsetup made itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oidcsetup.constants import SECRET_ENV
from oidcsetup.errors import SecretError

MAX_SECRET_FILE_BYTES = 4096
"""A client secret is a line of text; Authelia's generator makes 72 characters."""


@dataclass(frozen=True)
class ResolvedSecret:
    value: str
    source: str  # e.g. "env:OIDCSETUP_CLIENT_SECRET", "file:/run/secrets/x", "profile", "prompt"
    warning: str | None = None  # e.g. a secret file readable by others (with the fix)


def secret_from_text(text: str, where: str) -> str:
    """The secret in ``text`` read from ``where`` (a file, stdin): the one rule for both."""
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if "\x00" in text:
        raise SecretError(
            f"the client secret in {where} contains a NUL character",
            hint="a client secret is one line of text; write just the secret",
        )
    if "\n" in text or "\r" in text:
        raise SecretError(
            f"the client secret in {where} spans several lines (only one trailing newline is "
            "allowed)",
            hint="a client secret is one line of text; remove the other lines",
        )
    if not text:
        raise SecretError(
            f"{where} holds no client secret (it is empty)",
            hint="put the secret in it, one line (oidcsetup secret generate > FILE), or remove "
            "it to have one generated where the command offers that",
        )
    return text


def read_secret_file(path: Path, *, owner_only: bool = False) -> tuple[str, str | None]:
    """The secret in ``path`` and a warning (or None); SecretError when it is unusable.

    ``owner_only``: the file must be private to us (``secretfile.check_private_file``: files
    oidcsetup writes are 0600, so a looser mode means someone changed it), not just a warning.
    """
    where = f"client secret file {path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretError(f"cannot read {where}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SecretError(
                f"{where} is not a regular file", hint="give the path of a file holding the secret"
            )
        if st.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretError(
                f"{where} is {st.st_size} bytes, too large for a client secret "
                f"(at most {MAX_SECRET_FILE_BYTES})",
                hint="the file must hold just the secret, one line",
            )
        if owner_only:  # a file oidcsetup wrote 0600 itself: still private, or refused
            from oidcsetup.secretfile import check_private_file

            check_private_file(path, st)
        if st.st_uid not in (os.geteuid(), 0):
            raise SecretError(
                f"{where} belongs to another user (uid {st.st_uid}), who could choose the client "
                "secret",
                hint=f"chown {os.geteuid()} {path} (and chmod 600), or move the secret to a file "
                "of yours",
            )
        if st.st_mode & 0o022:
            raise SecretError(
                f"{where} can be written by others (mode {stat.S_IMODE(st.st_mode):04o})",
                hint=f"chmod 600 {path}",
            )
        warning = None
        if st.st_mode & 0o044:
            warning = (
                f"{where} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}): "
                f"chmod 600 {path}"
            )
        data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(
            f"{where} is not text (it is not valid UTF-8: a binary file?)",
            hint="the file must hold just the secret, one line of text",
        ) from None
    return secret_from_text(text, where), warning


def resolve_secret(
    reference: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    prompt: Callable[[], str] | None = None,
) -> ResolvedSecret | None:
    """The plaintext client secret, or None when none is configured (and no prompt is allowed)."""
    env = os.environ if environ is None else environ
    if env.get(SECRET_ENV):
        return ResolvedSecret(env[SECRET_ENV], f"env:{SECRET_ENV}")
    if reference:
        return _resolve_reference(reference, env, base_dir)
    if prompt is not None:
        value = prompt()
        if not value:
            raise SecretError("no client secret entered")
        return ResolvedSecret(value, "prompt")
    return None


def _resolve_reference(
    reference: str, env: Mapping[str, str], base_dir: Path | None
) -> ResolvedSecret:
    if reference.startswith("env:"):
        name = reference[4:]
        if not name:
            raise SecretError("client.secret = 'env:' names no variable", hint="write env:NAME")
        value = env.get(name)
        if not value:
            raise SecretError(
                f"the client secret is expected in ${name}, which is not set",
                hint=f"export {name}=..., or set {SECRET_ENV}",
            )
        return ResolvedSecret(value, reference)
    if reference.startswith("file:"):
        path = Path(reference[5:]).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            value, warning = read_secret_file(path)
        except FileNotFoundError:
            raise SecretError(
                f"client secret file {path} does not exist",
                hint="create it (mode 0600) or fix client.secret in the profile",
            ) from None
        return ResolvedSecret(value, f"file:{path}", warning)
    return ResolvedSecret(reference, "profile")


def mask(secret: str | None) -> str:
    """What a secret looks like in output that was not asked to show it."""
    if not secret:
        return "(empty)"
    return "********"
