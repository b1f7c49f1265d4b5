"""``gen authentik``: the blueprint matches the Matomo side and the rules of authentik's
published blueprint schema (2025.12) for the two models written, as our own assertions
(authentik cannot run here); ``--merge`` keeps every other byte of the user's blueprint."""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run

URL = "https://matomo.example.com"
SECRET = "authentik-test-secret-value"

# properties of model_authentik_providers_oauth2.oauth2provider we may write
PROVIDER_PROPERTIES = {
    "name", "authentication_flow", "authorization_flow", "invalidation_flow",
    "property_mappings", "client_type", "client_id", "client_secret", "access_code_validity",
    "access_token_validity", "refresh_token_validity", "include_claims_in_id_token",
    "signing_key", "encryption_key", "redirect_uris", "logout_uri", "logout_method",
    "sub_mode", "issuer_mode",
}  # fmt: skip
UUID_FIELDS = ("authorization_flow", "invalidation_flow", "authentication_flow", "signing_key")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OIDCSETUP_CLIENT_SECRET", "OIDCSETUP_PROFILE", "OIDCSETUP_MATOMO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML().load(io.StringIO(text))


def tag_of(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    return getattr(tag, "value", tag) if tag is not None else None


def assert_uuid_lookup(node: Any) -> None:
    """A uuid field: a !Find [model, [field, value]] that authentik resolves to a primary key."""
    assert tag_of(node) == "!Find", node
    model, (field, value) = list(node)
    assert re.fullmatch(r"authentik_[a-z0-9_]+\.[a-z0-9]+", model) and field and value


def assert_provider_follows_schema(attrs: Any) -> None:
    assert set(attrs) <= PROVIDER_PROPERTIES, set(attrs) - PROVIDER_PROPERTIES
    assert isinstance(attrs["name"], str) and len(attrs["name"]) >= 1
    for name in UUID_FIELDS:
        if name in attrs:
            assert_uuid_lookup(attrs[name])
    for mapping in attrs["property_mappings"]:
        assert_uuid_lookup(mapping)
    assert attrs["client_type"] in ("confidential", "public")
    assert 1 <= len(attrs["client_id"]) <= 255
    if "client_secret" in attrs and tag_of(attrs["client_secret"]) is None:
        assert isinstance(attrs["client_secret"], str) and len(attrs["client_secret"]) <= 255
    for item in attrs["redirect_uris"]:
        assert set(item) == {"matching_mode", "url"}  # both required, nothing else
        assert item["matching_mode"] in ("strict", "regex") and len(item["url"]) >= 1
    assert attrs["sub_mode"] in (
        "hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn",
    )  # fmt: skip
    assert attrs["issuer_mode"] in ("global", "per_provider")
    assert isinstance(attrs["include_claims_in_id_token"], bool)


def entries_of(document: Any) -> tuple[Any, Any]:
    assert document["version"] == 1 and document["metadata"]["name"]
    models = {e["model"]: e for e in document["entries"]}
    return models["authentik_providers_oauth2.oauth2provider"], models["authentik_core.application"]


def test_blueprint_follows_the_schema_and_matches_the_matomo_side(workdir: Path) -> None:
    result = run(
        ["gen", "authentik", "--matomo-url", URL, "--output", "bp.yaml", "--scopes",
         "openid email profile"],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    written = workdir / "bp.yaml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    provider, application = entries_of(load(written.read_text()))
    attrs = provider["attrs"]
    assert_provider_follows_schema(attrs)
    redirect = json.loads(run(["--json", "gen", "redirect-uris", "--matomo-url", URL]).stdout)
    assert [u["url"] for u in attrs["redirect_uris"]] == redirect["redirect_uris"]
    assert {u["matching_mode"] for u in attrs["redirect_uris"]} == {"strict"}  # '?' is no regex
    assert attrs["client_id"] == "matomo" and attrs["client_secret"] == SECRET
    assert attrs["client_type"] == "confidential"
    assert [list(m)[1][1] for m in attrs["property_mappings"]] == [
        f"goauthentik.io/providers/oauth2/scope-{s}" for s in ("openid", "email", "profile")
    ]
    app = application["attrs"]
    assert re.fullmatch(r"^[-a-zA-Z0-9_]+$", app["slug"]) and len(app["slug"]) <= 50
    assert tag_of(app["provider"]) == "!KeyOf" and str(app["provider"]) == provider["id"]
    assert "https://AUTHENTIK/application/o/matomo/" in result.stderr


def test_stdout_leaves_the_secret_out_and_secret_env_refers_to_it(workdir: Path) -> None:
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    plain = run(["gen", "authentik", "--matomo-url", URL], env=env)
    assert plain.exit_code == 0, plain.stderr
    provider, _ = entries_of(load(plain.stdout))
    assert "client_secret" not in provider["attrs"] and SECRET not in plain.stdout + plain.stderr
    referred = run(["gen", "authentik", "--matomo-url", URL, "--secret-env", "MATOMO_S"], env=env)
    provider, _ = entries_of(load(referred.stdout))
    assert tag_of(provider["attrs"]["client_secret"]) == "!Env"
    assert str(provider["attrs"]["client_secret"]) == "MATOMO_S"


MINE = """\
# my blueprint
version: 1
metadata:
  name: my-sso   # comment
  labels:
    blueprints.goauthentik.io/instantiate: "true"
entries:
  - model: authentik_core.group
    identifiers:
      name: admins
    attrs:
      is_superuser: true
      users: !Find [authentik_core.user, [username, 'akadmin']]
  - model: authentik_core.application
    identifiers:
      slug: matomo
    attrs:
      name: Old Matomo
      slug: matomo
      provider: !KeyOf old-provider
"""


def test_merge_keeps_every_other_byte_and_is_idempotent(workdir: Path) -> None:
    mine = workdir / "sso.yaml"
    mine.write_text(MINE)
    mine.chmod(0o600)
    env = {"OIDCSETUP_CLIENT_SECRET": SECRET}
    args = ["gen", "authentik", "--matomo-url", URL, "--merge", str(mine)]
    dry = run([*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.stderr
    assert mine.read_text() == MINE and SECRET not in dry.stdout + dry.stderr
    done = run(args, env=env)
    assert done.exit_code == 0, done.stderr
    text = mine.read_text()
    # everything before the replaced application is kept byte for byte, tags and comments too
    kept = MINE.split("  - model: authentik_core.application")[0]
    assert text.startswith(kept)
    provider, application = entries_of(load(text))
    assert_provider_follows_schema(provider["attrs"])
    # the provider comes before the application whose !KeyOf names it
    assert text.index("oauth2provider") < text.index("authentik_core.application")
    assert str(application["attrs"]["provider"]) == provider["id"]
    assert len(load(text)["entries"]) == 3
    backups = [p for p in workdir.iterdir() if p.name.startswith("sso.yaml.")]
    assert len(backups) == 1 and backups[0].read_text() == MINE
    again = run(args, env=env)
    assert again.exit_code == 0 and "in sync" in again.stdout
    assert mine.read_text() == text


def test_merge_refuses_a_layout_it_cannot_keep(workdir: Path) -> None:
    odd = workdir / "odd.yaml"
    original = "version: 1\nentries:\n   -   model: authentik_core.group\n       identifiers:\n           name: x\n"
    odd.write_text(original)
    odd.chmod(0o600)
    result = run(
        ["gen", "authentik", "--matomo-url", URL, "--merge", str(odd)],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )
    assert result.exit_code == 1
    assert "cannot keep byte for byte" in result.stderr and "Traceback" not in result.stderr
    assert odd.read_text() == original


def test_merge_refuses_a_secret_in_clear_in_a_file_others_can_read(workdir: Path) -> None:
    shared = workdir / "shared.yaml"
    shared.write_text(MINE)
    os.chmod(shared, 0o644)
    args = ["gen", "authentik", "--matomo-url", URL, "--merge", str(shared)]
    refused = run(args, env={"OIDCSETUP_CLIENT_SECRET": SECRET})
    assert refused.exit_code == 1 and "readable by others" in refused.stderr
    assert shared.read_text() == MINE
    referred = run([*args, "--secret-env", "MATOMO_S"], env={"OIDCSETUP_CLIENT_SECRET": SECRET})
    assert referred.exit_code == 0, referred.stderr
    assert SECRET not in shared.read_text() and "!Env MATOMO_S" in shared.read_text()


def test_a_bad_slug_is_refused_in_djangos_words(workdir: Path) -> None:
    result = run(
        ["gen", "authentik", "--matomo-url", URL, "--slug", "ma tomo", "--output", "x.yaml"],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )
    assert result.exit_code == 3
    assert "Enter a valid “slug”" in result.stderr
    assert not (workdir / "x.yaml").exists()


def test_a_scope_without_a_default_mapping_is_a_warning(workdir: Path) -> None:
    result = run(
        ["gen", "authentik", "--matomo-url", URL, "--scopes", "openid email groups"],
        env={"OIDCSETUP_CLIENT_SECRET": SECRET},
    )
    assert result.exit_code == 0
    assert "[authentik-scope-mapping] scope 'groups'" in result.stderr
