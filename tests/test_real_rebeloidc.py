"""RebelOIDC 5.1.6 on the real Matomo 5.1.2: with LemonLDAP::NG 2.16 issuing JWT access tokens a
real browser logs in through it; against oidc-provider's opaque access tokens the real plugin
fails with "Invalid JWT token format." and ``check --login`` names exactly that beforehand.

oidcsetup writes both sides (``apply lemonldap --plugin rebeloidc`` adds the relying party with
``oidcRPMetaDataOptionsAccessTokenJWT``; ``apply matomo --plugin rebeloidc`` the settings, the
activation and the link). Matomo, the plugin and the providers decide; nothing here reads our own
files back to judge them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli import Result, run
from tests.support.browser import Browser, Landing
from tests.support.lemonldap import log_in_at_portal, serve_portal
from tests.support.matomo import ADMIN_LOGIN, BROWSER_LOGIN_MARKS, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client
from tests.support.realpeer import RealProvider
from tests.support.schemas import validate

pytestmark = BROWSER_LOGIN_MARKS

CLIENT_ID = "matomo-rebeloidc"
SECRET = "rebeloidc-test-secret-0123456789"
REBEL_BUTTON = "form[action*='module=RebelOIDC'] .loginoidc-auth-button"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    """A LemonLDAP::NG portal of this module's own (apply lemonldap adds a relying party)."""
    yield from serve_portal(tmp_path_factory.mktemp("rebeloidc-portal"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # no profile: flags and environment say everything
    yield tmp_path


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def apply_matomo(matomo: RunningMatomo, issuer: str, workdir: Path, *args: str) -> Result:
    return run(
        [
            "apply",
            "matomo",
            *args,
            "--issuer",
            issuer,
            "--matomo-url",
            matomo.url,
            "--client-id",
            CLIENT_ID,
            "--scopes",
            "openid email profile",
        ],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
            **matomo.db_env(),
        },
    )


def set_up_rebeloidc(matomo: RunningMatomo, issuer: str, workdir: Path, subject: str) -> None:
    """RebelOIDC configured, activated (Matomo installs it on the next request), linked."""
    applied = ok(
        apply_matomo(
            matomo,
            issuer,
            workdir,
            "--plugin",
            "rebeloidc",
            "--config",
            str(matomo.config_path),
            "--activate",
        )
    )
    assert "configuring" not in applied.stderr  # the flag chose: nothing detected
    text = matomo.config_path.read_text()
    assert "[RebelOIDC]" in text and 'Plugins[] = "RebelOIDC"' in text
    assert 'PluginsInstalled[] = "RebelOIDC"' not in text  # issue 9: Matomo's own record
    httpx.get(matomo.url, timeout=120)  # Matomo installs an activated plugin on a web request
    assert matomo.has_table("rebeloidc_provider")
    # No --plugin now: the config file says RebelOIDC is active; the link goes to its table.
    linked = ok(
        apply_matomo(
            matomo,
            issuer,
            workdir,
            "--db",
            "--from-config",
            str(matomo.config_path),
            "--link",
            f"{ADMIN_LOGIN}={subject}",
        )
    )
    assert "configuring RebelOIDC (both plugins are active in" in linked.stderr
    assert matomo.links("rebeloidc_provider") == {subject: ADMIN_LOGIN}
    assert matomo.links() == {}  # Login OIDC's table untouched


def rebeloidc_login(
    browser: Browser, matomo: RunningMatomo, portal: RealProvider | None
) -> Landing:
    """Matomo's login page, RebelOIDC's button (Login OIDC's is there too), the provider."""
    from selenium.webdriver.common.by import By

    browser.driver.get(matomo.url + "index.php?module=Login")
    browser.wait_for_css(REBEL_BUTTON)
    browser.submit(browser.driver.find_element(By.CSS_SELECTOR, REBEL_BUTTON))
    if portal is not None:
        log_in_at_portal(browser, portal.username, portal.password)
    return browser.settle(matomo.url, timeout=60)


def test_lemonldap_jwt_access_tokens_a_real_browser_logs_in_through_rebeloidc(
    matomo: RunningMatomo, portal: RealProvider, browser: Browser, workdir: Path
) -> None:
    ok(
        run(
            [
                "apply",
                "lemonldap",
                "--conf-dir",
                str(portal.workdir / "conf"),
                "--plugin",
                "rebeloidc",
                "--client-id",
                CLIENT_ID,
                "--matomo-url",
                matomo.url,
                "--scopes",
                "openid email profile",
            ],
            env={"OIDCSETUP_CLIENT_SECRET": SECRET},
        )
    )
    set_up_rebeloidc(matomo, portal.issuer, workdir, portal.username)

    landing = rebeloidc_login(browser, matomo, portal)

    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


@pytest.fixture(scope="module")
def opaque_provider(provider_factory: object, matomo_server: RunningMatomo) -> RunningProvider:
    """oidc-provider (opaque access tokens, its default) with the RebelOIDC callback."""
    callback = matomo_server.url + "index.php?module=RebelOIDC&action=callback&provider=oidc"
    return provider_factory(  # type: ignore[operator,no-any-return]
        [matomo_client(client_id=CLIENT_ID, redirect_uri=callback, client_secret=SECRET)]
    )


def test_opaque_access_tokens_check_names_what_the_real_rebeloidc_then_fails_with(
    matomo: RunningMatomo, opaque_provider: RunningProvider, browser: Browser, workdir: Path
) -> None:
    set_up_rebeloidc(matomo, opaque_provider.issuer, workdir, "alice")

    checked = run(
        [
            "--json",
            "check",
            "--login",
            "--issuer",
            opaque_provider.issuer,
            "--matomo-url",
            matomo.url,
            "--client-id",
            CLIENT_ID,
            "--scopes",
            "openid email profile",
            "--config",
            str(matomo.config_path),
        ],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )
    assert checked.exit_code == 3, checked.stdout + checked.stderr
    probes = {p["name"]: p for p in json.loads(checked.stdout)["probes"]}
    assert probes["access-token"]["code"] == "access-token-not-jwt", probes["access-token"]
    assert "Invalid JWT token format." in probes["access-token"]["message"]
    assert probes["matomo-redirect-uri"]["status"] == "pass", probes["matomo-redirect-uri"]

    landing = rebeloidc_login(browser, matomo, None)  # oidc-provider logs alice in by itself

    assert landing.user is None
    assert "Invalid JWT token format." in landing.text, landing


def lemonldap_rp(portal: RealProvider, matomo: RunningMatomo, client_id: str, plugin: str) -> None:
    ok(
        run(
            [
                "apply",
                "lemonldap",
                "--conf-dir",
                str(portal.workdir / "conf"),
                "--plugin",
                plugin,
                "--client-id",
                client_id,
                "--matomo-url",
                matomo.url,
                "--scopes",
                "openid email profile",
            ],
            env={"OIDCSETUP_CLIENT_SECRET": SECRET},
        )
    )


def migrate(matomo: RunningMatomo, workdir: Path, *args: str) -> Result:
    return run(
        [
            "--json",
            "migrate",
            "matomo",
            "--to",
            "rebeloidc",
            "--config",
            str(matomo.config_path),
            "--db",
            "--from-config",
            str(matomo.config_path),
            "--matomo-url",
            matomo.url,
            *args,
        ],
        env={"OIDCSETUP_BACKUP_DIR": str(workdir / "backups"), **matomo.db_env()},
    )


def test_after_migrate_from_a_working_login_oidc_the_same_user_logs_in_through_rebeloidc(
    matomo: RunningMatomo, portal: RealProvider, browser: Browser, workdir: Path
) -> None:
    from tests.support.lemonldap import matomo_login_through_portal

    client_id = "matomo-migrate"
    lemonldap_rp(portal, matomo, client_id, "loginoidc")
    ok(
        run(
            [
                "apply",
                "matomo",
                "--plugin",
                "loginoidc",
                "--config",
                str(matomo.config_path),
                "--db",
                "--from-config",
                str(matomo.config_path),
                "--link",
                f"{ADMIN_LOGIN}={portal.username}",
                "--issuer",
                portal.issuer,
                "--matomo-url",
                matomo.url,
                "--client-id",
                client_id,
                "--scopes",
                "openid email profile",
            ],
            env={
                "OIDCSETUP_CLIENT_SECRET": SECRET,
                "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
                **matomo.db_env(),
            },
        )
    )
    before = matomo_login_through_portal(browser, matomo.url)
    assert before.on_dashboard and before.user == ADMIN_LOGIN, before  # Login OIDC works
    browser.reset()
    config_before = matomo.config_path.read_text()

    dry = migrate(matomo, workdir, "--dry-run")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert json.loads(dry.stdout)["links"]["pending"]  # its table comes with the install
    assert matomo.config_path.read_text() == config_before  # a dry run writes nothing
    lemonldap_rp(portal, matomo, client_id, "rebeloidc")  # its callback, JWT access tokens
    done = migrate(matomo, workdir)
    assert done.exit_code == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    validate(document, "migrate-matomo")
    assert document["config"]["written"] and document["config"]["backup"]
    assert document["links"]["to_copy"] == [{"login": ADMIN_LOGIN, "subject": portal.username}]
    assert SECRET not in done.stdout + done.stderr  # never printed without --show-secrets
    # Matomo installed the plugin on migrate's page load: its table, and its own record
    assert matomo.has_table("rebeloidc_provider")
    assert 'PluginsInstalled[] = "RebelOIDC"' in matomo.config_path.read_text()
    assert matomo.links("rebeloidc_provider") == {portal.username: ADMIN_LOGIN}

    landing = rebeloidc_login(browser, matomo, portal)
    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN

    again = migrate(matomo, workdir)
    assert again.exit_code == 0 and json.loads(again.stdout)["in_sync"] is True
