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


# --- issue 10: the merge edits only our entry's text ---------------------------------------

# Authelia 4.38+ with X_AUTHELIA_CONFIG_FILTERS=template renders these before reading the YAML
# (docs: configuration/methods/files, "File Filters"; configuration/methods/secrets). No
# Authelia binary runs here: these files stand for such configurations.
TEMPLATED = """\
identity_providers:
  oidc:
    hmac_secret: {{ secret "/config/secrets/oidc/hmac" | msquote }}
    jwks:
      - key_id: 'main'
        key: {{ secret "/config/secrets/oidc/jwks/rsa.2048.key" | mindent 10 "|" | msquote }}
      - key_id: 'ec'
        key: |
{{- fileContent "/config/secrets/oidc/jwks/ec.key" | nindent 10 }}
    clients:
      - client_id: 'grafana'
        client_secret: '$plaintext$grafana-secret'
        redirect_uris: ['https://grafana.example.com/cb']
"""


def test_templates_are_kept_byte_for_byte(tmp_path: Path) -> None:
    """The inline template came out as ``{{secret "..." | ... : null}: null}`` with exit 0, and
    the ``{{- fileContent`` line (not YAML before rendering) was refused as invalid YAML."""
    path = tmp_path / "configuration.yml"
    path.write_text(TEMPLATED, encoding="utf-8")
    result = plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    assert result.action == "added"
    assert result.after.startswith(TEMPLATED)  # every line of the file, then our entry
    assert result.after[len(TEMPLATED) :].startswith("      - client_id: 'matomo'\n")
    # a second merge finds the entry in sync
    path.write_text(result.after, encoding="utf-8")
    assert plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET).in_sync


def test_a_file_broken_even_with_templates_read_as_placeholders_names_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "configuration.yml"
    path.write_text(TEMPLATED + "  bad: [\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    assert "even with its Authelia templates ({{ ... }}) read as placeholders" in str(info.value)
    assert "Authelia would not start" not in str(info.value) + str(info.value.hint)
    assert "authelia config template" in (info.value.hint or "")
    assert path.read_text(encoding="utf-8") == TEMPLATED + "  bad: [\n"


def test_crlf_and_bom_are_kept(tmp_path: Path) -> None:
    text = "\ufeff" + CONFIG.replace("\n", "\r\n")
    path = tmp_path / "configuration.yml"
    path.write_bytes(text.encode("utf-8"))
    result = plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)
    backup = write_merge(result)
    written = path.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf---\r\n")
    assert written.count(b"\n") == written.count(b"\r\n")
    assert backup is not None and backup.read_bytes() == text.encode("utf-8")
    assert [c["client_id"] for c in clients_of(written.decode("utf-8-sig"))] == [
        "grafana",
        "matomo",
    ]


MERGE_KEYS = """\
x-defaults: &client_defaults
  public: false
  authorization_policy: 'two_factor'
identity_providers:
  oidc:
    clients:
      - client_id: 'matomo'
        <<: *client_defaults
        client_secret: 'old'
        redirect_uris:
          - 'https://old.example.com/cb'
        audience: []  # kept
      - &second
        client_id: 'grafana'
        <<: *client_defaults
"""


def test_merge_keys_anchors_and_key_order_are_kept(tmp_path: Path) -> None:
    """``<<: *anchor`` entries saw our keys move to the end of the entry."""
    path = tmp_path / "configuration.yml"
    path.write_text(MERGE_KEYS, encoding="utf-8")
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(path, entry, SECRET)
    lines = result.after.splitlines()
    start = lines.index("      - client_id: 'matomo'")
    ours = lines[start : lines.index("      - &second")]
    assert ours.count("        <<: *client_defaults") == 1
    keys = [line.split(":")[0].strip() for line in ours if line.startswith("        ")]
    # public and authorization_policy come from the merge key with our values: not repeated;
    # the others follow our order, inserted after the key before them; audience stays last
    assert keys[:3] == ["client_name", "<<", "client_secret"]
    assert "public" not in keys and "authorization_policy" not in keys
    assert keys[-1] == "audience" and "        audience: []  # kept" in ours
    assert result.after.startswith(MERGE_KEYS.split("      - client_id: 'matomo'")[0])
    assert result.after.endswith(
        "      - &second\n        client_id: 'grafana'\n        <<: *client_defaults\n"
    )
    assert (
        yaml.safe_load(result.after)["identity_providers"]["oidc"]["clients"][0]["public"] is False
    )


@pytest.mark.parametrize(
    "reference",
    [
        "'{{ secret \"/run/secrets/matomo_digest\" }}'",
        "'${MATOMO_CLIENT_SECRET_DIGEST}'",
        # expand-env (os.Expand) also reads a whole $NAME; Authelia's own test configuration
        # (internal/configuration/test_resources/config.filtered.yml) has both forms
        "'$MATOMO_CLIENT_SECRET_DIGEST'",
    ],
)
def test_a_secret_reference_the_user_chose_is_kept_and_reported(
    tmp_path: Path, reference: str
) -> None:
    """``client_secret: '{{ secret "/run/secrets/x" }}'`` became a literal digest, silently."""
    text = CONFIG.replace(
        "# trailing comment",
        f"      - client_id: 'matomo'\n        client_secret: {reference}\n# trailing comment",
    )
    path = tmp_path / "configuration.yml"
    path.write_text(text, encoding="utf-8")
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(path, entry, SECRET)
    assert f"        client_secret: {reference}\n" in result.after
    assert result.kept_references == ("client_secret",)
    assert "client_secret" not in result.changed_keys
    assert any("kept client_secret" in note and "cannot check" in note for note in result.notes)
    assert result.entry["client_secret"] == reference.strip("'")
    assert result.checked_entry["client_secret"] == entry.values["client_secret"]


def test_a_client_written_as_an_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "configuration.yml"
    text = (
        "x-matomo: &matomo_client\n  client_id: 'matomo'\n  public: false\n"
        "identity_providers:\n  oidc:\n    clients:\n      - *matomo_client\n"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="is a YAML alias"):
        plan_merge(path, build_client_entry(integration(), fast_digest()), SECRET)


def test_flow_style_entries_are_edited_in_place(tmp_path: Path) -> None:
    text = (
        "identity_providers:\n  oidc:\n    clients: [{client_id: grafana}, "
        "{client_id: matomo, public: true, scopes: [openid]}]  # flow\n"
    )
    path = tmp_path / "configuration.yml"
    path.write_text(text, encoding="utf-8")
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(path, entry, SECRET)
    assert result.after.startswith(
        "identity_providers:\n  oidc:\n    clients: [{client_id: grafana}, {client_id: matomo"
    )
    assert result.after.endswith("}]  # flow\n") and result.after.count("\n") == 3
    assert clients_of(result.after)[1] == entry.as_dict() | {"client_id": "matomo"}


def test_the_dry_run_diff_masks_every_secret_of_the_file(config: Path) -> None:
    old = hash_secret("old-secret", "pbkdf2-sha256", iterations=1000)
    text = CONFIG.replace(
        "# trailing comment",
        f"      - client_id: 'matomo'\n        client_secret: '{old}'\n# trailing comment",
    )
    config.write_text(text, encoding="utf-8")
    result = plan_merge(config, build_client_entry(integration(), fast_digest()), SECRET)
    diff = result.diff()
    for secret in ("$plaintext$grafana", "this_is_a_secret", "MIIabc", old, "$pbkdf2"):
        assert secret not in diff
    # the replaced secret still shows as a changed line, masked on both sides
    assert "-        client_secret: '********'\n" in diff
    assert "+        client_secret: '********'\n" in diff
    assert old in result.diff(show_secrets=True)


def test_a_flow_entry_whose_id_comes_from_a_merge_key_gets_its_keys_inside_the_braces(
    tmp_path: Path,
) -> None:
    text = (
        "x: &m {client_id: matomo}\nidentity_providers:\n  oidc:\n    clients:\n"
        "      - {<<: *m}  # ours\n"
    )
    path = tmp_path / "configuration.yml"
    path.write_text(text, encoding="utf-8")
    entry = build_client_entry(integration(), fast_digest())
    result = plan_merge(path, entry, SECRET)
    assert result.after.startswith(text.split("{<<: *m")[0] + "{<<: *m, client_name: 'Matomo'")
    assert result.after.endswith("}  # ours\n")
    assert clients_of(result.after)[0] == entry.as_dict()
    path.write_text(result.after, encoding="utf-8")
    assert plan_merge(path, entry, SECRET).in_sync
