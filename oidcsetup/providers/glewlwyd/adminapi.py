"""Glewlwyd's admin REST API, as far as ``apply glewlwyd`` needs it: a session, clients, scopes.

Facts (Glewlwyd 2.7.5; upstream docs/API.md, checked on the real server of
tests/support/glewlwyd.py):

- Every admin endpoint wants a session cookie whose user holds the ``g_admin`` scope, opened by
  ``POST /api/auth/`` with ``{"username", "password"}`` (200; 401 on a wrong password), or an
  API key sent as ``Authorization: token KEY`` (src/webservice.c). A session of a user without
  ``g_admin`` gets 401 from the admin endpoints.
- ``GET /api/client/{id}`` answers the client (404 when unknown) with ``client_secret`` in clear
  and without ``password`` (stored hashed); ``POST /api/client/`` creates; ``PUT
  /api/client/{id}`` REPLACES the client's properties: a property left out is dropped, except
  ``password``, kept when absent. A 400 carries a JSON array of messages.
- A scope named by a client need not exist (Glewlwyd stores it anyway): ``GET /api/scope/{name}``
  answers 404 for an unknown one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from oidcsetup.errors import ApplyError, InputError, OidcSetupError, UnreachableError
from oidcsetup.urls import is_loopback_host

if TYPE_CHECKING:
    import httpx

    from oidcsetup.http import NetworkOptions

USERNAME_ENV = "OIDCSETUP_GLEWLWYD_USERNAME"
PASSWORD_ENV = "OIDCSETUP_GLEWLWYD_PASSWORD"
API_KEY_ENV = "OIDCSETUP_GLEWLWYD_API_KEY"
CREDENTIALS_HINT = (
    f"set {USERNAME_ENV} and {PASSWORD_ENV} (a Glewlwyd administrator), or {API_KEY_ENV}"
)


class GlewlwydAuthError(OidcSetupError):
    """Glewlwyd refused the administrator's credentials (exit 1)."""

    code = "glewlwyd-auth-failed"


class GlewlwydApiError(ApplyError):
    """Glewlwyd's admin API answered something other than what its documentation says."""

    code = "glewlwyd-api-error"


@dataclass(frozen=True)
class AdminCredentials:
    """Who ``apply glewlwyd`` acts as: an administrator's password or an API key."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    @property
    def who(self) -> str:
        return f"user {self.username!r}" if self.username else "the API key"


def api_root(url: str) -> str:
    """The API root (``https://sso.example.com/api``): ``/api`` is added to a bare origin
    (Glewlwyd's default ``api_prefix``); a trailing slash is removed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--api {url!r} is not an http(s) URL",
            hint="pass Glewlwyd's API root, e.g. https://sso.example.com/api",
        )
    if parts.query or parts.fragment:
        raise InputError(
            f"--api {url!r} has a query or fragment",
            hint="pass Glewlwyd's API root, e.g. https://sso.example.com/api",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        # the administrator's password and session cookie travel with every request
        raise InputError(
            f"--api {url!r} is plain http: the administrator's credentials are not sent there",
            hint="use Glewlwyd's https URL (plain http only on a loopback address)",
        )
    path = parts.path.rstrip("/") or "/api"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _messages(response: httpx.Response) -> str:
    """Glewlwyd's 400 body (a JSON array of messages) as one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, list):
        return "; ".join(str(item) for item in body)
    return str(body)[:200]


class GlewlwydAdmin:
    """An open admin session on one Glewlwyd (use :func:`admin_session`)."""

    def __init__(self, client: httpx.Client, root: str, network: NetworkOptions) -> None:
        self._client = client
        self.root = root
        self._network = network
        self._headers: dict[str, str] = {"Accept": "application/json"}

    def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        from oidcsetup.verify.oauth import send

        kwargs: dict[str, Any] = {"headers": dict(self._headers)}
        if body is not None:
            kwargs["json"] = body
        try:
            response = send(self._client, method, self.root + path, self._network, **kwargs)
        except UnreachableError as exc:  # the message names the cause; the hint is ours
            raise UnreachableError(
                f"Glewlwyd's API: {exc.message}",
                hint="check --api (Glewlwyd's API root) and that Glewlwyd is running",
            ) from None
        if 300 <= response.status_code < 400:
            raise GlewlwydApiError(
                f"Glewlwyd's API answered {method} {path} with a redirect (HTTP "
                f"{response.status_code}); not followed",
                hint="pass the API root itself, e.g. https://sso.example.com/api",
            )
        return response

    def login(self, credentials: AdminCredentials) -> None:
        if credentials.api_key:
            self._headers["Authorization"] = "token " + credentials.api_key
            return
        response = self._send(
            "POST",
            "/auth/",
            {"username": credentials.username, "password": credentials.password},
        )
        if response.status_code in (400, 401, 403):
            raise GlewlwydAuthError(
                f"Glewlwyd refused the credentials of {credentials.who} (HTTP "
                f"{response.status_code})",
                hint=f"check {USERNAME_ENV} and {PASSWORD_ENV}",
            )
        if response.status_code == 404:
            raise GlewlwydApiError(
                f"{self.root}/auth/ is not found (HTTP 404): is this Glewlwyd's API root?",
                hint="pass the API root, e.g. https://sso.example.com/api (its api_prefix)",
            )
        self._expect(response, "POST", "/auth/", (200,))

    def _expect(
        self, response: httpx.Response, method: str, path: str, ok: tuple[int, ...]
    ) -> None:
        if response.status_code in ok:
            return
        if response.status_code in (401, 403):
            raise GlewlwydAuthError(
                f"Glewlwyd refused {method} {path} (HTTP {response.status_code}): the session "
                "lacks the g_admin scope",
                hint="use a Glewlwyd administrator (the admin scope may also ask for another "
                f"factor: then use an API key in {API_KEY_ENV})",
            )
        detail = _messages(response) if response.status_code == 400 else ""
        raise GlewlwydApiError(
            f"Glewlwyd answered {method} {path} with HTTP {response.status_code}"
            + (f": {detail}" if detail else ""),
            hint="see Glewlwyd's log" if response.status_code >= 500 else None,
        )

    def _json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GlewlwydApiError(f"Glewlwyd's answer for {what} is not a JSON object")
        return body

    def get_client(self, client_id: str) -> dict[str, Any] | None:
        """The client as Glewlwyd stores it (``source`` removed), or None when it has none."""
        path = "/client/" + quote(client_id, safe="")
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._expect(response, "GET", path, (200,))
        client = self._json_object(response, f"client {client_id!r}")
        client.pop("source", None)  # which client module holds it: not a property
        return client

    def scope_exists(self, name: str) -> bool:
        path = "/scope/" + quote(name, safe="")
        response = self._send("GET", path)
        if response.status_code == 404:
            return False
        self._expect(response, "GET", path, (200,))
        return True

    def create_client(self, client: dict[str, Any]) -> None:
        self._expect(self._send("POST", "/client/", client), "POST", "/client/", (200,))

    def replace_client(self, client_id: str, client: dict[str, Any]) -> None:
        path = "/client/" + quote(client_id, safe="")
        self._expect(self._send("PUT", path, client), "PUT", path, (200,))

    def delete_client(self, client_id: str) -> None:
        path = "/client/" + quote(client_id, safe="")
        self._expect(self._send("DELETE", path), "DELETE", path, (200,))


@contextmanager
def admin_session(
    root: str, credentials: AdminCredentials, network: NetworkOptions
) -> Iterator[GlewlwydAdmin]:
    """An admin session (logged in), closed on exit. Network failures raise exit 4."""
    from oidcsetup.verify.oauth import http_client

    with http_client(network) as client:
        admin = GlewlwydAdmin(client, root, network)
        admin.login(credentials)
        yield admin
