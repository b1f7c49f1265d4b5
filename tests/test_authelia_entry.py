"""The Authelia client entry: built from an Integration, rendered, checked against Authelia's
Matomo recipe and Authelia's published JSON Schemas."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from oidcsetup.integration import (
    AutheliaOptions,
    ClientRegistration,
    Integration,
    MatomoApp,
)
from oidcsetup.providers.authelia import (
    build_client_entry,
    render_fragment,
    validate_entry,
)
from oidcsetup.secrets import hash_secret, verify_secret
from tests.support.shared import REFERENCE

SCHEMAS = REFERENCE / "authelia-schema"

DOCS_DIGEST = (
    "$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR"
    "/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng"
)
CALLBACK = "index.php?module=LoginOIDC&action=callback&provider=oidc"

# Authelia's Matomo recipe, the client part, as its docs print it
# (authelia/authelia docs/content/integration/openid-connect/clients/matomo/index.md, tested
# with Authelia 4.38.14, Matomo 5.1.2, Login OIDC 5.0.0), with the docs' site variable
# resolved to example.com.
RECIPE = """\
identity_providers:
  oidc:
    ## The other portions of the mandatory OpenID Connect 1.0 configuration go here.
    ## See: https://www.authelia.com/c/oidc
    clients:
      - client_id: 'matomo'
        client_name: 'Matomo'
        client_secret: '$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng'  # The digest of 'insecure_secret'.
        public: false
        authorization_policy: 'two_factor'
        require_pkce: false
        pkce_challenge_method: ''
        redirect_uris:
          - 'https://matomo.example.com/index.php?module=LoginOIDC&action=callback&provider=oidc'
        scopes:
          - 'openid'
          - 'groups'
          - 'email'
        response_types:
          - 'code'
        grant_types:
          - 'authorization_code'
        access_token_signed_response_alg: 'none'
        userinfo_signed_response_alg: 'none'
        token_endpoint_auth_method: 'client_secret_post'
"""


def recipe_integration(version: str = "4.39", **client: Any) -> Integration:
    return Integration(
        client=ClientRegistration(
            client_id="matomo",
            client_name="Matomo",
            scopes=("openid", "groups", "email"),
            **client,
        ),
        matomo=MatomoApp(url="https://matomo.example.com"),
        authelia=AutheliaOptions(version=version),
    )


def recipe_client() -> dict[str, Any]:
    return yaml.safe_load(RECIPE)["identity_providers"]["oidc"]["clients"][0]  # type: ignore[no-any-return]


def schema_validator(version: str) -> Any:
    path = SCHEMAS / f"configuration-v{version}.json"
    if not path.exists():
        pytest.skip(f"Authelia's published JSON schema not found at {path}")
    return _load_validator(path)


@functools.cache
def _load_validator(path: Path) -> Any:
    from jsonschema import Draft202012Validator

    document = json.loads(path.read_text(encoding="utf-8"))
    wrapper = {
        "$schema": document["$schema"],
        "$id": document["$id"],
        "$defs": document["$defs"],
        "$ref": "#/$defs/IdentityProvidersOpenIDConnectClient",
    }
    Draft202012Validator.check_schema(wrapper)
    return Draft202012Validator(wrapper)


# --- the recipe round trip ------------------------------------------------------------------


def test_recipe_digest_is_the_digest_of_insecure_secret() -> None:
    assert verify_secret("insecure_secret", recipe_client()["client_secret"])


def test_generated_entry_equals_the_recipe_value_for_value_4_39() -> None:
    entry = build_client_entry(recipe_integration("4.39"), DOCS_DIGEST)
    assert entry.as_dict() == recipe_client()
    assert list(entry.as_dict()) == list(recipe_client())  # same order too
    assert validate_entry(entry.values, "4.39") == []
    assert list(schema_validator("4.39").iter_errors(entry.as_dict())) == []


def test_generated_entry_for_4_38_is_the_recipe_less_the_default_pkce_method() -> None:
    entry = build_client_entry(recipe_integration("4.38"), DOCS_DIGEST)
    expected = recipe_client()
    # 4.38's published schema refuses pkce_challenge_method: '' although Authelia accepts it and
    # '' is the default: the 4.38 entry leaves the key out, which means the same to Authelia.
    assert expected.pop("pkce_challenge_method") == ""
    assert entry.as_dict() == expected
    assert validate_entry(entry.values, "4.38") == []
    validator = schema_validator("4.38")
    assert list(validator.iter_errors(entry.as_dict())) == []
    assert not validator.is_valid(recipe_client())  # the known schema difference


def test_rendered_fragment_is_quoted_like_the_docs() -> None:
    entry = build_client_entry(recipe_integration(), DOCS_DIGEST)
    fragment = render_fragment(entry, secret_comment="The digest of 'insecure_secret'.")
    ours = fragment.splitlines()
    theirs = RECIPE.splitlines()
    start = ours.index("identity_providers:")
    assert ours[start:] == theirs
    assert yaml.safe_load(fragment) == yaml.safe_load(RECIPE)


def test_reference_recipe_facts_hold() -> None:
    """The prose recipe in ../shared/reference/authelia.md, value by value."""
    path = REFERENCE / "authelia.md"
    if not path.exists():
        pytest.skip(f"shared reference not found at {path}")
    text = path.read_text(encoding="utf-8")
    section = text.split("## The Matomo recipe", 1)[1].split("\n## ", 1)[0]
    entry = build_client_entry(recipe_integration(), DOCS_DIGEST).as_dict()
    facts = {
        "public false": entry["public"] is False,
        "authorization_policy two_factor": entry["authorization_policy"] == "two_factor",
        "require_pkce false": entry["require_pkce"] is False,
        "pkce_challenge_method ''": entry["pkce_challenge_method"] == "",
        "scopes openid groups email": entry["scopes"] == ["openid", "groups", "email"],
        "response_types code": entry["response_types"] == ["code"],
        "grant_types authorization_code": entry["grant_types"] == ["authorization_code"],
        "access_token_signed_response_alg none": entry["access_token_signed_response_alg"]
        == "none",
        "userinfo_signed_response_alg none": entry["userinfo_signed_response_alg"] == "none",
        "token_endpoint_auth_method client_secret_post": entry["token_endpoint_auth_method"]
        == "client_secret_post",
    }
    for phrase, holds in facts.items():
        assert phrase in section, phrase
        assert holds, phrase
    assert entry["redirect_uris"] == [
        "https://matomo.example.com/index.php?module=LoginOIDC&action=callback&provider=oidc"
    ]
    assert entry["redirect_uris"][0] in section


# --- building ---------------------------------------------------------------------------------


def test_redirect_uri_follows_the_matomo_url_and_override() -> None:
    base = recipe_integration()
    sub = dataclasses.replace(base, matomo=MatomoApp(url="https://Stats.Example.com:443/matomo"))
    assert build_client_entry(sub, DOCS_DIGEST).values["redirect_uris"] == [
        f"https://stats.example.com/matomo/{CALLBACK}"
    ]
    override = dataclasses.replace(
        base,
        matomo=MatomoApp(
            url="https://matomo.example.com",
            redirect_uri_override="https://matomo.example.com/oidc/callback",
        ),
    )
    assert build_client_entry(override, DOCS_DIGEST).values["redirect_uris"] == [
        "https://matomo.example.com/oidc/callback"
    ]


def test_client_name_defaults_to_client_id() -> None:
    integration = dataclasses.replace(
        recipe_integration(), client=ClientRegistration(client_id="stats")
    )
    values = build_client_entry(integration, DOCS_DIGEST).values
    assert values["client_name"] == "stats"
    assert values["scopes"] == ["openid", "email"]


def test_consent_options_are_included_when_asked() -> None:
    integration = dataclasses.replace(
        recipe_integration(),
        authelia=AutheliaOptions(
            version="4.39", consent_mode="pre-configured", pre_configured_consent_duration="1 week"
        ),
    )
    values = build_client_entry(integration, DOCS_DIGEST).values
    keys = list(values)
    assert keys.index("consent_mode") == keys.index("authorization_policy") + 1
    assert values["consent_mode"] == "pre-configured"
    assert values["pre_configured_consent_duration"] == "1 week"
    seconds = dataclasses.replace(
        integration,
        authelia=AutheliaOptions(version="4.39", pre_configured_consent_duration="604800"),
    )
    assert (
        build_client_entry(seconds, DOCS_DIGEST).values["pre_configured_consent_duration"] == 604800
    )


def test_4_37_uses_its_key_names_and_says_what_it_cannot_express() -> None:
    entry = build_client_entry(recipe_integration("4.37"), DOCS_DIGEST)
    assert list(entry.values) == [
        "id",
        "description",
        "secret",
        "public",
        "authorization_policy",
        "redirect_uris",
        "scopes",
        "response_types",
        "grant_types",
        "userinfo_signing_algorithm",
    ]
    findings = validate_entry(entry.values, "4.37", notes=entry.notes)
    assert [(f.level, f.code) for f in findings] == [("info", "auth-method-implicit-437")]
    assert "accepts both client_secret_basic and client_secret_post" in findings[0].message


def test_4_37_with_an_auth_method_it_cannot_express_is_an_error() -> None:
    entry = build_client_entry(
        recipe_integration("4.37", auth_method="private_key_jwt"), DOCS_DIGEST
    )
    findings = validate_entry(entry.values, "4.37", notes=entry.notes, app=None)
    assert ("error", "auth-method-unsupported-437") in [(f.level, f.code) for f in findings]


def test_yaml_scalar_quoting() -> None:
    from oidcsetup.providers.authelia.render import yaml_scalar

    assert yaml_scalar("it's") == "'it''s'"
    assert yaml_scalar("") == "''"
    assert yaml_scalar(True) == "true"
    assert yaml_scalar(604800) == "604800"
    assert yaml.safe_load(yaml_scalar("line\nbreak")) == "line\nbreak"
    assert yaml.safe_load(yaml_scalar("tab\there")) == "tab\there"


def test_fragment_with_awkward_names_parses_back() -> None:
    integration = dataclasses.replace(
        recipe_integration(),
        client=ClientRegistration(client_id="matomo", client_name="Stats: 'prod' # & co\n2"),
    )
    entry = build_client_entry(integration, DOCS_DIGEST)
    parsed = yaml.safe_load(render_fragment(entry, secret_comment="from env"))
    assert parsed["identity_providers"]["oidc"]["clients"][0] == entry.as_dict()


# --- schema cross-checks ----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["4.38", "4.39"])
@pytest.mark.parametrize(
    "authelia",
    [
        {},
        {"consent_mode": "explicit"},
        {"consent_mode": "implicit"},
        {"consent_mode": "pre-configured", "pre_configured_consent_duration": "1 week"},
        {"consent_mode": "auto", "pre_configured_consent_duration": "604800"},
        {"authorization_policy": "one_factor"},
    ],
)
def test_generated_entries_validate_against_the_published_schema(
    version: str, authelia: dict[str, str]
) -> None:
    integration = dataclasses.replace(
        recipe_integration(version), authelia=AutheliaOptions(version=version, **authelia)
    )
    for digest in _digests():
        entry = build_client_entry(integration, digest)
        assert [f for f in validate_entry(entry.values, version) if f.level == "error"] == []
        errors = [e.message for e in schema_validator(version).iter_errors(entry.as_dict())]
        assert errors == []


@functools.lru_cache(maxsize=1)
def _digests() -> tuple[str, ...]:
    return (DOCS_DIGEST, hash_secret("x", "argon2id"), hash_secret("x", "pbkdf2-sha256"))


def _mutate(entry: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    result = dict(entry)
    for key, value in change.items():
        if value is _DELETE:
            result.pop(key, None)
        else:
            result[key] = value
    return result


_DELETE = object()

# Entries our model rejects (error findings) that the published schema covers and rejects too.
SCHEMA_COVERED_REJECTIONS = [
    ({"colour": "blue"}, "key-unknown"),
    ({"id": "matomo"}, "key-renamed-conflict"),
    ({"grant_types": ["password"]}, "grant-type-invalid"),
    ({"response_modes": ["post"]}, "response-mode-invalid"),
    ({"consent_mode": "sometimes"}, "value-invalid"),
    ({"public": "false"}, "type-invalid"),
    ({"scopes": "openid email"}, "type-invalid"),
    ({"token_endpoint_auth_method": "client_secret"}, "value-invalid"),
    ({"pkce_challenge_method": "S512"}, "value-invalid"),
    ({"userinfo_signed_response_alg": "XS256"}, "value-invalid"),
    ({"access_token_signed_response_alg": "RS999"}, "value-invalid"),
    ({"id_token_signed_response_alg": "none"}, "value-invalid"),
    ({"client_secret": "$pbkdf2-sha512$310000$notbase64!$x"}, "secret-format"),
    ({"pre_configured_consent_duration": "soon"}, "duration-invalid"),
    ({"requested_audience_mode": "loud"}, "value-invalid"),
    ({"client_id": ""}, "client-id-missing"),
]


@pytest.mark.parametrize("version", ["4.38", "4.39"])
@pytest.mark.parametrize(("change", "code"), SCHEMA_COVERED_REJECTIONS)
def test_model_rejections_are_schema_rejections(
    version: str, change: dict[str, Any], code: str
) -> None:
    entry = build_client_entry(recipe_integration(version), DOCS_DIGEST).as_dict()
    mutated = _mutate(entry, change)
    findings = validate_entry(mutated, version)
    assert ("error", code) in [(f.level, f.code) for f in findings], findings
    assert not schema_validator(version).is_valid(mutated)


def test_model_values_match_the_schema_enums() -> None:
    """Our allowed values for enumerated keys agree with the published schema's enums (the
    schema's '' entries aside, which Authelia reads as "the default")."""
    from oidcsetup.providers.authelia.model import model_for

    for version in ("4.38", "4.39"):
        validator = schema_validator(version)
        client = validator.schema["$defs"]["IdentityProvidersOpenIDConnectClient"]["properties"]
        model = model_for(version)
        lists = {
            "grant_types": model.grant_types,
            "response_types": model.response_types,
            "response_modes": model.response_modes,
        }
        for key, ours in lists.items():
            assert set(ours) == set(client[key]["items"]["enum"]), (version, key)
        assert set(model.scopes) <= set(client["scopes"]["items"]["enum"])
        for key in (
            "consent_mode",
            "token_endpoint_auth_method",
            "userinfo_signed_response_alg",
            "access_token_signed_response_alg",
            "id_token_signed_response_alg",
            "requested_audience_mode",
        ):
            allowed = model.keys[key].allowed
            assert allowed is not None
            assert set(allowed) - {""} == set(client[key]["enum"]) - {""}, (version, key)
        # every key the schema knows is a key of our model and vice versa
        assert set(model.keys) == set(client), version


@pytest.mark.parametrize(
    "text", ["\U00018cd6", "Matomo\u00a0\U0001f600", "tab\there \U00016800", 'q"b\\s\x00\u2028']
)
def test_unprintable_scalars_round_trip_through_yaml_loaders(text: str) -> None:
    """JSON-style escapes wrote non-BMP characters as surrogate pairs, which YAML cannot read."""
    from ruamel.yaml import YAML

    from oidcsetup.providers.authelia.render import yaml_scalar

    scalar = yaml_scalar(text)
    assert scalar.isascii() and "\\ud8" not in scalar.lower()
    assert yaml.safe_load(f"k: {scalar}\n")["k"] == text
    assert YAML(typ="safe").load(f"k: {scalar}\n")["k"] == text
