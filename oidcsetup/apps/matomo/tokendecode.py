"""What RebelOIDC's callback does with the token response, before it asks userinfo anything.

RebelOIDC 5.1.6 ``Controller.php`` ``callback()`` calls its ``decodeJwt()`` on the access token
and, when the response has one, on the id_token, and merges the two payloads (id_token's claims
win). ``decodeJwt`` checks no signature; it:

1. splits the token on "." and throws ``Invalid JWT token format.`` unless there are exactly
   three parts (an opaque access token ends the login here);
2. decodes the middle part with PHP's ``base64_decode()`` in its default, non-strict mode: that
   decoder knows only the standard alphabet (``+/``) and *skips* every other character, so the
   base64url characters ``-`` and ``_`` of a JWT are dropped and the bytes after them come out
   shifted (tried with php 8.2 here: a payload holding ``?``, ``>``, ``~`` or non-ASCII text at
   the wrong offset decodes to garbage);
3. ``json_decode``s it and throws ``Failed to decode JWT payload: <json error>`` on an error.

Roles (``allowedRole``) and ``matomo-permission-path`` (``fineGrainedPermissions``) are then read
from the merged payloads. This module does the same in Python so that ``check`` can say, from a
real login's tokens, whether RebelOIDC would get past this point, and what it would read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_STANDARD = frozenset(_ALPHABET)
_VALUES = {c: i for i, c in enumerate(_ALPHABET)}


def php_base64_decode(text: str) -> bytes:
    """PHP's ``base64_decode($text)`` (non-strict): every character outside ``A-Za-z0-9+/``
    (``=`` included) skipped, left-over bits of a last partial group dropped
    (php-src ext/standard/base64.c; compared with php 8.2 in tests/test_rebeloidc_tokens.py)."""
    bits = 0
    count = 0
    out = bytearray()
    for char in text.encode("utf-8", "surrogatepass"):
        if char not in _STANDARD:
            continue
        bits = (bits << 6) | _VALUES[char]
        count += 6
        if count >= 8:
            count -= 8
            out.append((bits >> count) & 0xFF)
    return bytes(out)


@dataclass(frozen=True)
class DecodedToken:
    """One token as ``decodeJwt`` sees it: its payload, or the exception it throws."""

    what: str  # "access token" | "id_token"
    payload: dict[str, Any] | None
    error: str | None  # RebelOIDC's exception message, verbatim

    @property
    def ok(self) -> bool:
        return self.error is None


def decode_like_rebeloidc(token: str, what: str) -> DecodedToken:
    parts = token.split(".")
    if len(parts) != 3:
        return DecodedToken(what, None, "Invalid JWT token format.")
    raw = php_base64_decode(parts[1])
    try:
        # PHP's json_decode wants UTF-8 and refuses control characters inside strings.
        payload = json.loads(raw.decode("utf-8"), strict=True)
    except (UnicodeDecodeError, json.JSONDecodeError):
        # PHP's message then names its JSON error (syntax, control character, malformed UTF-8:
        # whichever its parser meets first); the cause is the same.
        shifted = "-" in parts[1] or "_" in parts[1]
        return DecodedToken(
            what,
            None,
            "Failed to decode JWT payload"
            + (
                " (PHP's base64_decode drops the base64url characters - and _ of this token, "
                "so the payload is no longer JSON)"
                if shifted
                else " (the payload is not JSON)"
            ),
        )
    if not isinstance(payload, dict):
        # decodeJwt is declared ": array"; a JSON scalar makes PHP throw a TypeError. (A JSON
        # list is a PHP array too, and passes.)
        if isinstance(payload, list):
            return DecodedToken(what, {str(i): v for i, v in enumerate(payload)}, None)
        kind = {bool: "bool", int: "int", float: "float", str: "string"}.get(type(payload), "null")
        return DecodedToken(
            what,
            None,
            f"Piwik\\Plugins\\RebelOIDC\\Controller::decodeJwt(): Return value must be of "
            f"type array, {kind} returned",
        )
    return DecodedToken(what, payload, None)


@dataclass(frozen=True)
class TokenReading:
    """The callback's view of a token response: each token, and the merged claims it reads."""

    tokens: tuple[DecodedToken, ...]
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> DecodedToken | None:
        return next((t for t in self.tokens if not t.ok), None)

    def roles(self, client_id: str) -> list[str]:
        """extractRoles(): realm_access.roles, resource_access.<client_id>.roles, roles."""
        found: list[str] = []
        realm = self.claims.get("realm_access")
        if isinstance(realm, Mapping) and isinstance(realm.get("roles"), list):
            found += [str(r) for r in realm["roles"]]
        resource = self.claims.get("resource_access")
        if isinstance(resource, Mapping):
            client = resource.get(client_id)
            if isinstance(client, Mapping) and isinstance(client.get("roles"), list):
                found += [str(r) for r in client["roles"]]
        if isinstance(self.claims.get("roles"), list):
            found += [str(r) for r in self.claims["roles"]]
        return found

    def permissions(self) -> list[tuple[str, str]]:
        """extractPermissions(): (idSite, access) of each /matomo/<idSite>/<view|write|admin>."""
        paths = self.claims.get("matomo-permission-path")
        result = []
        for path in paths if isinstance(paths, list) else ():
            parts = [p for p in str(path).split("/") if p]
            if len(parts) == 3 and parts[0] == "matomo" and parts[2] in ("admin", "write", "view"):
                result.append((parts[1], parts[2]))
        return result


def read_token_response(access_token: str, id_token: str | None) -> TokenReading:
    """Decode as RebelOIDC's callback does (access token first, then the id_token)."""
    tokens = [decode_like_rebeloidc(access_token, "access token")]
    if id_token is not None:
        tokens.append(decode_like_rebeloidc(id_token, "id_token"))
    claims: dict[str, Any] = {}
    if all(t.ok for t in tokens):
        for token in tokens:  # array_merge: the id_token's keys win
            claims.update(token.payload or {})
    return TokenReading(tuple(tokens), claims)


@dataclass(frozen=True)
class TokenVerdict:
    """What ``check`` says about a real login's tokens for a plugin that decodes them."""

    ok: bool
    code: str
    message: str
    hint: str | None = None
    claims_read: tuple[str, ...] = ()  # the token claims the callback reads (names only)


def judge_tokens(
    access_token: str,
    id_token: str | None,
    *,
    client_id: str,
    allowed_role: str = "",
    fine_grained_permissions: bool = False,
    provider_hint: str | None = None,
) -> TokenVerdict:
    """RebelOIDC's verdict on a token response, in its own words, before anyone logs in.

    ``provider_hint`` says how to make this provider issue JWT access tokens (Authelia's
    ``access_token_signed_response_alg``, LemonLDAP::NG's ``oidcRPMetaDataOptionsAccessTokenJWT``).
    The userinfo endpoint's acceptance of the same access token is the caller's to prove (the
    login called it).
    """
    reading = read_token_response(access_token, id_token)
    failed = reading.error
    if failed is not None:
        if failed.error == "Invalid JWT token format.":
            return TokenVerdict(
                False,
                "access-token-not-jwt" if failed.what == "access token" else "id-token-not-jwt",
                f"the provider issues an opaque {failed.what} (not a JWT): RebelOIDC's callback "
                'decodes it and every login fails with "Invalid JWT token format."',
                provider_hint
                or "make the provider issue JWT access tokens for this client, or use the "
                "Login OIDC plugin (--plugin loginoidc)",
            )
        return TokenVerdict(
            False,
            "token-payload-unreadable",
            f"RebelOIDC cannot read the {failed.what}'s payload: {failed.error}; every login "
            "fails on it",
            "RebelOIDC 5.1.6 decodes JWT payloads with PHP's base64_decode, which does not know "
            "the base64url alphabet: claims whose encoding holds - or _ break it (e.g. non-ASCII "
            "names, ?, > or ~ in claim values); keep such claims out of the tokens, or use the "
            "Login OIDC plugin",
        )
    if allowed_role and allowed_role not in reading.roles(client_id):
        return TokenVerdict(
            False,
            "allowed-role-missing",
            f"the tokens do not list the role {allowed_role!r} (realm_access.roles, "
            f"resource_access.{client_id}.roles, roles): RebelOIDC refuses this user",
            "give the test user the role at the provider and release it in the tokens, or "
            "change allowedRole",
        )
    if fine_grained_permissions and not reading.permissions():
        return TokenVerdict(
            False,
            "permission-claim-missing",
            "fineGrainedPermissions is on but the tokens hold no usable matomo-permission-path "
            "(/matomo/<idSite>/<view|write|admin>): RebelOIDC removes all of this user's site "
            "access at login",
            "release matomo-permission-path in the access token or id_token, or turn "
            "fineGrainedPermissions off",
        )
    read = ["access token (JWT)"] + (["id_token"] if id_token else [])
    return TokenVerdict(
        True,
        "tokens-jwt",
        "the access token is a JWT RebelOIDC can decode"
        + (" (and so is the id_token)" if id_token else ""),
        claims_read=tuple(read),
    )
