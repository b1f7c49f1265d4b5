"""``gen lemonldap`` / ``apply lemonldap`` against a real LemonLDAP::NG 2.16 portal (plackup,
tests/support/lemonldap.py) started on its own configuration folder: the relying party applied
by oidcsetup is what the real portal then serves (``check`` passes, where it failed before the
apply), a second apply changes nothing, and ``--check`` reports a change made behind our back."""

from __future__ import annotations

import json
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Result, run
from tests.support.lemonldap import CLI as CLI_PATH
from tests.support.realpeer import MATOMO, RealProvider

CLIENT = "matomo-applied"
SECRET = "applied-by-oidcsetup-secret"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    from tests.support.lemonldap import serve_portal

    yield from serve_portal(tmp_path_factory.mktemp("llng-apply"))


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


# --- the real lemonldap-ng-cli (the package's) against a throwaway copy of the fixture's
# configuration (tests/support/lemonldap.py's build_configuration; no portal needed) ----------

# Set by whoever saves a configuration (LemonLDAP::NG's Cli::_save, our confdir.save_next).
SAVE_STAMPS = ("cfgNum", "cfgDate", "cfgAuthor", "cfgAuthorIP", "cfgLog", "cfgVersion")


@pytest.fixture
def throwaway(tmp_path: Path) -> Callable[[str], Path]:
    """Configuration folders holding the same lmConf-1.json; returns each one's ini."""
    from tests.support.lemonldap import build_configuration, lemonldap_cli_missing_reason
    from tests.support.realpeer import free_port

    reason = lemonldap_cli_missing_reason()
    if reason:
        pytest.skip(reason)
    first = build_configuration(tmp_path / "llng-first", free_port())

    def make(name: str) -> Path:
        if name == "first":
            return first
        copy = tmp_path / f"llng-{name}"
        shutil.copytree(first.parent, copy)
        ini = copy / first.name
        ini.write_text(first.read_text().replace(str(first.parent), str(copy)))
        return ini

    return make


def cli(ini: Path, script: str) -> None:
    from tests.support.lemonldap import run_lemonldap_cli

    done = run_lemonldap_cli(ini, script, {"OIDCSETUP_CLIENT_SECRET": SECRET})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Saved under number" in done.stderr, done.stderr


def as_stored(value: Any) -> Any:
    # the CLI stores every value it is given as a string; the portal reads "0" as 0
    return json.loads(json.dumps(value), parse_int=str, parse_float=str)


def stored(ini: Path) -> dict[str, Any]:
    """The newest configuration without its save stamps, numbers as strings."""
    conf = ini.parent / "conf"
    document = json.loads((conf / f"lmConf-{conf_numbers(conf)[-1]}.json").read_text())
    return {k: as_stored(v) for k, v in document.items() if k not in SAVE_STAMPS}


def test_the_printed_cli_commands_build_what_apply_writes(
    throwaway: Callable[[str], Path],
) -> None:
    by_cli, by_apply = throwaway("first"), throwaway("apply")
    gen = run(
        ["--json", "gen", "lemonldap", "--matomo-url", MATOMO, "--client-id", CLIENT],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert gen.exit_code == 0, gen.stderr
    commands = json.loads(gen.stdout)["commands"]
    assert SECRET not in "".join(commands)

    cli(by_cli, "\n".join(commands))  # the secret comes from the shell's environment

    options = stored(by_cli)["oidcRPMetaDataOptions"][CLIENT]
    assert options["oidcRPMetaDataOptionsClientSecret"] == SECRET
    assert apply(by_cli.parent / "conf", "--check").exit_code == 0  # in sync, as printed
    assert apply(by_apply.parent / "conf").exit_code == 0
    # The whole configuration, not only our entry: what apply wrote, the CLI wrote alike; the
    # CLI also writes out every default value the portal would use anyway, and a random "key"
    # when there is none (Manager/Cli.pm _save): nothing else.
    from tests.support.lemonldap import lemonldap_defaults

    written_by_cli, written_by_apply = stored(by_cli), stored(by_apply)
    assert {k: written_by_cli.get(k) for k in written_by_apply} == written_by_apply
    extras = set(written_by_cli) - set(written_by_apply) - {"key"}
    defaults = lemonldap_defaults()
    assert {k: written_by_cli[k] for k in extras} == {k: as_stored(defaults[k]) for k in extras}


def client_auth(portal: RealProvider, want: str, timeout: float = 30.0) -> dict[str, Any]:
    """The client-auth probe of ``check`` once it has the status ``want`` (the portal rereads
    its configuration within checkTime, 1 s here)."""
    deadline = time.monotonic() + timeout
    while True:
        probe = probes(check(portal))["client-auth"]
        if probe["status"] == want or time.monotonic() > deadline:
            return probe
        time.sleep(0.5)


def test_check_names_the_fields_lemonldap_ng_cli_changed_behind_our_back(
    portal: RealProvider,
) -> None:
    """The real CLI changes our relying party in the RUNNING portal's configuration: --check
    names the fields (secret masked), and the portal really refuses our secret, as the drift
    says it will; apply puts it back and the portal takes the secret again."""
    from tests.support.lemonldap import lemonldap_cli_missing_reason, run_lemonldap_cli

    reason = lemonldap_cli_missing_reason()
    if reason:
        pytest.skip(reason)
    ini, conf = portal.extra["ini"], portal.workdir / "conf"
    assert apply(conf).exit_code == 0
    assert client_auth(portal, "pass")["status"] == "pass"
    rp = f"oidcRPMetaDataOptions/{CLIENT}"
    cli(
        ini,
        f"{CLI_PATH} -yes 1 addKey {rp} oidcRPMetaDataOptionsClientSecret changed-behind-our-back"
        f" {rp} oidcRPMetaDataOptionsUserInfoSignAlg RS256",
    )

    drift = apply(conf, "--check")
    assert drift.exit_code == 3, drift.stdout
    changes = {c["path"]: (c["old"], c["new"]) for c in json.loads(drift.stdout)["changes"]}
    assert changes == {
        f"{rp}/oidcRPMetaDataOptionsClientSecret": ("********", "********"),
        f"{rp}/oidcRPMetaDataOptionsUserInfoSignAlg": ("RS256", None),
    }
    assert "changed-behind-our-back" not in drift.stdout + drift.stderr
    human = run(
        ["apply", "lemonldap", "--conf-dir", str(conf), "--client-id", CLIENT,
         "--matomo-url", MATOMO, "--check"],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )  # fmt: skip
    assert human.exit_code == 3
    assert f"{rp}/oidcRPMetaDataOptionsUserInfoSignAlg: 'RS256' -> None" in human.stdout
    refused = client_auth(portal, "fail")
    assert refused["code"] == "client-secret-wrong", refused

    assert apply(conf).exit_code == 0
    assert apply(conf, "--check").exit_code == 0
    assert client_auth(portal, "pass")["status"] == "pass"
    # LemonLDAP::NG's own CLI reads back what apply wrote
    got = run_lemonldap_cli(ini, f"{CLI_PATH} get {rp}/oidcRPMetaDataOptionsIDTokenSignAlg")
    assert got.returncode == 0 and got.stdout.strip().endswith("= RS256"), got.stdout + got.stderr


# --- a damaged live configuration: our reading of the File backend's newest lmConf-N.json ------
# (hand-made files: a truncated save and a path that cannot be read stand for what a crash or a
# wrong permission leaves; no portal needed, the fault is in what apply reads first)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "is not valid JSON (line 1 column"),
        ("list", "is not a LemonLDAP::NG configuration (no JSON object)"),
        ("unreadable", "cannot read"),
    ],
)
def test_apply_on_a_damaged_lmconf_names_the_file_and_writes_nothing(
    tmp_path: Path, damage: str, message: str
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "lmConf-1.json").write_text('{"cfgNum": 1}')
    live = conf / "lmConf-2.json"
    if damage == "truncated":
        live.write_text('{"cfgNum": 2, "oidcRPMetaDataOptions": {')
    elif damage == "list":
        live.write_text("[]")
    else:
        live.mkdir()  # read as a file: fails as an unreadable one does (we run as root here)
    before = sorted(p.name for p in conf.iterdir())
    result = apply(conf)
    assert result.exit_code == 1, result.stdout
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid-input"
    assert error["message"].startswith(
        f"{live} {message}" if damage != "unreadable" else f"cannot read {live}"
    )
    assert "\n" not in error["message"] and "Traceback" not in result.stderr
    assert "nothing was written" in error["hint"]
    assert sorted(p.name for p in conf.iterdir()) == before
    plain = run(
        [
            "apply",
            "lemonldap",
            "--conf-dir",
            str(conf),
            "--client-id",
            CLIENT,
            "--matomo-url",
            MATOMO,
        ],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET, "OIDCSETUP_PROFILE": None},
    )
    assert plain.exit_code == 1 and len(plain.error_lines) == 1, plain.stderr
