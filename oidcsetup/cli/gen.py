"""``oidcsetup gen``: generate both sides of the integration from one Integration."""

from __future__ import annotations

import click

from oidcsetup.cli.lazy import LazyGroup
from oidcsetup.registry import gen_commands

# One entry per app and provider (oidcsetup/registry.py), then what both sides must agree on.
_REDIRECT_URIS = (
    "oidcsetup.cli.gen_matomo:gen_redirect_uris_command",
    "The redirect URI(s) the provider and Matomo must both use.",
)
GEN_COMMANDS = {name: target for name, (target, _) in gen_commands().items()}
GEN_COMMANDS["redirect-uris"] = _REDIRECT_URIS[0]
GEN_HELP = {name: text for name, (_, text) in gen_commands().items()}
GEN_HELP["redirect-uris"] = _REDIRECT_URIS[1]


@click.group(
    "gen",
    cls=LazyGroup,
    lazy_subcommands=GEN_COMMANDS,
    lazy_help=GEN_HELP,
    epilog="""\b
Examples:
  oidcsetup gen redirect-uris --matomo-url https://matomo.example.com
  oidcsetup gen authelia --authelia-version 4.38
  oidcsetup gen keycloak --issuer https://sso.example.com/realms/main --output client.json
  oidcsetup gen authentik --merge /blueprints/custom/sso.yaml --dry-run
  oidcsetup gen kanidm --issuer https://idm.example.com > register-matomo.sh
  oidcsetup gen dex --merge /etc/dex/config.yaml --secret-env MATOMO_CLIENT_SECRET
  oidcsetup gen matomo --format ini --secret-as-env MATOMO_OIDC_CLIENT_SECRET
""",
)
def gen_group() -> None:
    """Generate the provider side, the app side, or the redirect URIs both must agree on."""
