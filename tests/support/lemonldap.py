"""A real LemonLDAP::NG 2.16 portal (Debian's package) on loopback, as an OpenID provider.

The portal's PSGI app runs under ``plackup`` with a configuration of our own in a temp dir
(facts: ../shared/reference/real-providers.md): ``lemonldap-ng.ini`` points at a File
configuration folder holding ``lmConf-1.json``, built from the package's demo configuration
(user store "Demo": dwho/dwho) with the OpenID Connect issuer turned on and these clients:

- ``matomo``: the correct client, claims email/name/preferred_username exported;
- ``matomo-signed``: the same, but userinfo is answered as a signed JWT (UserInfoSignAlg);
- ``matomo-jwt``: the same with JWT access tokens (AccessTokenJWT).

``start_lemonldap(..., clients=...)`` adds relying parties of a test's own (built with
:func:`lemonldap_client`, e.g. for the real Matomo's callback URL), and
:func:`log_in_at_portal` / :func:`matomo_login_through_portal` do in a real browser
(tests/support/browser.py) what a person does on the portal's login form.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.support.realpeer import (
    REDIRECT_URI,
    RealProvider,
    TestClient,
    free_port,
    http_ok,
    rsa_key_pair,
    wait_until,
)

if TYPE_CHECKING:
    from tests.support.browser import Browser, Landing

PSGI = Path("/usr/share/lemonldap-ng/portal/htdocs/index.psgi")
PACKAGE_CONF = Path("/var/lib/lemonldap-ng/conf/lmConf-1.json")
TEMPLATES = Path("/usr/share/lemonldap-ng/portal/templates")
MANAGER_TEMPLATES = Path("/usr/share/lemonldap-ng/manager/htdocs/templates")
CLI = Path("/usr/share/lemonldap-ng/bin/lemonldap-ng-cli")
SECRET = "llng-matomo-secret"
# The demo user store's accounts (user = password): dwho, rtyler, msmith.
DEMO_USER = "dwho"
DEMO_PASSWORD = "dwho"
# The portal's login form (portal/templates/bootstrap/standardform.tpl): fields user, password.
LOGIN_FORM_USER = "input[name=user]"
LOGIN_FORM_PASSWORD = "input[name=password]"
LOGIN_SUBMIT = "form button[type=submit]"
# Its consent page for a relying party without BypassConsent (confirm.tpl holding
# oidcGiveConsent.tpl): the Accept button.
CONSENT_MESSAGE = ".oidc_consent_message"
CONSENT_ACCEPT = "form.confirm button.positive"


def lemonldap_missing_reason() -> str | None:
    if shutil.which("plackup") is None:
        return "plackup is not installed (apt-get install libplack-perl; scripts/install --test)"
    if not PSGI.is_file() or not PACKAGE_CONF.is_file():
        return (
            "LemonLDAP::NG is not installed (apt-get install lemonldap-ng; scripts/install --test)"
        )
    return None


def lemonldap_client(
    client_id: str, redirect_uri: str = REDIRECT_URI, secret: str = SECRET, **options: Any
) -> dict[str, Any]:
    """A relying party's ``oidcRPMetaDataOptions`` entry (confidential, consent bypassed, no
    PKCE, RS256 id_token), with ``options`` added, e.g.
    ``oidcRPMetaDataOptionsAccessTokenJWT=1``."""
    return {
        "oidcRPMetaDataOptionsClientID": client_id,
        "oidcRPMetaDataOptionsClientSecret": secret,
        "oidcRPMetaDataOptionsRedirectUris": redirect_uri,
        "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
        "oidcRPMetaDataOptionsBypassConsent": 1,
        "oidcRPMetaDataOptionsPublic": 0,
        "oidcRPMetaDataOptionsRequirePKCE": 0,
        **options,
    }


CLIENTS: dict[str, dict[str, Any]] = {
    "matomo": lemonldap_client("matomo"),
    "matomo-signed": lemonldap_client(
        "matomo-signed", oidcRPMetaDataOptionsUserInfoSignAlg="RS256"
    ),
    "matomo-jwt": lemonldap_client("matomo-jwt", oidcRPMetaDataOptionsAccessTokenJWT=1),
}
EXPORTED_CLAIMS = {"email": "mail", "name": "cn", "preferred_username": "uid"}
# Settings for start_lemonldap(settings=...): RFC 7591 registration open to anyone (2.16 checks
# no initial access token), registered clients releasing the same claims as ours.
DYNAMIC_REGISTRATION = {
    "oidcServiceAllowDynamicRegistration": 1,
    "oidcServiceDynamicRegistrationExportedVars": dict(EXPORTED_CLAIMS),
}


def lemonldap_cli_missing_reason() -> str | None:
    """Why the package's lemonldap-ng-cli cannot run here, or None."""
    reason = lemonldap_missing_reason()
    if reason:
        return reason
    if not CLI.is_file():
        return f"{CLI} is missing (apt-get install lemonldap-ng)"
    for module, package in (
        ("Email::Sender::Transport::SMTP", "libemail-sender-perl"),
        ("MIME::Entity", "libmime-tools-perl"),
    ):
        if subprocess.run(["perl", f"-M{module}", "-e1"], capture_output=True).returncode:
            return f"lemonldap-ng-cli needs {module} (apt-get install {package})"
    return None


def run_lemonldap_cli(
    ini: Path, script: str, env: dict[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (shell commands calling lemonldap-ng-cli by its full path, as ``gen
    lemonldap`` prints them) with bash against the configuration of ``ini``.

    The CLI switches to www-data before it works (its --user/--group, default www-data), which
    cannot enter a test's private temp dir: the user running the tests is passed instead, the
    one change made to the commands."""
    import grp
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    script = script.replace(f"{CLI} ", f"{CLI} --user {user} --group {group} ")
    return subprocess.run(
        ["bash", "-euc", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {}), "LLNG_DEFAULTCONFFILE": str(ini)},
    )


def lemonldap_defaults() -> dict[str, Any]:
    """The package's default configuration values (Common/Conf/DefaultValues.pm), which the
    manager and lemonldap-ng-cli write out explicitly when they save a configuration."""
    done = subprocess.run(
        [
            "perl",
            "-MLemonldap::NG::Common::Conf::DefaultValues",
            "-MJSON",
            "-e",
            "print JSON->new->encode(Lemonldap::NG::Common::Conf::DefaultValues->defaultValues)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    defaults: dict[str, Any] = json.loads(done.stdout)
    return defaults


def build_configuration(
    workdir: Path,
    port: int,
    clients: dict[str, dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write lemonldap-ng.ini and conf/lmConf-1.json under ``workdir``; return the ini path.
    ``clients`` (name -> :func:`lemonldap_client`) are added to :data:`CLIENTS`;
    ``settings`` are top-level configuration keys set last."""
    all_clients = {**CLIENTS, **(clients or {})}
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
            "oidcRPMetaDataOptions": copy.deepcopy(all_clients),
            "oidcRPMetaDataExportedVars": {name: dict(EXPORTED_CLAIMS) for name in all_clients},
            # The demo configuration protects nothing on 127.0.0.1; the portal itself is open.
            "locationRules": {},
            # The demo's self-registration plugin needs MIME::Entity (not installed): off.
            "registerDB": "Null",
            "exportedHeaders": {},
            **(settings or {}),
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
        # lemonldap-ng-cli runs the manager's libraries, which read this section
        f"[manager]\nprotection = none\ntemplateDir = {MANAGER_TEMPLATES}\nlanguages = en\n"
        "enabledModules = conf\n"
    )
    return ini


def start_lemonldap(
    workdir: Path,
    timeout: float = 30.0,
    *,
    clients: dict[str, dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> RealProvider:
    """Start the portal on a free port; return once its discovery document answers.
    ``clients`` and ``settings``: see :func:`build_configuration`. The configuration folder
    (for ``apply lemonldap --conf-dir``) is ``workdir / "conf"``; the ini is
    ``provider.extra["ini"]`` (for ``LLNG_DEFAULTCONFFILE`` / ``lemonldap-ng-cli``)."""
    reason = lemonldap_missing_reason()
    if reason:
        from tests.support.realpeer import PeerUnavailable

        raise PeerUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    ini = build_configuration(workdir, port, clients, settings)
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
            # plackup's HTTP::Server::PSGI serves one connection at a time and waits up to
            # --timeout (default 300 s) for a request on it: a browser's idle speculative
            # connection to the portal then blocks the relying party's back-channel token
            # request (Matomo's PHP) until the browser gives up. 2 s frees it in time.
            "--timeout",
            "2",
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
        clients={
            name: TestClient(
                str(entry["oidcRPMetaDataOptionsClientID"]),
                str(entry["oidcRPMetaDataOptionsClientSecret"]),
                str(entry["oidcRPMetaDataOptionsRedirectUris"]),
            )
            for name, entry in {**CLIENTS, **(clients or {})}.items()
        },
        username=DEMO_USER,
        password=DEMO_PASSWORD,
        process=process,
        extra={"ini": ini},
    )
    wait_until(
        http_ok(provider.discovery_url),
        process,
        provider.log_path,
        what="LemonLDAP::NG",
        timeout=timeout,
    )
    return provider


def serve_portal(workdir: Path, **kwargs: Any) -> Iterator[RealProvider]:
    """The body of a pytest fixture of a portal of the module's own: skip with the reason when
    LemonLDAP::NG is missing, start it (``kwargs``: :func:`start_lemonldap`), stop it after."""
    import pytest

    reason = lemonldap_missing_reason()
    if reason:
        pytest.skip(reason)
    provider = start_lemonldap(workdir, **kwargs)
    try:
        yield provider
    finally:
        provider.stop()


def log_in_at_portal(
    browser: Browser,
    username: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
    timeout: float = 30.0,
    *,
    consent: bool = True,
) -> None:
    """In ``browser``, which a relying party has just sent to the portal (its authorization
    endpoint shows the login form): type the user name and password and submit; on the portal's
    consent page (a relying party without BypassConsent) press Accept when ``consent``. Returns
    once the browser has left the portal (on its way to the relying party's callback), or when
    the portal keeps showing a page (a refused password, an error, the consent page with
    ``consent=False``) for 1 s: the caller judges where it is.

    Raises AssertionError with the page's text when there is no login form at all."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By

    try:
        user_field = browser.wait_for_css(LOGIN_FORM_USER, timeout)
    except TimeoutException:
        raise AssertionError(
            f"no LemonLDAP::NG login form at {browser.url}: {browser.text()[:400]!r}"
        ) from None
    portal = urlsplit(browser.url).netloc
    user_field.clear()
    user_field.send_keys(username)
    password_field = browser.driver.find_element(By.CSS_SELECTOR, LOGIN_FORM_PASSWORD)
    password_field.clear()
    password_field.send_keys(password)
    browser.submit(browser.driver.find_element(By.CSS_SELECTOR, LOGIN_SUBMIT), timeout)
    deadline = time.monotonic() + timeout
    last_url, since = "", time.monotonic()
    while time.monotonic() < deadline:
        url = browser.url
        if urlsplit(url).netloc != portal:
            return
        if url != last_url:
            last_url, since = url, time.monotonic()
        try:
            accept = browser.driver.find_elements(By.CSS_SELECTOR, CONSENT_ACCEPT)
            asks_consent = bool(browser.driver.find_elements(By.CSS_SELECTOR, CONSENT_MESSAGE))
        except WebDriverException:  # the page is being replaced
            accept, asks_consent = [], False
        if consent and accept and asks_consent:
            browser.submit(accept[0], timeout)
            consent = False  # once: a second consent page would be the caller's to judge
            last_url, since = "", time.monotonic()
            continue
        if time.monotonic() - since > 1.0:
            return
        time.sleep(0.1)
    raise AssertionError(f"the portal did not move on within {timeout:.0f} s: {browser.url}")


def matomo_login_through_portal(
    browser: Browser,
    matomo_url: str,
    username: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
    timeout: float = 60.0,
) -> Landing:
    """Matomo's login page, Login OIDC's button, the portal's login form, then wherever Matomo
    lands (``Landing.on_dashboard`` / ``.user``: tests/support/browser.py)."""
    browser.open_login_page(matomo_url)
    browser.click_oidc_button()
    log_in_at_portal(browser, username, password, timeout)
    return browser.settle(matomo_url, timeout=timeout)
