"""The plugin descriptions (apps/matomo/plugins.py) against the real plugins' source, and the
commands that follow ``app.matomo.plugin`` (profile key, --plugin, OIDCSETUP_PLUGIN).

The source checks read Login OIDC 5.0.0 and RebelOIDC 5.1.6 out of the real Matomo peer
(../shared/peers/matomo): the descriptions must say what the PHP code says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from oidcsetup.apps.matomo import render
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, PLUGINS, REBEL_OIDC, plugin_named
from oidcsetup.apps.matomo.redirect import explain_difference, redirect_uris
from oidcsetup.apps.matomo.settings import (
    check_initial_site,
    desired_settings,
    setting_warnings,
    validate_settings,
)
from oidcsetup.errors import UsageError, ValidationError
from oidcsetup.integration import ClientRegistration, Integration, MatomoApp, ProviderEndpoints
from oidcsetup.providers.authelia import build_client_entry, validate_entry
from oidcsetup.providers.lemonldap import build_client
from tests.cli import run
from tests.support.schemas import validate

ENDPOINTS = {
    "authorization_endpoint": "https://auth.example.com/authorize",
    "token_endpoint": "https://auth.example.com/token",
    "userinfo_endpoint": "https://auth.example.com/userinfo",
}
ENDPOINT_FLAGS = [
    "--authorization-endpoint",
    ENDPOINTS["authorization_endpoint"],
    "--token-endpoint",
    ENDPOINTS["token_endpoint"],
    "--userinfo-endpoint",
    ENDPOINTS["userinfo_endpoint"],
]


def make(**matomo: object) -> Integration:
    return Integration(
        provider=ProviderEndpoints(**ENDPOINTS),
        client=ClientRegistration(),
        matomo=MatomoApp(**matomo),  # type: ignore[arg-type]
    )


# --- the descriptions say what the real PHP says ---------------------------------------------


@pytest.fixture(scope="module")
def plugin_sources(plugin_tree: Path) -> Path:
    """The real plugins' folders (Login OIDC 5.0.0, RebelOIDC 5.1.6) of the Matomo peer."""
    return plugin_tree / "plugins"


_MAKE_SETTING = re.compile(
    r"makeSetting\(\s*[\"'](\w+)[\"']\s*,\s*(?:\$default\s*=\s*)?([^,]+?)\s*,\s*"
    r"FieldConfig::TYPE_(\w+)"
)
_INIT_LINE = re.compile(r"\$this->(\w+)\s*=\s*\$this->create(\w+)Setting\(\)")


def php_settings(source: str) -> list[tuple[str, str, str | bool]]:
    """(name, type, default) of each makeSetting, in the order init() creates them."""
    made = {}
    for name, default, kind in _MAKE_SETTING.findall(source):
        text = default.strip()
        value: str | bool = (
            {"true": True, "false": False}[text] if text in ("true", "false") else text.strip("\"'")
        )
        made[name] = (name, {"BOOL": "bool", "STRING": "string"}[kind], value)
    init = source[source.index("function init()") :]
    init = init[: init.index("}")]
    order = [prop for prop, _ in _INIT_LINE.findall(init)]
    assert set(order) == set(made), "every created setting is made once, named as its property"
    return [made[name] for name in order]


@pytest.mark.parametrize("key", list(PLUGINS))
def test_settings_match_the_real_system_settings(plugin_sources: Path, key: str) -> None:
    plugin = PLUGINS[key]
    source = (plugin_sources / plugin.module / "SystemSettings.php").read_text()
    ours = [(s.name, s.type, s.default) for s in plugin.settings]
    assert ours == php_settings(source)


@pytest.mark.parametrize("key", list(PLUGINS))
def test_callback_table_and_sign_in_match_the_real_plugin(plugin_sources: Path, key: str) -> None:
    plugin = PLUGINS[key]
    folder = plugin_sources / plugin.module
    controller = (folder / "Controller.php").read_text()
    redirect = controller[controller.index("function getRedirectUri") :]
    assert f'"module" => "{plugin.module}"' in redirect[:800]
    assert '"action" => "callback"' in redirect[:800]
    main = (folder / f"{plugin.module}.php").read_text()
    assert f'createTable("{plugin.provider_table}"' in main
    twig = (folder / "templates" / "loginMod.twig").read_text()
    assert f"'action': '{plugin.signin_action}'" in twig
    # RebelOIDC's callback decodes the access token as a JWT; Login OIDC never does.
    assert ("Invalid JWT token format." in controller) is plugin.requires_jwt_access_token
    for name in plugin.required:  # isPluginSetup() (Login OIDC: Controller, RebelOIDC: Helper)
        assert name in plugin.specs


# --- settings follow the plugin ---------------------------------------------------------------


def test_rebeloidc_settings_use_its_names_defaults_and_extras() -> None:
    values = desired_settings(
        make(plugin="rebeloidc", initial_id_site="2", allowed_role="matomo-user"), "s3cret"
    )
    assert list(values) == list(REBEL_OIDC.setting_names)
    assert values["userInfoUrl"] == ENDPOINTS["userinfo_endpoint"]
    assert values["userInfoId"] == "sub"
    assert "userinfoUrl" not in values
    assert values["authenticationName"] == "OIDC login"
    assert values["usernameAttribute"] == "preferred_username"
    assert values["fallbackToEmail"] is True
    assert values["initialIdSite"] == "2"
    assert values["allowedRole"] == "matomo-user"
    assert values["fineGrainedPermissions"] is False
    ini = render.ini_block(values, plugin=REBEL_OIDC)
    assert ini.startswith("[RebelOIDC]\n") and 'userInfoUrl = "https://auth' in ini
    console = render.console_commands(values, plugin=REBEL_OIDC)
    assert "--section=RebelOIDC --key=userInfoId --value=sub" in console


def test_loginoidc_stays_the_default() -> None:
    values = desired_settings(make(), "s3cret")
    assert list(values) == list(LOGIN_OIDC.setting_names)
    assert plugin_named(None) is LOGIN_OIDC


def test_rebeloidc_only_settings_are_refused_for_loginoidc() -> None:
    with pytest.raises(UsageError, match="only RebelOIDC has this setting"):
        desired_settings(make(fine_grained_permissions=True), "s")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("initial_id_site", "abc", "neither a site id nor none"),
        ("initial_id_site", "0", "neither a site id nor none"),
        ("username_attribute", "pre ferred", "not a claim name"),
        ("allowed_role", "a\nb", "holds a line break"),
    ],
)
def test_rebeloidc_values_are_checked(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        desired_settings(make(plugin="rebeloidc", **{field: value}), "s")


def test_initial_site_must_exist() -> None:
    values = desired_settings(make(plugin="rebeloidc", initial_id_site="7"), "s")
    check_initial_site(values, {7})
    with pytest.raises(ValidationError, match=r"not a site of this Matomo \(its sites: 1, 2\)"):
        check_initial_site(values, {1, 2})


def test_loginoidc_names_are_unknown_to_rebeloidc() -> None:
    with pytest.raises(ValidationError, match="unknown RebelOIDC setting 'userinfoUrl'"):
        validate_settings({"userinfoUrl": "https://x"}, REBEL_OIDC)


def test_rebeloidc_warnings_name_the_claims_its_callback_reads() -> None:
    integration = make(
        plugin="rebeloidc", fine_grained_permissions=True, allowed_role="r", allow_signup=True
    )
    codes = {w.code for w in setting_warnings(integration, desired_settings(integration, "s"))}
    assert {"fine-grained-permissions", "allowed-role", "username-attribute-without-profile"} <= (
        codes
    )


# --- redirect URIs and provider sides follow the plugin ----------------------------------------


def test_redirect_uri_follows_the_plugin() -> None:
    (uri,) = redirect_uris(MatomoApp(url="https://m.example.com/", plugin="rebeloidc"))
    assert uri == "https://m.example.com/index.php?module=RebelOIDC&action=callback&provider=oidc"
    fixes = explain_difference(uri.replace("https:", "http:"), uri, REBEL_OIDC)
    assert "assume_secure_protocol" in fixes[0].fix


def test_authelia_asks_for_jwt_access_tokens_for_rebeloidc() -> None:
    integration = make(plugin="rebeloidc", url="https://m.example.com")
    entry = build_client_entry(integration, "$plaintext$x", jwt_access_tokens=True)
    assert entry.values["access_token_signed_response_alg"] == "RS256"
    assert entry.values["redirect_uris"] == [
        "https://m.example.com/index.php?module=RebelOIDC&action=callback&provider=oidc"
    ]
    old = Integration(
        provider=integration.provider,
        matomo=integration.matomo,
        authelia=type(integration.authelia)(version="4.37"),
    )
    entry = build_client_entry(old, "$plaintext$x", jwt_access_tokens=True)
    codes = {f.code for f in validate_entry(entry.values, entry.version, notes=entry.notes)}
    assert "jwt-access-token-437" in codes


def test_lemonldap_asks_for_jwt_access_tokens_for_rebeloidc() -> None:
    integration = make(plugin="rebeloidc", url="https://m.example.com")
    uris = redirect_uris(integration.matomo)
    jwt = build_client(integration, uris, (), "s", jwt_access_tokens=True)
    assert jwt.options["oidcRPMetaDataOptionsAccessTokenJWT"] == 1
    plain = build_client(integration, uris, (), "s")
    assert "oidcRPMetaDataOptionsAccessTokenJWT" not in plain.options


# --- the CLI: profile key, flag, environment variable ----------------------------------------


def test_flag_env_and_profile_choose_the_plugin(tmp_path: Path) -> None:
    url = ["--matomo-url", "https://m.example.com"]
    rebel = "https://m.example.com/index.php?module=RebelOIDC&action=callback&provider=oidc"
    assert run(["gen", "redirect-uris", *url, "--plugin", "rebeloidc"]).stdout.strip() == rebel
    env = {"OIDCSETUP_PLUGIN": "RebelOIDC"}
    assert run(["gen", "redirect-uris", *url], env=env).stdout.strip() == rebel
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text('[app.matomo]\nplugin = "rebeloidc"\ninitial_id_site = 1\n')
    result = run(["--profile", str(profile), "--json", "gen", "matomo", *ENDPOINT_FLAGS, *url])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    validate(document, "gen-matomo")
    assert document["plugin"] == "RebelOIDC"
    assert document["settings"]["initialIdSite"] == "1"
    assert document["redirect_uris"] == [rebel]
    # the flag wins over the profile
    result = run(["--profile", str(profile), "gen", "redirect-uris", *url, "--plugin", "loginoidc"])
    assert "module=LoginOIDC" in result.stdout


def test_unknown_plugin_flag_is_a_usage_error_and_in_a_profile_an_invalid_profile(
    tmp_path: Path,
) -> None:
    result = run(["gen", "redirect-uris", "--matomo-url", "https://m.example.com", "--plugin", "x"])
    assert result.exit_code == 2
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text('[app.matomo]\nplugin = "rebel"\n')
    args = ["--profile", str(profile), "gen", "redirect-uris", "--matomo-url", "https://m.x"]
    result = run(args)
    assert result.exit_code == 1, result.stderr
    # the same shape as any other bad profile value (plugin = 3): the file, the key, the words
    assert result.error_lines == [
        f"error: {profile}: app.matomo.plugin must be one of loginoidc, rebeloidc, not 'rebel'"
    ]
    document = json.loads(run(["--json", *args]).stdout)
    assert document["error"]["code"] == "invalid-profile"
    profile.write_text('[app.matomo]\nplugin = "RebelOIDC"\n')  # the case plugin_named accepts
    assert "module=RebelOIDC" in run(args).stdout


def test_gen_authelia_and_lemonldap_follow_the_plugin(tmp_path: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": "a" * 40, "OIDCSETUP_PLUGIN": "rebeloidc"}
    args = ["--matomo-url", "https://m.example.com"]
    result = run(
        ["--json", "gen", "authelia", *args, "--secret-file", str(tmp_path / "s")], env=env
    )
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)["entry"]
    assert entry["access_token_signed_response_alg"] == "RS256"
    assert "module=RebelOIDC" in entry["redirect_uris"][0]
    result = run(["--json", "gen", "lemonldap", *args], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["options"]["oidcRPMetaDataOptionsAccessTokenJWT"] == 1


# --- the config file and detection follow the plugin ------------------------------------------

CONFIG_WITH_BOTH = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "127.0.0.1"

[LoginOIDC]
clientId = "old"

[Plugins]
Plugins[] = "CoreHome"
Plugins[] = "LoginOIDC"
"""


def test_config_file_gets_a_rebeloidc_section_and_activation(tmp_path: Path) -> None:
    from oidcsetup.apps.matomo.configfile import MatomoConfig, apply_config
    from tests.support.php import php_read_ini, require_php

    require_php()
    path = tmp_path / "config.ini.php"
    path.write_text(CONFIG_WITH_BOTH)
    values = desired_settings(make(plugin="rebeloidc"), "s3cret")
    result = apply_config(path, values, activate=True, plugin=REBEL_OIDC)
    assert result.written and result.activation is not None
    assert "rebeloidc_provider" in result.activation.note
    php = php_read_ini(path.read_text())
    assert php["RebelOIDC"]["userInfoUrl"] == ENDPOINTS["userinfo_endpoint"]
    assert php["RebelOIDC"]["initialIdSite"] == "none"
    assert php["LoginOIDC"] == {"clientId": "old"}  # the other plugin's section is left alone
    assert php["Plugins"]["Plugins"] == ["CoreHome", "LoginOIDC", "RebelOIDC"]
    assert "PluginsInstalled" not in php  # never written by hand (issue 9)
    again = apply_config(path, values, activate=True, plugin=REBEL_OIDC)
    assert not again.written and again.plan.in_sync
    config = MatomoConfig.load(path).for_plugin(REBEL_OIDC)
    assert config.current_settings()["clientSecret"] == "s3cret"
    assert config.plugin_state().activated


def test_detection_reads_the_active_plugin() -> None:
    from oidcsetup.apps.matomo.detect import choose_plugin

    chosen = choose_plugin(None, active=["CoreHome", "RebelOIDC"])
    assert chosen.plugin is REBEL_OIDC and chosen.how == "detected"
    assert "RebelOIDC is active in config.ini.php" in (chosen.note or "")
    assert choose_plugin("loginoidc", active=["RebelOIDC"]).plugin is LOGIN_OIDC  # said wins
    assert choose_plugin("loginoidc", active=["RebelOIDC"]).note is None
    assert choose_plugin(None, active=["CoreHome"]).plugin is LOGIN_OIDC
    assert choose_plugin(None, tables={"m_rebeloidc_provider"}, prefix="m_").plugin is REBEL_OIDC
    both = choose_plugin(None, active=["LoginOIDC", "RebelOIDC"])  # neither configured there
    assert both.plugin is LOGIN_OIDC and "both plugins are active" in (both.note or "")
    one = choose_plugin(None, active=["LoginOIDC", "RebelOIDC"], configured=["RebelOIDC"])
    assert one.plugin is REBEL_OIDC and one.how == "detected"


def test_gen_authelia_merge_keeps_the_old_plugin_uri_until_the_switch_is_done(
    tmp_path: Path,
) -> None:
    import yaml

    config = tmp_path / "configuration.yml"
    config.write_text("identity_providers:\n  oidc:\n    hmac_secret: 'abc'\n    clients: []\n")
    env = {"OIDCSETUP_CLIENT_SECRET": "a" * 40}
    args = ["gen", "authelia", "--matomo-url", "https://m.example.com", "--merge", str(config)]
    old = "https://m.example.com/index.php?module=LoginOIDC&action=callback&provider=oidc"
    new = old.replace("LoginOIDC", "RebelOIDC")

    def uris() -> list[str]:
        clients = yaml.safe_load(config.read_text())["identity_providers"]["oidc"]["clients"]
        return list(clients[0]["redirect_uris"])

    assert run(args, env=env).exit_code == 0
    assert uris() == [old]
    switching = run([*args, "--plugin", "rebeloidc"], env=env)
    assert switching.exit_code == 0, switching.stderr
    assert uris() == [new, old]
    assert f"kept redirect URI {old} (Login OIDC)" in switching.stderr
    assert "access_token_signed_response_alg: 'RS256'" in config.read_text()
    again = run([*args, "--plugin", "rebeloidc"], env=env)
    assert "in sync" in again.stdout  # idempotent while switching
    done = run([*args, "--plugin", "rebeloidc", "--drop-old-redirect-uris"], env=env)
    assert done.exit_code == 0, done.stderr
    assert uris() == [new]
