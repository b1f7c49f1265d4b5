"""Is a JWK a well-formed public key for a JWS algorithm? Pure Python, no crypto library.

Discovery only needs to know that the provider publishes a key its ID tokens can be verified
with; loading the key into a crypto library (PyJWT + cryptography, ~100 ms of imports) is left
to `login`, which verifies real signatures. The checks here are those a crypto library makes
when it loads a public key (RFC 7518 section 6):

- RSA: ``n`` and ``e`` are base64url unsigned integers; ``e`` is odd and 3 <= e < n; n is odd.
- EC: ``x`` and ``y`` are exactly the curve's coordinate size and the point lies on the curve
  (y^2 = x^3 + ax + b mod p).
- OKP: ``x`` has the curve's key size (32 bytes for Ed25519, 57 for Ed448).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Curve:
    size: int  # bytes per coordinate
    p: int
    a: int
    b: int

    def contains(self, x: int, y: int) -> bool:
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0


# Domain parameters: SEC 2 / FIPS 186-4 (NIST P-curves, a = -3) and secp256k1 (a = 0, b = 7).
CURVES: dict[str, Curve] = {
    "P-256": Curve(
        32,
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        -3,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    "P-384": Curve(
        48,
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        -3,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
    ),
    "P-521": Curve(
        66,
        2**521 - 1,
        -3,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
    ),
    "secp256k1": Curve(32, 2**256 - 2**32 - 977, 0, 7),
}
OKP_SIZES = {"Ed25519": 32, "Ed448": 57}


def _octets(key: dict[str, Any], name: str) -> bytes | None:
    value = key.get(name)
    if not isinstance(value, str) or not _B64URL.match(value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def public_key_problem(key: dict[str, Any]) -> str | None:
    """None when ``key`` is a well-formed public key; else what is wrong with it."""
    kty = key.get("kty")
    if kty == "RSA":
        n_bytes, e_bytes = _octets(key, "n"), _octets(key, "e")
        if not n_bytes or not e_bytes:
            return "n and e must be base64url integers"
        n, e = int.from_bytes(n_bytes, "big"), int.from_bytes(e_bytes, "big")
        if n % 2 == 0 or e % 2 == 0 or not 3 <= e < n:
            return "n and e do not form an RSA public key"
        return None
    if kty == "EC":
        curve = CURVES.get(str(key.get("crv")))
        if curve is None:
            return f"unknown curve {key.get('crv')!r}"
        x, y = _octets(key, "x"), _octets(key, "y")
        if x is None or y is None or len(x) != curve.size or len(y) != curve.size:
            return f"x and y must be {curve.size}-byte base64url coordinates"
        if not curve.contains(int.from_bytes(x, "big"), int.from_bytes(y, "big")):
            return "the point is not on the curve"
        return None
    if kty == "OKP":
        size = OKP_SIZES.get(str(key.get("crv")))
        if size is None:
            return f"unknown curve {key.get('crv')!r}"
        x = _octets(key, "x")
        if x is None or len(x) != size:
            return f"x must be a {size}-byte base64url public key"
        return None
    return f"unsupported key type {kty!r}"
