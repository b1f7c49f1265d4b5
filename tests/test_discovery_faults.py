"""Every bad input has a clear one-line error and its exit code (3 findings, 4 unreachable)."""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oidcsetup.discovery.fetch import FetchUnreachable, fetch, make_client
from oidcsetup.http import NetworkOptions
from tests.support.docserver import (
    DocServer,
    doc_server,
    endless,
    redirect,
    send,
    sequence,
    trickle,
)


@pytest.fixture
def server() -> Iterator[DocServer]:
    with doc_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> object:
    from tests.support.docserver import run_cli

    return run_cli(*args)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def minimal(base: str, issuer: str | None = None) -> dict:
    return {
        "issuer": issuer or base,
        "authorization_endpoint": base + "/authorize",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/userinfo",
        "jwks_uri": base + "/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dns_failure() -> None:
    result = run("discover", "https://oidcsetup-test.invalid")
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        "error: cannot resolve host oidcsetup-test.invalid: DNS lookup failed"
    )


def test_connection_refused() -> None:
    port = free_port()
    result = run("discover", f"http://127.0.0.1:{port}")
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        f"error: connection to 127.0.0.1:{port} refused: nothing listens there"
    )
    result = run("--json", "discover", f"http://127.0.0.1:{port}")
    assert result.exit_code == 4
    out = json.loads(result.stdout)  # exactly one JSON document, even on failure
    assert out["ok"] is False and out["exit_code"] == 4
    assert [f["code"] for f in out["findings"]] == ["connection-refused"]


def test_tls_failure_without_ca(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with doc_server(tls=context) as server:
        server.json("/.well-known/openid-configuration", minimal(server.base))
        result = run("discover", server.base, "--no-jwks")
        assert result.exit_code == 4
        line = one_error_line(result.stderr)
        assert line.startswith(f"error: TLS certificate of 127.0.0.1:{server.port} is not trusted")
        assert "--ca-bundle" in result.stderr
        # The same server with its CA trusted works.
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        result = run("--ca-bundle", str(bundle), "discover", server.base, "--no-jwks")
        assert result.exit_code == 0, result.stderr


def test_plain_http_on_https_url(server: DocServer) -> None:
    result = run("discover", f"https://127.0.0.1:{server.port}")
    assert result.exit_code == 4
    assert one_error_line(result.stderr).startswith(
        f"error: TLS handshake with 127.0.0.1:{server.port} failed"
    )


def test_html_instead_of_json(server: DocServer) -> None:
    server.raw(
        "/.well-known/openid-configuration",
        b"<!DOCTYPE html><html><body>Sign in</body></html>",
        "text/html; charset=utf-8",
    )
    result = run("discover", server.base)
    assert result.exit_code == 3
    assert one_error_line(result.stderr) == (
        f"error: {server.base}/.well-known/openid-configuration returned an HTML page, "
        "not a JSON discovery document"
    )


def test_invalid_json(server: DocServer) -> None:
    server.raw("/.well-known/openid-configuration", b'{"issuer": "x",}', "application/json")
    result = run("discover", server.base)
    assert result.exit_code == 3
    assert one_error_line(result.stderr) == (
        f"error: {server.base}/.well-known/openid-configuration returned invalid JSON "
        "(line 1 column 16: Expecting property name enclosed in double quotes)"
    )


def test_not_found_anywhere(server: DocServer) -> None:
    result = run("discover", server.base + "/realms/x")
    assert result.exit_code == 3
    line = one_error_line(result.stderr)
    assert line == (
        f"error: no discovery document: {server.base}/realms/x/.well-known/openid-configuration "
        "answered HTTP 404, and at the 2 other RFC 8414 locations"
    )
    assert len(server.hits) == 3


def test_oversize_declared(server: DocServer) -> None:
    big = b"{" + b" " * 2_000_000 + b"}"
    server.raw("/.well-known/openid-configuration", big, "application/json")
    result = run("discover", server.base)
    assert result.exit_code == 3
    assert "sent 2000002 bytes than the 1048576 bytes allowed" in one_error_line(result.stderr)


def test_oversize_endless_body_is_not_buffered(server: DocServer) -> None:
    server.route("/.well-known/openid-configuration", endless())
    started = time.monotonic()
    result = run("discover", server.base)
    assert result.exit_code == 3
    assert "sent more than the 1048576 bytes allowed" in one_error_line(result.stderr)
    assert time.monotonic() - started < 5


def test_slow_loris_trickle_is_cut_at_the_deadline(server: DocServer) -> None:
    server.route("/.well-known/openid-configuration", trickle(0.05))
    started = time.monotonic()
    result = run("discover", server.base, "--timeout", "1")
    elapsed = time.monotonic() - started
    assert result.exit_code == 4
    assert re.fullmatch(
        re.escape(
            f"error: {server.base}/.well-known/openid-configuration did not answer completely "
            "within 1 s: deadline reached after "
        )
        + r"1\.\d s, \d+ bytes of the answer received",
        one_error_line(result.stderr),
    ), result.stderr
    assert elapsed < 2.5


def test_silent_server_is_cut_at_the_deadline(server: DocServer) -> None:
    server.route("/.well-known/openid-configuration", lambda h: time.sleep(3))
    started = time.monotonic()
    result = run("discover", server.base, "--timeout", "0.5")
    assert result.exit_code == 4
    assert "did not answer completely within 0.5 s" in one_error_line(result.stderr)
    assert time.monotonic() - started < 2


def test_redirect_loop(server: DocServer) -> None:
    server.route("/.well-known/openid-configuration", redirect("/loop-a"))
    server.route("/loop-a", redirect("/loop-b"))
    server.route("/loop-b", redirect("/loop-a"))
    result = run("discover", server.base)
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        f"error: {server.base}/.well-known/openid-configuration redirects more than 3 times "
        "(a redirect loop?)"
    )


def test_one_redirect_is_followed_and_reported(server: DocServer) -> None:
    server.route("/.well-known/openid-configuration", redirect("/moved.json"))
    server.json("/moved.json", minimal(server.base))
    result = run("--json", "discover", server.base, "--no-jwks")
    assert result.exit_code == 0, result.stderr
    assert "redirected" in {f["code"] for f in json.loads(result.stdout)["findings"]}


def test_5xx_is_retried_then_succeeds(server: DocServer) -> None:
    document = json.dumps(minimal(server.base)).encode()
    server.route(
        "/.well-known/openid-configuration",
        sequence(
            lambda h: send(h, 503, b"busy", "text/plain"),
            lambda h: send(h, 200, document, "application/json"),
        ),
    )
    result = run("discover", server.base, "--no-jwks")
    assert result.exit_code == 0, result.stderr
    assert server.hits["/.well-known/openid-configuration"] == 2


def test_5xx_gives_up_after_the_retries(server: DocServer) -> None:
    server.raw("/.well-known/openid-configuration", b"down", "text/plain", status=502)
    result = run("discover", server.base)
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        f"error: {server.base}/.well-known/openid-configuration answered HTTP 502 "
        "(after 3 attempts)"
    )
    assert server.hits["/.well-known/openid-configuration"] == 3


def test_4xx_is_not_retried(server: DocServer) -> None:
    server.raw("/.well-known/openid-configuration", b"no", "text/plain", status=403)
    result = run("discover", server.base)
    assert result.exit_code == 3
    assert "answered HTTP 403 instead of the discovery document" in one_error_line(result.stderr)
    assert server.hits["/.well-known/openid-configuration"] == 1


def test_issuer_mismatch(server: DocServer) -> None:
    server.json(
        "/.well-known/openid-configuration", minimal(server.base, "https://auth.example.com")
    )
    result = run("discover", server.base, "--no-jwks")
    assert result.exit_code == 3
    assert one_error_line(result.stderr) == (
        "error: issuer-host-mismatch: the provider says its issuer is 'https://auth.example.com', "
        f"on another host than '{server.base}'"
    )


def test_issuer_mismatch_is_not_saved(server: DocServer, tmp_path: Path) -> None:
    server.json("/.well-known/openid-configuration", minimal(server.base, server.base + "/"))
    result = run("discover", server.base, "--no-jwks", "--save")
    assert result.exit_code == 3
    assert "profile not saved" in result.stderr
    assert not (tmp_path / "oidcsetup.toml").exists()


def test_not_an_issuer_url() -> None:
    result = run("discover", "auth.example.com")
    assert result.exit_code == 2
    assert "did you mean https://auth.example.com?" in result.stderr


# --- fault injection at the transport (httpx.MockTransport) ---------------------------------


def test_connection_errors_are_retried_with_backoff() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if len(calls) < 3:
            raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)
        return httpx.Response(200, json={"ok": True})

    delays: list[float] = []
    network = NetworkOptions(retries=2, retry_backoff=0.1)
    with make_client(network, transport=httpx.MockTransport(handler)) as client:
        fetched = fetch(client, "https://idp.example/x", network, sleep=delays.append)
    assert fetched.status == 200 and fetched.attempts == 3
    assert delays == [0.1, 0.2]


def test_retries_are_bounded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 104] Connection reset by peer", request=request)

    delays: list[float] = []
    network = NetworkOptions(retries=2, retry_backoff=0.1)
    with (
        make_client(network, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(FetchUnreachable) as caught,
    ):
        fetch(client, "https://idp.example/x", network, sleep=delays.append)
    assert caught.value.code == "connection-failed"
    assert len(delays) == 2


def test_read_timeouts_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("timed out", request=request)

    network = NetworkOptions(retries=2, retry_backoff=0.01)
    with (
        make_client(network, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(FetchUnreachable) as caught,
    ):
        fetch(client, "https://idp.example/x", network, sleep=lambda _: None)
    assert caught.value.code == "timeout"
    assert calls == [1]


def test_https_to_http_redirect_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://idp.example/x"})
        return httpx.Response(200, json={})

    network = NetworkOptions()
    with (
        make_client(network, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(FetchUnreachable) as caught,
    ):
        fetch(client, "https://idp.example/x", network)
    assert caught.value.code == "redirect-downgrade"


# --- regressions of the QA pass ---------------------------------------------------------------


def test_invalid_ipv6_issuer_is_a_usage_error() -> None:
    """Was: an internal error (the candidate URLs were built before the syntax check)."""
    result = run("discover", "http://[::1")
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        "error: issuer 'http://[::1' is not a valid URL: Invalid IPv6 URL"
    )


def test_empty_issuer_is_a_usage_error() -> None:
    result = run("discover", "")
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == "error: the issuer is empty"
    assert "https://?" not in result.stderr


def test_issuer_with_a_password_is_refused_without_echoing_it(server: DocServer) -> None:
    """Was: the URL (password included) was fetched and echoed in messages and --json."""
    issuer = f"http://user:hunter2@127.0.0.1:{server.port}"
    result = run("--json", "discover", issuer)
    assert result.exit_code == 2
    assert "hunter2" not in result.stdout + result.stderr
    assert one_error_line(result.stderr) == (
        f"error: issuer 'http://127.0.0.1:{server.port}' must not contain user info "
        "(user:password@)"
    )
    assert not server.hits


def test_unreachable_json_lists_only_the_urls_tried() -> None:
    """Was: every candidate URL, although the first failure stops discovery."""
    port = free_port()
    result = run("--json", "discover", f"http://127.0.0.1:{port}/realm")
    assert result.exit_code == 4
    assert json.loads(result.stdout)["tried_urls"] == [
        f"http://127.0.0.1:{port}/realm/.well-known/openid-configuration"
    ]


def test_redirect_to_a_closed_port_names_the_redirect_target(server: DocServer) -> None:
    """Was: the message named the requested host (which answered), not the one that refused."""
    closed = free_port()
    server.route(
        "/.well-known/openid-configuration",
        redirect(f"http://127.0.0.1:{closed}/.well-known/openid-configuration"),
    )
    result = run("discover", server.base)
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        f"error: connection to 127.0.0.1:{closed} refused: nothing listens there"
    )
