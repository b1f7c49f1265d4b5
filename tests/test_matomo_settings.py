"""Login OIDC settings, warnings, renderings, redirect URIs, and the seeds' round trips."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oidcsetup.apps.matomo import render
from oidcsetup.apps.matomo.redirect import matomo_base_url, redirect_uris
from oidcsetup.apps.matomo.settings import (
    SETTING_NAMES,
    EnvRef,
    desired_settings,
    pinned_settings,
    secret_reference_drift,
    setting_warnings,
    signup_domain,
    stored_form,
    validate_settings,
)
from oidcsetup.cli.main import cli
from oidcsetup.errors import InputError, UsageError, ValidationError
from oidcsetup.integration import ClientRegistration, Integration, MatomoApp, ProviderEndpoints
from tests.support.php import php_read_ini
from tests.support.shared import REFERENCE

CALLBACK = "index.php?module=LoginOIDC&action=callback&provider=oidc"


def make(
    provider: dict[str, Any] | None = None, client: dict[str, Any] | None = None, **matomo: Any
) -> Integration:
    endpoints = {
        "authorization_endpoint": "https://auth.example.com/api/oidc/authorization",
        "token_endpoint": "https://auth.example.com/api/oidc/token",
        "userinfo_endpoint": "https://auth.example.com/api/oidc/userinfo",
        **(provider or {}),
    }
    return Integration(
        provider=ProviderEndpoints(**endpoints),
        client=ClientRegistration(**(client or {})),
        matomo=MatomoApp(**matomo),
    )


# --- redirect URIs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://X.example.com/matomo/",
        "https://x.example.com/matomo",
        "https://x.example.com/matomo/index.php",
        "HTTPS://x.EXAMPLE.com:443/matomo//",
        "  https://x.example.com/matomo/  ",
    ],
)
def test_redirect_uri_normalisation(url: str) -> None:
    assert redirect_uris(MatomoApp(url=url)) == (f"https://x.example.com/matomo/{CALLBACK}",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://matomo.example.com", f"https://matomo.example.com/{CALLBACK}"),
        ("https://matomo.example.com:8443/", f"https://matomo.example.com:8443/{CALLBACK}"),
        ("http://localhost:8080", f"http://localhost:8080/{CALLBACK}"),
        ("http://127.0.0.1/m", f"http://127.0.0.1/m/{CALLBACK}"),
        ("http://[::1]:80/", f"http://[::1]/{CALLBACK}"),
        ("https://bücher.example/", f"https://xn--bcher-kva.example/{CALLBACK}"),
    ],
)
def test_redirect_uri_examples(url: str, expected: str) -> None:
    assert redirect_uris(MatomoApp(url=url)) == (expected,)


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("http://matomo.example.com", ValidationError, "http on a non-loopback"),
        ("https://matomo.example.com/#x", ValidationError, "fragment"),
        ("https://matomo.example.com/?module=CoreHome", InputError, "query string"),
        ("ftp://matomo.example.com", InputError, "absolute http"),
        ("matomo.example.com", InputError, "absolute http"),
        ("https://user:pw@matomo.example.com", InputError, "user info"),
        ("https://matomo.example.com:99999", InputError, "not a valid URL"),
        ("https://mat omo.example.com", InputError, "white space"),
    ],
)
def test_redirect_uri_refusals(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        redirect_uris(MatomoApp(url=url))


def test_redirect_uri_override_and_missing_url() -> None:
    app = MatomoApp(
        url="https://m.example.com", redirect_uri_override="https://M.example.com:443/oidc/cb?x=1"
    )
    assert redirect_uris(app) == ("https://m.example.com/oidc/cb?x=1",)
    with pytest.raises(ValidationError, match="fragment"):
        redirect_uris(MatomoApp(redirect_uri_override="https://m.example.com/cb#f"))
    with pytest.raises(UsageError, match="Matomo's URL is not known") as info:
        redirect_uris(MatomoApp())
    assert "--matomo-url" in (info.value.hint or "")
    assert matomo_base_url("https://a.example/x/index.php") == "https://a.example/x/"


# --- settings ---------------------------------------------------------------------------------


def test_every_setting_written_with_plugin_defaults() -> None:
    values = desired_settings(make(), "s")
    assert tuple(values) == SETTING_NAMES
    assert values["disableDirectLoginUrl"] is True
    for flag in (
        "disableSuperuser",
        "disablePasswordConfirmation",
        "allowSignup",
        "bypassTwoFa",
        "autoLinking",
    ):
        assert values[flag] is False
    assert values["authenticationName"] == "OAuth login"
    assert values["userinfoId"] == "sub"
    assert values["scope"] == "openid email"
    assert (
        values["endSessionUrl"]
        == values["redirectUriOverride"]
        == values["allowedSignupDomains"]
        == ""
    )
    assert [stored_form(values[f]) for f in ("allowSignup", "disableDirectLoginUrl")] == ["0", "1"]


def test_profile_values_override_defaults() -> None:
    values = desired_settings(
        make(
            provider={"end_session_endpoint": "https://auth.example.com/logout"},
            client={"client_id": "abc", "scopes": ("openid", "email", "profile")},
            button_name="Sign in",
            allow_signup=True,
            disable_direct_login_url=False,
            allowed_signup_domains=("example.com", "Corp.Example.org", "example.com"),
            redirect_uri_override="https://M.example.com/cb",
        ),
        None,
        "SECRET_VAR",
    )
    assert values["clientId"] == "abc" and values["scope"] == "openid email profile"
    assert values["allowSignup"] is True and values["disableDirectLoginUrl"] is False
    # Lower case, duplicates dropped, one per line: what the plugin compares.
    assert values["allowedSignupDomains"] == "example.com\ncorp.example.org"
    assert values["redirectUriOverride"] == "https://m.example.com/cb"
    assert (
        values["clientSecret"] == EnvRef("SECRET_VAR")
        and stored_form(values["clientSecret"]) == "${SECRET_VAR}"
    )
    assert "clientSecret" not in desired_settings(make(), None)


def test_missing_endpoints_is_a_usage_error() -> None:
    integration = Integration(provider=ProviderEndpoints(authorization_endpoint="https://a/x"))
    with pytest.raises(UsageError, match="--token-endpoint, --userinfo-endpoint"):
        desired_settings(integration, "s")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"clientID": "x"}, "unknown Login OIDC setting 'clientID'"),
        ({"allowSignup": "1"}, "must be a boolean"),
        ({"scope": True}, "must be a string"),
        ({"userinfoId": " "}, "userinfoId must not be empty"),
        ({"tokenUrl": "auth.example.com/token"}, "not an http"),
        ({"clientSecret": "a\x00b"}, "NUL"),
        ({"clientId": EnvRef("X")}, "only clientSecret"),
        ({"allowedSignupDomains": "ok.example\n^.*@x\\.org$"}, "is a regular expression"),
        ({"allowedSignupDomains": "Example.org"}, "not written the way Login OIDC compares"),
        ({"allowedSignupDomains": "bücher.example"}, "not written the way Login OIDC compares"),
    ],
)
def test_validation_messages(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_settings(values)


def test_env_ref_name_is_checked() -> None:
    with pytest.raises(ValidationError, match="environment variable name"):
        desired_settings(make(), None, "MY-VAR")


def codes(integration: Integration, secret: str | None = "s") -> set[str]:
    return {w.code for w in setting_warnings(integration, desired_settings(integration, secret))}


def test_warnings_for_known_traps() -> None:
    assert codes(make()) == set()
    assert codes(make(userinfo_id="id")) == {"userinfo-id-not-sub"}
    assert codes(make(allow_signup=True, client={"scopes": ("openid",)})) == {
        "signup-without-email"
    }
    assert codes(make(allow_signup=True)) == set()
    assert codes(make(client={"scopes": ("email",)})) == {"scope-without-openid"}
    assert codes(make(disable_superuser=True)) == {"disable-superuser"}
    assert codes(make(allowed_signup_domains=("example.org",))) == {"signup-domains-without-signup"}
    assert codes(make(allow_signup=True, allowed_signup_domains=("example.org",))) == set()
    assert codes(make(), secret=None) == {"no-client-secret"}
    assert codes(make(provider={"token_endpoint": "http://auth.example.com/t"})) == {
        "endpoint-not-https"
    }
    assert codes(make(provider={"token_endpoint": "http://127.0.0.1:9000/t"})) == set()
    azure = {
        "issuer": "https://login.microsoftonline.com/tenant/v2.0",
        "authorization_endpoint": "https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize",
    }
    assert codes(make(provider=azure)) == {"provider-rejects-query-redirect"}
    assert (
        codes(make(provider=azure, redirect_uri_override="https://m.example.com/oidc/cb")) == set()
    )
    adfs = {"authorization_endpoint": "https://sts.corp.example/adfs/oauth2/authorize/"}
    assert codes(make(provider=adfs)) == {"provider-rejects-query-redirect"}
    message = setting_warnings(make(provider=adfs), desired_settings(make(provider=adfs), "s"))[0]
    assert "redirect-uri-override" in (message.hint or "")


# --- renderings ---------------------------------------------------------------------------------


def test_ini_block_reads_back_through_php() -> None:
    secret = 'a"b&c$d;e\\f é ${X} \n'
    values = desired_settings(make(allowed_signup_domains=("a.example", "b.example")), secret)
    block = render.ini_block(values, show_secrets=True)
    php = php_read_ini(block)["LoginOIDC"]
    assert php["clientSecret"] == secret
    assert php == {k: stored_form(v) for k, v in values.items()}
    hidden = php_read_ini(render.ini_block(values))["LoginOIDC"]
    assert hidden["clientSecret"] == render.SECRET_PLACEHOLDER
    assert render.secret_hidden(values, False) and not render.secret_hidden(values, True)
    ref = render.ini_block(desired_settings(make(), None, "MATOMO_OIDC_CLIENT_SECRET"))
    assert 'clientSecret = "${MATOMO_OIDC_CLIENT_SECRET}"' in ref


def test_console_commands_quote_values_for_the_shell() -> None:
    values = desired_settings(make(button_name="It's me; $(rm -rf /)"), "s'e\"c")
    text = render.console_commands(values, show_secrets=True)
    parsed = {}
    for line in text.splitlines():
        argv = shlex.split(line)
        assert argv[:3] == ["./console", "config:set", "--section=LoginOIDC"]
        parsed[argv[3].removeprefix("--key=")] = argv[4].removeprefix("--value=")
    assert parsed == {k: stored_form(v) for k, v in values.items()}
    assert "s'e\"c" not in render.console_commands(values)
    with pytest.raises(UsageError, match="environment reference"):
        render.console_commands(desired_settings(make(), None, "X"))


@pytest.mark.parametrize(
    "field, value",
    [
        ("client_id", "matomo\nclientSecret=stolen"),
        ("button_name", "Log in\u202eevil"),
        ("userinfo_id", "sub\r"),
    ],
)
def test_control_characters_are_refused_without_echo(field: str, value: str) -> None:
    """Issue 15: a line break in the client id injected a line into the printed console commands."""
    integration = make(client={field: value}) if field == "client_id" else make(**{field: value})
    setting = {"client_id": "clientId", "button_name": "authenticationName"}.get(
        field, "userinfoId"
    )
    with pytest.raises(ValidationError, match=f"setting {setting} holds a line break") as raised:
        desired_settings(integration, "secret")
    assert value not in str(raised.value)


def test_table_and_json_mask_the_secret() -> None:
    values = desired_settings(make(), "topsecret")
    assert "topsecret" not in json.dumps(render.table_rows(values))
    assert render.settings_json(values)["clientSecret"] == "********"
    assert render.settings_json(values, True)["clientSecret"] == "topsecret"
    assert render.settings_json(values)["allowSignup"] is False


# --- the seeds' round trips -----------------------------------------------------------------------

# help.unikname.com/3-unikname-connect/integration-technology/matomo/ ("Step 2. Setup Login OIDC
# plugin"): the values its table tells users to type.
UNIKNAME_GUIDE = {
    "authenticationName": "Connect with your private @unikname",
    "authorizeUrl": "https://connect.unikname.com/oidc/authorize",
    "tokenUrl": "https://connect.unikname.com/oidc/accessToken",
    "userinfoUrl": "https://connect.unikname.com/oidc/profile",
    "userinfoId": "sub",
    "scope": "openid email",
}

# Authelia's Matomo guide (docs/content/integration/openid-connect/clients/matomo, tested with
# Authelia 4.38.14, Matomo 5.1.2, LoginOIDC 5.0.0), "Application > Web GUI".
AUTHELIA_GUIDE = {
    "authorizeUrl": "https://auth.example.com/api/oidc/authorization",
    "tokenUrl": "https://auth.example.com/api/oidc/token",
    "userinfoUrl": "https://auth.example.com/api/oidc/userinfo",
    "userinfoId": "sub",
    "clientId": "matomo",
    "clientSecret": "insecure_secret",
    "scope": "openid email",
}
AUTHELIA_REDIRECT = f"https://matomo.example.com/{CALLBACK}"


@pytest.fixture(autouse=True)
def _no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OIDCSETUP_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("OIDCSETUP_PROFILE", raising=False)


def gen_json(*args: str, secret: str | None = None) -> dict[str, Any]:
    env = {"OIDCSETUP_CLIENT_SECRET": secret} if secret else {}
    result = CliRunner().invoke(cli, ["--json", "gen", "matomo", *args], env=env)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_seed_unikname_connect() -> None:
    document = gen_json(
        "--authorization-endpoint", "https://connect.unikname.com/oidc/authorize",
        "--token-endpoint", "https://connect.unikname.com/oidc/accessToken",
        "--userinfo-endpoint", "https://connect.unikname.com/oidc/profile",
        "--button-name", "Connect with your private @unikname",
        "--matomo-url", "https://matomo.example.com/",
        secret="from-unikname",
    )  # fmt: skip
    settings = document["settings"]
    assert {k: settings[k] for k in UNIKNAME_GUIDE} == UNIKNAME_GUIDE
    assert document["warnings"] == []
    assert document["redirect_uris"] == [f"https://matomo.example.com/{CALLBACK}"]


def test_seed_authelia() -> None:
    document = gen_json(
        "--authorization-endpoint", "https://auth.example.com/api/oidc/authorization",
        "--token-endpoint", "https://auth.example.com/api/oidc/token",
        "--userinfo-endpoint", "https://auth.example.com/api/oidc/userinfo",
        "--client-id", "matomo",
        "--matomo-url", "https://matomo.example.com/",
        "--show-secrets",
        secret="insecure_secret",
    )  # fmt: skip
    settings = document["settings"]
    assert {k: settings[k] for k in AUTHELIA_GUIDE} == AUTHELIA_GUIDE
    assert document["redirect_uris"] == [AUTHELIA_REDIRECT]
    assert document["warnings"] == []


def test_seed_authelia_matches_the_reference_recipe() -> None:
    path = REFERENCE / "authelia.md"
    if not path.exists():
        pytest.skip(f"{path} is not present (it is in CI)")
    text = path.read_text(encoding="utf-8")
    assert AUTHELIA_REDIRECT in text
    assert "Userinfo ID `sub`, scope `openid email`" in text


# --- CLI ------------------------------------------------------------------------------------------

ENDPOINT_ARGS = [
    "--authorization-endpoint", "https://auth.example.com/a",
    "--token-endpoint", "https://auth.example.com/t",
    "--userinfo-endpoint", "https://auth.example.com/u",
]  # fmt: skip


def test_gen_matomo_formats_and_secret_handling() -> None:
    runner = CliRunner()
    env = {"OIDCSETUP_CLIENT_SECRET": "s3cr&t"}
    table = runner.invoke(cli, ["gen", "matomo", *ENDPOINT_ARGS], env=env)
    assert table.exit_code == 0 and "s3cr&t" not in table.output and "clientSecret" in table.stdout
    ini = runner.invoke(cli, ["gen", "matomo", *ENDPOINT_ARGS, "--format", "ini"], env=env)
    assert ini.exit_code == 0 and "REPLACE_WITH_THE_CLIENT_SECRET" in ini.stdout
    assert "warning: the client secret is replaced" in ini.stderr
    shown = runner.invoke(
        cli, ["gen", "matomo", *ENDPOINT_ARGS, "--format", "ini", "--show-secrets"], env=env
    )
    assert php_read_ini(shown.stdout)["LoginOIDC"]["clientSecret"] == "s3cr&t"
    ref = runner.invoke(
        cli,
        [
            "gen",
            "loginoidc",
            *ENDPOINT_ARGS,
            "--format",
            "ini",
            "--secret-as-env",
            "MATOMO_OIDC_CLIENT_SECRET",
        ],
    )
    assert ref.exit_code == 0 and '"${MATOMO_OIDC_CLIENT_SECRET}"' in ref.stdout
    console = runner.invoke(
        cli, ["gen", "matomo", *ENDPOINT_ARGS, "--format", "console", "--secret-as-env", "X"]
    )
    assert console.exit_code == 2 and "environment reference" in console.stderr
    json_fmt = runner.invoke(
        cli, ["gen", "matomo", *ENDPOINT_ARGS, "--format", "json", "--disable-superuser"], env=env
    )
    document = json.loads(json_fmt.stdout)
    assert document["settings"]["disableSuperuser"] is True
    assert [w["code"] for w in document["warnings"]] == ["disable-superuser"]
    assert "warning: disableSuperuser is on" in json_fmt.stderr


def test_gen_matomo_without_endpoints_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["gen", "matomo"])
    assert result.exit_code == 2
    assert "endpoints are not known" in result.stderr and "hint:" in result.stderr


def test_gen_redirect_uris_cli() -> None:
    runner = CliRunner()
    plain = runner.invoke(
        cli, ["gen", "redirect-uris", "--matomo-url", "https://M.example.com/matomo/index.php"]
    )
    assert plain.exit_code == 0 and plain.stdout == f"https://m.example.com/matomo/{CALLBACK}\n"
    as_json = runner.invoke(
        cli,
        ["gen", "redirect-uris", "--json"],
        env={"OIDCSETUP_MATOMO_URL": "https://m.example.com"},
    )
    assert json.loads(as_json.stdout) == {
        "schema_version": 2,
        "ok": True,
        "exit_code": 0,
        "redirect_uris": [f"https://m.example.com/{CALLBACK}"],
        "warnings": [],
    }
    bad = runner.invoke(
        cli, ["--json", "gen", "redirect-uris", "--matomo-url", "http://m.example.com"]
    )
    assert bad.exit_code == 1 and json.loads(bad.stdout)["error"]["type"] == "ValidationError"
    missing = runner.invoke(cli, ["gen", "redirect-uris"])
    assert missing.exit_code == 2 and "--matomo-url" in missing.stderr
    for command in (["gen", "matomo", "--help"], ["gen", "redirect-uris", "--help"]):
        assert "Examples:" in runner.invoke(cli, command).output


@pytest.mark.provider
def test_gen_matomo_discovers_endpoints_from_the_issuer(oidc_provider: Any) -> None:
    """--issuer with no endpoints in the profile: discovered now from the real oidc-provider."""
    result = CliRunner().invoke(
        cli,
        ["--json", "gen", "matomo", "--issuer", oidc_provider.issuer, "--secret-as-env", "S"],
    )
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["authorizeUrl"].startswith(oidc_provider.issuer)
    assert settings["tokenUrl"].startswith(oidc_provider.issuer)
    assert settings["userinfoUrl"].startswith(oidc_provider.issuer)
    assert settings["clientSecret"] == "${S}"


# --- regressions found in the QA pass -----------------------------------------------------------


def test_format_json_and_redirect_uris_json_print_a_document_on_error_too() -> None:
    failed = CliRunner().invoke(cli, ["gen", "matomo", "--format", "json"])
    assert failed.exit_code == 2
    doc = json.loads(failed.stdout)
    assert doc["ok"] is False and "endpoints are not known" in doc["error"]["message"]
    bad_url = CliRunner().invoke(
        cli, ["gen", "redirect-uris", "--json", "--matomo-url", "http://m.example.com"]
    )
    assert bad_url.exit_code == 1
    assert json.loads(bad_url.stdout)["error"]["type"] == "ValidationError"


def test_gen_matomo_json_says_ok() -> None:
    document = gen_json("--issuer", "https://auth.example.com", "--preset", "authelia", secret="s")
    assert document["ok"] is True and document["plugin"] == "LoginOIDC"


def test_issuer_override_replaces_the_endpoints_saved_in_the_profile(tmp_path: Path) -> None:
    """flag > env > profile: --issuer/--preset must not be paired with the profile's endpoints."""
    (tmp_path / "oidcsetup.toml").write_text(
        '[provider]\nissuer = "https://old.example.com"\n'
        'authorization_endpoint = "https://old.example.com/authorize"\n'
        'token_endpoint = "https://old.example.com/token"\n'
        'userinfo_endpoint = "https://old.example.com/userinfo"\n'
    )
    flag = gen_json("--issuer", "https://new.example.com", "--preset", "authelia")
    assert flag["settings"]["tokenUrl"] == "https://new.example.com/api/oidc/token"
    env = CliRunner().invoke(
        cli,
        ["--json", "gen", "matomo"],
        env={"OIDCSETUP_ISSUER": "https://new.example.com", "OIDCSETUP_PRESET": "authelia"},
    )
    assert env.exit_code == 0, env.output
    assert json.loads(env.stdout)["settings"]["userinfoUrl"] == (
        "https://new.example.com/api/oidc/userinfo"
    )
    # an endpoint flag still wins, and the profile's own issuer keeps its saved endpoints
    mixed = gen_json(
        "--issuer",
        "https://new.example.com",
        "--preset",
        "authelia",
        "--token-endpoint",
        "https://new.example.com/custom/token",
    )
    assert mixed["settings"]["tokenUrl"] == "https://new.example.com/custom/token"
    assert mixed["settings"]["authorizeUrl"] == "https://new.example.com/api/oidc/authorization"
    same = gen_json("--issuer", "https://old.example.com/")
    assert same["settings"]["tokenUrl"] == "https://old.example.com/token"


# --- allowedSignupDomains: plain domain names (Login OIDC 5.0.0 Controller.php signupUser) ------


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("example.org", "example.org"),
        (" Example.ORG ", "example.org"),  # the plugin compares exactly: lower case, as its UI
        ("bücher.example", "xn--bcher-kva.example"),  # Matomo's addUser takes ASCII emails only
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
    ],
)
def test_signup_domain_is_written_as_the_plugin_compares_it(given: str, written: str) -> None:
    assert signup_domain(given) == written


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        (r"^.*@example\.org$", "write example.org"),
        (r"example\.com$", "write example.com"),
        (r".*\.example\.com", "write example.com (and list each subdomain on its own)"),
        ("jane@example.org", "write example.org"),
        ("@example.org", "write example.org"),
        (r"(a|b)\.com", "one --allowed-signup-domain per domain"),
    ],
)
def test_a_regex_or_email_is_refused_with_the_domain_to_write(given: str, hint: str) -> None:
    with pytest.raises(ValidationError) as info:
        desired_settings(make(allow_signup=True, allowed_signup_domains=(given,)), "s")
    assert f'"{given}"' in info.value.message and "\n" not in info.value.message
    assert hint in (info.value.hint or "")


@pytest.mark.parametrize("given", ["", "exa mple.org", "-bad.example", "a..b", "x" * 64 + ".org"])
def test_not_a_domain_name_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="domain"):
        signup_domain(given)


def test_regex_domain_on_the_command_line_is_one_line_error() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "gen",
            "matomo",
            *ENDPOINT_ARGS,
            "--allow-signup",
            "--allowed-signup-domain",
            r"^.*@x\.org$",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "regular expression" in lines[0]
    assert lines[1].strip() == "hint: write x.org"


def test_signup_domains_from_the_environment() -> None:
    result = CliRunner().invoke(
        cli,
        ["gen", "matomo", *ENDPOINT_ARGS, "--allow-signup", "--format", "json"],
        env={"OIDCSETUP_ALLOWED_SIGNUP_DOMAINS": "example.org bücher.example"},
    )
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["allowedSignupDomains"] == "example.org\nxn--bcher-kva.example"


# --- --secret-as-env: what Matomo's own rewrites leave (reference section 5) ------------------


def test_secret_reference_drift_names_literal_and_empty() -> None:
    want = desired_settings(make(), None, "MATOMO_OIDC_CLIENT_SECRET")
    assert secret_reference_drift(want, "${MATOMO_OIDC_CLIENT_SECRET}", True) is None
    assert secret_reference_drift(want, None, False) is None  # not written yet: a plain add
    literal = secret_reference_drift(want, "the-plaintext", False)
    assert literal is not None and literal.code == "secret-reference-expanded"
    assert "${MATOMO_OIDC_CLIENT_SECRET}" in literal.message and "literal" in literal.message
    assert "the-plaintext" not in literal.message + (literal.hint or "")
    empty = secret_reference_drift(want, "", False)
    assert empty is not None and empty.code == "secret-reference-emptied"
    assert secret_reference_drift(desired_settings(make(), "s"), "", False) is None


def test_secret_as_env_warns_that_matomo_rewrites_it() -> None:
    values = desired_settings(make(), None, "MATOMO_OIDC_CLIENT_SECRET")
    found = {w.code: w for w in setting_warnings(make(), values)}
    assert "secret-reference-not-durable" in found
    assert "config:set" in found["secret-reference-not-durable"].message


def test_pinned_settings_are_what_the_file_holds_after_the_apply() -> None:
    want = desired_settings(make(), None)  # no secret: clientSecret unmanaged
    held = {"clientSecret": "x", "extraKey": "y", "disableSuperuser": "1"}
    pinned = pinned_settings(held, want)
    assert pinned[0] == "disableSuperuser" and "clientSecret" in pinned
    assert "extraKey" not in pinned and set(pinned) == set(want) | {"clientSecret"}
    assert "clientSecret" in pinned_settings(held, want, prune=True)
