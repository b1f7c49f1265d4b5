"""The foundation: profile loading and precedence, error mapping, --json discipline, init."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from oidcsetup.errors import ExitCode, ProfileError, SecretError
from oidcsetup.integration import build_integration
from oidcsetup.profile import load_profile, starter_profile, update_profile
from oidcsetup.secretref import resolve_secret
from tests.cli import run

PROFILE = """\
# my comment survives
[provider]
issuer = "https://auth.example.com"   # inline comment

[client]
id = "from-profile"
scopes = "openid email profile"
secret = "env:MY_SECRET"

[app.matomo]
url = "https://matomo.example.com"
allow_signup = true
"""


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "oidcsetup.toml"
    path.write_text(PROFILE)
    return path


def test_profile_values_become_the_integration(profile: Path) -> None:
    integration = build_integration(load_profile(profile))
    assert integration.client.client_id == "from-profile"
    assert integration.client.scopes == ("openid", "email", "profile")
    assert integration.matomo.allow_signup is True
    assert integration.matomo.auto_linking is None  # plugin default
    assert integration.provider.issuer == "https://auth.example.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[client]\nidd = "x"\n', "unknown key 'client.idd'"),
        ("[clients]\n", "unknown table [clients]"),
        ('[app.matomo]\nallow_signup = "yes"\n', "app.matomo.allow_signup must be true or false"),
        (
            "[client]\nscopes = [1, 2]\n",
            "client.scopes must be a list of strings or a space-separated",
        ),
        ("[client\n", "is not valid TOML"),
    ],
)
def test_bad_profiles_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert message in info.value.message
    result = run(["--profile", str(path), "show"])
    assert result.exit_code == ExitCode.FAILURE
    assert len(result.error_lines) == 1 and message in result.error_lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[client]\nscope = "openid"\n')
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert info.value.hint == "did you mean 'client.scopes'?"


def test_precedence_flag_over_env_over_profile_over_default(profile: Path) -> None:
    args = ["--json", "--profile", str(profile), "show"]
    base = json.loads(run(args).stdout)["values"]
    assert base["client.id"] == {"value": "from-profile", "source": "profile"}
    assert base["client.auth_method"] == {"value": "client_secret_post", "source": "default"}

    env = {"OIDCSETUP_CLIENT_ID": "from-env", "OIDCSETUP_MATOMO_URL": "https://env.example.com"}
    with_env = json.loads(run(args, env=env).stdout)["values"]
    assert with_env["client.id"] == {"value": "from-env", "source": "env"}
    assert with_env["app.matomo.url"]["source"] == "env"

    with_flag = json.loads(run([*args, "--client-id", "from-flag"], env=env).stdout)["values"]
    assert with_flag["client.id"] == {"value": "from-flag", "source": "flag"}
    assert with_flag["app.matomo.url"] == {"value": "https://env.example.com", "source": "env"}


def test_profile_from_environment_variable(profile: Path) -> None:
    result = run(["--json", "show"], env={"OIDCSETUP_PROFILE": str(profile)})
    assert json.loads(result.stdout)["values"]["client.id"]["value"] == "from-profile"


def test_named_profile_must_exist_but_default_may_be_absent(tmp_path: Path) -> None:
    missing = run(["--profile", str(tmp_path / "nope.toml"), "show"])
    assert missing.exit_code == ExitCode.FAILURE
    assert "does not exist" in missing.error_lines[0]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run(["show"]).exit_code == 0
    finally:
        os.chdir(cwd)


def test_json_mode_puts_only_one_document_on_stdout_even_on_error(tmp_path: Path) -> None:
    result = run(["--json", "--profile", str(tmp_path / "nope.toml"), "show"])
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 1
    assert "does not exist" in document["error"]["message"]
    assert result.error_lines  # the human line goes to stderr


def test_secret_references(tmp_path: Path) -> None:
    secret_file = tmp_path / "s"
    secret_file.write_text("from-file\n")
    assert resolve_secret(f"file:{secret_file}", environ={}).value == "from-file"
    assert resolve_secret("env:X", environ={"X": "from-env"}).value == "from-env"
    override = resolve_secret("env:X", environ={"X": "a", "OIDCSETUP_CLIENT_SECRET": "b"})
    assert override is not None and override.value == "b"
    assert resolve_secret(None, environ={}) is None
    with pytest.raises(SecretError) as info:
        resolve_secret("env:NOT_SET_ANYWHERE", environ={})
    assert "$NOT_SET_ANYWHERE" in info.value.message


def test_init_writes_a_loadable_0600_profile_and_refuses_to_clobber(tmp_path: Path) -> None:
    path = tmp_path / "oidcsetup.toml"
    first = run(["--profile", str(path), "init", "--client-id", "matomo-x"])
    assert first.exit_code == 0, first.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_profile(path)["client.id"] == "matomo-x"
    second = run(["--profile", str(path), "init"])
    assert second.exit_code == ExitCode.USAGE
    assert "already exists" in second.error_lines[0]
    forced = run(["--profile", str(path), "init", "--force"])
    assert forced.exit_code == 0
    assert list(tmp_path.glob("oidcsetup.toml.bak-*"))


def test_update_profile_keeps_comments_and_other_values(profile: Path) -> None:
    changed = update_profile(
        profile,
        {"provider.token_endpoint": "https://auth.example.com/token", "client.id": "new"},
    )
    assert changed
    text = profile.read_text()
    assert "# my comment survives" in text and "# inline comment" in text
    values = load_profile(profile)
    assert values["client.id"] == "new"
    assert values["app.matomo.allow_signup"] is True
    assert not update_profile(profile, {"client.id": "new"})  # idempotent


def test_starter_profile_loads() -> None:
    import tomllib

    from oidcsetup.profile import flatten_profile

    values = flatten_profile(tomllib.loads(starter_profile()))
    assert values["client.auth_method"] == "client_secret_post"


def test_help_has_examples_on_every_command() -> None:
    from oidcsetup.cli.main import cli

    def walk(command: object, path: list[str]) -> list[list[str]]:
        import click

        found = [path]
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                found += walk(sub, [*path, name])
        return found

    for path in walk(cli, []):
        result = run([*path, "--help"])
        assert result.exit_code == 0, (path, result.stderr)
        assert "Examples:" in result.stdout, f"`oidcsetup {' '.join(path)} --help` has no examples"


def test_version_and_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "oidcsetup", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("oidcsetup, version ")


def test_usage_errors_exit_2() -> None:
    result = run(["no-such-command"])
    assert result.exit_code == ExitCode.USAGE


# --- regressions found in the QA pass -----------------------------------------------------------


@pytest.mark.parametrize("value", ['matomo"x', "C:\\matomo", "line\nbreak", "ctl\x01\x7f"])
def test_init_escapes_values_into_valid_toml(tmp_path: Path, value: str) -> None:
    """A quote or backslash in a flag used to write a profile that no longer loads."""
    path = tmp_path / "oidcsetup.toml"
    result = run(["--profile", str(path), "init", "--client-id", value, "--matomo-url", value])
    assert result.exit_code == 0, result.stderr
    values = load_profile(path)
    assert values["client.id"] == value and values["app.matomo.url"] == value


def test_init_force_never_replaces_a_good_profile_with_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oidcsetup.cli.init as init_module

    path = tmp_path / "oidcsetup.toml"
    path.write_text(PROFILE)
    monkeypatch.setattr(init_module, "starter_profile", lambda **_: "[client\n")
    result = run(["--profile", str(path), "init", "--force"])
    assert result.exit_code == ExitCode.FAILURE
    assert path.read_text() == PROFILE and not list(tmp_path.glob("*.bak-*"))


def test_backups_are_owner_only_whatever_the_original_mode(tmp_path: Path) -> None:
    from oidcsetup.fileio import atomic_write_text

    path = tmp_path / "configuration.yml"
    path.write_text("jwt_secret: hunter2\n")
    path.chmod(0o644)
    backup = atomic_write_text(path, "jwt_secret: other\n")
    assert backup is not None and backup.read_text() == "jwt_secret: hunter2\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_show_honours_the_authelia_options_environment(profile: Path) -> None:
    env = {"OIDCSETUP_AUTHELIA_VERSION": "4.37", "OIDCSETUP_CONSENT_MODE": "implicit"}
    result = run(
        ["--profile", str(profile), "--json", "show", "--authorization-policy", "one_factor"],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    values = doc["values"]
    assert doc["ok"] is True
    assert values["provider.authelia.version"] == {"value": "4.37", "source": "env"}
    assert values["provider.authelia.consent_mode"] == {"value": "implicit", "source": "env"}
    assert values["provider.authelia.authorization_policy"] == {
        "value": "one_factor",
        "source": "flag",
    }


def test_click_usage_errors_in_json_mode_are_one_json_document(profile: Path) -> None:
    result = run(["--profile", str(profile), "--json", "secret", "verify"])
    assert result.exit_code == ExitCode.USAGE
    doc = json.loads(result.stdout)
    assert doc == {
        "schema_version": 2,
        "ok": False,
        "exit_code": 2,
        "error": {
            "type": "UsageError",
            "code": "usage",
            "message": "Missing argument 'DIGEST'.",
            "hint": None,
            "exit_code": 2,
        },
        "warnings": [],
    }
    assert "Missing argument" in result.stderr


def test_init_force_on_a_symlinked_profile_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text(PROFILE)
    link = tmp_path / "oidcsetup.toml"
    link.symlink_to(real.name)
    result = run(["--profile", str(link), "init", "--force", "--client-id", "via-link"])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and load_profile(real)["client.id"] == "via-link"


def test_json_flag_also_works_after_the_subcommand() -> None:
    for args in (
        ["gen", "redirect-uris", "--matomo-url", "https://m.example.com", "--json"],
        ["secret", "generate", "--json"],
        ["show", "--json"],
    ):
        result = run(args)
        assert result.exit_code == 0, (args, result.stderr)
        document = json.loads(result.stdout)  # exactly one JSON document
        assert document["ok"] is True, args


def test_another_issuer_than_the_profiles_drops_its_saved_endpoints(tmp_path: Path) -> None:
    from oidcsetup.integration import drop_stale_endpoints

    saved = load_profile_text(
        tmp_path,
        '[provider]\nissuer = "https://old.example.com"\n'
        'authorization_endpoint = "https://old.example.com/auth"\n'
        'token_endpoint = "https://old.example.com/token"\n'
        'userinfo_endpoint = "https://old.example.com/me"\n',
    )
    values, moved = drop_stale_endpoints(saved, {"provider.issuer": "https://new.example.com"})
    assert moved == "provider.issuer"
    assert "provider.token_endpoint" not in values
    same, moved = drop_stale_endpoints(saved, {"provider.issuer": "https://old.example.com/"})
    assert moved is None and same["provider.token_endpoint"] == "https://old.example.com/token"
    # Every command sees it: `show` (built on AppContext.integration) says so on stderr.
    path = tmp_path / "p.toml"
    result = run(
        ["--profile", str(path), "show"], env={"OIDCSETUP_ISSUER": "https://new.example.com"}
    )
    assert "endpoints saved in the profile are not used" in result.stderr


def load_profile_text(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return load_profile(path)


def test_a_closed_pipe_ends_quietly() -> None:
    """`oidcsetup ... | head`: no "internal error" when the reader goes away."""
    for args in (["--help"], ["gen", "redirect-uris", "--matomo-url", "https://x.example.com"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "oidcsetup", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read().decode()
        process.wait(timeout=30)
        assert "internal error" not in stderr and "Traceback" not in stderr, stderr


def test_help_lists_commands_without_importing_them() -> None:
    """Start-up: `oidcsetup --help` must not import any command module or heavy library."""
    code = (
        "import sys\n"
        "from oidcsetup.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('httpx', 'rich', 'ruamel', 'pymysql', 'argon2', 'jwt', 'tomlkit', 'cryptography')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy]\n"
        "loaded += [m for m in sys.modules if m.startswith('oidcsetup.cli.') and m.rsplit('.', 1)[1]\n"
        "           not in ('main', 'context', 'lazy')]\n"
        "print(','.join(sorted(loaded)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in out.stdout
    assert out.stderr.strip() == "", f"--help imported: {out.stderr.strip()}"


def test_every_subcommand_has_a_static_one_line_help() -> None:
    import click

    from oidcsetup.cli.lazy import LazyGroup
    from oidcsetup.cli.main import cli

    groups = [cli]
    while groups:
        group = groups.pop()
        assert isinstance(group, LazyGroup)
        ctx = click.Context(group)
        for name in group.lazy_subcommands:
            assert group.lazy_help.get(name), f"{group.name} {name} has no static help"
            command = group.get_command(ctx, name)
            if isinstance(command, LazyGroup):
                groups.append(command)


def test_json_document_also_for_a_bad_global_option(tmp_path: Path) -> None:
    result = run(["--json", "--profile", str(tmp_path), "show"])  # a folder, not a file
    assert result.exit_code == ExitCode.USAGE
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["exit_code"] == 2
    assert "is a directory" in document["error"]["message"]


def test_environment_variables_are_named_after_the_flags(tmp_path: Path) -> None:
    """OIDCSETUP_<COMMAND>_<FLAG>, whatever the option's Python name (--config: config_path)."""
    config = tmp_path / "config.ini.php"
    config.write_text('; <?php exit; ?> DO NOT REMOVE THIS LINE\n[General]\nsalt = "x"\n')
    env = {
        "OIDCSETUP_APPLY_MATOMO_CONFIG": str(config),
        "OIDCSETUP_APPLY_MATOMO_DRY_RUN": "1",
        "OIDCSETUP_JSON": "1",
        "OIDCSETUP_CLIENT_SECRET": "s3cret",
        "OIDCSETUP_PROFILE": str(tmp_path / "p.toml"),
    }
    (tmp_path / "p.toml").write_text('[app.matomo]\nurl = "https://matomo.example.com"\n')
    args = ["apply", "matomo", "--preset", "authelia", "--issuer", "https://auth.example.com"]
    result = run(args, env=env)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)  # OIDCSETUP_JSON
    assert document["ok"] is True
    assert "LoginOIDC" not in config.read_text()  # OIDCSETUP_APPLY_MATOMO_DRY_RUN
    fmt = run(
        ["gen", "matomo", "--preset", "authelia", "--issuer", "https://auth.example.com"],
        env={**env, "OIDCSETUP_JSON": "", "OIDCSETUP_GEN_MATOMO_FORMAT": "ini"},
    )
    assert fmt.exit_code == 0, fmt.stderr
    assert fmt.stdout.lstrip().startswith(("[LoginOIDC]", ";"))


def test_unknown_command_under_json_still_prints_one_document() -> None:
    result = run(["--json", "no-such-command"])
    assert result.exit_code == ExitCode.USAGE
    assert json.loads(result.stdout)["error"]["exit_code"] == 2
