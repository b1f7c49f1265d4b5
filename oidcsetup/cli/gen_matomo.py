"""``oidcsetup gen matomo`` (alias ``gen loginoidc``) and ``oidcsetup gen redirect-uris``."""

from __future__ import annotations

from typing import Any

import click

from oidcsetup.apps.matomo.redirect import redirect_uris
from oidcsetup.cli.appside import build_settings, matomo_settings_options
from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import overrides, shared_options


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
