"""Property (issue 10, acceptance): over realistic Authelia configuration files, the merge changes
nothing but our client, and a second merge is a no-op.

The files are built from what real configurations hold: Authelia templates of both kinds
(``key: {{ secret ... | mindent 10 "|" | msquote }}`` inline, and a whole line
``{{- fileContent ... | nindent 10 }}`` under ``key: |``, which is not valid YAML before
rendering), an anchor with merge keys (``<<: *client_defaults``), comments between keys,
several clients in block and flow style, LF or CRLF, with or without a BOM, lists indented by
0 or 2. No Authelia binary runs here; the files stand for Authelia 4.38+ configurations with
``X_AUTHELIA_CONFIG_FILTERS=template`` (docs: configuration/methods/files, "File Filters").

Checked independently of the merge's own parser: the generator knows where our entry is; the
result is read back with PyYAML (templates rendered as placeholders by this test's own code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidcsetup.integration import AutheliaOptions, ClientRegistration, Integration, MatomoApp
from oidcsetup.providers.authelia import build_client_entry, plan_merge, validate_entry
from oidcsetup.secrets import hash_secret


def _schema() -> Any:
    """Authelia 4.39's published client schema, when ../shared is beside the checkout."""
    from tests.test_authelia_entry import SCHEMAS, _load_validator

    path = SCHEMAS / "configuration-v4.39.json"
    return _load_validator(path) if path.exists() else None


SCHEMA = _schema()
SECRET = "property-secret-value-0123456789"
DIGEST = hash_secret(SECRET, "pbkdf2-sha256", iterations=1000)
OTHER_DIGEST = hash_secret("another-secret", "pbkdf2-sha256", iterations=1000)
ENTRY = build_client_entry(
    Integration(
        client=ClientRegistration(client_id="matomo", client_name="Matomo"),
        matomo=MatomoApp(url="https://matomo.example.com"),
        authelia=AutheliaOptions(version="4.39"),
    ),
    DIGEST,
)
DESIRED: dict[str, Any] = ENTRY.as_dict()

INLINE_TEMPLATE = '{{ secret "/config/secrets/oidc/jwks/rsa.2048.key" | mindent 10 "|" | msquote }}'
LINE_TEMPLATE = '{{- fileContent "/config/secrets/oidc/jwks/ec.key" | nindent 10 }}'
SECRET_REFERENCE = "'{{ secret \"/run/secrets/matomo_client_secret_digest\" }}'"


def render_placeholders(text: str) -> str:
    """This test's own template rendering: a line holding only an action becomes a comment,
    any other action a same-length plain scalar."""
    lines = []
    for line in text.split("\n"):
        body = line.rstrip("\r")
        if body.strip().startswith("{{") and body.strip().endswith("}}"):
            lines.append("#" + line[1:] if line else line)
        else:
            lines.append(re.sub(r"\{\{.*?\}\}", lambda m: "T" * len(m.group(0)), line))
    return "\n".join(lines)


def load(text: str) -> Any:
    return yaml.safe_load(render_placeholders(text.lstrip("\ufeff")))


@dataclass
class Built:
    text: str
    ours: tuple[int, int] | None  # our entry's span (whole lines) in text
    secret_kind: str | None
    other_ids: list[str]


def quoted(value: str, style: str) -> str:
    if style == "plain" and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", value):
        return value
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "'" + value.replace("'", "''") + "'"


@st.composite
def block_list(draw: Any, key: str, values: list[str], col: int, offset: int) -> list[str]:
    if not values or draw(st.booleans()):
        return [" " * col + f"{key}: [" + ", ".join(quoted(v, "single") for v in values) + "]"]
    return [" " * col + f"{key}:"] + [
        " " * (col + offset) + f"- {quoted(v, 'single')}" for v in values
    ]


@st.composite
def other_client(draw: Any, client_id: str, dash: int, offset: int, defaults: bool) -> list[str]:
    secret = draw(
        st.sampled_from([f"'$plaintext${client_id}-secret'", f"'{OTHER_DIGEST}'", SECRET_REFERENCE])
    )
    if draw(st.booleans()):
        return [
            " " * dash + f"- {{client_id: {client_id}, client_secret: {secret}, "
            f"redirect_uris: ['https://{client_id}.example.com/cb']}}"
        ]
    col = dash + 2
    lines = [
        " " * dash
        + f"- client_id: {quoted(client_id, draw(st.sampled_from(['plain', 'single', 'double'])))}"
    ]
    if defaults and draw(st.booleans()):
        lines.append(" " * col + "<<: *client_defaults")
    if draw(st.booleans()):
        lines.append(" " * col + f"# {client_id}: keep as is")
    lines.append(" " * col + f"client_secret: {secret}")
    lines += draw(block_list("redirect_uris", [f"https://{client_id}.example.com/cb"], col, offset))
    return lines


@st.composite
def our_client(draw: Any, dash: int, offset: int, defaults: bool) -> tuple[list[str], str]:
    """Our client as a user may have left it: some of our keys (right or wrong values, any
    order, any quoting), keys of their own, comments, a merge key."""
    secret_kind = draw(st.sampled_from(["ours", "other", "plaintext", "reference", "missing"]))
    secret_text = {
        "ours": f"'{DIGEST}'",
        "other": f"'{OTHER_DIGEST}'",
        "plaintext": f"'$plaintext${SECRET}'",
        "reference": SECRET_REFERENCE,
        "missing": "",
    }[secret_kind]
    values: dict[str, str | list[str] | bool] = {}
    for key, value in DESIRED.items():
        if key in ("client_id", "client_secret") or not draw(st.booleans()):
            continue
        if isinstance(value, str) and draw(st.booleans()):
            value = value + "-old" if value else "plain"
        if isinstance(value, list) and draw(st.booleans()):
            value = [*value, "https://old.example.com/cb"] if key == "redirect_uris" else value[:1]
        values[key] = value
    values["audience"] = ["https://api.example.com"] if draw(st.booleans()) else []
    order = draw(st.permutations(list(values)))
    if draw(st.integers(0, 4)) == 0:  # flow style
        parts = ["client_id: matomo"]
        if secret_text:
            parts.append(f"client_secret: {secret_text}")
        for key in order:
            value = values[key]
            if isinstance(value, list):
                parts.append(f"{key}: [" + ", ".join(quoted(v, "single") for v in value) + "]")
            elif isinstance(value, bool):
                parts.append(f"{key}: {'true' if value else 'false'}")
            else:
                parts.append(f"{key}: {quoted(value, 'single')}")
        return [" " * dash + "- {" + ", ".join(parts) + "}"], secret_kind
    col = dash + 2
    style = draw(st.sampled_from(["plain", "single", "double"]))
    lines = [" " * dash + f"- client_id: {quoted('matomo', style)}"]
    if defaults and draw(st.booleans()):
        lines.append(" " * col + "<<: *client_defaults")
    body: list[list[str]] = []
    if secret_text:
        body.append([" " * col + f"client_secret: {secret_text}  # the digest"])
    for key in order:
        value = values[key]
        if isinstance(value, list):
            body.append(draw(block_list(key, value, col, offset)))
        elif isinstance(value, bool):
            body.append([" " * col + f"{key}: {'true' if value else 'false'}"])
        else:
            body.append(
                [
                    " " * col
                    + f"{key}: {quoted(value, draw(st.sampled_from(['plain', 'single', 'double'])))}"
                ]
            )
    if draw(st.booleans()):
        body.insert(draw(st.integers(0, len(body))), [" " * col + "# a comment of the user"])
    for chunk in draw(st.permutations(body)):
        lines += chunk
    return lines, secret_kind


@st.composite
def authelia_files(draw: Any) -> Built:
    offset = draw(st.sampled_from([0, 2]))
    defaults = draw(st.booleans())
    head = ["---"] if draw(st.booleans()) else []
    head += ["# Authelia configuration, templates enabled", "server:", "  address: 'tcp://:9091'"]
    if defaults:
        head += [
            "x-client-defaults: &client_defaults",
            "  public: false",
            "  authorization_policy: 'two_factor'",
            "  scopes: ['openid', 'profile']",
        ]
    head += ["identity_providers:", "  oidc:"]
    head.append(
        "    hmac_secret: "
        + draw(
            st.sampled_from(["'this_is_a_secret_abc123abc123abc'", '{{ secret "/config/hmac" }}'])
        )
    )
    head += [
        "    jwks:",
        " " * (4 + offset) + "- key_id: 'main'",
        " " * (6 + offset) + f"key: {INLINE_TEMPLATE}",
        " " * (4 + offset) + "- key_id: 'ec'",
        " " * (6 + offset) + "key: |",
        draw(st.sampled_from(["", " " * 10])) + LINE_TEMPLATE,
        "    clients:",
    ]
    ids = draw(
        st.lists(
            st.sampled_from(["grafana", "nextcloud", "gitea", "wiki"]), unique=True, max_size=3
        )
    )
    dash = 4 + offset
    chunks = [draw(other_client(client_id, dash, offset, defaults)) for client_id in ids]
    secret_kind = None
    ours_index = None
    if draw(st.booleans()):
        ours, secret_kind = draw(our_client(dash, offset, defaults))
        ours_index = draw(st.integers(0, len(chunks)))
        chunks.insert(ours_index, ours)
    if not chunks:
        chunks = [draw(other_client("grafana", dash, offset, defaults))]
        ids = ["grafana"]
    tail = ["# end of the clients"]
    if draw(st.booleans()):
        tail += ["session:", "  secret: 'insecure_session_secret'"]
    if all(len(chunk) == 1 and chunk[0].lstrip().startswith("- {") for chunk in chunks) and draw(
        st.booleans()
    ):
        # every client in flow style: the whole list in flow style too, one client a line
        flow = [chunk[0].lstrip()[2:] for chunk in chunks]
        chunks = [
            [" " * 6 + ("[" if i == 0 else "  ") + item + ("]" if i == len(flow) - 1 else ",")]
            for i, item in enumerate(flow)
        ]
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    lines = head[:]
    span_lines: tuple[int, int] | None = None
    for index, chunk in enumerate(chunks):
        if index == ours_index:
            span_lines = (len(lines), len(lines) + len(chunk))
        lines += chunk
    lines += tail
    text = bom + nl.join(lines) + nl
    span = None
    if span_lines is not None:
        start = len(bom) + sum(len(line) + len(nl) for line in lines[: span_lines[0]])
        end = start + sum(len(line) + len(nl) for line in lines[span_lines[0] : span_lines[1]])
        span = (start, end)
    return Built(text, span, secret_kind, ids)


def clients(text: str) -> list[dict[str, Any]]:
    return load(text)["identity_providers"]["oidc"]["clients"]  # type: ignore[no-any-return]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(built=authelia_files())
def test_merge_changes_nothing_but_our_client(tmp_path: Path, built: Built) -> None:
    path = tmp_path / "configuration.yml"
    path.write_bytes(built.text.encode("utf-8"))
    result = plan_merge(path, ENTRY, SECRET)
    before, after = built.text, result.after

    # 1. every byte outside our entry's span is identical
    if built.ours is None:
        assert result.action == "added"
        prefix = len(_common_prefix(before, after))
        inserted = len(after) - len(before)
        assert after[:prefix] + after[prefix + inserted :] == before
    else:
        start, end = built.ours
        assert after[:start] == before[:start]
        assert after.endswith(before[end:])
    # the file's own conventions
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    if "\r\n" in before:
        assert after.count("\n") == after.count("\r\n")
    assert after.count(INLINE_TEMPLATE) == before.count(INLINE_TEMPLATE)
    assert after.count(LINE_TEMPLATE) == before.count(LINE_TEMPLATE)

    # 2. the result parses (templates rendered as placeholders) and our client is right
    merged = clients(after)
    others_before = [c for c in clients(before) if c.get("client_id") != "matomo"]
    assert [c for c in merged if c.get("client_id") != "matomo"] == others_before
    ours = [c for c in merged if c.get("client_id") == "matomo"]
    assert len(ours) == 1
    for key, value in DESIRED.items():
        if key == "client_secret":
            continue
        assert ours[0][key] == value, key
    secret_written = ours[0]["client_secret"]
    if built.secret_kind == "reference":
        assert SECRET_REFERENCE in after and result.kept_references == ("client_secret",)
    elif built.secret_kind == "plaintext":
        assert secret_written == f"$plaintext${SECRET}" and result.kept_digest
    else:
        assert secret_written == DIGEST
    # ... and validates (a kept reference validated as the digest it must render), by our
    # validator and, where ../shared has it, by the JSON schema Authelia publishes
    assert [f for f in validate_entry(result.checked_entry, "4.39") if f.level == "error"] == []
    if SCHEMA is not None:
        assert list(SCHEMA.iter_errors(result.checked_entry)) == []

    # 3. a second merge is a no-op
    path.write_bytes(after.encode("utf-8"))
    again = plan_merge(path, ENTRY, SECRET)
    assert again.action == "unchanged" and again.after == after


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]
