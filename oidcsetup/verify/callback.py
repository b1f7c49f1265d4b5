"""The loopback HTTP server that receives the login's callback on a free port (or the port of
``--redirect-uri``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from oidcsetup.errors import UsageError
from oidcsetup.urls import is_loopback_host
from oidcsetup.verify.authorization import same_secret
from oidcsetup.verify.oauth import LoginError

if TYPE_CHECKING:
    pass

CALLBACK_PATH = "/callback"


class CallbackServer:
    """A one-shot HTTP server on a loopback address receiving the authorization response.

    Only a response carrying the ``state`` of this login (``expect_state``) ends the wait:
    anything else that reaches the port (a forged or stale callback from another local
    process or web page) gets HTTP 400 and the server keeps waiting for the real one.
    """

    def __init__(self, redirect_uri: str | None = None) -> None:
        host, port, path = "127.0.0.1", 0, CALLBACK_PATH
        if redirect_uri:
            parts = urlsplit(redirect_uri)
            if parts.scheme != "http" or not is_loopback_host(parts.hostname):
                raise UsageError(
                    f"{redirect_uri} is not a loopback http:// URI this process can listen on",
                    hint="use e.g. http://127.0.0.1:8765/callback",
                )
            host = parts.hostname or host
            host = "127.0.0.1" if host == "localhost" else host
            port = parts.port or 80
            path = parts.path or "/"
        self._path = path
        self._result: str | None = None
        self._state: str | None = None
        self._event = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                if parts.path != owner._path or not ({"code", "error"} & params.keys()):
                    self.send_response(404)
                    self.end_headers()
                    return
                if not owner._is_ours(params.get("state")):
                    self._page(
                        400,
                        "This response does not belong to the login oidcsetup is waiting for "
                        "(its state differs); it was ignored.",
                    )
                    return
                self._page(200, "oidcsetup received the login response. You can close this tab.")
                if owner._result is None:
                    owner._result = f"{owner.redirect_uri}?{parts.query}"
                    owner._event.set()

            def _page(self, status: int, text: str) -> None:
                page = (
                    "<!doctype html><meta charset=utf-8><title>oidcsetup</title><p>" + text
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
                pass

        try:
            server_class = HTTPServer
            if ":" in host:
                import socket

                class V6Server(HTTPServer):
                    address_family = socket.AF_INET6

                server_class = V6Server
            self._server = server_class((host.strip("[]"), port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port} for the login callback: {exc}",
                hint="choose another port with --redirect-uri http://127.0.0.1:PORT/callback",
            ) from None
        bound_port = self._server.server_address[1]
        netloc = f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"
        if redirect_uri:
            parts = urlsplit(redirect_uri)
            self.redirect_uri = urlunsplit(("http", parts.netloc, path, "", ""))
        else:
            self.redirect_uri = f"http://{netloc}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def expect_state(self, state: str) -> None:
        """Accept only the callback carrying ``state`` (the authorization request's)."""
        self._state = state

    def _is_ours(self, state: str | None) -> bool:
        expected = self._state
        return expected is not None and state is not None and same_secret(state, expected)

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        """The full callback URL, or LoginError after ``timeout`` seconds."""
        if not self._event.wait(timeout):
            raise LoginError(
                f"no login response arrived within {timeout:.0f} s",
                hint="complete the login in the browser sooner, or raise --timeout",
                code="timeout",
            )
        assert self._result is not None
        return self._result
