"""``check`` and ``login`` against hostile or mistyped input: the right exit code, one clear line.

Regression tests of the QA pass: a mistyped issuer is a usage error (2), an unusable Matomo URL
fails the redirect-uri probe instead of skipping it, a missing discovery document does not make
the other probes fail for the same cause, and every request of the probes and of the login is
under the hard per-request deadline and the body size cap.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oidcsetup.discovery.fetch import FetchUnreachable, make_client
from oidcsetup.http import NetworkOptions
from oidcsetup.verify.expected import Target
from oidcsetup.verify.probes.claims import probe_userinfo
from oidcsetup.verify.probes.client_auth import probe_client_auth
from oidcsetup.verify.probes.redirect import probe_redirect_uri
from oidcsetup.verify.tokens import fetch_userinfo
from tests.cli import Result, run
from tests.support.docserver import DocServer, doc_server, endless
from tests.support.provider import RunningProvider

pytestmark = pytest.mark.timeout(20)

MATOMO = "http://127.0.0.1:8080"
DEADLINE = 1.0
NETWORK = NetworkOptions(deadline=DEADLINE, read_timeout=30.0, retries=0)
TARGET = Target(
    client_id="matomo",
    secret="s3cret",
    auth_method="client_secret_post",
    scopes=("openid", "email"),
    redirect_uri=MATOMO + "/callback",
    userinfo_id="sub",
    allow_signup=False,
)


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server() -> Iterator[DocServer]:
    with doc_server() as running:
        yield running


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def check(*args: str, secret: str = "matomo-test-secret") -> Result:
    return run(
        ["--json", "check", *args],
        env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None},
    )


def probes(result: Result) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(result.stdout)["probes"]}


# --- user mistakes ---------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["auth.example.com", "http://[::1", "ftp://auth.example.com"])
def test_check_mistyped_issuer_is_a_usage_error(issuer: str) -> None:
    """Was: exit 3 with a failed discovery probe AND a bogus userinfo-missing failure."""
    result = check("--issuer", issuer, "--matomo-url", MATOMO)
    assert result.exit_code == 2, result.stdout
    assert json.loads(result.stdout)["error"]["type"] == "UsageError"
    assert len(result.error_lines) == 1 and issuer in result.error_lines[0]


def test_check_without_discovery_document_skips_the_dependent_probes(server: DocServer) -> None:
    """Was: userinfo failed with userinfo-missing, a second failure for the same cause."""
    result = check("--issuer", server.base + "/typo", "--matomo-url", MATOMO)
    assert result.exit_code == 3
    found = probes(result)
    assert [n for n, p in found.items() if p["status"] == "fail"] == ["discovery"]
    assert found["discovery"]["code"] == "no-discovery-document"
    for name in ("redirect-uri", "client-auth", "scopes", "userinfo", "userinfo-claims"):
        assert (found[name]["status"], found[name]["code"]) == ("skip", "no-discovery")


@pytest.mark.provider
@pytest.mark.parametrize(
    ("matomo_url", "message"),
    [
        ("http://matomo.example.com", "uses http on a non-loopback host"),
        ("matomo.example.com", "is not an absolute http(s) URL"),
    ],
)
def test_check_unusable_matomo_url_fails_the_redirect_probe(
    oidc_provider: RunningProvider, matomo_url: str, message: str
) -> None:
    """Was: the redirect-uri probe was skipped ("unknown") and check exited 0."""
    result = check("--issuer", oidc_provider.issuer, "--matomo-url", matomo_url)
    assert result.exit_code == 3, result.stdout
    probe = probes(result)["redirect-uri"]
    assert (probe["status"], probe["code"]) == ("fail", "redirect-uri-invalid")
    assert message in probe["message"] and probe["hint"]


@pytest.mark.provider
@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:99999/callback", "callback", "http://127.0.0.1:8765/cb#frag"],
)
def test_login_bad_redirect_uri_is_a_usage_error(
    oidc_provider: RunningProvider, redirect_uri: str
) -> None:
    """Was: an internal error (port out of range), or the bad URI sent to the provider."""
    result = run(
        ["login", "--issuer", oidc_provider.issuer, "--headless", "--redirect-uri", redirect_uri],
        env={"OIDCSETUP_CLIENT_SECRET": "matomo-test-secret", "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 2, result.stderr
    assert len(result.error_lines) == 1 and "redirect URI" in result.error_lines[0]
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("command", ["discover", "check", "login"])
def test_help_examples_parse(command: str) -> None:
    """Every "Examples:" line of --help parses (was: `check ... --json`, `login ... --json`)."""
    help_text = run([command, "--help"]).stdout
    examples = help_text.split("Examples:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in examples.replace("\\\n", " ").splitlines()]
    commands = [line for line in lines if line.startswith("oidcsetup ")]
    assert commands
    for example in commands:
        # click parses every option before it acts on --help: an unknown one exits 2.
        result = run([*example.split()[1:], "--help"])
        assert result.exit_code == 0, f"{example}: {result.stderr}"
        assert f" {command} [OPTIONS]" in result.stdout, example


# --- hard deadline and size cap on every probe and login request ------------------------------


@pytest.fixture
def silent_url(stop: threading.Event) -> Iterator[str]:
    """Any request (GET or POST): headers after 0.8 s, one byte of a 1000-byte body, silence."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            time.sleep(0.8)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<"
            )
            stop.wait(20)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed at the end of the test
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    with listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/silent"
        stop.set()


def test_probes_end_at_the_deadline(silent_url: str) -> None:
    """Was: plain client.get/post, bounded only by the read timeout (10 s per byte)."""
    url = silent_url
    with make_client(NETWORK) as client:
        for probe in (
            lambda: probe_redirect_uri(client, url, TARGET, NETWORK),
            lambda: probe_client_auth(client, url, TARGET, (), NETWORK),
            lambda: probe_userinfo(client, url, NETWORK),
        ):
            started = time.monotonic()
            result = probe()
            elapsed = time.monotonic() - started
            assert result.status == "fail" and result.unreachable, result
            assert result.code == f"{result.name}-unreachable"
            assert result.details["cause"] == "deadline-exceeded"
            assert result.message.startswith(
                f"{url} did not answer completely within 1 s: deadline reached after 1."
            ), result.message
            assert elapsed < DEADLINE + 0.5


def test_login_requests_end_at_the_deadline(silent_url: str) -> None:
    with make_client(NETWORK) as client:
        started = time.monotonic()
        with pytest.raises(FetchUnreachable) as caught:
            fetch_userinfo(client, silent_url, "token", NETWORK)
    assert caught.value.code == "deadline-exceeded"
    assert caught.value.exit_code == 4
    assert time.monotonic() - started < DEADLINE + 0.5


def test_endless_authorization_page_is_not_buffered(server: DocServer) -> None:
    """Was: the whole body read into memory (an endless one until memory or deadline ran out)."""
    server.route("/authorize", endless())
    network = NetworkOptions(max_body_bytes=100_000)
    with make_client(network) as client:
        started = time.monotonic()
        result = probe_redirect_uri(client, server.base + "/authorize", TARGET, network)
    assert (result.status, result.code, result.unreachable) == (
        "fail",
        "document-too-large",
        False,
    )
    assert "more than the 100000 bytes allowed for an answer" in result.message
    assert time.monotonic() - started < 3
