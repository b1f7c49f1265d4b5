"""oidcsetup against real OpenID providers nobody on this project wrote (tests/support/*).

LemonLDAP::NG 2.16, Glewlwyd 2.7.5 and django-oidc-provider 0.9, each on loopback (fixtures in
tests/conftest.py), and the same matrix against oidc-provider. Facts:
../shared/reference/real-providers.md; what each provider was seen doing here is tabled in
docs/providers.md ("Observed provider behaviours"), each row naming its test below.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.provider import RunningProvider, matomo_client
from tests.support.realpeer import MATOMO, RealProvider, free_port

PROVIDERS = ("lemonldap", "glewlwyd", "django_op", "oidc_provider")
REAL = ("lemonldap", "glewlwyd", "django_op")
SECRETS = {"oidc_provider": "matomo-test-secret"}


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml: flags and environment only


def provider_of(request: pytest.FixtureRequest, name: str) -> tuple[str, str]:
    """(issuer, secret of client "matomo") of the named provider fixture."""
    provider = request.getfixturevalue(name)
    if isinstance(provider, RunningProvider):
        return provider.issuer, SECRETS["oidc_provider"]
    return provider.issuer, provider.clients["matomo"].secret


@pytest.fixture(params=PROVIDERS)
def any_provider(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    return (request.param, *provider_of(request, request.param))


@pytest.fixture(params=REAL)
def real(request: pytest.FixtureRequest) -> RealProvider:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def cli(*args: str, secret: str | None = None, **env: str) -> Result:
    return run(
        ["--json", *args],
        env={
            "OIDCSETUP_CLIENT_SECRET": secret,
            "OIDCSETUP_PROFILE": None,
            "OIDCSETUP_LOGIN_USERNAME": None,
            "OIDCSETUP_LOGIN_PASSWORD": None,
            **env,
        },
    )


def check(issuer: str, secret: str | None, *extra: str, **env: str) -> Result:
    return cli("check", "--issuer", issuer, "--matomo-url", MATOMO, *extra, secret=secret, **env)


def needs_browser() -> None:
    """Skip (with the reason) where chromium, chromedriver or selenium is missing."""
    from oidcsetup.verify.browser import browser_missing_reason

    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)


def probes(result: Result) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(result.stdout)["probes"]}


# --- the matrix: every provider ------------------------------------------------------------


def test_correct_client_passes_every_probe(any_provider: tuple[str, str, str]) -> None:
    name, issuer, secret = any_provider
    result = check(issuer, secret)
    assert result.exit_code == 0, result.stdout
    found = probes(result)
    assert {p["status"] for p in found.values()} <= {"pass", "skip"}
    assert found["client-auth"]["code"] == "client-auth-ok"
    assert found["userinfo"]["code"] == "userinfo-reachable"
    # LemonLDAP::NG shows the same login form for any redirect URI: honest, not "accepted".
    expected = "redirect-uri-unverifiable" if name == "lemonldap" else "redirect-uri-accepted"
    assert found["redirect-uri"]["code"] == expected
    assert secret not in result.stdout + result.stderr


def test_wrong_secret_is_client_secret_wrong(any_provider: tuple[str, str, str]) -> None:
    _, issuer, _ = any_provider
    result = check(issuer, "not-the-secret")
    assert result.exit_code == 3
    probe = probes(result)["client-auth"]
    assert probe["code"] == "client-secret-wrong", probe
    assert "gen authelia" not in (probe["hint"] or "")


def test_unregistered_redirect_uri_is_never_accepted(any_provider: tuple[str, str, str]) -> None:
    name, issuer, secret = any_provider
    result = check(
        issuer, secret, "--redirect-uri-override", "http://127.0.0.1:8080/not/registered"
    )
    found = probes(result)
    redirect = found["redirect-uri"]
    assert redirect["code"] != "redirect-uri-accepted"
    if name == "lemonldap":
        assert (redirect["status"], redirect["code"]) == ("skip", "redirect-uri-unverifiable")
        assert "not verifiable before login" in redirect["message"]
    else:
        assert redirect["status"] == "fail", redirect
        assert result.exit_code == 3
    # django-oidc-provider and Glewlwyd refuse the credentials for the mismatch alone: the
    # secret is not blamed. LemonLDAP::NG and oidc-provider look at the (made-up) code first.
    expected = {
        "lemonldap": "client-auth-ok",
        "glewlwyd": "client-auth-unverifiable",
        "django_op": "client-auth-unverifiable",
        "oidc_provider": "client-auth-ok",
    }
    assert found["client-auth"]["code"] == expected[name], found["client-auth"]


def test_provider_stopped_exits_4_at_once() -> None:
    """A provider that is not running (nothing listens on its port): check, discover, login."""
    issuer = f"http://127.0.0.1:{free_port()}/openid"
    for args in (
        ("check", "--issuer", issuer, "--matomo-url", MATOMO),
        ("discover", issuer),
        ("login", "--no-browser", "--issuer", issuer, "--timeout", "60"),
    ):
        started = time.monotonic()
        result = cli(*args, secret="s")
        assert result.exit_code == 4, (args, result.stdout, result.stderr)
        assert time.monotonic() - started < 15, args
        json.loads(result.stdout)


def test_login_after_discover_save_with_the_provider_stopped_exits_4(tmp_path: Path) -> None:
    """Was: with the endpoints in the profile (no discovery at login), `login --no-browser`
    waited for its whole --timeout and exited 1."""
    base = f"http://127.0.0.1:{free_port()}/openid"
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(
        "[provider]\n"
        f'issuer = "{base}"\n'
        f'authorization_endpoint = "{base}/authorize"\n'
        f'token_endpoint = "{base}/token"\n'
        f'userinfo_endpoint = "{base}/userinfo"\n'
        f'jwks_uri = "{base}/jwks"\n'
        'source = "discovered"\n'
    )
    started = time.monotonic()
    result = run(
        ["--json", "login", "--no-browser", "--timeout", "60"],
        env={"OIDCSETUP_PROFILE": str(profile), "OIDCSETUP_CLIENT_SECRET": "s"},
    )
    assert result.exit_code == 4, result.stdout + result.stderr
    assert time.monotonic() - started < 15
    assert "refused" in json.loads(result.stdout)["error"]["message"]


# --- provider by provider ------------------------------------------------------------------


def test_glewlwyd_basic_only_client_is_client_auth_method(glewlwyd: RealProvider) -> None:
    """Glewlwyd answers the posted secret of a Basic-only client with 403 unauthorized_client;
    the Basic retry gets invalid_code, so the auth method is named, not the secret."""
    result = check(
        glewlwyd.issuer, glewlwyd.clients["matomo-basic"].secret, "--client-id", "matomo-basic"
    )
    probe = probes(result)["client-auth"]
    assert probe["code"] == "client-auth-method", probe
    assert "Glewlwyd's administration" in probe["hint"]


def test_oidc_provider_basic_only_is_client_auth_method(provider_factory: Any) -> None:
    provider = provider_factory(
        [matomo_client(token_endpoint_auth_method="client_secret_basic")],
        clientAuthMethods=["client_secret_basic", "none"],
    )
    result = check(provider.issuer, SECRETS["oidc_provider"])
    assert probes(result)["client-auth"]["code"] == "client-auth-method"


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("glewlwyd", "fail", "scope-unsupported"),
        ("oidc_provider", "fail", "scope-unsupported"),
        # LemonLDAP::NG's scopes_supported is fixed and it accepts others silently.
        ("lemonldap", "skip", "scope-not-advertised"),
        # django-oidc-provider publishes no scopes_supported.
        ("django_op", "skip", "scopes-not-advertised"),
    ],
)
def test_unsupported_scope(
    request: pytest.FixtureRequest, name: str, status: str, code: str
) -> None:
    issuer, secret = provider_of(request, name)
    result = check(issuer, secret, "--scopes", "openid email groups")
    probe = probes(result)["scopes"]
    assert (probe["status"], probe["code"]) == (status, code), probe


def test_real_login_shows_the_claims(real: RealProvider) -> None:
    """check --login with the test user: a headless Chromium fills the provider's login form."""
    needs_browser()
    result = check(
        real.issuer,
        real.clients["matomo"].secret,
        "--scopes",
        "openid email profile",
        "--login",
        "--login-timeout",
        "90",
        OIDCSETUP_LOGIN_USERNAME=real.username,
        OIDCSETUP_LOGIN_PASSWORD=real.password,
    )
    assert result.exit_code == 0, result.stdout
    found = probes(result)
    assert found["userinfo-claims"]["code"] == "userinfo-claims-ok"
    # LemonLDAP::NG's redirect URI, unverifiable before login, is verified by the login.
    assert found["redirect-uri"]["code"] == "redirect-uri-accepted"
    login = json.loads(result.stdout)["login"]
    assert login["email"] in ("dwho@example.com", "dwho@badwolf.org")


def test_lemonldap_signed_userinfo_fails_with_exit_3(lemonldap: RealProvider) -> None:
    needs_browser()
    client = lemonldap.clients["matomo-signed"]
    env = {"OIDCSETUP_LOGIN_USERNAME": "dwho", "OIDCSETUP_LOGIN_PASSWORD": "dwho"}
    result = check(
        lemonldap.issuer, client.secret, "--client-id", client.client_id, "--login", **env
    )
    assert result.exit_code == 3, result.stdout
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert probes(result)["userinfo-claims"]["code"] == "userinfo-signed"
    login = cli(
        "login", "--headless", "--issuer", lemonldap.issuer, "--client-id", client.client_id,
        "--matomo-url", MATOMO, secret=client.secret, **env,
    )  # fmt: skip
    assert login.exit_code == 3, login.stderr
    assert json.loads(login.stdout)["ok"] is False


def test_hand_edited_token_endpoint_is_checked_after_discover_save(
    django_op: RealProvider, tmp_path: Path
) -> None:
    profile = tmp_path / "oidcsetup.toml"
    saved = run(
        ["--json", "discover", django_op.issuer, "--save"],
        env={"OIDCSETUP_PROFILE": str(profile)},
    )
    assert saved.exit_code == 0, saved.stderr
    text = profile.read_text()
    assert "/openid/token" in text
    profile.write_text(text.replace("/openid/token", "/openid/tokn"))
    result = run(
        ["--json", "check", "--matomo-url", MATOMO],
        env={
            "OIDCSETUP_PROFILE": str(profile),
            "OIDCSETUP_CLIENT_SECRET": django_op.clients["matomo"].secret,
        },
    )
    assert result.exit_code == 3
    probe = probes(result)["endpoints"]
    assert (probe["status"], probe["code"]) == ("fail", "endpoint-mismatch"), probe
    assert "/openid/tokn" in probe["message"]


def test_login_with_unregistered_redirect_uri_says_so(django_op: RealProvider) -> None:
    """Was: the generic timeout. django-oidc-provider shows "Redirect URI Error" with HTTP 200."""
    started = time.monotonic()
    result = cli(
        "login", "--no-browser", "--issuer", django_op.issuer, "--client-id", "matomo",
        "--redirect-uri", f"http://127.0.0.1:{free_port()}/callback", "--timeout", "60",
        secret=django_op.clients["matomo"].secret,
    )  # fmt: skip
    assert result.exit_code == 1
    assert time.monotonic() - started < 15
    error = json.loads(result.stdout)["error"]
    assert "refuses the redirect URI" in error["message"]
    assert "register the redirect URI" in error["hint"]


@pytest.mark.parametrize(
    ("name", "preset"),
    [("lemonldap", "lemonldap"), ("glewlwyd", "glewlwyd"), ("django_op", "django-oidc-provider")],
)
def test_discover_recognises_the_provider(
    request: pytest.FixtureRequest, name: str, preset: str
) -> None:
    issuer, _ = provider_of(request, name)
    result = cli("discover", issuer)
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["provider"] == preset
    notes = [f["message"] for f in document["findings"] if f["code"] == "preset-note"]
    assert notes  # the provider's quirks, as findings
    # The preset derives the same endpoints the provider publishes (for when discovery fails).
    derived = json.loads(cli("discover", issuer, "--preset", preset).stdout)["endpoints"]
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert derived[key] == document["endpoints"][key], key


def test_wrong_test_user_password_is_login_rejected(django_op: RealProvider) -> None:
    needs_browser()
    result = check(
        django_op.issuer,
        django_op.clients["matomo"].secret,
        "--login",
        "--login-timeout",
        "60",
        OIDCSETUP_LOGIN_USERNAME="dwho",
        OIDCSETUP_LOGIN_PASSWORD="not-the-password",
    )
    assert result.exit_code == 3
    probe = probes(result)["userinfo-claims"]
    assert probe["code"] == "login-rejected", probe
    assert "OIDCSETUP_LOGIN_PASSWORD" in probe["hint"]
    assert "not-the-password" not in result.stdout + result.stderr


def test_half_a_test_user_is_a_usage_error(django_op: RealProvider) -> None:
    result = check(django_op.issuer, "s", "--login", OIDCSETUP_LOGIN_USERNAME="dwho")
    assert result.exit_code == 2
    assert "OIDCSETUP_LOGIN_PASSWORD" in json.loads(result.stdout)["error"]["message"]


def test_real_login_through_oidc_providers_dev_form(provider_factory: Any) -> None:
    """oidc-provider's dev interactions: a login form, then a consent page ("Continue")."""
    needs_browser()
    provider = provider_factory([matomo_client()], interactions="dev")
    result = check(
        provider.issuer,
        SECRETS["oidc_provider"],
        "--login",
        "--login-timeout",
        "90",
        OIDCSETUP_LOGIN_USERNAME="alice",
        OIDCSETUP_LOGIN_PASSWORD="any",
    )
    assert result.exit_code == 0, result.stdout
    assert probes(result)["userinfo-claims"]["code"] == "userinfo-claims-ok"
    assert json.loads(result.stdout)["login"]["matomo_user"] == "alice"
