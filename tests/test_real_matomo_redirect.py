"""The redirect URI Matomo builds: the offline rule (apps/matomo/redirect.py) against the real
Matomo 5.1.2 asked live (apps/matomo/live.py), and `check`'s fallback when Matomo is not reached.

For each [General] variant the real Matomo is asked what it sends (the sign-in's Location) and
the offline rule predicts it from config.ini.php alone: they must agree, or the rule must say
that it cannot know (a condition on the proxy) or which setting makes it differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oidcsetup.apps.matomo.configfile import MatomoConfig
from oidcsetup.apps.matomo.live import MatomoNotReached, SigninFailure, ask_signin
from oidcsetup.apps.matomo.redirect import (
    CALLBACK_QUERY,
    GeneralSettings,
    explain_difference,
    host_is_trusted,
    predict_redirect_uri,
)
from oidcsetup.http import NetworkOptions
from tests.cli import run
from tests.support.matomo import RunningMatomo, free_port
from tests.support.provider import RunningProvider, matomo_client

pytestmark = pytest.mark.timeout(300)  # a test may wait for the session's Matomo install

SECRET = "matomo-test-secret"
INTEGRATION = ["--client-id", "matomo", "--scopes", "openid email", "--userinfo-id", "sub"]


def general_of(path: Path) -> GeneralSettings:
    return GeneralSettings.from_document(MatomoConfig.load(path).document, str(path))


# --- the rule alone -------------------------------------------------------------------------


def test_trusted_hosts_match_like_matomo() -> None:
    general = GeneralSettings(trusted_hosts=("matomo.example.com", "https://stats.example.org/x"))
    assert host_is_trusted("matomo.example.com", general)
    assert host_is_trusted("eu.matomo.example.com", general)  # '(^|.)' . host . '$'
    assert host_is_trusted("stats.example.org", general)  # a URL written there: its host
    assert not host_is_trusted("matomo.example.com:8443", general)  # the port counts
    assert not host_is_trusted("other.example.com", general)
    assert host_is_trusted("localhost", general)  # always trusted
    assert host_is_trusted("x.example", GeneralSettings())  # empty list: Matomo records it
    assert host_is_trusted("x.example", replace_general(general, enable_trusted_host_check=False))


def replace_general(general: GeneralSettings, **changes: object) -> GeneralSettings:
    from dataclasses import replace

    return replace(general, **changes)  # type: ignore[arg-type]


def test_https_without_assume_secure_protocol_is_a_condition_not_a_verdict() -> None:
    prediction = predict_redirect_uri("https://matomo.example.com/", GeneralSettings())
    assert prediction.redirect_uri == "https://matomo.example.com/index.php?" + CALLBACK_QUERY
    assert not prediction.certain and not prediction.fixes
    assert "X-Forwarded-Proto" in prediction.conditions[0]
    sure = predict_redirect_uri(
        "https://matomo.example.com/", GeneralSettings(assume_secure_protocol=True)
    )
    assert sure.certain and sure.redirect_uri == prediction.redirect_uri


def test_each_difference_names_its_setting() -> None:
    registered = "https://m.example.com/matomo/index.php?" + CALLBACK_QUERY
    (scheme,) = explain_difference(registered.replace("https:", "http:"), registered)
    assert "assume_secure_protocol = 1" in scheme.fix
    (host,) = explain_difference(registered.replace("m.example.com", "10.0.0.5:8080"), registered)
    assert "proxy_host_headers[] = HTTP_X_FORWARDED_HOST" in host.fix
    assert 'trusted_hosts[] = "m.example.com"' in host.fix
    (path,) = explain_difference(registered.replace("/matomo/", "/"), registered)
    assert "proxy_uri_header = 1" in path.fix
    (override,) = explain_difference("https://m.example.com/cb", registered)
    assert "redirectUriOverride" in override.fix


# --- the rule against the real Matomo -------------------------------------------------------


@pytest.fixture(scope="module")
def provider(provider_factory: object, matomo_server: RunningMatomo) -> RunningProvider:
    return provider_factory(  # type: ignore[operator,no-any-return]
        [matomo_client(redirect_uri=matomo_server.callback_url, client_secret=SECRET)]
    )


def wire(matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path) -> None:
    result = run(
        ["apply", "matomo", "--config", str(matomo.config_path), "--issuer", provider.issuer,
         "--matomo-url", matomo.url, *INTEGRATION],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_BACKUP_DIR": str(tmp_path)},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


@pytest.mark.matomo
@pytest.mark.provider
@pytest.mark.mariadb
@pytest.mark.parametrize(
    ("general_lines", "users_url", "agree"),
    [
        ((), "{url}", "same"),
        # Matomo believes it runs on https: its session cookie is Secure, lost over http://, and
        # its own sign-in form fails the nonce check.
        (("assume_secure_protocol = 1",), "{url}", "fix:matomo-signin-refused"),
        (("enable_trusted_host_check = 0",), "http://localhost:{port}/", "same"),
        ((), "http://localhost:{port}/", "fix:matomo-untrusted-host"),  # the port counts
        (("proxy_uri_header = 1",), "{url}", "condition"),
        (("proxy_host_headers[] = HTTP_X_FORWARDED_HOST",), "{url}", "condition"),
    ],
)
def test_offline_rule_agrees_with_the_real_matomo(
    matomo: RunningMatomo,
    provider: RunningProvider,
    tmp_path: Path,
    general_lines: tuple[str, ...],
    users_url: str,
    agree: str,
) -> None:
    wire(matomo, provider, tmp_path)
    matomo.add_general(*general_lines)
    url = users_url.format(url=matomo.url, port=matomo.port)

    prediction = predict_redirect_uri(url, general_of(matomo.config_path))
    try:
        sent: str | None = ask_signin(url, NetworkOptions()).redirect_uri
    except SigninFailure as exc:
        sent = None
        assert agree == f"fix:{exc.code}", exc
    registered = url + "index.php?" + CALLBACK_QUERY

    if agree == "same":
        assert prediction.certain and not prediction.fixes
        assert sent == prediction.redirect_uri == registered
    elif agree.startswith("fix:"):
        # The rule names a setting, and the real Matomo indeed fails, the way the code says.
        assert prediction.fixes
        assert sent is None
    else:
        # Without the proxy's header Matomo falls back to the request itself: the rule only
        # states the condition, it does not claim a mismatch.
        assert prediction.conditions and not prediction.fixes
        assert sent == registered


@pytest.mark.matomo
@pytest.mark.provider
@pytest.mark.mariadb
def test_check_falls_back_to_the_offline_rule_and_says_so(
    matomo: RunningMatomo, provider: RunningProvider, tmp_path: Path
) -> None:
    """Matomo's URL unreachable from where check runs: computed, labelled, never "sends"."""
    wire(matomo, provider, tmp_path)
    unreachable = f"http://127.0.0.1:{free_port()}/"
    matomo.add_general(f'trusted_hosts[] = "127.0.0.1:{unreachable.rsplit(":", 1)[1][:-1]}"')

    def check(*extra: str) -> dict[str, object]:
        result = run(
            ["--json", "check", "--issuer", provider.issuer, "--config", str(matomo.config_path),
             "--matomo-url", unreachable, *INTEGRATION, *extra],
            env={"OIDCSETUP_CLIENT_SECRET": SECRET},
        )  # fmt: skip
        probes = {p["name"]: p for p in json.loads(result.stdout)["probes"]}
        return probes["matomo-redirect-uri"]  # type: ignore[no-any-return]

    probe = check()
    assert probe["code"] == "matomo-redirect-uri-ok", probe
    assert str(probe["message"]).startswith("offline (Matomo not reached")
    assert "Matomo sends" not in str(probe["message"])
    assert probe["details"]["source"] == "offline"  # type: ignore[index]

    matomo.add_general("assume_secure_protocol = 1")
    probe = check()
    assert probe["code"] == "matomo-redirect-uri-mismatch"
    assert "assume_secure_protocol" in str(probe["hint"])
    assert str(probe["message"]).startswith("offline (")


@pytest.mark.matomo
@pytest.mark.mariadb
def test_not_reachable_is_not_a_failure_of_the_live_ask(matomo: RunningMatomo) -> None:
    with pytest.raises(MatomoNotReached):
        ask_signin(f"http://127.0.0.1:{free_port()}/", NetworkOptions())
    with pytest.raises(SigninFailure) as refused:
        ask_signin(matomo.url, NetworkOptions())  # nothing configured yet
    assert refused.value.code == "matomo-oidc-not-configured"
