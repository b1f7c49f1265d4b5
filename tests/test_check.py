"""``oidcsetup check`` against the REAL oidc-provider: all pass, then one fault at a time."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.provider import CALLBACK, RunningProvider, matomo_client

pytestmark = pytest.mark.provider

MATOMO = "http://127.0.0.1:8080"
REDIRECT = MATOMO + CALLBACK
SECRET = "matomo-test-secret"


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml: flags and environment only


def check(provider: RunningProvider, *extra: str, secret: str = SECRET) -> Result:
    args = ["--json", "check", "--issuer", provider.issuer, "--matomo-url", MATOMO, *extra]
    return run(args, env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None})


def probes(result: Result) -> dict[str, dict[str, Any]]:
    document = json.loads(result.stdout)
    return {p["name"]: p for p in document["probes"]}


def failures(result: Result) -> dict[str, str]:
    return {name: p["code"] for name, p in probes(result).items() if p["status"] == "fail"}


@pytest.fixture(scope="module")
def fault_provider(provider_factory: Any) -> RunningProvider:
    """A second provider: the Matomo client, plus a client restricted to scope "openid"."""
    return provider_factory(  # type: ignore[no-any-return]
        [matomo_client(), matomo_client(client_id="narrow", scope="openid")]
    )


def test_correct_client_all_pass(oidc_provider: RunningProvider) -> None:
    result = check(oidc_provider, "--login")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["exit_code"] == 0
    found = probes(result)
    for name in (
        "discovery",
        "redirect-uri",
        "client-auth",
        "scopes",
        "userinfo",
        "userinfo-claims",
    ):
        assert found[name]["status"] == "pass", found[name]
    assert found["client-auth"]["code"] == "client-auth-ok"
    assert found["userinfo-claims"]["code"] == "userinfo-claims-ok"
    assert document["login"]["matomo_user"] == "alice"
    assert SECRET not in result.stdout + result.stderr


def test_human_output_lists_probes(oidc_provider: RunningProvider) -> None:
    result = run(
        ["check", "--issuer", oidc_provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0
    assert "client-auth-ok" in result.stdout
    assert "redirect-uri-accepted" in result.stdout
    assert "passed, 0 failed" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_wrong_secret(oidc_provider: RunningProvider) -> None:
    result = check(oidc_provider, secret="not-the-secret")
    assert result.exit_code == 3
    assert failures(result) == {"client-auth": "client-secret-wrong"}
    assert "not-the-secret" not in result.stdout + result.stderr


def test_unregistered_redirect_uri(oidc_provider: RunningProvider) -> None:
    result = check(oidc_provider, "--redirect-uri-override", "http://127.0.0.1:9/elsewhere")
    assert result.exit_code == 3
    assert failures(result)["redirect-uri"] == "redirect-uri-unregistered"
    assert probes(result)["redirect-uri"]["details"]["error"] == "invalid_redirect_uri"


def test_unknown_client(oidc_provider: RunningProvider) -> None:
    result = check(oidc_provider, "--client-id", "nobody")
    assert result.exit_code == 3
    found = failures(result)
    assert found["redirect-uri"] == "client-unknown"
    assert found["client-auth"] == "client-secret-wrong"


def test_scope_not_in_scopes_supported(oidc_provider: RunningProvider) -> None:
    # oidc-provider silently drops unknown scopes at the authorization endpoint, so only the
    # comparison with scopes_supported catches this one.
    result = check(oidc_provider, "--scopes", "openid email groups")
    assert result.exit_code == 3
    assert failures(result) == {"scopes": "scope-unsupported"}
    assert probes(result)["scopes"]["details"]["unsupported"] == ["groups"]


def test_scope_not_allowed_for_client(fault_provider: RunningProvider) -> None:
    result = check(fault_provider, "--client-id", "narrow")
    assert result.exit_code == 3
    assert failures(result) == {"redirect-uri": "scope-invalid"}
    assert probes(result)["redirect-uri"]["details"]["error"] == "invalid_scope"


def test_provider_without_email_scope(provider_factory: Any) -> None:
    # oidc-provider adds every scope named in ``claims`` to scopes_supported: drop both.
    provider = provider_factory(
        [matomo_client()],
        scopes=["openid", "profile"],
        claims={"openid": ["sub"], "profile": ["name", "preferred_username"]},
    )
    result = check(provider)
    assert result.exit_code == 3
    assert failures(result) == {"scopes": "scope-unsupported"}


def test_wrong_auth_method_registered(provider_factory: Any) -> None:
    # Like a provider whose client is configured for client_secret_basic: a posted secret is
    # refused with invalid_client, Basic goes through (reference/test-infra.md).
    provider = provider_factory(
        [matomo_client(token_endpoint_auth_method="client_secret_basic")],
        clientAuthMethods=["client_secret_basic", "none"],
    )
    result = check(provider)
    assert result.exit_code == 3
    assert failures(result) == {"client-auth": "client-auth-method"}
    probe = probes(result)["client-auth"]
    assert "client_secret_post" in probe["message"]
    assert "client_secret_post" in probe["hint"]


def test_provider_down_exits_4() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    result = run(
        ["--json", "check", "--issuer", issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert document["exit_code"] == 4
    discovery = probes(result)["discovery"]
    assert discovery["status"] == "fail" and discovery["unreachable"] is True
    assert probes(result)["client-auth"]["status"] == "skip"


def test_stopped_provider_exits_4(provider_factory: Any) -> None:
    provider = provider_factory([matomo_client()])
    provider.stop()
    assert check(provider).exit_code == 4


def test_no_secret_skips_client_auth(oidc_provider: RunningProvider) -> None:
    result = run(
        ["--json", "check", "--issuer", oidc_provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": None, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0
    assert probes(result)["client-auth"]["code"] == "no-secret"


def test_userinfo_id_claim_missing(oidc_provider: RunningProvider) -> None:
    # Login OIDC's default userinfoId is "id": not an OIDC claim.
    result = check(oidc_provider, "--login", "--userinfo-id", "id")
    assert result.exit_code == 3
    assert failures(result) == {"userinfo-claims": "userinfo-claim-missing"}


# --- Matomo side ----------------------------------------------------------------------------


def matomo_config(tmp_path: Path, provider: RunningProvider, **overrides: str) -> Path:
    values = {
        "authorizeUrl": provider.issuer + "/auth",
        "tokenUrl": provider.issuer + "/token",
        "userinfoUrl": provider.issuer + "/me",
        "userinfoId": "sub",
        "clientId": "matomo",
        "clientSecret": SECRET,
        "scope": "openid email",
        "allowSignup": "0",
        **overrides,
    }
    lines = ["; <?php exit; ?> DO NOT REMOVE THIS LINE", "[General]", "", "[LoginOIDC]"]
    for key, value in values.items():
        lines.append(f'{key} = "{value}"' if not value.isdigit() else f"{key} = {value}")
    path = tmp_path / "config.ini.php"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_matomo_config_consistent(oidc_provider: RunningProvider, tmp_path: Path) -> None:
    config = matomo_config(tmp_path, oidc_provider)
    result = check(oidc_provider, "--config", str(config))
    assert result.exit_code == 0, result.stdout
    found = probes(result)
    assert found["endpoints"]["code"] == "endpoints-match"
    assert found["matomo-settings"]["code"] == "matomo-settings-complete"
    assert found["matomo-redirect-uri"]["code"] == "matomo-redirect-uri-ok"


def test_matomo_config_missing_secret_and_wrong_endpoint(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    config = matomo_config(
        tmp_path, oidc_provider, clientSecret="", tokenUrl=oidc_provider.issuer + "/oauth/token"
    )
    result = check(oidc_provider, "--config", str(config))
    assert result.exit_code == 3
    found = failures(result)
    assert found["endpoints"] == "endpoint-mismatch"
    assert found["matomo-settings"] == "matomo-setting-missing"
    assert probes(result)["matomo-settings"]["details"]["missing"] == ["clientSecret"]


def test_matomo_config_secret_differs_is_probed_as_matomo_sends_it(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    config = matomo_config(tmp_path, oidc_provider, clientSecret="stale-secret")
    result = check(oidc_provider, "--config", str(config))
    assert result.exit_code == 3
    found = failures(result)
    # The token probe uses what Matomo will send, so the stale secret fails at the provider too.
    assert found["client-auth"] == "client-secret-wrong"
    assert found["matomo-settings"] == "matomo-setting-differs"
    assert "stale-secret" not in result.stdout + result.stderr


def test_matomo_redirect_override_not_registered(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    config = matomo_config(
        tmp_path, oidc_provider, redirectUriOverride="https://matomo.example.com/oidc/callback"
    )
    result = check(oidc_provider, "--config", str(config))
    assert result.exit_code == 3
    found = failures(result)
    assert found["matomo-redirect-uri"] == "matomo-redirect-uri-mismatch"
    assert found["redirect-uri"] == "redirect-uri-unregistered"


def test_matomo_default_userinfo_id(oidc_provider: RunningProvider, tmp_path: Path) -> None:
    config = matomo_config(tmp_path, oidc_provider)
    text = config.read_text().replace('userinfoId = "sub"\n', "")
    config.write_text(text)
    result = check(oidc_provider, "--config", str(config), "--login")
    assert result.exit_code == 3
    found = failures(result)
    # Without the key Login OIDC uses its GitHub default "id".
    assert found["matomo-settings"] == "matomo-setting-differs"
    assert found["userinfo-claims"] == "userinfo-claim-missing"


def test_no_provider_is_a_usage_error() -> None:
    result = run(["check"], env={"OIDCSETUP_PROFILE": None, "OIDCSETUP_ISSUER": None})
    assert result.exit_code == 2
    assert "provider is unknown" in result.stderr
