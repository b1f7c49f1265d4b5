"""A real Glewlwyd 2.7.5 (Debian's package) on loopback, as an OpenID provider.

Facts: ../shared/reference/real-providers.md. The server runs with a configuration of our own
and a sqlite3 database made from the package's schema, then is provisioned through its admin
REST API (session cookie of the package's initial admin ``admin``/``password``):

- scopes ``openid`` (password required), ``email``, ``profile``;
- the ``oidc`` plugin instance (issuer ``http://127.0.0.1:PORT/api/oidc``, RS256 key, code flow,
  email and name claims);
- the user ``dwho``/``dwho`` (Doctor Who, dwho@example.com);
- clients ``matomo`` (secret posted or Basic, as Login OIDC needs) and ``matomo-basic``
  (token_endpoint_auth_method client_secret_basic only).

Options of :func:`start_glewlwyd` for the tests of ``apply glewlwyd`` and ``register``:
``registration`` turns on the OIDC plugin's RFC 7591 registration (open: no initial access
token) with RFC 7592 management; ``api_keys`` lets the admin API take API keys
(``admin_session_authentication``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.support.realpeer import (
    REDIRECT_URI,
    PeerUnavailable,
    RealProvider,
    TestClient,
    free_port,
    rsa_key_pair,
    stop_process,
    wait_until,
)

BINARY = "glewlwyd"
SCHEMA = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")
WEBAPP = Path("/usr/share/glewlwyd/webapp")
MODULES = Path("/usr/lib/glewlwyd")
SECRET = "glewlwyd-matomo-secret"
SCOPES = ("openid", "email", "profile")


def glewlwyd_missing_reason() -> str | None:
    if shutil.which(BINARY) is None:
        return "glewlwyd is not installed (apt-get install glewlwyd; scripts/install --test)"
    if not SCHEMA.is_file() or not (MODULES / "plugin" / "libprotocol_oidc.so").is_file():
        return "glewlwyd's sqlite3 schema or OIDC plugin is missing (reinstall glewlwyd)"
    return None


TEMPLATE = Path("/usr/share/glewlwyd/templates/glewlwyd-debian.conf.properties")


def _webapp(workdir: Path) -> Path:
    """The package's web app (its login page) with a readable config.json: Debian installs
    ``config.json`` as a link to /etc/glewlwyd/config-2.7.json, which dpkg made a folder
    holding the real config.json, so the login page would stay at "Loading..."."""
    webapp = workdir / "webapp"
    # A copy (2.6 MB): Glewlwyd's static file server does not serve symbolic links.
    shutil.copytree(WEBAPP, webapp, ignore=shutil.ignore_patterns("config.json"))
    config = WEBAPP / "config.json"
    if config.is_dir():
        config = config / "config.json"
    (webapp / "config.json").write_text(config.read_text())
    return webapp


def _config(port: int, workdir: Path, database: Path, api_keys: bool = False) -> str:
    """The package's configuration template with our port, URL, log file and sqlite3 database
    (in place of its dbconfig-common ``@include``), bound to 127.0.0.1."""
    settings = {
        "admin_session_authentication": '"cookie,api_key"' if api_keys else '"cookie"',
        "port": str(port),
        "bind_address": '"127.0.0.1"',
        "external_url": f'"http://127.0.0.1:{port}"',
        "log_level": '"WARNING"',
        "log_file": f'"{workdir / "server.log"}"',
        "static_files_path": f'"{_webapp(workdir)}/"',
    }
    lines = []
    for line in TEMPLATE.read_text().splitlines():
        key = line.lstrip("#").split("=", 1)[0].strip()
        if "=" in line and key in settings:
            line = f"{key}={settings.pop(key)}"
        elif line.startswith("@include"):
            line = f'database = {{ type = "sqlite3"; path = "{database}"; }};'
        lines.append(line)
    if settings:
        raise PeerUnavailable(f"glewlwyd's template lacks {sorted(settings)}")
    return "\n".join(lines) + "\n"


def _registration() -> dict[str, Any]:
    """Open registration (upstream src/plugin/protocol_oidc.c: an empty
    ``register-client-auth-scope`` asks for no initial access token), RFC 7592 management on."""
    return {
        "register-client-allowed": True,
        "register-client-auth-scope": [],
        "register-client-credentials-scope": [],
        "register-client-management-allowed": True,
        "register-default-properties": [],
    }


def _plugin(issuer: str, private: str, public: str, registration: bool) -> dict[str, Any]:
    plugin: dict[str, Any] = {
        "module": "oidc",
        "name": "oidc",
        "display_name": "OpenID Connect",
        "enabled": True,
        "parameters": {
            "iss": issuer,
            "jwt-type": "rsa",
            "jwt-key-size": "256",
            "key": private,
            "cert": public,
            "jwks-show": True,
            "access-token-duration": 3600,
            "refresh-token-duration": 1209600,
            "code-duration": 600,
            "refresh-token-rolling": True,
            "allow-non-oidc": False,
            "auth-type-code-enabled": True,
            "auth-type-token-enabled": False,
            "auth-type-id-token-enabled": True,
            "auth-type-none-enabled": False,
            "auth-type-password-enabled": False,
            "auth-type-client-enabled": False,
            "auth-type-device-enabled": False,
            "auth-type-refresh-enabled": True,
            "scope": [],
            "additional-parameters": [],
            "claims": [],
            "secret-type": "pairwise",
            "address-claim": {"type": "no"},
            "name-claim": "mandatory",
            "name-claim-scope": [],
            "email-claim": "mandatory",
            "email-claim-scope": [],
            "scope-claim": "no",
            "allowed-scope": list(SCOPES),
            "pkce-allowed": True,
            "pkce-method-plain-allowed": False,
            "pkce-required": False,
            "request-parameter-allow": False,
            "register-client-allowed": False,
            "session-management-allowed": False,
            "introspection-revocation-allowed": False,
        },
    }
    if registration:
        plugin["parameters"].update(_registration())
    return plugin


def _client(client_id: str, methods: list[str]) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "name": client_id,
        "description": "oidcsetup test client",
        "confidential": True,
        "password": SECRET,
        "client_secret": SECRET,
        "redirect_uri": [REDIRECT_URI],
        "authorization_type": ["code", "refresh_token"],
        "token_endpoint_auth_method": methods,
        "scope": list(SCOPES),
        "enabled": True,
    }


CLIENTS = {
    "matomo": _client("matomo", ["client_secret_post", "client_secret_basic"]),
    "matomo-basic": _client("matomo-basic", ["client_secret_basic"]),
}


def _provision(base: str, issuer: str, registration: bool) -> None:
    import httpx

    private, public = rsa_key_pair()
    with httpx.Client(base_url=base + "/api", timeout=10.0, trust_env=False) as api:

        def call(method: str, path: str, body: Any) -> None:
            response = api.request(method, path, json=body)
            if response.status_code >= 300:
                raise PeerUnavailable(
                    f"glewlwyd {method} /api{path} answered {response.status_code}: "
                    f"{response.text[:500]}"
                )

        call("POST", "/auth/", {"username": "admin", "password": "password"})
        call(
            "PUT",
            "/scope/openid",
            {
                "name": "openid",
                "display_name": "Open ID",
                "description": "Open ID Connect scope",
                "password_required": True,
                "password_max_age": 0,
                "scheme": {},
            },
        )
        for scope in SCOPES[1:]:
            call(
                "POST",
                "/scope/",
                {
                    "name": scope,
                    "display_name": scope,
                    "description": f"the user's {scope}",
                    "password_required": True,
                    "password_max_age": 0,
                    "scheme": {},
                },
            )
        call("POST", "/mod/plugin/", _plugin(issuer, private, public, registration))
        call(
            "POST",
            "/user/",
            {
                "username": "dwho",
                "name": "Doctor Who",
                "email": "dwho@example.com",
                "password": "dwho",
                "scope": list(SCOPES),
                "enabled": True,
            },
        )
        for client in CLIENTS.values():
            call("POST", "/client/", client)


def start_glewlwyd(
    workdir: Path, timeout: float = 30.0, *, registration: bool = False, api_keys: bool = False
) -> RealProvider:
    """Start Glewlwyd on a free port, provision it; return once its discovery answers."""
    import httpx

    reason = glewlwyd_missing_reason()
    if reason:
        raise PeerUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "glewlwyd.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(SCHEMA.read_text())
    port = free_port()
    config = workdir / "glewlwyd.conf"
    config.write_text(_config(port, workdir, database, api_keys))
    base = f"http://127.0.0.1:{port}"
    issuer = base + "/api/oidc"
    out = (workdir / "stdout.log").open("wb")
    process = subprocess.Popen(
        [BINARY, f"--config-file={config}"],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
    )
    out.close()

    def answers() -> bool:
        try:
            httpx.get(base + "/api/profile_list", timeout=1.0, trust_env=False)
        except httpx.HTTPError:
            return False
        return True

    provider = RealProvider(
        name="glewlwyd",
        issuer=issuer,
        port=port,
        workdir=workdir,
        clients={cid: TestClient(cid, SECRET) for cid in CLIENTS},
        username="dwho",
        password="dwho",
        process=process,
        extra={"api": base + "/api", "admin": ("admin", "password")},
    )
    try:
        wait_until(answers, process, provider.log_path, what="Glewlwyd", timeout=timeout)
        _provision(base, issuer, registration)

        def discovery_ok() -> bool:
            response = httpx.get(provider.discovery_url, timeout=1.0, trust_env=False)
            return response.status_code == 200

        wait_until(discovery_ok, process, provider.log_path, what="Glewlwyd's OIDC plugin")
    except BaseException:
        stop_process(process)
        raise
    return provider


REGISTRATION_SCOPE = "registration"


def token_protected_registration(provider: RealProvider) -> tuple[str, str]:
    """A second OIDC plugin instance, ``oidcreg``, whose registration wants an initial access
    token: an access token of this plugin carrying the scope ``registration``
    (``register-client-auth-scope``; upstream src/plugin/protocol_oidc.c,
    callback_check_registration). The token comes from a client-credentials grant of the client
    ``registrar`` (Glewlwyd serves that grant only with ``allow-non-oidc``).
    Returns (the plugin's issuer, an initial access token)."""
    import httpx

    base = provider.extra["api"]
    issuer = base + "/oidcreg"
    private, public = rsa_key_pair()
    plugin = _plugin(issuer, private, public, registration=True)
    plugin.update(name="oidcreg", display_name="OpenID Connect, registration by token")
    plugin["parameters"].update(
        {
            "register-client-auth-scope": [REGISTRATION_SCOPE],
            "auth-type-client-enabled": True,
            "allow-non-oidc": True,
        }
    )
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as api:

        def call(method: str, path: str, body: Any) -> None:
            response = api.request(method, path, json=body)
            if response.status_code >= 300:
                raise PeerUnavailable(f"glewlwyd {method} {path}: {response.status_code}")

        call("POST", "/auth/", {"username": "admin", "password": "password"})
        call("POST", "/mod/plugin/", plugin)
        call(
            "POST",
            "/scope/",
            {
                "name": REGISTRATION_SCOPE,
                "display_name": REGISTRATION_SCOPE,
                "description": "may register clients",
                "password_required": False,
                "password_max_age": 0,
                "scheme": {},
            },
        )
        registrar = {
            **_client("registrar", ["client_secret_basic"]),
            "authorization_type": ["client_credentials"],
            "scope": [REGISTRATION_SCOPE],
            "redirect_uri": [],
        }
        call("POST", "/client/", registrar)
    token = httpx.post(
        issuer + "/token",
        data={"grant_type": "client_credentials", "scope": REGISTRATION_SCOPE},
        auth=("registrar", SECRET),
        timeout=10.0,
        trust_env=False,
    )
    if token.status_code != 200:
        raise PeerUnavailable(f"glewlwyd's client-credentials grant: {token.status_code}")
    return issuer, str(token.json()["access_token"])
