"""Realistic discovery documents (tests/fixtures/discovery) served locally: endpoints, diagnoses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from oidcsetup.discovery import discover
from oidcsetup.http import NetworkOptions
from tests.support.docserver import DocServer, doc_server, ec_jwks, rsa_jwks, run_cli

FAST = NetworkOptions(retries=0, deadline=5.0)


@pytest.fixture
def server() -> Iterator[DocServer]:
    with doc_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def codes(result_json: dict) -> set[str]:
    return {f["code"] for f in result_json["findings"]}


def serve(server: DocServer, fixture: str, prefix: str = "") -> dict:
    document = server.fixture(fixture)
    server.json(prefix + "/.well-known/openid-configuration", document)
    return document


def test_authelia_root_issuer(server: DocServer) -> None:
    serve(server, "authelia.json")
    server.json("/jwks.json", rsa_jwks())
    result = run_cli("--json", "discover", server.base)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is True
    assert out["provider"] == "authelia"
    assert out["matomo"] == {
        "authorizeUrl": server.base + "/api/oidc/authorization",
        "tokenUrl": server.base + "/api/oidc/token",
        "userinfoUrl": server.base + "/api/oidc/userinfo",
        "endSessionUrl": None,
    }
    assert "client_secret_post" in out["endpoints"]["token_endpoint_auth_methods_supported"]
    assert out["endpoints"]["code_challenge_methods_supported"] == ["S256", "plain"]
    # Authelia advertises "none" for ID tokens and has no end-session endpoint: named, not fatal.
    assert {"unsigned-id-token-allowed", "no-end-session-endpoint", "provider-detected"} <= codes(
        out
    )
    assert out["jwks"]["usable_algs"] == ["RS256"]


def test_unikname_cas_under_oidc(server: DocServer) -> None:
    serve(server, "unikname.json", "/oidc")
    server.json("/oidc/jwks", rsa_jwks(alg=None))
    result = run_cli("--json", "discover", server.base + "/oidc")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["document_url"] == server.base + "/oidc/.well-known/openid-configuration"
    assert out["matomo"] == {
        "authorizeUrl": server.base + "/oidc/authorize",
        "tokenUrl": server.base + "/oidc/accessToken",
        "userinfoUrl": server.base + "/oidc/profile",
        "endSessionUrl": server.base + "/oidc/oidcLogout",
    }
    assert out["provider"] == "unikname"
    # A key without "alg" is matched by its type: RSA verifies RS256.
    assert out["jwks"]["usable_algs"] == ["RS256"]


def test_unikname_preset_matches_the_served_layout(server: DocServer) -> None:
    """The preset derives exactly what a CAS/Unikname discovery document advertises."""
    document = serve(server, "unikname.json", "/oidc")
    result = run_cli("--json", "discover", server.base + "/oidc", "--preset", "unikname")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert out["endpoints"][key] == document[key]
    assert out["endpoints"]["end_session_endpoint"] == document["end_session_endpoint"]
    assert out["source"] == "preset:unikname" and out["discovered"] is False
    assert "not-discovered" in codes(out)
    assert server.hits == {}  # a preset never touches the network


def test_keycloak_realm(server: DocServer) -> None:
    serve(server, "keycloak.json", "/realms/matomo")
    server.json("/realms/matomo/protocol/openid-connect/certs", ec_jwks())
    result = run_cli("--json", "discover", server.base + "/realms/matomo")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["matomo"]["tokenUrl"] == server.base + "/realms/matomo/protocol/openid-connect/token"
    assert out["matomo"]["endSessionUrl"].endswith("/protocol/openid-connect/logout")
    assert out["provider"] == "keycloak"
    assert out["jwks"]["usable_algs"] == ["ES256"]


def test_keycloak_without_auth_prefix_is_diagnosed(server: DocServer) -> None:
    """A proxy serves the realm under /auth, but Keycloak 17+ names its issuer without it."""
    serve(server, "keycloak.json", "/auth/realms/matomo")
    result = run_cli("discover", server.base + "/auth/realms/matomo", "--no-jwks")
    assert result.exit_code == 3
    assert "issuer-keycloak-auth-path" in result.stderr
    assert f"Keycloak realm 'matomo' is served at '{server.base}/realms/matomo'" in result.stderr
    assert "Keycloak 17+" in result.stderr


def test_authentik_per_application_issuer(server: DocServer) -> None:
    serve(server, "authentik.json", "/application/o/matomo")
    server.json("/application/o/matomo/jwks/", rsa_jwks())
    issuer = server.base + "/application/o/matomo/"
    result = run_cli("--json", "discover", issuer)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    # One trailing slash removed before appending the well-known suffix.
    assert (
        out["document_url"]
        == server.base + "/application/o/matomo/.well-known/openid-configuration"
    )
    assert out["matomo"]["authorizeUrl"] == server.base + "/application/o/authorize/"
    assert out["matomo"]["endSessionUrl"] == server.base + "/application/o/matomo/end-session/"
    assert out["provider"] == "authentik"


def test_authentik_issuer_without_trailing_slash(server: DocServer) -> None:
    serve(server, "authentik.json", "/application/o/matomo")
    result = run_cli("discover", server.base + "/application/o/matomo", "--no-jwks")
    assert result.exit_code == 3
    assert "issuer-trailing-slash" in result.stderr
    assert "authentik's issuers end with a slash" in result.stderr


def test_google_shape(server: DocServer) -> None:
    serve(server, "google.json")
    server.json("/oauth2/v3/certs", rsa_jwks())
    result = run_cli("--json", "discover", server.base)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["matomo"]["userinfoUrl"] == server.base + "/v1/userinfo"
    assert "no-end-session-endpoint" in codes(out)
    assert out["provider"] is None


def test_azure_tenant_template_issuer(server: DocServer) -> None:
    serve(server, "azure-common.json", "/common/v2.0")
    server.json("/common/discovery/v2.0/keys", rsa_jwks())
    result = run_cli("--json", "discover", server.base + "/common/v2.0")
    assert result.exit_code == 3
    out = json.loads(result.stdout)
    assert "issuer-tenant-template" in codes(out)
    assert "null-field" not in codes(out)  # "tenant_region_scope": null is no known field
    assert "login.microsoftonline.com/<tenant-id>/v2.0" in result.stderr


def test_matomo_relevant_capabilities_in_text_output(server: DocServer) -> None:
    serve(server, "keycloak.json", "/realms/matomo")
    result = run_cli("discover", server.base + "/realms/matomo", "--no-jwks")
    assert result.exit_code == 0
    text = result.stdout
    assert "Authorize URL (authorizeUrl)" in text
    assert "client_secret_post" in text
    assert "PKCE methods" in text and "S256" in text
    assert "openid" in text


def test_library_discover_returns_typed_metadata(server: DocServer) -> None:
    serve(server, "google.json")
    server.json("/oauth2/v3/certs", rsa_jwks())
    result = discover(server.base, FAST)
    assert result.ok
    assert result.metadata is not None
    assert result.metadata.id_token_signing_alg_values_supported == ("RS256",)
    endpoints = result.metadata.to_endpoints()
    assert endpoints.source == "discovered" and endpoints.has_endpoints


def test_rfc8414_path_inserted_location(server: DocServer) -> None:
    """A provider that only serves the RFC 8414 path-inserted OpenID location."""
    document = server.fixture("unikname.json")
    server.json("/.well-known/openid-configuration/oidc", document)
    result = discover(server.base + "/oidc", FAST, check_keys=False)
    assert result.document_url == server.base + "/.well-known/openid-configuration/oidc"
    assert result.tried_urls == (
        server.base + "/oidc/.well-known/openid-configuration",
        server.base + "/.well-known/oauth-authorization-server/oidc",
        server.base + "/.well-known/openid-configuration/oidc",
    )
    assert result.ok


def test_url_option_reads_a_given_document(server: DocServer) -> None:
    document = server.fixture("google.json")
    server.json("/custom/metadata.json", document)
    result = run_cli(
        "--json",
        "discover",
        server.base,
        "--url",
        server.base + "/custom/metadata.json",
        "--no-jwks",
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tried_urls"] == [server.base + "/custom/metadata.json"]
    # Without ISSUER a non-well-known URL leaves the issuer unchecked, and says so.
    result = run_cli(
        "--json", "discover", "--url", server.base + "/custom/metadata.json", "--no-jwks"
    )
    assert result.exit_code == 0
    assert "issuer-not-checked" in codes(json.loads(result.stdout))
