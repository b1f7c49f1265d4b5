"""Network settings shared by every command that talks HTTP (discovery, check, login).

The discovery helper module builds httpx clients from these (see discovery/fetch.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkOptions:
    ca_bundle: str | None = None  # PEM file of extra trusted CAs (--ca-bundle)
    insecure: bool = False  # --insecure: no TLS verification (loud warning)
    connect_timeout: float = 5.0  # seconds to connect
    read_timeout: float = 10.0  # seconds between bytes
    deadline: float = 20.0  # overall seconds for one fetch, body included
    retries: int = 2  # extra attempts on connection errors and 5xx only
    retry_backoff: float = 0.25  # seconds before the first retry, doubled for each next one
    max_redirects: int = 3
    max_body_bytes: int = 1_048_576  # 1 MiB: discovery documents and JWKS are a few KiB
