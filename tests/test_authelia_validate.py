"""Every validation rule for Authelia client entries, with the message users see."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from oidcsetup.findings import has_errors
from oidcsetup.providers.authelia import validate as V
from oidcsetup.providers.authelia import validate_entry

DIGEST = (
    "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR"
    "/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng"
)
URI = "https://matomo.example.com/index.php?module=LoginOIDC&action=callback&provider=oidc"
DROP = object()


def base(version: str = "4.39") -> dict[str, Any]:
    if version == "4.37":
        return {
            "id": "matomo",
            "description": "Matomo",
            "secret": DIGEST,
            "public": False,
            "authorization_policy": "two_factor",
            "redirect_uris": [URI],
            "scopes": ["openid", "email"],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "userinfo_signing_algorithm": "none",
        }
    return {
        "client_id": "matomo",
        "client_name": "Matomo",
        "client_secret": DIGEST,
        "public": False,
        "authorization_policy": "two_factor",
        "require_pkce": False,
        "redirect_uris": [URI],
        "scopes": ["openid", "email"],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
        "access_token_signed_response_alg": "none",
        "userinfo_signed_response_alg": "none",
        "token_endpoint_auth_method": "client_secret_post",
    }


def entry(version: str = "4.39", **changes: Any) -> dict[str, Any]:
    result = base(version)
    for key, value in changes.items():
        if value is DROP:
            result.pop(key, None)
        else:
            result[key] = value
    return result


# (id, version, app, changes, level, code, message fragment)
CASES: list[tuple[str, str, str | None, dict[str, Any], str, str, str]] = [
    (
        "unknown key",
        "4.39",
        None,
        {"colour": "x"},
        "error",
        "key-unknown",
        "client 'matomo': option 'colour' is not a client option in Authelia 4.39",
    ),
    (
        "unknown key suggestion",
        "4.39",
        None,
        {"redirect_uri": [URI]},
        "error",
        "key-unknown",
        "option 'redirect_uri' is not a client option",
    ),
    (
        "4.38 name in 4.37",
        "4.37",
        None,
        {"client_name": "x"},
        "error",
        "key-unknown",
        "option 'client_name' is not a client option in Authelia 4.37",
    ),
    (
        "deprecated name",
        "4.38",
        None,
        {"description": "M", "client_name": DROP},
        "warning",
        "key-deprecated",
        "option 'description' is deprecated since Authelia 4.38; its new name is 'client_name'",
    ),
    (
        "old and new name",
        "4.39",
        None,
        {"secret": DIGEST},
        "error",
        "key-renamed-conflict",
        "option 'secret' and its new name 'client_secret' are both set",
    ),
    (
        "wrong type",
        "4.39",
        None,
        {"public": "no"},
        "error",
        "type-invalid",
        "option 'public' must be true or false, not str 'no'",
    ),
    (
        # a secret of the wrong type is named, never printed (issue 10: secrets in output)
        "secret of the wrong type",
        "4.39",
        None,
        {"client_secret": 98765432109876},
        "error",
        "type-invalid",
        "option 'client_secret' must be a string, not int",
    ),
    (
        "list type",
        "4.39",
        None,
        {"scopes": "openid email"},
        "error",
        "type-invalid",
        "option 'scopes' must be a list of strings",
    ),
    (
        "bad enum",
        "4.39",
        None,
        {"consent_mode": "always"},
        "error",
        "value-invalid",
        "option 'consent_mode' must be one of 'auto', 'explicit', 'implicit', 'pre-configured' but it's configured as 'always'",
    ),
    (
        "bad duration",
        "4.39",
        None,
        {"pre_configured_consent_duration": "a while"},
        "error",
        "duration-invalid",
        "option 'pre_configured_consent_duration' must be a duration",
    ),
    (
        "no client id",
        "4.39",
        None,
        {"client_id": ""},
        "error",
        "client-id-missing",
        "option 'client_id' is required",
    ),
    (
        "long client id",
        "4.39",
        None,
        {"client_id": "m" * 101},
        "error",
        "client-id-too-long",
        "must not be more than 100 characters but it has 101 characters",
    ),
    (
        "long client id 4.37",
        "4.37",
        None,
        {"id": "m" * 101},
        "warning",
        "client-id-too-long",
        "(Authelia 4.38 and later refuse it)",
    ),
    (
        "client id charset",
        "4.39",
        None,
        {"client_id": "matomo stats"},
        "error",
        "client-id-charset",
        "client 'matomo stats': option 'client_id' must only contain RFC 3986 unreserved characters",
    ),
    (
        "client id charset 4.37",
        "4.37",
        None,
        {"id": "matomo/stats"},
        "warning",
        "client-id-charset",
        "option 'id' must only contain RFC 3986 unreserved characters",
    ),
    (
        # issue 15: a newline in the id injected keys into the fragment's comment line (4.37
        # only warned about the charset) and into every message naming the client
        "client id with a line break",
        "4.37",
        None,
        {"id": "matomo\nfoo: bar"},
        "error",
        "control-character",
        "client \"matomo\\nfoo: bar\": option 'id' holds a line break or another control character",
    ),
    (
        "client name with a bidi override",
        "4.39",
        None,
        {"client_name": "Matomo\u202egnp.exe"},
        "error",
        "control-character",
        "option 'client_name' holds a line break or another control character: "
        '"Matomo\\u202egnp.exe"',
    ),
    (
        "policy 4.37",
        "4.37",
        None,
        {"authorization_policy": "admins"},
        "error",
        "value-invalid",
        "option 'authorization_policy' must be one of 'one_factor', 'two_factor'",
    ),
    (
        "named policy",
        "4.39",
        None,
        {"authorization_policy": "admins"},
        "warning",
        "policy-named",
        "only if it is the name of a policy under identity_providers.oidc.authorization_policies",
    ),
    (
        "ccg policy",
        "4.39",
        None,
        {"grant_types": ["client_credentials"], "scopes": [], "response_types": []},
        "error",
        "policy-client-credentials",
        "option 'authorization_policy' must be 'one_factor' with the 'client_credentials' grant type",
    ),
    (
        "consent duration ignored",
        "4.39",
        None,
        {"consent_mode": "explicit", "pre_configured_consent_duration": "1 week"},
        "warning",
        "consent-duration-ignored",
        "has no effect with consent_mode 'explicit'",
    ),
    (
        "unknown scope",
        "4.39",
        None,
        {"scopes": ["openid", "email", "roles"]},
        "warning",
        "scope-unknown",
        "option 'scopes' only expects the values 'openid', 'offline_access'",
    ),
    (
        "unknown scope 4.37",
        "4.37",
        None,
        {"scopes": ["openid", "phone"]},
        "error",
        "scope-unknown",
        "the unknown values 'phone' are present",
    ),
    (
        "bad grant type",
        "4.39",
        None,
        {"grant_types": ["authorization_code", "password"]},
        "error",
        "grant-type-invalid",
        "the unknown values 'password' are present",
    ),
    (
        "bad response type",
        "4.39",
        None,
        {"response_types": ["code", "magic"]},
        "warning",
        "response-type-invalid",
        "option 'response_types' only expects the values",
    ),
    (
        "bad response mode",
        "4.39",
        None,
        {"response_modes": ["post"]},
        "error",
        "response-mode-invalid",
        "option 'response_modes' only expects the values",
    ),
    (
        "duplicates",
        "4.39",
        None,
        {"scopes": ["openid", "email", "email"]},
        "warning",
        "duplicate-values",
        "option 'scopes' must have unique values but 'email' are duplicated",
    ),
    (
        "offline without code",
        "4.39",
        None,
        {
            "scopes": ["openid", "offline_access"],
            "response_types": ["id_token"],
            "grant_types": ["implicit"],
        },
        "warning",
        "offline-access-without-code",
        "should only have 'offline_access' if the client also has",
    ),
    (
        "grant mismatch code",
        "4.39",
        None,
        {"response_types": ["id_token"]},
        "warning",
        "grant-type-mismatch",
        "option 'grant_types' has 'authorization_code' but no response type",
    ),
    (
        "grant mismatch implicit",
        "4.39",
        None,
        {"grant_types": ["authorization_code", "implicit"]},
        "warning",
        "grant-type-mismatch",
        "option 'grant_types' has 'implicit' but no response type",
    ),
    (
        "ccg public",
        "4.39",
        None,
        {
            "public": True,
            "client_secret": DROP,
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "client_credentials"],
            "authorization_policy": "one_factor",
        },
        "error",
        "client-credentials-public",
        "should only have 'client_credentials' if the client is confidential",
    ),
    (
        "refresh without offline",
        "4.39",
        None,
        {"grant_types": ["authorization_code", "refresh_token"]},
        "warning",
        "refresh-token-without-offline-access",
        "option 'grant_types' should only have the 'refresh_token' value if the client is also configured with the 'offline_access' scope",
    ),
    (
        "refresh without code",
        "4.39",
        None,
        {
            "grant_types": ["implicit", "refresh_token"],
            "response_types": ["id_token"],
            "scopes": ["openid", "offline_access"],
        },
        "warning",
        "refresh-token-without-code",
        "should only have 'refresh_token' if the client also has",
    ),
    (
        "no redirect uris",
        "4.39",
        None,
        {"redirect_uris": []},
        "error",
        "redirect-uris-missing",
        "option 'redirect_uris' is empty",
    ),
    (
        "oob confidential",
        "4.39",
        None,
        {"redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"]},
        "error",
        "redirect-uri-oob-confidential",
        "which is only valid for a public client",
    ),
    (
        "unparseable uri",
        "4.39",
        None,
        {"redirect_uris": ["https://[::1/cb"]},
        "error",
        "redirect-uri-parse",
        "redirect uri 'https://[::1/cb' could not be parsed",
    ),
    (
        "no scheme",
        "4.39",
        None,
        {"redirect_uris": ["matomo.example.com/cb"]},
        "error",
        "redirect-uri-scheme",
        "redirect uri 'matomo.example.com/cb' must have a scheme but it's absent",
    ),
    (
        "fragment",
        "4.39",
        None,
        {"redirect_uris": ["https://m.example.com/cb#x"]},
        "error",
        "redirect-uri-fragment",
        "which has a fragment",
    ),
    (
        "http",
        "4.39",
        None,
        {"redirect_uris": ["http://m.example.com/cb"]},
        "warning",
        "redirect-uri-http",
        "uses http on a host that is not loopback",
    ),
    (
        "bad digest",
        "4.39",
        None,
        {"client_secret": "$pbkdf2-sha512$x"},
        "error",
        "secret-format",
        "option 'client_secret' is not a digest Authelia can read",
    ),
    (
        "4.37 post",
        "4.37",
        None,
        {},
        "info",
        "auth-method-implicit-437",
        "Authelia 4.37 has no option 'token_endpoint_auth_method'",
    ),
    (
        "4.37 jwt",
        "4.37",
        None,
        {},
        "error",
        "auth-method-unsupported-437",
        "cannot express token_endpoint_auth_method 'client_secret_jwt'",
    ),
    (
        "4.37 jwt access token",
        "4.37",
        None,
        {},
        "error",
        "jwt-access-token-437",
        "Authelia 4.37 issues only opaque access tokens",
    ),
    (
        "confidential none",
        "4.39",
        None,
        {"token_endpoint_auth_method": "none"},
        "error",
        "auth-method-confidential-none",
        "for a confidential client but it's configured as 'none'",
    ),
    (
        "public with method",
        "4.39",
        None,
        {"public": True, "client_secret": DROP},
        "error",
        "auth-method-public",
        "must be 'none' when configured as the public client type but it's configured as 'client_secret_post'",
    ),
    (
        "public with secret",
        "4.39",
        None,
        {"public": True, "token_endpoint_auth_method": "none"},
        "error",
        "secret-forbidden-public",
        "option 'client_secret' is required to be empty when option 'public' is true",
    ),
    (
        "public with secret 4.37",
        "4.37",
        None,
        {"public": True},
        "error",
        "secret-forbidden-public",
        "option 'secret' is required to be empty when option 'public' is true",
    ),
    (
        "no secret",
        "4.39",
        None,
        {"client_secret": DROP},
        "error",
        "secret-required",
        "client 'matomo': option 'client_secret' is required",
    ),
    (
        "no secret 4.37",
        "4.37",
        None,
        {"secret": DROP},
        "error",
        "secret-required",
        "option 'secret' is required",
    ),
    (
        "secret with private_key_jwt",
        "4.39",
        None,
        {"token_endpoint_auth_method": "private_key_jwt"},
        "error",
        "secret-forbidden-method",
        "required to be empty when option 'token_endpoint_auth_method' is configured as 'private_key_jwt'",
    ),
    (
        "jwt needs plaintext",
        "4.39",
        None,
        {"token_endpoint_auth_method": "client_secret_jwt"},
        "error",
        "client-secret-jwt-plaintext",
        "option 'client_secret' must be plaintext with option 'token_endpoint_auth_method' with a value of 'client_secret_jwt'",
    ),
    (
        "plaintext",
        "4.39",
        None,
        {"client_secret": "$plaintext$abc"},
        "warning",
        "secret-plaintext",
        "option 'client_secret' is plaintext but for clients not using 'client_secret_jwt' it should be a digest",
    ),
    (
        "bare plaintext",
        "4.38",
        None,
        {"client_secret": "abc"},
        "warning",
        "secret-plaintext",
        "is plaintext",
    ),
    (
        "matomo basic",
        "4.39",
        "matomo",
        {"token_endpoint_auth_method": "client_secret_basic"},
        "error",
        "matomo-auth-method",
        "option 'token_endpoint_auth_method' is client_secret_basic, but Login OIDC sends the secret in the form body",
    ),
    (
        "matomo unset method",
        "4.38",
        "matomo",
        {"token_endpoint_auth_method": DROP},
        "error",
        "matomo-auth-method",
        "is unset, so client_secret_basic, but Login OIDC",
    ),
    (
        "matomo public",
        "4.39",
        "matomo",
        {"public": True, "client_secret": DROP, "token_endpoint_auth_method": "none"},
        "error",
        "matomo-public",
        "Login OIDC is a confidential client",
    ),
    (
        "matomo pkce",
        "4.39",
        "matomo",
        {"require_pkce": True},
        "error",
        "matomo-pkce",
        "Login OIDC sends no code_challenge",
    ),
    (
        "matomo pkce method",
        "4.39",
        "matomo",
        {"pkce_challenge_method": "S256"},
        "error",
        "matomo-pkce",
        "PKCE is required for this client",
    ),
    (
        "matomo openid",
        "4.39",
        "matomo",
        {"scopes": ["email"]},
        "error",
        "matomo-scope-openid",
        "option 'scopes' lacks 'openid'",
    ),
    (
        "matomo email",
        "4.39",
        "matomo",
        {"scopes": ["openid", "profile"]},
        "warning",
        "matomo-scope-email",
        "option 'scopes' lacks 'email': Matomo needs the email claim",
    ),
    (
        "matomo response",
        "4.39",
        "matomo",
        {"response_types": ["id_token"]},
        "error",
        "matomo-response-type",
        "option 'response_types' lacks 'code'",
    ),
    (
        "matomo grant",
        "4.39",
        "matomo",
        {"grant_types": ["implicit"]},
        "error",
        "matomo-grant-type",
        "option 'grant_types' lacks 'authorization_code'",
    ),
    (
        "matomo userinfo",
        "4.39",
        "matomo",
        {"userinfo_signed_response_alg": "RS256"},
        "error",
        "matomo-userinfo-signed",
        "Login OIDC reads the userinfo response as plain JSON",
    ),
    (
        "matomo userinfo 4.37",
        "4.37",
        "matomo",
        {"userinfo_signing_algorithm": "RS256"},
        "error",
        "matomo-userinfo-signed",
        "option 'userinfo_signing_algorithm' is 'RS256'",
    ),
]


def _notes(case_id: str) -> tuple[str, ...]:
    if case_id == "4.37 post":
        return ("auth_method:client_secret_post",)
    if case_id == "4.37 jwt":
        return ("auth_method:client_secret_jwt",)
    if case_id == "4.37 jwt access token":  # RebelOIDC's app needs a JWT access token
        return ("jwt-access-token",)
    return ()


@pytest.mark.parametrize(
    ("case_id", "version", "app", "changes", "level", "code", "message"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_rule(
    case_id: str,
    version: str,
    app: str | None,
    changes: dict[str, Any],
    level: str,
    code: str,
    message: str,
) -> None:
    findings = validate_entry(entry(version, **changes), version, app=app, notes=_notes(case_id))
    matching = [f for f in findings if f.code == code]
    assert matching, f"no {code} in {findings}"
    finding = matching[0]
    assert finding.level == level
    assert message in finding.message, finding.message
    assert finding.to_json()["code"] == code


@pytest.mark.parametrize("version", ["4.37", "4.38", "4.39"])
def test_the_base_entries_are_clean(version: str) -> None:
    assert validate_entry(base(version), version, app="matomo") == []


def test_every_rule_in_the_validator_is_tested() -> None:
    source = inspect.getsource(V)
    codes = set(re.findall(r'"(?:error|warning|info)",\s*"([a-z0-9-]+)"', source))
    codes -= {"error", "warning", "info"}  # Literal["error", "warning", "info"]
    # the list checks pass their codes in a table
    codes |= set(re.findall(r'"([a-z]+-type-invalid|scope-unknown|response-mode-invalid)"', source))
    assert len(codes) > 40
    assert codes - {c[5] for c in CASES} == set()


def test_findings_have_hints_where_a_fix_is_known() -> None:
    findings = validate_entry(entry("4.39", client_id="a b", require_pkce=True), "4.39")
    for finding in findings:
        assert finding.hint, finding


def test_warning_only_entries_have_no_errors() -> None:
    findings = validate_entry(entry("4.39", client_secret="$plaintext$abc"), "4.39")
    assert not has_errors(findings)
    assert has_errors(validate_entry(entry("4.39", client_id=""), "4.39"))


def test_unsupported_version_is_an_input_error() -> None:
    from oidcsetup.errors import InputError

    with pytest.raises(InputError, match=r"Authelia version '4\.36' is not supported"):
        validate_entry(base(), "4.36")


@pytest.mark.parametrize(
    "value", [98765432109876, ["list-held-secret"], {"nested": "dict-held-secret"}, 1.5e300]
)
def test_a_secret_of_the_wrong_type_is_never_printed(value: Any) -> None:
    findings = validate_entry(entry("4.39", client_secret=value), "4.39")
    assert any(f.code == "type-invalid" for f in findings)
    shown = " ".join(f"{f.message} {f.hint}" for f in findings)
    for part in ("98765432109876", "list-held-secret", "dict-held-secret", "1.5e+300"):
        assert part not in shown
