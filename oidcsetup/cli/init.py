"""``oidcsetup init``: write a commented starter profile."""

from __future__ import annotations

import tomllib

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import shared_options
from oidcsetup.errors import UsageError
from oidcsetup.fileio import atomic_write_text
from oidcsetup.profile import flatten_profile, starter_profile


@click.command(
    "init",
    epilog="""\b
Examples:
  oidcsetup init
  oidcsetup init --issuer https://auth.example.com --matomo-url https://matomo.example.com
  oidcsetup --profile /etc/oidcsetup/matomo.toml init --client-id matomo --force
""",
)
@shared_options("issuer", "client_id", "matomo_url")
@click.option("--force", is_flag=True, help="Overwrite an existing profile (a backup is kept).")
@click.pass_obj
def init_command(
    app: AppContext,
    issuer: str | None,
    client_id: str | None,
    matomo_url: str | None,
    force: bool,
) -> None:
    """Write a commented starter profile (./oidcsetup.toml or --profile)."""
    path = app.profile
    if path.exists() and not force:
        raise UsageError(
            f"{path} already exists", hint="pass --force to replace it (a backup is kept)"
        )
    text = starter_profile(
        issuer=issuer or "https://auth.example.com",
        client_id=client_id or "matomo",
        matomo_url=matomo_url or "https://matomo.example.com",
    )
    # What we write must load: check it before the old profile is replaced.
    flatten_profile(tomllib.loads(text), source=str(path))
    backup = atomic_write_text(path, text, mode=0o600, backup=True)
    if app.json_mode:
        app.output.json({"profile": str(path), "backup": str(backup) if backup else None})
    else:
        app.output.text(f"wrote {path}" + (f" (previous saved as {backup})" if backup else ""))
        app.output.info("next: oidcsetup discover <issuer> --save")
