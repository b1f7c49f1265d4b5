"""The apps and providers oidcsetup knows, one line each.

Adding one is its package (``apps/<name>/`` or ``providers/<name>/``), its command modules
(``cli/gen_<name>.py`` with ``gen_<name>_command``, and ``cli/apply_<name>.py`` with
``apply_<name>_command`` when it can be applied), and one line here: the ``gen`` and ``apply``
groups list their subcommands from these tuples. Cheap to import (no package is loaded).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Side:
    """An app or a provider side: its name (the subcommand), package and one-line help texts."""

    name: str
    package: str
    gen_help: str
    apply_help: str | None = None  # None: there is no ``apply <name>``
    aliases: tuple[str, ...] = ()  # other names of its ``gen`` command


# fmt: off
APPS: tuple[Side, ...] = (
    Side("matomo", "oidcsetup.apps.matomo", "The login plugin's settings (Login OIDC or RebelOIDC) for this integration.", "Apply the login plugin's settings (Login OIDC or RebelOIDC) to Matomo: a plan, then the write.", aliases=("loginoidc",)),
)

PROVIDERS: tuple[Side, ...] = (
    Side("authelia", "oidcsetup.providers.authelia", "Authelia's OpenID Connect client entry for Matomo (paste it or --merge it)."),
    Side("authentik", "oidcsetup.providers.authentik", "authentik's blueprint (OAuth2 provider + application) for Matomo; print, write or merge."),
    Side("dex", "oidcsetup.providers.dex", "Dex's staticClients entry for Matomo (secretEnv, never a plaintext secret)."),
    Side("glewlwyd", "oidcsetup.providers.glewlwyd", "Glewlwyd's client JSON for Matomo (for POST /api/client/).", "Apply the client to Glewlwyd through its admin API: a plan, then the write."),
    Side("kanidm", "oidcsetup.providers.kanidm", "The kanidm system oauth2 commands that register Matomo in Kanidm."),
    Side("lemonldap", "oidcsetup.providers.lemonldap", "LemonLDAP::NG's relying party for Matomo (configuration JSON and lemonldap-ng-cli).", "Apply the relying party to LemonLDAP::NG's configuration: a plan, then the write."),
    Side("keycloak", "oidcsetup.providers.keycloak", "Keycloak's client (ClientRepresentation JSON) for Matomo, and the kcadm.sh commands."),
)
# fmt: on


def gen_commands() -> dict[str, tuple[str, str]]:
    """``gen`` subcommand -> (``module:attribute`` of the command, one-line help)."""
    commands: dict[str, tuple[str, str]] = {}
    for side in (*PROVIDERS, *APPS):
        target = f"oidcsetup.cli.gen_{side.name}:gen_{side.name}_command"
        commands[side.name] = (target, side.gen_help)
        for alias in side.aliases:
            commands[alias] = (
                target,
                f"{side.gen_help.removesuffix('.')} (alias of gen {side.name}).",
            )
    return commands


def apply_commands() -> dict[str, tuple[str, str]]:
    """``apply`` subcommand -> (``module:attribute`` of the command, one-line help)."""
    return {
        side.name: (f"oidcsetup.cli.apply_{side.name}:apply_{side.name}_command", side.apply_help)
        for side in (*PROVIDERS, *APPS)
        if side.apply_help is not None
    }
