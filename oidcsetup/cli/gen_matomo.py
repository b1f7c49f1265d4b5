"""``oidcsetup gen matomo`` (alias ``gen loginoidc``) and ``oidcsetup gen redirect-uris``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from oidcsetup.apps.matomo.redirect import redirect_uris
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


# Profile keys that describe the provider the profile's issuer (or preset) led to.
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


@click.command(
    "matomo",
    epilog="""\b
Examples:
  oidcsetup gen matomo
  oidcsetup gen matomo --issuer https://auth.example.com --matomo-url https://matomo.example.com
  oidcsetup gen matomo --format ini --secret-as-env MATOMO_OIDC_CLIENT_SECRET
  oidcsetup gen matomo --format console --show-secrets
  oidcsetup gen matomo --allow-signup --allowed-signup-domain example.org
  oidcsetup gen matomo --plugin rebeloidc --initial-id-site 1 --format ini
  oidcsetup --json gen matomo
""",
)
@matomo_settings_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "ini", "console", "json"]),
    default="table",
    show_default=True,
    help="table: what to type into the plugin's screen; ini: a [LoginOIDC] ([RebelOIDC]) block for "
    "config.ini.php; console: ./console config:set commands; json.",
)
@click.option(
    "--secret-as-env",
    metavar="NAME",
    default=None,
    help='Write clientSecret as "${NAME}", read by PHP from Matomo\'s environment.',
)
@click.option("--show-secrets", is_flag=True, help="Print the client secret itself.")
@click.pass_obj
def gen_matomo_command(
    app: AppContext,
    fmt: str,
    secret_as_env: str | None,
    show_secrets: bool,
    **kwargs: Any,
) -> None:
    """The login plugin's settings (Login OIDC or RebelOIDC) for this integration."""
    from oidcsetup.apps.matomo import render
    from oidcsetup.apps.matomo.plugins import plugin_named
    from oidcsetup.apps.matomo.settings import setting_warnings

    if fmt == "json":
        _json_mode(app)  # an error, too, is then one JSON document on stdout
    integration, values, secret = build_settings(app, kwargs, secret_as_env)
    plugin = plugin_named(integration.matomo.plugin)
    out = app.output
    warnings = setting_warnings(integration, values)
    for warning in warnings:
        out.warn(warning.message, warning.hint, code=warning.code)
    uris: list[str] = []
    if integration.matomo.url or integration.matomo.redirect_uri_override:
        uris = list(redirect_uris(integration.matomo))
    else:
        out.info("note: pass --matomo-url to also see the redirect URI to register at the provider")
    if fmt in ("ini", "console") and render.secret_hidden(values, show_secrets):
        out.warn(
            f"the client secret is replaced by {render.SECRET_PLACEHOLDER}",
            hint="pass --show-secrets to print it, or --secret-as-env NAME to reference it",
            code="secret-placeholder",
        )
    if app.json_mode or fmt == "json":
        out.json(
            {
                "plugin": plugin.module,
                "settings": render.settings_json(values, show_secrets),
                "redirect_uris": uris,
                "secret_source": (
                    f"env-reference:{secret_as_env}"
                    if secret_as_env
                    else (secret.source if secret else None)
                ),
            }
        )
        return
    if fmt == "ini":
        out.raw(render.ini_block(values, show_secrets, plugin))
    elif fmt == "console":
        out.raw(render.console_commands(values, show_secrets, plugin))
    else:
        out.table(
            ["Field", "Setting", "Value"],
            render.table_rows(values, show_secrets, plugin),
            title=f"Matomo > Administration > System > General settings > {plugin.module}",
        )
        for uri in uris:
            out.text(f"Redirect URI (register it at the provider): {uri}")


@click.command(
    "redirect-uris",
    epilog="""\b
Examples:
  oidcsetup gen redirect-uris --matomo-url https://matomo.example.com
  oidcsetup gen redirect-uris --matomo-url https://example.com/matomo/index.php --json
  oidcsetup gen redirect-uris --redirect-uri-override https://matomo.example.com/oidc/callback
  oidcsetup gen redirect-uris --matomo-url https://matomo.example.com --plugin rebeloidc
""",
)
@shared_options("matomo_url", "redirect_uri_override", "plugin")
@click.option("--json", "json_flag", is_flag=True, help="One JSON document on stdout.")
@click.pass_obj
def gen_redirect_uris_command(
    app: AppContext,
    json_flag: bool,
    **kwargs: Any,
) -> None:
    """The redirect URI(s) the provider and Matomo must both use, normalised and checked."""
    if json_flag:
        _json_mode(app)  # an error, too, is then one JSON document on stdout
    integration = app.integration(overrides(kwargs))
    uris = redirect_uris(integration.matomo)
    if app.json_mode:
        app.output.json({"redirect_uris": list(uris)})
        return
    for uri in uris:
        app.output.text(uri)


def _json_mode(app: AppContext) -> None:
    """A command's own JSON switch behaves like the global --json."""
    app.json_mode = True
    app.output.json_mode = True
