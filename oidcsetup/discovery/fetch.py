"""Fetching discovery documents and JWKS: candidate URLs, one httpx client factory, hard limits.

Every network failure becomes an ``UnreachableError`` (exit 4) and every "the server answered,
but not with a JSON document" becomes a ``FindingsError`` (exit 3); both carry a stable finding
``code`` (docs/discover.md) and a one-line message naming the URL.

Limits (``oidcsetup.http.NetworkOptions``): connect and read timeouts, an overall deadline per
fetch that is hard: a watchdog shuts the fetch's sockets down when it passes, so neither a
server trickling its headers or body a byte at a time nor one going silent after the headers
(or mid-body) holds the command past it (``hard_deadline``); bounded retries with exponential
backoff on connection errors and 5xx only, and a body size cap enforced while streaming
(``Content-Length`` checked first; nothing over the cap is ever buffered).

Redirects (docs/security.md, "Providers and the network"): no client made here follows one by
itself. ``fetch`` (discovery documents, JWKS: public, credential-free GETs) follows at most
``max_redirects`` by hand and judges each ``Location`` BEFORE sending anything there
(``redirect_refusal``: never https to http, only http(s), no user:password@). ``request`` (the
probes and the login: client secret, code, PKCE verifier, bearer token) never follows one: the
caller gets the 3xx and reports it (``redirect_location`` names where it pointed).

httpx is imported inside functions: the CLI imports this module's callers for ``--help``.
"""

from __future__ import annotations

import errno
import functools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from oidcsetup import __version__
from oidcsetup.errors import FindingsError, InputError, UnreachableError, UsageError
from oidcsetup.findings import Finding, Level
from oidcsetup.http import NetworkOptions

if TYPE_CHECKING:
    import ssl

    import httpx

OPENID_SUFFIX = "/.well-known/openid-configuration"
OAUTH_SUFFIX = "/.well-known/oauth-authorization-server"
JSON_HEADERS = {
    "Accept": "application/json",
    # Plain bodies only: a compressed chunk could inflate far past the size cap at once.
    "Accept-Encoding": "identity",
}
CA_HINT = "pass --ca-bundle PEM with the CA that signed the provider's certificate"


# --- errors carrying a finding code ----------------------------------------------------------


class FetchUnreachable(UnreachableError):
    """The URL could not be fetched at all (DNS, refused, timeout, TLS, 5xx, redirects)."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code
        self.tried_urls: tuple[str, ...] = ()  # set by discover(): the URLs actually fetched

    def finding(self) -> Finding:
        return Finding(Level.ERROR, self.code, self.message, self.hint)


class FetchInvalid(FindingsError):
    """The server answered, but not with a usable JSON document (HTML, bad JSON, 404, too big)."""

    def __init__(
        self, code: str, message: str, hint: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, hint)
        self.code = code
        self.status = status
        self.tried_urls: tuple[str, ...] = ()  # set by discover(): the URLs actually fetched

    def finding(self) -> Finding:
        return Finding(Level.ERROR, self.code, self.message, self.hint)


# --- candidate URLs --------------------------------------------------------------------------


def candidate_urls(issuer: str) -> list[str]:
    """Discovery document URLs to probe for ``issuer``, in order, without duplicates.

    1. OpenID Connect Discovery 1.0 section 4: ``ISSUER/.well-known/openid-configuration``,
       after removing one terminating "/" of the issuer.
    2. RFC 8414 section 3.1 path insertion: ``ORIGIN/.well-known/oauth-authorization-server/PATH``
       (the issuer's terminating "/" removed before inserting).
    3. The same insertion for OpenID (RFC 8414 section 5): ``ORIGIN/.well-known/openid-configuration/PATH``.
    """
    parts = urlsplit(issuer)
    base = issuer[:-1] if issuer.endswith("/") else issuer
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    urls = [base + OPENID_SUFFIX, origin + OAUTH_SUFFIX + path, origin + OPENID_SUFFIX + path]
    unique: list[str] = []
    for url in urls:
        if url not in unique:
            unique.append(url)
    return unique


def issuer_from_document_url(url: str) -> str | None:
    """The issuer a well-known URL stands for (reverse of ``candidate_urls``), else None."""
    parts = urlsplit(url)
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    if parts.query or parts.fragment:
        return None
    path = parts.path
    if path.endswith(OPENID_SUFFIX):
        return origin + path[: -len(OPENID_SUFFIX)]
    for suffix in (OAUTH_SUFFIX, OPENID_SUFFIX):
        if path.startswith(suffix + "/"):
            return origin + path[len(suffix) :]
    return None


# --- the client ------------------------------------------------------------------------------


def ssl_verify(network: NetworkOptions) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` gets: False (--insecure), a context for --ca-bundle, or True."""
    import ssl

    if network.insecure:
        return False
    if network.ca_bundle:
        try:
            # httpx 0.28 wants an SSLContext for a custom CA (see shared/reference/test-infra.md).
            return ssl.create_default_context(cafile=network.ca_bundle)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise InputError(
                f"cannot load CA bundle {network.ca_bundle}: {exc}",
                hint="--ca-bundle takes a PEM file of CA certificates",
            ) from None
    return _default_context()


@functools.lru_cache(maxsize=1)
def _default_context() -> ssl.SSLContext:
    """httpx's default trust store (certifi), loaded once per process: loading costs ~0.1 s."""
    import httpx

    return httpx.create_ssl_context()


def make_client(
    network: NetworkOptions,
    *,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An httpx client with the project's TLS, timeout and redirect policy.

    TLS is verified unless ``network.insecure`` (the CLI root prints the loud warning);
    ``network.ca_bundle`` replaces the default trust store. The client never follows a
    redirect by itself (``request`` refuses to, ``fetch`` follows by hand after checking the
    target). ``transport`` exists for tests that inject faults. Use ``fetch`` or ``request``
    on it to get the deadline, size cap and redirect policy.
    """
    import httpx

    timeout = httpx.Timeout(
        connect=network.connect_timeout,
        read=network.read_timeout,
        write=network.read_timeout,
        pool=network.connect_timeout,
    )
    tracker = _SocketTracker()
    client = httpx.Client(
        verify=ssl_verify(network),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": f"oidcsetup/{__version__}"},
        transport=transport,
        event_hooks={"request": [tracker.attach]},
    )
    setattr(client, _TRACKER_ATTR, tracker)
    return client


# --- the hard deadline -----------------------------------------------------------------------

_TRACKER_ATTR = "_oidcsetup_sockets"


class _SocketTracker:
    """The sockets a ``make_client`` client opened, so a deadline can cut them from outside.

    httpcore reports each new connection through the documented ``trace`` request extension
    (events ``<pool>.connect_tcp.complete`` and ``<pool>.start_tls.complete``, whose
    ``return_value`` is the network stream; ``get_extra_info("socket")`` is its socket).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def attach(self, request: httpx.Request) -> None:
        """httpx request hook (runs for every request and redirect hop)."""
        request.extensions.setdefault("trace", self.trace)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if not event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets = [s for s in self._sockets if s.fileno() != -1]
                self._sockets.append(sock)

    def cut(self) -> None:
        """Shut every open socket down: a read blocked in another thread returns at once.

        (Closing the descriptor would not wake a blocked ``recv`` on Linux; ``shutdown`` does.
        The base-class method is called on purpose: ``SSLSocket.shutdown`` also drops its TLS
        object, which the reading thread is still using.)
        """
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with suppress(OSError):  # already closed, or detached by the TLS wrap
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Deadline:
    """What ``hard_deadline`` yields: ``expired`` once the watchdog has cut the sockets."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False

    @property
    def remaining(self) -> float:
        return self.at - time.monotonic()


@contextmanager
def hard_deadline(client: httpx.Client, at: float) -> Iterator[Deadline]:
    """Run requests on ``client`` that must end by ``at`` (a ``time.monotonic()`` value).

    A watchdog thread shuts down the client's sockets at ``at``, so any blocked read or write
    fails at once (httpx raises a ``ReadError``, ``RemoteProtocolError`` or the like); the
    caller checks ``expired`` to report the deadline instead. Clients not made by
    ``make_client`` (no tracked sockets) keep only their timeouts.
    """
    state = Deadline(at)
    tracker = getattr(client, _TRACKER_ATTR, None)

    def fire() -> None:
        state.expired = True
        if isinstance(tracker, _SocketTracker):
            tracker.cut()

    timer = threading.Timer(max(0.0, at - time.monotonic()), fire)
    timer.daemon = True
    timer.start()
    try:
        yield state
    finally:
        timer.cancel()


# --- fetching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One HTTP response, body complete and within the size cap."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    attempts: int = 1
    redirects: tuple[str, ...] = field(default=())


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _host(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or url
    return f"{host}:{port}" if port else host


class _Retryable(Exception):
    def __init__(self, error: FetchUnreachable) -> None:
        super().__init__(error.message)
        self.error = error


def _connect_error(url: str, exc: BaseException) -> FetchUnreachable | _Retryable:
    """Name a connection failure; transient ones come back wrapped in ``_Retryable``."""
    import ssl  # already loaded by httpx: ssl is imported only where TLS is involved

    host = _host(url)
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or str(cause)
            return FetchUnreachable(
                "tls-verify-failed",
                f"TLS certificate of {host} is not trusted: {reason}",
                hint=CA_HINT + " (or fix the server's certificate chain)",
            )
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or str(cause)
            return FetchUnreachable(
                "tls-failure",
                f"TLS handshake with {host} failed: {reason}",
                hint="check that the URL's port speaks https (not plain http); " + CA_HINT,
            )
        if isinstance(cause, socket.gaierror):
            error = FetchUnreachable(
                "dns-failure",
                f"cannot resolve host {urlsplit(url).hostname}: DNS lookup failed",
                hint="check the spelling of the issuer's host name and this machine's DNS",
            )
            # EAI_AGAIN is a temporary resolver failure: worth a retry; NXDOMAIN is not.
            return _Retryable(error) if cause.errno == socket.EAI_AGAIN else error
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return _Retryable(
                FetchUnreachable(
                    "connection-refused",
                    f"connection to {host} refused: nothing listens there",
                    hint="check the issuer's port and that the provider is running",
                )
            )
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return FetchUnreachable(
            "dns-failure",
            f"cannot resolve host {urlsplit(url).hostname}: DNS lookup failed",
            hint="check the spelling of the issuer's host name and this machine's DNS",
        )
    if "certificate verify failed" in lowered:
        return FetchUnreachable(
            "tls-verify-failed", f"TLS certificate of {host} is not trusted: {text}", hint=CA_HINT
        )
    return _Retryable(FetchUnreachable("connection-failed", f"cannot connect to {host}: {text}"))


def fetch(
    client: httpx.Client,
    url: str,
    network: NetworkOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """GET ``url`` within the network limits; retries connection errors and 5xx only.

    Returns the response whatever its status (after retries for 5xx); raises
    ``FetchUnreachable`` or ``FetchInvalid`` (body too large).
    """
    deadline = time.monotonic() + network.deadline
    attempt = 0
    while True:
        attempt += 1
        try:
            fetched = _fetch_once(client, url, network, deadline, attempt)
        except _Retryable as retry:
            if not _may_retry(attempt, network, deadline, sleep):
                raise retry.error from None
            continue
        if 500 <= fetched.status <= 599:
            if _may_retry(attempt, network, deadline, sleep):
                continue
            raise FetchUnreachable(
                "server-error",
                f"{url} answered HTTP {fetched.status} "
                f"(after {attempt} attempt{'s' if attempt > 1 else ''})",
                hint="the provider is failing; check its logs, then try again",
            )
        return fetched


def _may_retry(
    attempt: int, network: NetworkOptions, deadline: float, sleep: Callable[[float], None]
) -> bool:
    if attempt > network.retries:
        return False
    delay = network.retry_backoff * (2 ** (attempt - 1))
    if time.monotonic() + delay >= deadline:
        return False
    sleep(delay)
    return True


def _fetch_once(
    client: httpx.Client, url: str, network: NetworkOptions, deadline: float, attempt: int
) -> Fetched:
    import httpx

    started = deadline - network.deadline  # when the fetch (all its attempts) began
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _deadline_error(url, network, started)
    timeout = httpx.Timeout(
        connect=min(network.connect_timeout, remaining),
        read=min(network.read_timeout, remaining),
        write=min(network.read_timeout, remaining),
        pool=min(network.connect_timeout, remaining),
    )
    received = _Received()
    with hard_deadline(client, deadline) as watch:
        try:
            fetched = _follow(client, url, network, deadline, attempt, timeout, received)
        except (FetchUnreachable, FetchInvalid):
            raise
        except httpx.HTTPError as exc:
            if watch.expired:
                # The watchdog cut the connection: whatever httpx saw, the deadline passed.
                raise _deadline_error(url, network, started, received.bytes) from None
            raise _http_error(url, network, deadline, exc) from None
        except httpx.InvalidURL as exc:
            raise UsageError(f"{url} is not a valid URL: {exc}") from None
        if watch.expired:
            # A close-delimited body cut by the watchdog ends "normally", truncated: the
            # deadline is the verdict, not the invalid JSON the truncation would look like.
            raise _deadline_error(url, network, started, received.bytes)
        return fetched


@dataclass
class _Received:
    """Body bytes read so far (named in the deadline message)."""

    bytes: int = 0


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def redirect_location(response: httpx.Response) -> str | None:
    """The absolute URL a 3xx answer points to, or None when it is not a redirect."""
    from urllib.parse import urljoin

    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    return urljoin(str(response.url), location.strip())


def redirect_refusal(source: str, target: str) -> FetchUnreachable | None:
    """Why a redirect from ``source`` to ``target`` must not be followed, or None.

    Judged before anything is sent to ``target``: https never goes down to plain http (a
    network attacker could then read and rewrite the answer), only http(s) targets, and no
    ``user:password@`` in the target (it would be sent as credentials).
    """
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return FetchUnreachable(
            "redirect-unsafe",
            f"{source} redirects to {display_url(target)}, which is not an http(s) URL",
            hint="fix the provider's or proxy's redirect",
        )
    if parts.username is not None or parts.password is not None:
        return FetchUnreachable(
            "redirect-unsafe",
            f"{source} redirects to a URL with credentials (user:password@) on {_host(target)}",
            hint="fix the provider's or proxy's redirect; oidcsetup never sends URL credentials",
        )
    if urlsplit(source).scheme == "https" and parts.scheme == "http":
        return FetchUnreachable(
            "redirect-downgrade",
            f"{source} redirects to plain http ({display_url(target)}); not followed",
            hint="fix the provider's or proxy's redirect; oidcsetup never downgrades TLS",
        )
    return None


def display_url(url: str) -> str:
    """``url`` without any user:password@ (safe to print)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _follow(
    client: httpx.Client,
    url: str,
    network: NetworkOptions,
    deadline: float,
    attempt: int,
    timeout: httpx.Timeout,
    received: _Received,
) -> Fetched:
    """GET ``url``, following at most ``max_redirects`` redirects by hand (each target judged
    by ``redirect_refusal`` before it is requested)."""
    current = url
    hops: list[str] = []
    while True:
        with client.stream(
            "GET", current, timeout=timeout, headers=JSON_HEADERS, follow_redirects=False
        ) as response:
            target = redirect_location(response)
            if target is None:
                return _read(response, url, current, hops, network, deadline, attempt, received)
        if len(hops) >= network.max_redirects:
            raise FetchUnreachable(
                "too-many-redirects",
                f"{url} redirects more than {network.max_redirects} times (a redirect loop?)",
                hint="open the URL in a browser and fix the provider's or proxy's redirects",
            )
        refusal = redirect_refusal(current, target)
        if refusal is not None:
            raise refusal
        hops.append(current)
        current = target


def _read(
    response: httpx.Response,
    url: str,
    final_url: str,
    hops: list[str],
    network: NetworkOptions,
    deadline: float,
    attempt: int,
    received: _Received,
) -> Fetched:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > network.max_body_bytes:
        raise _too_large(url, network, declared=int(declared))
    chunks: list[bytes] = []
    for chunk in response.iter_bytes():
        received.bytes += len(chunk)
        if received.bytes > network.max_body_bytes:
            raise _too_large(url, network)
        if time.monotonic() > deadline:
            raise _deadline_error(url, network, deadline - network.deadline, received.bytes)
        chunks.append(chunk)
    return Fetched(
        url=url,
        final_url=final_url,
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=b"".join(chunks),
        attempts=attempt,
        redirects=tuple(hops),
    )


def _http_error(
    url: str, network: NetworkOptions, deadline: float, exc: httpx.HTTPError
) -> FetchUnreachable | UsageError | _Retryable:
    """Name an httpx failure; transient ones come back wrapped in ``_Retryable``."""
    import httpx

    # After a redirect the failing request is not ``url``: name the host that failed.
    try:
        failed = str(exc.request.url)
    except RuntimeError:  # no request attached
        failed = url
    if isinstance(exc, httpx.ConnectTimeout):
        return _Retryable(
            FetchUnreachable(
                "timeout",
                f"connecting to {_host(failed)} timed out after {network.connect_timeout:g} s",
                hint="check the host, the port and any firewall in between",
            )
        )
    if isinstance(exc, httpx.TimeoutException):
        if time.monotonic() >= deadline - 0.05:
            return _deadline_error(url, network, deadline - network.deadline)
        return FetchUnreachable(
            "timeout",
            f"{url} sent nothing for {network.read_timeout:g} s",
            hint="the provider is stuck or overloaded; check it, then try again",
        )
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(failed, exc)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return _Retryable(
            FetchUnreachable(
                "connection-failed",
                f"connection to {_host(failed)} broke: {exc or type(exc).__name__}",
                hint="check the provider and any proxy in front of it",
            )
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UsageError(f"{url} is not an http(s) URL")
    return FetchUnreachable(
        "connection-failed", f"fetching {url} failed: {exc or type(exc).__name__}"
    )


def request(
    client: httpx.Client,
    method: str,
    url: str,
    network: NetworkOptions,
    **kwargs: Any,
) -> httpx.Response:
    """One request (no retries, no redirect followed) under the hard deadline and size cap.

    For the probes and the login flow (authorization, token, userinfo requests), whose bodies
    are read whole and which may carry credentials: a redirect is never followed (whatever
    ``kwargs`` say), the 3xx answer is returned for the caller to judge (``redirect_location``).
    Returns the response, body read, whatever its status; raises ``FetchUnreachable`` for
    every network failure (with a finding code and a one-line message) and ``FetchInvalid``
    for a body over ``network.max_body_bytes``. ``kwargs`` go to ``client.stream`` (params,
    data, headers...).
    """
    import httpx

    # Plain bodies only, as for ``fetch``: a compressed chunk could inflate past the cap at once.
    kwargs["headers"] = {"Accept-Encoding": "identity", **dict(kwargs.get("headers") or {})}
    kwargs["follow_redirects"] = False
    started = time.monotonic()
    deadline = started + network.deadline
    chunks: list[bytes] = []
    size = 0
    with hard_deadline(client, deadline) as watch:
        try:
            with client.stream(method, url, **kwargs) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > network.max_body_bytes:
                    raise _too_large(url, network, declared=int(declared), what="an answer")
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > network.max_body_bytes:
                        raise _too_large(url, network, what="an answer")
                    if time.monotonic() > deadline:
                        raise _deadline_error(url, network, started, size)
                    chunks.append(chunk)
        except (FetchUnreachable, FetchInvalid):
            raise
        except httpx.HTTPError as exc:
            if watch.expired:
                raise _deadline_error(url, network, started, size) from None
            error = _http_error(url, network, deadline, exc)
            raise (error.error if isinstance(error, _Retryable) else error) from None
        if watch.expired:  # a close-delimited body cut short by the watchdog
            raise _deadline_error(url, network, started, size)
    # The body is decoded already: the copy must not claim an encoding (or a length).
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=response.request,
    )


def _deadline_error(
    url: str, network: NetworkOptions, started: float | None = None, received: int = 0
) -> FetchUnreachable:
    """The overall deadline passed: say so, after how long, and how much had arrived."""
    reached = ""
    if started is not None:
        reached = f": deadline reached after {time.monotonic() - started:.1f} s"
        if received:
            reached += f", {received} byte{'s' if received > 1 else ''} of the answer received"
    return FetchUnreachable(
        "deadline-exceeded",
        f"{url} did not answer completely within {network.deadline:g} s{reached}",
        hint="the provider is too slow or trickles its answer; check it (or raise --timeout)",
    )


def loads(body: bytes | str) -> Any:
    """``json.loads`` whose every failure is a ``ValueError``: a body nested thousands deep
    (``[[[[...``) raises RecursionError in the json module, which a hostile server can send."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def response_json(response: httpx.Response) -> Any:
    """The JSON body of a ``request`` answer; ``ValueError`` for anything else."""
    return loads(response.content)


def _too_large(
    url: str,
    network: NetworkOptions,
    declared: int | None = None,
    what: str = "a JSON document",
) -> FetchInvalid:
    size = f"{declared} bytes" if declared is not None else "more"
    return FetchInvalid(
        "document-too-large",
        f"{url} sent {size} than the {network.max_body_bytes} bytes allowed for {what}",
        hint="this is not a discovery document or JWKS; check the URL"
        if what == "a JSON document"
        else "check the URL; the provider (or a proxy) answers far more than an OAuth answer",
    )


# --- JSON documents --------------------------------------------------------------------------


def _looks_like_html(fetched: Fetched) -> bool:
    if "html" in fetched.content_type.lower():
        return True
    head = fetched.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<"))


def parse_json(fetched: Fetched, what: str = "discovery document") -> Any:
    """The JSON value of a 200 response; ``FetchInvalid`` for any other status, HTML or bad JSON."""
    url = fetched.url
    if fetched.status in (404, 410):
        raise FetchInvalid(
            "not-found", f"{url} answered HTTP {fetched.status}", status=fetched.status
        )
    if fetched.status != 200:
        raise FetchInvalid(
            "http-error",
            f"{url} answered HTTP {fetched.status} instead of the {what}",
            hint="check the URL, and whether a proxy in front of the provider blocks it",
            status=fetched.status,
        )
    if _looks_like_html(fetched):
        raise FetchInvalid(
            "document-is-html",
            f"{url} returned an HTML page, not a JSON {what}",
            hint="a web page (login page, proxy or app) answered: check the issuer URL",
            status=fetched.status,
        )
    try:
        text = fetched.body.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return json.loads(text)
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except json.JSONDecodeError as exc:
        problem = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    except (RecursionError, ValueError):
        problem = "nested too deeply or malformed"
    raise FetchInvalid(
        "document-invalid-json",
        f"{url} returned invalid JSON ({problem})",
        hint=f"the server is not serving a {what} there; check the URL",
        status=fetched.status,
    )


def content_type_finding(fetched: Fetched, what: str = "discovery document") -> Finding | None:
    """OpenID Connect Discovery 1.0 section 4.2: the response is ``application/json``."""
    media = fetched.content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    return Finding(
        Level.WARNING,
        "content-type-not-json",
        f"the {what} at {fetched.url} is served as {media or 'no content type'!r}, "
        "not application/json",
        "some clients refuse it; configure the server to send Content-Type: application/json",
    )


def fetch_json(
    client: httpx.Client, url: str, network: NetworkOptions, what: str = "document"
) -> tuple[Fetched, Any]:
    fetched = fetch(client, url, network)
    return fetched, parse_json(fetched, what)
