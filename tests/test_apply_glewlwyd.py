"""``apply glewlwyd`` (issue 13) and ``register`` (issue 14) against a real Glewlwyd 2.7.5
(Debian's package, tests/support/glewlwyd.py) started for this module with RFC 7591
registration and admin API keys on.

The client applied through Glewlwyd's admin REST API is what the real server then serves:
``check`` passes and a real login through Glewlwyd's own login page (headless Chromium) goes
through; a second apply writes nothing; a change made through the admin API behind our back is
drift (exit 3, the fields named); ``--restore`` puts the saved client back.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli import Result, run
from tests.support.realpeer import MATOMO, REDIRECT_URI, RealProvider, free_port
from tests.support.schemas import validate

CLIENT = "matomo-applied"
SECRET = "applied-through-the-admin-api"
ADMIN = {"OIDCSETUP_GLEWLWYD_USERNAME": "admin", "OIDCSETUP_GLEWLWYD_PASSWORD": "password"}
LOGIN = {"OIDCSETUP_LOGIN_USERNAME": "dwho", "OIDCSETUP_LOGIN_PASSWORD": "dwho"}
NO_CREDENTIALS = {
    "OIDCSETUP_GLEWLWYD_USERNAME": None,
    "OIDCSETUP_GLEWLWYD_PASSWORD": None,
    "OIDCSETUP_GLEWLWYD_API_KEY": None,
}


@pytest.fixture(scope="module")
def glw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A Glewlwyd of this module's own (its clients change here), registration and keys on."""
    from functools import partial

    from tests.conftest import _real_provider
    from tests.support.glewlwyd import glewlwyd_missing_reason, start_glewlwyd

    start = partial(start_glewlwyd, registration=True, api_keys=True)
    yield from _real_provider(tmp_path_factory, "glewlwyd", glewlwyd_missing_reason, start)


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def admin_api(glw: RealProvider) -> Iterator[httpx.Client]:
    """Glewlwyd's admin API used directly (the change "behind our back")."""
    with httpx.Client(base_url=glw.extra["api"], timeout=10.0, trust_env=False) as api:
        assert api.post("/auth/", json={"username": "admin", "password": "password"}).is_success
        yield api


def oidcsetup(*args: str, env: dict[str, str | None] | None = None) -> Result:
    result = run(
        ["--json", *args],
        env={
            "OIDCSETUP_CLIENT_SECRET": SECRET,
            "OIDCSETUP_PROFILE": None,
            "XDG_STATE_HOME": str(Path.cwd() / "state"),
            **NO_CREDENTIALS,
            **ADMIN,
            **(env or {}),
        },
    )
    if args[0] == "apply":  # one document on stdout, also on failure, as its schema says
        document = json.loads(result.stdout)
        validate(document, "apply-glewlwyd")
        assert document["exit_code"] == result.exit_code
    return result


def apply(glw: RealProvider, *extra: str, env: dict[str, str | None] | None = None) -> Result:
    return oidcsetup(
        "apply", "glewlwyd", "--api", glw.extra["api"], "--client-id", CLIENT,
        "--matomo-url", MATOMO, "--scopes", "openid email profile", *extra, env=env,
    )  # fmt: skip


def check(glw: RealProvider, *extra: str, client_id: str = CLIENT, **env: str) -> Result:
    return oidcsetup(
        "check", "--issuer", glw.issuer, "--client-id", client_id, "--matomo-url", MATOMO,
        "--scopes", "openid email profile", *extra, env=dict(env),
    )  # fmt: skip


def probes(result: Result) -> dict[str, Any]:
    return {p["name"]: p for p in json.loads(result.stdout)["probes"]}


def backups() -> list[Path]:
    return sorted((Path.cwd() / "state" / "oidcsetup" / "backups").glob("glewlwyd-*.json"))


def needs_browser() -> None:
    from oidcsetup.verify.browser import browser_missing_reason

    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)


def test_apply_then_the_real_glewlwyd_logs_dwho_in(
    glw: RealProvider, admin_api: httpx.Client
) -> None:
    needs_browser()
    before = check(glw)
    assert before.exit_code == 3  # the real Glewlwyd does not know the client yet
    assert probes(before)["redirect-uri"]["status"] == "fail"

    dry = apply(glw, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert (planned["action"], planned["written"], planned["backup"]) == ("create", False, None)
    assert {c["field"]: c["new"] for c in planned["changes"]}["client_secret"] == "********"
    assert planned["write_only"] == ["password"]
    assert SECRET not in dry.stdout + dry.stderr
    assert admin_api.get(f"/client/{CLIENT}").status_code == 404  # nothing written
    assert apply(glw, "--check").exit_code == 3
    assert backups() == []

    done = apply(glw)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["written"] is True
    stored = admin_api.get(f"/client/{CLIENT}").json()
    assert stored["client_secret"] == SECRET and stored["redirect_uri"] == [REDIRECT_URI]
    assert stored["token_endpoint_auth_method"] == ["client_secret_post"]
    [backup] = backups()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert json.loads(backup.read_text())["client"] is None  # there was no client before

    again = apply(glw)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["in_sync"] is True
    assert json.loads(again.stdout)["written"] is False
    assert backups() == [backup]  # nothing written, no backup
    assert apply(glw, "--check").exit_code == 0

    # A real login: headless Chromium fills Glewlwyd's own login page as dwho, then the code
    # is exchanged with the secret posted, as Login OIDC does; every probe passes.
    result = check(glw, "--login", "--login-timeout", "90", **LOGIN)
    assert result.exit_code == 0, result.stdout
    found = probes(result)
    assert found["client-auth"]["code"] == "client-auth-ok"
    assert found["redirect-uri"]["code"] == "redirect-uri-accepted"
    assert found["userinfo-claims"]["code"] == "userinfo-claims-ok"
    assert json.loads(result.stdout)["login"]["email"] == "dwho@example.com"

    # The first backup says there was no client: restoring it removes ours (plan first).
    args = ("apply", "glewlwyd", "--api", glw.extra["api"], "--restore", str(backup))
    planned = oidcsetup(*args, "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert json.loads(planned.stdout)["action"] == "delete"
    assert admin_api.get(f"/client/{CLIENT}").status_code == 200  # a dry run writes nothing
    assert SECRET not in planned.stdout + planned.stderr
    removed = oidcsetup(*args)
    assert removed.exit_code == 0, removed.stderr
    assert admin_api.get(f"/client/{CLIENT}").status_code == 404
    assert json.loads(Path(json.loads(removed.stdout)["backup"]).read_text())["client"]


def test_check_names_a_change_made_behind_our_back_and_restore_puts_it_back(
    glw: RealProvider, admin_api: httpx.Client
) -> None:
    assert apply(glw).exit_code == 0
    changed = admin_api.get(f"/client/{CLIENT}").json()
    changed.pop("source")
    changed.update(
        redirect_uri=["https://elsewhere.example.com/cb"],
        client_secret="changed-behind-our-back",
        authorization_type=["code", "token"],
        jwks_uri="https://elsewhere.example.com/jwks",  # not ours: kept, never drift
    )
    assert admin_api.put(f"/client/{CLIENT}", json=changed).is_success
    broken = check(glw)  # the real effect: Glewlwyd refuses Matomo's login request
    assert broken.exit_code == 3
    assert probes(broken)["redirect-uri"]["status"] == "fail"

    drift = apply(glw, "--check")
    assert drift.exit_code == 3
    document = json.loads(drift.stdout)
    assert [c["field"] for c in document["changes"]] == [
        "client_secret",
        "redirect_uri",
        "authorization_type",
    ]
    assert "changed-behind-our-back" not in drift.stdout + drift.stderr
    assert admin_api.get(f"/client/{CLIENT}").json()["client_secret"] == "changed-behind-our-back"

    fixed = apply(glw)
    assert fixed.exit_code == 0, fixed.stderr
    saved = Path(json.loads(fixed.stdout)["backup"])
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["client"]["redirect_uri"] == [
        "https://elsewhere.example.com/cb"
    ]
    assert probes(check(glw))["client-auth"]["code"] == "client-auth-ok"
    # Glewlwyd's PUT replaces the whole client: the property we do not own was sent back.
    assert admin_api.get(f"/client/{CLIENT}").json()["jwks_uri"] == changed["jwks_uri"]

    restored = oidcsetup("apply", "glewlwyd", "--api", glw.extra["api"], "--restore", str(saved))
    assert restored.exit_code == 0, restored.stderr
    assert json.loads(restored.stdout)["action"] == "update"
    assert admin_api.get(f"/client/{CLIENT}").json()["client_secret"] == "changed-behind-our-back"
    assert apply(glw, "--check").exit_code == 3
    assert apply(glw).exit_code == 0


def test_an_api_key_works_in_place_of_a_password(
    glw: RealProvider, admin_api: httpx.Client
) -> None:
    key = admin_api.post("/key/").json()["key"]
    result = apply(glw, "--check", env={**NO_CREDENTIALS, "OIDCSETUP_GLEWLWYD_API_KEY": key})
    assert result.exit_code in (0, 3), result.stderr
    assert json.loads(result.stdout)["client_id"] == CLIENT
    assert key not in result.stdout + result.stderr
    wrong = apply(glw, "--check", env={**NO_CREDENTIALS, "OIDCSETUP_GLEWLWYD_API_KEY": "nope"})
    assert wrong.exit_code == 1
    assert json.loads(wrong.stdout)["error"]["code"] == "glewlwyd-auth-failed"


@pytest.mark.parametrize(
    ("env", "code", "words"),
    [
        ({"OIDCSETUP_GLEWLWYD_PASSWORD": "wrong-password"}, 1, "refused the credentials"),
        ({"OIDCSETUP_GLEWLWYD_USERNAME": "dwho", "OIDCSETUP_GLEWLWYD_PASSWORD": "dwho"}, 1,
         "lacks the g_admin scope"),
        (NO_CREDENTIALS, 2, "OIDCSETUP_GLEWLWYD_USERNAME is not set"),
    ],
)  # fmt: skip
def test_credentials_refused_or_missing_is_one_line(
    glw: RealProvider, admin_api: httpx.Client, env: dict[str, str | None], code: int, words: str
) -> None:
    result = apply(glw, "--client-id", "never-written", env=env)
    assert result.exit_code == code
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "wrong-password" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["exit_code"] == code
    assert admin_api.get("/client/never-written").status_code == 404


def test_a_scope_glewlwyd_lacks_is_refused_before_writing(
    glw: RealProvider, admin_api: httpx.Client
) -> None:
    # The real Glewlwyd would store a client naming an unknown scope without a word.
    result = apply(glw, "--client-id", "never-written", "--scopes", "openid groups")
    assert result.exit_code == 3
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert codes == ["glewlwyd-scope-missing"]
    assert admin_api.get("/client/never-written").status_code == 404
    assert admin_api.get("/scope/groups").status_code == 404


def test_api_url_over_plain_http_is_refused() -> None:
    result = oidcsetup(
        "apply", "glewlwyd", "--api", "http://sso.example.com/api", "--matomo-url", MATOMO,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "plain http" in result.stderr and "password" not in result.stdout


def test_glewlwyd_down_is_exit_4() -> None:
    result = oidcsetup(
        "apply", "glewlwyd", "--api", f"http://127.0.0.1:{free_port()}/api",
        "--matomo-url", MATOMO, "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 4
    assert "Glewlwyd is running" in result.stderr


# --- issue 14: RFC 7591/7592 registration at the real Glewlwyd ----------------------------


def test_register_at_glewlwyd_then_login_check_drift_delete(
    glw: RealProvider, admin_api: httpx.Client, tmp_path: Path
) -> None:
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(f'[provider]\nissuer = "{glw.issuer}"\n\n[app.matomo]\nurl = "{MATOMO}"\n')

    def register(*args: str) -> Result:
        return run(
            ["--json", "--profile", str(profile), "register", *args],
            env={"OIDCSETUP_REGISTRATION_TOKEN": None, "OIDCSETUP_ISSUER": None},
        )

    created = register("--scopes", "openid email profile")
    assert created.exit_code == 0, created.stderr
    document = json.loads(created.stdout)
    client_id = document["client_id"]
    # Glewlwyd reads the auth method back as a list and leaves the scope out: still in sync.
    assert document["action"] == "created" and document["in_sync"] is True
    stored = admin_api.get(f"/client/{client_id}").json()
    assert stored["redirect_uri"] == [REDIRECT_URI] and stored["confidential"] is True

    # The registered client works at the real Glewlwyd: it takes Matomo's authorization
    # request and the secret it issued, posted as Login OIDC does. (The browser login through
    # Glewlwyd's page is the first test's; it would add 12 s here for the same path.)
    works = run(
        ["--json", "--profile", str(profile), "check"],
        env={"OIDCSETUP_CLIENT_SECRET": None},
    )
    assert works.exit_code == 0, works.stdout
    assert probes(works)["client-auth"]["code"] == "client-auth-ok"
    assert probes(works)["redirect-uri"]["code"] == "redirect-uri-accepted"
    assert register("--check").exit_code == 0

    # Matomo's redirect URI replaced through the admin API: drift that breaks the login.
    stored.pop("source")
    stored["redirect_uri"] = ["https://elsewhere.example.com/cb"]
    assert admin_api.put(f"/client/{client_id}", json=stored).is_success
    drift = register("--check")
    assert drift.exit_code == 3
    [difference] = json.loads(drift.stdout)["differences"]
    assert (difference["field"], difference["breaks_matomo"]) == ("redirect_uris", True)

    again = register()  # RFC 7592 PUT brings it back in line, in place
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["client_id"] == client_id
    assert admin_api.get(f"/client/{client_id}").json()["redirect_uri"] == [REDIRECT_URI]

    deleted = register("--delete")
    assert deleted.exit_code == 0, deleted.stderr
    # Glewlwyd's RFC 7592 DELETE disables the client (200, empty body): it can log in no more.
    assert admin_api.get(f"/client/{client_id}").json()["enabled"] is False
    secret = stored["client_secret"]
    refused = run(
        ["--json", "check", "--issuer", glw.issuer, "--client-id", client_id,
         "--matomo-url", MATOMO],
        env={"OIDCSETUP_CLIENT_SECRET": secret, "OIDCSETUP_PROFILE": None},
    )  # fmt: skip
    assert refused.exit_code == 3
    assert probes(refused)["redirect-uri"]["status"] == "fail"


def test_register_at_glewlwyd_with_an_initial_access_token(
    glw: RealProvider, tmp_path: Path
) -> None:
    """Glewlwyd's registration can want a token of its own with a given scope: without one it
    answers 401 and nothing is stored; with one (OIDCSETUP_REGISTRATION_TOKEN) it registers."""
    from tests.support.glewlwyd import token_protected_registration

    issuer, token = token_protected_registration(glw)
    profile = tmp_path / "oidcsetup.toml"
    profile.write_text(f'[provider]\nissuer = "{issuer}"\n\n[app.matomo]\nurl = "{MATOMO}"\n')
    before = profile.read_text()

    def register(token: str | None) -> Result:
        return run(
            ["--json", "--profile", str(profile), "register"],
            env={"OIDCSETUP_REGISTRATION_TOKEN": token, "OIDCSETUP_ISSUER": None},
        )

    refused = register(None)
    assert refused.exit_code == 1
    assert "OIDCSETUP_REGISTRATION_TOKEN" in refused.stderr
    assert profile.read_text() == before
    assert not (tmp_path / "oidcsetup-client.secret").exists()

    created = register(token)
    assert created.exit_code == 0, created.stderr
    assert token not in created.stdout + created.stderr
    works = run(
        ["--json", "--profile", str(profile), "check"], env={"OIDCSETUP_CLIENT_SECRET": None}
    )
    assert probes(works)["client-auth"]["code"] == "client-auth-ok", works.stdout
