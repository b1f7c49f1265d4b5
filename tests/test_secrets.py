"""oidcsetup.secrets: generation, Authelia digests, verification against independent code."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oidcsetup import secrets as S
from oidcsetup.errors import InputError, SecretError
from tests.support.shared import REFERENCE

# The vectors of ../shared/reference/authelia.md, also kept here so they run without it.
VECTORS = [
    (
        "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng",
        "insecure_secret",
    ),
    (
        "$pbkdf2-sha512$100000$cfNEo93VkIUIvaXHqetFoQ$O6qFLAlwCMz6.hv9XqUEPnMtrFxODw70T7bmnfTzfNPi3iXbgUEmGiyA6msybOfmj7m3QJS6lLy4DglgJifkKw",
        "client-secret",
    ),
    (
        "$pbkdf2-sha256$310000$C./EitMdCemqoluAK4Kapw$TTb4uTnL09mJsfbVnypCzJjGvICiiqO56i8VlU5zx6Q",
        "password",
    ),
    (
        "$argon2id$v=19$m=65536,t=3,p=4$Hjc8e7WYcBFcJmEDUOsS9A$ozM7RyZR1EyDR8cuyVpDDfmLrGPGFgo5E2NNqRumui4",
        "password",
    ),
]


def _reference_vectors() -> list[tuple[str, str]]:
    text = (REFERENCE / "authelia.md").read_text(encoding="utf-8")
    found = re.findall(r"`(\$[a-z0-9-]+\$[^`]+)`\s+is\s+`([^`]+)`", text)
    return [(digest, secret) for digest, secret in found]


@pytest.mark.parametrize(("digest", "secret"), VECTORS)
def test_known_vectors_verify(digest: str, secret: str) -> None:
    assert S.verify_secret(secret, digest) is True
    assert S.verify_secret(secret + "x", digest) is False
    assert S.verify_secret(secret[:-1], digest) is False


def test_every_vector_in_the_reference_verifies() -> None:
    if not (REFERENCE / "authelia.md").exists():
        pytest.skip(f"shared reference not found at {REFERENCE}")
    vectors = _reference_vectors()
    assert len(vectors) >= 4, "the reference's vectors were not found by the pattern"
    for digest, secret in vectors:
        assert S.verify_secret(secret, digest), digest


# --- generate -------------------------------------------------------------------------------


def test_generate_default_is_72_unreserved_characters() -> None:
    value = S.generate_secret()
    assert len(value) == 72
    assert re.fullmatch(r"[A-Za-z0-9._~-]{72}", value)
    assert S.generate_secret() != value


def test_generate_uses_the_whole_alphabet_over_many_draws() -> None:
    seen = set("".join(S.generate_secret(200) for _ in range(20)))
    assert seen == set(S.UNRESERVED)


@pytest.mark.parametrize("length", [0, -1, 4097])
def test_generate_rejects_out_of_range_lengths(length: int) -> None:
    with pytest.raises(InputError, match="out of range"):
        S.generate_secret(length)


def test_generate_custom_length() -> None:
    assert len(S.generate_secret(96)) == 96


# --- pbkdf2 ---------------------------------------------------------------------------------


def _parts(digest: str) -> tuple[str, int, bytes, bytes]:
    _, ident, rounds, salt, key = digest.split("$")
    return ident, int(rounds), S.ab64_decode(salt), S.ab64_decode(key)


def test_pbkdf2_sha512_default_parameters_and_passlib_verifies() -> None:
    from passlib.hash import pbkdf2_sha512

    digest = S.hash_secret("s3cret~value")
    ident, rounds, salt, key = _parts(digest)
    assert (ident, rounds, len(salt), len(key)) == ("pbkdf2-sha512", 310000, 16, 64)
    assert "+" not in digest and "=" not in digest
    assert pbkdf2_sha512.verify("s3cret~value", digest)
    assert not pbkdf2_sha512.verify("s3cret~valuE", digest)
    assert S.verify_secret("s3cret~value", digest)


def test_pbkdf2_with_the_vector_salt_reproduces_the_vector() -> None:
    digest, secret = VECTORS[0]
    salt = S.ab64_decode(digest.split("$")[3])
    assert S.hash_secret(secret, salt=salt) == digest


@pytest.mark.parametrize(
    ("algorithm", "identifier", "iterations", "key_length"),
    [
        ("pbkdf2-sha384", "pbkdf2-sha384", 280000, 48),
        ("pbkdf2-sha256", "pbkdf2-sha256", 700000, 32),
        ("pbkdf2-sha224", "pbkdf2-sha224", 900000, 28),
        ("pbkdf2-sha1", "pbkdf2", 1600000, 20),
    ],
)
def test_pbkdf2_variant_defaults(
    algorithm: str, identifier: str, iterations: int, key_length: int
) -> None:
    variant = S.PBKDF2_VARIANTS[algorithm]
    assert (variant.identifier, variant.iterations, variant.key_length) == (
        identifier,
        iterations,
        key_length,
    )


@pytest.mark.parametrize("algorithm", ["pbkdf2-sha256", "pbkdf2-sha1", "pbkdf2-sha512"])
def test_pbkdf2_variants_verify_with_passlib(algorithm: str) -> None:
    from passlib import hash as passlib_hash

    handler = {
        "pbkdf2-sha256": passlib_hash.pbkdf2_sha256,
        "pbkdf2-sha1": passlib_hash.pbkdf2_sha1,
        "pbkdf2-sha512": passlib_hash.pbkdf2_sha512,
    }[algorithm]
    digest = S.hash_secret("pässword with ünïcode", algorithm, iterations=100_000)
    assert handler.verify("pässword with ünïcode", digest)
    # and passlib's own digests verify with ours
    theirs = handler.using(rounds=100_000).hash("from passlib")
    assert S.verify_secret("from passlib", theirs)
    assert not S.verify_secret("from passlib!", theirs)


@pytest.mark.parametrize(
    ("algorithm", "hash_name"), [("pbkdf2-sha384", "SHA384"), ("pbkdf2-sha224", "SHA224")]
)
def test_pbkdf2_sha384_sha224_match_cryptography(algorithm: str, hash_name: str) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    digest = S.hash_secret("other secret", algorithm, iterations=100_000)
    _, rounds, salt, key = _parts(digest)
    kdf = PBKDF2HMAC(getattr(hashes, hash_name)(), len(key), salt, rounds)
    kdf.verify(b"other secret", key)  # raises InvalidKey on mismatch


def test_sha1_digest_accepts_both_identifiers() -> None:
    digest = S.hash_secret("abc", "pbkdf2-sha1", iterations=100_000)
    assert digest.startswith("$pbkdf2$100000$")
    assert S.verify_secret("abc", digest.replace("$pbkdf2$", "$pbkdf2-sha1$", 1))


# --- argon2id -------------------------------------------------------------------------------


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_argon2id_defaults_and_independent_check() -> None:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    digest = S.hash_secret("s3cret", "argon2id")
    match = re.fullmatch(
        r"\$argon2id\$v=19\$m=65536,t=3,p=4\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)", digest
    )
    assert match, digest
    salt, key = _b64(match[1]), _b64(match[2])
    assert (len(salt), len(key)) == (16, 32)
    # OpenSSL's Argon2 (via cryptography), not argon2-cffi, recomputes the key.
    kdf = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=65536)
    assert kdf.derive(b"s3cret") == key
    assert S.verify_secret("s3cret", digest)
    assert not S.verify_secret("s3creT", digest)


def test_argon2id_vector_salt_reproduces_vector_and_passlib_agrees() -> None:
    from passlib.hash import argon2

    digest, secret = VECTORS[3]
    salt = _b64(digest.split("$")[4])
    assert S.hash_secret(secret, "argon2id", salt=salt) == digest
    assert argon2.verify(secret, digest)


@pytest.mark.parametrize(
    "digest",
    [
        "$argon2id$v=19$m=65536,t=3$Hjc8e7WYcBFcJmEDUOsS9A$ozM7RyZR1EyDR8cuyVpDDfmLrGPGFgo5E2NNqRumui4",
        "$argon2id$v=19$m=65536,t=3,p=4$Hjc8e7WY$ozM7RyZR1EyDR8cuyVpDDfmLrGPGFgo5E2NNqRumui4",
        "$argon2id$v=19$m=65536,t=3,p=4$$ozM7",
    ],
)
def test_argon2_malformed_digests_are_refused(digest: str) -> None:
    with pytest.raises(SecretError, match="malformed argon2id digest"):
        S.verify_secret("password", digest)


# --- plaintext, unsupported, malformed ------------------------------------------------------


def test_plaintext_forms() -> None:
    assert S.verify_secret("abc$def", "$plaintext$abc$def")
    assert not S.verify_secret("abc", "$plaintext$abcd")
    assert S.verify_secret("bare", "bare")
    encoded = base64.b64encode(b"in base64").decode()
    assert S.verify_secret("in base64", "$base64$" + encoded)
    assert S.is_plaintext("$plaintext$x") and S.is_plaintext("x")
    assert not S.is_plaintext(VECTORS[0][0])


@pytest.mark.parametrize(
    ("digest", "name"),
    [
        ("$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", "bcrypt"),
        ("$2y$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01", "bcrypt"),
        ("$scrypt$ln=16,r=8,p=1$c2FsdA$a2V5", "scrypt"),
        ("$6$rounds=50000$salt$hash", "sha2crypt"),
        ("$5$rounds=50000$salt$hash", "sha2crypt"),
    ],
)
def test_unsupported_formats_name_the_format(digest: str, name: str) -> None:
    with pytest.raises(SecretError, match=f"the digest is in the {name}") as info:
        S.verify_secret("x", digest)
    assert "oidcsetup cannot verify" in info.value.message
    assert info.value.hint and "pbkdf2-sha512" in info.value.hint


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("$pbkdf2-sha512$many$c8p78n7pUMln0jzvd4aK4Q$JNRB", "iterations 'many'"),
        ("$pbkdf2-sha512$310000$c8p7+8n7$JNRB", "adapted base64"),
        ("$pbkdf2-sha512$310000$c8p78n7p", "expected"),
        ("$md5$abc", "unknown digest format"),
        # more rounds than hashlib takes (was an OverflowError), or minutes of work
        ("$pbkdf2-sha512$99999999999$c8p78n7pUMln0jzvd4aK4Q$JNRB", "out of range"),
        ("$pbkdf2$20000001$c8p78n7pUMln0jzvd4aK4Q$JNRB", "out of range"),
    ],
)
def test_malformed_digests_are_errors_not_mismatches(digest: str, message: str) -> None:
    with pytest.raises(SecretError, match=re.escape(message)):
        S.verify_secret("x", digest)


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(InputError, match="unknown digest algorithm 'md5'"):
        S.hash_secret("x", "md5")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(SecretError):
        S.hash_secret("")


def test_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = S.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(S.hmac, "compare_digest", spy)
    for digest, secret in VECTORS[:1] + VECTORS[3:]:
        assert S.verify_secret(secret, digest)
    assert S.verify_secret("p", "$plaintext$p")
    assert len(calls) == 3


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=80).filter(lambda s: "\x00" not in s))
def test_round_trip_any_secret(secret: str) -> None:
    digest = S.hash_secret(secret, "pbkdf2-sha256", iterations=1000)
    assert S.verify_secret(secret, digest)
    assert not S.verify_secret(secret + "!", digest)
