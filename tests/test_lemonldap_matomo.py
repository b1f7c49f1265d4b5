"""LemonLDAP::NG to the real Matomo, both sides wired by oidcsetup, a person's login for real.

The portal is LemonLDAP::NG 2.16 (tests/support/lemonldap.py) started on a configuration
without our relying party; ``apply lemonldap`` writes it (a new lmConf-N.json the running portal
reloads), ``apply matomo`` writes Login OIDC's settings into the real Matomo 5.1.2
(tests/support/matomo.py) and links its ``admin`` to the portal's ``dwho``; then a real headless
Chromium clicks Login OIDC's button, types dwho's name and password into the PORTAL'S login form,
and must land on Matomo's dashboard as ``admin``. ``check`` (live Matomo and database) passes on
that setup. Matomo's PHP and the browser both reach the portal on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Result, run
from tests.support.browser import Browser
from tests.support.matomo import ADMIN_LOGIN, BROWSER_LOGIN_MARKS, RunningMatomo
from tests.support.realpeer import RealProvider

pytestmark = BROWSER_LOGIN_MARKS

CLIENT = "matomo-wired"
SECRET = "wired-by-oidcsetup-secret"
SCOPES = "openid email profile"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    """A portal of this module's own: its configuration is written by ``apply lemonldap`` or
    by its own RFC 7591 registration endpoint (on here)."""
    from tests.support.lemonldap import DYNAMIC_REGISTRATION, serve_portal

    workdir = tmp_path_factory.mktemp("llng-matomo")
    yield from serve_portal(workdir, settings=DYNAMIC_REGISTRATION)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no profile: flags and environment say everything
    return tmp_path


def oidcsetup(
    matomo: RunningMatomo, workdir: Path, *args: str, secret: str | None = SECRET
) -> Result:
    return run(
        ["--json", *args],
        env={
            "OIDCSETUP_CLIENT_SECRET": secret,
            "OIDCSETUP_PROFILE": None,
            "OIDCSETUP_BACKUP_DIR": str(workdir / "backups"),
            **matomo.db_env(),
        },
    )


def integration(portal: RealProvider, matomo: RunningMatomo) -> list[str]:
    return [
        "--issuer", portal.issuer, "--client-id", CLIENT, "--matomo-url", matomo.url,
        "--scopes", SCOPES,
    ]  # fmt: skip


def client_auth_passes(portal: RealProvider, matomo: RunningMatomo, workdir: Path) -> bool:
    result = oidcsetup(matomo, workdir, "check", *integration(portal, matomo))
    found = {p["name"]: p for p in json.loads(result.stdout)["probes"]}
    return bool(found["client-auth"]["status"] == "pass")


def wire_both_sides(portal: RealProvider, matomo: RunningMatomo, workdir: Path) -> None:
    """apply lemonldap, then apply matomo --db --link admin=dwho; wait for the portal's reload."""
    applied = oidcsetup(
        matomo, workdir, "apply", "lemonldap", "--conf-dir", str(portal.workdir / "conf"),
        "--client-id", CLIENT, "--matomo-url", matomo.url,
    )  # fmt: skip
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    wired = oidcsetup(
        matomo, workdir, "apply", "matomo", "--db", "--dsn", matomo.dsn,
        *integration(portal, matomo), "--link", f"{ADMIN_LOGIN}={portal.username}",
    )  # fmt: skip
    assert wired.exit_code == 0, wired.stdout + wired.stderr
    # The portal rereads its configuration when it is older than checkTime (1 s here).
    deadline = time.monotonic() + 20
    while not client_auth_passes(portal, matomo, workdir):
        assert time.monotonic() < deadline, "the portal never served the applied client"
        time.sleep(0.5)


def test_a_person_logs_in_through_the_portal_form_and_lands_on_matomo_as_admin(
    portal: RealProvider, matomo: RunningMatomo, browser: Browser, workdir: Path
) -> None:
    from tests.support.lemonldap import matomo_login_through_portal

    wire_both_sides(portal, matomo, workdir)

    landing = matomo_login_through_portal(browser, matomo.url, portal.username, portal.password)

    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN
    assert matomo.links() == {portal.username: ADMIN_LOGIN}

    checked = oidcsetup(
        matomo, workdir, "check", *integration(portal, matomo), "--db", "--dsn", matomo.dsn
    )
    assert checked.exit_code == 0, checked.stdout
    assert json.loads(checked.stdout)["ok"] is True


def test_a_wrong_password_stays_on_the_portal_and_matomo_logs_nobody_in(
    portal: RealProvider, matomo: RunningMatomo, browser: Browser, workdir: Path
) -> None:
    """The login form is what decides: dwho with a wrong password never reaches Matomo."""
    from tests.support.lemonldap import log_in_at_portal

    wire_both_sides(portal, matomo, workdir)
    browser.open_login_page(matomo.url)
    browser.click_oidc_button()
    log_in_at_portal(browser, portal.username, "not-" + portal.password)

    landing = browser.settle(matomo.url)

    assert landing.url.startswith(portal.issuer), landing
    assert landing.user is None
    assert browser.driver.find_elements("css selector", "input[name=password]"), landing


def test_register_apply_check_then_a_person_logs_in_with_the_registered_client(
    portal: RealProvider, matomo: RunningMatomo, browser: Browser, workdir: Path
) -> None:
    """No configuration written by hand: ``register`` at the portal's registration endpoint,
    ``apply matomo`` from the profile it wrote, ``check``; then the login form, Matomo's
    dashboard. (The portal's client ids hold '/' and '.', which Matomo must pass on intact.)"""
    from tests.support.lemonldap import matomo_login_through_portal

    profile = workdir / "oidcsetup.toml"
    profile.write_text(
        f'[provider]\nissuer = "{portal.issuer}"\n\n[client]\nscopes = ["openid", "email"]\n'
        f'\n[app.matomo]\nurl = "{matomo.url}"\n'
    )
    steps = (
        ("register",),
        ("apply", "matomo", "--db", "--dsn", matomo.dsn, "--link", f"{ADMIN_LOGIN}=dwho"),
        ("check", "--db", "--dsn", matomo.dsn),
    )
    for step in steps:
        done = oidcsetup(matomo, workdir, "--profile", str(profile), *step, secret=None)
        assert done.exit_code == 0, (step, done.stdout, done.stderr)
    assert (
        matomo.plugin_settings()["clientId"]
        == json.loads((workdir / "oidcsetup-client.secret.registration.json").read_text())[
            "client_id"
        ]
    )

    landing = matomo_login_through_portal(browser, matomo.url, portal.username, portal.password)

    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN
