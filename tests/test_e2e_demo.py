"""The README's main job, end to end: scripts/demo.py's story against the real provider."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path

import pytest

from tests.support.php import php_read_ini, require_php
from tests.support.provider import provider_missing_reason

REPO = Path(__file__).resolve().parents[1]


def load_demo() -> object:
    spec = importlib.util.spec_from_file_location("oidcsetup_demo", REPO / "scripts" / "demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.provider
def test_the_whole_story_runs_without_input_and_matomo_would_log_in(tmp_path: Path) -> None:
    reason = provider_missing_reason()
    if reason:
        pytest.skip(reason)
    require_php()
    demo = load_demo()
    outcome = demo.run_story(tmp_path / "demo", quiet=True)  # type: ignore[attr-defined]

    probes = {p["name"]: p["status"] for p in outcome["check"]["probes"]}
    assert probes and set(probes.values()) == {"pass"}, probes
    assert outcome["login"]["matomo_user"] == "alice"
    assert outcome["login"]["email"] == "alice@example.com"

    # What Matomo reads from the config file is what the provider accepted.
    config: Path = outcome["config"]
    section = php_read_ini(config.read_text())["LoginOIDC"]
    assert section["clientId"] == "matomo"
    assert section["userinfoId"] == "sub"
    assert section["scope"] == "openid email"
    assert section["authorizeUrl"].endswith("/auth")
    secret = (tmp_path / "demo" / "matomo.secret").read_text().strip()
    assert section["clientSecret"] == secret
    assert stat.S_IMODE((tmp_path / "demo" / "matomo.secret").stat().st_mode) == 0o600
    # The Authelia side got the digest, never the plaintext.
    authelia = (tmp_path / "demo" / "authelia" / "configuration.yml").read_text()
    assert secret not in authelia and "$pbkdf2-sha512$" in authelia
    assert "client_id: 'grafana'" in authelia  # the other client survived the merge
