"""``oidcsetup register`` (issue 14): RFC 7591/7592 dynamic client registration.

Against the REAL oidc-provider with registration enabled (``registration_config``): register,
a real headless login with the registered client, ``--check``, a change made at the provider
behind our back, ``--delete``. The hostile provider (tests/support/hostile.py) stands only for
what oidc-provider does not do on its own: a registration endpoint redirecting the request, and
a provider granting another authentication method than asked (Keycloak's client policies and
oidc-provider's registration policies can do that).
"""

from __future__ import annotations

import json
import socket
import stat
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from oidcsetup.register import compare
from tests.cli import run
from tests.support.hostile import hostile_provider, json_answer, redirect_to
from tests.support.provider import RunningProvider, registration_config
from tests.support.schemas import validate

MATOMO = "http://127.0.0.1:8080"
TOKEN = "initial-access-token-0123456789"


@pytest.fixture(scope="module")
def reg_provider(provider_factory: Any) -> RunningProvider:
    """oidc-provider with registration on, the registration access token rotated on update."""
    return provider_factory([], **registration_config(TOKEN))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def steady_provider(provider_factory: Any) -> RunningProvider:
    """The same, without rotation: a second party (the provider's admin) can update the client
    with the token we hold, and ours stays valid."""
    return provider_factory([], **registration_config(TOKEN, rotate=False))  # type: ignore[no-any-return]


def _profile(tmp_path: Path, issuer: str) -> Path:
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(f'[provider]\nissuer = "{issuer}"\n\n[app.matomo]\nurl = "{MATOMO}"\n')
    return profile


def _run(profile: Path, *args: str, token: str | None = TOKEN) -> Any:
    env: dict[str, str | None] = {"OIDCSETUP_REGISTRATION_TOKEN": token, "OIDCSETUP_ISSUER": None}
    result = run(["--json", "--profile", str(profile), "register", *args], env=env)
    document = json.loads(result.stdout)  # one document, also on failure
    validate(document, "register")
    assert document["exit_code"] == result.exit_code
    return result


def _stored(profile: Path) -> dict[str, Any]:
    files = profile.parent / "oidcsetup-client.secret.registration.json"
    return json.loads(files.read_text())  # type: ignore[no-any-return]


def _login(profile: Path) -> Any:
    return run(["--json", "--profile", str(profile), "login", "--headless"])


@pytest.mark.provider
def test_register_login_check_delete(reg_provider: RunningProvider, tmp_path: Path) -> None:
    profile = _profile(tmp_path, reg_provider.issuer)
    result = _run(profile)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["action"] == "created"
    assert document["in_sync"] is True
    assert document["warnings"] == []  # Login OIDC reads any access token the userinfo takes
    client_id = document["client_id"]
    granted = document["granted"]
    assert granted["token_endpoint_auth_method"] == "client_secret_post"
    assert granted["redirect_uris"] == [
        MATOMO + "/index.php?module=LoginOIDC&action=callback&provider=oidc"
    ]
    assert "userinfo_signed_response_alg" not in granted
    # Stored safely: 0600 files, the profile references the secret file; nothing printed.
    secret_file = tmp_path / "oidcsetup-client.secret"
    reg_file = tmp_path / "oidcsetup-client.secret.registration.json"
    for path in (secret_file, reg_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    access_token = _stored(profile)["registration_access_token"]
    for value in (secret, access_token, TOKEN):
        assert value not in result.stdout + result.stderr
    values = tomllib.loads(profile.read_text())
    assert values["client"]["id"] == client_id
    assert values["client"]["secret"] == "file:oidcsetup-client.secret"
    assert values["client"]["auth_method"] == "client_secret_post"

    # The provider logs a user in with the registered client, the way Login OIDC does.
    login = _login(profile)
    assert login.exit_code == 0, login.stderr
    assert json.loads(login.stdout)["id_token_claims"]["aud"] == client_id

    check = _run(profile, "--check", token=None)
    assert check.exit_code == 0, check.stderr
    assert json.loads(check.stdout)["in_sync"] is True

    shown = _run(profile, "--check", "--show-secrets", token=None)
    assert json.loads(shown.stdout)["client_secret"] == secret

    deleted = _run(profile, "--delete", token=None)
    assert deleted.exit_code == 0, deleted.stderr
    assert not secret_file.exists() and not reg_file.exists()
    assert "secret" not in tomllib.loads(profile.read_text())["client"]
    # The provider forgot the client: the registration endpoint and a login both refuse it.
    gone = httpx.get(document["registration_client_uri"], headers={"Authorization": "Bearer x"})
    assert gone.status_code == 401
    again = run(
        ["--json", "--profile", str(profile), "login", "--headless"],
        env={"OIDCSETUP_CLIENT_SECRET": secret},
    )
    assert again.exit_code != 0


@pytest.mark.provider
def test_rerun_updates_in_place_keeping_the_rotated_token(
    reg_provider: RunningProvider, tmp_path: Path
) -> None:
    profile = _profile(tmp_path, reg_provider.issuer)
    first = json.loads(_run(profile).stdout)
    before = _stored(profile)["registration_access_token"]

    same = _run(profile, token=None)
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["action"] == "unchanged"
    assert _stored(profile)["registration_access_token"] == before

    more = _run(profile, "--scopes", "openid email profile", token=None)
    assert more.exit_code == 0, more.stderr
    document = json.loads(more.stdout)
    assert document["action"] == "updated"
    assert document["client_id"] == first["client_id"]  # in place, not a new client
    assert document["granted"]["scope"] == "openid email profile"
    assert _stored(profile)["registration_access_token"] != before  # rotated, and kept
    check = _run(profile, "--check", token=None)  # the scopes were saved in the profile
    assert check.exit_code == 0, check.stderr
    assert _login(profile).exit_code == 0


@pytest.mark.provider
def test_the_plugin_from_the_environment_decides_the_redirect_uri(
    reg_provider: RunningProvider, tmp_path: Path
) -> None:
    """OIDCSETUP_PLUGIN (like --plugin) reaches register: RebelOIDC's callback is registered,
    and the plugin is saved with the rest, so that a later --check asks the same."""
    profile = _profile(tmp_path, reg_provider.issuer)
    env: dict[str, str | None] = {
        "OIDCSETUP_REGISTRATION_TOKEN": TOKEN,
        "OIDCSETUP_ISSUER": None,
        "OIDCSETUP_PLUGIN": "rebeloidc",
    }
    result = run(["--json", "--profile", str(profile), "register"], env=env)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["granted"]["redirect_uris"] == [
        MATOMO + "/index.php?module=RebelOIDC&action=callback&provider=oidc"
    ]
    # oidc-provider issues opaque access tokens, which RebelOIDC cannot decode: said up front.
    warnings = [w["code"] for w in json.loads(result.stdout)["warnings"]]
    assert "registration-jwt-access-token" in warnings
    assert tomllib.loads(profile.read_text())["app"]["matomo"]["plugin"] == "rebeloidc"
    check = _run(profile, "--check", token=None)  # no OIDCSETUP_PLUGIN now
    assert check.exit_code == 0, check.stderr


@pytest.mark.provider
def test_change_behind_our_back_is_drift(steady_provider: RunningProvider, tmp_path: Path) -> None:
    profile = _profile(tmp_path, steady_provider.issuer)
    document = json.loads(_run(profile).stdout)
    stored = _stored(profile)
    secret = (tmp_path / "oidcsetup-client.secret").read_text().strip()

    def change(**metadata: Any) -> None:
        body = {**document["requested"], "client_id": stored["client_id"], **metadata}
        answer = httpx.put(
            stored["registration_client_uri"],
            json=body,
            headers={"Authorization": f"Bearer {stored['registration_access_token']}"},
        )
        assert answer.status_code == 200, answer.text

    # An extra redirect URI: drift (exit 3), but Matomo still logs in.
    extra = "https://elsewhere.example.com/callback"
    change(redirect_uris=[*document["requested"]["redirect_uris"], extra])
    check = _run(profile, "--check", token=None)
    assert check.exit_code == 3
    differences = json.loads(check.stdout)["differences"]
    assert [(d["field"], d["breaks_matomo"]) for d in differences] == [("redirect_uris", False)]
    assert extra in check.stderr
    assert _login(profile).exit_code == 0

    # Matomo's redirect URI dropped: drift that breaks the login, and the real provider
    # indeed refuses Matomo's authorization request.
    change(redirect_uris=[extra])
    check = _run(profile, "--check", token=None)
    assert check.exit_code == 3
    [difference] = json.loads(check.stdout)["differences"]
    assert (difference["field"], difference["breaks_matomo"]) == ("redirect_uris", True)
    assert document["requested"]["redirect_uris"][0] in check.stderr
    assert secret not in check.stdout + check.stderr
    login = _login(profile)
    assert login.exit_code != 0
    assert "redirect_uri" in login.stderr

    # The auth method changed to client_secret_basic: reported precisely. oidc-provider itself
    # accepts a posted secret anyway (shared/reference/test-infra.md), Authelia 4.38+ answers
    # invalid_client (shared/reference/authelia.md): a breaking difference.
    change(token_endpoint_auth_method="client_secret_basic")
    check = _run(profile, "--check", token=None)
    assert check.exit_code == 3
    [difference] = json.loads(check.stdout)["differences"]
    assert difference["field"] == "token_endpoint_auth_method"
    assert difference["granted"] == "client_secret_basic" and difference["breaks_matomo"]
    assert "client_secret_basic" in check.stderr and "client_secret_post" in check.stderr

    # Running register again brings it back in line, in place.
    fixed = _run(profile, token=None)
    assert fixed.exit_code == 0, fixed.stderr
    assert json.loads(fixed.stdout)["action"] == "updated"
    assert _run(profile, "--check", token=None).exit_code == 0
    assert _login(profile).exit_code == 0


@pytest.mark.provider
def test_initial_access_token_required_and_read_from_a_file(
    reg_provider: RunningProvider, tmp_path: Path
) -> None:
    profile = _profile(tmp_path, reg_provider.issuer)
    missing = _run(profile, token=None)
    assert missing.exit_code == 1
    assert "OIDCSETUP_REGISTRATION_TOKEN" in missing.stderr
    assert not (tmp_path / "oidcsetup-client.secret").exists()

    token_file = tmp_path / "iat"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    result = _run(profile, token=f"file:{token_file}")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "created"


@pytest.mark.provider
def test_provider_without_registration_endpoint(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    """The default test provider has registration off (as before this option existed)."""
    profile = _profile(tmp_path, oidc_provider.issuer)
    result = _run(profile)
    assert result.exit_code == 1
    assert "advertises no registration_endpoint" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "registration-unsupported"
    assert httpx.post(oidc_provider.issuer + "/reg", json={}).status_code == 404
    assert not (tmp_path / "oidcsetup-client.secret").exists()


def test_provider_down_is_exit_4(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = _profile(tmp_path, f"http://127.0.0.1:{port}")
    before = profile.read_text()
    result = _run(profile)
    assert result.exit_code == 4
    assert json.loads(result.stdout)["exit_code"] == 4
    assert profile.read_text() == before  # nothing written


def test_registration_request_is_never_redirected(tmp_path: Path) -> None:
    with hostile_provider() as (provider, recorder):
        provider.serve_document(provider.document(registration_endpoint=provider.base + "/reg"))
        provider.routes["/reg"] = redirect_to(recorder.base + "/reg")
        result = _run(_profile(tmp_path, provider.base))
        assert result.exit_code == 1
        assert f"127.0.0.1:{recorder.port}" in result.stderr
        assert recorder.received == []
        assert [r.headers.get("Authorization") for r in provider.received if r.path == "/reg"] == [
            f"Bearer {TOKEN}"
        ]


def test_provider_granting_another_auth_method_fails(tmp_path: Path) -> None:
    with hostile_provider() as (provider, _recorder):
        provider.serve_document(provider.document(registration_endpoint=provider.base + "/reg"))
        redirect = MATOMO + "/index.php?module=LoginOIDC&action=callback&provider=oidc"
        provider.routes["/reg"] = json_answer(
            201,
            {
                "client_id": "granted",
                "client_secret": "s3cret-granted",
                "registration_access_token": "rat",
                "registration_client_uri": provider.base + "/reg/granted",
                "redirect_uris": [redirect],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        result = _run(_profile(tmp_path, provider.base))
    assert result.exit_code == 3
    assert "token_endpoint_auth_method" in result.stderr
    assert "client_secret_basic" in result.stderr
    assert "s3cret-granted" not in result.stdout + result.stderr
    # Stored anyway, so that it can be fixed (register again) or deleted.
    assert (tmp_path / "oidcsetup-client.secret").read_text() == "s3cret-granted\n"


def test_a_registration_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """Files register writes are 0600: a looser mode means someone changed it (secretfile.py)."""
    profile = _profile(tmp_path, "http://127.0.0.1:9")
    stored = tmp_path / "oidcsetup-client.secret.registration.json"
    stored.write_text(
        json.dumps(
            {
                "client_id": "c",
                "registration_access_token": "t",
                "registration_client_uri": "http://127.0.0.1:9/reg/c",
            }
        )
    )
    stored.chmod(0o644)
    result = _run(profile, "--check")
    assert result.exit_code == 1
    assert "accessible to group or others" in result.stderr


ASKED = {
    "redirect_uris": ["https://m.example.com/cb"],
    "token_endpoint_auth_method": "client_secret_post",
    "grant_types": ["authorization_code"],
    "response_types": ["code"],
    "scope": "openid email",
    "client_name": "Matomo",
}


def test_compare_names_what_breaks_matomo() -> None:
    """Answers real providers may give (RFC 7591 section 3.2.1: the server may replace values)."""
    assert compare(ASKED, {**ASKED}) == []
    # Fields left out take RFC 7591's defaults: no auth method means client_secret_basic.
    left_out = {k: v for k, v in ASKED.items() if k != "token_endpoint_auth_method"}
    [diff] = compare(ASKED, left_out)
    assert (diff.field, diff.granted, diff.breaks_matomo) == (
        "token_endpoint_auth_method",
        "client_secret_basic",
        True,
    )
    [diff] = compare(ASKED, {**ASKED, "redirect_uris": ["https://m.example.com/other"]})
    assert diff.breaks_matomo and "https://m.example.com/cb" in diff.message
    [diff] = compare(ASKED, {**ASKED, "userinfo_signed_response_alg": "RS256"})
    assert diff.breaks_matomo and "plain JSON" in diff.message
    [diff] = compare(ASKED, {**ASKED, "grant_types": ["authorization_code", "refresh_token"]})
    assert not diff.breaks_matomo
    [diff] = compare(ASKED, {**ASKED, "scope": "openid"})
    assert diff.breaks_matomo and "email" in diff.message
