"""Shared fixtures: real components (oidc-provider, MariaDB, PHP). Add yours in a section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.provider import (
    RunningProvider,
    matomo_client,
    provider_missing_reason,
    start_provider,
)
from tests.support.shared import REFERENCE

if TYPE_CHECKING:
    from tests.support.browser import Browser
    from tests.support.matomo import RunningMatomo

SHARED_REFERENCE = REFERENCE


# --- oidc-provider (node) ------------------------------------------------------------------


@pytest.fixture(scope="session")
def provider_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """``provider_factory(clients, **config)`` starts a real oidc-provider; all stopped at the end."""
    reason = provider_missing_reason()
    if reason:
        pytest.skip(reason)
    started: list[RunningProvider] = []

    def factory(
        clients: list[dict[str, object]] | None = None, **config: object
    ) -> RunningProvider:
        workdir = tmp_path_factory.mktemp("provider")
        provider = start_provider(clients, workdir=workdir, **config)
        started.append(provider)
        return provider

    try:
        yield factory
    finally:
        for provider in started:
            provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(provider_factory: object) -> RunningProvider:
    """One shared provider on http://127.0.0.1:<port> with the Matomo client registered."""
    return provider_factory([matomo_client()])  # type: ignore[operator]


# --- MariaDB (apply matomo --db) -----------------------------------------------------------


@pytest.fixture(scope="session")
def mariadb() -> Iterator[object]:
    """A throwaway MariaDB server (tests/support/mariadb.py), stopped and removed at the end."""
    from tests.support.mariadb import mariadb_missing_reason, running_mariadb

    reason = mariadb_missing_reason()
    if reason:
        pytest.skip(reason)
    with running_mariadb() as server:
        yield server


# --- real OpenID providers (tests/support/{lemonldap,glewlwyd,djangoop}.py) --------------------
# Each starts once per session on a free 127.0.0.1 port in a temp dir, and is stopped at the end.


def _real_provider(
    tmp_path_factory: pytest.TempPathFactory, name: str, missing: object, start: object
) -> Iterator[object]:
    from tests.support.realpeer import PeerUnavailable

    reason = missing()  # type: ignore[operator]
    if reason:
        pytest.skip(reason)
    try:
        provider = start(tmp_path_factory.mktemp(name))  # type: ignore[operator]
    except PeerUnavailable as exc:
        pytest.fail(f"{name} is installed but did not start: {exc}")
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def lemonldap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """LemonLDAP::NG 2.16's portal (plackup): clients matomo, matomo-signed, matomo-jwt; dwho/dwho."""
    from tests.support.lemonldap import lemonldap_missing_reason, start_lemonldap

    yield from _real_provider(
        tmp_path_factory, "lemonldap", lemonldap_missing_reason, start_lemonldap
    )


@pytest.fixture(scope="session")
def glewlwyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Glewlwyd 2.7.5 (sqlite3, provisioned by its admin API): clients matomo, matomo-basic."""
    from tests.support.glewlwyd import glewlwyd_missing_reason, start_glewlwyd

    yield from _real_provider(tmp_path_factory, "glewlwyd", glewlwyd_missing_reason, start_glewlwyd)


@pytest.fixture(scope="session")
def django_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """django-oidc-provider 0.9 in a minimal Django project under gunicorn: client matomo."""
    from tests.support.djangoop import django_missing_reason, start_django_op

    yield from _real_provider(
        tmp_path_factory, "django-oidc-provider", django_missing_reason, start_django_op
    )


# --- the real Matomo 5.1.2 + Login OIDC 5.0.0 (../shared/peers/matomo) ----------------------


@pytest.fixture(scope="session")
def matomo_server(
    mariadb: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningMatomo]:
    """The real Matomo, installed once per session against the session MariaDB and served.

    Use the ``matomo`` fixture in tests: it resets this server to its post-install baseline.
    """
    from tests.support.matomo import install_matomo, matomo_missing_reason

    reason = matomo_missing_reason()
    if reason:
        pytest.skip(reason)
    # The unpacked tree (130 MB) stays in pytest's temp dir, which keeps the last 3 runs:
    # removing it here took over 30 s on a busy machine, charged to the last test's timeout.
    server = install_matomo(mariadb, tmp_path_factory.mktemp("matomo"))  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def matomo(matomo_server: RunningMatomo) -> RunningMatomo:
    """The session's real Matomo, back at its baseline: LoginOIDC active, nothing configured,
    only the super user ``admin`` (password tests.support.matomo.ADMIN_PASSWORD), no links."""
    matomo_server.reset()
    return matomo_server


# --- a real headless Chromium (tests/support/browser.py) -------------------------------------


@pytest.fixture(scope="module")
def module_browser() -> Iterator[Browser]:
    """One Chromium per test module (starting one costs about a second)."""
    from tests.support.browser import browser_missing_reason, running_browser

    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    with running_browser() as browser:
        yield browser


@pytest.fixture
def browser(module_browser: Browser) -> Iterator[Browser]:
    """The module's Chromium with every cookie forgotten (no Matomo or provider session), left
    on a blank page afterwards: no page of this test calls Matomo while the next one resets it."""
    module_browser.reset()
    yield module_browser
    module_browser.reset()


# --- the real plugins' PHP, unpacked from the Matomo peer (tests/support/rebeloidc.py) --------


@pytest.fixture(scope="session")
def plugin_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Matomo's core/ and the LoginOIDC and RebelOIDC plugins of ../shared/peers/matomo (no
    install): the folder holding core/ and plugins/."""
    from tests.support.rebeloidc import plugin_sources

    return plugin_sources(tmp_path_factory.mktemp("plugin-sources"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test on the real Matomo shows the end of its php -S log (requests, PHP errors):
    an error page in the browser is often explained there."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and report.when in ("setup", "call"):
        server = getattr(item, "funcargs", {}).get("matomo_server")
        if server is not None:
            report.sections.append(("real Matomo: end of the php -S log", server.server_log()))
