"""``gen keycloak``: the ClientRepresentation matches the Matomo side and Keycloak's rules.

Keycloak cannot run here; the rules asserted are those of ``ClientRepresentation`` in
keycloak/keycloak (field types; ``attributes`` is a Map<String, String>) and of the client-secret
authenticator, written as our own assertions.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from oidcsetup.findings import Level
from oidcsetup.integration import build_integration
from oidcsetup.providers.keycloak import build_client, realm_of_issuer, validate_client
from tests.cli import run

URL = "https://matomo.example.com"
ISSUER = "https://sso.example.com/realms/myrealm"

# ClientRepresentation: field -> Java type, as our own reading of the class.
FIELD_TYPES: dict[str, type] = {
    "clientId": str,
    "name": str,
    "enabled": bool,
    "protocol": str,
    "publicClient": bool,
    "clientAuthenticatorType": str,
    "secret": str,
    "redirectUris": list,
    "standardFlowEnabled": bool,
    "implicitFlowEnabled": bool,
    "directAccessGrantsEnabled": bool,
    "serviceAccountsEnabled": bool,
    "attributes": dict,
    "optionalClientScopes": list,
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OIDCSETUP_CLIENT_SECRET", "OIDCSETUP_PROFILE", "OIDCSETUP_MATOMO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_client_representation(rep: dict[str, object]) -> None:
    assert set(rep) <= set(FIELD_TYPES), set(rep) - set(FIELD_TYPES)
    for key, value in rep.items():
        assert isinstance(value, FIELD_TYPES[key]), (key, value)
    for item in rep["redirectUris"]:  # type: ignore[attr-defined]
        assert isinstance(item, str)
    attributes = rep["attributes"]
    assert isinstance(attributes, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())


def matomo_redirect_uris() -> list[str]:
    result = run(["--json", "gen", "redirect-uris", "--matomo-url", URL])
    assert result.exit_code == 0
    return json.loads(result.stdout)["redirect_uris"]  # type: ignore[no-any-return]


def test_client_matches_the_matomo_side_and_keycloak_types(workdir: Path) -> None:
    result = run(
        [
            "--json",
            "gen",
            "keycloak",
            "--matomo-url",
            URL,
            "--issuer",
            ISSUER,
            "--scopes",
            "openid email profile groups",
            "--output",
            "client.json",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": "s3cret-value-for-keycloak"},
    )
    assert result.exit_code == 0, result.stderr
    assert "s3cret-value-for-keycloak" not in result.stdout + result.stderr
    document = json.loads(result.stdout)
    written = workdir / "client.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    rep = json.loads(written.read_text())
    assert_client_representation(rep)
    assert rep["secret"] == "s3cret-value-for-keycloak"
    assert rep["clientId"] == "matomo"
    assert rep["redirectUris"] == matomo_redirect_uris()
    assert rep["protocol"] == "openid-connect"
    assert rep["publicClient"] is False
    assert rep["clientAuthenticatorType"] == "client-secret"
    assert (rep["standardFlowEnabled"], rep["implicitFlowEnabled"]) == (True, False)
    assert rep["directAccessGrantsEnabled"] is False
    assert rep["serviceAccountsEnabled"] is False
    # unset = PKCE not required, userinfo as plain JSON; the realm's default scopes are kept
    assert "pkce.code.challenge.method" not in rep["attributes"]
    assert "user.info.response.signature.alg" not in rep["attributes"]
    assert "defaultClientScopes" not in rep
    assert rep["optionalClientScopes"] == ["groups"]
    assert rep["attributes"]["post.logout.redirect.uris"] == URL + "/"
    assert document["realm"] == "myrealm"
    assert document["issuer"] == ISSUER
    assert "secret" not in document["client"]
    assert any(
        "kcadm.sh create clients -r myrealm -f client.json" in c for c in document["commands"]
    )
    assert any(f["code"] == "keycloak-optional-scope" for f in document["findings"])


def test_stdout_json_leaves_the_secret_out_unless_asked(workdir: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": "another-plain-secret"}
    plain = run(["gen", "keycloak", "--matomo-url", URL], env=env)
    assert plain.exit_code == 0, plain.stderr
    rep = json.loads(plain.stdout)
    assert "secret" not in rep
    assert "another-plain-secret" not in plain.stdout + plain.stderr
    assert "REALM" in plain.stderr  # the realm is not known: placeholders, and a warning
    shown = run(["gen", "keycloak", "--matomo-url", URL, "--show-secrets"], env=env)
    assert json.loads(shown.stdout)["secret"] == "another-plain-secret"


def test_a_generated_secret_is_kept_0600_and_reused(workdir: Path) -> None:
    first = run(["gen", "keycloak", "--matomo-url", URL, "--output", "a.json"])
    assert first.exit_code == 0, first.stderr
    secret = (workdir / "matomo.secret").read_text().strip()
    assert stat.S_IMODE((workdir / "matomo.secret").stat().st_mode) == 0o600
    assert secret not in first.stdout + first.stderr
    assert json.loads((workdir / "a.json").read_text())["secret"] == secret
    run(["gen", "keycloak", "--matomo-url", URL, "--output", "b.json"])
    assert json.loads((workdir / "b.json").read_text())["secret"] == secret


def test_post_logout_uris_are_joined_with_double_hash() -> None:
    integration = build_integration({"app.matomo.url": URL})
    client = build_client(integration, ["https://m/cb"], ["https://m/a", "https://m/b"], None)
    assert client.representation["attributes"]["post.logout.redirect.uris"] == (
        "https://m/a##https://m/b"
    )
    assert "secret" not in client.representation  # None: Keycloak generates one


@pytest.mark.parametrize(
    ("uri", "code", "level"),
    [
        ("https://m/cb#frag", "keycloak-uri-fragment", Level.ERROR),
        ("javascript:alert(1)", "keycloak-uri-scheme", Level.ERROR),
        ("https://m/cb*", "keycloak-redirect-wildcard", Level.WARNING),
    ],
)
def test_validation_refuses_what_keycloak_would(uri: str, code: str, level: Level) -> None:
    client = build_client(build_integration({}), [uri], [], None)
    findings = validate_client(client)
    assert [(f.code, f.level) for f in findings] == [(code, level)]


def test_a_post_logout_uri_holding_the_separator_is_refused() -> None:
    # '##' joins several URIs in Keycloak's attribute; it can only appear as a fragment
    client = build_client(build_integration({}), ["https://m/cb"], ["https://m/a##b"], None)
    assert [f.code for f in validate_client(client)] == ["keycloak-uri-fragment"]


def test_findings_at_error_level_exit_3_and_write_nothing(workdir: Path) -> None:
    result = run(
        [
            "gen",
            "keycloak",
            "--matomo-url",
            URL,
            "--output",
            "c.json",
            "--client-id",
            " ",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": "x-secret-value"},
    )
    assert result.exit_code == 3
    assert "keycloak-client-id" in result.stderr
    assert not (workdir / "c.json").exists()


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        (ISSUER, ("https://sso.example.com", "myrealm")),
        ("https://sso.example.com/auth/realms/r1/", ("https://sso.example.com/auth", "r1")),
        ("https://sso.example.com/", None),
        (None, None),
    ],
)
def test_realm_of_issuer(issuer: str | None, expected: tuple[str, str] | None) -> None:
    assert realm_of_issuer(issuer) == expected
