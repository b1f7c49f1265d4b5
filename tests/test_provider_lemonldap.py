"""``gen lemonldap`` / ``apply lemonldap`` against a real LemonLDAP::NG 2.16 portal (plackup,
tests/support/lemonldap.py) started on its own configuration folder: the relying party applied
by oidcsetup is what the real portal then serves (``check`` passes, where it failed before the
apply), a second apply changes nothing, and ``--check`` reports a change made behind our back."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.realpeer import MATOMO, RealProvider

CLIENT = "matomo-applied"
SECRET = "applied-by-oidcsetup-secret"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    from tests.support.lemonldap import lemonldap_missing_reason, start_lemonldap

    reason = lemonldap_missing_reason()
    if reason:
        pytest.skip(reason)
    provider = start_lemonldap(tmp_path_factory.mktemp("llng-apply"))
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def oidcsetup(*args: str) -> Result:
    return run(
        ["--json", *args],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )


def apply(conf: Path, *extra: str) -> Result:
    return oidcsetup(
        "apply", "lemonldap", "--conf-dir", str(conf), "--client-id", CLIENT,
        "--matomo-url", MATOMO, *extra,
    )  # fmt: skip


def check(portal: RealProvider) -> Result:
    return oidcsetup(
        "check", "--issuer", portal.issuer, "--client-id", CLIENT, "--matomo-url", MATOMO
    )


def probes(result: Result) -> dict[str, Any]:
    return {p["name"]: p for p in json.loads(result.stdout)["probes"]}


def conf_numbers(conf: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in conf.glob("lmConf-*.json"))


def test_gen_prints_the_entry_and_commands_without_the_secret() -> None:
    result = run(
        ["gen", "lemonldap", "--matomo-url", MATOMO, "--client-id", CLIENT],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0, result.stderr
    entry = json.loads(result.stdout)["oidcRPMetaDataOptions"][CLIENT]
    assert entry["oidcRPMetaDataOptionsClientSecret"] == "********"
    assert entry["oidcRPMetaDataOptionsRequirePKCE"] == 0
    assert "oidcRPMetaDataOptionsUserInfoSignAlg" not in entry
    assert SECRET not in result.stdout + result.stderr
    assert '"$OIDCSETUP_CLIENT_SECRET"' in result.stderr
    assert (
        "delKey oidcRPMetaDataOptions/matomo-applied oidcRPMetaDataOptionsUserInfoSignAlg"
        in result.stderr
    )


def test_apply_then_the_real_portal_serves_the_client(portal: RealProvider) -> None:
    conf = portal.workdir / "conf"
    assert conf_numbers(conf) == [1]
    before = check(portal)
    assert before.exit_code != 0  # the real portal does not know the client yet
    assert probes(before)["client-auth"]["status"] == "fail"

    dry = apply(conf, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["in_sync"] is False and planned["written"] is None
    assert SECRET not in dry.stdout and conf_numbers(conf) == [1]
    assert apply(conf, "--check").exit_code == 3

    done = apply(conf)
    assert done.exit_code == 0, done.stderr
    assert conf_numbers(conf) == [1, 2]
    stored = json.loads((conf / "lmConf-2.json").read_text())
    assert stored["cfgNum"] == 2 and stored["cfgAuthor"] == "oidcsetup"
    assert stat.S_IMODE((conf / "lmConf-2.json").stat().st_mode) == 0o640
    options = stored["oidcRPMetaDataOptions"][CLIENT]
    assert options["oidcRPMetaDataOptionsClientSecret"] == SECRET
    assert stored["oidcRPMetaDataOptions"]["matomo"]  # the other clients are kept
    assert not (conf / "lmConf.lock").exists()

    again = apply(conf)
    assert again.exit_code == 0 and json.loads(again.stdout)["in_sync"] is True
    assert conf_numbers(conf) == [1, 2]
    assert apply(conf, "--check").exit_code == 0

    # the real portal reloads its configuration (checkTime = 1 s) and now accepts the client:
    # the client-auth probe posts our secret to its token endpoint. (The whole check's verdict
    # on LemonLDAP::NG also depends on its userinfo quirk, a probe this test does not judge.)
    deadline = time.monotonic() + 30
    result = check(portal)
    while probes(result)["client-auth"]["status"] != "pass" and time.monotonic() < deadline:
        time.sleep(1)
        result = check(portal)
    assert probes(result)["client-auth"]["status"] == "pass", result.stdout
    assert probes(result)["discovery"]["status"] == "pass"


def test_check_reports_a_change_made_behind_our_back(portal: RealProvider) -> None:
    conf = portal.workdir / "conf"
    if apply(conf).exit_code != 0:
        pytest.fail("apply failed")
    last = conf_numbers(conf)[-1]
    changed = json.loads((conf / f"lmConf-{last}.json").read_text())
    changed["cfgNum"] = last + 1
    changed["oidcRPMetaDataOptions"][CLIENT]["oidcRPMetaDataOptionsUserInfoSignAlg"] = "RS256"
    (conf / f"lmConf-{last + 1}.json").write_text(json.dumps(changed))
    drift = apply(conf, "--check")
    assert drift.exit_code == 3
    paths = [c["path"] for c in json.loads(drift.stdout)["changes"]]
    assert paths == [f"oidcRPMetaDataOptions/{CLIENT}/oidcRPMetaDataOptionsUserInfoSignAlg"]
    assert conf_numbers(conf)[-1] == last + 1  # --check wrote nothing
    assert apply(conf).exit_code == 0
    assert (
        "oidcRPMetaDataOptionsUserInfoSignAlg"
        not in json.loads((conf / f"lmConf-{last + 2}.json").read_text())["oidcRPMetaDataOptions"][
            CLIENT
        ]
    )
