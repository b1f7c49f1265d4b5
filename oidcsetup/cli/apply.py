"""``oidcsetup apply``: push generated settings into a running application."""

from __future__ import annotations

import click

from oidcsetup.cli.lazy import LazyGroup
from oidcsetup.registry import apply_commands

# One entry per app and provider that can be applied (oidcsetup/registry.py).
APPLY_COMMANDS = {name: target for name, (target, _) in apply_commands().items()}
APPLY_HELP = {name: text for name, (_, text) in apply_commands().items()}


@click.group(
    "apply",
    cls=LazyGroup,
    lazy_subcommands=APPLY_COMMANDS,
    lazy_help=APPLY_HELP,
    epilog="""\b
Examples:
  oidcsetup apply matomo --config /var/www/matomo/config/config.ini.php --dry-run
  oidcsetup apply matomo --db --from-config /var/www/matomo/config/config.ini.php --check
  oidcsetup apply lemonldap --conf-dir /var/lib/lemonldap-ng/conf --dry-run
  oidcsetup apply glewlwyd --api https://sso.example.com/api --dry-run
""",
)
def apply_group() -> None:
    """Apply settings to an application, with a plan first."""
