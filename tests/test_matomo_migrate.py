"""migrate matomo: Login OIDC's settings carried to RebelOIDC (and back) as the plugin uses them."""

from __future__ import annotations

from oidcsetup.apps.matomo.migrate import counterpart, translate_settings
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, REBEL_OIDC
from oidcsetup.apps.matomo.settings import EnvRef

CALLBACK = "index.php?module=LoginOIDC&action=callback&provider=oidc"


def test_names_follow_the_descriptions() -> None:
    assert counterpart(LOGIN_OIDC, REBEL_OIDC, "userinfoUrl") == "userInfoUrl"
    assert counterpart(REBEL_OIDC, LOGIN_OIDC, "userInfoId") == "userinfoId"
    assert counterpart(REBEL_OIDC, LOGIN_OIDC, "initialIdSite") is None
    assert counterpart(LOGIN_OIDC, REBEL_OIDC, "clientId") == "clientId"


def test_settings_keep_what_the_source_plugin_uses_and_where_it_was() -> None:
    in_config = {"clientSecret": EnvRef("MATOMO_SECRET"), "clientId": "matomo"}
    in_database = {
        "authorizeUrl": "https://a/auth",
        "userinfoUrl": "https://a/ui",
        "allowSignup": "1",
        "redirectUriOverride": f"https://m.example.com/{CALLBACK}",
    }
    result = translate_settings(
        LOGIN_OIDC,
        REBEL_OIDC,
        in_config=in_config,
        in_database=in_database,
        extras={"initialIdSite": "1"},
        database_target=True,
    )
    assert result.to_config == {"clientId": "matomo", "clientSecret": EnvRef("MATOMO_SECRET")}
    db = result.to_database
    assert db["userInfoUrl"] == "https://a/ui" and "userinfoUrl" not in db
    assert db["allowSignup"] is True
    # Login OIDC's unset userinfoId means "id" (its default): carried, not RebelOIDC's "sub"
    assert db["userInfoId"] == "id"
    assert db["tokenUrl"] == "https://github.com/login/oauth/access_token"  # its default too
    assert db["redirectUriOverride"] == (
        "https://m.example.com/index.php?module=RebelOIDC&action=callback&provider=oidc"
    )
    assert db["initialIdSite"] == "1"
    assert db["fallbackToEmail"] is True  # RebelOIDC's own default
    assert set(result.values) == set(REBEL_OIDC.setting_names)
    assert any("register it at the provider" in n for n in result.notes)


def test_without_a_database_everything_goes_to_the_file() -> None:
    result = translate_settings(
        LOGIN_OIDC, REBEL_OIDC, in_config={"clientSecret": "s"}, in_database={},
        database_target=False,
    )  # fmt: skip
    assert result.to_database == {}
    assert result.to_config["clientSecret"] == "s"


def test_the_way_back_reports_what_login_oidc_cannot_hold() -> None:
    result = translate_settings(
        REBEL_OIDC,
        LOGIN_OIDC,
        in_config={},
        in_database={"fineGrainedPermissions": "1", "initialIdSite": "none", "userInfoId": "sub"},
        database_target=True,
    )
    assert result.dropped == ("fineGrainedPermissions",)  # initialIdSite is at its default
    assert result.to_database["userinfoId"] == "sub"
    assert result.to_database["userinfoUrl"] == ""  # RebelOIDC's default carried


# --- the command on a config file (the database side: tests/test_real_rebeloidc.py) ---------

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[database]
host = "127.0.0.1"

[Plugins]
Plugins[] = "CoreHome"
Plugins[] = "LoginOIDC"

[LoginOIDC]
authorizeUrl = "https://auth.example.com/authorize"
tokenUrl = "https://auth.example.com/token"
userinfoUrl = "https://auth.example.com/userinfo"
clientId = "matomo"
clientSecret = "${MATOMO_SECRET}"
"""


def test_migrate_config_file_plan_then_write_then_in_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.cli import run
    from tests.support.php import php_read_ini, require_php

    require_php()
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    args = ["--json", "migrate", "matomo", "--to", "rebeloidc", "--config", str(config)]
    dry = run([*args, "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert config.read_text() == CONFIG
    planned = json.loads(dry.stdout)
    assert planned["mode"] == "dry-run" and planned["in_sync"] is False
    done = run(args)
    assert done.exit_code == 0, done.stderr
    php = php_read_ini(config.read_text())
    assert php["RebelOIDC"]["userInfoUrl"] == "https://auth.example.com/userinfo"
    assert php["RebelOIDC"]["userInfoId"] == "id"  # Login OIDC's default, carried
    assert "${MATOMO_SECRET}" in config.read_text().split("[RebelOIDC]")[1]  # still a reference
    assert php["Plugins"]["Plugins"] == ["CoreHome", "LoginOIDC", "RebelOIDC"]
    assert php["LoginOIDC"]["clientId"] == "matomo"  # the source is left as it is
    again = run(args)
    assert json.loads(again.stdout)["in_sync"] is True


def test_migrate_usage_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.cli import run

    assert run(["migrate", "matomo", "--to", "rebeloidc"]).exit_code == 2
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG.split("[LoginOIDC]")[0])
    result = run(["migrate", "matomo", "--to", "rebeloidc", "--config", str(config)])
    assert result.exit_code == 2
    assert "nothing to migrate: Login OIDC has no settings" in result.stderr
