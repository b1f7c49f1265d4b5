"""Discovery: `oidcsetup --json discover ISSUER` against the local real provider (oidc-provider
on node, tests/support/provider.py) versus a bare Python process fetching the same discovery
document and JWKS with httpx. Target: at most 1.2 times the floor.

Also counts the TCP connections one discover run opens (every connection httpx's transport
makes, counted in process), and whether the two fetches overlap in time (concurrent) or follow
each other: the document and the JWKS should travel over one kept-alive connection, or
concurrently.
Run: python -m benchmarks.discovery [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import sys
import threading
import time
from typing import Any

from benchmarks.timing import Row, clean_env, interleaved, oidcsetup_argv, process, row

TARGET = 1.2

_FLOOR = """
import sys, httpx
with httpx.Client() as client:
    document = client.get(sys.argv[1] + "/.well-known/openid-configuration").json()
    keys = client.get(document["jwks_uri"]).json()
assert keys["keys"]
"""


def connection_profile(issuer: str) -> dict[str, Any]:
    """Run discover in process; count TCP connects and requests, and whether requests overlap."""
    import httpcore._backends.sync as sync_backend
    import httpx

    from oidcsetup.cli.main import cli

    connects: list[str] = []
    spans: list[tuple[float, float, str]] = []
    lock = threading.Lock()
    original_connect = sync_backend.SyncBackend.connect_tcp
    original_send = httpx.HTTPTransport.handle_request

    def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        with lock:
            connects.append(f"{host}:{port}")
        return original_connect(self, host, port, *args, **kwargs)

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            return original_send(self, request)
        finally:
            with lock:
                spans.append((start, time.perf_counter(), request.url.path))

    sync_backend.SyncBackend.connect_tcp = connect_tcp  # type: ignore[method-assign]
    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            cli.main(["--json", "discover", issuer], prog_name="oidcsetup", standalone_mode=False)
    finally:
        sync_backend.SyncBackend.connect_tcp = original_connect  # type: ignore[method-assign]
        httpx.HTTPTransport.handle_request = original_send  # type: ignore[method-assign]
    spans.sort()
    overlapping = any(b[0] < a[1] for a, b in itertools.pairwise(spans))
    return {
        "connections": len(connects),
        "requests": [path for _, _, path in spans],
        "concurrent": overlapping,
    }


def measure(runs: int) -> list[Row]:
    from tests.support.provider import provider_missing_reason, running_provider

    reason = provider_missing_reason()
    if reason:
        return [row("discovery", f"skipped: {reason}")]
    py = sys.executable
    with running_provider() as provider:
        issuer = provider.issuer
        env = clean_env()
        medians = interleaved(
            {
                "floor": process([py, "-c", _FLOOR, issuer], env=env),
                "ours": process(oidcsetup_argv("--json", "discover", issuer), env=env),
            },
            runs,
        )
        profile = connection_profile(issuer)
    how = "concurrently" if profile["concurrent"] else "one after the other"
    return [
        row("discovery floor: python + httpx, document and JWKS", medians["floor"], "s"),
        row(
            "oidcsetup --json discover (local oidc-provider)",
            medians["ours"],
            "s",
            floor=medians["floor"],
            target=TARGET,
        ),
        row(
            "discover: TCP connections / HTTP requests",
            f"{profile['connections']} / {len(profile['requests'])} ({how})",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from benchmarks.report import print_rows

    print_rows(measure(args.runs), markdown=args.markdown)


if __name__ == "__main__":
    main()
