"""The headline of issue 14, measured: three commands take a Matomo from no OIDC to a working login.

``oidcsetup register`` (RFC 7591 at the real oidc-provider, registration enabled behind an
initial access token), ``oidcsetup apply matomo --api URL`` (Matomo's HTTP API, as its super
user), ``oidcsetup check --api URL``: run exactly so, as processes, in an empty folder, with
the credentials in the environment only. No file is written by hand: the profile and the 0600
secret files are register's. Then a real browser clicks Login OIDC's button on the real
Matomo 5.1.2 and lands on the dashboard as ``admin`` (the provider's account has the subject
``admin``; ``--auto-linking`` has Login OIDC link it to Matomo's user of that login).

The wall time of the three commands is printed and kept as the test's ``headline_seconds``
property (README "Zero manual steps" quotes a measured run); it is not asserted against a
budget: speed is measured in benchmarks/, not in timed tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser
from tests.support.matomo import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    BROWSER_LOGIN_MARKS,
    REPO,
    RunningMatomo,
)
from tests.support.provider import RunningProvider, registration_config

pytestmark = BROWSER_LOGIN_MARKS

INITIAL_ACCESS_TOKEN = "headline-initial-access-token-0123456789"


@pytest.fixture(scope="module")
def registration_provider(provider_factory: Any) -> RunningProvider:
    return provider_factory(  # type: ignore[no-any-return]
        [],
        accounts={ADMIN_LOGIN: {"email": "admin@example.org", "email_verified": True}},
        **registration_config(INITIAL_ACCESS_TOKEN),
    )


def _environment(**credentials: str) -> dict[str, str]:
    """This process's environment without any OIDCSETUP_* setting, plus the credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **credentials}


def test_register_apply_api_check_then_a_real_browser_logs_in(
    matomo: RunningMatomo,
    registration_provider: RunningProvider,
    browser: Browser,
    tmp_path: Path,
    record_property: Any,
) -> None:
    assert matomo.plugin_settings() == {}  # Matomo starts with no OIDC settings at all
    env = _environment(
        OIDCSETUP_REGISTRATION_TOKEN=INITIAL_ACCESS_TOKEN,
        OIDCSETUP_MATOMO_TOKEN_AUTH=matomo.create_token(),
        OIDCSETUP_MATOMO_PASSWORD=ADMIN_PASSWORD,
    )
    commands = [
        ["register", "--issuer", registration_provider.issuer, "--matomo-url", matomo.url],
        ["apply", "matomo", "--api", matomo.url, "--auto-linking"],
        ["check", "--api", matomo.url],
    ]
    started = time.monotonic()
    each: list[float] = []
    for args in commands:
        begun = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "oidcsetup", *args],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
        )
        each.append(time.monotonic() - begun)
        assert done.returncode == 0, f"oidcsetup {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        for secret in (ADMIN_PASSWORD, env["OIDCSETUP_MATOMO_TOKEN_AUTH"], INITIAL_ACCESS_TOKEN):
            assert secret not in done.stdout + done.stderr
    seconds = time.monotonic() - started
    record_property("headline_seconds", round(seconds, 2))
    print(
        f"\nheadline: register + apply matomo --api + check took {seconds:.2f} s "
        f"({' + '.join(f'{t:.2f}' for t in each)})"
    )

    # Only what register wrote: the profile and the 0600 secret files, nothing by hand.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "oidcsetup-client.secret",
        "oidcsetup-client.secret.registration.json",
        "oidcsetup.toml",
    ]
    secret = (tmp_path / "oidcsetup-client.secret").read_text().strip()
    stored = matomo.plugin_settings()
    assert stored["clientSecret"] == secret  # the registered secret reached Matomo
    assert stored["authorizeUrl"].startswith(registration_provider.issuer)

    landing = browser.oidc_login(matomo.url)
    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN
