"""discovery/jwkcheck.py against keys made by an independent implementation (cryptography)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oidcsetup.discovery.jwkcheck import CURVES, public_key_problem


def b64(number: int, size: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


def unb64(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


EC_CURVES = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
}


@pytest.mark.parametrize("name", sorted(EC_CURVES))
def test_ec_keys_from_cryptography_are_on_our_curves(name: str) -> None:
    for _ in range(3):
        public = ec.generate_private_key(EC_CURVES[name]).public_key()
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(public))
        assert jwk["crv"] == name
        assert public_key_problem(jwk) is None, jwk
        # Moving y by one leaves the curve: our domain parameters are the real ones.
        size = CURVES[name].size
        off = dict(jwk, y=b64((unb64(jwk["y"]) + 1) % CURVES[name].p, size))
        assert public_key_problem(off) == "the point is not on the curve"


def test_ec_coordinates_of_the_wrong_size_are_refused() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwk = json.loads(ECAlgorithm.to_jwk(public))
    short = dict(jwk, x=jwk["x"][:-2])
    assert "32-byte" in (public_key_problem(short) or "")
    assert public_key_problem(dict(jwk, crv="P-999")) == "unknown curve 'P-999'"


def test_rsa_keys_from_cryptography_parse_and_broken_ones_do_not() -> None:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(public))
    assert public_key_problem(jwk) is None
    assert public_key_problem(dict(jwk, e=b64(65536, 3))) is not None  # even exponent
    assert public_key_problem(dict(jwk, n="!!")) is not None  # not base64url
    assert public_key_problem(dict(jwk, e=jwk["n"])) is not None  # e >= n


def test_okp_keys_from_cryptography_parse() -> None:
    for private in (ed25519.Ed25519PrivateKey.generate(), ed448.Ed448PrivateKey.generate()):
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        assert public_key_problem(jwk) is None, jwk
        assert public_key_problem(dict(jwk, x=jwk["x"][:-4])) is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {"kty": st.sampled_from(["RSA", "EC", "OKP", "oct", "x"])},
        optional={
            "crv": st.sampled_from(["P-256", "P-384", "P-521", "secp256k1", "Ed25519", "X"])
            | json_values,
            "n": st.text(max_size=30) | json_values,
            "e": st.text(max_size=8) | json_values,
            "x": st.text(max_size=90) | json_values,
            "y": st.text(max_size=90) | json_values,
        },
    )
)
def test_never_raises_for_any_key(key: dict[str, Any]) -> None:
    result = public_key_problem(key)
    assert result is None or isinstance(result, str)
