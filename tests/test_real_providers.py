"""oidcsetup against real OpenID providers nobody on this project wrote (tests/support/*).

LemonLDAP::NG 2.16, Glewlwyd 2.7.5 and django-oidc-provider 0.9, each on loopback (fixtures in
tests/conftest.py). Facts: ../shared/reference/real-providers.md; the behaviours observed here
are tabled in docs/providers.md ("Observed provider behaviours").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.realpeer import MATOMO, RealProvider

PROVIDERS = ("lemonldap", "glewlwyd", "django_op")


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml: flags and environment only


@pytest.fixture(params=PROVIDERS)
def real(request: pytest.FixtureRequest) -> RealProvider:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def cli(*args: str, secret: str | None = None, env: dict[str, str] | None = None) -> Result:
    return run(
        ["--json", *args],
        env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None, **(env or {})},
    )


def document(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_discover_validates_the_real_document(real: RealProvider) -> None:
    result = cli("discover", real.issuer)
    assert result.exit_code == 0, result.stdout + result.stderr
    endpoints = document(result)["endpoints"]
    assert endpoints["token_endpoint"].startswith(real.issuer.rstrip("/").rsplit("/", 1)[0])
    assert MATOMO not in result.stdout
