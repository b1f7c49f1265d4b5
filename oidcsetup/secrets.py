"""Client secrets: generate them, digest them in Authelia's formats, verify them.

Facts (read from authelia/authelia v4.37.5-v4.39.20 and go-crypt/crypt; see
../shared/reference/authelia.md):

- A secret is 72 characters from the RFC 3986 unreserved set (``A-Za-z0-9-._~``) by default,
  so it needs no escaping in HTTP Basic auth or a form body.
- pbkdf2 digests read ``$pbkdf2-<hash>$<iterations>$<salt>$<key>``; salt and key use the
  "adapted" base64 alphabet of passlib and go-crypt (standard base64 with ``.`` instead of
  ``+``, no padding). The sha1 variant is written ``$pbkdf2$`` (go-crypt also reads
  ``$pbkdf2-sha1$``). The key is as long as the hash output (go-crypt's default), and the
  iterations are Authelia's per-variant defaults (``schema.PBKDF2VariantDefaultIterations``).
- argon2 digests are the PHC string ``$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>`` in
  unpadded standard base64. Authelia's defaults: argon2id, t=3, m=65536, p=4, 16-byte salt,
  32-byte key (``schema.DefaultPasswordConfig.Argon2``).
- ``$plaintext$<secret>`` (and ``$base64$<b64>``) hold the secret itself; a value that does not
  start with ``$`` is taken as plaintext by Authelia (deprecated, with a warning).

Every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _stdlib_secrets
import string
from dataclasses import dataclass

from oidcsetup.errors import InputError, SecretError

UNRESERVED = string.ascii_letters + string.digits + "-._~"
DEFAULT_LENGTH = 72
MIN_LENGTH = 1
MAX_LENGTH = 4096
RECOMMENDED_MIN_LENGTH = 32

DEFAULT_ALGORITHM = "pbkdf2-sha512"


@dataclass(frozen=True)
class Pbkdf2Variant:
    name: str  # our --algorithm name
    hash_name: str  # hashlib name
    identifier: str  # what the digest starts with, between the first two "$"
    iterations: int  # Authelia's default for the variant
    key_length: int  # the hash output size (go-crypt's default key length)


PBKDF2_VARIANTS: dict[str, Pbkdf2Variant] = {
    v.name: v
    for v in (
        Pbkdf2Variant("pbkdf2-sha512", "sha512", "pbkdf2-sha512", 310_000, 64),
        Pbkdf2Variant("pbkdf2-sha384", "sha384", "pbkdf2-sha384", 280_000, 48),
        Pbkdf2Variant("pbkdf2-sha256", "sha256", "pbkdf2-sha256", 700_000, 32),
        Pbkdf2Variant("pbkdf2-sha224", "sha224", "pbkdf2-sha224", 900_000, 28),
        Pbkdf2Variant("pbkdf2-sha1", "sha1", "pbkdf2", 1_600_000, 20),
    )
}
# identifier in a digest -> variant (go-crypt accepts both spellings of sha1)
_PBKDF2_BY_IDENTIFIER: dict[str, Pbkdf2Variant] = {
    **{v.identifier: v for v in PBKDF2_VARIANTS.values()},
    "pbkdf2-sha1": PBKDF2_VARIANTS["pbkdf2-sha1"],
}
PBKDF2_SALT_LENGTH = 16
# Refuse to verify digests whose iteration count would keep us busy for minutes, or overflow
# hashlib (a C int): 20 million is over 12 times the largest of Authelia's defaults (sha1).
PBKDF2_MAX_ITERATIONS = 20_000_000


@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    salt_length: int = 16
    key_length: int = 32


ARGON2_DEFAULTS = Argon2Parameters()
# A digest's parameters decide how much memory and time verifying it costs, and whoever writes
# the digest (an Authelia configuration, a pasted value) chooses them: refuse before allocating
# anything beyond these. 1 GiB is 16 times Authelia's default (m=65536 KiB, t=3, p=4,
# schema.DefaultPasswordConfig.Argon2); the work bound (memory x passes) lets t=3 run up to
# 680 MiB and the default 10 times over, a few seconds at most. RFC 9106's first recommended
# option (m=2 GiB, t=1) is beyond: such a digest is checked with `authelia crypto hash validate`.
ARGON2_MAX_MEMORY_KIB = 1024 * 1024
ARGON2_MAX_TIME_COST = 16
ARGON2_MAX_PARALLELISM = 64
ARGON2_MAX_WORK_KIB = 2 * 1024 * 1024  # memory (KiB) x time_cost
ARGON2_MAX_BYTES = 1024  # salt and key: Authelia writes 16 and 32

ALGORITHMS: tuple[str, ...] = (*PBKDF2_VARIANTS, "argon2id")

# Formats Authelia accepts that oidcsetup cannot verify: leading identifier -> a name for humans.
_UNSUPPORTED = {
    "2": "bcrypt",
    "2a": "bcrypt",
    "2b": "bcrypt",
    "2x": "bcrypt",
    "2y": "bcrypt",
    "bcrypt-sha256": "bcrypt-sha256",
    "scrypt": "scrypt",
    "5": "sha2crypt (sha256-crypt)",
    "6": "sha2crypt (sha512-crypt)",
}


# --- generate -------------------------------------------------------------------------------


def generate_secret(length: int = DEFAULT_LENGTH) -> str:
    """A random secret of ``length`` characters from the RFC 3986 unreserved set."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InputError(
            f"secret length {length} is out of range",
            hint=f"use a length between {MIN_LENGTH} and {MAX_LENGTH} "
            f"({DEFAULT_LENGTH} is recommended)",
        )
    return "".join(_stdlib_secrets.choice(UNRESERVED) for _ in range(length))


# --- adapted base64 -------------------------------------------------------------------------


def ab64_encode(data: bytes) -> str:
    """passlib/go-crypt "adapted" base64: standard alphabet with ``.`` for ``+``, no padding."""
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


def ab64_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9./]*", text):
        raise ValueError("not adapted base64")
    return _b64decode_unpadded(text.replace(".", "+"))


def _b64decode_unpadded(text: str) -> bytes:
    if len(text) % 4 == 1:
        raise ValueError("impossible base64 length")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


# --- hash -----------------------------------------------------------------------------------


def hash_secret(
    secret: str,
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    salt: bytes | None = None,
    iterations: int | None = None,
    argon2: Argon2Parameters = ARGON2_DEFAULTS,
) -> str:
    """The digest of ``secret`` in Authelia's format for ``algorithm`` (see ``ALGORITHMS``)."""
    if not secret:
        raise SecretError("cannot digest an empty secret")
    data = secret.encode("utf-8")
    if algorithm in PBKDF2_VARIANTS:
        variant = PBKDF2_VARIANTS[algorithm]
        rounds = iterations or variant.iterations
        salt = salt if salt is not None else _stdlib_secrets.token_bytes(PBKDF2_SALT_LENGTH)
        key = hashlib.pbkdf2_hmac(variant.hash_name, data, salt, rounds, variant.key_length)
        return f"${variant.identifier}${rounds}${ab64_encode(salt)}${ab64_encode(key)}"
    if algorithm == "argon2id":
        from argon2.low_level import Type, hash_secret_raw

        salt = salt if salt is not None else _stdlib_secrets.token_bytes(argon2.salt_length)
        key = hash_secret_raw(
            data,
            salt,
            time_cost=argon2.time_cost,
            memory_cost=argon2.memory_cost,
            parallelism=argon2.parallelism,
            hash_len=argon2.key_length,
            type=Type.ID,
            version=19,
        )
        return (
            f"$argon2id$v=19$m={argon2.memory_cost},t={argon2.time_cost},p={argon2.parallelism}"
            f"${_b64(salt)}${_b64(key)}"
        )
    raise InputError(
        f"unknown digest algorithm {algorithm!r}",
        hint="choose one of: " + ", ".join(ALGORITHMS),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


# --- identify and verify --------------------------------------------------------------------


def digest_scheme(digest: str) -> str:
    """The format of a digest: ``pbkdf2-sha512``..., ``argon2id``, ``plaintext``; or raise.

    Raises SecretError naming the format when Authelia accepts it but oidcsetup cannot verify
    it (bcrypt, scrypt, sha2crypt), or when it is no digest format at all.
    """
    if not digest.startswith("$"):
        return "plaintext"
    identifier = digest[1:].split("$", 1)[0]
    if identifier in _PBKDF2_BY_IDENTIFIER:
        return _PBKDF2_BY_IDENTIFIER[identifier].name
    if identifier in ("argon2id", "argon2i", "argon2d"):
        return identifier
    if identifier in ("plaintext", "base64"):
        return identifier
    if identifier in _UNSUPPORTED:
        name = _UNSUPPORTED[identifier]
        raise SecretError(
            f"the digest is in the {name} format, which Authelia accepts but oidcsetup cannot "
            "verify",
            hint="check it with `authelia crypto hash validate`, or replace it with a "
            "pbkdf2-sha512 or argon2id digest (`oidcsetup secret hash`)",
        )
    raise SecretError(
        f"unknown digest format ${identifier}$",
        hint="expected $pbkdf2-sha512$..., $pbkdf2-sha384$, $pbkdf2-sha256$, $pbkdf2-sha224$, "
        "$pbkdf2$, $argon2id$, $argon2i$, $argon2d$ or $plaintext$",
    )


def is_plaintext(digest: str) -> bool:
    """True when the stored value holds the secret itself (``$plaintext$``, ``$base64$``, bare)."""
    return not digest.startswith("$") or digest.startswith(("$plaintext$", "$base64$"))


def verify_secret(secret: str, digest: str) -> bool:
    """True when ``secret`` matches ``digest``. Raises SecretError for a malformed or
    unsupported digest (never returns False for one)."""
    scheme = digest_scheme(digest)
    data = secret.encode("utf-8")
    if scheme == "plaintext":
        stored = digest[len("$plaintext$") :] if digest.startswith("$plaintext$") else digest
        return hmac.compare_digest(stored.encode("utf-8"), data)
    if scheme == "base64":
        try:
            stored_bytes = _b64decode_unpadded(digest[len("$base64$") :])
        except ValueError:
            raise _malformed(scheme, "the value is not base64") from None
        return hmac.compare_digest(stored_bytes, data)
    if scheme.startswith("pbkdf2"):
        return _verify_pbkdf2(data, digest, PBKDF2_VARIANTS[scheme])
    return _verify_argon2(data, digest, scheme)


def _malformed(scheme: str, why: str) -> SecretError:
    return SecretError(
        f"malformed {scheme} digest: {why}",
        hint="copy the whole digest, quoted so the shell keeps every $ (single quotes)",
    )


def _verify_pbkdf2(data: bytes, digest: str, variant: Pbkdf2Variant) -> bool:
    parts = digest.split("$")
    if len(parts) != 5 or parts[0]:
        raise _malformed(variant.name, "expected $<id>$<iterations>$<salt>$<key>")
    _, _, rounds_text, salt_text, key_text = parts
    if not rounds_text.isdigit() or int(rounds_text) < 1:
        raise _malformed(variant.name, f"iterations {rounds_text!r} is not a positive number")
    if int(rounds_text) > PBKDF2_MAX_ITERATIONS:
        raise _malformed(
            variant.name, f"iterations {rounds_text} is out of range (1 to {PBKDF2_MAX_ITERATIONS})"
        )
    try:
        salt = ab64_decode(salt_text)
        key = ab64_decode(key_text)
    except ValueError:
        raise _malformed(variant.name, "salt or key is not adapted base64 (A-Za-z0-9./)") from None
    if not key:
        raise _malformed(variant.name, "the key is empty")
    computed = hashlib.pbkdf2_hmac(variant.hash_name, data, salt, int(rounds_text), len(key))
    return hmac.compare_digest(computed, key)


_ARGON2_RE = re.compile(
    r"^\$(?P<variant>argon2id|argon2i|argon2d)\$(?:v=(?P<version>\d+)\$)?"
    r"(?P<params>[a-z]=\d+(?:,[a-z]=\d+)*)\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<key>[A-Za-z0-9+/]+)$"
)


def _verify_argon2(data: bytes, digest: str, scheme: str) -> bool:
    match = _ARGON2_RE.match(digest)
    if not match:
        raise _malformed(scheme, "expected $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>")
    params: dict[str, int] = {}
    for item in match["params"].split(","):
        name, _, value = item.partition("=")
        params[name] = int(value)
    missing = {"m", "t", "p"} - params.keys()
    if missing:
        raise _malformed(scheme, "missing parameter(s) " + ", ".join(sorted(missing)))
    version = int(match["version"] or 19)
    if version not in (16, 19):
        raise _malformed(scheme, f"unknown argon2 version {version}")
    memory, time_cost, parallelism = params["m"], params["t"], params["p"]
    if parallelism < 1 or time_cost < 1:
        raise _malformed(scheme, f"t={time_cost} and p={parallelism} must be at least 1")
    if memory < 8 * parallelism:
        raise _malformed(scheme, f"m={memory} KiB is below 8*p={8 * parallelism} KiB")
    _check_argon2_cost(scheme, memory, time_cost, parallelism)
    try:
        salt = _b64decode_unpadded(match["salt"])
        key = _b64decode_unpadded(match["key"])
    except ValueError:
        raise _malformed(scheme, "salt or key is not base64") from None
    if len(salt) < 8 or len(key) < 4:
        raise _malformed(scheme, "salt (8 bytes or more) or key (4 bytes or more) is too short")
    if len(salt) > ARGON2_MAX_BYTES or len(key) > ARGON2_MAX_BYTES:
        raise _malformed(scheme, f"salt or key is longer than {ARGON2_MAX_BYTES} bytes")

    from argon2.low_level import Type, hash_secret_raw

    argon_type = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}[scheme]
    computed = hash_secret_raw(
        data,
        salt,
        time_cost=time_cost,
        memory_cost=memory,
        parallelism=parallelism,
        hash_len=len(key),
        type=argon_type,
        version=version,
    )
    return hmac.compare_digest(computed, key)


def _check_argon2_cost(scheme: str, memory: int, time_cost: int, parallelism: int) -> None:
    """Refuse, before allocating anything, a digest costing more than the ARGON2_MAX_* bounds."""
    excess = []
    if memory > ARGON2_MAX_MEMORY_KIB:
        excess.append(f"m={memory} KiB ({memory / 1048576:.1f} GiB, at most 1 GiB)")
    if time_cost > ARGON2_MAX_TIME_COST:
        excess.append(f"t={time_cost} (at most {ARGON2_MAX_TIME_COST})")
    if parallelism > ARGON2_MAX_PARALLELISM:
        excess.append(f"p={parallelism} (at most {ARGON2_MAX_PARALLELISM})")
    if not excess and memory * time_cost > ARGON2_MAX_WORK_KIB:
        excess.append(
            f"m*t={memory * time_cost} KiB passes (at most {ARGON2_MAX_WORK_KIB}, "
            "e.g. 680 MiB with t=3)"
        )
    if excess:
        raise SecretError(
            f"the {scheme} digest costs too much to verify: {', '.join(excess)}",
            hint="oidcsetup refuses before allocating; check it with `authelia crypto hash "
            "validate`, or re-hash with Authelia's defaults (`oidcsetup secret hash "
            "--algorithm argon2id`)",
        )
