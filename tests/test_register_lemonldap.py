"""``oidcsetup register`` at the real LemonLDAP::NG 2.16 portal (tests/support/lemonldap.py)
with its RFC 7591 registration on (``oidcServiceAllowDynamicRegistration``).

What 2.16 does (Portal/Issuer/OpenIDConnect.pm ``registration``): it checks no initial access
token, stores the client as the relying party ``register-<time>`` in a new configuration
number, and answers client_id, client_secret, client_name, redirect_uris,
id_token_signed_response_alg: no token_endpoint_auth_method (its clients take Basic and POST
alike), no registration_access_token nor registration_client_uri (no RFC 7592). So
``register`` works once, and ``--check``, a second ``register`` and ``--delete`` say plainly
that they cannot reach the client, without writing anything.
"""

from __future__ import annotations

import json
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.realpeer import MATOMO, REDIRECT_URI, RealProvider
from tests.support.schemas import validate


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    from tests.support.lemonldap import DYNAMIC_REGISTRATION, serve_portal

    yield from serve_portal(tmp_path_factory.mktemp("llng-register"), settings=DYNAMIC_REGISTRATION)


def profile_for(tmp_path: Path, issuer: str) -> Path:
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(
        f'[provider]\nissuer = "{issuer}"\n\n[client]\nscopes = ["openid", "email", "profile"]\n'
        f'\n[app.matomo]\nurl = "{MATOMO}"\n'
    )
    return profile


def oidcsetup(profile: Path, *args: str) -> Result:
    return run(
        ["--json", "--profile", str(profile), *args],
        env={"OIDCSETUP_ISSUER": None, "OIDCSETUP_CLIENT_SECRET": None},
    )


def relying_parties(portal: RealProvider) -> dict[str, dict[str, Any]]:
    conf = portal.workdir / "conf"
    newest = max(conf.glob("lmConf-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    options: dict[str, dict[str, Any]] = json.loads(newest.read_text())["oidcRPMetaDataOptions"]
    return options


def test_register_at_the_real_portal_then_its_token_endpoint_takes_the_stored_secret(
    portal: RealProvider, tmp_path: Path
) -> None:
    profile = profile_for(tmp_path, portal.issuer)
    before = set(relying_parties(portal))

    result = oidcsetup(profile, "register")

    assert result.exit_code == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    validate(document, "register")
    assert document["action"] == "created" and document["managed"] is False
    client_id = document["client_id"]
    # the portal stored it as a relying party of its own naming, with Matomo's callback
    added = {k: v for k, v in relying_parties(portal).items() if k not in before}
    assert [v["oidcRPMetaDataOptionsClientID"] for v in added.values()] == [client_id]
    assert [k.startswith("register-") for k in added] == [True]
    assert next(iter(added.values()))["oidcRPMetaDataOptionsRedirectUris"] == REDIRECT_URI
    # the answer names no auth method: the token endpoint was asked, and took client_secret_post
    method = [d for d in document["differences"] if d["field"] == "token_endpoint_auth_method"]
    assert method and method[0]["breaks_matomo"] is False, document["differences"]
    assert "accepted client_secret_post" in method[0]["message"]
    codes = [w["code"] for w in document["warnings"]]
    assert "registration-unmanaged" in codes
    # credentials stored 0600, never printed; the profile points at them
    secret_file = tmp_path / "oidcsetup-client.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert secret and secret not in result.stdout + result.stderr
    stored = json.loads((tmp_path / "oidcsetup-client.secret.registration.json").read_text())
    assert stored == {
        "client_id": client_id,
        "registration_access_token": None,
        "registration_client_uri": None,
    }
    client = tomllib.loads(profile.read_text())["client"]
    assert client["id"] == client_id and client["secret"] == "file:oidcsetup-client.secret"

    # the real portal now authenticates the client with what the profile holds
    checked = oidcsetup(profile, "check")
    probes = {p["name"]: p for p in json.loads(checked.stdout)["probes"]}
    assert probes["client-auth"]["status"] == "pass", checked.stdout
    assert checked.exit_code == 0, checked.stdout


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("register", "--check"), "cannot read it back"),
        (("register",), "cannot read it back or update it"),
        (("register", "--delete"), "cannot delete it at the provider"),
    ],
)
def test_without_rfc_7592_check_rerun_and_delete_say_so_and_write_nothing(
    portal: RealProvider, tmp_path: Path, args: tuple[str, ...], what: str
) -> None:
    profile = profile_for(tmp_path, portal.issuer)
    assert oidcsetup(profile, "register").exit_code == 0
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    clients = relying_parties(portal)

    result = oidcsetup(profile, *args)

    assert result.exit_code == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["error"]["code"] == "registration-unmanaged", document
    assert what in document["error"]["message"]
    assert "RFC 7592" in document["error"]["message"]
    assert "lemonldap-ng-cli" in document["error"]["hint"]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    assert relying_parties(portal) == clients  # no second client, none removed


def test_registration_off_is_said_plainly(lemonldap: RealProvider, tmp_path: Path) -> None:
    """The session portal has registration off: its discovery has no registration_endpoint."""
    result = oidcsetup(profile_for(tmp_path, lemonldap.issuer), "register")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "registration-unsupported"
    assert "advertises no registration_endpoint" in error["message"]
