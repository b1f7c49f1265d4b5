"""Acceptance gaps of issue 2 (foundation, discover) closed by the audit (docs/dev/acceptance.md).

Each test names the requirement bullet it proves.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from oidcsetup.errors import ExitCode
from oidcsetup.output import Output
from tests.cli import run
from tests.support.docserver import DocServer, doc_server, rsa_jwks, run_cli, send
from tests.support.schemas import validate

REPO = Path(__file__).resolve().parents[1]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def server() -> Iterator[DocServer]:
    with doc_server() as running:
        yield running


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OIDCSETUP_DEBUG", raising=False)
    monkeypatch.delenv("OIDCSETUP_PROFILE", raising=False)


def minimal(base: str) -> dict[str, object]:
    return {
        "issuer": base,
        "authorization_endpoint": base + "/authorize",
        "token_endpoint": base + "/token",
        "userinfo_endpoint": base + "/userinfo",
        "jwks_uri": base + "/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


# --- Errors: "a user mistake never prints a traceback (`--debug` shows it)" -----------------


def test_debug_shows_the_traceback_of_a_user_mistake(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    plain = run(["--profile", missing, "show"])
    assert plain.exit_code == ExitCode.FAILURE
    assert "Traceback" not in plain.stderr
    assert len(plain.error_lines) == 1 and "does not exist" in plain.error_lines[0]
    debug = run(["--debug", "--profile", missing, "show"])
    assert debug.exit_code == ExitCode.FAILURE
    assert "Traceback (most recent call last)" in debug.stderr
    assert "does not exist" in debug.stderr


# --- Output: "rich tables and a spinner on a terminal; plain text when piped" ---------------


def test_spinner_draws_on_a_terminal_and_is_silent_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    terminal = Terminal()
    output = Output(stdout=io.StringIO(), stderr=terminal, color=True)
    with output.spinner("fetching the discovery document"):
        time.sleep(0.3)  # rich refreshes its live display several times a second
    assert "fetching the discovery document" in terminal.getvalue()
    piped = io.StringIO()
    with Output(stdout=io.StringIO(), stderr=piped).spinner("fetching"):
        pass
    assert piped.getvalue() == ""


# --- Foundation: console script `oidcsetup` and `python -m oidcsetup` --------------------------


def test_console_script_is_installed() -> None:
    script = shutil.which("oidcsetup") or str(Path(sys.executable).parent / "oidcsetup")
    if not Path(script).exists():
        pytest.skip("the oidcsetup console script is not on PATH (package not installed)")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("oidcsetup, version ")


# --- Foundation: README quick start, command reference, profile format, exit codes ---------


def test_readme_documents_quick_start_commands_profile_and_exit_codes() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S)
    assert block, "no shell block in the quick start"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2, commands
    commands_section = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for command in ("init", "discover ", "gen authelia", "gen matomo", "gen redirect-uris"):
        assert f"`{command}" in commands_section, command
    for command in ("apply matomo", "check", "login", "secret generate", "secret hash"):
        assert f"`{command}" in commands_section, command
    for table in ("[provider]", "[client]", "[app.matomo]"):
        assert table in readme, table
    exit_codes = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code, word in (("0", "success"), ("1", "failure"), ("2", "usage"), ("3", "drift")):
        assert re.search(rf"^\| {code} \|.*{word}", exit_codes, re.M), code
    assert re.search(r"^\| 4 \|.*could not be reached", exit_codes, re.M)
    assert "### Precedence" in readme  # flag > env > profile > default, documented
    assert "OIDCSETUP_" in readme  # the environment variables are listed
    assert (REPO / "CHANGELOG.md").is_file() and (REPO / "docs" / "architecture.md").is_file()


def test_ci_script_runs_the_readme_test_command_ruff_and_mypy() -> None:
    ci = REPO / ".ci" / "run"
    if not ci.exists():
        pytest.skip(".ci/run is not in this checkout")
    text = ci.read_text(encoding="utf-8")
    for tool in ("ruff check", "ruff format --check", "mypy", "python -m pytest"):
        assert tool in text, tool
    # the installation it delegates to covers apt, npm and pip
    installer = re.search(r"bash (scripts/\S+)", text)
    assert installer, "no installer script called"
    install = (REPO / installer.group(1)).read_text(encoding="utf-8")
    for tool in ("apt-get", "npm", "pip"):
        assert tool in install, tool
    # ... and the README's test command is the one it runs
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "bash .ci/run" in readme


# --- Profile: "`oidcsetup init` writes a commented starter profile" --------------------------


def test_init_writes_a_commented_profile_with_every_table(tmp_path: Path) -> None:
    path = tmp_path / "oidcsetup.toml"
    assert run(["--profile", str(path), "init"]).exit_code == 0
    text = path.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 5
    for table in ("[provider]", "[client]", "[app.matomo]"):
        assert table in text, table
    # a secret reference, never a plaintext secret
    assert re.search(r'^\s*secret\s*=\s*"(env|file):', text, re.M)


# --- discover: "Probe in order, stopping at the first valid document" -------------------------


def test_discovery_stops_at_the_first_valid_location(server: DocServer) -> None:
    """Path issuer: the RFC 8414 oauth-authorization-server location (2nd) is used; the 3rd
    location is never asked."""
    issuer = server.base + "/tenant"
    server.json("/.well-known/oauth-authorization-server/tenant", minimal(issuer))
    server.json("/.well-known/openid-configuration/tenant", {"issuer": "never-read"})
    result = run_cli("--json", "discover", issuer, "--no-jwks")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["document_url"] == server.base + "/.well-known/oauth-authorization-server/tenant"
    assert server.hits["/tenant/.well-known/openid-configuration"] == 1
    assert server.hits["/.well-known/openid-configuration/tenant"] == 0


# --- discover --json "documented and stable": the failure document follows the schema too ----


def test_json_failure_document_follows_the_documented_schema() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("--json", "discover", f"http://127.0.0.1:{port}")
    assert result.exit_code == 4
    validate(json.loads(result.stdout), "discover")


# --- issue 6: "the document and the JWKS are fetched over one connection or concurrently" ----


def test_document_and_jwks_share_a_connection_or_overlap(server: DocServer) -> None:
    seen: list[tuple[str, int, float, float]] = []

    def recording(body: bytes) -> object:
        def handle(handler: BaseHTTPRequestHandler) -> None:
            started = time.monotonic()
            time.sleep(0.05)
            # recorded before the body goes out: the client may return as soon as it has it
            seen.append((handler.path, handler.client_address[1], started, time.monotonic()))
            send(handler, 200, body, "application/json")

        return handle

    server.route(
        "/.well-known/openid-configuration",
        recording(json.dumps(minimal(server.base)).encode()),  # type: ignore[arg-type]
    )
    server.route("/jwks", recording(json.dumps(rsa_jwks()).encode()))  # type: ignore[arg-type]
    result = run_cli("--json", "discover", server.base)
    assert result.exit_code == 0, result.stderr
    assert sorted(p for p, *_ in seen) == ["/.well-known/openid-configuration", "/jwks"]
    (_, port_a, start_a, end_a), (_, port_b, start_b, end_b) = seen
    one_connection = port_a == port_b
    concurrent = start_a < end_b and start_b < end_a
    assert one_connection or concurrent, seen


# --- Profile: "Any value can be overridden by a flag or an OIDCSETUP_* environment variable;
# precedence is documented and tested" (the variables the existing test does not touch) -----


def test_every_documented_shared_variable_overrides_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[provider]\nissuer = "https://p.example.com"\npreset = "generic"\n'
        '[client]\nname = "P"\nscopes = "openid"\n'
        '[app.matomo]\nuserinfo_id = "sub"\nredirect_uri_override = "https://p.example.com/cb"\n'
    )
    env = {
        "OIDCSETUP_ISSUER": "https://e.example.com",
        "OIDCSETUP_PRESET": "authelia",
        "OIDCSETUP_CLIENT_NAME": "E",
        "OIDCSETUP_SCOPES": "openid email",
        "OIDCSETUP_USERINFO_ID": "email",
        "OIDCSETUP_REDIRECT_URI_OVERRIDE": "https://e.example.com/cb",
    }
    values = json.loads(run(["--profile", str(profile), "--json", "show"], env=env).stdout)[
        "values"
    ]
    assert values["provider.issuer"] == {"value": "https://e.example.com", "source": "env"}
    assert values["provider.preset"] == {"value": "authelia", "source": "env"}
    assert values["client.name"] == {"value": "E", "source": "env"}
    assert values["client.scopes"] == {"value": ["openid", "email"], "source": "env"}
    assert values["app.matomo.userinfo_id"] == {"value": "email", "source": "env"}
    assert values["app.matomo.redirect_uri_override"]["source"] == "env"


def test_a_profile_only_key_is_overridden_by_flag_and_automatic_variable(tmp_path: Path) -> None:
    """README: any other option as OIDCSETUP_<COMMAND>_<OPTION>; flag > env > profile."""
    profile = tmp_path / "p.toml"
    profile.write_text('[app.matomo]\nbutton_name = "From profile"\n')
    base = ["--profile", str(profile), "--json", "gen", "matomo"]
    base += ["--issuer", "https://a.example.com", "--preset", "authelia"]

    def name(args: list[str], env: dict[str, str | None]) -> str:
        result = run(args, env={"OIDCSETUP_CLIENT_SECRET": "s", **env})
        assert result.exit_code == 0, result.stderr
        return str(json.loads(result.stdout)["settings"]["authenticationName"])

    assert name(base, {}) == "From profile"
    env: dict[str, str | None] = {"OIDCSETUP_GEN_MATOMO_BUTTON_NAME": "From env"}
    assert name(base, env) == "From env"
    assert name([*base, "--button-name", "From flag"], env) == "From flag"
