"""A hostile provider: each misbehaviour ends in one clear error line within the deadline.

The server here is a raw TCP socket server (not http.server), so a test can send exactly the
bytes it wants: headers a byte at a time, chunked bodies that never end, invalid UTF-8.
Already covered in tests/test_discovery_faults.py (not repeated): a body trickled a byte at a
time (test_slow_loris_trickle_is_cut_at_the_deadline), a silent server, a body over the cap by
Content-Length and close-delimited (test_oversize_*), a redirect loop (test_redirect_loop); and
in tests/test_discovery_deadline.py headers trickled a byte at a time
(test_trickled_headers_are_cut_at_the_deadline).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oidcsetup.discovery.fetch import Fetched, FetchInvalid, parse_json
from oidcsetup.discovery.validate import validate_document
from oidcsetup.findings import Finding
from tests.support.docserver import rsa_jwks, run_cli

Responder = Callable[[socket.socket, str, int], None]  # (connection, request path, hit number)


class RawServer:
    """Loopback TCP server; ``routes`` map a request path to a function writing raw bytes."""

    def __init__(self) -> None:
        self.routes: dict[str, Responder] = {}
        self.hits: dict[str, int] = {}
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffer = b""
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode().split("?", 1)[0]
                self.hits[path] = self.hits.get(path, 0) + 1
                responder = self.routes.get(path, not_found)
                responder(conn, path, self.hits[path])

    def json(self, path: str, document: Any) -> None:
        body = json.dumps(document).encode()
        self.routes[path] = lambda conn, _p, _n: respond(conn, body)

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


def respond(conn: socket.socket, body: bytes, status: str = "200 OK") -> None:
    conn.sendall(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def not_found(conn: socket.socket, _path: str, _hit: int) -> None:
    respond(conn, b"{}", "404 Not Found")


@contextmanager
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server() -> Iterator[RawServer]:
    with raw_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def document(base: str, issuer: str | None = None) -> dict[str, Any]:
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


def timed_discover(*args: str) -> tuple[Any, float]:
    started = time.monotonic()
    result = run_cli(*args)
    return result, time.monotonic() - started


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# --- a body larger than the cap, chunked (no Content-Length to refuse up front) --------------


def test_endless_chunked_body_is_cut_at_the_size_cap(server: RawServer) -> None:
    def chunked(conn: socket.socket, _path: str, _hit: int) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        for _ in range(1000):  # 64 MiB if nobody stops reading
            if server.stopping.is_set():
                return
            conn.sendall(chunk)

    server.routes["/.well-known/openid-configuration"] = chunked
    result, elapsed = timed_discover("discover", server.base)
    assert result.exit_code == 3, result.stderr
    assert error_lines(result.stderr) == [
        f"error: {server.base}/.well-known/openid-configuration sent more than the 1048576 "
        "bytes allowed for a JSON document"
    ]
    assert elapsed < 5


# --- invalid UTF-8 ---------------------------------------------------------------------------


def test_invalid_utf8_document(server: RawServer) -> None:
    body = json.dumps(document(server.base)).encode().replace(b"/token", b"/t\xff\xfeken")
    server.routes["/.well-known/openid-configuration"] = lambda c, _p, _n: respond(c, body)
    result, elapsed = timed_discover("discover", server.base)
    assert result.exit_code == 3, result.stderr
    assert error_lines(result.stderr) == [
        f"error: {server.base}/.well-known/openid-configuration returned invalid JSON "
        "(it is not UTF-8 text)"
    ]
    assert elapsed < 5


def test_invalid_utf8_jwks(server: RawServer) -> None:
    server.json("/.well-known/openid-configuration", document(server.base))
    server.routes["/jwks"] = lambda c, _p, _n: respond(c, b'{"keys": ["\xc3\x28"]}')
    result = run_cli("--json", "discover", server.base)
    assert result.exit_code == 3, result.stderr
    findings = json.loads(result.stdout)["findings"]
    invalid = [f for f in findings if f["code"] == "jwks-invalid"]
    assert len(invalid) == 1 and "not UTF-8" in invalid[0]["message"]


# --- a JWKS with broken keys -----------------------------------------------------------------


BROKEN_KEYS: list[Any] = [
    {"kty": "RSA", "kid": "bad-n", "n": "!!!not base64!!!", "e": "AQAB", "alg": "RS256"},
    {
        "kty": "RSA",
        "kid": "no-e",
        "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl",
    },
    {"kty": "EC", "kid": "bad-curve", "crv": "P-999", "x": "AA", "y": "AA"},
    {"kty": "EC", "kid": "not-on-curve", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
    {"kty": "OKP", "kid": "empty-okp", "crv": "Ed25519"},
    {"kty": "XYZ", "kid": "unknown-type"},
    {"kid": "no-kty"},
    {"kty": 42},
    "a string, not a key",
    None,
    [1, 2, 3],
]


def test_jwks_with_only_broken_keys_is_an_error_finding_not_a_crash(server: RawServer) -> None:
    server.json("/.well-known/openid-configuration", document(server.base))
    server.json("/jwks", {"keys": BROKEN_KEYS})
    result, elapsed = timed_discover("--json", "discover", server.base)
    assert result.exit_code == 3, result.stderr
    out = json.loads(result.stdout)
    codes = [f["code"] for f in out["findings"]]
    assert "jwks-no-usable-key" in codes
    assert codes.count("jwks-key-invalid") >= 3  # the RSA ones and the kty-less entries
    assert "internal error" not in result.stderr
    assert elapsed < 5


def test_one_good_key_among_broken_ones_is_enough(server: RawServer) -> None:
    server.json("/.well-known/openid-configuration", document(server.base))
    server.json("/jwks", {"keys": [*BROKEN_KEYS, *rsa_jwks("good")["keys"]]})
    result = run_cli("--json", "discover", server.base)
    out = json.loads(result.stdout)
    codes = [f["code"] for f in out["findings"]]
    assert "jwks-no-usable-key" not in codes
    assert "jwks-key-invalid" in codes  # the broken ones are still reported
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "jwks_body",
    [b"[]", b'{"keys": {}}', b"null", b'{"keys": "x"}', b"<html>no</html>", b'{"keys": [', b""],
)
def test_jwks_that_is_no_key_set(server: RawServer, jwks_body: bytes) -> None:
    server.json("/.well-known/openid-configuration", document(server.base))
    server.routes["/jwks"] = lambda c, _p, _n: respond(c, jwks_body)
    result = run_cli("--json", "discover", server.base)
    assert result.exit_code == 3, result.stderr
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert "jwks-invalid" in codes
    assert "internal error" not in result.stderr


# --- an issuer that changes between two fetches ----------------------------------------------


def test_issuer_that_changes_between_two_fetches(server: RawServer) -> None:
    """A load balancer in front of two differently configured providers: the second fetch
    names another issuer. The first run succeeds; the second fails clearly, saves nothing."""

    def flipping(conn: socket.socket, _path: str, hit: int) -> None:
        issuer = server.base if hit == 1 else "https://other-idp.example.com"
        respond(conn, json.dumps(document(server.base, issuer)).encode())

    server.routes["/.well-known/openid-configuration"] = flipping
    server.json("/jwks", rsa_jwks())
    first = run_cli("discover", server.base)
    assert first.exit_code == 0, first.stderr
    second, elapsed = timed_discover("discover", server.base, "--save")
    assert second.exit_code == 3, second.stderr
    assert error_lines(second.stderr) == [
        "error: issuer-host-mismatch: the provider says its issuer is "
        f"'https://other-idp.example.com', on another host than '{server.base}'; "
        "profile not saved"
    ]
    assert not Path("oidcsetup.toml").exists()
    assert elapsed < 5


# --- a redirect loop through absolute URLs, and a redirect to an unreachable place -----------


def _redirect_to_closed_port(server: RawServer) -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = int(probe.getsockname()[1])

    def redirect(conn: socket.socket, _path: str, _hit: int) -> None:
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n\r\n"
            % closed
        )

    server.routes["/.well-known/openid-configuration"] = redirect
    return closed


def test_redirect_to_a_closed_port_is_unreachable(server: RawServer) -> None:
    _redirect_to_closed_port(server)
    result, elapsed = timed_discover("discover", server.base)
    assert result.exit_code == 4, result.stderr
    (line,) = error_lines(result.stderr)
    assert line.endswith("refused: nothing listens there")
    assert elapsed < 5


def test_redirect_to_a_closed_port_names_the_port_that_refused(server: RawServer) -> None:
    closed = _redirect_to_closed_port(server)
    result = run_cli("discover", server.base)
    assert error_lines(result.stderr) == [
        f"error: connection to 127.0.0.1:{closed} refused: nothing listens there"
    ]


def test_garbage_instead_of_http(server: RawServer) -> None:
    def garbage(conn: socket.socket, _path: str, _hit: int) -> None:
        conn.sendall(b"\x00\xff\x13SSH-2.0-OpenSSH_9.2\r\n\r\n")
        conn.close()

    server.routes["/.well-known/openid-configuration"] = garbage
    result, elapsed = timed_discover("discover", server.base)
    assert result.exit_code == 4, result.stderr
    (line,) = error_lines(result.stderr)
    assert line.startswith("error: connection to 127.0.0.1:") and "broke" in line
    assert elapsed < 5


# --- the validator never raises, for any JSON value and any byte string ----------------------
# (The JSON-value property is tests/test_discovery_validate.py::test_validator_never_raises;
# this one feeds raw bytes through the same path discover uses: parse_json, then validate.)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=300)
    | st.builds(lambda t: t.encode("utf-8", "surrogatepass"), st.text(max_size=100))
    | st.sampled_from(
        [b"{}", b"[]", b"null", b"\xef\xbb\xbf{}", b'{"issuer": 1e999}', b"[" * 5000, b'"\\ud800"']
    ),
    content_type=st.sampled_from(["application/json", "text/html", "", "application/jwk-set+json"]),
)
def test_any_byte_string_gives_findings_or_a_clean_error(body: bytes, content_type: str) -> None:
    fetched = Fetched(
        url="https://idp.example/.well-known/openid-configuration",
        final_url="https://idp.example/.well-known/openid-configuration",
        status=200,
        content_type=content_type,
        body=body,
    )
    try:
        value = parse_json(fetched)
    except FetchInvalid as exc:
        assert exc.code in {"document-is-html", "document-invalid-json"}
        assert "\n" not in exc.message
        return
    findings = validate_document(value, expected_issuer="https://idp.example")
    assert all(isinstance(f, Finding) for f in findings)
