"""Presets and hand-given endpoints: derived, checked, clearly marked as not discovered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oidcsetup.discovery.presets import PRESETS, get_preset, preset_endpoints
from oidcsetup.errors import UsageError
from oidcsetup.profile import load_profile
from tests.support.docserver import run_cli


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "name, issuer, expected",
    [
        (
            "authelia",
            "https://auth.example.com",
            {
                "authorization_endpoint": "https://auth.example.com/api/oidc/authorization",
                "token_endpoint": "https://auth.example.com/api/oidc/token",
                "userinfo_endpoint": "https://auth.example.com/api/oidc/userinfo",
                "end_session_endpoint": None,
                "jwks_uri": "https://auth.example.com/jwks.json",
            },
        ),
        (
            "unikname",
            "https://connect.unikname.com/oidc",
            {
                "authorization_endpoint": "https://connect.unikname.com/oidc/authorize",
                "token_endpoint": "https://connect.unikname.com/oidc/accessToken",
                "userinfo_endpoint": "https://connect.unikname.com/oidc/profile",
                "end_session_endpoint": "https://connect.unikname.com/oidc/oidcLogout",
                "jwks_uri": "https://connect.unikname.com/oidc/jwks",
            },
        ),
        (
            "keycloak",
            "https://kc.example.com/realms/main",
            {
                "authorization_endpoint": "https://kc.example.com/realms/main/protocol/openid-connect/auth",
                "token_endpoint": "https://kc.example.com/realms/main/protocol/openid-connect/token",
                "userinfo_endpoint": "https://kc.example.com/realms/main/protocol/openid-connect/userinfo",
                "end_session_endpoint": "https://kc.example.com/realms/main/protocol/openid-connect/logout",
                "jwks_uri": "https://kc.example.com/realms/main/protocol/openid-connect/certs",
            },
        ),
        (
            "authentik",
            "https://ak.example.com/application/o/matomo/",
            {
                "authorization_endpoint": "https://ak.example.com/application/o/authorize/",
                "token_endpoint": "https://ak.example.com/application/o/token/",
                "userinfo_endpoint": "https://ak.example.com/application/o/userinfo/",
                "end_session_endpoint": "https://ak.example.com/application/o/matomo/end-session/",
                "jwks_uri": "https://ak.example.com/application/o/matomo/jwks/",
            },
        ),
        (
            "generic",
            "https://sso.example.com",
            {
                "authorization_endpoint": "https://sso.example.com/authorize",
                "token_endpoint": "https://sso.example.com/token",
                "userinfo_endpoint": "https://sso.example.com/userinfo",
                "end_session_endpoint": None,
                "jwks_uri": None,
            },
        ),
    ],
)
def test_preset_layouts(name: str, issuer: str, expected: dict[str, str | None]) -> None:
    endpoints, findings = preset_endpoints(name, issuer)
    for key, value in expected.items():
        assert getattr(endpoints, key) == value, key
    assert endpoints.source == f"preset:{name}" and endpoints.preset == name
    assert findings[0].code == "not-discovered"
    assert not any(f.level.value == "error" for f in findings)


def test_preset_issuer_shape_warning() -> None:
    _, findings = preset_endpoints("keycloak", "https://kc.example.com")
    assert "preset-issuer-shape" in [f.code for f in findings]


def test_every_preset_has_a_note_or_layout() -> None:
    assert {"authelia", "unikname", "keycloak", "authentik", "generic"} <= set(PRESETS)
    assert get_preset("CAS").name == "unikname"
    with pytest.raises(UsageError) as caught:
        get_preset("keycloack")
    assert caught.value.hint and "keycloak" in caught.value.hint


def test_cli_preset_is_marked_not_discovered_and_saved(tmp_path: Path) -> None:
    result = run_cli("discover", "https://auth.example.com", "--preset", "authelia", "--save")
    assert result.exit_code == 0, result.stderr
    assert "NOT discovered: preset:authelia" in result.stdout
    assert "not-discovered" in result.stdout
    values = load_profile(tmp_path / "oidcsetup.toml", required=True)
    assert values["provider.preset"] == "authelia"
    assert values["provider.source"] == "preset:authelia"
    assert values["provider.token_endpoint"] == "https://auth.example.com/api/oidc/token"
    assert "provider.end_session_endpoint" not in values


def test_cli_unknown_preset_is_a_usage_error() -> None:
    result = run_cli("discover", "https://auth.example.com", "--preset", "nope")
    assert result.exit_code == 2
    assert "error: unknown preset 'nope'" in result.stderr


def test_cli_manual_endpoints() -> None:
    result = run_cli(
        "--json",
        "discover",
        "https://sso.example.com",
        "--authorization-endpoint",
        "https://sso.example.com/oauth/authorize",
        "--token-endpoint",
        "https://sso.example.com/oauth/token",
        "--userinfo-endpoint",
        "https://sso.example.com/oauth/me",
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["source"] == "manual" and out["discovered"] is False
    assert out["matomo"]["userinfoUrl"] == "https://sso.example.com/oauth/me"
    assert [f["code"] for f in out["findings"]] == ["not-discovered"]


def test_cli_manual_endpoint_on_top_of_a_preset_is_checked() -> None:
    result = run_cli(
        "--json",
        "discover",
        "https://auth.example.com",
        "--preset",
        "authelia",
        "--userinfo-endpoint",
        "http://auth.example.com/userinfo#x",
    )
    assert result.exit_code == 3
    out = json.loads(result.stdout)
    assert out["endpoints"]["token_endpoint"] == "https://auth.example.com/api/oidc/token"
    assert {"endpoint-has-fragment", "http-on-public-host"} <= {
        f["code"] for f in out["findings"] if f["level"] == "error"
    }


def test_cli_partial_manual_endpoints_is_a_usage_error() -> None:
    result = run_cli(
        "discover", "https://sso.example.com", "--token-endpoint", "https://sso.example.com/t"
    )
    assert result.exit_code == 2
    assert "missing --authorization-endpoint, --userinfo-endpoint" in result.stderr


def test_cli_no_issuer() -> None:
    result = run_cli("discover")
    assert result.exit_code == 2
    assert "error: no issuer given" in result.stderr


def test_cli_help_has_examples() -> None:
    result = run_cli("discover", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "--save" in result.stdout
