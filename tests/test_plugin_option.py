"""Every command that computes Matomo's redirect URI takes the plugin the same three ways.

The redirect URI is the plugin's callback (Login OIDC: module=LoginOIDC, RebelOIDC:
module=RebelOIDC; ``apps/matomo/plugins.py``), so a command that reads ``app.matomo.plugin``
from the profile must also honour ``--plugin`` and ``OIDCSETUP_PLUGIN``, as README's
environment table promises; otherwise the provider side gets Login OIDC's callback while
Matomo runs RebelOIDC, and the login fails with a redirect_uri mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from oidcsetup.cli.main import cli
from tests.cli import run

URL = "https://matomo.example.com"
REBEL = "module=RebelOIDC&action=callback&provider=oidc"
GEN = ["glewlwyd", "keycloak", "authentik", "kanidm", "dex", "lemonldap", "authelia"]


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
        elif command is not None:
            found.append((prefix + name, command))
    return found


def test_every_command_taking_the_matomo_url_takes_the_plugin() -> None:
    # migrate matomo: --to names the plugin (the one moved to).
    missing = [
        name
        for name, command in _commands(cli)
        if name not in ("init", "migrate matomo")
        and {p.name for p in command.params} >= {"matomo_url"}
        and "plugin" not in {p.name for p in command.params}
    ]
    assert missing == []


def test_show_names_the_plugin_from_the_environment(tmp_path: Path) -> None:
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text("")
    result = run(
        ["--json", "--profile", str(profile), "show"], env={"OIDCSETUP_PLUGIN": "rebeloidc"}
    )
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["values"]["app.matomo.plugin"]
    assert row == {"value": "rebeloidc", "source": "env"}


@pytest.mark.parametrize("provider", GEN)
@pytest.mark.parametrize("how", ["flag", "env"])
def test_provider_side_follows_the_plugin(provider: str, how: str, tmp_path: Path) -> None:
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text("")  # the plugin comes from the flag or the environment only
    args = ["--json", "--profile", str(profile), "gen", provider]
    args += ["--matomo-url", URL, "--issuer", "https://sso.example.com"]
    if provider in ("glewlwyd", "lemonldap", "authelia"):
        args.remove("--issuer")
        args.remove("https://sso.example.com")
    if provider in ("glewlwyd", "lemonldap", "authelia", "authentik", "keycloak"):
        args += ["--secret-file", str(tmp_path / "matomo.secret")]
    env: dict[str, str | None] = {"OIDCSETUP_PROFILE": None, "OIDCSETUP_CLIENT_SECRET": None}
    if how == "flag":
        args += ["--plugin", "rebeloidc"]
    else:
        env["OIDCSETUP_PLUGIN"] = "rebeloidc"
    result = run(args, env=env)
    assert result.exit_code in (0, 3), result.stdout + result.stderr
    json.loads(result.stdout)
    assert REBEL in result.stdout.replace("\\u0026", "&")
    assert "module=LoginOIDC" not in result.stdout
    # nor does any text the provider side writes name the other plugin (a client description)
    assert "Login OIDC" not in result.stdout


@pytest.mark.parametrize("provider", ["kanidm", "authentik"])
def test_the_plain_output_names_the_chosen_plugin(provider: str, tmp_path: Path) -> None:
    args = ["gen", provider, "--matomo-url", URL, "--issuer", "https://sso.example.com"]
    env = {"OIDCSETUP_PROFILE": None, "OIDCSETUP_CLIENT_SECRET": None}
    if provider == "authentik":
        args += ["--secret-file", str(tmp_path / "matomo.secret")]
    result = run([*args, "--plugin", "rebeloidc"], env=env)
    assert result.exit_code in (0, 3), result.stderr
    assert "Matomo's RebelOIDC" in result.stdout
    assert "Login OIDC" not in result.stdout
    result = run(args, env=env)
    assert "Matomo's Login OIDC" in result.stdout


@pytest.mark.parametrize(
    ("provider", "says"),
    [
        ("keycloak", "Keycloak issues JWT access tokens by default"),
        ("authentik", "authentik's OAuth2 provider issues JWT access tokens"),
        ("dex", "Dex issues its access tokens as JWTs"),
        ("kanidm", "unverified"),
    ],
)
def test_rebeloidc_warns_what_the_provider_issues_as_access_token(
    provider: str, says: str, tmp_path: Path
) -> None:
    """RebelOIDC decodes the access token as a JWT (apps/matomo/plugins.py): the provider side
    says whether this provider issues one; Login OIDC takes any access token, so no warning."""
    args = ["--json", "gen", provider, "--matomo-url", URL, "--issuer", "https://sso.example.com"]
    if provider in ("authentik", "keycloak"):
        args += ["--secret-file", str(tmp_path / "matomo.secret")]
    env = {"OIDCSETUP_PROFILE": None, "OIDCSETUP_CLIENT_SECRET": None}
    result = run([*args, "--plugin", "rebeloidc"], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    [finding] = [
        f for f in json.loads(result.stdout)["findings"] if f["code"] == "jwt-access-token"
    ]
    assert finding["level"] == "warning"
    assert says in finding["message"] and "Invalid JWT token format." in finding["message"]
    assert "oidcsetup check --login" in finding["hint"]
    result = run(args, env=env)
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert "jwt-access-token" not in codes
