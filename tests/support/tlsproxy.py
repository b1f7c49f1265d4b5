"""A small TLS-terminating reverse proxy in front of the real Matomo (loopback only).

It stands for nginx/Apache/Traefik in front of Matomo: TLS ends here (a trustme certificate
for 127.0.0.1), the request goes on over plain http to PHP's server with the Host users typed,
and, depending on ``forwarded``, with or without ``X-Forwarded-Proto: https`` /
``X-Forwarded-Host`` / ``X-Forwarded-For`` (nginx's plain ``proxy_pass`` with
``proxy_set_header Host $http_host`` sends none of them; Traefik and Caddy send them).
Responses, redirects included, go back unchanged: what Matomo builds is what users get.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


@dataclass
class TlsProxy:
    server: ThreadingHTTPServer
    port: int
    ca_pem: Path
    cert_spki_sha256: str  # base64, for Chromium's --ignore-certificate-errors-spki-list
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(backend_port: int, forwarded: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def setup(self) -> None:
            self.request.settimeout(30)
            self.request.do_handshake()
            super().setup()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers = {
                k: v
                for k, v in headers.items()
                if not k.lower().startswith("x-forwarded-")  # never trust the client's
            }
            if body is not None:
                headers["Content-Length"] = str(len(body))
            headers["Connection"] = "close"
            if forwarded:
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-Host"] = self.headers.get("Host", "")
                headers["X-Forwarded-For"] = self.client_address[0]
            upstream = http.client.HTTPConnection("127.0.0.1", backend_port, timeout=120)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response_only(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                upstream.close()

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _forward

    return Handler


def start_tls_proxy(backend_port: int, workdir: Path, *, forwarded: bool) -> TlsProxy:
    import base64
    import hashlib

    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_pem = workdir / "proxy-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    spki_hash = base64.b64encode(hashlib.sha256(spki).digest()).decode()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(backend_port, forwarded))
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return TlsProxy(server, port, ca_pem, spki_hash, thread)


@contextlib.contextmanager
def running_tls_proxy(backend_port: int, workdir: Path, *, forwarded: bool) -> Iterator[TlsProxy]:
    proxy = start_tls_proxy(backend_port, workdir, forwarded=forwarded)
    try:
        yield proxy
    finally:
        proxy.stop()
