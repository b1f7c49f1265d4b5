"""What the real-provider fixtures share: a free loopback port, waiting for a server, stopping it.

Each provider module (lemonldap.py, glewlwyd.py, djangoop.py) starts a real server in a temp
dir on 127.0.0.1 and returns a :class:`RealProvider` describing it for the tests.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALLBACK = "/index.php?module=LoginOIDC&action=callback&provider=oidc"
MATOMO = "http://127.0.0.1:8080"
REDIRECT_URI = MATOMO + CALLBACK


class PeerUnavailable(RuntimeError):
    """The provider could not be started (its log tail is in the message)."""


def free_port() -> int:
    """A port free on 127.0.0.1 right now (for servers that must know their URL up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TestClient:
    """A client registered at a real provider, as the tests use it."""

    client_id: str
    secret: str = field(repr=False)
    redirect_uri: str = REDIRECT_URI
    note: str = ""


@dataclass
class RealProvider:
    """A real provider running on loopback, with the clients and the user it was set up with."""

    name: str  # "lemonldap", "glewlwyd", "django-oidc-provider"
    issuer: str
    port: int
    workdir: Path
    clients: dict[str, TestClient]
    username: str
    password: str = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log: Path,
    *,
    what: str,
    timeout: float = 20.0,
) -> None:
    """Poll ``ready`` until it is true; raise PeerUnavailable if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailable(f"{what} exited at start: {_tail(log)}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.05)
    stop_process(process)
    raise PeerUnavailable(f"{what} did not answer within {timeout:.0f} s: {_tail(log)}")


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness test: ``url`` answers HTTP 200 (no proxy, loopback)."""

    def ready() -> bool:
        import httpx

        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-2000:]
    return "(no log)"


def rsa_key_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh 2048-bit RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
