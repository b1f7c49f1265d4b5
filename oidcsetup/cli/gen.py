"""``oidcsetup gen``: generate both sides of the integration from one Integration."""

from __future__ import annotations

import click

from oidcsetup.cli.lazy import LazyGroup

GEN_COMMANDS = {
    "authelia": "oidcsetup.cli.gen_authelia:gen_authelia_command",
    "authentik": "oidcsetup.cli.gen_authentik:gen_authentik_command",
    "dex": "oidcsetup.cli.gen_dex:gen_dex_command",
    "glewlwyd": "oidcsetup.cli.gen_glewlwyd:gen_glewlwyd_command",
    "kanidm": "oidcsetup.cli.gen_kanidm:gen_kanidm_command",
    "lemonldap": "oidcsetup.cli.gen_lemonldap:gen_lemonldap_command",
    "keycloak": "oidcsetup.cli.gen_keycloak:gen_keycloak_command",
    "matomo": "oidcsetup.cli.gen_matomo:gen_matomo_command",
    "loginoidc": "oidcsetup.cli.gen_matomo:gen_matomo_command",
    "redirect-uris": "oidcsetup.cli.gen_matomo:gen_redirect_uris_command",
}


GEN_HELP = {
    "authelia": "Authelia's OpenID Connect client entry for Matomo (paste it or --merge it).",
    "authentik": "authentik's blueprint (OAuth2 provider + application) for Matomo; print, write or merge.",
    "dex": "Dex's staticClients entry for Matomo (secretEnv, never a plaintext secret).",
    "glewlwyd": "Glewlwyd's client JSON for Matomo (for POST /api/client/).",
    "kanidm": "The kanidm system oauth2 commands that register Matomo in Kanidm.",
    "lemonldap": "LemonLDAP::NG's relying party for Matomo (configuration JSON and lemonldap-ng-cli).",
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
  oidcsetup gen keycloak --issuer https://sso.example.com/realms/main --output client.json
  oidcsetup gen authentik --merge /blueprints/custom/sso.yaml --dry-run
  oidcsetup gen kanidm --issuer https://idm.example.com > register-matomo.sh
  oidcsetup gen dex --merge /etc/dex/config.yaml --secret-env MATOMO_CLIENT_SECRET
  oidcsetup gen matomo --format ini --secret-as-env MATOMO_OIDC_CLIENT_SECRET
""",
)
def gen_group() -> None:
    """Generate the provider side, the app side, or the redirect URIs both must agree on."""
