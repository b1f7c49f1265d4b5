"""Matomo's HTTP API: read and write a plugin's system settings as Matomo's settings screen does.

What the real Matomo 5.1.2 does (``plugins/CorePluginsAdmin/API.php``, ``SettingsMetadata.php``,
tried against ../shared/peers/matomo):

- ``CorePluginsAdmin.getSystemSettings`` (super user) lists, per plugin, the settings the
  current user may write, each with its effective ``value`` (the plugin default when nothing is
  stored; bools as JSON booleans). A setting pinned in config.ini.php is not writable, so it is
  missing from the list (``Settings::getSettingsWritableByCurrentUser``), and a plugin with no
  writable setting (or not activated) is missing altogether. A password field
  (``FieldConfig::UI_CONTROL_PASSWORD``: Login OIDC's clientSecret) is answered as ``******``
  when it holds a value and ``""`` when not: its value cannot be read back.
- ``CorePluginsAdmin.setSystemSettings`` takes ``settingValues[Plugin][i][name|value]`` and
  ``passwordConfirmation``. It checks super user access, then the password
  (``Plugin\\API::confirmCurrentUserPassword``: "Please enter your password to confirm this
  change." when empty, "The current password you entered is not correct." when wrong: the same
  message for a user who has no Matomo password at all, Matomo issue 19169), then calls
  ``setValue`` on each setting named (the plugin's validators run here; the first failure is
  answered as "<field title>: <message>" and nothing is saved), then saves. An unknown setting
  name is ignored without a word, and ``******`` for a password field keeps the stored value.
  Bools must be sent as "0"/"1" ("false" is refused by ``Setting::validateValue``'s
  type check: "... is not allowed").
- Errors come back as HTTP 200 ``{"result": "error", "message": ...}`` (HTML entities in the
  message); a token Matomo does not know is answered HTTP 401 with an HTML error page
  ("Unable to authenticate with the provided token. It is either invalid or expired.").
- ``token_auth`` goes in the POST body, never in the URL: Matomo 5 treats a token in the body
  as "provided securely" (``API\\Request::isTokenAuthProvidedSecurely``) and a URL would end up
  in access logs. No ``force_api_session``: that makes Matomo authenticate with the browser
  session first (``Access::reloadAccess``), which an API client has none of.
- ``language=en`` makes the messages the English ones this module recognises, whatever the
  token user's language (``LanguagesManager::initLanguage`` reads the request's ``language``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from oidcsetup.errors import ApplyError, UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.urls import has_credentials, may_carry_credentials

if TYPE_CHECKING:
    import httpx

TOKEN_ENV = "OIDCSETUP_MATOMO_TOKEN_AUTH"
PASSWORD_ENV = "OIDCSETUP_MATOMO_PASSWORD"
# SettingsMetadata::PASSWORD_PLACEHOLDER: what the API answers for a password field with a value.
PASSWORD_PLACEHOLDER = "******"
ISSUE_19169 = "https://github.com/matomo-org/matomo/issues/19169"

_PASSWORD_MISSING = "Please enter your password to confirm this change."
_PASSWORD_WRONG = "The current password you entered is not correct."
_TOKEN_REFUSED = "Unable to authenticate with the provided token"
_NOT_SUPERUSER = re.compile(r"requires a '?superuser'? access", re.IGNORECASE)
_TOKEN_HINT = (
    f"set {TOKEN_ENV} to a super user's token_auth (Matomo: Administration > Personal > "
    "Security > Auth tokens)"
)


class MatomoApiError(ApplyError):
    """Matomo's API refused a request or answered something that is not Matomo's API."""

    code = "matomo-api-error"

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None):
        super().__init__(message, hint)
        if code:
            self.code = code


@dataclass(frozen=True)
class ApiCredentials:
    """What Matomo's API needs: a super user's token_auth, and for a write their password."""

    token_auth: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.token_auth, self.password) if s)


def credential(
    name: str, environ: Mapping[str, str], prompt: Callable[[str], str] | None, what: str
) -> str:
    """``$name``, else ``prompt(what)`` (the caller passes one only on a terminal), else a
    one-line error saying where it goes. Never a flag: a command line is visible to every
    local user, and a URL ends up in logs."""
    value = environ.get(name, "")
    if value:
        return value
    if prompt is not None:
        value = prompt(what)
        if value:
            return value
    raise UsageError(
        f"{what} is needed and ${name} is not set",
        hint=f"set {name} (stdin is not a terminal, so there is no prompt)"
        if prompt is None
        else f"set {name}, or type it at the prompt",
    )


def api_url(url: str) -> str:
    """Matomo's ``index.php`` for a base URL (``https://matomo.example.com/`` or the index.php).

    Credentials go only to https, or to plain http on a loopback host; a URL with
    ``user:password@`` or a query is refused (the token never travels in a URL).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--api {text!r} is not an http(s) URL",
            hint="give Matomo's base URL, e.g. --api https://matomo.example.com/",
        )
    if has_credentials(text) or parts.query or parts.fragment:
        raise UsageError(
            "--api takes Matomo's base URL only, without credentials or a query",
            hint=f"the token goes in ${TOKEN_ENV}, never in a URL",
        )
    if not may_carry_credentials(text):
        raise UsageError(
            f"--api {parts.scheme}://{parts.netloc}/ is plain http on a non-loopback host: the "
            "token and the password would travel unencrypted",
            hint="use Matomo's https:// URL",
        )
    path = parts.path
    if not path.endswith("/index.php"):
        path = path.rstrip("/") + "/index.php"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class ApiSettings:
    """One plugin's system settings as the API shows them (stored forms: bools "0"/"1")."""

    values: dict[str, str]
    hidden: tuple[str, ...] = ()  # password fields holding a value the API does not reveal
    missing: tuple[str, ...] = ()  # known settings the API does not list (config.ini.php pins them)


def stored_value(value: Any) -> str:
    """An API value in the form the rest of the tool compares (bools "1"/"0")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise MatomoApiError(f"Matomo's API answered a setting value of an unexpected type: {value!r}")


class MatomoApi:
    """Calls to one Matomo's API with one super user's credentials."""

    def __init__(
        self,
        url: str,
        credentials: ApiCredentials,
        network: NetworkOptions | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = api_url(url)
        self.credentials = credentials
        self.network = network or NetworkOptions()
        self._transport = transport

    @property
    def where(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix('index.php')}"

    # --- plumbing ------------------------------------------------------------------------

    def call(
        self, method: str, params: Iterable[tuple[str, str]] = (), *, password: bool = False
    ) -> Any:
        """POST ``method`` with ``params``; the answer's JSON, or MatomoApiError."""
        from oidcsetup.discovery.fetch import make_client, redirect_location, request

        body: list[tuple[str, str]] = [
            ("module", "API"),
            ("method", method),
            ("format", "json"),
            ("language", "en"),
            *params,
            ("token_auth", self.credentials.token_auth),
        ]
        if password:
            body.append(("passwordConfirmation", self.credentials.password or ""))
        with make_client(self.network, transport=self._transport) as client:
            response = request(
                client,
                "POST",
                self.url,
                self.network,
                content=urlencode(body).encode("ascii"),  # the order of the pairs is kept
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        location = redirect_location(response)
        if location is not None:
            host = urlsplit(location).netloc.rpartition("@")[2] or location
            raise MatomoApiError(
                f"Matomo's API at {self.where} answered HTTP {response.status_code} redirecting "
                f"to {host}: not followed, the token was not sent there",
                hint="give the URL Matomo answers on (https://, the right host and path)",
                code="matomo-api-redirect",
            )
        return self._answer(method, response)

    def _answer(self, method: str, response: httpx.Response) -> Any:
        from oidcsetup.discovery.fetch import response_json

        try:
            document = response_json(response)
        except ValueError:
            document = None
        # An unknown token is refused before the API runs: HTTP 401 and an HTML error page.
        if response.status_code == 401 or (document is None and _TOKEN_REFUSED in response.text):
            raise MatomoApiError(
                f"Matomo at {self.where} refused the token_auth: unknown or expired",
                hint=_TOKEN_HINT,
                code="matomo-token-rejected",
            )
        if response.status_code != 200 or document is None:
            raise MatomoApiError(
                f"{self.where} did not answer as Matomo's API ({method}: HTTP "
                f"{response.status_code}" + (", not JSON" if document is None else "") + ")",
                hint="give Matomo's base URL (the folder holding index.php)",
                code="matomo-api-invalid-answer",
            )
        if isinstance(document, dict) and document.get("result") == "error":
            raise self._refusal(method, str(document.get("message") or ""))
        return document

    def _refusal(self, method: str, raw: str) -> MatomoApiError:
        message = self.redact(html.unescape(raw)).strip()
        message = " ".join(message.split())  # one line, whatever Matomo sent
        if _NOT_SUPERUSER.search(message):
            return MatomoApiError(
                f"Matomo refused {method}: the token_auth's user is not a super user",
                hint=_TOKEN_HINT,
                code="matomo-not-superuser",
            )
        if message == _PASSWORD_MISSING:
            return MatomoApiError(
                "Matomo wants the super user's password to confirm the change",
                hint=f"set {PASSWORD_ENV} (or run on a terminal to be asked)",
                code="matomo-password-missing",
            )
        if message == _PASSWORD_WRONG:
            return MatomoApiError(
                "Matomo did not accept the password confirmation: the password is wrong, or "
                "the token's super user has no Matomo password (a user created by OIDC signup "
                "logs in only by OIDC and can never confirm one: Matomo issue 19169)",
                hint=f"set {PASSWORD_ENV} to that user's Matomo password; for a user without "
                "one, use another super user's token, or apply with --db or --config",
                code="matomo-password-rejected",
            )
        return MatomoApiError(
            f"Matomo refused the settings: {message}" if "Settings" in method else message,
            hint="fix the value Matomo names; its own validators run on this path",
            code="matomo-setting-refused",
        )

    def redact(self, text: str) -> str:
        """``text`` without any of the credentials (a message must never echo them)."""
        for secret in self.credentials.secrets():
            text = text.replace(secret, "********")
        return text

    # --- what the tool asks ----------------------------------------------------------------

    def plugin_activated(self, plugin: str) -> bool:
        """``API.isPluginActivated`` (a scalar is answered as ``{"value": ...}``)."""
        answer = self.call("API.isPluginActivated", [("pluginName", plugin)])
        return isinstance(answer, dict) and answer.get("value") is True

    def read_settings(self, plugin: str, known: Iterable[str]) -> ApiSettings:
        """``plugin``'s system settings; ``known`` are the names the plugin has."""
        document = self.call("CorePluginsAdmin.getSystemSettings")
        if not isinstance(document, list):
            raise MatomoApiError(
                f"{self.where}: getSystemSettings did not answer a list",
                code="matomo-api-invalid-answer",
            )
        entry = next(
            (p for p in document if isinstance(p, dict) and p.get("pluginName") == plugin), None
        )
        listed: dict[str, dict[str, Any]] = {}
        if entry is not None:
            for item in entry.get("settings") or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    listed[item["name"]] = item
        if entry is None and not self.plugin_activated(plugin):
            raise MatomoApiError(
                f"{plugin} is not activated in Matomo at {self.where}",
                hint=f"activate it (Administration > Plugins, or ./console plugin:activate "
                f"{plugin}), then run this again",
                code="plugin-not-activated",
            )
        values: dict[str, str] = {}
        hidden: list[str] = []
        for name, item in listed.items():
            value = item.get("value")
            if item.get("uiControl") == "password" and value == PASSWORD_PLACEHOLDER:
                hidden.append(name)
                continue
            values[name] = stored_value(value)
        missing = tuple(name for name in known if name not in listed)
        return ApiSettings(values, tuple(hidden), missing)

    def write_settings(self, plugin: str, values: Mapping[str, str]) -> None:
        """``setSystemSettings`` with exactly ``values`` (stored forms), the password confirming."""
        if not self.credentials.password:
            raise MatomoApiError(
                "writing Matomo's settings through its API needs the super user's password",
                hint=f"set {PASSWORD_ENV} (or run on a terminal to be asked)",
                code="matomo-password-missing",
            )
        params: list[tuple[str, str]] = []
        for index, (name, value) in enumerate(values.items()):
            params.append((f"settingValues[{plugin}][{index}][name]", name))
            params.append((f"settingValues[{plugin}][{index}][value]", value))
        answer = self.call("CorePluginsAdmin.setSystemSettings", params, password=True)
        if not (isinstance(answer, dict) and answer.get("result") == "success"):
            raise MatomoApiError(
                f"{self.where}: setSystemSettings answered {str(answer)[:80]!r}, not success",
                code="matomo-api-invalid-answer",
            )
