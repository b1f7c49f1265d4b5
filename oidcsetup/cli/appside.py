"""What the Matomo commands share (``gen matomo``, ``apply matomo``): the options that decide the
Login OIDC settings, and the Integration, client secret and desired settings they lead to.

The settings themselves are a pure function of the Integration and the secret
(``apps.matomo.settings.desired_settings``); this module only gathers them from the command line,
the environment and the profile, with the discovery spinner and the secret prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import overrides, shared_options, signup_domain_option
from oidcsetup.integration import Integration

F = TypeVar("F", bound=Callable[..., Any])

ENDPOINT_OPTIONS = {
    "authorization_endpoint": "provider.authorization_endpoint",
    "token_endpoint": "provider.token_endpoint",
    "userinfo_endpoint": "provider.userinfo_endpoint",
    "end_session_endpoint": "provider.end_session_endpoint",
}
FLAG_OPTIONS = {
    "allow_signup": ("--allow-signup/--no-allow-signup", "allowSignup"),
    "auto_linking": ("--auto-linking/--no-auto-linking", "autoLinking"),
    "bypass_two_fa": ("--bypass-two-fa/--no-bypass-two-fa", "bypassTwoFa"),
    "disable_superuser": ("--disable-superuser/--no-disable-superuser", "disableSuperuser"),
    "disable_direct_login_url": (
        "--disable-direct-login-url/--no-disable-direct-login-url",
        "disableDirectLoginUrl",
    ),
    "disable_password_confirmation": (
        "--disable-password-confirmation/--no-disable-password-confirmation",
        "disablePasswordConfirmation",
    ),
}


# RebelOIDC's own settings (apps/matomo/plugins.py): option -> (declaration, setting, help).
REBEL_OPTIONS = {
    "username_attribute": (
        "--username-attribute",
        "usernameAttribute",
        "The userinfo claim a new user's login comes from (RebelOIDC; its default "
        "preferred_username).",
    ),
    "fallback_to_email": (
        "--fallback-to-email/--no-fallback-to-email",
        "fallbackToEmail",
        "Without that claim, use the email as login (RebelOIDC; default on).",
    ),
    "initial_id_site": (
        "--initial-id-site",
        "initialIdSite",
        'The site id new users get view access to, or "none" (RebelOIDC).',
    ),
    "allowed_role": (
        "--allowed-role",
        "allowedRole",
        "Refuse logins whose tokens lack this role (RebelOIDC; roles, realm_access.roles "
        "or resource_access.<client_id>.roles).",
    ),
    "fine_grained_permissions": (
        "--fine-grained-permissions/--no-fine-grained-permissions",
        "fineGrainedPermissions",
        "Set site access from the tokens' matomo-permission-path claim at every login (RebelOIDC).",
    ),
}


def matomo_settings_options(func: F) -> F:
    """The options that decide the plugin's settings (shared with ``apply matomo``)."""
    for name, (decl, setting, help_text) in reversed(REBEL_OPTIONS.items()):
        func = click.option(decl, name, default=None, help=f"{help_text} Sets {setting}.")(func)
    for name, (decl, setting) in reversed(FLAG_OPTIONS.items()):
        func = click.option(
            decl,
            name,
            default=None,
            help=f"Set {setting} (default: the profile, else the plugin's default).",
        )(func)
    func = signup_domain_option(func)
    func = click.option(
        "--button-name", default=None, help="The login button text (authenticationName)."
    )(func)
    for name in reversed(ENDPOINT_OPTIONS):
        func = click.option(
            "--" + name.replace("_", "-"),
            name,
            default=None,
            metavar="URL",
            help=f"The provider's {name.replace('_', ' ')} (instead of discovery).",
        )(func)
    func = shared_options(
        "issuer",
        "preset",
        "client_id",
        "scopes",
        "matomo_url",
        "userinfo_id",
        "redirect_uri_override",
        "plugin",
    )(func)
    return func


def settings_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Profile-key overrides from the options of :func:`matomo_settings_options`."""
    result = overrides(kwargs)
    given_endpoint = False
    for name, key in ENDPOINT_OPTIONS.items():
        if kwargs.get(name):
            result[key] = kwargs[name]
            given_endpoint = True
    if given_endpoint:
        result["provider.source"] = "manual"
    for name in (*FLAG_OPTIONS, *REBEL_OPTIONS):
        if kwargs.get(name) is not None:
            result[f"app.matomo.{name}"] = kwargs[name]
    if kwargs.get("button_name"):
        result["app.matomo.button_name"] = kwargs["button_name"]
    if kwargs.get("allowed_signup_domains"):
        result["app.matomo.allowed_signup_domains"] = list(kwargs["allowed_signup_domains"])
    return result


def resolve_endpoints(app: AppContext, integration: Integration) -> Integration:
    """Fill the provider endpoints from ``--issuer`` (discovery) or ``--preset`` when none are known.

    The one place this module talks to oidcsetup.discovery, imported lazily (it uses httpx);
    discovery validates the document as ``oidcsetup discover`` does (FindingsError on errors).
    """
    provider = integration.provider
    if provider.has_endpoints or not provider.issuer:
        return integration
    from oidcsetup.discovery import resolve_endpoints as discover_endpoints

    with app.output.spinner(f"discovering {provider.issuer}"):
        return discover_endpoints(integration, app.network)


def build_settings(
    app: AppContext,
    kwargs: dict[str, Any],
    secret_as_env: str | None,
    prompt: Callable[[], str] | None = None,
) -> tuple[Integration, dict[str, Any], Any]:
    """Integration, desired settings and the resolved secret (or None) for gen/apply matomo.

    ``prompt`` asks for the secret when none is configured (``apply``, on a terminal).
    """
    from oidcsetup.apps.matomo.settings import desired_settings
    from oidcsetup.secretref import resolve_secret

    integration = resolve_endpoints(app, app.integration(settings_overrides(kwargs)))
    secret = None
    if not secret_as_env:
        secret = resolve_secret(
            integration.client.secret, base_dir=app.profile.parent, prompt=prompt
        )
        if secret is not None and secret.warning:
            app.output.warn(secret.warning)
    values = desired_settings(integration, secret.value if secret else None, secret_as_env)
    return integration, values, secret
