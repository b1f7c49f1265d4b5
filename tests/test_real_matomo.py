"""The real Matomo 5.1.2 + Login OIDC 5.0.0: oidcsetup wires it, a real browser logs in.

Matomo is the peer from ../shared/peers/matomo/ (installed once per session by the
``matomo_server`` fixture, reset to its post-install baseline for each test); the provider is
the real oidc-provider in its zero-click mode (it logs in as ``alice``); the browser is a real
headless Chromium. Nothing here reads our own files back: Matomo itself decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Result, run
from tests.support.browser import Browser
from tests.support.matomo import ADMIN_LOGIN, BROWSER_LOGIN_MARKS, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client

pytestmark = BROWSER_LOGIN_MARKS

SECRET = "matomo-test-secret"
SUBJECT = "alice"  # the provider's account (its zero-click mode logs in as the first one)


@pytest.fixture(scope="module")
def provider(provider_factory: object, matomo_server: RunningMatomo) -> RunningProvider:
    """oidc-provider with Matomo's client registered for the callback Matomo really builds."""
    return provider_factory(  # type: ignore[operator,no-any-return]
        [matomo_client(redirect_uri=matomo_server.callback_url, client_secret=SECRET)]
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # no profile: the flags and environment say everything
    yield tmp_path


def oidcsetup(
    matomo: RunningMatomo, provider: RunningProvider, workdir: Path, *args: str
) -> Result:
    """``oidcsetup apply matomo ARGS`` with the integration given by flags, secret from env."""
    result = run(
        [
            "apply",
            "matomo",
            *args,
            "--issuer",
            provider.issuer,
            "--matomo-url",
            matomo.url,
            "--client-id",
            "matomo",
            "--scopes",
            "openid email",
            "--userinfo-id",
            "sub",
        ],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
            **matomo.db_env(),
        },
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def test_config_file_target_then_link_and_a_real_browser_lands_on_the_dashboard_as_admin(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    oidcsetup(matomo, provider, workdir, "--config", str(matomo.config_path))
    oidcsetup(
        matomo, provider, workdir, "--db", "--from-config", str(matomo.config_path),
        "--link", f"{ADMIN_LOGIN}={SUBJECT}",
    )  # fmt: skip
    assert matomo.links() == {SUBJECT: ADMIN_LOGIN}
    # Only the config file speaks: the rows --db wrote next to the link go away.
    matomo.execute("DELETE FROM {p}plugin_setting WHERE plugin_name = 'LoginOIDC'")

    landing = browser.oidc_login(matomo.url)

    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


def test_database_target_with_link_and_a_real_browser_lands_on_the_dashboard_as_admin(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    oidcsetup(
        matomo, provider, workdir, "--db", "--dsn", matomo.dsn,
        "--link", f"{ADMIN_LOGIN}={SUBJECT}",
    )  # fmt: skip
    assert "[LoginOIDC]" not in matomo.config_path.read_text()  # the database alone
    assert matomo.plugin_settings()["clientId"] == "matomo"

    landing = browser.oidc_login(matomo.url)

    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


def test_without_the_link_the_real_matomo_refuses_the_provider_user(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    """The link is what logs alice in as admin: without it Matomo says so (signup off)."""
    oidcsetup(matomo, provider, workdir, "--db", "--dsn", matomo.dsn)

    landing = browser.oidc_login(matomo.url)

    assert landing.user is None
    assert "User not found. OAuth registrations are disabled." in landing.text, landing


def test_an_oidc_login_from_a_session_already_logged_in_ends_in_oauth_state_mismatch(
    matomo: RunningMatomo, provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    """Pinned on Login OIDC 5.0.0: its callback takes a login from a logged-in session for a
    password confirmation (PasswordVerifier::setPasswordVerifiedCorrectly), which redirects to
    the callback URL itself; that second call finds the state already used and fails. A user who
    clicks the button again while logged in sees this; so did a test whose browser got the
    previous test's session back (the race Browser.reset in tests/support/browser.py closes)."""
    oidcsetup(
        matomo, provider, workdir, "--db", "--dsn", matomo.dsn, "--link", f"{ADMIN_LOGIN}={SUBJECT}"
    )
    first = browser.oidc_login(matomo.url)
    assert first.on_dashboard, first

    again = browser.oidc_login(matomo.url)  # the login page still shows the button

    assert again.says.startswith("An error occurred OAuth state mismatch."), again
    assert "module=LoginOIDC&action=callback" in again.url
    callbacks = [
        line for line in matomo.server_log(tail=20_000).splitlines()
        if "]: GET /index.php?module=LoginOIDC&action=callback" in line
    ]  # fmt: skip
    assert [line.split("]: ")[0].rsplit("[", 1)[1] for line in callbacks[-2:]] == ["302", "500"]
