"""Secret digest: oidcsetup's digest functions against the bare primitives, same parameters.

- pbkdf2-sha512 (Authelia's default, 310,000 iterations): ``oidcsetup.secrets.hash_secret``
  and ``verify_secret`` against ``hashlib.pbkdf2_hmac`` alone. Target: within 5 %.
- argon2id (t=3, m=64 MiB, p=4): ``hash_secret`` against argon2-cffi's ``hash_secret_raw`` alone.

In-process, interleaved (ours, floor, ours, floor...), median of the runs; pbkdf2 by the
calling thread's CPU time, argon2id (threads of its own) by wall time.
Run: python -m benchmarks.digest [--runs N] [--markdown]
"""

from __future__ import annotations

import argparse
import hashlib
import time

from benchmarks.timing import Row, interleaved, row, timed

SECRET = "benchmark-secret-" + "x" * 55  # 72 characters, like `secret generate`
SALT = bytes(range(16))
TARGET = 1.05


def measure(runs: int) -> list[Row]:
    from argon2.low_level import Type, hash_secret_raw

    from oidcsetup.secrets import (
        ARGON2_DEFAULTS,
        PBKDF2_VARIANTS,
        Argon2Parameters,
        ab64_encode,
        hash_secret,
        verify_secret,
    )

    variant = PBKDF2_VARIANTS["pbkdf2-sha512"]
    data = SECRET.encode()
    digest = hash_secret(SECRET, "pbkdf2-sha512", salt=SALT)
    expected = hashlib.pbkdf2_hmac(variant.hash_name, data, SALT, variant.iterations, 64)
    assert digest.endswith(ab64_encode(expected)), "not the same computation: no comparison"

    # pbkdf2 runs on this thread: its CPU time is the fair measure on a shared machine. argon2
    # with p=4 runs lanes on threads of its own: wall time.
    cpu = time.thread_time
    pbkdf2 = interleaved(
        {
            "ours": timed(lambda: hash_secret(SECRET, "pbkdf2-sha512", salt=SALT), cpu),
            "verify": timed(lambda: verify_secret(SECRET, digest), cpu),
            "floor": timed(
                lambda: hashlib.pbkdf2_hmac(
                    variant.hash_name, data, SALT, variant.iterations, variant.key_length
                ),
                cpu,
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
    # The same comparison at 1 iteration isolates oidcsetup's fixed cost (salt, encoding,
    # formatting) from the key derivation, with thousands of samples: immune to machine noise.
    digest_1 = hash_secret(SECRET, "pbkdf2-sha512", salt=SALT, iterations=1)
    small = interleaved(
        {
            "ours": timed(lambda: hash_secret(SECRET, "pbkdf2-sha512", salt=SALT, iterations=1)),
            "verify": timed(lambda: verify_secret(SECRET, digest_1)),
            "floor": timed(lambda: hashlib.pbkdf2_hmac(variant.hash_name, data, SALT, 1, 64)),
        },
        2000,
        warmup=50,
    )
    overhead = max(small["ours"] - small["floor"], 0.0)
    verify_overhead = max(small["verify"] - small["floor"], 0.0)
    tiny = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
    small_argon = interleaved(
        {
            "ours": timed(lambda: hash_secret(SECRET, "argon2id", salt=SALT, argon2=tiny)),
            "floor": timed(
                lambda: hash_secret_raw(
                    data,
                    SALT,
                    time_cost=1,
                    memory_cost=8,
                    parallelism=1,
                    hash_len=32,
                    type=Type.ID,
                    version=19,
                )
            ),
        },
        2000,
        warmup=50,
    )
    argon_overhead = max(small_argon["ours"] - small_argon["floor"], 0.0)
    label = f"pbkdf2-sha512 ({variant.iterations} it.)"
    argon_label = f"argon2id (t={a.time_cost}, m={a.memory_cost} KiB, p={a.parallelism})"
    return [
        row(f"digest floor: hashlib.pbkdf2_hmac, {label}", pbkdf2["floor"], "s"),
        row(f"secret hash {label}", pbkdf2["ours"], "s", floor=pbkdf2["floor"], target=TARGET),
        row(f"secret verify {label}", pbkdf2["verify"], "s", floor=pbkdf2["floor"], target=TARGET),
        row("pbkdf2 hash: fixed overhead (1 iteration, 2000 runs)", overhead, "s"),
        row(
            f"pbkdf2 hash: floor + overhead, {label}",
            pbkdf2["floor"] + overhead,
            "s",
            floor=pbkdf2["floor"],
            target=TARGET,
        ),
        row("pbkdf2 verify: fixed overhead (1 iteration, 2000 runs)", verify_overhead, "s"),
        row(
            f"pbkdf2 verify: floor + overhead, {label}",
            pbkdf2["floor"] + verify_overhead,
            "s",
            floor=pbkdf2["floor"],
            target=TARGET,
        ),
        row(f"digest floor: argon2-cffi hash_secret_raw, {argon_label}", argon["floor"], "s"),
        row(f"secret hash {argon_label}", argon["ours"], "s", floor=argon["floor"], target=TARGET),
        row("argon2id hash: fixed overhead (t=1, m=8 KiB, p=1, 2000 runs)", argon_overhead, "s"),
        row(
            f"argon2id hash: floor + overhead, {argon_label}",
            argon["floor"] + argon_overhead,
            "s",
            floor=argon["floor"],
            target=TARGET,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from benchmarks.report import print_rows

    print_rows(measure(args.runs), markdown=args.markdown)


if __name__ == "__main__":
    main()
