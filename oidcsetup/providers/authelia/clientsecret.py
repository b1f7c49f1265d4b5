"""Where ``gen authelia`` gets the client's plaintext secret, generating one when none exists.

Order: ``$OIDCSETUP_CLIENT_SECRET``; the profile's ``client.secret`` reference; otherwise a
secret file (``--secret-file``, default ``./<client_id>.secret``): read when it exists (so a
second run reuses it and stays in sync), generated and written with mode 0600 when it does not.
A ``client.secret = "file:PATH"`` whose file does not exist yet is generated into that path.
The plaintext is never printed unless asked; the provider side gets only its digest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from oidcsetup.integration import Integration
from oidcsetup.secretref import SECRET_ENV, read_secret_file, resolve_secret


@dataclass(frozen=True)
class ClientSecret:
    value: str
    source: str  # "env:NAME", "file:PATH", "profile", "generated"
    file: Path | None = None  # the file holding a generated (or reused) secret
    generated: bool = False  # True: new, and ``file`` must still be written (write_secret_file)
    in_profile: bool = False  # True: ``file`` is the one the profile's client.secret names

    @property
    def reference(self) -> str | None:
        """What ``client.secret`` in the profile should say to reach this secret."""
        if self.file is not None:
            return f"file:{self.file.resolve()}"
        if self.source.startswith(("env:", "file:")):
            return self.source
        return None


def default_secret_file(client_id: str) -> Path:
    name = client_id if re.fullmatch(r"[A-Za-z0-9._~-]{1,100}", client_id) else "client"
    return Path(f"{name.lstrip('.') or 'client'}.secret")


def _read_secret_file(path: Path) -> str | None:
    """The secret kept in ``path``, None when there is none. The rules of every secret file
    (secretref.read_secret_file: size, one line); this one oidcsetup made with mode 0600, so it
    must still be private to us (secretfile.check_private_file), checked on the opened file."""
    try:
        return read_secret_file(path, owner_only=True)[0]
    except FileNotFoundError:
        return None


def obtain_client_secret(
    integration: Integration,
    *,
    secret_file: Path | None = None,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientSecret:
    """The plaintext secret for the integration's client; a new one (not yet written) if none."""
    from oidcsetup.secrets import generate_secret

    env = os.environ if environ is None else environ
    reference = integration.client.secret
    if not env.get(SECRET_ENV) and reference and reference.startswith("file:"):
        path = Path(reference[5:]).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        if not path.exists():
            return ClientSecret(
                generate_secret(), "generated", file=path, generated=True, in_profile=True
            )
    resolved = resolve_secret(reference, environ=env, base_dir=base_dir)
    if resolved is not None:
        return ClientSecret(resolved.value, resolved.source)
    path = secret_file or default_secret_file(integration.client.client_id)
    existing = _read_secret_file(path)
    if existing is not None:
        return ClientSecret(existing, f"file:{path}", file=path)
    return ClientSecret(generate_secret(), "generated", file=path, generated=True)


def write_secret_file(secret: ClientSecret) -> None:
    """Write a generated secret to its file (atomic, mode 0600); never replaces an existing one."""
    from oidcsetup.errors import ApplyError
    from oidcsetup.fileio import open_target

    if not secret.generated or secret.file is None:
        return
    path = secret.file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ApplyError(f"cannot create the folder of {path}: {exc.strerror}") from None
    # Through the safe writer: created in the folder's descriptor, and refused (replace()
    # re-checks) if anything appeared at the name, a planted symlink included.
    with open_target(path) as target:
        if target.stat() is not None or target.read() is not None:
            raise ApplyError(
                f"{path} appeared while oidcsetup was generating a secret; nothing was written",
                hint="run the command again to use the secret in that file",
            )
        target.replace((secret.value + "\n").encode("utf-8"), mode=0o600, backup=False)
