"""``oidcsetup apply``: push generated settings into a running application."""

from __future__ import annotations

import click

from oidcsetup.cli.lazy import LazyGroup

APPLY_COMMANDS = {
    "glewlwyd": "oidcsetup.cli.apply_glewlwyd:apply_glewlwyd_command",
    "lemonldap": "oidcsetup.cli.apply_lemonldap:apply_lemonldap_command",
    "matomo": "oidcsetup.cli.apply_matomo:apply_matomo_command",
}
APPLY_HELP = {
    "glewlwyd": "Apply the client to Glewlwyd through its admin API: a plan, then the write.",
    "lemonldap": "Apply the relying party to LemonLDAP::NG's configuration: a plan, then the write.",
    "matomo": "Apply the Login OIDC settings to Matomo: a plan, then the write.",
}


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
