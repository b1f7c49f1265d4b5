"""Issue 15 (low): an argon2 digest chooses how much memory and time verifying it costs.

Whoever writes the digest (an Authelia configuration, a pasted value) must not make
`oidcsetup secret verify` allocate gigabytes or run for minutes: such digests are refused with
one clear line BEFORE anything is allocated. The command runs in a child process whose address
space is capped (RLIMIT_AS), so the old code's attempt to allocate 4 GiB fails fast instead of
hurting the machine (it ended in "internal error"; t=1000 ran past the timeout).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oidcsetup import secrets as S
from oidcsetup.errors import SecretError

REPO = Path(__file__).resolve().parents[1]
SALT_KEY = "Hjc8e7WYcBFcJmEDUOsS9A$ozM7RyZR1EyDR8cuyVpDDfmLrGPGFgo5E2NNqRumui4"
ADDRESS_SPACE = 2 * 1024**3


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ("m=4194304,t=3,p=4", "m=4194304 KiB (4.0 GiB, at most 1 GiB)"),
        ("m=99999999,t=3,p=4", "m=99999999 KiB"),
        ("m=65536,t=1000,p=4", "t=1000 (at most 16)"),
        ("m=65536,t=3,p=255", "p=255 (at most 64)"),
        ("m=1048576,t=3,p=4", "m*t=3145728 KiB passes"),
    ],
)
def test_costly_argon2_digest_is_refused_before_allocating(params: str, named: str) -> None:
    digest = f"$argon2id$v=19${params}${SALT_KEY}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env["PYTHONPATH"] = str(REPO)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "oidcsetup", "secret", "verify", digest],
        input="password",
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
        preexec_fn=_cap_memory,
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"error: the argon2id digest costs too much to verify: {named}")
    assert "authelia crypto hash validate" in done.stderr
    assert "internal error" not in done.stderr


def test_authelia_default_cost_still_verifies() -> None:
    digest = S.hash_secret("password", "argon2id")
    assert "$m=65536,t=3,p=4$" in digest
    assert S.verify_secret("password", digest)
    assert not S.verify_secret("other", digest)


def test_oversized_salt_or_key_is_malformed() -> None:
    big = "A" * 2000
    with pytest.raises(SecretError, match="longer than 1024 bytes"):
        S.verify_secret("password", f"$argon2id$v=19$m=65536,t=3,p=4${big}${big}")
