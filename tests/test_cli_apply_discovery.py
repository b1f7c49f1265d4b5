"""``apply matomo --issuer`` with no endpoints saved: discovered on the spot, like gen matomo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run
from tests.support.php import php_read_ini, require_php
from tests.support.provider import RunningProvider

CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
[General]
salt = "0123456789abcdef"
"""


def test_apply_discovers_the_endpoints_when_the_profile_has_none(
    oidc_provider: RunningProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_php()
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml: flags and environment alone
    env = {"OIDCSETUP_CLIENT_SECRET": "s3cret"}
    args = ["apply", "matomo", "--config", str(config), "--issuer", oidc_provider.issuer]
    result = run(["--json", *args, "--matomo-url", "http://127.0.0.1:8080/"], env=env)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    section = php_read_ini(config.read_text())["LoginOIDC"]
    assert section["authorizeUrl"] == oidc_provider.issuer + "/auth"
    assert section["tokenUrl"] == oidc_provider.issuer + "/token"
    assert section["userinfoUrl"] == oidc_provider.issuer + "/me"
    assert section["endSessionUrl"] == oidc_provider.issuer + "/session/end"


def test_apply_refuses_an_issuer_that_cannot_be_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.ini.php"
    config.write_text(CONFIG)
    monkeypatch.chdir(tmp_path)  # no ./oidcsetup.toml: flags and environment alone
    env = {"OIDCSETUP_CLIENT_SECRET": "s3cret"}
    # Nothing listens on port 9 of loopback (discard): connection refused, exit 4, file untouched.
    args = ["apply", "matomo", "--config", str(config), "--issuer", "http://127.0.0.1:9"]
    result = run(args, env=env)
    assert result.exit_code == 4, result.stderr
    assert len(result.error_lines) == 1
    assert config.read_text() == CONFIG
