"""The real Matomo behind a real TLS-terminating reverse proxy: `check` and a real browser agree.

Users reach Matomo at https://127.0.0.1:<proxy>/ (tests/support/tlsproxy.py, a trustme
certificate); the proxy forwards over plain http to PHP's server with the users' Host. The
provider has the https callback registered. What Matomo builds as redirect URI then depends on
Matomo's [General] settings and on the headers the proxy adds (matomo-org/matomo 5.1.2
core/Url.php), and `check` asks Matomo itself (oidcsetup/apps/matomo/live.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Result, run
from tests.support.browser import Browser, browser_missing_reason, running_browser
from tests.support.matomo import ADMIN_LOGIN, BROWSER_LOGIN_MARKS, CALLBACK, RunningMatomo
from tests.support.provider import RunningProvider, matomo_client
from tests.support.tlsproxy import TlsProxy, running_tls_proxy

pytestmark = BROWSER_LOGIN_MARKS

SECRET = "matomo-test-secret"
SUBJECT = "alice"


@pytest.fixture(scope="module")
def plain_proxy(
    matomo_server: RunningMatomo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsProxy]:
    """A proxy that forwards the Host and adds no X-Forwarded-* header (nginx's bare
    ``proxy_pass`` with ``proxy_set_header Host $http_host``)."""
    with running_tls_proxy(
        matomo_server.port, tmp_path_factory.mktemp("plain-proxy"), forwarded=False
    ) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def forwarding_proxy(
    matomo_server: RunningMatomo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsProxy]:
    """A proxy that adds X-Forwarded-Proto: https, X-Forwarded-Host and X-Forwarded-For."""
    with running_tls_proxy(
        matomo_server.port, tmp_path_factory.mktemp("fw-proxy"), forwarded=True
    ) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def proxy_browser(plain_proxy: TlsProxy, forwarding_proxy: TlsProxy) -> Iterator[Browser]:
    """Chromium trusting exactly the two proxies' certificates (by their public keys)."""
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    spki = f"{plain_proxy.cert_spki_sha256},{forwarding_proxy.cert_spki_sha256}"
    with running_browser((f"--ignore-certificate-errors-spki-list={spki}",)) as browser:
        yield browser


@pytest.fixture
def browser(proxy_browser: Browser) -> Iterator[Browser]:
    """As conftest's ``browser``: no cookie before, no page left running after."""
    proxy_browser.reset()
    yield proxy_browser
    proxy_browser.reset()


@pytest.fixture(scope="module")
def provider(
    provider_factory: object, plain_proxy: TlsProxy, forwarding_proxy: TlsProxy
) -> RunningProvider:
    """The client has only the https callbacks users reach through the proxies."""
    client = matomo_client(
        redirect_uri=plain_proxy.url + CALLBACK,
        client_secret=SECRET,
        redirect_uris=[plain_proxy.url + CALLBACK, forwarding_proxy.url + CALLBACK],
    )
    return provider_factory([client])  # type: ignore[operator,no-any-return]


def wire(
    matomo: RunningMatomo,
    provider: RunningProvider,
    proxy: TlsProxy,
    tmp: Path,
    *,
    trust: bool = True,
) -> None:
    """oidcsetup wires Matomo for its https URL; the admin trusts the proxy's host."""
    result = run(
        [
            "apply", "matomo", "--db", "--dsn", matomo.dsn, "--link", f"{ADMIN_LOGIN}={SUBJECT}",
            "--issuer", provider.issuer, "--matomo-url", proxy.url, "--client-id", "matomo",
            "--scopes", "openid email", "--userinfo-id", "sub",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_BACKUP_DIR": str(tmp), **matomo.db_env()},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    if trust:
        matomo.add_general(f'trusted_hosts[] = "127.0.0.1:{proxy.port}"')


def check(
    provider: RunningProvider, proxy: TlsProxy
) -> tuple[Result, dict[str, dict[str, object]]]:
    result = run(
        [
            "--ca-bundle", str(proxy.ca_pem), "--json", "check", "--issuer", provider.issuer,
            "--matomo-url", proxy.url, "--client-id", "matomo", "--scopes", "openid email",
        ],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )  # fmt: skip
    document = json.loads(result.stdout)
    return result, {p["name"]: p for p in document["probes"]}


def test_tls_proxy_without_forwarded_proto_and_no_assume_secure_protocol_fails_in_check_and_in_the_browser(
    matomo: RunningMatomo,
    provider: RunningProvider,
    plain_proxy: TlsProxy,
    browser: Browser,
    tmp_path: Path,
) -> None:
    wire(matomo, provider, plain_proxy, tmp_path)

    result, probes = check(provider, plain_proxy)
    probe = probes["matomo-redirect-uri"]
    assert result.exit_code == 3, result.stdout
    assert probe["code"] == "matomo-redirect-uri-mismatch"
    assert probe["details"]["source"] == "live"  # type: ignore[index]
    sent = probe["details"]["matomo"]["redirect_uri"]  # type: ignore[index]
    assert sent == plain_proxy.url.replace("https://", "http://") + CALLBACK
    assert "assume_secure_protocol = 1" in str(probe["hint"])
    assert probes["redirect-uri"]["status"] == "pass"  # the profile's URI itself is registered

    # The real login fails the same way: the provider refuses Matomo's http:// redirect URI.
    landing = browser.oidc_login(plain_proxy.url)
    assert landing.url.startswith(provider.issuer), landing
    assert "redirect_uri did not match" in landing.text, landing
    assert landing.user is None


def test_tls_proxy_with_assume_secure_protocol_passes_check_and_the_browser_logs_in(
    matomo: RunningMatomo,
    provider: RunningProvider,
    plain_proxy: TlsProxy,
    browser: Browser,
    tmp_path: Path,
) -> None:
    wire(matomo, provider, plain_proxy, tmp_path)
    matomo.add_general("assume_secure_protocol = 1")

    result, probes = check(provider, plain_proxy)
    probe = probes["matomo-redirect-uri"]
    assert probe["code"] == "matomo-redirect-uri-ok", probe
    assert probe["details"]["matomo"]["redirect_uri"] == plain_proxy.url + CALLBACK  # type: ignore[index]
    assert result.exit_code == 0, result.stdout

    landing = browser.oidc_login(plain_proxy.url)
    assert landing.on_dashboard, landing
    assert landing.url.startswith(plain_proxy.url)
    assert landing.user == ADMIN_LOGIN


def test_tls_proxy_sending_x_forwarded_proto_needs_no_assume_secure_protocol(
    matomo: RunningMatomo,
    provider: RunningProvider,
    forwarding_proxy: TlsProxy,
    browser: Browser,
    tmp_path: Path,
) -> None:
    """Pinned on Matomo 5.1.2: X-Forwarded-Proto: https alone makes Matomo build https URLs
    (core/Url.php reads it whatever [General] says), so check must not fail this setup."""
    wire(matomo, provider, forwarding_proxy, tmp_path)

    result, probes = check(provider, forwarding_proxy)
    assert probes["matomo-redirect-uri"]["code"] == "matomo-redirect-uri-ok", probes
    assert result.exit_code == 0, result.stdout

    landing = browser.oidc_login(forwarding_proxy.url)
    assert landing.on_dashboard, landing
    assert landing.user == ADMIN_LOGIN


def test_untrusted_proxy_host_check_names_trusted_hosts_and_the_browser_gets_no_login_form(
    matomo: RunningMatomo,
    provider: RunningProvider,
    plain_proxy: TlsProxy,
    browser: Browser,
    tmp_path: Path,
) -> None:
    wire(matomo, provider, plain_proxy, tmp_path, trust=False)

    result, probes = check(provider, plain_proxy)
    probe = probes["matomo-redirect-uri"]
    assert probe["code"] == "matomo-untrusted-host", probe
    assert f'trusted_hosts[] = "127.0.0.1:{plain_proxy.port}"' in str(probe["hint"])
    assert result.exit_code == 3

    browser.driver.get(plain_proxy.url + "index.php?module=Login")
    assert not browser.driver.find_elements("css selector", ".loginoidc-auth-button")
    assert "trusted_hosts[]" in browser.text()
