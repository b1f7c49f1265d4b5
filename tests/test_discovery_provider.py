"""Discovery against the real oidc-provider (node): http, https with a private CA, a path issuer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.discovery import discover, resolve_endpoints
from oidcsetup.errors import FindingsError, UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration, ProviderEndpoints
from oidcsetup.profile import load_profile
from tests.support.docserver import doc_server, run_cli
from tests.support.provider import RunningProvider, matomo_client
from tests.support.schemas import validate

pytestmark = pytest.mark.provider


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    paths = {name: str(folder / f"{name}.pem") for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(paths["ca"])
    cert.cert_chain_pems[0].write_to_path(paths["cert"])
    cert.private_key_pem.write_to_path(paths["key"])
    return paths


@pytest.fixture(scope="module")
def https_provider(provider_factory: Any, tls_ca: dict[str, str]) -> RunningProvider:
    provider: RunningProvider = provider_factory(
        [matomo_client()], https={"cert": tls_ca["cert"], "key": tls_ca["key"]}
    )
    return provider


@pytest.fixture(scope="module")
def path_provider(provider_factory: Any) -> RunningProvider:
    provider: RunningProvider = provider_factory([matomo_client()], issuerPath="/oidc")
    return provider


def validate_schema(document: dict[str, Any]) -> None:
    validate(document, "discover")


def test_discover_over_http(oidc_provider: RunningProvider) -> None:
    result = run_cli("--json", "discover", oidc_provider.issuer)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    validate_schema(out)
    issuer = oidc_provider.issuer
    assert out["ok"] is True and out["discovered"] is True
    assert out["document_url"] == issuer + "/.well-known/openid-configuration"
    assert out["matomo"] == {
        "authorizeUrl": issuer + "/auth",
        "tokenUrl": issuer + "/token",
        "userinfoUrl": issuer + "/me",
        "endSessionUrl": issuer + "/session/end",
    }
    assert out["endpoints"]["code_challenge_methods_supported"] == ["S256"]
    assert "client_secret_post" in out["endpoints"]["token_endpoint_auth_methods_supported"]
    assert out["jwks"]["usable_algs"] == ["RS256"]
    assert out["jwks"]["keys"][0]["kid"] == "test-rs256"
    assert out["summary"]["error"] == 0


def test_discover_over_https_with_ca_bundle(
    https_provider: RunningProvider, tls_ca: dict[str, str]
) -> None:
    assert https_provider.issuer.startswith("https://")
    result = run_cli("--ca-bundle", tls_ca["ca"], "--json", "discover", https_provider.issuer)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["matomo"]["tokenUrl"] == https_provider.issuer + "/token"
    assert out["jwks"]["usable_algs"] == ["RS256"]


def test_https_without_the_ca_fails_cleanly(https_provider: RunningProvider) -> None:
    result = run_cli("discover", https_provider.issuer)
    assert result.exit_code == 4
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: TLS certificate of 127.0.0.1:{https_provider.port} is not trusted: "
        "unable to get local issuer certificate"
    ]
    assert "--ca-bundle" in result.stderr
    assert "Traceback" not in result.stderr


def test_https_insecure_warns_loudly(https_provider: RunningProvider) -> None:
    result = run_cli("--insecure", "--json", "discover", https_provider.issuer)
    assert result.exit_code == 0
    assert "TLS certificates are NOT verified" in result.stderr
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert "tls-not-verified" in codes


def test_path_issuer(path_provider: RunningProvider) -> None:
    assert path_provider.issuer.endswith("/oidc")
    result = discover(path_provider.issuer, NetworkOptions())
    assert result.ok, result.findings
    assert result.endpoints.authorization_endpoint == path_provider.issuer + "/auth"
    # One trailing slash is removed before the well-known suffix, so the same document is
    # found, and the issuer difference is named.
    slashed = discover(path_provider.issuer + "/", NetworkOptions())
    assert slashed.document_url == path_provider.issuer + "/.well-known/openid-configuration"
    assert [f.code for f in slashed.findings if f.level.value == "error"] == [
        "issuer-trailing-slash"
    ]


def test_save_creates_then_updates_the_profile_keeping_comments(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    profile = tmp_path / "oidcsetup.toml"
    result = run_cli("discover", oidc_provider.issuer, "--save")
    assert result.exit_code == 0, result.stderr
    values = load_profile(profile, required=True)
    assert values["provider.token_endpoint"] == oidc_provider.issuer + "/token"
    assert values["provider.source"] == "discovered"
    assert oct(profile.stat().st_mode & 0o777) == "0o600"

    profile.write_text(
        '# my comment stays\n[client]\nid = "stats"  # inline too\n\n'
        '[provider]\nissuer = "' + oidc_provider.issuer + '"\npreset = "authelia"\n'
        'end_session_endpoint = "https://stale.example/logout"\n'
    )
    # ISSUER from the profile this time.
    result = run_cli("discover", "--save")
    assert result.exit_code == 0, result.stderr
    text = profile.read_text()
    assert "# my comment stays" in text and "# inline too" in text
    values = load_profile(profile, required=True)
    assert values["client.id"] == "stats"
    assert values["provider.end_session_endpoint"] == oidc_provider.issuer + "/session/end"
    assert "provider.preset" not in values  # discovered now, not a preset
    assert values["provider.code_challenge_methods_supported"] == ["S256"]


def test_issuer_from_environment(oidc_provider: RunningProvider) -> None:
    result = run_cli("--json", "discover", env={"OIDCSETUP_ISSUER": oidc_provider.issuer})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["issuer"] == oidc_provider.issuer


def test_resolve_endpoints_discovers_when_the_profile_has_none(
    oidc_provider: RunningProvider,
) -> None:
    integration = Integration(provider=ProviderEndpoints(issuer=oidc_provider.issuer))
    resolved = resolve_endpoints(integration, NetworkOptions())
    assert resolved.provider.token_endpoint == oidc_provider.issuer + "/token"
    assert resolved.provider.source == "discovered"
    assert resolved.client == integration.client
    # Endpoints already known are used as they are: no network.
    assert resolve_endpoints(resolved, NetworkOptions(), allow_discovery=False) is resolved


def test_resolve_endpoints_raises_on_findings() -> None:
    with doc_server() as server:
        server.json(
            "/.well-known/openid-configuration",
            {
                "issuer": server.base + "/",
                "authorization_endpoint": server.base + "/a",
                "token_endpoint": server.base + "/t",
                "userinfo_endpoint": server.base + "/u",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["HS256"],
            },
        )
        integration = Integration(provider=ProviderEndpoints(issuer=server.base))
        with pytest.raises(FindingsError) as caught:
            resolve_endpoints(integration, NetworkOptions())
    assert "trailing slash" in caught.value.message
    assert caught.value.exit_code == 3


def test_resolve_endpoints_preset_and_nothing() -> None:
    integration = Integration(
        provider=ProviderEndpoints(
            issuer="https://auth.example.com",
            preset="authelia",
            userinfo_endpoint="https://auth.example.com/custom/userinfo",
        )
    )
    resolved = resolve_endpoints(integration, NetworkOptions())
    assert resolved.provider.token_endpoint == "https://auth.example.com/api/oidc/token"
    assert resolved.provider.userinfo_endpoint == "https://auth.example.com/custom/userinfo"
    assert resolved.provider.source == "preset:authelia"
    with pytest.raises(UsageError):
        resolve_endpoints(Integration(), NetworkOptions())
