"""``gen glewlwyd``: the client JSON is taken by a real Glewlwyd 2.7.5's admin API
(tests/support/glewlwyd.py), and the real token endpoint then accepts the secret Login OIDC
posts in the form body."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli import run
from tests.support.realpeer import MATOMO, RealProvider

CLIENT = "matomo-generated"
SECRET = "generated-for-glewlwyd-secret"


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def gen(*extra: str) -> object:
    return run(
        ["gen", "glewlwyd", "--matomo-url", MATOMO, "--client-id", CLIENT, *extra],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )


def test_stdout_masks_the_secret() -> None:
    result = gen()
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    client = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert client["password"] == client["client_secret"] == "********"
    assert client["token_endpoint_auth_method"] == ["client_secret_post"]
    assert SECRET not in result.stdout + result.stderr  # type: ignore[attr-defined]


def test_the_real_glewlwyd_takes_the_client_and_accepts_its_secret(
    glewlwyd: RealProvider, tmp_path: Path
) -> None:
    import httpx

    result = gen("--output", "client.json", "--scopes", "openid email")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    written = tmp_path / "client.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    base = glewlwyd.issuer.split("/api/")[0]
    with httpx.Client(base_url=base + "/api", timeout=10.0, trust_env=False) as api:
        assert api.post("/auth/", json={"username": "admin", "password": "password"}).is_success
        created = api.post("/client/", json=json.loads(written.read_text()))
        assert created.is_success, created.text
    # Login OIDC's token request (secret in the form body) with a made-up code: the real
    # Glewlwyd answers invalid_code once the credentials are good, unauthorized_client when not
    # (../shared/reference/real-providers.md), so the client it stored takes our secret.
    token = base + "/api/oidc/token"

    def error_for(secret: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": "made-up",
            "redirect_uri": json.loads(written.read_text())["redirect_uri"][0],
            "client_id": CLIENT,
            "client_secret": secret,
        }
        answer = httpx.post(token, data=form, timeout=10.0, trust_env=False)
        return str(answer.json().get("error"))

    assert error_for(SECRET) == "invalid_code"
    assert error_for("not-the-secret") == "unauthorized_client"
