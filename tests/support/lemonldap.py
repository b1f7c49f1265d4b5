"""A real LemonLDAP::NG 2.16 portal (Debian's package) on loopback, as an OpenID provider.

The portal's PSGI app runs under ``plackup`` with a configuration of our own in a temp dir
(facts: ../shared/reference/real-providers.md): ``lemonldap-ng.ini`` points at a File
configuration folder holding ``lmConf-1.json``, built from the package's demo configuration
(user store "Demo": dwho/dwho) with the OpenID Connect issuer turned on and these clients:

- ``matomo``: the correct client, claims email/name/preferred_username exported;
- ``matomo-signed``: the same, but userinfo is answered as a signed JWT (UserInfoSignAlg);
- ``matomo-jwt``: the same with JWT access tokens (AccessTokenJWT).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.realpeer import (
    REDIRECT_URI,
    RealProvider,
    TestClient,
    free_port,
    http_ok,
    rsa_key_pair,
    wait_until,
)

PSGI = Path("/usr/share/lemonldap-ng/portal/htdocs/index.psgi")
PACKAGE_CONF = Path("/var/lib/lemonldap-ng/conf/lmConf-1.json")
TEMPLATES = Path("/usr/share/lemonldap-ng/portal/templates")
SECRET = "llng-matomo-secret"


def lemonldap_missing_reason() -> str | None:
    if shutil.which("plackup") is None:
        return "plackup is not installed (apt-get install libplack-perl; scripts/install --test)"
    if not PSGI.is_file() or not PACKAGE_CONF.is_file():
        return (
            "LemonLDAP::NG is not installed (apt-get install lemonldap-ng; scripts/install --test)"
        )
    return None


def _client(client_id: str, **options: Any) -> dict[str, Any]:
    return {
        "oidcRPMetaDataOptionsClientID": client_id,
        "oidcRPMetaDataOptionsClientSecret": SECRET,
        "oidcRPMetaDataOptionsRedirectUris": REDIRECT_URI,
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsPublic": 0,
        "oidcRPMetaDataOptionsRequirePKCE": 0,
        **options,
    }


CLIENTS: dict[str, dict[str, Any]] = {
    "matomo": _client("matomo"),
    "matomo-signed": _client("matomo-signed", oidcRPMetaDataOptionsUserInfoSignAlg="RS256"),
    "matomo-jwt": _client("matomo-jwt", oidcRPMetaDataOptionsAccessTokenJWT=1),
}
EXPORTED_CLAIMS = {"email": "mail", "name": "cn", "preferred_username": "uid"}


def build_configuration(workdir: Path, port: int) -> Path:
    """Write lemonldap-ng.ini and conf/lmConf-1.json under ``workdir``; return the ini path."""
    portal = f"http://127.0.0.1:{port}/"
    for sub in ("conf", "sessions/lock", "psessions/lock", "cache", "notifications"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    conf: dict[str, Any] = json.loads(PACKAGE_CONF.read_text())
    private, public = rsa_key_pair()
    conf.update(
        {
            "cfgNum": 1,
            "portal": portal,
            "domain": "127.0.0.1",
            "securedCookie": 0,
            "globalStorageOptions": {
                "Directory": str(workdir / "sessions"),
                "LockDirectory": str(workdir / "sessions/lock"),
                "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256",
            },
            "persistentStorageOptions": {
                "Directory": str(workdir / "psessions"),
                "LockDirectory": str(workdir / "psessions/lock"),
            },
            "localSessionStorageOptions": {
                **conf.get("localSessionStorageOptions", {}),
                "cache_root": str(workdir / "cache"),
            },
            "notificationStorageOptions": {"dirName": str(workdir / "notifications")},
            "reloadUrls": {},
            "issuerDBOpenIDConnectActivation": 1,
            "oidcServicePrivateKeySig": private,
            "oidcServicePublicKeySig": public,
            "oidcServiceKeyIdSig": "oidcsetup-test",
            "oidcRPMetaDataOptions": copy.deepcopy(CLIENTS),
            "oidcRPMetaDataExportedVars": {name: dict(EXPORTED_CLAIMS) for name in CLIENTS},
            # The demo configuration protects nothing on 127.0.0.1; the portal itself is open.
            "locationRules": {},
            # The demo's self-registration plugin needs MIME::Entity (not installed): off.
            "registerDB": "Null",
            "exportedHeaders": {},
        }
    )
    (workdir / "conf" / "lmConf-1.json").write_text(json.dumps(conf, indent=1))
    ini = workdir / "lemonldap-ng.ini"
    ini.write_text(
        "[all]\nlogLevel = warn\ncheckTime = 1\n"
        "[configuration]\ntype = File\n"
        f"dirName = {workdir / 'conf'}\n"
        "localStorage = Cache::FileCache\n"
        f"localStorageOptions = {{ 'namespace' => 'lemonldap-ng-config', "
        f"'default_expires_in' => 600, 'cache_root' => '{workdir / 'cache'}', "
        "'cache_depth' => 3 }\n"
        "[portal]\nstaticPrefix = /static\n"
        f"templateDir = {TEMPLATES}\nlanguages = en\n"
        "[handler]\nstatus = 0\n"
    )
    return ini


def start_lemonldap(workdir: Path, timeout: float = 30.0) -> RealProvider:
    """Start the portal on a free port; return once its discovery document answers."""
    reason = lemonldap_missing_reason()
    if reason:
        from tests.support.realpeer import PeerUnavailable

        raise PeerUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    ini = build_configuration(workdir, port)
    issuer = f"http://127.0.0.1:{port}/"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            "plackup",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-default-middleware",
            str(PSGI),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        env={**os.environ, "LLNG_DEFAULTCONFFILE": str(ini)},
    )
    log.close()
    provider = RealProvider(
        name="lemonldap",
        issuer=issuer,
        port=port,
        workdir=workdir,
        clients={cid: TestClient(cid, SECRET) for cid in CLIENTS},
        username="dwho",
        password="dwho",
        process=process,
    )
    wait_until(
        http_ok(provider.discovery_url),
        process,
        provider.log_path,
        what="LemonLDAP::NG",
        timeout=timeout,
    )
    return provider
