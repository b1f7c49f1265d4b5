"""Matomo's HTTP API as a target (issue 14): apps/matomo/api.py and apitarget.py on the REAL Matomo.

Matomo 5.1.2 + Login OIDC 5.0.0 from ../shared/peers/matomo decides everything here: what
getSystemSettings shows, what setSystemSettings accepts or refuses (its own validators, the
password confirmation), what it stores (read from its database), and whether a real browser
then logs in. A token_auth is made for the super user the way Matomo's screen does
(``RunningMatomo.create_token``).
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from oidcsetup.apps.matomo.api import (
    PASSWORD_PLACEHOLDER,
    ApiCredentials,
    MatomoApi,
    MatomoApiError,
)
from oidcsetup.apps.matomo.apitarget import ApiTarget, load_api_backup
from oidcsetup.errors import ApplyError, InputError
from tests.support.browser import Browser
from tests.support.matomo import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    BROWSER_LOGIN_MARKS,
    RunningMatomo,
)
from tests.support.provider import RunningProvider, matomo_client

pytestmark = BROWSER_LOGIN_MARKS

SECRET = "matomo-api-test-secret"


@pytest.fixture(scope="module")
def provider(provider_factory: Any, matomo_server: RunningMatomo) -> RunningProvider:
    """oidc-provider whose one account has the subject ``admin``: with autoLinking on, Login
    OIDC links it to Matomo's user of that login (Controller.php, callback), no database write."""
    return provider_factory(  # type: ignore[no-any-return]
        [matomo_client(redirect_uri=matomo_server.callback_url, client_secret=SECRET)],
        accounts={ADMIN_LOGIN: {"email": "admin@example.org", "email_verified": True}},
    )


def desired(provider: RunningProvider, **more: str) -> dict[str, str]:
    document = httpx.get(provider.discovery_url).json()
    return {
        "autoLinking": "1",
        "authorizeUrl": document["authorization_endpoint"],
        "tokenUrl": document["token_endpoint"],
        "userinfoUrl": document["userinfo_endpoint"],
        "userinfoId": "sub",
        "clientId": "matomo",
        "clientSecret": SECRET,
        "scope": "openid email",
        **more,
    }


def target(matomo: RunningMatomo, password: str | None = ADMIN_PASSWORD) -> ApiTarget:
    return ApiTarget(MatomoApi(matomo.url, ApiCredentials(matomo.create_token(), password)))


def test_apply_through_the_api_is_idempotent_backed_up_and_a_real_browser_logs_in(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, tmp_path: Path
) -> None:
    api = target(matomo)
    want = desired(provider)
    plan = api.plan(want).plan
    assert {c.setting for c in plan.pending} == set(want)  # each differs from the defaults
    result = api.write(want, expected=plan, backup_dir=tmp_path)
    assert result.written

    # What Matomo itself stored (its database), and what its API now shows.
    stored = matomo.plugin_settings()
    assert {k: stored[k] for k in want} == want
    again = api.read()
    assert again.hidden == ("clientSecret",)  # a password field: the API never shows it
    assert "clientSecret" not in again.values
    assert api.plan(want).plan.in_sync  # idempotent: the second plan has nothing to do

    # The backup: 0600, the values the API showed before (the plugin defaults), no secret.
    assert result.backup is not None
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o600
    saved = load_api_backup(result.backup)
    assert saved.values["authorizeUrl"] == "https://github.com/login/oauth/authorize"
    assert saved.values["clientSecret"] == ""  # nothing was set before
    assert SECRET not in result.backup.read_text()

    landing = browser.oidc_login(matomo.url)
    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


def test_restore_puts_the_previous_values_back_through_the_api(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    api = target(matomo)
    first = desired(provider)
    api.write(first, expected=api.plan(first).plan, backup_dir=tmp_path)
    second = {**first, "scope": "openid email profile", "authenticationName": "Log in"}
    changed = api.write(second, expected=api.plan(second).plan, backup_dir=tmp_path)
    assert changed.backup is not None
    assert [c.setting for c in changed.plan.pending] == ["scope", "authenticationName"]

    plan = api.restore(changed.backup, write=False).plan
    assert {c.setting: c.new for c in plan.pending} == {
        "authenticationName": "OAuth login",
        "scope": "openid email",
    }
    restored = api.restore(changed.backup, write=True, backup_dir=tmp_path)
    assert restored.written
    assert matomo.plugin_settings()["scope"] == "openid email"
    assert matomo.plugin_settings()["clientSecret"] == SECRET  # kept: the backup cannot hold it
    assert api.restore(changed.backup, write=False).plan.in_sync


def test_a_change_made_in_matomo_is_drift_and_a_stale_plan_writes_nothing(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    api = target(matomo)
    want = desired(provider)
    api.write(want, expected=api.plan(want).plan, backup_dir=tmp_path)
    plan = api.plan(want).plan
    assert plan.in_sync

    # An administrator changes the scope the way Matomo's settings screen saves it.
    api.api.write_settings("LoginOIDC", {"scope": "openid"})
    drift = api.plan(want).plan
    assert [(c.setting, c.old, c.new) for c in drift.pending] == [
        ("scope", "openid", "openid email")
    ]
    with pytest.raises(ApplyError, match="changed since the plan"):
        api.write(want, expected=plan, backup_dir=tmp_path / "stale")
    assert not (tmp_path / "stale").exists()
    assert matomo.plugin_settings()["scope"] == "openid"


def test_the_hidden_secret_is_kept_unless_overwrite_is_asked(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    api = target(matomo)
    want = desired(provider)
    api.write(want, expected=api.plan(want).plan, backup_dir=tmp_path)
    other = {**want, "clientSecret": "another-secret"}
    assert api.plan(other).plan.in_sync  # Matomo holds a secret it does not show: kept
    overwrite = ApiTarget(api.api, overwrite_secret=True)
    plan = overwrite.plan(other).plan
    assert [(c.setting, c.old) for c in plan.pending] == [("clientSecret", PASSWORD_PLACEHOLDER)]
    overwrite.write(other, expected=plan, backup_dir=tmp_path)
    assert matomo.plugin_settings()["clientSecret"] == "another-secret"


def test_matomo_validators_refuse_and_nothing_is_written(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    """A 63-letter label is a valid DNS label (ours accepts it), but Login OIDC's domain
    pattern allows 62 at most: Matomo's own validator refuses the whole save."""
    api = target(matomo)
    want = desired(provider, allowedSignupDomains="x" * 63 + ".org")
    with pytest.raises(MatomoApiError) as refused:
        api.write(want, expected=api.plan(want).plan, backup_dir=tmp_path)
    assert refused.value.code == "matomo-setting-refused"
    assert str(refused.value) == (
        "Matomo refused the settings: Restrict user creation to domains: Validation failed "
        "for the list of domains allowed for user creation."
    )
    assert matomo.plugin_settings() == {}  # nothing saved, not even the valid settings
    assert list(tmp_path.iterdir()) == []  # and no backup of a write that did not happen


def test_a_wrong_password_is_one_line_and_leaks_nothing(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    api = target(matomo, password="not-the-password")
    want = desired(provider)
    with pytest.raises(MatomoApiError) as refused:
        api.write(want, expected=api.plan(want).plan, backup_dir=tmp_path)
    error = refused.value
    assert error.code == "matomo-password-rejected"
    text = f"{error} {error.hint}"
    assert "\n" not in text
    for secret in ("not-the-password", api.api.credentials.token_auth, SECRET):
        assert secret not in text
    assert matomo.plugin_settings() == {}


def test_a_super_user_without_a_matomo_password_cannot_confirm_issue_19169(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    """A user created by OIDC signup has the pre-hashed password "(disallow password login)"
    (Login OIDC's Controller.php, signupUser): made super user, no password confirms for it.
    Matomo answers exactly as for a wrong password; the error names both causes."""
    api = target(matomo)  # the token is made while admin still has a password
    # What signupUser stores, hashed by PHP itself (UserRepository: a pre-hashed password is
    # hashed once more with password_hash, no md5 step).
    unusable = subprocess.run(
        ["php", "-r", 'echo password_hash("(disallow password login)", PASSWORD_DEFAULT);'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    matomo.execute("UPDATE {p}user SET password = %s WHERE login = %s", (unusable, ADMIN_LOGIN))
    want = desired(provider)
    for password in (ADMIN_PASSWORD, "(disallow password login)"):
        api.api.credentials = ApiCredentials(api.api.credentials.token_auth, password)
        with pytest.raises(MatomoApiError) as refused:
            api.write(want, expected=api.plan(want).plan, backup_dir=tmp_path)
        assert refused.value.code == "matomo-password-rejected"
        assert "issue 19169" in str(refused.value)
        assert "OIDC" in str(refused.value)


def test_a_token_matomo_does_not_know_is_refused(matomo: RunningMatomo) -> None:
    api = MatomoApi(matomo.url, ApiCredentials("0" * 32))
    with pytest.raises(MatomoApiError) as refused:
        api.read_settings("LoginOIDC", ["clientId"])
    assert refused.value.code == "matomo-token-rejected"
    assert "0" * 32 not in str(refused.value)


def test_a_setting_pinned_in_config_ini_php_is_not_writable_through_the_api(
    matomo: RunningMatomo, provider: RunningProvider
) -> None:
    text = matomo.config_path.read_text()
    matomo.config_path.write_text(text + '\n[LoginOIDC]\nclientId = "pinned"\n')
    matomo.clear_caches()
    api = target(matomo)
    assert "clientId" in api.read().missing
    with pytest.raises(InputError, match="pins them"):
        api.plan(desired(provider))


def test_a_plugin_that_is_not_activated_is_named(matomo: RunningMatomo) -> None:
    matomo.console("plugin:deactivate", "LoginOIDC")
    matomo.clear_caches()
    api = target(matomo)
    with pytest.raises(MatomoApiError) as refused:
        api.read()
    assert refused.value.code == "plugin-not-activated"
