"""Matomo's API target without a Matomo: the URL rule and the backup file (apps/matomo/api*.py).

Everything Matomo decides is tested on the real one in tests/test_matomo_api.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oidcsetup.apps.matomo.api import ApiSettings, api_url
from oidcsetup.apps.matomo.apitarget import load_api_backup, write_api_backup
from oidcsetup.errors import InputError, UsageError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://matomo.example.com", "https://matomo.example.com/index.php"),
        ("https://matomo.example.com/stats/", "https://matomo.example.com/stats/index.php"),
        ("https://matomo.example.com/index.php", "https://matomo.example.com/index.php"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/index.php"),
    ],
)
def test_api_url(given: str, expected: str) -> None:
    assert api_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "http://matomo.example.com/",  # the token would travel in clear
        "https://user:pw@matomo.example.com/",
        "https://matomo.example.com/?token_auth=abc",
        "matomo.example.com",
    ],
)
def test_api_url_refusals(given: str) -> None:
    with pytest.raises(UsageError) as refused:
        api_url(given)
    assert "pw" not in str(refused.value) and "abc" not in str(refused.value)


def test_backup_json_shape(tmp_path: Path) -> None:
    path = write_api_backup(
        "http://127.0.0.1:1/",
        "LoginOIDC",
        ApiSettings({"clientId": "x"}, ("clientSecret",)),
        tmp_path,
    )
    document = json.loads(path.read_text())
    assert document["hidden"] == ["clientSecret"]
    assert load_api_backup(path).values == {"clientId": "x"}


def test_a_database_backup_is_not_taken_for_an_api_backup(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"format": "oidcsetup-matomo-db-backup/1", "rows": []}))
    with pytest.raises(InputError, match="not a backup of `apply matomo --api`"):
        load_api_backup(path)


def test_a_redirect_is_never_followed_with_the_token() -> None:
    """Stands for a Matomo URL that redirects (http -> https, another host, a login proxy):
    the real Matomo peer does not redirect its API on its own. The token went only to the
    URL given, and the error names where the redirect pointed."""
    from oidcsetup.apps.matomo.api import ApiCredentials, MatomoApi, MatomoApiError
    from tests.support.hostile import HttpServer, redirect_to

    with HttpServer() as elsewhere, HttpServer() as matomo:
        matomo.routes["/index.php"] = redirect_to(elsewhere.base + "/index.php")
        api = MatomoApi(matomo.base + "/", ApiCredentials("token-0123456789", "pw-0123456789"))
        with pytest.raises(MatomoApiError) as refused:
            api.write_settings("LoginOIDC", {"clientId": "x"})
        assert refused.value.code == "matomo-api-redirect"
        assert f"127.0.0.1:{elsewhere.port}" in str(refused.value)
        assert elsewhere.received == []
        [sent] = matomo.received
        assert sent.method == "POST" and sent.path == "/index.php"  # nothing in the URL
        assert b"token_auth=token-0123456789" in sent.body


def test_matomo_unreachable_is_exit_4_and_names_no_credential() -> None:
    from oidcsetup.apps.matomo.api import ApiCredentials, MatomoApi
    from oidcsetup.errors import ExitCode, UnreachableError
    from tests.support.mariadb import _free_port

    port = _free_port()  # nothing listens there
    api = MatomoApi(f"http://127.0.0.1:{port}/", ApiCredentials("token-0123456789"))
    with pytest.raises(UnreachableError) as failed:
        api.read_settings("LoginOIDC", ["clientId"])
    assert failed.value.exit_code == ExitCode.UNREACHABLE
    assert str(port) in str(failed.value)
    assert "token-0123456789" not in f"{failed.value} {failed.value.hint}"
