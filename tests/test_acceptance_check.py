"""Acceptance gaps of issue 5 (check, login) closed by the audit, against the REAL oidc-provider.

Each test names the requirement bullet it proves (docs/dev/acceptance.md).
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.login import LoginEndpoints, LoginSettings, run_login
from tests.cli import Result, run
from tests.support.provider import CALLBACK, RunningProvider, matomo_client

pytestmark = pytest.mark.provider

MATOMO = "http://127.0.0.1:8080"
SECRET = "matomo-test-secret"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def check(provider: RunningProvider, *extra: str, profile: Path | None = None) -> Result:
    args = ["--json", "check", "--issuer", provider.issuer, "--matomo-url", MATOMO, *extra]
    env: dict[str, str | None] = {
        "OIDCSETUP_CLIENT_SECRET": SECRET,
        "OIDCSETUP_PROFILE": str(profile) if profile else None,
    }
    return run(args, env=env)


def probes(result: Result) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(result.stdout)["probes"]}


def failures(result: Result) -> dict[str, str]:
    return {n: p["code"] for n, p in probes(result).items() if p["status"] == "fail"}


def signup_profile(tmp_path: Path) -> Path:
    path = tmp_path / "profiles" / "signup.toml"  # not ./oidcsetup.toml: other runs stay clean
    path.parent.mkdir(exist_ok=True)
    path.write_text("[app.matomo]\nallow_signup = true\n")
    return path


# --- check: "with a token, the userinfoId claim (and `email` when signup is on) is present" --


def test_signup_on_and_no_email_claim_fails_the_claims_probe(
    provider_factory: Any, tmp_path: Path
) -> None:
    provider: RunningProvider = provider_factory(
        [matomo_client()], accounts={"bob": {"name": "Bob Example"}}
    )
    result = check(provider, "--login", profile=signup_profile(tmp_path))
    assert result.exit_code == 3, result.stderr
    assert failures(result) == {"userinfo-claims": "email-claim-missing"}
    # the same account with signup off is fine: the email claim is needed only for signup
    assert check(provider, "--login").exit_code == 0


def test_signup_on_without_the_email_scope_fails_the_scopes_probe(
    oidc_provider: RunningProvider, tmp_path: Path
) -> None:
    result = check(oidc_provider, "--scopes", "openid", profile=signup_profile(tmp_path))
    assert result.exit_code == 3, result.stderr
    assert failures(result)["scopes"] == "scope-email-missing"


# --- check: the redirect probe names "unsupported response_type" -----------------------------


def test_client_not_allowed_the_code_response_type(provider_factory: Any) -> None:
    provider: RunningProvider = provider_factory(
        [matomo_client(response_types=["none"], grant_types=[])]
    )
    result = check(provider)
    assert result.exit_code == 3, result.stderr
    assert failures(result).get("redirect-uri") == "response-type-unsupported", probes(result)


# --- check: "the scopes asked for ...; userinfo is reachable" ---------------------------------


def test_userinfo_probe_passes_against_the_real_provider(oidc_provider: RunningProvider) -> None:
    result = check(oidc_provider)
    assert result.exit_code == 0, result.stderr
    assert probes(result)["userinfo"]["code"] == "userinfo-reachable"


# --- login: "the browser opened (or the URL printed with --no-browser)" ----------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_login_opens_the_browser_on_the_authorization_url(provider_factory: Any) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    provider: RunningProvider = provider_factory(
        [matomo_client(redirect_uri=redirect, client_id="cli")]
    )
    opened: list[str] = []
    pages: list[httpx.Response] = []

    def browser(url: str) -> bool:
        """A browser: follows the provider's redirects to the loopback callback."""
        opened.append(url)

        def visit() -> None:
            pages.append(httpx.get(url, follow_redirects=True, timeout=20))

        threading.Thread(target=visit, daemon=True).start()
        return True

    endpoints = LoginEndpoints(
        provider.issuer,
        provider.issuer + "/auth",
        provider.issuer + "/token",
        provider.issuer + "/me",
        provider.issuer + "/jwks",
    )
    settings = LoginSettings("cli", SECRET, "client_secret_post", ("openid", "email"))
    result = run_login(
        endpoints,
        settings,
        NetworkOptions(),
        mode="browser",
        redirect_uri=redirect,
        timeout=30,
        open_browser=browser,
    )
    assert len(opened) == 1 and opened[0].startswith(provider.issuer + "/auth?")
    assert result.userinfo["email"] == "alice@example.com"
    assert result.id_token_claims["aud"] == "cli"
    assert pages and pages[0].status_code == 200


def test_login_cli_browser_mode_opens_the_browser(provider_factory: Any, tmp_path: Path) -> None:
    """The CLI without --no-browser/--headless hands the URL to the user's browser ($BROWSER,
    as the webbrowser module reads it; here a script that records the URL and follows it)."""
    import sys

    redirect = f"http://127.0.0.1:{free_port()}/callback"
    provider: RunningProvider = provider_factory(
        [matomo_client(redirect_uri=redirect, client_id="cli")]
    )
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\n"
        "import sys, httpx\n"
        f"open({str(opened)!r}, 'a').write(sys.argv[1] + '\\n')\n"
        "httpx.get(sys.argv[1], follow_redirects=True, timeout=20)\n"
    )
    browser.chmod(0o755)
    result = run(
        [
            "--json",
            "login",
            "--issuer",
            provider.issuer,
            "--client-id",
            "cli",
            "--redirect-uri",
            redirect,
            "--timeout",
            "30",
        ],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_PROFILE": None,
            "BROWSER": str(browser),
            "DISPLAY": "",
        },
    )
    assert result.exit_code == 0, result.stderr
    urls = opened.read_text().splitlines()
    assert len(urls) == 1 and urls[0].startswith(provider.issuer + "/auth?")
    assert json.loads(result.stdout)["userinfo"]["sub"] == "alice"


def test_callback_path_matches_the_matomo_redirect(oidc_provider: RunningProvider) -> None:
    """Sanity: the shared provider registers exactly the redirect URI check sends."""
    assert oidc_provider.config["clients"][0]["redirect_uris"] == [MATOMO + CALLBACK]


# --- login: "a loopback callback server on a free port (or --redirect-uri)" ------------------


def test_login_without_redirect_uri_listens_on_a_free_loopback_port() -> None:
    from urllib.parse import parse_qs, urlsplit

    from oidcsetup.verify.oauth import LoginError
    from tests.support.docserver import DocServer

    issuer = "http://127.0.0.1:9"  # the token endpoint is never contacted: the login times out
    # Stands for a provider showing its login form (the preflight GET finds it up).
    server = DocServer()
    server.raw("/auth", b"<title>Sign in</title><input type=password>", "text/html")
    endpoints = LoginEndpoints(issuer, server.base + "/auth", issuer + "/token", None, None)
    settings = LoginSettings("matomo", SECRET, "client_secret_post", ("openid",))
    answered: list[int] = []

    def announce(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        parts = urlsplit(redirect)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.port
        # something listens there now: a request without state is answered, not refused
        answered.append(httpx.get(redirect, timeout=5).status_code)

    with server, pytest.raises(LoginError) as info:
        run_login(
            endpoints,
            settings,
            NetworkOptions(),
            mode="no-browser",
            timeout=1.0,
            announce=announce,
        )
    assert info.value.code in ("timeout", "state-mismatch", "callback-invalid"), info.value.code
    assert answered and answered[0] < 500


# --- End-to-end: "The README's main-job command runs the whole story ..., with no user input,
# printing what a user would see" (scripts/demo.py, which `bash scripts/demo` execs after the
# install step) -----------------------------------------------------------------------------


def test_demo_script_runs_without_input_and_prints_each_step(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    result = subprocess.run(
        [sys.executable, str(repo / "scripts" / "demo.py"), "--workdir", str(tmp_path / "d")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    for step in (
        "$ oidcsetup discover",
        "$ oidcsetup gen authelia",
        "$ oidcsetup gen matomo",
        "$ oidcsetup apply matomo --config",
        "$ oidcsetup check",
        "$ oidcsetup login --headless",
    ):
        assert step in out, step
    assert out.index("$ oidcsetup discover") < out.index("$ oidcsetup login --headless")
    assert "alice" in out.split("$ oidcsetup login --headless", 1)[1]
