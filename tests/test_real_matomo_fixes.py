"""Issue 9 items 1, 2, 3, 5, 6 on the real Matomo 5.1.2 + Login OIDC 5.0.0.

Each verdict oidcsetup gives is shown next to what the real Matomo does: the plugin's install
(``--activate`` writes ``Plugins[]`` only; the hand-written ``PluginsInstalled[]`` line of 0.1.0
breaks it, and the repair the hint gives works), allowedSignupDomains (a regex refused by us and,
stored anyway, refusing every signup in Matomo; a plain domain letting a real signup through),
the disableSuperuser rail (a super user created by a real signup has no usable password; a linked
super user is refused by OIDC but logs in with the password), ``--secret-as-env`` against a real
``./console config:set``, and the settings the config file pins disappearing from Matomo's API.

Matomo is the session's peer (tests/support/matomo.py, reset to its post-install baseline for
each test), the browser a real headless Chromium, the provider the real oidc-provider with its
login form (devInteractions) and three accounts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.apps.matomo.safety import has_signup_password
from tests.cli import Result, run
from tests.support.browser import Browser
from tests.support.matomo import ADMIN_LOGIN, ADMIN_PASSWORD, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client

pytestmark = [pytest.mark.matomo, pytest.mark.browser, pytest.mark.provider, pytest.mark.mariadb]

SECRET = "matomo-test-secret"
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "email_verified": True},
    "jane": {"email": "jane@example.org", "email_verified": True},
    "eve": {"email": "eve@other.example", "email_verified": True},
}
DOMAIN_REFUSED = "The domain is currently not activated for account creation."
SUPERUSER_REFUSED = "OAuth login disabled for superusers."
INSTALLED_LINE = 'PluginsInstalled[] = "LoginOIDC"'


@pytest.fixture(scope="module")
def provider(provider_factory: object, matomo_server: RunningMatomo) -> RunningProvider:
    """oidc-provider with its login form: the browser logs in as alice, jane or eve."""
    return provider_factory(  # type: ignore[operator,no-any-return]
        [matomo_client(redirect_uri=matomo_server.callback_url, client_secret=SECRET)],
        interactions="dev",
        accounts=ACCOUNTS,
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # no profile: the flags and environment say everything
    yield tmp_path


def oidcsetup(
    matomo: RunningMatomo,
    provider: RunningProvider,
    workdir: Path,
    *args: str,
    command: str = "apply",
    env: dict[str, str | None] | None = None,
) -> Result:
    """``oidcsetup [--json] apply matomo ARGS`` (or ``check ARGS``) with the integration as flags."""
    head, tail = [], list(args)
    if tail[:1] == ["--json"]:
        head, tail = ["--json"], tail[1:]
    verb = ["apply", "matomo"] if command == "apply" else ["check"]
    integration = ["--issuer", provider.issuer, "--matomo-url", matomo.url, "--client-id", "matomo"]
    integration += ["--scopes", "openid email", "--userinfo-id", "sub"]
    return run(
        [*head, *verb, *tail, *integration],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
            **matomo.db_env(),
            **(env or {}),
        },
    )


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def probe(result: Result, name: str) -> dict[str, Any]:
    return next(p for p in json.loads(result.stdout)["probes"] if p["name"] == name)


def codes(result: Result) -> list[str]:
    return [w["code"] for w in json.loads(result.stdout)["warnings"]]


def signup_for(domain: str, matomo: RunningMatomo) -> tuple[str, ...]:
    """The database target with signup on, restricted to one domain."""
    return ("--dsn", matomo.dsn, "--allow-signup", "--allowed-signup-domain", domain)


def login_as(browser: Browser, matomo: RunningMatomo, account: str) -> Any:
    browser.reset()  # no provider session from an earlier login: the form asks who
    return browser.oidc_login(matomo.url, login=account)


def uninstall_login_oidc(matomo: RunningMatomo) -> None:
    """A Matomo where Login OIDC was never activated: not in Plugins[], not recorded as
    installed, no table (the peer's install activated it; undo that as far as Matomo goes)."""
    matomo.console("plugin:deactivate", "LoginOIDC")
    text = matomo.config_path.read_text()
    matomo.config_path.write_text(text.replace(INSTALLED_LINE + "\n", ""))
    matomo.execute("DROP TABLE IF EXISTS {p}loginoidc_provider")
    matomo.clear_caches()
    assert '"LoginOIDC"' not in matomo.config_path.read_text()


def open_any_page(browser: Browser, matomo: RunningMatomo) -> None:
    browser.driver.get(matomo.url + "index.php?module=Login")


# --- 1. --activate: Plugins[] only; "active but not installed" detected, with the real repair ---


def test_activate_writes_plugins_only_and_matomo_installs_it_then_a_real_login_works(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    uninstall_login_oidc(matomo)
    ok(oidcsetup(matomo, provider, workdir, "--config", str(matomo.config_path), "--activate"))
    text = matomo.config_path.read_text()
    assert re.search(r'^Plugins\[\] = "LoginOIDC"$', text, re.M)
    assert INSTALLED_LINE not in text
    pending = oidcsetup(matomo, provider, workdir, "--json", "--db", "--from-config", str(matomo.config_path), "--dry-run")  # fmt: skip
    assert "plugin-install-pending" in codes(ok(pending))
    assert not matomo.has_table("loginoidc_provider")

    open_any_page(browser, matomo)  # Matomo's next web request installs the plugin

    assert matomo.has_table("loginoidc_provider")
    assert INSTALLED_LINE in matomo.config_path.read_text()  # Matomo's own record, now
    linked = oidcsetup(matomo, provider, workdir, "--json", "--db", "--from-config", str(matomo.config_path), "--link", f"{ADMIN_LOGIN}=alice")  # fmt: skip
    assert not {"plugin-install-pending", "plugin-active-not-installed"} & set(codes(ok(linked)))
    landing = login_as(browser, matomo, "alice")
    assert landing.on_dashboard and landing.user == ADMIN_LOGIN, landing


def test_active_and_recorded_without_table_is_found_by_check_and_the_hint_repairs_it(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    uninstall_login_oidc(matomo)
    ok(oidcsetup(matomo, provider, workdir, "--config", str(matomo.config_path), "--activate"))
    # What oidcsetup 0.1.0 wrote: the PluginsInstalled[] line too, before any page load.
    text = matomo.config_path.read_text()
    last = text.rindex('PluginsInstalled[] = "')
    cut = text.index("\n", last) + 1
    matomo.config_path.write_text(text[:cut] + INSTALLED_LINE + "\n" + text[cut:])
    open_any_page(browser, matomo)
    assert not matomo.has_table("loginoidc_provider")  # Matomo never installs it now
    assert "already activated" in matomo.console("plugin:activate", "LoginOIDC").stdout
    assert not matomo.has_table("loginoidc_provider")

    checked = oidcsetup(matomo, provider, workdir, "--json", "--db", "--from-config", str(matomo.config_path), command="check")  # fmt: skip
    state = probe(checked, "matomo-state")
    assert checked.exit_code == 3 and state["status"] == "fail", checked.stdout
    assert state["code"] == "plugin-active-not-installed"
    assert f"delete the line {INSTALLED_LINE}" in state["hint"]
    assert "open any Matomo page" in state["hint"]
    # The real login dies the way the verdict says (settings in place, the table missing).
    ok(oidcsetup(matomo, provider, workdir, "--db", "--from-config", str(matomo.config_path)))
    landing = login_as(browser, matomo, "alice")
    assert landing.user is None and "loginoidc_provider" in landing.text, landing

    # The hint's repair, done as written: delete the line, open any page.
    text = matomo.config_path.read_text()
    matomo.config_path.write_text(text.replace(INSTALLED_LINE + "\n", "", 1))
    open_any_page(browser, matomo)

    assert matomo.has_table("loginoidc_provider")
    again = oidcsetup(matomo, provider, workdir, "--json", "--db", "--from-config", str(matomo.config_path), command="check")  # fmt: skip
    assert probe(again, "matomo-state")["status"] == "pass", again.stdout
    ok(oidcsetup(matomo, provider, workdir, "--db", "--from-config", str(matomo.config_path), "--link", f"{ADMIN_LOGIN}=alice"))  # fmt: skip
    landing = login_as(browser, matomo, "alice")
    assert landing.on_dashboard and landing.user == ADMIN_LOGIN, landing


# --- 2. allowedSignupDomains: plain domain names ------------------------------------------------


def test_a_regex_domain_is_refused_and_would_refuse_every_real_signup(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    refused = oidcsetup(matomo, provider, workdir, *signup_for(r"^.*@example\.org$", matomo))  # fmt: skip
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert "regular expression" in refused.stderr and "hint: write example.org" in refused.stderr
    assert matomo.plugin_settings() == {}  # nothing written
    # Stored anyway (what 0.1.0 did, or a direct write): the real Matomo refuses jane.
    ok(oidcsetup(matomo, provider, workdir, *signup_for("example.org", matomo)))  # fmt: skip
    matomo.execute(
        "UPDATE {p}plugin_setting SET setting_value = %s WHERE plugin_name = 'LoginOIDC' "
        "AND setting_name = 'allowedSignupDomains'",
        (r"^.*@example\.org$",),
    )
    landing = login_as(browser, matomo, "jane")
    assert DOMAIN_REFUSED in landing.text, landing
    assert "jane@example.org" not in matomo.users()


def test_a_plain_domain_lets_a_real_signup_through_and_no_other(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    applied = oidcsetup(matomo, provider, workdir, "--json", *signup_for("Example.ORG", matomo))  # fmt: skip
    assert matomo.plugin_settings()["allowedSignupDomains"] == "example.org", ok(applied).stdout

    login_as(browser, matomo, "jane")

    users = matomo.users()
    assert "jane@example.org" in users and matomo.links()["jane"] == "jane@example.org"
    # The signup's password is the unusable one the disableSuperuser rail looks for.
    assert has_signup_password(str(users["jane@example.org"]["password"]))
    assert not has_signup_password(str(users[ADMIN_LOGIN]["password"]))
    landing = login_as(browser, matomo, "eve")
    assert DOMAIN_REFUSED in landing.text, landing
    assert "eve@other.example" not in matomo.users()


# --- 3. disableSuperuser ---------------------------------------------------------------------------


def test_disable_superuser_is_refused_while_a_signed_up_super_user_has_no_password(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    ok(oidcsetup(matomo, provider, workdir, *signup_for("example.org", matomo)))  # fmt: skip
    login_as(browser, matomo, "jane")  # a real signup: jane@example.org, no usable password
    matomo.execute("UPDATE {p}user SET superuser_access = 1 WHERE login = 'jane@example.org'")

    refused = oidcsetup(matomo, provider, workdir, *signup_for("example.org", matomo), "--disable-superuser")  # fmt: skip
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "refusing to turn on disableSuperuser" in refused.stderr
    assert "jane@example.org" in refused.stderr and "--force" in refused.stderr
    assert matomo.plugin_settings()["disableSuperuser"] == "0"
    landing = login_as(browser, matomo, "jane")  # still works: the setting is off
    assert landing.user == "jane@example.org", landing

    forced = oidcsetup(matomo, provider, workdir, *signup_for("example.org", matomo), "--disable-superuser", "--force")  # fmt: skip
    assert "overridden by --force" in ok(forced).stderr
    # The lockout the rail warned about: OIDC refused, and jane has no password to fall back on.
    landing = login_as(browser, matomo, "jane")
    assert SUPERUSER_REFUSED in landing.text and landing.user is None, landing


def test_disable_superuser_names_linked_super_users_whose_password_still_works(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    applied = oidcsetup(matomo, provider, workdir, "--json", "--dsn", matomo.dsn, "--disable-superuser", "--link", f"{ADMIN_LOGIN}=alice")  # fmt: skip
    doc = json.loads(ok(applied).stdout)
    warning = next(w for w in doc["warnings"] if w["code"] == "disable-superuser-linked")
    assert ADMIN_LOGIN in warning["message"] and "Matomo password" in warning["message"]
    assert doc["superuser_rail"] == {"checked": True, "oidc_only": [], "linked": [ADMIN_LOGIN]}

    landing = login_as(browser, matomo, "alice")
    assert SUPERUSER_REFUSED in landing.text and landing.user is None, landing
    browser.reset()
    landing = browser.password_login(matomo.url, ADMIN_LOGIN, ADMIN_PASSWORD)
    assert landing.on_dashboard and landing.user == ADMIN_LOGIN, landing


# --- 5. --secret-as-env against Matomo's own rewrite -----------------------------------------------


def test_secret_reference_drift_after_a_real_console_config_set(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    config = str(matomo.config_path)
    args = ("--config", config, "--secret-as-env", "MATOMO_OIDC_CLIENT_SECRET")
    written = ok(oidcsetup(matomo, provider, workdir, *args))
    assert "lasts only until Matomo rewrites config.ini.php" in written.stderr
    assert 'clientSecret = "${MATOMO_OIDC_CLIENT_SECRET}"' in matomo.config_path.read_text()
    ok(oidcsetup(matomo, provider, workdir, *args, "--check"))

    # Matomo rewrites the file in a process without the variable: the reference becomes "".
    matomo.console("config:set", "--section=General", "--key=oidcsetup_probe", "--value=1")
    assert 'clientSecret = ""' in matomo.config_path.read_text()
    drift = oidcsetup(matomo, provider, workdir, "--json", *args, "--check")
    assert drift.exit_code == 3 and "secret-reference-emptied" in codes(drift)
    checked = oidcsetup(matomo, provider, workdir, "--json", "--config", config, "--secret-as-env", "MATOMO_OIDC_CLIENT_SECRET", command="check")  # fmt: skip
    assert probe(checked, "matomo-state")["code"] == "secret-reference-emptied", checked.stdout
    landing = login_as(browser, matomo, "alice")
    assert "LoginOIDC has not been configured yet." in landing.text, landing

    # Applied again, then rewritten by a process that has it: the plaintext lands in the file.
    ok(oidcsetup(matomo, provider, workdir, *args))
    subprocess.run(
        ["php", "console", "config:set", "--section=General", "--key=oidcsetup_probe",
         "--value=2", "--no-ansi"],
        cwd=matomo.tree, env={**os.environ, "MATOMO_OIDC_CLIENT_SECRET": SECRET},
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert f'clientSecret = "{SECRET}"' in matomo.config_path.read_text()
    drift = oidcsetup(matomo, provider, workdir, "--json", *args, "--check")
    assert drift.exit_code == 3 and "secret-reference-expanded" in codes(drift)
    assert SECRET not in drift.stdout + drift.stderr
    ok(oidcsetup(matomo, provider, workdir, *args))
    assert 'clientSecret = "${MATOMO_OIDC_CLIENT_SECRET}"' in matomo.config_path.read_text()


# --- 6. the config file pins what it holds: Matomo stops showing it ------------------------------


def system_settings(browser: Browser, matomo: RunningMatomo) -> dict[str, list[str]]:
    """CorePluginsAdmin.getSystemSettings as the logged-in super user: plugin -> setting names."""
    browser.reset()
    landing = browser.password_login(matomo.url, ADMIN_LOGIN, ADMIN_PASSWORD)
    assert landing.on_dashboard, landing
    answer = browser.driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const body = new URLSearchParams({token_auth: piwik.token_auth, force_api_session: '1'});
        fetch(arguments[0], {method: 'POST', body, credentials: 'same-origin'})
          .then(r => r.text()).then(done, e => done(String(e)));
        """,
        matomo.url + "index.php?module=API&method=CorePluginsAdmin.getSystemSettings&format=json",
    )
    plugins = json.loads(answer)
    return {p["pluginName"]: [s["name"] for s in p["settings"]] for p in plugins}


def test_the_config_target_hides_what_it_pins_from_matomo(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    ok(oidcsetup(matomo, provider, workdir, "--dsn", matomo.dsn))
    assert "clientId" in system_settings(browser, matomo)["LoginOIDC"]  # the database: editable

    planned = oidcsetup(matomo, provider, workdir, "--json", "--config", str(matomo.config_path), "--dry-run")  # fmt: skip
    pinned = json.loads(ok(planned).stdout)["read_only_in_matomo"]
    assert "clientId" in pinned and len(pinned) == 17
    shown = oidcsetup(matomo, provider, workdir, "--config", str(matomo.config_path))
    assert "read-only in Matomo" in ok(shown).stderr

    assert "LoginOIDC" not in system_settings(browser, matomo)  # every one of them pinned


def test_rebeloidc_when_active_is_checked_the_same_way(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    matomo.console("plugin:activate", "RebelOIDC")  # Matomo's own activation: installed
    assert matomo.has_table("rebeloidc_provider")
    args = ("--json", "--db", "--from-config", str(matomo.config_path))
    fine = oidcsetup(matomo, provider, workdir, *args, command="check")
    assert "RebelOIDC is installed" in probe(fine, "matomo-state")["message"], fine.stdout
    # Recorded as installed, table gone: the state a hand-written PluginsInstalled[] line leaves.
    matomo.execute("DROP TABLE {p}rebeloidc_provider")
    broken = probe(oidcsetup(matomo, provider, workdir, *args, command="check"), "matomo-state")
    assert broken["code"] == "plugin-active-not-installed"
    assert "matomo_rebeloidc_provider" in broken["message"]
    assert 'PluginsInstalled[] = "RebelOIDC"' in broken["hint"]

    text = matomo.config_path.read_text()
    matomo.config_path.write_text(text.replace('PluginsInstalled[] = "RebelOIDC"\n', "", 1))
    open_any_page(browser, matomo)

    assert matomo.has_table("rebeloidc_provider")
    repaired = oidcsetup(matomo, provider, workdir, *args, command="check")
    assert probe(repaired, "matomo-state")["status"] == "pass", repaired.stdout
