"""The validator: rules, named issuer diagnoses, and "findings, never an exception" for any JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oidcsetup.discovery.fetch import candidate_urls, issuer_from_document_url
from oidcsetup.discovery.jwks import summarize_jwks
from oidcsetup.discovery.metadata import FIELD_KINDS, ProviderMetadata
from oidcsetup.discovery.validate import diagnose_issuer, validate_document
from oidcsetup.findings import Finding, Level
from tests.support.docserver import rsa_jwks

ISSUER = "https://auth.example.com"


def good(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
        "userinfo_endpoint": ISSUER + "/userinfo",
        "end_session_endpoint": ISSUER + "/logout",
        "jwks_uri": ISSUER + "/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email"],
    }
    for key, value in changes.items():
        if value is ...:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def codes(findings: list[Finding], level: Level | None = None) -> list[str]:
    return [f.code for f in findings if level is None or f.level is level]


def test_a_good_document_has_no_findings() -> None:
    assert validate_document(good(), expected_issuer=ISSUER) == []


@pytest.mark.parametrize(
    "document, code",
    [
        ([], "document-not-object"),
        ("text", "document-not-object"),
        (good(jwks_uri=...), "missing-required-field"),
        (good(subject_types_supported=[]), "empty-required-field"),
        (good(scopes_supported="openid email"), "invalid-field-type"),
        (good(claims_parameter_supported="yes"), "invalid-field-type"),
        (good(token_endpoint=["x"]), "invalid-field-type"),
        (good(token_endpoint="/token"), "endpoint-not-absolute"),
        (good(userinfo_endpoint=ISSUER + "/userinfo#frag"), "endpoint-has-fragment"),
        (good(token_endpoint="http://auth.example.com/token"), "http-on-public-host"),
        (good(response_types_supported=["id_token"]), "code-flow-unsupported"),
        (good(userinfo_endpoint=...), "userinfo-endpoint-missing"),
        (good(require_pushed_authorization_requests=True), "par-required"),
        (good(token_endpoint_auth_signing_alg_values_supported=["none"]), "invalid-field-value"),
        (good(issuer=ISSUER + "?x=1"), "issuer-has-query"),
    ],
)
def test_errors(document: Any, code: str) -> None:
    findings = validate_document(document, expected_issuer=None)
    assert code in codes(findings, Level.ERROR)


@pytest.mark.parametrize(
    "document, code",
    [
        (
            good(token_endpoint_auth_methods_supported=["client_secret_basic"]),
            "client-secret-post-not-advertised",
        ),
        (good(id_token_signing_alg_values_supported=["ES256"]), "rs256-not-supported"),
        (
            good(id_token_signing_alg_values_supported=["RS256", "none"]),
            "unsigned-id-token-allowed",
        ),
        (good(scopes_supported=["email"]), "openid-scope-missing"),
        (good(code_challenge_methods_supported=["plain"]), "pkce-s256-missing"),
        (good(registration_endpoint=None), "null-field"),
        (good(op_tos_uri="http://auth.example.com/tos"), "page-not-https"),
    ],
)
def test_warnings(document: Any, code: str) -> None:
    findings = validate_document(document, expected_issuer=ISSUER)
    assert code in codes(findings, Level.WARNING)
    assert codes(findings, Level.ERROR) == []


def test_loopback_http_is_allowed() -> None:
    base = "http://127.0.0.1:9000"
    document = json.loads(json.dumps(good()).replace(ISSUER, base))
    assert validate_document(document, expected_issuer=base) == []
    localhost = json.loads(json.dumps(good()).replace(ISSUER, "http://localhost:9000"))
    assert validate_document(localhost, expected_issuer="http://localhost:9000") == []


def test_http_issuer_on_public_host() -> None:
    document = json.loads(json.dumps(good()).replace(ISSUER, "http://auth.example.com"))
    findings = validate_document(document, expected_issuer="http://auth.example.com")
    assert codes(findings, Level.ERROR).count("http-on-public-host") == 6  # issuer + 5 endpoints


def test_oauth_metadata_lacks_oidc_fields_as_warnings() -> None:
    document = good(subject_types_supported=..., id_token_signing_alg_values_supported=...)
    findings = validate_document(document, expected_issuer=ISSUER, oauth_metadata=True)
    assert codes(findings, Level.ERROR) == []
    assert codes(findings, Level.WARNING).count("missing-required-field") == 2


@pytest.mark.parametrize(
    "expected, actual, code",
    [
        (ISSUER, ISSUER + "/", "issuer-trailing-slash"),
        (ISSUER + "/", ISSUER, "issuer-trailing-slash"),
        (
            "https://login.microsoftonline.com/common/v2.0",
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "issuer-tenant-template",
        ),
        ("https://Auth.Example.com:443", ISSUER, "issuer-not-identical"),
        (
            "https://kc.example.com/auth/realms/main",
            "https://kc.example.com/realms/main",
            "issuer-keycloak-auth-path",
        ),
        (
            "https://kc.example.com/realms/main",
            "https://kc.example.com/auth/realms/main",
            "issuer-keycloak-auth-path",
        ),
        ("https://kc.example.com", "https://kc.example.com/realms/main", "issuer-keycloak-realm"),
        (
            "https://ak.example.com",
            "https://ak.example.com/application/o/matomo/",
            "issuer-authentik-application",
        ),
        (
            "https://ak.example.com/application/o/other/",
            "https://ak.example.com/application/o/matomo/",
            "issuer-authentik-application",
        ),
        (
            "https://idm.example.com",
            "https://idm.example.com/oauth2/openid/matomo",
            "issuer-kanidm-client",
        ),
        (ISSUER, "http://auth.example.com", "issuer-scheme-mismatch"),
        (ISSUER, "https://login.example.com", "issuer-host-mismatch"),
        (ISSUER, ISSUER + "/oidc", "issuer-path-mismatch"),
        (ISSUER, "not a url", "issuer-host-mismatch"),
    ],
)
def test_issuer_diagnoses(expected: str, actual: str, code: str) -> None:
    finding = diagnose_issuer(expected, actual)
    assert finding.code == code
    assert finding.level is Level.ERROR
    assert finding.hint
    # The same diagnosis comes out of the full validation.
    assert code in codes(validate_document(good(issuer=actual), expected_issuer=expected))


def test_candidate_urls() -> None:
    assert candidate_urls("https://a.example") == [
        "https://a.example/.well-known/openid-configuration",
        "https://a.example/.well-known/oauth-authorization-server",
    ]
    assert candidate_urls("https://a.example/application/o/m/") == [
        "https://a.example/application/o/m/.well-known/openid-configuration",
        "https://a.example/.well-known/oauth-authorization-server/application/o/m",
        "https://a.example/.well-known/openid-configuration/application/o/m",
    ]
    for url in candidate_urls("https://a.example/tenant/x"):
        assert issuer_from_document_url(url) == "https://a.example/tenant/x"
    assert issuer_from_document_url("https://a.example/meta.json") is None


def test_metadata_keeps_only_well_typed_values() -> None:
    metadata = ProviderMetadata.from_document(good(scopes_supported="openid", token_endpoint=3))
    assert metadata.scopes_supported == ()
    assert metadata.token_endpoint is None
    assert metadata.authorization_endpoint == ISSUER + "/authorize"
    assert metadata.to_endpoints().source == "discovered"


def test_jwks_rules() -> None:
    summary, findings = summarize_jwks("u", rsa_jwks(alg="RS256"), ["RS256"])
    assert summary is not None and summary.usable_algs == ("RS256",) and findings == []
    _, findings = summarize_jwks("u", rsa_jwks(alg="RS256"), ["ES256"])
    assert codes(findings) == ["jwks-no-usable-key"]
    _, findings = summarize_jwks("u", {"keys": []}, ["RS256"])
    assert codes(findings) == ["jwks-no-usable-key"]
    _, findings = summarize_jwks("u", {"keys": []}, ["HS256"])  # HMAC needs no public key
    assert findings == []
    _, findings = summarize_jwks("u", {"nokeys": 1}, ["RS256"])
    assert codes(findings) == ["jwks-invalid"]
    broken = {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB", "alg": "RS256"}]}
    _, findings = summarize_jwks("u", broken, ["RS256"])
    assert codes(findings) == ["jwks-key-invalid", "jwks-no-usable-key"]
    encryption = rsa_jwks()
    encryption["keys"][0]["use"] = "enc"
    _, findings = summarize_jwks("u", encryption, ["RS256"])
    assert codes(findings) == ["jwks-no-usable-key"]
    _, findings = summarize_jwks("u", {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, ["RS256"])
    assert codes(findings) == ["jwks-symmetric-key", "jwks-no-usable-key"]


# --- never an exception ---------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["https://a.example/x", "http://[::1", "http://h:99999", "//x", "#", ""])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
known_keys = st.sampled_from(sorted(FIELD_KINDS))
documents = st.dictionaries(known_keys, json_values, max_size=12) | json_values


@settings(max_examples=60, deadline=None)
@given(document=documents, expected=st.none() | st.text(max_size=30) | st.just(ISSUER))
def test_validator_never_raises(document: Any, expected: str | None) -> None:
    findings = validate_document(document, expected_issuer=expected)
    assert isinstance(findings, list)
    assert all(isinstance(f, Finding) for f in findings)
    assert "validator-crashed" not in codes(findings)
    ProviderMetadata.from_document(document).to_endpoints()


@settings(max_examples=30, deadline=None)
@given(document=json_values, algs=st.lists(st.sampled_from(["RS256", "ES256", "HS256", "none"])))
def test_jwks_summary_never_raises(document: Any, algs: list[str]) -> None:
    summarize_jwks("u", document, algs)
    summarize_jwks("u", {"keys": [document]}, algs)


def test_every_finding_code_is_documented() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text() for p in (root / "oidcsetup" / "discovery").glob("*.py"))
    emitted = set(re.findall(r'Level\.[A-Z]+,\s*"([a-z0-9-]+)"', source))
    emitted |= set(re.findall(r'Fetch(?:Unreachable|Invalid)\(\s*"([a-z0-9-]+)"', source))
    emitted.discard("not-found")  # internal: reported as no-discovery-document
    documented = set(
        re.findall(r"^\| `([a-z0-9-]+)` \|", (root / "docs" / "discover.md").read_text(), re.M)
    )
    assert len(emitted) > 40
    assert emitted - documented == set()
