"""``oidcsetup check``: probe the live provider (and Matomo's settings) before a user logs in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import LOGIN_OPTIONS, database_requested, overrides, shared_options
from oidcsetup.errors import UsageError


@click.command(
    "check",
    epilog="""\b
Examples:
  oidcsetup check
  oidcsetup check --issuer https://auth.example.com --matomo-url https://matomo.example.com
  oidcsetup check --config /var/www/matomo/config/config.ini.php --login
  oidcsetup --json check --db --dsn mysql://matomo@127.0.0.1/matomo
  oidcsetup check --config config.ini.php --secret-as-env MATOMO_OIDC_CLIENT_SECRET
  OIDCSETUP_MATOMO_TOKEN_AUTH=... oidcsetup check --api https://matomo.example.com
\b
Exit codes: 0 every probe passed (or was skipped: a skip names what could not be verified),
3 a probe failed, 4 the provider (or the database) could not be reached. For --login against a
provider with a login form, put a test user in OIDCSETUP_LOGIN_USERNAME and
OIDCSETUP_LOGIN_PASSWORD (never on the command line). The client secret comes from $OIDCSETUP_CLIENT_SECRET or the
profile's client.secret reference and is never printed.
""",
)
@shared_options(*LOGIN_OPTIONS)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Matomo's config/config.ini.php: check the [LoginOIDC] settings in place.",
)
@click.option("--db", "use_db", is_flag=True, help="Check the settings in Matomo's database.")
@click.option(
    "--dsn",
    envvar="OIDCSETUP_DB_DSN",
    show_envvar=True,
    help="mysql://USER@HOST:PORT/DB?prefix=matomo_ for --db (password in $OIDCSETUP_DB_PASSWORD).",
)
@click.option(
    "--from-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read --db's connection from this config.ini.php [database] section (default: --config).",
)
@click.option(
    "--api",
    "api",
    metavar="URL",
    help="Check the settings in place through Matomo's HTTP API at this base URL (a super "
    "user's token from $OIDCSETUP_MATOMO_TOKEN_AUTH; no password needed to read).",
)
@click.option(
    "--secret-as-env",
    metavar="NAME",
    help="config.ini.php should hold clientSecret as ${NAME} (as apply --secret-as-env wrote "
    'it): fail when Matomo\'s own rewrite turned it into a literal or into "".',
)
@click.option(
    "--login",
    "do_login",
    is_flag=True,
    help="Also log in and check the userinfo claims Matomo needs: a headless browser logs in "
    "the test user from $OIDCSETUP_LOGIN_USERNAME/$OIDCSETUP_LOGIN_PASSWORD; without one, the "
    "provider's redirects are followed (providers that log in without a form).",
)
@click.option(
    "--login-timeout", type=float, default=30.0, show_default=True, help="Seconds for --login."
)
@click.pass_obj
def check_command(
    app: AppContext,
    config_path: Path | None,
    use_db: bool,
    dsn: str | None,
    from_config: Path | None,
    api: str | None,
    do_login: bool,
    login_timeout: float,
    secret_as_env: str | None,
    **kwargs: Any,
) -> None:
    """Probe the provider with the integration's values and report each probe.

    Discovery, the redirect URI, client authentication with the method Login OIDC uses
    (client_secret_post), the scopes, userinfo, and with --config/--db/--api the settings
    Matomo has in place. Each failed probe names the exact cause and the fix.
    """
    from oidcsetup.secretref import resolve_secret
    from oidcsetup.verify.expected import MatomoCurrent
    from oidcsetup.verify.runner import run_checks

    use_db = database_requested(use_db, from_config)
    if api is not None and (config_path or use_db or secret_as_env):
        raise UsageError(
            "--api reads the settings through Matomo's API: give it without --config, --db "
            "or --secret-as-env",
            hint="check one source at a time",
        )
    integration = app.integration(overrides(kwargs))
    if not (integration.provider.issuer or integration.provider.has_endpoints):
        raise UsageError(
            "nothing to check: the provider is unknown",
            hint="pass --issuer URL (or set provider.issuer in the profile)",
        )
    if integration.provider.issuer:
        from oidcsetup.discovery.validate import check_issuer_syntax

        check_issuer_syntax(integration.provider.issuer)  # a typo is a usage error, not a probe
    resolved = resolve_secret(integration.client.secret, base_dir=app.profile.parent)
    from oidcsetup.verify.browser import test_user_from_env

    test_user = test_user_from_env() if do_login else None
    integration = _with_plugin(app, integration, config_path or from_config)
    matomo: MatomoCurrent | None = None
    if api is not None:  # the plugin named, else the one this Matomo runs (as apply --api)
        from dataclasses import replace

        matomo, plugin_key = _read_through_api(app, api, integration.matomo.plugin)
        integration = replace(integration, matomo=replace(integration.matomo, plugin=plugin_key))
    elif config_path or use_db:
        from oidcsetup.apps.matomo.current import read_matomo
        from oidcsetup.apps.matomo.plugins import plugin_named

        plugin = plugin_named(integration.matomo.plugin)
        matomo = read_matomo(config_path, use_db, dsn, from_config, secret_as_env, plugin)
    with app.output.spinner("checking"):
        report = run_checks(
            integration,
            app.network,
            secret=resolved.value if resolved else None,
            matomo=matomo,
            login=do_login,
            login_timeout=login_timeout,
            test_user=test_user,
        )
    if app.json_mode:
        for probe in report.probes:  # the discovery document's warnings: one list everywhere
            for finding in probe.details.get("warnings", ()):
                app.output.warn(finding["message"], finding["hint"], code=finding["code"])
        app.output.json(report.to_json())
    else:
        render(app, report)
    if report.exit_code:
        raise click.exceptions.Exit(int(report.exit_code))


def _with_plugin(app: AppContext, integration: Any, config_file: Path | None) -> Any:
    """The Integration with its plugin: the profile's (flag, env), else the one active in
    ``config_file`` (said on stderr), else Login OIDC."""
    from dataclasses import replace

    if integration.matomo.plugin is not None or config_file is None:
        return integration
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.apps.matomo.detect import choose_for_targets

    choice = choose_for_targets(None, MatomoConfig.load(config_file), None)
    if choice.note:
        app.output.info(choice.note)
    return replace(integration, matomo=replace(integration.matomo, plugin=choice.plugin.key))


def render(app: AppContext, report: Any) -> None:
    marks = {"pass": "ok", "fail": "FAIL", "skip": "skip"}
    rows = [(marks[p.status], p.name, p.code, p.message) for p in report.probes]
    app.output.table(("", "probe", "code", "result"), rows, title="oidcsetup check")
    for probe in report.probes:
        if probe.status == "fail" and probe.hint:
            app.output.info(f"{probe.name}: hint: {probe.hint}")
    counts = report.to_json()["summary"]
    summary = f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    if report.ok:
        app.output.info(summary)
    else:
        app.output.error(summary)


def _read_through_api(app: AppContext, url: str, said: str | None) -> tuple[Any, str]:
    """The login plugin's settings through Matomo's API (the token from the environment or a
    prompt), and the plugin's key: ``said`` (profile, flag, env), else the one Matomo runs."""
    import os

    from oidcsetup.apps.matomo.api import TOKEN_ENV, api_url, credential
    from oidcsetup.apps.matomo.current import read_matomo_api
    from oidcsetup.cli.prompts import terminal_prompt

    api_url(url)  # a bad URL is a usage error before anything is asked
    token = credential(TOKEN_ENV, os.environ, terminal_prompt(), "Matomo's token_auth")
    with app.output.spinner("reading Matomo's settings"):
        current, missing, choice = read_matomo_api(url, token, app.network, said)
    if choice.note:
        app.output.info(choice.note)
    if missing:
        app.output.warn(
            f"Matomo's API does not list {', '.join(missing)}: config.ini.php pins them, so "
            "the values checked for them are the plugin's defaults",
            hint="check with --config PATH to read the file",
            code="settings-pinned",
        )
    return current, choice.plugin.key
