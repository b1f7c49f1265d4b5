"""The provider's JWKS: fetch it, parse every key, and find one that can verify an ID token.

A key is usable for signatures when it is not marked for encryption (``use`` other than "sig",
or ``key_ops`` without "verify"), parses (discovery/jwkcheck.py), and fits an algorithm the provider advertises
in ``id_token_signing_alg_values_supported`` (its own ``alg`` when it has one, else by key type
and curve; RFC 7518 section 3.1). Providers that sign ID tokens only with HMAC (HS*, keyed by the
client secret) need no public key, so an empty JWKS is fine for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable, fetch, parse_json
from oidcsetup.errors import OidcSetupError
from oidcsetup.findings import Finding, Level
from oidcsetup.http import NetworkOptions

if TYPE_CHECKING:
    import httpx

# Key type (and curve) -> the JWS algorithms such a key can verify.
_ALGS_BY_KTY: dict[str, tuple[str, ...]] = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC:P-256": ("ES256",),
    "EC:P-384": ("ES384",),
    "EC:P-521": ("ES512",),
    "EC:secp256k1": ("ES256K",),
    "OKP:Ed25519": ("EdDSA", "Ed25519"),
    "OKP:Ed448": ("EdDSA", "Ed448"),
}


@dataclass(frozen=True)
class JwksKey:
    kid: str | None
    kty: str
    alg: str | None
    use: str | None
    usable_algs: tuple[str, ...]  # advertised algorithms this key verifies (empty: not usable)

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "kty": self.kty,
            "alg": self.alg,
            "use": self.use,
            "usable_algs": list(self.usable_algs),
        }


@dataclass(frozen=True)
class JwksSummary:
    uri: str
    keys: tuple[JwksKey, ...] = ()

    @property
    def usable_algs(self) -> tuple[str, ...]:
        seen: list[str] = []
        for key in self.keys:
            seen.extend(a for a in key.usable_algs if a not in seen)
        return tuple(seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "key_count": len(self.keys),
            "usable_algs": list(self.usable_algs),
            "keys": [key.to_json() for key in self.keys],
        }


def _key_algs(key: dict[str, Any]) -> tuple[str, ...]:
    kty = key.get("kty")
    crv = key.get("crv")
    return _ALGS_BY_KTY.get(f"{kty}:{crv}" if crv is not None else str(kty), ())


def _parses(key: dict[str, Any], alg: str) -> bool:
    """``key`` is a well-formed public key of a type that verifies ``alg``."""
    from oidcsetup.discovery.jwkcheck import public_key_problem

    return alg in _key_algs(key) and public_key_problem(key) is None


def summarize_jwks(
    uri: str, document: Any, advertised: Sequence[str]
) -> tuple[JwksSummary | None, list[Finding]]:
    """Parse a JWKS document and judge it against the advertised ID token algorithms."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return None, [
            Finding(
                Level.ERROR,
                "jwks-invalid",
                f'the JWKS at {uri} is not a JSON object with a "keys" array',
                "check jwks_uri in the provider's metadata",
            )
        ]
    asymmetric = [a for a in advertised if a != "none" and not a.startswith("HS")]
    findings: list[Finding] = []
    keys: list[JwksKey] = []
    for index, key in enumerate(document["keys"]):
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            findings.append(
                Finding(
                    Level.WARNING,
                    "jwks-key-invalid",
                    f"JWKS key #{index} has no key type (kty)",
                    None,
                )
            )
            continue
        kid = key.get("kid") if isinstance(key.get("kid"), str) else None
        alg = key.get("alg") if isinstance(key.get("alg"), str) else None
        use = key.get("use") if isinstance(key.get("use"), str) else None
        key_ops = key.get("key_ops")
        for_signatures = use in (None, "sig") and (
            not isinstance(key_ops, list) or "verify" in key_ops
        )
        if key["kty"] == "oct":
            findings.append(
                Finding(
                    Level.WARNING,
                    "jwks-symmetric-key",
                    f"JWKS key {kid or '#' + str(index)} is a symmetric (oct) key published "
                    "in the public key set",
                    "a JWKS must hold public keys only; report this to the provider's admin",
                )
            )
            continue
        candidates = [alg] if alg else list(_key_algs(key))
        usable: tuple[str, ...] = ()
        if for_signatures:
            fitting = [a for a in candidates if a in asymmetric]
            usable = tuple(a for a in fitting if _parses(key, a))
            if fitting and not usable:
                findings.append(
                    Finding(
                        Level.WARNING,
                        "jwks-key-invalid",
                        f"JWKS key {kid or '#' + str(index)} ({key['kty']}) does not parse",
                        None,
                    )
                )
        keys.append(JwksKey(kid=kid, kty=key["kty"], alg=alg, use=use, usable_algs=usable))
    summary = JwksSummary(uri=uri, keys=tuple(keys))
    if asymmetric and not summary.usable_algs:
        findings.append(
            Finding(
                Level.ERROR,
                "jwks-no-usable-key",
                f"the JWKS at {uri} holds no signing key for the advertised ID token "
                f"algorithms ({', '.join(asymmetric)})",
                "the provider cannot have its ID tokens verified; check its signing keys",
            )
        )
    return summary, findings


def check_jwks(
    client: httpx.Client,
    uri: str,
    advertised: Sequence[str],
    network: NetworkOptions,
) -> tuple[JwksSummary | None, list[Finding]]:
    """Fetch and judge the JWKS; every failure is a finding (this never raises for the network)."""
    try:
        fetched = fetch(client, uri, network)
        document = parse_json(fetched, "JWKS")
    except FetchUnreachable as exc:
        return None, [Finding(Level.ERROR, "jwks-unreachable", f"JWKS: {exc.message}", exc.hint)]
    except (FetchInvalid, OidcSetupError) as exc:
        return None, [Finding(Level.ERROR, "jwks-invalid", f"JWKS: {exc.message}", exc.hint)]
    return summarize_jwks(uri, document, advertised)
