"""``gen kanidm``: the ``kanidm system oauth2`` commands match the Matomo side, and what Kanidm
would refuse is refused first (facts from kanidm/kanidm's sources, cited in
oidcsetup/providers/kanidm/commands.py; Kanidm cannot run here)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from oidcsetup.integration import build_integration
from oidcsetup.providers.kanidm import build_client, validate_client
from tests.cli import run

URL = "https://matomo.example.com"


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OIDCSETUP_CLIENT_SECRET", "OIDCSETUP_PROFILE", "OIDCSETUP_MATOMO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def argv_of(commands: list[str], verb: str) -> list[list[str]]:
    """The commands ``kanidm system oauth2 <verb> ...`` as argument lists (shell-parsed)."""
    parsed = [shlex.split(c) for c in commands]
    return [p[4:] for p in parsed if p[:4] == ["kanidm", "system", "oauth2", verb]]


def test_commands_register_the_matomo_client(tmp_path: Path) -> None:
    result = run(
        ["--json", "gen", "kanidm", "--matomo-url", URL, "--issuer", "https://idm.example.com",
         "--client-name", "Matomo Analytics", "--scopes", "openid email profile"],
        env={"OIDCSETUP_CLIENT_SECRET": "never-shown-secret"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    commands = document["commands"]
    redirect = json.loads(run(["--json", "gen", "redirect-uris", "--matomo-url", URL]).stdout)
    assert argv_of(commands, "create") == [["matomo", "Matomo Analytics", URL + "/"]]
    assert argv_of(commands, "add-redirect-url") == [
        ["matomo", u] for u in redirect["redirect_uris"]
    ]
    assert argv_of(commands, "enable-strict-redirect-url") == [["matomo"]]
    assert argv_of(commands, "update-scope-map") == [
        ["matomo", "matomo_users", "openid", "email", "profile"]
    ]
    assert argv_of(commands, "warning-insecure-client-disable-pkce") == [["matomo"]]
    assert argv_of(commands, "show-basic-secret") == [["matomo"]]
    # the secret is Kanidm's: we never print one, not even the one in the environment
    assert "never-shown-secret" not in result.stdout + result.stderr
    assert document["issuer"] == "https://idm.example.com/oauth2/openid/matomo"
    # the redirect URI's '?' and '&' survive the shell
    assert "'" + redirect["redirect_uris"][0] + "'" in "\n".join(commands)


@pytest.mark.parametrize(
    ("plugin", "title"), [("loginoidc", "Login OIDC"), ("rebeloidc", "RebelOIDC")]
)
def test_plain_output_is_a_script_and_says_where_the_secret_goes(plugin: str, title: str) -> None:
    args = ["gen", "kanidm", "--matomo-url", URL, "--group", "analytics", "--plugin", plugin]
    result = run(args)
    assert result.exit_code == 0, result.stderr
    # the comment names the plugin Matomo runs, not always Login OIDC
    assert result.stdout.startswith(f"# Register Matomo's {title} in Kanidm")
    assert "kanidm system oauth2 update-scope-map matomo analytics openid email" in result.stdout
    assert "OIDCSETUP_CLIENT_SECRET" in result.stderr


@pytest.mark.parametrize(
    ("client_id", "group", "scopes", "code"),
    [
        ("Matomo", None, ("openid",), "kanidm-iname"),  # upper case
        ("matomo", "root", ("openid",), "kanidm-iname"),  # denied name
        ("0b7e4c1e-4f7a-4c4e-9d3c-6f1a2b3c4d5e", "g", ("openid",), "kanidm-iname"),
        ("matomo", None, ("email",), "kanidm-openid-scope"),
    ],
)
def test_values_kanidm_refuses_are_errors(
    client_id: str, group: str | None, scopes: tuple[str, ...], code: str
) -> None:
    integration = build_integration({"client.id": client_id, "client.scopes": list(scopes)})
    client = build_client(integration, [URL + "/cb"], URL + "/", group=group)
    assert code in [f.code for f in validate_client(client) if f.level == "error"]


def test_a_refused_name_exits_3_with_kanidms_words() -> None:
    result = run(["gen", "kanidm", "--matomo-url", URL, "--client-id", "Matomo"])
    assert result.exit_code == 3
    assert "iname values may only contain limited characters" in result.stderr
    assert result.stdout == ""


def test_an_http_redirect_is_a_warning() -> None:
    client = build_client(build_integration({}), ["http://matomo.lan/cb"], "http://matomo.lan/")
    assert [f.code for f in validate_client(client)] == ["kanidm-insecure-redirect"]


def test_without_matomo_url_there_is_no_landing_url() -> None:
    result = run(["gen", "kanidm", "--redirect-uri-override", URL + "/cb"])
    assert result.exit_code == 2 and "landing URL" in result.stderr
