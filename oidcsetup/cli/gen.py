"""``oidcsetup gen``: generate both sides of the integration from one Integration."""

from __future__ import annotations

import click

from oidcsetup.cli.lazy import LazyGroup

GEN_COMMANDS = {
    "authelia": "oidcsetup.cli.gen_authelia:gen_authelia_command",
    "keycloak": "oidcsetup.cli.gen_keycloak:gen_keycloak_command",
    "matomo": "oidcsetup.cli.gen_matomo:gen_matomo_command",
    "loginoidc": "oidcsetup.cli.gen_matomo:gen_matomo_command",
    "redirect-uris": "oidcsetup.cli.gen_matomo:gen_redirect_uris_command",
}


GEN_HELP = {
    "authelia": "Authelia's OpenID Connect client entry for Matomo (paste it or --merge it).",
    "keycloak": "Keycloak's client (ClientRepresentation JSON) for Matomo, and the kcadm.sh commands.",
    "matomo": "The Login OIDC plugin's settings for this integration.",
    "loginoidc": "The Login OIDC plugin's settings (alias of gen matomo).",
    "redirect-uris": "The redirect URI(s) the provider and Matomo must both use.",
}


@click.group(
    "gen",
    cls=LazyGroup,
    lazy_subcommands=GEN_COMMANDS,
    lazy_help=GEN_HELP,
    epilog="""\b
Examples:
  oidcsetup gen redirect-uris --matomo-url https://matomo.example.com
  oidcsetup gen authelia --authelia-version 4.38
  oidcsetup gen matomo --format ini --secret-as-env MATOMO_OIDC_CLIENT_SECRET
""",
)
def gen_group() -> None:
    """Generate the provider side, the app side, or the redirect URIs both must agree on."""
