"""``apply matomo --api URL`` and ``check --api URL`` (issue 14) through the CLI, on the REAL Matomo.

Matomo 5.1.2 + Login OIDC 5.0.0 (../shared/peers/matomo) decides: what its API accepts, what it
stores (read back from its database), its validators' and password check's refusals, and a
real browser login afterwards. The provider is the real oidc-provider; its one account has the
subject ``admin``, which Login OIDC's autoLinking links to Matomo's user ``admin``.
"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.browser import Browser
from tests.support.matomo import ADMIN_LOGIN, ADMIN_PASSWORD, BROWSER_LOGIN_MARKS, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client
from tests.support.schemas import validate

pytestmark = BROWSER_LOGIN_MARKS

SECRET = "matomo-api-cli-secret"


@pytest.fixture(scope="module")
def provider(provider_factory: Any, matomo_server: RunningMatomo) -> RunningProvider:
    return provider_factory(  # type: ignore[no-any-return]
        [matomo_client(redirect_uri=matomo_server.callback_url, client_secret=SECRET)],
        accounts={ADMIN_LOGIN: {"email": "admin@example.org", "email_verified": True}},
    )


class Cli:
    """``oidcsetup`` against one Matomo and provider, credentials in the environment only."""

    def __init__(self, matomo: RunningMatomo, provider: RunningProvider, workdir: Path) -> None:
        self.matomo = matomo
        self.provider = provider
        self.backups = workdir / "backups"
        self.token = matomo.create_token()
        self.env: dict[str, str | None] = {
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_BACKUP_DIR": str(self.backups),
            "OIDCSETUP_MATOMO_TOKEN_AUTH": self.token,
            "OIDCSETUP_MATOMO_PASSWORD": ADMIN_PASSWORD,
        }

    def integration(self) -> list[str]:
        return [
            "--issuer", self.provider.issuer, "--matomo-url", self.matomo.url,
            "--client-id", "matomo", "--scopes", "openid email", "--userinfo-id", "sub",
            "--auto-linking",
        ]  # fmt: skip

    def apply(self, *args: str, json_mode: bool = False, **env: str | None) -> Result:
        flags = ["--json"] if json_mode else []
        return run(
            [*flags, "apply", "matomo", "--api", self.matomo.url, *self.integration(), *args],
            env={**self.env, **env},
        )

    def check(self, *args: str, **env: str | None) -> Result:
        return run(
            ["--json", "check", "--api", self.matomo.url, *self.integration()[:-1], *args],
            env={**self.env, "OIDCSETUP_MATOMO_PASSWORD": None, **env},
        )

    def secrets(self) -> tuple[str, ...]:
        return (SECRET, self.token, ADMIN_PASSWORD)


@pytest.fixture
def cli(matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path, monkeypatch: Any) -> Cli:
    monkeypatch.chdir(tmp_path)  # no profile: flags and environment say everything
    return Cli(matomo, provider, tmp_path)


def document(result: Result, schema: str = "apply-matomo") -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    validate(parsed, schema)
    assert parsed["exit_code"] == result.exit_code
    return parsed


def no_leak(cli: Cli, *results: Result) -> None:
    for result in results:
        for secret in cli.secrets():
            assert secret not in result.stdout + result.stderr


def test_apply_through_the_api_then_check_and_a_real_browser_logs_in(
    cli: Cli, matomo: RunningMatomo, browser: Browser
) -> None:
    dry = cli.apply("--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert matomo.plugin_settings() == {}  # a dry run writes nothing

    applied = cli.apply(json_mode=True)
    assert applied.exit_code == 0, applied.stderr
    report = document(applied)
    assert report["written"] is True
    [target] = report["targets"]
    assert target["target"] == f"api:{matomo.url}"
    secret_change = next(c for c in target["changes"] if c["setting"] == "clientSecret")
    assert secret_change["new"] != SECRET  # masked
    backup = Path(target["backup"])
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.parent == cli.backups
    stored = matomo.plugin_settings()  # what Matomo itself saved
    assert stored["clientSecret"] == SECRET
    assert stored["clientId"] == "matomo"
    assert stored["autoLinking"] == "1"

    again = cli.apply()
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == "No changes."
    assert "cannot be compared" in again.stderr  # the secret Matomo hides: said, not guessed
    in_sync = cli.apply("--check", json_mode=True)
    assert in_sync.exit_code == 0, in_sync.stdout
    assert document(in_sync)["in_sync"] is True

    checked = cli.check()
    assert checked.exit_code == 0, checked.stdout
    probes = {p["name"]: p for p in document(checked, "check")["probes"]}
    assert probes["matomo-settings"]["status"] == "pass"
    assert "not compared" in probes["matomo-settings"]["message"]
    no_leak(cli, dry, applied, again, in_sync, checked)

    landing = browser.oidc_login(matomo.url)
    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


def change_in_matomo_screen(browser: Browser, matomo: RunningMatomo, name: str, value: str) -> None:
    """What an administrator does: log in with the password, open Administration > System >
    General settings, edit Login OIDC's field, Save, confirm with the password in Matomo's
    modal. Waits until Matomo has stored the value."""
    from selenium.webdriver.common.by import By

    browser.password_login(matomo.url, ADMIN_LOGIN, ADMIN_PASSWORD)
    browser.driver.get(matomo.url + "index.php?module=CoreAdminHome&action=generalSettings")
    field = browser.wait_for_css(f"#LoginOIDCPluginSettings #{name}")
    browser.driver.execute_script("arguments[0].scrollIntoView()", field)
    field.clear()
    field.send_keys(value)
    save = browser.driver.find_element(
        By.CSS_SELECTOR, "#LoginOIDCPluginSettings .pluginsSettingsSubmit"
    )
    browser.driver.execute_script("arguments[0].scrollIntoView()", save)
    save.click()
    password = browser.wait_for_css(".confirm-password-modal.open #currentUserPassword")
    time.sleep(0.5)  # the modal's opening animation
    password.send_keys(ADMIN_PASSWORD)
    browser.driver.find_element(
        By.CSS_SELECTOR, ".confirm-password-modal.open .modal-footer a.modal-close:not(.modal-no)"
    ).click()
    deadline = time.monotonic() + 30
    while matomo.plugin_settings().get(name) != value:
        assert time.monotonic() < deadline, f"Matomo's screen did not save {name}"
        time.sleep(0.2)


def test_a_change_made_in_matomo_is_drift_for_apply_check_and_check(
    cli: Cli, matomo: RunningMatomo, browser: Browser
) -> None:
    assert cli.apply().exit_code == 0
    # The administrator edits the scope in Matomo's own settings screen.
    change_in_matomo_screen(browser, matomo, "scope", "openid")

    drift = cli.apply("--check", json_mode=True)
    assert drift.exit_code == 3
    [target] = document(drift)["targets"]
    pending = [c for c in target["changes"] if c["action"] != "unchanged"]
    assert pending == [
        {"setting": "scope", "action": "changed", "old": "openid", "new": "openid email"}
    ]
    assert target["written"] is False
    assert matomo.plugin_settings()["scope"] == "openid"  # --check wrote nothing

    checked = cli.check()
    assert checked.exit_code == 3
    probes = {p["name"]: p for p in document(checked, "check")["probes"]}
    assert probes["matomo-settings"]["code"] == "matomo-setting-differs"
    assert "scope is 'openid'" in probes["matomo-settings"]["message"]

    fixed = cli.apply()
    assert fixed.exit_code == 0, fixed.stderr
    assert matomo.plugin_settings()["scope"] == "openid email"


def test_restore_puts_back_what_the_api_showed_before(cli: Cli, matomo: RunningMatomo) -> None:
    first = cli.apply(json_mode=True)
    assert first.exit_code == 0, first.stderr
    second = cli.apply("--button-name", "Company login", json_mode=True)
    assert second.exit_code == 0, second.stderr
    backup = document(second)["targets"][0]["backup"]
    assert matomo.plugin_settings()["authenticationName"] == "Company login"

    dry = run(["--json", "apply", "matomo", "--api", matomo.url, "--restore", backup, "--dry-run"],
              env=cli.env)  # fmt: skip
    assert dry.exit_code == 0, dry.stdout
    assert [c["setting"] for c in document(dry)["targets"][0]["changes"]
            if c["action"] != "unchanged"] == ["authenticationName"]  # fmt: skip
    restored = run(["apply", "matomo", "--api", matomo.url, "--restore", backup], env=cli.env)
    assert restored.exit_code == 0, restored.stderr
    assert matomo.plugin_settings()["authenticationName"] == "OAuth login"
    assert matomo.plugin_settings()["clientSecret"] == SECRET


def test_matomo_validator_message_is_ours_one_line_exit_1(cli: Cli, matomo: RunningMatomo) -> None:
    """A 63-letter DNS label passes our check; Login OIDC's own pattern allows 62."""
    domain = "x" * 63 + ".org"
    result = cli.apply("--allow-signup", "--allowed-signup-domain", domain, json_mode=True)
    assert result.exit_code == 1
    error = document(result)["error"]
    assert error["code"] == "matomo-setting-refused"
    assert error["message"] == (
        "Matomo refused the settings: Restrict user creation to domains: Validation failed "
        "for the list of domains allowed for user creation."
    )
    text = cli.apply("--allow-signup", "--allowed-signup-domain", domain)
    assert text.error_lines == ["error: " + error["message"]]
    assert "Traceback" not in text.stderr
    assert matomo.plugin_settings() == {}
    assert not cli.backups.exists() or not list(cli.backups.iterdir())


def test_wrong_password_is_one_line_and_leaks_nothing(cli: Cli, matomo: RunningMatomo) -> None:
    wrong = "wrong-Password-42"
    result = cli.apply(OIDCSETUP_MATOMO_PASSWORD=wrong)
    assert result.exit_code == 1
    assert len(result.error_lines) == 1
    assert "password" in result.error_lines[0] and "19169" in result.error_lines[0]
    assert wrong not in result.stdout + result.stderr
    no_leak(cli, result)
    as_json = cli.apply(json_mode=True, OIDCSETUP_MATOMO_PASSWORD=wrong)
    assert document(as_json)["error"]["code"] == "matomo-password-rejected"
    assert wrong not in as_json.stdout + as_json.stderr
    assert matomo.plugin_settings() == {}


def test_a_wrong_token_is_refused_before_any_plan(cli: Cli) -> None:
    result = cli.apply(json_mode=True, OIDCSETUP_MATOMO_TOKEN_AUTH="f" * 32)
    assert result.exit_code == 1
    assert document(result)["error"]["code"] == "matomo-token-rejected"
    assert "f" * 32 not in result.stdout + result.stderr
    checked = cli.check(OIDCSETUP_MATOMO_TOKEN_AUTH="f" * 32)
    assert checked.exit_code == 1
    assert "f" * 32 not in checked.stdout + checked.stderr


def test_credentials_only_from_the_environment_and_link_needs_the_database(
    cli: Cli, matomo: RunningMatomo
) -> None:
    # No terminal (CliRunner's stdin): no prompt, a clear error naming the variable.
    no_token = cli.apply(OIDCSETUP_MATOMO_TOKEN_AUTH=None)
    assert no_token.exit_code == 2
    assert no_token.error_lines == [
        "error: Matomo's token_auth is needed and $OIDCSETUP_MATOMO_TOKEN_AUTH is not set"
    ]
    no_password = cli.apply(OIDCSETUP_MATOMO_PASSWORD=None)
    assert no_password.exit_code == 2
    assert "OIDCSETUP_MATOMO_PASSWORD" in no_password.error_lines[0]
    assert matomo.plugin_settings() == {}
    # Reading needs no password: the dry run and --check work without it.
    assert cli.apply("--dry-run", OIDCSETUP_MATOMO_PASSWORD=None).exit_code == 0

    link = cli.apply("--link", f"{ADMIN_LOGIN}=admin")
    assert link.exit_code == 2
    assert "--link needs the database" in link.error_lines[0]
    for extra in (["--db"], ["--prune"]):
        assert cli.apply(*extra).exit_code == 2


def test_rebeloidc_through_the_api_detected_or_named(cli: Cli, matomo: RunningMatomo) -> None:
    """The plugin is data (apps/matomo/plugins.py): with RebelOIDC active in the real Matomo,
    --api writes its settings under its own names; with both active, Login OIDC unless named."""
    matomo.console("plugin:activate", "RebelOIDC")
    matomo.clear_caches()
    both = cli.apply("--dry-run")  # both active, the profile silent: Login OIDC, said so
    assert both.exit_code == 0, both.stderr
    assert "configuring Login OIDC" in both.stderr

    named = cli.apply("--plugin", "rebeloidc", json_mode=True)
    assert named.exit_code == 0, named.stdout
    stored = matomo.plugin_settings("RebelOIDC")
    # RebelOIDC's name for Login OIDC's userinfoUrl (its userInfoId defaults to "sub" already,
    # and Matomo stores only values that differ from the default).
    assert stored["userInfoUrl"].startswith(cli.provider.issuer)
    assert stored["clientId"] == "matomo"
    assert stored["clientSecret"] == SECRET
    assert matomo.plugin_settings() == {}  # Login OIDC's settings untouched
    # check --api reads the plugin named, under its own names: in sync with what was applied
    # (reading Login OIDC's empty settings instead, every value differs)
    # The provider fixture registers only Login OIDC's callback: the real provider refusing
    # RebelOIDC's shows check also expects the plugin's redirect URI (exit 3 for that only).
    checked = cli.check("--plugin", "rebeloidc")
    probes = {p["name"]: p for p in document(checked, "check")["probes"]}
    assert probes["matomo-settings"]["status"] == "pass", probes["matomo-settings"]
    assert "module=RebelOIDC" in probes["redirect-uri"]["message"]
    assert {n for n, p in probes.items() if p["status"] == "fail"} == {
        "redirect-uri",
        "matomo-redirect-uri",
    }

    matomo.console("plugin:deactivate", "LoginOIDC")
    matomo.clear_caches()
    detected = cli.apply()
    assert detected.exit_code == 0, detected.stderr
    assert "configuring RebelOIDC" in detected.stderr
    assert detected.stdout.strip() == "No changes."
    # ... and, the profile silent, the one this Matomo runs, said on stderr as apply says it
    checked = cli.check()
    assert "configuring RebelOIDC" in checked.stderr
    probes = {p["name"]: p for p in document(checked, "check")["probes"]}
    assert probes["matomo-settings"]["status"] == "pass", probes["matomo-settings"]
    assert "module=RebelOIDC" in probes["redirect-uri"]["message"]
