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
    do_login: bool,
    login_timeout: float,
    secret_as_env: str | None,
    **kwargs: Any,
) -> None:
    """Probe the provider with the integration's values and report each probe.

    Discovery, the redirect URI, client authentication with the method Login OIDC uses
    (client_secret_post), the scopes, userinfo, and with --config/--db the settings Matomo
    has in place. Each failed probe names the exact cause and the fix.
    """
    from oidcsetup.secretref import resolve_secret
    from oidcsetup.verify.expected import MatomoCurrent
    from oidcsetup.verify.runner import run_checks

    use_db = database_requested(use_db, from_config)
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
    matomo: MatomoCurrent | None = None
    if config_path or use_db:
        matomo = read_matomo(config_path, use_db, dsn, from_config, secret_as_env)
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


def read_matomo(
    config_path: Path | None,
    use_db: bool,
    dsn: str | None,
    from_config: Path | None,
    secret_as_env: str | None = None,
) -> Any:
    """Login OIDC settings as Matomo resolves them: database rows, then config.ini.php on top.

    With the database, also whether the plugin is installed (apps/matomo/safety.py); with
    ``secret_as_env``, whether the file still holds ``${NAME}`` as clientSecret.
    """
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.verify.expected import MatomoCurrent

    values: dict[str, str] = {}
    sources: list[str] = []
    findings: list[Any] = []
    checked: list[str] = []
    config_file = config_path or from_config
    config = MatomoConfig.load(config_file) if config_file else None
    if use_db:
        from oidcsetup.apps.matomo.database import MatomoDatabase
        from oidcsetup.apps.matomo.database.dsn import resolve_db_settings
        from oidcsetup.apps.matomo.safety import install_findings, plugin_installs

        settings = resolve_db_settings(dsn=dsn, from_config=from_config, config_path=config_path)
        with MatomoDatabase.connect(settings) as database:
            values.update(database.read_settings())
            state = config.plugin_state() if config is not None else None
            installs = plugin_installs(database, state, config.path if config else None)
            findings += install_findings(installs, pending=False)
            checked += [
                f"{i.plugin} is active, Matomo installs it on its next page load"
                if i.problem == "install-pending"
                else f"{i.plugin} is installed (table {i.table})"
                for i in installs
            ]
        sources.append(f"database {settings.where}")
    # The config file wins over the database in Matomo: --config's, else the --from-config file
    # the connection came from (it is that Matomo's config.ini.php).
    if config is not None:
        values.update(config.current_settings())
        sources.append(f"config file {config_file}")
        if secret_as_env:
            from oidcsetup.apps.matomo.settings import SECRET_SETTING, EnvRef
            from oidcsetup.apps.matomo.settings import secret_reference_drift as drift

            held = config.login_oidc_values().get(SECRET_SETTING)
            found = drift(
                {SECRET_SETTING: EnvRef(secret_as_env)},
                held.decoded if held is not None else None,
                held is not None and held.is_env_reference,
            )
            if held is not None:
                checked.append(f"clientSecret is still ${{{secret_as_env}}}")
            if found is not None:
                findings.append(found)
    elif secret_as_env:
        raise UsageError(
            "--secret-as-env checks config.ini.php: give --config PATH",
            hint="the database cannot hold an environment reference",
        )
    general = None
    if config is not None:  # [General] decides the URL Matomo builds (offline redirect rule)
        from oidcsetup.apps.matomo.redirect import GeneralSettings

        general = GeneralSettings.from_document(config.document, f"[General] of {config.path}")
    return MatomoCurrent(
        " + ".join(sources), values, tuple(findings), tuple(checked), general=general
    )
