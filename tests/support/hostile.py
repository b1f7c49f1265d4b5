"""A hostile OpenID provider and a credential recorder, both on loopback (tests of issue 15).

No real provider misbehaves on purpose, so these stand for what an attacker who controls a
provider (or a proxy in front of it) can answer: a token endpoint redirecting the token request
(``307`` keeps the method and the form body, RFC 9110 section 15.4.8) to a host of the
attacker's, a discovery document naming another token endpoint, deeply nested JSON, a forged
callback. ``Recorder`` is the attacker's host: it keeps every request it receives (method, path,
headers, body) and answers ``invalid_grant``, the answer that made ``check`` report
``client-auth-ok`` before the fix.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.path + "\n" + json.dumps(self.headers) + "\n" + self.body.decode("latin-1")


Route = Callable[[BaseHTTPRequestHandler, Received], None]


def answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def json_answer(status: int, document: Any) -> Route:
    body = json.dumps(document).encode()
    return lambda h, _: answer(h, status, body)


def redirect_to(location: str, status: int = 307) -> Route:
    return lambda h, _: answer(h, status, b"", "text/plain", {"Location": location})


class HttpServer:
    """A threaded loopback server: routes by path (any method), every request recorded."""

    def __init__(self, default: Route | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        self.default = default
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.command, self.path, dict(self.headers.items()), body)
                owner.received.append(got)
                route = owner.routes.get(urlsplit(self.path).path, owner.default)
                with suppress(BrokenPipeError, ConnectionResetError):
                    if route is None:
                        answer(self, 404, b"not found", "text/plain")
                    else:
                        route(self, got)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> HttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HostileProvider(HttpServer):
    """A provider whose discovery document is valid and which logs in without a form.

    ``/authorize`` answers at once with a code for the request's redirect_uri and state (as a
    zero-click provider does); ``/token``, ``/userinfo`` and ``/jwks`` are routes a test sets.
    """

    CODE = "hostile-authorization-code-0123456789"

    def __init__(self) -> None:
        super().__init__()
        self.routes["/authorize"] = self._authorize
        self.routes["/userinfo"] = lambda h, _: answer(
            h, 401, b"", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
        self.routes["/.well-known/openid-configuration"] = lambda h, _: answer(
            h, 200, json.dumps(self.document()).encode()
        )

    def document(self, **changes: Any) -> dict[str, Any]:
        base = self.base
        doc: dict[str, Any] = {
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
        }
        doc.update(changes)
        return doc

    def serve_document(self, document: dict[str, Any]) -> None:
        self.routes["/.well-known/openid-configuration"] = json_answer(200, document)

    def _authorize(self, handler: BaseHTTPRequestHandler, got: Received) -> None:
        params = dict(parse_qsl(urlsplit(got.path).query))
        target = params.get("redirect_uri", "")
        query = urlencode({"code": self.CODE, "state": params.get("state", "")})
        joiner = "&" if "?" in target else "?"
        answer(handler, 302, b"", "text/plain", {"Location": f"{target}{joiner}{query}"})


@contextmanager
def hostile_provider() -> Iterator[tuple[HostileProvider, HttpServer]]:
    """(provider, recorder): the recorder answers every request ``400 invalid_grant``."""
    recorder = HttpServer(default=json_answer(400, {"error": "invalid_grant"}))
    with HostileProvider() as provider, recorder:
        yield provider, recorder
