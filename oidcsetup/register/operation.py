"""The registration operations: create or update, read back and compare, delete.

Every request carries a credential (the initial access token, the registration access token,
the client secret), so none follows a redirect: ``login.send`` refuses 3xx and the answer is
reported naming where it pointed (``login.refuse_redirect``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oidcsetup.errors import InputError, OidcSetupError, UsageError
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration
from oidcsetup.register.metadata import AUTH_METHOD, Difference, compare, requested_metadata
from oidcsetup.register.store import StoragePlan, StoredRegistration
from oidcsetup.urls import may_carry_credentials

if TYPE_CHECKING:
    import httpx

TOKEN_ENV = "OIDCSETUP_REGISTRATION_TOKEN"
# Never shown unless asked: the answer's credentials.
SECRET_FIELDS = ("client_secret", "registration_access_token")


class RegistrationError(OidcSetupError):
    """The provider refused or failed a registration request (exit 1)."""

    code = "registration-failed"

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None):
        super().__init__(message, hint)
        if code:
            self.code = code


@dataclass(frozen=True)
class RegistrationReport:
    """What a registration operation did and what the provider holds now."""

    action: str  # created | updated | unchanged | checked | deleted
    client_id: str
    registration_endpoint: str | None
    registration_client_uri: str | None
    requested: Mapping[str, Any]
    granted: Mapping[str, Any]  # the provider's answer, credentials left out
    differences: tuple[Difference, ...] = ()
    stored: StoredRegistration | None = field(default=None, repr=False)

    @property
    def breaking(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.breaks_matomo)

    @property
    def in_sync(self) -> bool:
        return not self.differences

    def to_json(self, *, show_secrets: bool = False) -> dict[str, Any]:
        stored = self.stored
        secrets: dict[str, Any] = {"client_secret": None, "registration_access_token": None}
        if show_secrets and stored is not None:
            secrets = {
                "client_secret": stored.client_secret,
                "registration_access_token": stored.registration_access_token,
            }
        return {
            "action": self.action,
            "client_id": self.client_id,
            "managed": self.stored.managed if self.stored is not None else None,
            "registration_endpoint": self.registration_endpoint,
            "registration_client_uri": self.registration_client_uri,
            "requested": dict(self.requested),
            "granted": dict(self.granted),
            "in_sync": self.in_sync,
            "differences": [d.to_json() for d in self.differences],
            **secrets,
        }


def initial_access_token(environ: Mapping[str, str] | None = None) -> str | None:
    """``$OIDCSETUP_REGISTRATION_TOKEN``: the token itself, or ``file:PATH`` holding it."""
    from oidcsetup.secretref import read_secret_file

    value = (os.environ if environ is None else environ).get(TOKEN_ENV)
    if not value:
        return None
    if not value.startswith("file:"):
        return value
    path = Path(value[5:]).expanduser()
    try:
        return read_secret_file(path)[0]
    except FileNotFoundError:
        raise InputError(
            f"{TOKEN_ENV} names {path}, which does not exist",
            hint="write the initial access token there (mode 0600), or fix the variable",
        ) from None


def _check_url(url: str, what: str) -> str:
    """A credential goes only to https, or to plain http on a loopback address."""
    if may_carry_credentials(url):
        return url
    raise RegistrationError(
        f"{what} {url} is not an https URL: credentials are not sent there",
        hint="the provider must serve registration over https",
        code="registration-insecure-url",
    )


def registration_endpoint(integration: Integration, network: NetworkOptions) -> str:
    """The ``registration_endpoint`` the provider's discovery document advertises."""
    from oidcsetup.discovery import discover

    issuer = integration.provider.issuer
    if not issuer:
        raise UsageError(
            "the provider's issuer is not known",
            hint="pass --issuer URL, or set provider.issuer in the profile",
        )
    result = discover(issuer, network, check_keys=False)
    raw = result.metadata.raw if result.metadata is not None else {}
    endpoint = raw.get("registration_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise RegistrationError(
            f"{issuer} advertises no registration_endpoint: it does not offer dynamic client "
            "registration",
            hint="register the client at the provider by hand (e.g. `oidcsetup gen authelia` "
            "for Authelia), or enable registration there",
            code="registration-unsupported",
        )
    return _check_url(endpoint, "registration_endpoint")


def _request(
    method: str,
    url: str,
    network: NetworkOptions,
    token: str | None,
    body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    from oidcsetup.verify.oauth import http_client, refuse_redirect, send

    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = dict(body)
    with http_client(network) as client:
        response = send(client, method, url, network, **kwargs)
    refuse_redirect(response, "registration endpoint", "the access token", "registration-redirect")
    return response


def _answer(
    response: httpx.Response, what: str, expected: tuple[int, ...], *, token_given: bool = True
) -> dict[str, Any]:
    """The JSON object of a successful answer; RegistrationError naming the provider's error."""
    from oidcsetup.discovery.fetch import response_json
    from oidcsetup.verify.oauth import oauth_error

    if response.status_code not in expected:
        error, description = oauth_error(response)
        detail = f"{error}: {description}" if error and description else error or ""
        status = response.status_code
        hint = None
        code = "registration-refused"
        if what == "registration" and not token_given and status in (400, 401, 403):
            hint = (
                f"the provider may want an initial access token: set {TOKEN_ENV} to it "
                "(or to file:PATH)"
            )
            code = "registration-token-rejected"
        elif status == 401 or error == "invalid_token":
            if what == "registration":
                hint = f"set {TOKEN_ENV} to the provider's initial access token (or file:PATH)"
            else:
                hint = (
                    "the registration access token is no longer valid: the registration "
                    "was changed or removed at the provider; register again"
                )
            code = "registration-token-rejected"
        elif error in ("invalid_client_metadata", "invalid_redirect_uri"):
            hint = "the provider refuses what Login OIDC needs; allow it at the provider"
        raise RegistrationError(
            f"the provider refused the {what}: HTTP {status}" + (f" ({detail})" if detail else ""),
            hint=hint,
            code=code,
        )
    if not response.content and 204 in expected:
        return {}
    try:
        body = response_json(response)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RegistrationError(
            f"the provider's {what} answer is not a JSON object",
            code="registration-invalid-answer",
        )
    return body


def _stored(answer: Mapping[str, Any], previous: StoredRegistration | None) -> StoredRegistration:
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError(
            "the provider's answer has no client_id", code="registration-invalid-answer"
        )
    token = answer.get("registration_access_token") or (
        previous.registration_access_token if previous else None
    )
    uri = answer.get("registration_client_uri") or (
        previous.registration_client_uri if previous else None
    )
    if not isinstance(token, str) or not isinstance(uri, str):
        # No RFC 7592 management (LemonLDAP::NG 2.16 answers RFC 7591 only): the client exists
        # at the provider now, so its credentials are kept all the same; later operations on
        # it say that they cannot reach it (unmanaged()).
        token = uri = None
    secret = answer.get("client_secret")
    if not isinstance(secret, str) or not secret:
        secret = previous.client_secret if previous else None
    if not secret:
        raise RegistrationError(
            "the provider issued no client_secret: Login OIDC needs one (client_secret_post)",
            code="registration-no-secret",
        )
    return StoredRegistration(
        client_id, secret, token, _check_url(uri, "registration_client_uri") if uri else None
    )


def unmanaged(stored: StoredRegistration, plan: StoragePlan, what: str) -> RegistrationError:
    """The error for an operation that needs RFC 7592 on a registration made without it."""
    return RegistrationError(
        f"client {stored.client_id} was registered at a provider that offers no registration "
        f"management (RFC 7592: it gave no registration_access_token): oidcsetup cannot {what}",
        hint="change or delete the client at the provider itself (LemonLDAP::NG: its manager "
        "or lemonldap-ng-cli); to register a new client instead, remove "
        f"{plan.registration_file} first",
        code="registration-unmanaged",
    )


def _auth_method_probed(
    integration: Integration,
    answer: Mapping[str, Any],
    stored: StoredRegistration,
    redirect_uris: Sequence[str],
    network: NetworkOptions,
    differences: list[Difference],
) -> list[Difference]:
    """When the answer does not say ``token_endpoint_auth_method`` (RFC 7591 3.2.1 wants every
    registered value returned; LemonLDAP::NG 2.16 returns only the fields it stores, and its
    clients take Basic and POST alike), the RFC's default (client_secret_basic) is only a
    guess: the token endpoint decides, with the check's client-auth probe (a made-up code sent
    with client_secret_post; invalid_grant means the credentials were accepted)."""
    if answer.get("token_endpoint_auth_method") is not None or not stored.client_secret:
        return differences
    method = [d for d in differences if d.field == "token_endpoint_auth_method"]
    if not method:
        return differences
    from oidcsetup.discovery import discover
    from oidcsetup.verify.expected import target_from
    from oidcsetup.verify.oauth import http_client
    from oidcsetup.verify.probes.client_auth import probe_client_auth

    result = discover(integration.provider.issuer or "", network, check_keys=False)
    raw = result.metadata.raw if result.metadata is not None else {}
    target = replace(
        target_from(integration, stored.client_secret),
        client_id=stored.client_id,
        auth_method=AUTH_METHOD,
        redirect_uri=redirect_uris[0] if redirect_uris else None,
    )
    with http_client(network) as client:
        probe = probe_client_auth(client, raw.get("token_endpoint"), target, network=network)
    accepted = probe.status == "pass"
    replaced = Difference(
        "token_endpoint_auth_method",
        AUTH_METHOD,
        None,
        not accepted,
        "the provider's answer does not say token_endpoint_auth_method; its token endpoint "
        + (
            f"accepted {AUTH_METHOD} (probed with a made-up code)"
            if accepted
            else f"did not accept {AUTH_METHOD}: {probe.message}"
        ),
    )
    return [replaced if d is method[0] else d for d in differences]


def _public(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in SECRET_FIELDS}


def register_client(
    integration: Integration,
    redirect_uris: Sequence[str],
    network: NetworkOptions,
    plan: StoragePlan,
    profile: Path,
    *,
    token: str | None = None,
) -> RegistrationReport:
    """Register the client (POST), or bring the registration already stored in line (GET, then
    PUT only when it differs); store the credentials. The report's differences are what the
    provider granted unlike what was asked (``breaking`` ones make Login OIDC fail)."""
    from oidcsetup.register.store import load_registration, save_registration

    asked = requested_metadata(integration, redirect_uris)
    previous = load_registration(plan)
    if previous is None:
        endpoint = registration_endpoint(integration, network)
        answer = _answer(
            _request("POST", endpoint, network, token, asked),
            "registration",
            (200, 201),
            token_given=bool(token),
        )
        action = "created"
    else:
        if previous.registration_client_uri is None or not previous.managed:
            raise unmanaged(previous, plan, "read it back or update it")
        endpoint = None
        uri = _check_url(previous.registration_client_uri, "registration_client_uri")
        current = _answer(
            _request("GET", uri, network, previous.registration_access_token), "read", (200,)
        )
        if not compare(asked, current):
            answer, action = current, "unchanged"
        else:
            body = {**asked, "client_id": previous.client_id}
            if previous.client_secret:
                body["client_secret"] = previous.client_secret
            answer = _answer(
                _request("PUT", uri, network, previous.registration_access_token, body),
                "update",
                (200,),
            )
            action = "updated"
    stored = _stored(answer, previous)
    if action != "unchanged":
        save_registration(plan, stored, profile, profile_values(integration, asked))
    differences = _auth_method_probed(
        integration, answer, stored, redirect_uris, network, compare(asked, answer)
    )
    return RegistrationReport(
        action=action,
        client_id=stored.client_id,
        registration_endpoint=endpoint,
        registration_client_uri=stored.registration_client_uri,
        requested=asked,
        granted=_public(answer),
        differences=tuple(differences),
        stored=stored,
    )


def profile_values(integration: Integration, asked: Mapping[str, Any]) -> dict[str, Any]:
    """What the registration was made from, saved so that the next run asks the same."""
    matomo = integration.matomo
    return {
        "provider.issuer": integration.provider.issuer,
        "client.name": asked["client_name"],
        "client.scopes": list(integration.client.scopes),
        "app.matomo.url": matomo.url,
        "app.matomo.redirect_uri_override": matomo.redirect_uri_override,
        "app.matomo.plugin": matomo.plugin,  # its callback is the redirect URI registered
    }


def _require_stored(plan: StoragePlan) -> StoredRegistration:
    from oidcsetup.register.store import load_registration

    stored = load_registration(plan)
    if stored is None:
        raise InputError(
            f"no registration is stored ({plan.registration_file} does not exist)",
            hint="run `oidcsetup register` first",
        )
    return stored


def check_registration(
    integration: Integration,
    redirect_uris: Sequence[str],
    network: NetworkOptions,
    plan: StoragePlan,
) -> RegistrationReport:
    """Read the registration back (RFC 7592 GET) and compare it with what would be asked now.
    Read-only: nothing is written, even when the provider rotated nothing."""
    stored = _require_stored(plan)
    if stored.registration_client_uri is None or not stored.managed:
        raise unmanaged(stored, plan, "read it back")
    asked = requested_metadata(integration, redirect_uris)
    uri = _check_url(stored.registration_client_uri, "registration_client_uri")
    answer = _answer(
        _request("GET", uri, network, stored.registration_access_token), "read", (200,)
    )
    differences = compare(asked, answer)
    granted_id = answer.get("client_id")
    if granted_id != stored.client_id:
        differences.append(
            Difference("client_id", stored.client_id, granted_id, True, "the client_id changed")
        )
    return RegistrationReport(
        action="checked",
        client_id=stored.client_id,
        registration_endpoint=None,
        registration_client_uri=uri,
        requested=asked,
        granted=_public(answer),
        differences=tuple(differences),
        stored=stored,
    )


def delete_registration(
    network: NetworkOptions, plan: StoragePlan, profile: Path
) -> RegistrationReport:
    """Delete the registration at the provider (RFC 7592 DELETE), then the stored files."""
    from oidcsetup.register.store import remove_registration

    stored = _require_stored(plan)
    if stored.registration_client_uri is None or not stored.managed:
        raise unmanaged(stored, plan, "delete it at the provider; nothing was removed")
    uri = _check_url(stored.registration_client_uri, "registration_client_uri")
    # RFC 7592 section 2.3 says 204; Glewlwyd 2.7.5 answers 200 with an empty body (it disables
    # the client and its registration access token: upstream src/plugin/protocol_oidc.c,
    # client_registration_management_delete).
    answer = _request("DELETE", uri, network, stored.registration_access_token)
    _answer(answer, "deletion", (200, 204) if not answer.content else (204,))
    remove_registration(plan, profile)
    return RegistrationReport(
        action="deleted",
        client_id=stored.client_id,
        registration_endpoint=None,
        registration_client_uri=uri,
        requested={},
        granted={},
        stored=stored,
    )
