"""Start and stop the real OpenID provider under testprovider/ (panva/oidc-provider on node).

Used by the tests (fixtures in tests/conftest.py) and by scripts/demo. Loopback only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROVIDER_DIR = REPO / "testprovider"
CALLBACK = "/index.php?module=LoginOIDC&action=callback&provider=oidc"


class ProviderUnavailable(RuntimeError):
    """node or testprovider/node_modules is missing (run `npm ci` in testprovider/)."""


def provider_missing_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "testprovider/node_modules is missing: run `npm ci --prefix testprovider`"
    return None


def matomo_client(
    redirect_uri: str = "http://127.0.0.1:8080" + CALLBACK,
    client_id: str = "matomo",
    client_secret: str = "matomo-test-secret",
    **metadata: Any,
) -> dict[str, Any]:
    """Client metadata as Login OIDC needs it: confidential, secret posted in the form body."""
    client = {
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }
    client.update(metadata)
    return client


def registration_config(initial_access_token: str, *, rotate: bool = True) -> dict[str, Any]:
    """The ``registration`` config key: dynamic client registration (RFC 7591) and management
    (RFC 7592) on, guarded by a static initial access token; ``rotate``: a new registration
    access token with every update (oidc-provider's default)."""
    return {"registration": {"initialAccessToken": initial_access_token, "rotate": rotate}}


@dataclass
class RunningProvider:
    issuer: str
    port: int
    pid: int
    config: dict[str, Any]
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "provider.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_provider(
    clients: list[dict[str, Any]] | None = None,
    *,
    workdir: Path | None = None,
    timeout: float = 15.0,
    **config: Any,
) -> RunningProvider:
    """Start testprovider/server.mjs with the given config; returns once discovery is served.

    ``config`` keys are those of server.mjs (issuerPath, https, clientAuthMethods, scopes,
    accounts, interactions, autoLogin, requirePkce, port, host, registration: see
    ``registration_config``).
    """
    reason = provider_missing_reason()
    if reason:
        raise ProviderUnavailable(reason)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="oidcsetup-provider-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    with contextlib.suppress(FileNotFoundError):
        ready.unlink()
    full_config = {"clients": clients if clients is not None else [matomo_client()], **config}
    full_config["readyFile"] = str(ready)
    config_path = workdir / "provider.json"
    config_path.write_text(json.dumps(full_config))
    log = (workdir / "provider.log").open("wb")
    process = subprocess.Popen(
        ["node", str(PROVIDER_DIR / "server.mjs"), str(config_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=PROVIDER_DIR,
        env={**os.environ, "NODE_ENV": "test"},
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProviderUnavailable(
                "oidc-provider exited at start: " + (workdir / "provider.log").read_text()[-2000:]
            )
        if ready.exists():
            info = json.loads(ready.read_text())
            return RunningProvider(
                issuer=info["issuer"],
                port=info["port"],
                pid=info["pid"],
                config=full_config,
                workdir=workdir,
                process=process,
            )
        time.sleep(0.02)
    process.kill()
    raise ProviderUnavailable(f"oidc-provider did not start within {timeout:.0f} s")


@contextlib.contextmanager
def running_provider(
    clients: list[dict[str, Any]] | None = None, **config: Any
) -> Iterator[RunningProvider]:
    provider = start_provider(clients, **config)
    try:
        yield provider
    finally:
        provider.stop()
