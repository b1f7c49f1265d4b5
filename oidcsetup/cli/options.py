"""Options shared by several commands, each bound to a profile key and an OIDCSETUP_* variable.

A command decorated with these gets the values as keyword arguments; ``overrides(kwargs)`` turns
them into the dotted-key overrides ``AppContext.integration`` applies over the profile.
Precedence: flag > environment variable > profile > built-in default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# parameter name -> (profile key, flags, env var, help, is_flag-or-type)
_SHARED: dict[str, tuple[str, str, str, str]] = {
    "issuer": ("provider.issuer", "--issuer", "OIDCSETUP_ISSUER", "The provider's issuer URL."),
    "preset": (
        "provider.preset",
        "--preset",
        "OIDCSETUP_PRESET",
        "Derive endpoints from the issuer by a known provider's layout "
        "(authelia, unikname, keycloak, authentik, kanidm, lemonldap, glewlwyd, "
        "django-oidc-provider, generic).",
    ),
    "client_id": ("client.id", "--client-id", "OIDCSETUP_CLIENT_ID", "The OAuth client_id."),
    "client_name": (
        "client.name",
        "--client-name",
        "OIDCSETUP_CLIENT_NAME",
        "Display name of the client.",
    ),
    "scopes": (
        "client.scopes",
        "--scopes",
        "OIDCSETUP_SCOPES",
        'Space-separated scopes, e.g. "openid email".',
    ),
    "matomo_url": (
        "app.matomo.url",
        "--matomo-url",
        "OIDCSETUP_MATOMO_URL",
        "Matomo's base URL, e.g. https://matomo.example.com.",
    ),
    "userinfo_id": (
        "app.matomo.userinfo_id",
        "--userinfo-id",
        "OIDCSETUP_USERINFO_ID",
        'The userinfo claim identifying a user ("sub" for OIDC).',
    ),
    "plugin": (
        "app.matomo.plugin",
        "--plugin",
        "OIDCSETUP_PLUGIN",
        "Matomo's login plugin: loginoidc (Login OIDC) or rebeloidc (RebelOIDC). Default: the "
        "profile's, else the one active in the target Matomo, else loginoidc.",
    ),
    "redirect_uri_override": (
        "app.matomo.redirect_uri_override",
        "--redirect-uri-override",
        "OIDCSETUP_REDIRECT_URI_OVERRIDE",
        "Use this redirect URI instead of Matomo's default callback URL.",
    ),
}


# Options whose values are one of a few words (checked by click, a usage error otherwise).
_CHOICES: dict[str, tuple[str, ...]] = {"plugin": ("loginoidc", "rebeloidc")}


# What a login sends depends on these: the provider, the client, Matomo's redirect URI.
# `check` and `login` take the same ones (`login` is the interactive form of `check --login`).
LOGIN_OPTIONS = (
    "issuer",
    "preset",
    "client_id",
    "matomo_url",
    "scopes",
    "userinfo_id",
    "redirect_uri_override",
    "plugin",
)


def shared_option(name: str) -> Callable[[F], F]:
    key, flag, envvar, help_text = _SHARED[name]
    del key
    choices = _CHOICES.get(name)
    return click.option(
        flag,
        name,
        envvar=envvar,
        default=None,
        show_envvar=True,
        help=help_text,
        type=click.Choice(choices, case_sensitive=False) if choices else None,
    )


def shared_options(*names: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for name in reversed(names):
            func = shared_option(name)(func)
        return func

    return decorate


# What every provider side takes to describe the client: the same names in every command, so
# the provider side and `gen matomo` cannot be told different things.
CLIENT_OPTION_NAMES = (
    "client_id",
    "client_name",
    "matomo_url",
    "scopes",
    "redirect_uri_override",
    "plugin",
)


def client_options(*, issuer: bool = False) -> Callable[[F], F]:
    """The client-describing options of a provider side (``--issuer`` first where it needs one)."""
    return shared_options(*(("issuer",) if issuer else ()), *CLIENT_OPTION_NAMES)


def signup_domain_option(func: F) -> F:
    """``--allowed-signup-domain DOMAIN`` (repeatable) -> ``app.matomo.allowed_signup_domains``.

    Plain domain names, compared exactly with the part after @ of the email claim (Login OIDC's
    signup): checked and IDN-converted by ``apps.matomo.settings.signup_domain``.
    """
    return click.option(
        "--allowed-signup-domain",
        "allowed_signup_domains",
        multiple=True,
        metavar="DOMAIN",
        envvar="OIDCSETUP_ALLOWED_SIGNUP_DOMAINS",
        show_envvar=True,
        help="Create users (allowSignup) only for emails @DOMAIN: a plain domain name, "
        "compared exactly (no regex, no subdomains); repeat for more. The environment "
        "variable takes them space-separated.",
    )(func)


def overrides(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The profile-key overrides among a command's keyword arguments (None: not given)."""
    result: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in _SHARED and value is not None:
            key = _SHARED[name][0]
            result[key] = value.split() if key == "client.scopes" else value
    return result


def database_requested(use_db: bool, from_config: object) -> bool:
    """``--db``, or a database named on the command line (``--dsn``, ``--from-config``).

    ``$OIDCSETUP_DB_DSN`` only says *which* database when one is asked for; it never adds the
    database by itself (``apply matomo --config`` stays a config-file run). Shared by
    ``apply matomo`` and ``check`` so that both read the options alike.
    """
    from click.core import ParameterSource

    ctx = click.get_current_context()
    dsn_on_command_line = ctx.get_parameter_source("dsn") is ParameterSource.COMMANDLINE
    return use_db or dsn_on_command_line or bool(from_config)


ALGORITHM_CHOICES = (
    "pbkdf2-sha512",
    "pbkdf2-sha384",
    "pbkdf2-sha256",
    "pbkdf2-sha224",
    "pbkdf2-sha1",
    "argon2id",
)


def algorithm_option(help_text: str) -> Callable[[F], F]:
    """``--algorithm``: the Authelia digest format (``secret hash`` and ``gen authelia``)."""
    return click.option(
        "--algorithm",
        type=click.Choice(ALGORITHM_CHOICES),
        default="pbkdf2-sha512",
        show_default=True,
        envvar="OIDCSETUP_DIGEST_ALGORITHM",
        help=help_text,
    )


def database_target_options(func: F) -> F:
    """``--db``, ``--dsn`` and ``--from-config``: Matomo's database as a target (``apply matomo``,
    ``migrate matomo``); ``database_requested`` reads them."""
    from pathlib import Path

    func = click.option(
        "--from-config",
        "from_config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Take the database connection from this config.ini.php's [database] section.",
    )(func)
    func = click.option(
        "--dsn",
        envvar="OIDCSETUP_DB_DSN",
        show_envvar=True,
        help="mysql://USER@HOST:PORT/DB[?prefix=matomo_&socket=PATH] (no password in it).",
    )(func)
    return click.option(
        "--db",
        "use_db",
        is_flag=True,
        help="Target: the plugin's rows (plugin_setting) and link table in Matomo's database.",
    )(func)


def backup_dir_option(func: F) -> F:
    """``--backup-dir`` (``OIDCSETUP_BACKUP_DIR``): where database backups go."""
    from pathlib import Path

    return click.option(
        "--backup-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="OIDCSETUP_BACKUP_DIR",
        show_envvar=True,
        help="Where database backups go (mode 0600). Default: ~/.local/state/oidcsetup/backups.",
    )(func)
