"""Acceptance gaps of issue 3 (gen) closed by the audit (docs/dev/acceptance.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oidcsetup.secrets import verify_secret
from tests.cli import run

URL = "https://matomo.example.com"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_gen_authelia_defaults_to_the_newest_version_and_pbkdf2_sha512() -> None:
    """`--authelia-version` "default the newest"; digest "pbkdf2-sha512 (default; 310000
    iterations, 16-byte salt, 64-byte key)" also when the CLI is given no --algorithm."""
    result = run(
        ["--json", "gen", "authelia", "--matomo-url", URL],
        env={"OIDCSETUP_CLIENT_SECRET": "insecure_secret", "OIDCSETUP_PROFILE": None},
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["authelia_version"] == "4.39"
    entry = document["entry"]
    digest = entry["client_secret"]
    assert digest.startswith("$pbkdf2-sha512$310000$")
    assert verify_secret("insecure_secret", digest)
    # 4.39 key names (4.37 would say id/secret/userinfo_signing_algorithm)
    assert {"client_id", "client_secret", "userinfo_signed_response_alg"} <= set(entry)
    assert entry["pkce_challenge_method"] == ""  # a 4.39-only default kept as the recipe has it


def test_gen_matomo_plaintext_only_on_the_app_side_digest_only_on_the_provider_side() -> None:
    """One Integration, two sides: gen matomo carries the plaintext (when shown), gen authelia
    only a digest of that same plaintext."""
    env = {"OIDCSETUP_CLIENT_SECRET": "same-secret-both-sides", "OIDCSETUP_PROFILE": None}
    matomo = run(
        ["--json", "gen", "matomo", "--issuer", "https://auth.example.com", "--preset",
         "authelia", "--matomo-url", URL, "--show-secrets"],
        env=env,
    )  # fmt: skip
    authelia = run(["--json", "gen", "authelia", "--matomo-url", URL], env=env)
    assert matomo.exit_code == 0 and authelia.exit_code == 0, matomo.stderr + authelia.stderr
    settings = json.loads(matomo.stdout)["settings"]
    entry = json.loads(authelia.stdout)["entry"]
    assert settings["clientSecret"] == "same-secret-both-sides"
    assert "same-secret-both-sides" not in authelia.stdout
    assert verify_secret("same-secret-both-sides", entry["client_secret"])
    # ...and the two sides agree on the client and the redirect URI
    assert entry["client_id"] == settings["clientId"]
    assert entry["redirect_uris"] == json.loads(matomo.stdout)["redirect_uris"]
    assert entry["token_endpoint_auth_method"] == "client_secret_post"
    assert set(settings["scope"].split()) <= set(entry["scopes"])
