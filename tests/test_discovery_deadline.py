"""The per-fetch deadline is hard: a server going silent or trickling cannot hold a fetch past it.

The read timeout (10 s by default) restarts with every byte, so before the watchdog a server
that sent its headers (or part of the body) and then went silent held a fetch up to a read
timeout past the deadline, and one trickling its headers a byte at a time held it for hours.
Every test here uses a read timeout far longer than the deadline, so only the deadline can end
the fetch in time.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from oidcsetup.discovery.fetch import FetchUnreachable, fetch, make_client
from oidcsetup.http import NetworkOptions
from tests.support.docserver import DocServer, doc_server, run_cli, send

DEADLINE = 1.0
MARGIN = 0.5  # thread scheduling and the socket shutdown; the old behaviour overshot by >= 0.8 s
NETWORK = NetworkOptions(deadline=DEADLINE, read_timeout=30.0, retries=0)

pytestmark = pytest.mark.timeout(15)


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """Set at the end of a test: releases the server threads that are being silent."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def server() -> Iterator[DocServer]:
    with doc_server() as running:
        yield running


def headers_then_silent(stop: threading.Event, delay: float = 0.8) -> object:
    """Wait ``delay``, send the headers and the first byte of a 1000-byte body, go silent."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"{")
        handler.wfile.flush()
        stop.wait(20)

    return handle


def trickled_headers(stop: threading.Event) -> object:
    """A status line, then one byte of a never-ending header line every 0.1 s."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not stop.wait(0.1):
            handler.wfile.write(b"a")
            handler.wfile.flush()

    return handle


def timed_fetch(url: str, network: NetworkOptions = NETWORK) -> tuple[FetchUnreachable, float]:
    with make_client(network) as client:
        started = time.monotonic()
        with pytest.raises(FetchUnreachable) as caught:
            fetch(client, url, network)
        return caught.value, time.monotonic() - started


def test_silent_after_the_headers_is_cut_at_the_deadline(
    server: DocServer, stop: threading.Event
) -> None:
    server.route("/doc", headers_then_silent(stop))  # type: ignore[arg-type]
    error, elapsed = timed_fetch(server.base + "/doc")
    assert error.code == "deadline-exceeded"
    assert re.fullmatch(
        re.escape(f"{server.base}/doc did not answer completely within 1 s")
        + r": deadline reached after 1\.\d s(, \d+ bytes? of the answer received)?",
        error.message,
    ), error.message
    assert DEADLINE - 0.05 <= elapsed < DEADLINE + MARGIN


def test_trickled_headers_are_cut_at_the_deadline(server: DocServer, stop: threading.Event) -> None:
    server.route("/doc", trickled_headers(stop))  # type: ignore[arg-type]
    error, elapsed = timed_fetch(server.base + "/doc")
    assert error.code == "deadline-exceeded"
    assert elapsed < DEADLINE + MARGIN


def test_a_reused_connection_is_cut_too(server: DocServer, stop: threading.Event) -> None:
    """The second fetch runs on the first one's keep-alive connection (no new connect)."""
    server.route("/ok", lambda h: send(h, 200, b"{}", "application/json"))
    server.route("/doc", headers_then_silent(stop))  # type: ignore[arg-type]
    with make_client(NETWORK) as client:
        assert fetch(client, server.base + "/ok", NETWORK).status == 200
        started = time.monotonic()
        with pytest.raises(FetchUnreachable) as caught:
            fetch(client, server.base + "/doc", NETWORK)
        elapsed = time.monotonic() - started
    assert caught.value.code == "deadline-exceeded"
    assert elapsed < DEADLINE + MARGIN


def test_silent_tls_server_is_cut_at_the_deadline(stop: threading.Event, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with doc_server(tls=context) as server:
        server.route("/doc", headers_then_silent(stop))  # type: ignore[arg-type]
        network = NetworkOptions(
            deadline=DEADLINE, read_timeout=30.0, retries=0, ca_bundle=str(bundle)
        )
        error, elapsed = timed_fetch(server.base + "/doc", network)
    assert error.code == "deadline-exceeded"
    assert elapsed < DEADLINE + MARGIN


def test_a_fetch_within_the_deadline_is_not_cut(server: DocServer) -> None:
    """The watchdog is cancelled when the fetch ends: the connection stays usable."""
    server.route("/ok", lambda h: send(h, 200, b'{"a": 1}', "application/json"))
    network = NetworkOptions(deadline=0.3, read_timeout=30.0, retries=0)
    with make_client(network) as client:
        assert fetch(client, server.base + "/ok", network).body == b'{"a": 1}'
        time.sleep(0.4)  # past the first fetch's deadline
        assert fetch(client, server.base + "/ok", network).body == b'{"a": 1}'


def test_discover_ends_at_its_timeout(server: DocServer, stop: threading.Event) -> None:
    """The CLI: headers after 0.8 s, then silence; --timeout 1 ends it at 1 s, not 1.8 s."""
    server.route(
        "/.well-known/openid-configuration",
        headers_then_silent(stop),  # type: ignore[arg-type]
    )
    started = time.monotonic()
    result = run_cli("discover", server.base, "--timeout", "1")
    elapsed = time.monotonic() - started
    assert result.exit_code == 4
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.fullmatch(
        re.escape(
            f"error: {server.base}/.well-known/openid-configuration did not answer completely "
            "within 1 s: deadline reached after "
        )
        + r"1\.\d s(, \d+ bytes? of the answer received)?",
        errors[0],
    ), errors
    assert elapsed < DEADLINE + MARGIN
