"""The ``--json`` contract every command keeps (README, "Machine-readable output"; docs/schemas/).

Each command runs for real, on its success path and on its failure paths; its one document must
follow the command's JSON Schema, and the envelope must tell the truth: ``exit_code`` is the
process's exit status and ``ok`` is true exactly when it is 0. Interruption (SIGINT, SIGTERM) is
sent to a real ``oidcsetup`` process blocked on a real wait: a silent server, or ``login``
waiting for its browser callback from the real oidc-provider.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from oidcsetup.cli.main import COMMANDS, cli
from tests.cli import Result, run
from tests.support.provider import RunningProvider
from tests.support.schemas import schema_names, validate

MATOMO = "http://127.0.0.1:8080/"
SECRET = "matomo-test-secret"
CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[General]
salt = "0123456789abcdef"
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml; generated secret files land here
    monkeypatch.delenv("OIDCSETUP_PROFILE", raising=False)
    monkeypatch.delenv("OIDCSETUP_CLIENT_SECRET", raising=False)


def document_of(result: Result, schema: str, exit_code: int) -> dict[str, Any]:
    """The run's one JSON document, checked against the schema and the envelope's rules."""
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    document = json.loads(result.stdout)  # the whole of stdout is one document
    assert isinstance(document, dict)
    validate(document, schema)
    assert document["schema_version"] == 2
    assert document["exit_code"] == exit_code
    assert document["ok"] is (exit_code == 0)
    if "error" in document:
        assert document["error"]["exit_code"] == exit_code
    return document


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- every command has a schema ----------------------------------------------------------------


def test_every_command_has_a_schema() -> None:
    ctx = click.Context(cli)
    names = set()
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, parent=ctx)
            for sub in command.list_commands(sub_ctx):
                if sub != "loginoidc":  # the alias of gen matomo
                    names.add(f"{name}-{sub}")
        else:
            names.add(name)
    assert set(schema_names()) == names | {"common"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing command."),
        (["nosuch"], "No such command 'nosuch'."),
        (["gen"], "missing command"),
        (["gen", "nosuch"], "No such command 'nosuch'."),
        (["check", "--nosuch"], "No such option '--nosuch'."),
        (["--profile", "/"], "Invalid value for '--profile'"),
    ],
)
def test_usage_errors_before_any_command_ran(args: list[str], message: str) -> None:
    document = document_of(run(["--json", *args]), "failure", 2)
    assert document["error"]["code"] == "usage"
    assert document["error"]["message"].startswith(message)
    assert "\n" not in document["error"]["message"]  # one line, not click's help text


# --- success and failure per command -----------------------------------------------------------


def test_init_and_show(tmp_path: Path) -> None:
    profile = str(tmp_path / "p.toml")
    created = document_of(run(["--profile", profile, "--json", "init"]), "init", 0)
    assert created["profile"] == profile and created["backup"] is None
    refused = document_of(run(["--profile", profile, "--json", "init"]), "init", 2)
    assert refused["error"]["code"] == "usage"
    shown = document_of(
        run(["--profile", profile, "--json", "show"], env={"OIDCSETUP_CLIENT_SECRET": "x"}),
        "show",
        0,
    )
    # the variable wins over the profile's reference, and show names it (issue 10)
    assert shown["values"]["client.secret"] == {
        "value": "env:OIDCSETUP_CLIENT_SECRET",
        "source": "env",
    }
    bad = tmp_path / "bad.toml"
    bad.write_text("[client]\nscopes = 42\n")
    broken = document_of(run(["--profile", str(bad), "--json", "show"]), "show", 1)
    assert broken["error"]["code"] == "invalid-profile"
    assert "a list of strings or a space-separated string" in broken["error"]["message"]


def test_show_names_the_profile_reference_when_no_variable_overrides_it(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[client]\nsecret = "env:MY_SECRET"\n')
    shown = document_of(run(["--profile", str(profile), "--json", "show"]), "show", 0)
    assert shown["values"]["client.secret"] == {"value": "env:MY_SECRET", "source": "profile"}


def test_gen_redirect_uris() -> None:
    good = run(["--json", "gen", "redirect-uris", "--matomo-url", "https://m.example.com"])
    assert document_of(good, "gen-redirect-uris", 0)["redirect_uris"]
    bad = run(["--json", "gen", "redirect-uris", "--matomo-url", "http://m.example.com"])
    assert document_of(bad, "gen-redirect-uris", 1)["error"]["type"] == "ValidationError"


def test_gen_matomo() -> None:
    args = ["--json", "gen", "matomo", "--matomo-url", MATOMO]
    preset = ["--issuer", "https://auth.example.com", "--preset", "authelia"]
    good = document_of(run([*args, *preset]), "gen-matomo", 0)
    assert good["settings"]["clientId"] == "matomo" and "clientSecret" not in good["settings"]
    # no secret given: the warning is in the one list every command uses
    assert any(w["code"] == "no-client-secret" for w in good["warnings"])
    unknown = document_of(run(args), "gen-matomo", 2)
    assert unknown["error"]["code"] == "usage"


def test_gen_authelia(tmp_path: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["--json", "gen", "authelia", "--matomo-url", "https://m.example.com"]
    good = document_of(run([*args, "--scopes", "openid"], env=env), "gen-authelia", 0)
    assert "client_secret" in good["yaml"] and SECRET not in json.dumps(good)
    # a warning-level finding is also a warning, with the finding's code
    assert {"matomo-scope-email"} <= {w["code"] for w in good["warnings"]}
    findings = run([*args, "--client-id", "x" * 101], env=env)
    broken = document_of(findings, "gen-authelia", 3)
    assert "error" not in broken and broken["findings"][0]["level"] == "error"


def test_apply_matomo_check_drift_is_not_ok(tmp_path: Path) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["--json", "apply", "matomo", "--config", str(config), "--matomo-url", MATOMO]
    args += ["--issuer", "https://auth.example.com", "--preset", "authelia"]
    dry = document_of(run([*args, "--dry-run"], env=env), "apply-matomo", 0)
    assert dry["mode"] == "dry-run" and not dry["in_sync"] and not dry["written"]
    # issue 10: drift under --check was "ok": true with exit 3
    drift = document_of(run([*args, "--check"], env=env), "apply-matomo", 3)
    assert drift["in_sync"] is False and "error" not in drift
    applied = document_of(run(args, env=env), "apply-matomo", 0)
    assert applied["written"] and applied["targets"][0]["written"]
    in_sync = document_of(run([*args, "--check"], env=env), "apply-matomo", 0)
    assert in_sync["in_sync"] is True
    # the JSON document keeps the full plan, unchanged settings included
    assert len(in_sync["targets"][0]["changes"]) >= 17
    assert {c["action"] for c in in_sync["targets"][0]["changes"]} == {"unchanged"}
    assert SECRET not in json.dumps(in_sync)
    no_target = document_of(run(["--json", "apply", "matomo"], env=env), "apply-matomo", 2)
    assert no_target["error"]["code"] == "usage"


def test_apply_matomo_in_sync_says_so_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["apply", "matomo", "--config", str(config), "--matomo-url", MATOMO]
    args += ["--issuer", "https://auth.example.com", "--preset", "authelia"]
    first = run(args, env=env)
    assert first.exit_code == 0 and "clientId" in first.stdout
    for extra in ([], ["--check"], ["--dry-run"]):
        again = run([*args, *extra], env=env)
        assert again.exit_code == 0, again.stderr
        assert again.stdout == "No changes.\n", extra
        assert "unchanged" not in again.stderr and "in sync" not in again.stderr
    changed = run([*args, "--dry-run", "--client-id", "other"], env=env)
    assert "clientId" in changed.stdout and "clientSecret" not in changed.stdout  # changes only
    assert "1 changed, 16 unchanged" in changed.stdout


def test_secret_commands() -> None:
    generated = run(["--json", "secret", "generate", "--length", "12"])
    document = document_of(generated, "secret-generate", 0)
    assert document["warnings"][0]["code"] == "weak-secret"
    too_short = run(["--json", "secret", "generate", "--length", "0"])
    assert document_of(too_short, "secret-generate", 2)["error"]["code"] == "usage"
    digest = document_of(run(["--json", "secret", "hash"], input="abc"), "secret-hash", 0)
    nothing = document_of(run(["--json", "secret", "hash"], input=""), "secret-hash", 1)
    assert nothing["error"]["code"] == "secret-unusable"
    match = run(["--json", "secret", "verify", digest["digest"]], input="abc")
    assert document_of(match, "secret-verify", 0)["match"] is True
    mismatch = run(["--json", "secret", "verify", digest["digest"]], input="abd")
    assert document_of(mismatch, "secret-verify", 1)["match"] is False
    usage = run(["--json", "secret", "verify"])
    assert document_of(usage, "secret-verify", 2)["error"]["code"] == "usage"


def test_discover_failures() -> None:
    port = closed_port()
    unreachable = document_of(
        run(["--json", "discover", f"http://127.0.0.1:{port}"]), "discover", 4
    )
    assert unreachable["findings"][0]["level"] == "error" and unreachable["endpoints"] is None
    usage = document_of(run(["--json", "discover"]), "discover", 2)
    assert usage["error"]["code"] == "usage"


@pytest.mark.provider
def test_discover_check_login_against_the_real_provider(oidc_provider: RunningProvider) -> None:
    found = document_of(run(["--json", "discover", oidc_provider.issuer]), "discover", 0)
    assert found["discovered"] is True
    base = ["--issuer", oidc_provider.issuer, "--matomo-url", MATOMO]
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    passed = document_of(run(["--json", "check", *base], env=env), "check", 0)
    assert passed["summary"]["fail"] == 0
    # issue 10: a failed probe is ok: false with exit 3, as drift is
    wrong = run(["--json", "check", *base], env={"OIDCSETUP_CLIENT_SECRET": "wrong"})
    failed = document_of(wrong, "check", 3)
    assert failed["summary"]["fail"] >= 1 and "error" not in failed
    logged_in = document_of(run(["--json", "login", "--headless", *base], env=env), "login", 0)
    assert logged_in["matomo_user"] == "alice"
    refused = run(["--json", "login", "--headless", *base], env={"OIDCSETUP_CLIENT_SECRET": "x"})
    assert "invalid_client" in document_of(refused, "login", 1)["error"]["message"]


def test_check_unreachable() -> None:
    args = ["--json", "check", "--issuer", f"http://127.0.0.1:{closed_port()}"]
    unreachable = document_of(run(args, env={"OIDCSETUP_CLIENT_SECRET": SECRET}), "check", 4)
    assert unreachable["probes"][0]["unreachable"] is True


# --- interruption ------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """Accepts connections and never answers: stands for a provider that hangs mid-request."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        server.settimeout(30)
        yield server


def oidcsetup(
    *args: str, env: dict[str, str] | None = None, stdin: int = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    """A real ``oidcsetup`` process of this tree, without the caller's OIDCSETUP_* variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    environ["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return subprocess.Popen(
        [sys.executable, "-m", "oidcsetup", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=stdin,
        text=True,
        env={**environ, **(env or {})},
        start_new_session=True,  # no controlling terminal: a prompt reads stdin
        # As from a terminal: SIGINT delivered. A shell starts a background job with SIGINT
        # ignored, and Python then keeps it ignored (so the interruption tests would wait for
        # a signal that never arrives when the suite itself runs as `pytest &`).
        preexec_fn=_sigint_as_from_a_terminal,
    )


def _sigint_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_discover_prints_one_error_document(
    silent_server: socket.socket, signum: int, status: int
) -> None:
    port = silent_server.getsockname()[1]
    process = oidcsetup("--json", "discover", f"http://127.0.0.1:{port}", "--timeout", "60")
    try:
        connection, _ = silent_server.accept()  # the request is on its way: now it waits
        with connection:
            time.sleep(0.2)
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    document = json.loads(stdout)
    validate(document, "discover")
    assert document["ok"] is False and document["exit_code"] == status
    assert document["error"]["code"] == "interrupted"
    assert signal.Signals(signum).name in document["error"]["message"]
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_interrupted_text_mode_says_so_on_stderr_only(silent_server: socket.socket) -> None:
    port = silent_server.getsockname()[1]
    process = oidcsetup("discover", f"http://127.0.0.1:{port}", "--timeout", "60")
    try:
        connection, _ = silent_server.accept()
        with connection:
            time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    assert stdout == ""
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted by SIGINT")
    assert "Traceback" not in stderr


@pytest.mark.provider
def test_interrupted_login_waiting_for_its_callback(provider_factory: Any) -> None:
    from tests.support.provider import matomo_client
    from tests.support.realpeer import free_port

    # The loopback redirect URI must be registered: login refuses at once an unregistered one.
    callback = f"http://127.0.0.1:{free_port()}/callback"
    provider = provider_factory([matomo_client(redirect_uri=callback)])
    process = oidcsetup(
        "--json",
        "login",
        "--no-browser",
        "--issuer",
        provider.issuer,
        "--redirect-uri",
        callback,
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        for line in process.stderr:  # the loopback server is up once it says it waits
            if line.startswith("Waiting up to") or time.monotonic() > deadline:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    document = json.loads(stdout)
    validate(document, "login")
    assert document["error"]["code"] == "interrupted" and document["exit_code"] == 130


def test_ctrl_c_at_a_prompt_is_an_interruption_too() -> None:
    """click turns Ctrl-C at a prompt into "Aborted!" (exit 1); it is an interruption (130)."""
    import pty

    master, slave = pty.openpty()  # a terminal on stdin: `secret hash` asks for the secret
    process = oidcsetup("--json", "secret", "hash", stdin=slave)
    os.close(slave)
    try:
        assert process.stderr is not None
        seen = ""
        while "Client secret" not in seen:
            char = process.stderr.read(1)
            assert char, seen
            seen += char
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
        os.close(master)
    assert process.returncode == 130, seen + stderr
    document = json.loads(stdout)
    validate(document, "secret-hash")
    assert document["error"]["code"] == "interrupted"
    assert "Aborted!" not in stderr


@pytest.mark.parametrize("name", ["lemonldap", "glewlwyd", "django_op"])
def test_real_providers_documents_follow_the_contract(
    name: str, request: pytest.FixtureRequest
) -> None:
    """discover and check against real providers: their documents, warnings included.

    LemonLDAP::NG advertises "none" among its id_token algorithms: a warning-level finding,
    which both documents list under ``warnings`` with its code.
    """
    real = request.getfixturevalue(name)
    found = document_of(run(["--json", "discover", real.issuer]), "discover", 0)
    warned = [f["code"] for f in found["findings"] if f["level"] == "warning"]
    assert [w["code"] for w in found["warnings"]] == warned
    client = real.clients["matomo"]
    args = ["--json", "check", "--issuer", real.issuer, "--client-id", client.client_id]
    result = run([*args, "--matomo-url", MATOMO], env={"OIDCSETUP_CLIENT_SECRET": client.secret})
    checked = document_of(result, "check", result.exit_code)
    assert result.exit_code in (0, 3)
    discovery = next(p for p in checked["probes"] if p["name"] == "discovery")
    lifted = [f["code"] for f in discovery["details"].get("warnings", [])]
    assert [w["code"] for w in checked["warnings"]][: len(lifted)] == lifted
    if name == "lemonldap":
        assert "unsigned-id-token-allowed" in lifted


def test_gen_keycloak(tmp_path: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["--json", "gen", "keycloak", "--matomo-url", "https://m.example.com"]
    good = document_of(run([*args, "--realm", "r1"], env=env), "gen-keycloak", 0)
    assert good["client"]["clientId"] == "matomo" and SECRET not in json.dumps(good)
    broken = document_of(run([*args, "--client-id", " "], env=env), "gen-keycloak", 3)
    assert broken["findings"][0]["code"] == "keycloak-client-id"


@pytest.mark.parametrize(
    ("provider", "broken", "code"),
    [
        ("authentik", ["--slug", "a b"], "authentik-slug"),
        ("kanidm", ["--client-id", "Matomo"], "kanidm-iname"),
        ("dex", ["--scopes", "openid roles"], "dex-scope"),
        ("glewlwyd", ["--client-id", " "], "glewlwyd-client-id"),
    ],
)
def test_gen_provider_sides(provider: str, broken: list[str], code: str) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["--json", "gen", provider, "--matomo-url", "https://m.example.com"]
    good = document_of(run(args, env=env), f"gen-{provider}", 0)
    assert good["client_id"] == "matomo" and SECRET not in json.dumps(good)
    bad = document_of(run([*args, *broken], env=env), f"gen-{provider}", 3)
    assert code in [f["code"] for f in bad["findings"]]


def test_gen_and_apply_lemonldap(tmp_path: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["--json", "gen", "lemonldap", "--matomo-url", "https://m.example.com"]
    good = document_of(run(args, env=env), "gen-lemonldap", 0)
    assert good["client_id"] == "matomo" and SECRET not in json.dumps(good)
    bad = document_of(run([*args, "--client-id", "a b"], env=env), "gen-lemonldap", 3)
    assert bad["findings"][0]["code"] == "lemonldap-rp-name"
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "lmConf-1.json").write_text('{"cfgNum": 1}')
    apply = ["--json", "apply", "lemonldap", "--conf-dir", str(conf)]
    apply += ["--matomo-url", "https://m.example.com"]
    drift = document_of(run([*apply, "--check"], env=env), "apply-lemonldap", 3)
    assert drift["in_sync"] is False and SECRET not in json.dumps(drift)
    done = document_of(run(apply, env=env), "apply-lemonldap", 0)
    assert done["written"] == str(conf / "lmConf-2.json")
