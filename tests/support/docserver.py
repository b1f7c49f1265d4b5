"""A tiny local HTTP(S) server for serving discovery documents and misbehaving on purpose.

Used by tests/test_discovery_*.py: routes map a path to a handler function, so a test can serve
a fixture document, HTML, a trickle, a redirect loop or a 503 then a document. Loopback only.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler], None]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "discovery"
BASE_PLACEHOLDER = "http://BASE"


class DocServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                handler = server.routes.get(path)
                if handler is None:
                    send(self, 404, b"not found", "text/plain")
                    return
                with suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    handler(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.port = self.httpd.server_address[1]
        self.base = f"{self.scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> DocServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- routes --------------------------------------------------------------------------

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def json(self, path: str, document: Any, status: int = 200) -> None:
        body = json.dumps(document).encode()
        self.route(path, lambda h: send(h, status, body, "application/json"))

    def raw(self, path: str, body: bytes, content_type: str, status: int = 200) -> None:
        self.route(path, lambda h: send(h, status, body, content_type))

    def fixture(self, name: str) -> dict[str, Any]:
        """A fixture document with ``http://BASE`` replaced by this server's base URL."""
        text = (FIXTURES / name).read_text().replace(BASE_PLACEHOLDER, self.base)
        document: dict[str, Any] = json.loads(text)
        return document


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str) -> Handler:
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return handle


def trickle(interval: float, total: int = 10_000) -> Handler:
    """Declare a JSON body of ``total`` bytes, then send one byte per ``interval``."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        handler.wfile.write(b"{")
        for _ in range(total - 1):
            handler.wfile.flush()
            time.sleep(interval)
            handler.wfile.write(b" ")

    return handle


def endless(chunk: int = 65536) -> Handler:
    """A close-delimited body (no Content-Length) that never ends."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b'{"padding": "')
        block = b"x" * chunk
        for _ in range(10_000):
            handler.wfile.write(block)

    return handle


def sequence(*handlers: Handler) -> Handler:
    """The n-th request gets the n-th handler (the last one repeats)."""
    calls = [0]

    def handle(handler: BaseHTTPRequestHandler) -> None:
        index = min(calls[0], len(handlers) - 1)
        calls[0] += 1
        handlers[index](handler)

    return handle


@contextmanager
def doc_server(tls: ssl.SSLContext | None = None) -> Iterator[DocServer]:
    with DocServer(tls) as server:
        yield server


def rsa_jwks(kid: str = "k1", alg: str | None = "RS256") -> dict[str, Any]:
    """A JWKS with one freshly generated RSA public key."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig"})
    if alg:
        jwk["alg"] = alg
    return {"keys": [jwk]}


def ec_jwks(kid: str = "ec1") -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig"})
    return {"keys": [jwk]}


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    """Run ``oidcsetup ARGS`` in-process; returns click's Result (stdout, stderr, exit_code)."""
    from click.testing import CliRunner

    from oidcsetup.cli.main import cli

    clean: dict[str, str | None] = {
        name: None
        for name in (
            "OIDCSETUP_ISSUER",
            "OIDCSETUP_PRESET",
            "OIDCSETUP_PROFILE",
            "OIDCSETUP_CA_BUNDLE",
            "OIDCSETUP_INSECURE",
            "OIDCSETUP_TIMEOUT",
            "OIDCSETUP_DEBUG",
            "NO_COLOR",
        )
    }
    clean.update(env or {})
    return CliRunner().invoke(cli, list(args), env=clean, catch_exceptions=False)
