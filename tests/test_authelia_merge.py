"""Merging the client into an existing Authelia configuration.yml (ruamel.yaml round trip)."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from oidcsetup.errors import ApplyError, InputError
from oidcsetup.integration import AutheliaOptions, ClientRegistration, Integration, MatomoApp
from oidcsetup.providers.authelia import build_client_entry, plan_merge, write_merge
from oidcsetup.secrets import hash_secret

SECRET = "Zm9vYmFy-secret~value"

CONFIG = """\
---
# Authelia configuration (hand written)
server:
  address: 'tcp://:9091'  # listen here

identity_providers:
  oidc:
    hmac_secret: 'this_is_a_secret_abc123abc123abc'
    jwks:
      - key_id: 'main'
        key: |
          -----BEGIN PRIVATE KEY-----
          MIIabc
          -----END PRIVATE KEY-----
    clients:
      # Grafana, keep as is
      - client_id: 'grafana'
        client_name: "Grafana"
        client_secret: '$plaintext$grafana'
        public: false
        redirect_uris:
          - 'https://grafana.example.com/login/generic_oauth'
        scopes: ['openid', 'profile']  # flow style
# trailing comment
"""


def integration(version: str = "4.39", **client: object) -> Integration:
    return Integration(
        client=ClientRegistration(client_id="matomo", client_name="Matomo", **client),  # type: ignore[arg-type]
        matomo=MatomoApp(url="https://matomo.example.com"),
        authelia=AutheliaOptions(version=version),
    )


def fast_digest(secret: str = SECRET) -> str:
    return hash_secret(secret, "pbkdf2-sha256", iterations=100_000)


def clients_of(text: str) -> list[dict[str, object]]:
    return yaml.safe_load(text)["identity_providers"]["oidc"]["clients"]  # type: ignore[no-any-return]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "configuration.yml"
    path.write_text(CONFIG, encoding="utf-8")
    os.chmod(path, 0o640)
    return path


def test_add_keeps_everything_else_byte_for_byte(config: Path) -> None:
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(config, entry, SECRET)
    assert result.action == "added"
    before_lines = CONFIG.splitlines()
    after_lines = result.after.splitlines()
    # every original line is still there, in order: the only change is one inserted block
    matcher = difflib.SequenceMatcher(a=before_lines, b=after_lines, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert len(changes) == 1 and changes[0][0] == "insert"
    _, _, _, start, end = changes[0]
    added = after_lines[start:end]
    assert added[0] == "      - client_id: 'matomo'"
    assert len(added) == len(entry.values) + sum(
        len(v) for v in entry.values.values() if isinstance(v, list)
    )
    assert after_lines[-1] == "# trailing comment"
    parsed = clients_of(result.after)
    assert [c["client_id"] for c in parsed] == ["grafana", "matomo"]
    assert parsed[1] == entry.as_dict()
    assert result.entry == entry.as_dict()
    assert "+      - client_id: 'matomo'" in result.diff()
    assert config.read_text() == CONFIG  # planning writes nothing


def test_write_is_atomic_with_backup_and_keeps_the_mode(config: Path) -> None:
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(config, entry, SECRET)
    backup = write_merge(result)
    assert backup is not None and backup.read_text() == CONFIG
    assert config.read_text() == result.after
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_second_run_is_in_sync_and_keeps_the_digest(config: Path) -> None:
    first = plan_merge(config, build_client_entry(integration(), fast_digest()), SECRET)
    write_merge(first)
    text = config.read_text()
    # a fresh digest of the same secret (new salt) must not replace the stored one
    second = plan_merge(config, build_client_entry(integration(), fast_digest()), SECRET)
    assert second.action == "unchanged" and second.in_sync
    assert second.kept_digest is True
    assert second.after == text
    assert second.diff() == ""
    assert write_merge(second) is None
    assert config.read_text() == text
    assert len(list(config.parent.glob("configuration.yml.bak-*"))) == 1


def test_update_changes_only_what_differs_and_keeps_comments_and_extra_keys(tmp_path: Path) -> None:
    digest = fast_digest()
    path = tmp_path / "configuration.yml"
    path.write_text(
        f"""\
identity_providers:
  oidc:
    clients:
      - client_id: 'matomo'  # our analytics
        client_name: 'Matomo'
        client_secret: '{digest}'
        public: false
        authorization_policy: 'two_factor'
        require_pkce: false
        pkce_challenge_method: ''
        audience:
          - 'https://matomo.example.com'
        redirect_uris:
          - 'https://matomo.example.com/index.php?module=LoginOIDC&action=callback&provider=oidc'
        scopes:
          - 'openid'
          - 'email'
        response_types:
          - 'code'
        grant_types:
          - 'authorization_code'
        access_token_signed_response_alg: 'none'
        userinfo_signed_response_alg: 'none'
        token_endpoint_auth_method: 'client_secret_basic'  # wrong for Matomo
""",
        encoding="utf-8",
    )
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(path, entry, SECRET)
    assert result.action == "updated"
    assert result.changed_keys == ("token_endpoint_auth_method",)
    assert result.kept_digest
    assert "- client_id: 'matomo'  # our analytics" in result.after
    assert "token_endpoint_auth_method: 'client_secret_post'" in result.after
    assert "audience:" in result.after
    assert result.entry["audience"] == ["https://matomo.example.com"]
    assert result.entry["client_secret"] == digest
    diff = [
        line
        for line in result.diff().splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(diff) == 2


def test_a_digest_of_another_secret_is_replaced(config: Path) -> None:
    write_merge(plan_merge(config, build_client_entry(integration(), fast_digest("old")), "old"))
    new_digest = fast_digest()
    result = plan_merge(config, build_client_entry(integration(), new_digest), SECRET)
    assert result.changed_keys == ("client_secret",)
    assert not result.kept_digest
    assert clients_of(result.after)[1]["client_secret"] == new_digest


def test_an_unverifiable_digest_is_replaced_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        "identity_providers:\n  oidc:\n    clients:\n      - client_id: matomo\n"
        "        client_secret: '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01'\n",
        encoding="utf-8",
    )
    result = plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    assert "client_secret" in result.changed_keys
    assert any("bcrypt" in note for note in result.notes)


def test_deprecated_names_are_renamed_in_place_for_4_38(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        "identity_providers:\n  oidc:\n    clients:\n      - id: 'matomo'  # old style\n"
        "        description: 'Matomo'\n        secret: '$plaintext$x'\n",
        encoding="utf-8",
    )
    result = plan_merge(path, build_client_entry(integration("4.38"), fast_digest()), SECRET)
    merged = clients_of(result.after)[0]
    assert list(merged)[:3] == ["client_id", "client_name", "client_secret"]
    assert "id" not in merged and "secret" not in merged
    assert re.search(r"- client_id: 'matomo' +# old style", result.after)
    assert "id->client_id" in result.changed_keys


def test_4_37_merges_with_its_own_key_names(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text(
        "identity_providers:\n  oidc:\n    clients:\n      - id: 'other'\n", encoding="utf-8"
    )
    result = plan_merge(path, build_client_entry(integration("4.37"), fast_digest()), SECRET)
    merged = clients_of(result.after)
    assert merged[1]["id"] == "matomo" and "client_id" not in merged[1]


def test_four_space_indentation_is_kept(tmp_path: Path) -> None:
    text = (
        "identity_providers:\n"
        "    oidc:\n"
        "        clients:\n"
        "          - client_id: other\n"
        "            scopes:\n"
        "              - openid\n"
    )
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    result = plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    assert result.after.startswith(text)
    assert "\n          - client_id: 'matomo'\n            client_name: 'Matomo'\n" in result.after
    assert "\n            scopes:\n              - 'openid'\n" in result.after


def test_missing_sections_are_created_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("server:\n  address: 'tcp://:9091'\n", encoding="utf-8")
    result = plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    assert result.after.startswith("server:\n  address: 'tcp://:9091'\nidentity_providers:\n")
    assert any("hmac_secret" in note for note in result.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("identity_providers: [1, 2\n", "is not valid YAML"),
        ("- a\n- b\n", "does not hold a YAML mapping"),
        ("identity_providers: 'oops'\n", "'identity_providers' is not a mapping"),
        ("identity_providers:\n  oidc:\n    clients: 'x'\n", "clients is not a list"),
        (
            "identity_providers:\n  oidc:\n    clients:\n      - client_id: matomo\n"
            "      - client_id: matomo\n",
            "client 'matomo' is defined 2 times",
        ),
    ],
)
def test_bad_files_are_input_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        plan_merge(tmp_path / "nope.yml", build_client_entry(integration(), fast_digest()), SECRET)
    assert "--merge" in (info.value.hint or "")


def test_a_concurrent_change_is_not_overwritten(config: Path) -> None:
    result = plan_merge(config, build_client_entry(integration(), fast_digest()), SECRET)
    config.write_text(CONFIG + "# edited meanwhile\n", encoding="utf-8")
    with pytest.raises(ApplyError, match="changed while oidcsetup was merging"):
        write_merge(result)
    assert config.read_text().endswith("# edited meanwhile\n")


def test_merged_file_validates_as_a_whole(config: Path) -> None:
    from oidcsetup.providers.authelia import validate_entry

    entry = build_client_entry(
        dataclasses.replace(integration(), client=ClientRegistration(client_id="matomo")),
        fast_digest(),
    )
    result = plan_merge(config, entry, SECRET)
    assert validate_entry(result.entry, "4.39") == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: [\n", "(line 2, column 1)"),
        ("a: 1\na: 2\n", 'duplicate key "a"'),
        ("a:\n\tb: 1\n", "(line 2, column 1)"),
    ],
)
def test_yaml_errors_are_one_line_with_the_position(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    message = info.value.message
    assert message.startswith(f"{path} is not valid YAML: ") and where in message
    assert "\n" not in message and "<unicode string>" not in message


def test_merge_into_a_symlinked_file_writes_the_target(config: Path) -> None:
    """A symlinked configuration.yml (mounted, generated) used to be replaced by a plain file."""
    link = config.with_name("link.yml")
    link.symlink_to(config.name)
    result = plan_merge(link, build_client_entry(integration(), fast_digest()), SECRET)
    backup = write_merge(result)
    assert link.is_symlink() and link.resolve() == config.resolve()
    assert config.read_text() == result.after
    assert backup is not None and backup.parent == config.parent and backup.read_text() == CONFIG
