"""RebelOIDC reads the token response with its own JWT decoder: oidcsetup's copy of that
behaviour (apps/matomo/tokendecode.py) agrees with the real plugin's ``decodeJwt``, run by PHP.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

from oidcsetup.apps.matomo.tokendecode import (
    decode_like_rebeloidc,
    php_base64_decode,
    read_token_response,
)
from tests.support.rebeloidc import call_decode_jwt

HEADER = b'{"alg":"RS256"}'


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: object) -> str:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return b64url(HEADER) + "." + b64url(body) + ".c2ln"


def sample_tokens() -> list[str]:
    """Opaque tokens, JWTs of every shape and payloads whose base64url holds - and _."""
    rng = random.Random(1126)
    alphabet = "abcXYZ019 ?>~éüß中@/\\\"'\t{}[]:,"
    tokens = [
        "opaque-access-token-AbC_-123",
        "a.b",
        "a.b.c.d",
        "..",
        jwt({"sub": "dwho"}),
        jwt({"sub": "dwho", "name": "Zoë Ørsted", "q": "what?>>~"}),
        jwt("just a string"),
        jwt(42),
        jwt(None),
        jwt(["a", "b"]),
        "x." + b64url(b"{not json") + ".y",
        "x." + b64url('{"a":"\u00ff"}'.encode("latin-1")) + ".y",
        "x.eyJzdWIiOiJ4In0=.y",  # padded payload
    ]
    for _ in range(300):
        claims = {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))): "".join(
                rng.choice(alphabet) for _ in range(rng.randint(0, 12))
            )
            for _ in range(rng.randint(1, 5))
        }
        tokens.append(jwt(claims))
    return tokens


def test_decoder_agrees_with_the_real_rebeloidc(plugin_tree: Path) -> None:
    tokens = sample_tokens()
    real = call_decode_jwt(plugin_tree, tokens)
    failures = 0
    for token, theirs in zip(tokens, real, strict=True):
        ours = decode_like_rebeloidc(token, "access token")
        if "error" in theirs:
            failures += 1
            assert ours.error is not None, token
            if theirs["error"].startswith("Failed to decode JWT payload:"):
                # PHP names whichever JSON error its parser meets first; ours names the cause
                assert ours.error.startswith("Failed to decode JWT payload ("), token
            else:
                assert ours.error == theirs["error"], token
        else:
            assert ours.error is None, (token, ours.error)
            expected = theirs["ok"]
            assert ours.payload == (
                {str(k): v for k, v in enumerate(expected)}
                if isinstance(expected, list)
                else expected
            ), token
    # the sample exercises both sides: RebelOIDC refuses many well-formed JWTs, accepts others
    assert 30 < failures < len(tokens) - 30


def test_php_base64_skips_the_url_safe_characters() -> None:
    assert php_base64_decode("Pz8_") == base64.b64decode("Pz8=")[:2]
    assert php_base64_decode("eyJ4IjoxfQ") == b'{"x":1}'


def test_opaque_access_token_is_named_as_rebeloidc_names_it() -> None:
    reading = read_token_response("Zm9vYmFy-opaque", jwt({"sub": "dwho"}))
    assert reading.error is not None
    assert reading.error.what == "access token"
    assert reading.error.error == "Invalid JWT token format."


def test_roles_and_permissions_come_from_both_tokens() -> None:
    access = jwt(
        {"realm_access": {"roles": ["a"]}, "resource_access": {"matomo": {"roles": ["b"]}}}
    )
    ident = jwt({"roles": ["c"], "matomo-permission-path": ["/matomo/1/view", "/matomo/2/x"]})
    reading = read_token_response(access, ident)
    assert reading.error is None
    assert reading.roles("matomo") == ["a", "b", "c"]
    assert reading.permissions() == [("1", "view")]


def test_verdicts_name_rebeloidcs_own_failure() -> None:
    from oidcsetup.apps.matomo.tokendecode import judge_tokens

    opaque = judge_tokens("Zm9vYmFy", jwt({"sub": "x"}), client_id="matomo")
    assert not opaque.ok and opaque.code == "access-token-not-jwt"
    assert '"Invalid JWT token format."' in opaque.message
    unreadable = judge_tokens(jwt({"name": "what?>>~"}), None, client_id="matomo")
    assert unreadable.code == "token-payload-unreadable"
    role = judge_tokens(jwt({"roles": ["a"]}), None, client_id="m", allowed_role="b")
    assert role.code == "allowed-role-missing"
    perms = judge_tokens(jwt({"sub": "x"}), None, client_id="m", fine_grained_permissions=True)
    assert perms.code == "permission-claim-missing"
    good = judge_tokens(jwt({"roles": ["b"]}), jwt({"sub": "x"}), client_id="m", allowed_role="b")
    assert good.ok and good.code == "tokens-jwt"
