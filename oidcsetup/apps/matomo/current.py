"""The Login OIDC settings a Matomo has in place, as Matomo resolves them (for ``check``):
the database's rows, then config.ini.php's ``[LoginOIDC]`` on top (the file wins), with what
could be checked about the plugin's install and a ``${NAME}`` secret reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin, canonical
from oidcsetup.errors import UsageError

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.detect import PluginChoice
    from oidcsetup.http import NetworkOptions
    from oidcsetup.verify.expected import MatomoCurrent


def read_matomo(
    config_path: Path | None,
    use_db: bool,
    dsn: str | None,
    from_config: Path | None,
    secret_as_env: str | None = None,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> MatomoCurrent:
    """Login OIDC settings as Matomo resolves them: database rows, then config.ini.php on top.

    With the database, also whether the plugin is installed (apps/matomo/safety.py); with
    ``secret_as_env``, whether the file still holds ``${NAME}`` as clientSecret.
    ``plugin``'s section and rows are read; the values come back under Login OIDC's names
    (``userInfoUrl`` as ``userinfoUrl``), the ones the probes compare (``plugins.canonical``).
    """
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.verify.expected import MatomoCurrent

    values: dict[str, str] = {}
    sources: list[str] = []
    findings: list[Any] = []
    checked: list[str] = []
    config_file = config_path or from_config
    config = MatomoConfig.load(config_file).for_plugin(plugin) if config_file else None
    if use_db:
        from oidcsetup.apps.matomo.database import MatomoDatabase
        from oidcsetup.apps.matomo.database.dsn import resolve_db_settings
        from oidcsetup.apps.matomo.safety import install_findings, plugin_installs

        settings = resolve_db_settings(dsn=dsn, from_config=from_config, config_path=config_path)
        with MatomoDatabase.connect(settings) as database:
            database.for_plugin(plugin)
            values.update(database.read_settings())
            state = config.plugin_state() if config is not None else None
            installs = plugin_installs(
                database, state, config.path if config else None, configured=plugin.module
            )
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
        " + ".join(sources),
        canonical(values, plugin),
        tuple(findings),
        tuple(checked),
        general=general,
    )


def read_matomo_api(
    url: str, token: str, network: NetworkOptions | None = None, said: str | None = None
) -> tuple[MatomoCurrent, tuple[str, ...], PluginChoice]:
    """The login plugin's settings as Matomo's API shows them (read only: the token, no
    password), the settings the API does not list (config.ini.php pins them), and the plugin
    read: the one ``said`` names (profile, flag, env), else the one this Matomo has activated,
    as ``apply matomo --api`` chooses (``apitarget.api_plugin``). The API gives each setting's
    effective value (the plugin's default when none is stored), returned under Login OIDC's
    names (``plugins.canonical``); clientSecret, a password field, is only known to be set
    (``hidden``)."""
    from oidcsetup.apps.matomo.api import ApiCredentials, MatomoApi
    from oidcsetup.apps.matomo.apitarget import api_plugin
    from oidcsetup.verify.expected import MatomoCurrent

    api = MatomoApi(url, ApiCredentials(token), network)
    choice = api_plugin(api, said)
    plugin = choice.plugin
    settings = api.read_settings(plugin.module, plugin.setting_names)
    current = MatomoCurrent(
        f"Matomo API {api.where}",
        canonical(settings.values, plugin),
        checked=(f"{plugin.module} is activated (the API lists its settings)",),
        hidden=tuple(canonical(dict.fromkeys(settings.hidden, ""), plugin)),
    )
    return current, settings.missing, choice
