"""Property: the Authelia YAML writers round-trip any client name, id and URI through a YAML
loader, and a merge keeps every other document's content (issue 6, robustness suite).

Two writers: ``render_fragment`` (text built line by line with ``yaml_scalar`` quoting) and
``plan_merge`` (text edits at the offsets ruamel.yaml parses, into an existing configuration.yml). Read back with
PyYAML's safe loader, independent of both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidcsetup.integration import AutheliaOptions, ClientRegistration, Integration, MatomoApp
from oidcsetup.providers.authelia import build_client_entry, plan_merge
from oidcsetup.providers.authelia.render import render_fragment

DIGEST = "$pbkdf2-sha512$310000$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5"

# Characters YAML cannot carry at all (C0 controls other than tab/newline, surrogates, the
# non-characters U+FFFE/U+FFFF) are excluded: no YAML writer can round-trip them, and a
# client name or URI holding them is refused elsewhere. Everything else is fair game:
# quotes, colons, '#', '&', '*', '!', '%', '@', '`', leading/trailing spaces, unicode.
yaml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"),
        blacklist_characters="\ufeff\ufffe\uffff\u2028\u2029\x85",
    ),
    min_size=1,
    max_size=40,
)
tricky = st.sampled_from(
    [
        "yes",
        "no",
        "null",
        "~",
        "0o17",
        "1e3",
        "- x",
        "? x",
        ": x",
        "#x",
        "'",
        '"',
        "a: b",
        "a #b",
        "&anchor",
        "*alias",
        "!tag",
        "%dir",
        "@at",
        "`tick",
        " lead",
        "trail ",
        "{flow}",
        "[seq]",
        "|",
        ">",
        "---",
        "...",
    ]
)
names = tricky | yaml_text
uris = st.builds(
    lambda host, path: f"https://{host}.example.com/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    yaml_text,
)


def _integration(client_id: str, client_name: str) -> Integration:
    return Integration(
        client=ClientRegistration(client_id=client_id, client_name=client_name),
        matomo=MatomoApp(url="https://matomo.example.com"),
        authelia=AutheliaOptions(version="4.39"),
    )


def _client(document: Any) -> dict[str, Any]:
    clients = document["identity_providers"]["oidc"]["clients"]
    assert isinstance(clients, list)
    client: dict[str, Any] = clients[-1]
    return client


@settings(max_examples=150, deadline=None)
@given(client_id=names, client_name=names, uri=uris)
def test_fragment_round_trips_any_name_id_and_uri(
    client_id: str, client_name: str, uri: str
) -> None:
    entry = build_client_entry(_integration(client_id, client_name), DIGEST, redirect_uris=[uri])
    text = render_fragment(entry)
    client = _client(yaml.safe_load(text))
    assert client["client_id"] == client_id
    assert client["client_name"] == client_name
    assert client["redirect_uris"] == [uri]
    assert client["client_secret"] == DIGEST


# Regression: these went through json.dumps, whose surrogate pairs a YAML loader reads as two
# lone surrogates (fixed in render.py, see its _double_quoted).
@pytest.mark.parametrize("text", ["\U00018cd6", "Matomo\u00a0\U0001f600", "tab\there \U00016800"])
def test_fragment_round_trips_characters_beyond_the_bmp_next_to_a_non_printable_one(
    text: str,
) -> None:
    entry = build_client_entry(
        _integration("matomo", text), DIGEST, redirect_uris=["https://m.example.com/"]
    )
    assert _client(yaml.safe_load(render_fragment(entry)))["client_name"] == text


OTHER_DOCUMENT = """\
---
# Authelia configuration (hand written)
server:
  address: 'tcp://:9091'  # listen here
log:
  level: "debug"
identity_providers:
  oidc:
    hmac_secret: 'this_is_a_secret_abc123abc123abc'
    clients:
      - client_id: 'grafana'
        client_name: "Grafana: the 'dashboards' #1"
        client_secret: '$plaintext$grafana'
        redirect_uris:
          - 'https://grafana.example.com/login/generic_oauth'
        scopes: ['openid', 'profile']
access_control:
  default_policy: 'deny'
  rules:
    - domain: '*.example.com'
      policy: 'two_factor'
"""


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(client_id=names, client_name=names, uri=uris)
def test_merge_round_trips_and_keeps_the_other_content(
    tmp_path: Path, client_id: str, client_name: str, uri: str
) -> None:
    path = tmp_path / "configuration.yml"
    path.write_text(OTHER_DOCUMENT, encoding="utf-8")
    before = yaml.safe_load(OTHER_DOCUMENT)
    if client_id == "grafana":
        client_id = "grafana-2"  # a different client than the one already there
    entry = build_client_entry(_integration(client_id, client_name), DIGEST, redirect_uris=[uri])
    result = plan_merge(path, entry, None)
    after = yaml.safe_load(result.after)
    client = _client(after)
    assert client["client_id"] == client_id
    assert client["client_name"] == client_name
    assert client["redirect_uris"] == [uri]
    # Everything else is exactly what it was: the other client, the other sections.
    assert (
        after["identity_providers"]["oidc"]["clients"][:-1]
        == (before["identity_providers"]["oidc"]["clients"])
    )
    for key in ("server", "log", "access_control"):
        assert after[key] == before[key]
    assert (
        after["identity_providers"]["oidc"]["hmac_secret"]
        == (before["identity_providers"]["oidc"]["hmac_secret"])
    )
    # The hand-written lines outside the clients list survive byte for byte.
    for line in (
        "# Authelia configuration (hand written)",
        "  address: 'tcp://:9091'  # listen here",
    ):
        assert line in result.after.splitlines()
