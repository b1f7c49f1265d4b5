"""``oidcsetup login``: headless and loopback flows against the REAL oidc-provider, and the
id_token / state / nonce checks at unit level."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.authorization import (
    AuthorizationRequest,
    build_authorization_request,
    parse_callback,
    pkce_pair,
)
from oidcsetup.verify.login import LoginEndpoints, LoginSettings, run_login
from oidcsetup.verify.oauth import IdTokenError, LoginError
from oidcsetup.verify.tokens import verify_id_token
from tests.cli import run
from tests.support.provider import CALLBACK, RunningProvider, matomo_client

MATOMO = "http://127.0.0.1:8080"
SECRET = "matomo-test-secret"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# --- id_token verification (unit) -----------------------------------------------------------

ISSUER = "https://op.example.com"
LOGIN_FORM = b"<!doctype html><title>Sign in</title><form method=post><input name=user>" + (
    b"<input type=password name=pw></form>"
)


@pytest.fixture(scope="module")
def signing_key() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    return key, {"keys": [jwk]}


def make_token(key: Any, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "matomo",
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-123",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def verify(token: str, jwks: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"issuer": ISSUER, "client_id": "matomo", "nonce": "n-123"}
    args.update(kwargs)
    return verify_id_token(token, jwks=jwks, **args)


def test_valid_id_token(signing_key: tuple[Any, dict[str, Any]]) -> None:
    key, jwks = signing_key
    assert verify(make_token(key), jwks)["sub"] == "alice"


def test_tampered_id_token_rejected(signing_key: tuple[Any, dict[str, Any]]) -> None:
    key, jwks = signing_key
    header, payload, signature = make_token(key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(IdTokenError) as info:
        verify(f"{header}.{forged}.{signature}", jwks)
    assert info.value.code == "id-token-signature"


def test_token_signed_by_other_key_rejected(signing_key: tuple[Any, dict[str, Any]]) -> None:
    _, jwks = signing_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(IdTokenError) as info:
        verify(make_token(other), jwks)
    assert info.value.code == "id-token-signature"


@pytest.mark.parametrize(
    ("overrides", "kwargs", "code"),
    [
        ({"nonce": "other"}, {}, "id-token-nonce"),
        ({"nonce": None}, {}, "id-token-nonce"),
        ({"aud": "someone-else"}, {}, "id-token-audience"),
        ({"iss": "https://evil.example.com"}, {}, "id-token-issuer"),
        ({"exp": int(time.time()) - 3600}, {}, "id-token-expired"),
    ],
)
def test_id_token_claim_checks(
    signing_key: tuple[Any, dict[str, Any]], overrides: dict[str, Any], kwargs: Any, code: str
) -> None:
    key, jwks = signing_key
    with pytest.raises(IdTokenError) as info:
        verify(make_token(key, **overrides), jwks, **kwargs)
    assert info.value.code == code


def test_unsigned_id_token_rejected(signing_key: tuple[Any, dict[str, Any]]) -> None:
    _, jwks = signing_key
    token = jwt.encode({"iss": ISSUER, "aud": "matomo", "sub": "x"}, None, algorithm="none")
    with pytest.raises(IdTokenError) as info:
        verify(token, jwks)
    assert info.value.code == "id-token-alg"


def test_unknown_kid_rejected(signing_key: tuple[Any, dict[str, Any]]) -> None:
    key, jwks = signing_key
    token = jwt.encode({"iss": ISSUER}, key, algorithm="RS256", headers={"kid": "rotated"})
    with pytest.raises(IdTokenError) as info:
        verify(token, jwks)
    assert info.value.code == "id-token-key"


def test_hs256_verified_with_client_secret() -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "matomo", "sub": "a", "iat": now, "exp": now + 60, "nonce": "n"}
    secret = "a-client-secret-of-at-least-32-bytes"
    token = jwt.encode(claims, secret.encode(), algorithm="HS256")
    assert verify(token, {}, nonce="n", secret=secret)["sub"] == "a"
    with pytest.raises(IdTokenError):
        verify(token, {}, nonce="n", secret="wrong-secret-value-of-some-length")


# --- state, PKCE, callback parsing (unit) -----------------------------------------------------


def request() -> AuthorizationRequest:
    return build_authorization_request(
        ISSUER + "/auth", client_id="matomo", redirect_uri=MATOMO + CALLBACK, scopes=("openid",)
    )


def test_authorization_request_has_pkce_state_nonce() -> None:
    req = request()
    params = dict(httpx.URL(req.url).params)
    assert params["code_challenge_method"] == "S256"
    assert params["state"] == req.state and params["nonce"] == req.nonce
    digest = __import__("hashlib").sha256(req.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert params["redirect_uri"] == MATOMO + CALLBACK
    verifier, _ = pkce_pair()
    assert 43 <= len(verifier) <= 128


def test_callback_state_mismatch() -> None:
    req = request()
    with pytest.raises(LoginError) as info:
        parse_callback(f"{MATOMO}{CALLBACK}&code=abc&state=forged", req, ISSUER)
    assert info.value.code == "state-mismatch"


def test_callback_error_and_issuer_checks() -> None:
    req = request()
    url = f"{MATOMO}{CALLBACK}&error=access_denied&state={req.state}"
    with pytest.raises(LoginError) as info:
        parse_callback(url, req, ISSUER)
    assert info.value.code == "authorization-access-denied"
    url = f"{MATOMO}{CALLBACK}&code=abc&state={req.state}&iss=https%3A%2F%2Fevil"
    with pytest.raises(LoginError) as info:
        parse_callback(url, req, ISSUER)
    assert info.value.code == "issuer-mismatch"
    assert parse_callback(f"{MATOMO}{CALLBACK}&code=abc&state={req.state}", req, ISSUER) == "abc"


# --- against the real provider ----------------------------------------------------------------


@pytest.mark.provider
def test_headless_login_shows_claims(oidc_provider: RunningProvider) -> None:
    result = run(
        ["--json", "login", "--headless", "--issuer", oidc_provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["userinfo"]["sub"] == "alice"
    assert document["userinfo"]["email"] == "alice@example.com"
    assert document["matomo_user"] == "alice"
    assert document["id_token_claims"]["aud"] == "matomo"
    assert document["id_token_claims"]["iss"] == oidc_provider.issuer
    assert SECRET not in result.stdout + result.stderr
    assert "access_token" not in result.stdout


@pytest.mark.provider
def test_headless_login_human_output(oidc_provider: RunningProvider) -> None:
    result = run(
        ["login", "--headless", "--issuer", oidc_provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0, result.stderr
    assert "alice@example.com" in result.stdout
    assert "<- userinfoId" in result.stdout
    assert "sub='alice'" in result.stderr


@pytest.mark.provider
def test_headless_login_wrong_secret(oidc_provider: RunningProvider) -> None:
    result = run(
        ["login", "--headless", "--issuer", oidc_provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": "wrong", "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 1
    assert "invalid_client" in result.stderr


@pytest.mark.provider
def test_headless_login_basic_auth(provider_factory: Any) -> None:
    provider = provider_factory(
        [matomo_client(token_endpoint_auth_method="client_secret_basic")],
        clientAuthMethods=["client_secret_basic", "none"],
    )
    endpoints = LoginEndpoints(
        provider.issuer, provider.issuer + "/auth", provider.issuer + "/token",
        provider.issuer + "/me", provider.issuer + "/jwks",
    )  # fmt: skip
    settings = LoginSettings("matomo", SECRET, "client_secret_basic", ("openid", "email"))
    result = run_login(
        endpoints, settings, NetworkOptions(), mode="headless", redirect_uri=MATOMO + CALLBACK
    )
    assert result.userinfo["email"] == "alice@example.com"


@pytest.mark.provider
def test_headless_refuses_login_form(provider_factory: Any) -> None:
    provider = provider_factory([matomo_client()], interactions="dev")
    result = run(
        ["login", "--headless", "--issuer", provider.issuer, "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 1
    assert "--headless only works when the provider logs in without a form" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.provider
def test_loopback_callback_server(provider_factory: Any, tmp_path: Path) -> None:
    """The real CLI with --no-browser: drive the printed URL like a browser would."""
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/callback"
    provider = provider_factory([matomo_client(redirect_uri=redirect, client_id="cli")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env.update(OIDCSETUP_CLIENT_SECRET=SECRET, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidcsetup",
            "--json",
            "login",
            "--no-browser",
            "--issuer",
            provider.issuer,
            "--client-id",
            "cli",
            "--redirect-uri",
            redirect,
            "--timeout",
            "30",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            if line.startswith("  http"):
                url = line.strip()
                break
        assert url, "the login URL was not printed"
        assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in url
        page = httpx.get(url, follow_redirects=True, timeout=10)
        assert page.status_code == 200 and "You can close this tab" in page.text
        assert str(page.url).startswith(redirect + "?code=")
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    document = json.loads(stdout)
    assert document["userinfo"] == {
        "sub": "alice",
        "email": "alice@example.com",
        "email_verified": True,
    }
    assert document["redirect_uri"] == redirect


def test_loopback_login_times_out(tmp_path: Path) -> None:
    from tests.support.docserver import DocServer

    # Stands for a provider showing its login form that nobody fills in (the preflight GET of
    # the authorization URL must find the provider up and not refusing).
    with DocServer() as server:
        server.raw("/auth", LOGIN_FORM, "text/html")
        auth = server.base + "/auth"
        endpoints = LoginEndpoints(ISSUER, auth, ISSUER + "/token", None, None)
        settings = LoginSettings("matomo", SECRET, "client_secret_post", ("openid",))
        shown: list[str] = []
        started = time.monotonic()
        with pytest.raises(LoginError) as info:
            run_login(
                endpoints,
                settings,
                NetworkOptions(),
                mode="no-browser",
                timeout=0.5,
                announce=shown.append,
            )
    assert info.value.code == "timeout"
    assert time.monotonic() - started < 5
    assert shown and shown[0].startswith(auth + "?")
