"""check under network latency: `oidcsetup --json check` (in process) against the local
oidc-provider behind a delaying proxy of our own (every request waits 100 ms before it is
forwarded), versus the longest chain of requests that truly depend on each other.

That chain is two requests long: the discovery document, then any request that needs a URL
from it (JWKS, authorization, token, userinfo: none needs another's answer). The floor is that
chain done with a bare httpx client through the same proxy: the document, then the four
dependent requests side by side. Target: check's wall time at most 1.5 times the floor.

Run: python -m benchmarks.check_latency [--runs N] [--markdown] [--code PATH]
(--code: the oidcsetup source tree to time, e.g. an older checkout, for a before/after ratio).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.timing import REPO, Row, clean_env, row

TARGET = 1.5
DELAY = 0.100
SECRET = "matomo-test-secret"
MATOMO = "http://127.0.0.1:8080"


@contextmanager
def delaying_proxy(upstream: str, delay: float = DELAY) -> Iterator[str]:
    """A reverse proxy on a free loopback port: each request sleeps ``delay`` seconds, then goes
    to ``upstream``; the upstream's base URL in bodies and Location headers becomes the proxy's,
    so every URL the provider publishes leads through the proxy too. Yields the proxy's base."""
    target = urlsplit(upstream)
    upstream_base = f"{target.scheme}://{target.netloc}"
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            time.sleep(delay)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "accept-encoding", "keep-alive")
            }
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                content = answer.read().replace(upstream_base.encode(), holder["base"].encode())
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() in ("content-length", "transfer-encoding", "connection"):
                        continue
                    if key.lower() == "location":
                        value = value.replace(upstream_base, holder["base"])
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            finally:
                connection.close()

        do_GET = forward
        do_POST = forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    try:
        yield holder["base"]
    finally:
        server.shutdown()
        server.server_close()


# Runs in a child process, so that --code can time another source tree: the floor and check,
# interleaved, RUNS times after one warm-up; prints the medians as JSON.
_CHILD = r"""
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
import httpx
from click.testing import CliRunner
from oidcsetup.cli.main import cli

issuer, secret, matomo, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

# The floor's client and threads exist before the clock starts: only the requests are timed.
client = httpx.Client(trust_env=False)
pool = ThreadPoolExecutor(4)

def floor():
    doc = client.get(issuer + "/.well-known/openid-configuration").json()
    jobs = [
        pool.submit(client.get, doc["jwks_uri"]),
        pool.submit(client.get, doc["authorization_endpoint"],
                    params={"client_id": "matomo", "response_type": "code"}),
        pool.submit(client.post, doc["token_endpoint"], data={"grant_type": "x"}),
        pool.submit(client.get, doc["userinfo_endpoint"]),
    ]
    [job.result() for job in jobs]

def check():
    result = CliRunner().invoke(
        cli, ["--json", "check", "--issuer", issuer, "--matomo-url", matomo],
        env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0, result.output

samples = {"floor": [], "check": []}
for round_ in range(runs + 1):
    for name, job in (("floor", floor), ("check", check)):
        start = time.perf_counter()
        job()
        if round_:
            samples[name].append(time.perf_counter() - start)
print(json.dumps({k: statistics.median(v) for k, v in samples.items()}))
"""


def time_check(issuer: str, runs: int, code: Path) -> dict[str, float]:
    env = clean_env({"PYTHONPATH": str(code)})
    with tempfile.TemporaryDirectory() as empty:  # no ./oidcsetup.toml
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, issuer, SECRET, MATOMO, str(runs)],
            env=env,
            cwd=empty,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"check timing failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(runs: int, code: Path | None = None) -> list[Row]:
    from tests.support.provider import provider_missing_reason, running_provider

    reason = provider_missing_reason()
    if reason:
        return [row("check latency", f"skipped: {reason}")]
    with running_provider() as provider, delaying_proxy(provider.issuer) as issuer:
        medians = time_check(issuer, runs, code or REPO)
    label = f" ({code})" if code else ""
    return [
        row(
            f"check floor: discovery, then 4 dependent requests side by side "
            f"({DELAY * 1000:.0f} ms per request)",
            medians["floor"],
            "s",
        ),
        row(
            f"oidcsetup --json check, local oidc-provider behind the delaying proxy{label}",
            medians["check"],
            "s",
            floor=medians["floor"],
            target=TARGET,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--code", type=Path, help="oidcsetup source tree to time")
    args = parser.parse_args()
    from benchmarks.report import print_rows

    print_rows(measure(args.runs, args.code), markdown=args.markdown)


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
