"""``gen dex``: the staticClients entry matches the Matomo side, names the secret with
``secretEnv`` only, and ``--merge`` keeps every other byte of the Dex config (facts from
dexidp/dex's sources, cited in oidcsetup/providers/dex/client.py; Dex cannot run here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli import run

URL = "https://matomo.example.com"
SECRET = "dex-test-secret-value"

DEX_CONFIG = """\
# Dex, as deployed
issuer: https://dex.example.com/dex
storage:
  type: sqlite3
  config:
    file: /var/dex/dex.db
web:
  http: 0.0.0.0:5556
staticClients:
- id: grafana
  name: 'Grafana'
  secretEnv: GRAFANA_SECRET   # from the unit file
  redirectURIs:
  - https://grafana.example.com/login/generic_oauth
connectors:
- type: ldap
  id: ldap
  name: LDAP
"""


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OIDCSETUP_CLIENT_SECRET", "OIDCSETUP_PROFILE", "OIDCSETUP_MATOMO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_entry_matches_the_matomo_side_with_secret_env_only() -> None:
    result = run(["gen", "dex", "--matomo-url", URL], env={"OIDCSETUP_CLIENT_SECRET": SECRET})
    assert result.exit_code == 0, result.stderr
    (client,) = yaml.safe_load(result.stdout)["staticClients"]
    redirect = json.loads(run(["--json", "gen", "redirect-uris", "--matomo-url", URL]).stdout)
    assert client == {
        "id": "matomo",
        "name": "matomo",
        "redirectURIs": redirect["redirect_uris"],
        "secretEnv": "MATOMO_CLIENT_SECRET",
    }
    assert SECRET not in result.stdout + result.stderr


def test_merge_keeps_the_rest_of_the_config_and_is_idempotent(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(DEX_CONFIG)
    args = ["gen", "dex", "--matomo-url", URL, "--merge", str(config)]
    dry = run([*args, "--dry-run"])
    assert dry.exit_code == 0 and config.read_text() == DEX_CONFIG
    assert "+- id: matomo" in dry.stdout
    done = run(args)
    assert done.exit_code == 0, done.stderr
    text = config.read_text()
    head = DEX_CONFIG.split("connectors:")[0]
    assert text.startswith(head)  # every byte before the new entry, comments and quotes too
    assert text.endswith("connectors:\n- type: ldap\n  id: ldap\n  name: LDAP\n")
    ids = [c["id"] for c in yaml.safe_load(text)["staticClients"]]
    assert ids == ["grafana", "matomo"]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("config.yaml.")]) == 1
    again = run(args)
    assert again.exit_code == 0 and "in sync" in again.stdout and config.read_text() == text


def test_merge_updates_our_entry_and_drops_a_plaintext_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        DEX_CONFIG.replace(
            "connectors:",
            "- id: matomo\n  secret: old-plain\n  logoURL: https://m/logo.png\n"
            "  redirectURIs:\n  - https://old.example.com/cb\nconnectors:",
        )
    )
    result = run(["gen", "dex", "--matomo-url", URL, "--merge", str(config)])
    assert result.exit_code == 0, result.stderr
    (ours,) = [
        c for c in yaml.safe_load(config.read_text())["staticClients"] if c["id"] == "matomo"
    ]
    assert "secret" not in ours and ours["secretEnv"] == "MATOMO_CLIENT_SECRET"
    assert ours["logoURL"] == "https://m/logo.png"  # the user's own key is kept
    assert ours["redirectURIs"] == [
        f"{URL}/index.php?module=LoginOIDC&action=callback&provider=oidc"
    ]


def test_a_scope_dex_does_not_know_is_refused_in_its_words(tmp_path: Path) -> None:
    result = run(["gen", "dex", "--matomo-url", URL, "--scopes", "openid email roles"])
    assert result.exit_code == 3
    assert 'Unrecognized scope(s) ["roles"]' in result.stderr


def test_merge_refuses_a_file_that_is_not_a_dex_config(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("foo: 1\n")
    result = run(["gen", "dex", "--matomo-url", URL, "--merge", str(other)])
    assert result.exit_code == 1 and "not a Dex configuration" in result.stderr
    assert other.read_text() == "foo: 1\n"
