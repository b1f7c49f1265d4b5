"""Resolve the client's plaintext secret from where it lives, only when a command needs it.

Order: ``$OIDCSETUP_CLIENT_SECRET``; then the profile's ``client.secret`` reference
(``env:NAME`` or ``file:PATH``; a bare string is taken as the plaintext, discouraged);
then a hidden prompt when stdin is a terminal and the command allows prompting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oidcsetup.constants import SECRET_ENV
from oidcsetup.errors import SecretError


@dataclass(frozen=True)
class ResolvedSecret:
    value: str
    source: str  # e.g. "env:OIDCSETUP_CLIENT_SECRET", "file:/run/secrets/x", "profile", "prompt"


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
            value = path.read_text(encoding="utf-8").strip("\r\n")
        except FileNotFoundError:
            raise SecretError(
                f"client secret file {path} does not exist",
                hint="create it (mode 0600) or fix client.secret in the profile",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretError(f"cannot read client secret file {path}: {exc}") from None
        if not value:
            raise SecretError(f"client secret file {path} is empty")
        return ResolvedSecret(value, f"file:{path}")
    return ResolvedSecret(reference, "profile")


def mask(secret: str | None) -> str:
    """What a secret looks like in output that was not asked to show it."""
    if not secret:
        return "(empty)"
    return "********"
