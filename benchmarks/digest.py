"""Secret digest: oidcsetup's digest functions against the bare primitives, same parameters.

- pbkdf2-sha512 (Authelia's default, 310,000 iterations): ``oidcsetup.secrets.hash_secret``
  and ``verify_secret`` against ``hashlib.pbkdf2_hmac`` alone. Target: within 5 %.
- argon2id (t=3, m=64 MiB, p=4): ``hash_secret`` against argon2-cffi's ``hash_secret_raw`` alone.

In-process, interleaved (ours, floor, ours, floor...), median of the runs.
Run: python -m benchmarks.digest [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import hashlib

from benchmarks.timing import Row, interleaved, row, timed

SECRET = "benchmark-secret-" + "x" * 55  # 72 characters, like `secret generate`
SALT = bytes(range(16))
TARGET = 1.05


def measure(runs: int) -> list[Row]:
    from argon2.low_level import Type, hash_secret_raw

    from oidcsetup.secrets import (
        ARGON2_DEFAULTS,
        PBKDF2_VARIANTS,
        ab64_encode,
        hash_secret,
        verify_secret,
    )

    variant = PBKDF2_VARIANTS["pbkdf2-sha512"]
    data = SECRET.encode()
    digest = hash_secret(SECRET, "pbkdf2-sha512", salt=SALT)
    expected = hashlib.pbkdf2_hmac(variant.hash_name, data, SALT, variant.iterations, 64)
    assert digest.endswith(ab64_encode(expected)), "not the same computation: no comparison"

    pbkdf2 = interleaved(
        {
            "ours": timed(lambda: hash_secret(SECRET, "pbkdf2-sha512", salt=SALT)),
            "verify": timed(lambda: verify_secret(SECRET, digest)),
            "floor": timed(
                lambda: hashlib.pbkdf2_hmac(
                    variant.hash_name, data, SALT, variant.iterations, variant.key_length
                )
            ),
        },
        runs,
    )
    a = ARGON2_DEFAULTS
    argon = interleaved(
        {
            "ours": timed(lambda: hash_secret(SECRET, "argon2id", salt=SALT)),
            "floor": timed(
                lambda: hash_secret_raw(
                    data,
                    SALT,
                    time_cost=a.time_cost,
                    memory_cost=a.memory_cost,
                    parallelism=a.parallelism,
                    hash_len=a.key_length,
                    type=Type.ID,
                    version=19,
                )
            ),
        },
        runs,
    )
    label = f"pbkdf2-sha512 ({variant.iterations} it.)"
    argon_label = f"argon2id (t={a.time_cost}, m={a.memory_cost} KiB, p={a.parallelism})"
    return [
        row(f"digest floor: hashlib.pbkdf2_hmac, {label}", pbkdf2["floor"], "s"),
        row(f"secret hash {label}", pbkdf2["ours"], "s", floor=pbkdf2["floor"], target=TARGET),
        row(f"secret verify {label}", pbkdf2["verify"], "s", floor=pbkdf2["floor"], target=TARGET),
        row(f"digest floor: argon2-cffi hash_secret_raw, {argon_label}", argon["floor"], "s"),
        row(f"secret hash {argon_label}", argon["ours"], "s", floor=argon["floor"], target=TARGET),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from benchmarks.report import print_rows

    print_rows(measure(args.runs), markdown=args.markdown)


if __name__ == "__main__":
    main()
