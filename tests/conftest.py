"""Shared fixtures: real components (oidc-provider, MariaDB, PHP). Add yours in a section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.provider import (
    RunningProvider,
    matomo_client,
    provider_missing_reason,
    start_provider,
)

SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


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
