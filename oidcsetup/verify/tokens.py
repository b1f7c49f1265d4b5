"""After the callback: the code exchanged at the token endpoint, the id_token verified against
the JWKS (signature, iss, aud, exp, nonce), userinfo fetched the way Login OIDC does (GET,
Bearer, plain JSON). Tokens never leave these functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oidcsetup.http import NetworkOptions
from oidcsetup.verify.authorization import same_secret
from oidcsetup.verify.oauth import (
    IdTokenError,
    LoginError,
    client_auth,
    oauth_error,
    refuse_redirect,
    send,
)

if TYPE_CHECKING:
    import httpx


# Asymmetric algorithms verified against the JWKS; HS* verified with the client secret.
ASYMMETRIC_ALGS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


HMAC_ALGS = ("HS256", "HS384", "HS512")


def exchange_code(
    client: httpx.Client,
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    secret: str | None,
    auth_method: str,
    code_verifier: str | None,
    network: NetworkOptions | None = None,
) -> dict[str, Any]:
    from oidcsetup.discovery.fetch import response_json

    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        data["code_verifier"] = code_verifier
    fields, headers = client_auth(auth_method, client_id, secret)
    data.update(fields)
    headers["Accept"] = "application/json"
    response = send(
        client, "POST", token_endpoint, network or NetworkOptions(), data=data, headers=headers
    )
    refuse_redirect(
        response,
        "the token endpoint",
        "the code, the PKCE verifier and the client credentials were",
        "token-redirect",
    )
    error, description = oauth_error(response)
    if response.status_code != 200 or error:
        detail = f"{error} ({description})" if description else (error or "no error code")
        hint = None
        if error == "invalid_client":
            hint = (
                f"the provider refused the client's credentials sent with {auth_method}: check "
                "the secret and the client's token_endpoint_auth_method at the provider"
            )
        raise LoginError(
            f"the token request failed with HTTP {response.status_code}: {detail}",
            hint=hint,
            code=f"token-{(error or 'error').replace('_', '-')}",
        )
    try:
        body = response_json(response)
    except ValueError:
        raise LoginError("the token response is not JSON", code="token-invalid") from None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        # Login OIDC: "Unexpected response from OAuth service." in exactly this case.
        raise LoginError("the token response has no access_token", code="token-invalid")
    return body


def verify_id_token(
    id_token: str,
    *,
    jwks: Mapping[str, Any] | None,
    issuer: str,
    client_id: str,
    nonce: str | None,
    secret: str | None = None,
    leeway: float = 60.0,
) -> dict[str, Any]:
    """The id_token's claims after checking signature, iss, aud, exp, iat and nonce."""
    import jwt

    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise IdTokenError(f"the id_token is not a JWS: {exc}", code="id-token-malformed") from None
    alg = header.get("alg")
    if alg in HMAC_ALGS:
        if not secret:
            raise IdTokenError(f"the id_token is signed with {alg} but no client secret is known")
        keys: list[Any] = [secret.encode()]
    elif alg in ASYMMETRIC_ALGS:
        keys = _jwks_keys(jwks or {}, header.get("kid"), alg)
    else:
        raise IdTokenError(
            f"the id_token uses signing algorithm {alg!r}, which is not accepted",
            code="id-token-alg",
        )
    claims: dict[str, Any] | None = None
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                audience=client_id,
                issuer=issuer,
                leeway=leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            break
        except jwt.InvalidSignatureError as exc:
            last = exc  # try the next key with this kid (key rotation)
        except jwt.ExpiredSignatureError:
            raise IdTokenError("the id_token has expired", code="id-token-expired") from None
        except jwt.InvalidAudienceError:
            raise IdTokenError(
                f"the id_token's aud does not contain the client_id {client_id!r}",
                code="id-token-audience",
            ) from None
        except jwt.InvalidIssuerError:
            raise IdTokenError(
                f"the id_token's iss is not {issuer!r}", code="id-token-issuer"
            ) from None
        except jwt.PyJWTError as exc:
            raise IdTokenError(f"the id_token is invalid: {exc}", code="id-token-invalid") from None
    if claims is None:
        raise IdTokenError(
            f"the id_token's signature does not verify{f': {last}' if last else ''}",
            hint="the provider signed it with a key not in its JWKS, or it was altered",
            code="id-token-signature",
        )
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("the id_token has several audiences and azp is not the client")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not same_secret(got, nonce):
            raise IdTokenError(
                "the id_token's nonce does not match the request's (replayed token?)",
                code="id-token-nonce",
            )
    return claims


def _jwks_keys(jwks: Mapping[str, Any], kid: str | None, alg: str) -> list[Any]:
    import jwt

    usable = [
        k
        for k in jwks.get("keys", [])
        if isinstance(k, dict)
        and k.get("use", "sig") == "sig"
        and (kid is None or k.get("kid") == kid)
    ]
    keys: list[Any] = []
    for entry in usable:
        if entry.get("alg") not in (None, alg):
            continue
        with contextlib.suppress(jwt.PyJWTError, ValueError, TypeError):
            keys.append(jwt.PyJWK(entry, algorithm=alg).key)
    if not keys:
        raise IdTokenError(
            f"the JWKS has no {alg} signing key"
            + (f" with kid {kid!r}" if kid else "")
            + " for the id_token",
            hint="the provider's jwks_uri does not publish the key it signs with",
            code="id-token-key",
        )
    return keys


@dataclass(frozen=True)
class Userinfo:
    claims: dict[str, Any]
    content_type: str
    signed: bool  # a JWT answer: Login OIDC cannot read it


def fetch_userinfo(
    client: httpx.Client,
    endpoint: str,
    access_token: str,
    network: NetworkOptions | None = None,
) -> Userinfo:
    """GET userinfo as Login OIDC does: ``Authorization: Bearer``, ``Accept: application/json``."""
    from oidcsetup.discovery.fetch import response_json

    response = send(
        client,
        "GET",
        endpoint,
        network or NetworkOptions(),
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    refuse_redirect(response, "the userinfo endpoint", "the access token was", "userinfo-redirect")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code != 200:
        error, description = oauth_error(response)
        raise LoginError(
            f"userinfo answered HTTP {response.status_code}"
            + (f": {error}" if error else "")
            + (f" ({description})" if description else ""),
            code="userinfo-error",
        )
    if content_type == "application/jwt":
        return Userinfo({}, content_type, signed=True)
    try:
        body = response_json(response)
    except ValueError:
        raise LoginError("userinfo is not JSON", code="userinfo-not-json") from None
    if not isinstance(body, dict):
        raise LoginError("userinfo is not a JSON object", code="userinfo-not-json")
    return Userinfo(body, content_type, signed=False)
