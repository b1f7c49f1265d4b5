"""Matomo's ini value encoding, checked against the real PHP (parse_ini_string + html_entity_decode)."""

from __future__ import annotations

import html.entities

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidcsetup.apps.matomo.inifile import (
    encode_bool,
    encode_env_reference,
    encode_value,
    html_entity_decode_compat,
    htmlentities_compat,
    parse_ini,
)
from oidcsetup.errors import InputError, ValidationError
from tests.support.php import (
    PhpIniError,
    php_html_entity_decode,
    php_matomo_encode,
    php_read_ini,
    php_read_values,
    require_php,
)

pytestmark = pytest.mark.php

NASTY = [
    "",
    'a"b',
    "a&b",
    "&amp;",
    "&amp;amp;",
    "$x",
    "${HOME}",
    "${",
    "${UNCLOSED",
    "}${}{",
    "a;b",
    "; not a comment",
    "back\\slash",
    "ends with backslash\\",
    "\\",
    '\\"',
    "\\\\\\",
    "it's",
    "\\'",
    "line1\nline2",
    "crlf\r\nx",
    "lone\rcr",
    "trailing newline\n",
    '"\n',
    "\t tab and spaces  ",
    "  ",
    "é ü ß € 日本 🙂",
    "&eacute;",
    "&#36;",
    "&#x0x41;",
    "<script>",
    "true",
    "false",
    "null",
    "0",
    "1",
    "=",
    "[section]",
    "\x01\x02\x7f",
    "\u00a0nbsp",
    "\ufffe\ufdd0",
    "a" * 5000,
]


def test_encoding_is_exactly_matomos() -> None:
    """Our htmlentities + $ -> &#36; equals PHP's, byte for byte (IniFileChain::encodeValues)."""
    require_php()
    samples = [*NASTY, "".join(chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c < 0xE000)]
    samples += [chr(cp) for cp in html.entities.codepoint2name]
    expected = php_matomo_encode(samples)
    ours = [htmlentities_compat(v).replace("$", "&#36;") for v in samples]
    assert ours == expected


def test_every_nasty_value_round_trips_through_php() -> None:
    literals = [encode_value(v) for v in NASTY]
    assert php_read_values(literals) == NASTY


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
        min_size=1,
        max_size=40,
    )
)
def test_any_string_round_trips_through_php(values: list[str]) -> None:
    """Property: whatever the string, PHP + html_entity_decode gives it back (batched per run)."""
    require_php()
    literals = [encode_value(v) for v in values]
    assert php_read_values(literals) == values


ENTITY_PIECES = [
    *"&#;xX0123456789aAfFbz ",
    "&amp;",
    "&#39;",
    "&quot;",
    "&eacute;",
    "&#10;",
    "&nbsp;",
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(ENTITY_PIECES), max_size=30).map("".join),
        min_size=1,
        max_size=30,
    )
)
def test_entity_decoder_matches_php(texts: list[str]) -> None:
    require_php()
    assert [html_entity_decode_compat(t) for t in texts] == php_html_entity_decode(texts)


def test_decoder_edge_cases_match_php() -> None:
    cases = [
        "&#x0x41;&#X41;&#65;&#0065;&#+65;&#x+41;&#34;&#x22;&#38;&amp;&AMP;&Eacute;&1a;",
        "&#9999999999;&nbsp;&#xFFFE;&#xFDD0;&#39;&#039;&apos;&#0;&#1;&#127;&#128;&#x9F;&#xD800;",
        "&amp&ampx; &&amp; &#; &#x; &#x0x; &quot",
    ]
    cases += [f"&#{cp};" for cp in range(0, 300)]
    assert [html_entity_decode_compat(c) for c in cases] == php_html_entity_decode(cases)


def test_unrepresentable_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="NUL"):
        encode_value("a\x00b", "clientSecret")
    with pytest.raises(ValidationError, match="surrogate"):
        encode_value("a\ud800b")


def test_php_really_cannot_read_nul_or_unclosed_env() -> None:
    """Why the refusals exist: PHP fails on these (and an unclosed ${ fails the whole file)."""
    res = php_read_values(['"a\x00b"', '"${UNCLOSED"'])
    assert all(isinstance(r, PhpIniError) for r in res)


def test_env_reference_is_expanded_by_php() -> None:
    literal = encode_env_reference("MATOMO_OIDC_CLIENT_SECRET")
    assert literal == '"${MATOMO_OIDC_CLIENT_SECRET}"'
    secret = 'x"&$;\\é${Y}'
    env = {"PATH": "/usr/bin:/bin", "MATOMO_OIDC_CLIENT_SECRET": secret}
    # PHP substitutes the raw environment value; html_entity_decode then runs over it, so a
    # secret with entity-like text would be altered: that is Matomo's reading, noted in docs.
    assert php_read_values([literal], env) == [secret]
    with pytest.raises(ValidationError, match="environment variable name"):
        encode_env_reference("BAD-NAME")
    with pytest.raises(ValidationError):
        encode_env_reference("1X")


def test_bools_are_unquoted_digits() -> None:
    assert (encode_bool(True), encode_bool(False)) == ("1", "0")
    assert php_read_values(["1", "0", '"false"']) == ["1", "0", "false"]


# --- the reader agrees with PHP on what people and Matomo write --------------------------------

READER_TEXT = """; <?php exit; ?> DO NOT REMOVE THIS LINE
; a comment
# another comment
[s]
bare = hello world ; trailing comment
num = 3306
k_on = on
k_off = off
k_no = no
k_none = none
nul = null
k_yes = yes
ignored line
t = TRUE
dq = "double &quot;quoted&quot; &amp; &#36;"
sq = 'single "raw" \\ $x'
concat = "a"b"c"
esc = "a\\"b\\\\c\\n"
endbs = "tail\\"
multi = "line one
line two
line three"
env = "${OIDC_TEST_VAR}"
envmix = "pre-${OIDC_TEST_VAR}-post"
empty =
spaces =   "  x  "  ; c
arr[] = "one"
arr[] = "two"
assoc[k] = "v"

[t]
tab	=	"tabbed"
"""


def test_reader_agrees_with_php() -> None:
    env = {"PATH": "/usr/bin:/bin", "OIDC_TEST_VAR": "E"}
    php = php_read_ini(READER_TEXT, env)
    doc = parse_ini(READER_TEXT)
    ours = {k: v.decoded.replace("${OIDC_TEST_VAR}", "E") for k, v in doc.values("s").items()}
    ours["arr"] = doc.array("s", "arr")  # type: ignore[assignment]
    assert php["s"].pop("assoc") == {"k": "v"}
    assert ours == php["s"]
    assert {k: v.decoded for k, v in doc.values("t").items()} == php["t"]
    assert doc.values("s")["env"].is_env_reference
    assert doc.values("s")["env"].env_refs == ("OIDC_TEST_VAR",)
    assert not doc.values("s")["envmix"].is_env_reference


def test_reader_positions_cover_multiline_values() -> None:
    doc = parse_ini(READER_TEXT)
    entry = next(e for e in doc.section("s").entries if e.key == "multi")  # type: ignore[union-attr]
    assert doc.lines[entry.start].startswith("multi = ")
    assert doc.lines[entry.end] == 'line three"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[s]\nk = "never closed\n', "never closed"),
        ("[s]\nk = 'never closed\n", "never closed"),
        ('[s]\nk = "${OPEN\n', "unclosed"),
        ("[s\nk = 1\n", "malformed section"),
        ('[s]\n"quoted key" = 1\n', "expected 'key = value'"),
        ("[s]\nk = a(b\n", "not allowed"),
        ("[s]\nk = a=b\n", "not allowed"),
    ],
)
def test_reader_refuses_what_php_refuses(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_ini(text)
    with pytest.raises(PhpIniError):
        php_read_ini(text)
