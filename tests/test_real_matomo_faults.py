"""Fault by fault, `check`'s verdict and a real browser login on the real Matomo agree.

Each case wires the real Matomo 5.1.2 + Login OIDC 5.0.0 with oidcsetup against a real
oidc-provider set up with the fault, runs `oidcsetup check` (which asks Matomo itself and the
provider), and logs in with a real Chromium: the login fails exactly where check says it will,
with Matomo's or the provider's own message. Also pinned here: signup with a plain
allowedSignupDomains domain, autoLinking, and logout through endSessionUrl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.browser import Browser
from tests.support.matomo import ADMIN_LOGIN, BROWSER_LOGIN_MARKS, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client

pytestmark = BROWSER_LOGIN_MARKS

SECRET = "matomo-test-secret"
INTEGRATION = ["--client-id", "matomo", "--scopes", "openid email", "--userinfo-id", "sub"]
# Login OIDC's messages (plugins/LoginOIDC/lang/en.json), as the browser shows them.
UNEXPECTED_RESPONSE = "Unexpected response from OAuth service."
SIGNUP_DISABLED = "User not found. OAuth registrations are disabled."
DOMAIN_REFUSED = "The domain is currently not activated for account creation."


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def start(provider_factory: object, matomo: RunningMatomo, **config: Any) -> RunningProvider:
    client = config.pop("client", {})
    return provider_factory(  # type: ignore[operator,no-any-return]
        [matomo_client(redirect_uri=matomo.callback_url, client_secret=SECRET, **client)],
        **config,
    )


def start_as(
    provider_factory: object, matomo: RunningMatomo, subject: str, email: str
) -> RunningProvider:
    """A provider whose zero-click login is the account ``subject`` with that email."""
    return start(
        provider_factory,
        matomo,
        accounts={subject: {"email": email, "email_verified": True}},
        autoLogin=subject,
    )


def apply(
    matomo: RunningMatomo,
    provider: RunningProvider,
    workdir: Path,
    *args: str,
    secret: str = SECRET,
) -> None:
    result = run(
        [
            "apply", "matomo", "--db", "--dsn", matomo.dsn, *args,
            "--issuer", provider.issuer, "--matomo-url", matomo.url, *INTEGRATION,
        ],
        env={
            "OIDCSETUP_CLIENT_SECRET": secret,
            "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
            **matomo.db_env(),
        },
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr


def check(
    matomo: RunningMatomo, provider: RunningProvider, secret: str = SECRET
) -> tuple[Result, dict[str, dict[str, Any]]]:
    """`oidcsetup check` with Matomo's settings read from its database (what a login uses)."""
    result = run(
        [
            "--json", "check", "--db", "--dsn", matomo.dsn,
            "--issuer", provider.issuer, "--matomo-url", matomo.url, *INTEGRATION,
        ],
        env={"OIDCSETUP_CLIENT_SECRET": secret, **matomo.db_env()},
    )  # fmt: skip
    document = json.loads(result.stdout)
    return result, {p["name"]: p for p in document["probes"]}


def failing(probes: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: p["code"] for name, p in probes.items() if p["status"] == "fail"}


# --- the faults: check fails, and the real login fails the same way ----------------------------


def test_wrong_secret(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start(provider_factory, matomo)
    apply(matomo, provider, workdir, "--link", f"{ADMIN_LOGIN}=alice", secret="not-the-secret")

    result, probes = check(matomo, provider, secret="not-the-secret")
    assert result.exit_code == 3
    assert failing(probes) == {"client-auth": "client-secret-wrong"}

    landing = browser.oidc_login(matomo.url)
    assert landing.user is None
    assert UNEXPECTED_RESPONSE in landing.text, landing


def test_unregistered_redirect_uri(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start(
        provider_factory,
        matomo,
        client={"redirect_uris": [matomo.url + "index.php?module=LoginOIDC&action=callback"]},
    )
    apply(matomo, provider, workdir, "--link", f"{ADMIN_LOGIN}=alice")

    result, probes = check(matomo, provider)
    assert result.exit_code == 3
    assert failing(probes) == {
        "redirect-uri": "redirect-uri-unregistered",
        "matomo-redirect-uri": "redirect-uri-unregistered",  # Matomo's own request, refused
    }
    assert probes["matomo-redirect-uri"]["details"]["source"] == "live"

    # The provider's 400 page; Matomo is never called back.
    landing = browser.oidc_login(matomo.url)
    assert landing.url.startswith(provider.issuer), landing
    assert "redirect_uri did not match" in landing.text, landing
    assert landing.user is None


def test_basic_only_provider(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    """A provider accepting client_secret_basic only; Login OIDC posts the secret."""
    provider = start(
        provider_factory,
        matomo,
        client={"token_endpoint_auth_method": "client_secret_basic"},
        clientAuthMethods=["client_secret_basic", "none"],
    )
    apply(matomo, provider, workdir, "--link", f"{ADMIN_LOGIN}=alice")

    result, probes = check(matomo, provider)
    assert result.exit_code == 3
    assert failing(probes) == {"client-auth": "client-auth-method"}

    landing = browser.oidc_login(matomo.url)
    assert landing.user is None
    assert UNEXPECTED_RESPONSE in landing.text, landing


def test_plugin_settings_incomplete(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    """Nothing applied yet: Matomo's button leads to Login OIDC's "not configured" error."""
    provider = start(provider_factory, matomo)

    result, probes = check(matomo, provider)
    assert result.exit_code == 3
    assert probes["matomo-redirect-uri"]["code"] == "matomo-oidc-not-configured"
    assert probes["matomo-settings"]["code"] == "matomo-setting-missing"

    landing = browser.oidc_login(matomo.url)
    assert landing.user is None
    assert "LoginOIDC has not been configured yet." in landing.text, landing


def test_a_correct_setup_passes_check_and_logs_in(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    """The control case for the faults above: same wiring, no fault, both agree it works."""
    provider = start(provider_factory, matomo)
    apply(matomo, provider, workdir, "--link", f"{ADMIN_LOGIN}=alice")

    result, probes = check(matomo, provider)
    assert failing(probes) == {}
    assert result.exit_code == 0
    assert probes["matomo-redirect-uri"]["code"] == "matomo-redirect-uri-ok"

    landing = browser.oidc_login(matomo.url)
    assert landing.on_dashboard and landing.user == ADMIN_LOGIN, landing


# --- what the plugin's other switches do on the real Matomo ------------------------------------


def test_signup_with_a_plain_allowed_domain_creates_the_user(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start_as(provider_factory, matomo, "bob", "bob@example.net")
    apply(matomo, provider, workdir, "--allow-signup", "--allowed-signup-domain", "example.net")

    landing = browser.oidc_login(matomo.url)

    users = matomo.users()
    assert "bob@example.net" in users, landing  # the email claim is the Matomo login
    assert users["bob@example.net"]["superuser"] is False
    assert matomo.links() == {"bob": "bob@example.net"}
    # Created with no access to any site: Matomo logs bob in and says so.
    assert (
        "You are logged in as 'bob@example.net' but it seems you don't have any permission"
        in landing.text
    ), landing


def test_signup_from_a_domain_not_listed_is_refused(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start_as(provider_factory, matomo, "eve", "eve@elsewhere.example")
    apply(matomo, provider, workdir, "--allow-signup", "--allowed-signup-domain", "example.net")

    landing = browser.oidc_login(matomo.url)

    assert DOMAIN_REFUSED in landing.text, landing
    assert "eve@elsewhere.example" not in matomo.users()


def test_auto_linking_logs_in_the_matomo_user_named_like_the_subject(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    """autoLinking: a provider subject equal to a Matomo login is linked on first login."""
    provider = start_as(provider_factory, matomo, ADMIN_LOGIN, "admin@example.org")
    apply(matomo, provider, workdir, "--auto-linking")
    assert matomo.links() == {}

    landing = browser.oidc_login(matomo.url)

    assert landing.on_dashboard and landing.user == ADMIN_LOGIN, landing
    assert matomo.links() == {ADMIN_LOGIN: ADMIN_LOGIN}


def test_without_auto_linking_the_same_subject_is_refused(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start_as(provider_factory, matomo, ADMIN_LOGIN, "admin@example.org")
    apply(matomo, provider, workdir)

    landing = browser.oidc_login(matomo.url)

    assert SIGNUP_DISABLED in landing.text, landing
    assert matomo.links() == {}


def test_logout_goes_to_the_providers_end_session_endpoint(
    matomo: RunningMatomo, provider_factory: object, browser: Browser, workdir: Path
) -> None:
    provider = start(provider_factory, matomo)
    apply(matomo, provider, workdir, "--link", f"{ADMIN_LOGIN}=alice")
    assert matomo.plugin_settings()["endSessionUrl"] == provider.issuer + "/session/end"
    assert browser.oidc_login(matomo.url).user == ADMIN_LOGIN

    landing = browser.logout(matomo.url)

    assert landing.url.startswith(provider.issuer + "/session/end"), landing
    assert "id_token_hint=" in landing.url
    assert "Do you want to sign-out from" in landing.text  # oidc-provider's end-session page
    browser.driver.get(
        matomo.url + "index.php?module=CoreHome&action=index&idSite=1&period=day&date=today"
    )
    assert browser.matomo_user() is None  # Matomo's session is gone
