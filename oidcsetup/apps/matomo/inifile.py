"""Matomo's INI value encoding, and a reader of PHP ini text that keeps every byte's position.

How Matomo writes a string value (``core/Config/IniFileChain.php``, ``encodeValues``, and
matomo-org/component-ini ``IniWriter``): ``htmlentities($v, ENT_COMPAT, 'UTF-8')``, then ``$`` ->
``&#36;``, then the value is double-quoted with backslashes (and quotes, which are entities by
then) backslash-escaped. How it reads one back: PHP's ``parse_ini_string($text, true)``
(INI_SCANNER_NORMAL), then ``html_entity_decode($v, ENT_COMPAT, 'UTF-8')``.

Facts about PHP 8.2's ini scanner checked with php-cli (tests/test_matomo_inifile.py repeats them):

- inside double quotes ``\\\\`` reads as ``\\`` and ``\\"`` as ``"``; any other backslash stays;
  newlines, ``\\r``, tabs and control characters stay as they are; a NUL byte is a syntax error;
- ``${NAME}`` inside double quotes is replaced by the environment variable (empty when unset);
  an unclosed ``${`` is a syntax error for the whole file; a lone ``$`` is kept;
- single quotes take everything literally up to the next ``'``;
- an unquoted value ends at ``;`` and is trimmed; ``true/on/yes`` read as "1",
  ``false/off/no/none/null`` as "" (so a quoted "false" is the non-empty string "false": true).

``html_entity_decode(..., ENT_COMPAT, 'UTF-8')`` (HTML 4.01 tables) decodes the 252 HTML 4.01
named entities (``&quot;`` yes, ``&apos;`` no), and numeric entities whose code point is allowed:
9, 10, 13, 0x20-0x7E except 0x27 (ENT_COMPAT leaves single quotes), 0xA0-0xD7FF, 0xE000-0x10FFFF.
Hexadecimal ones accept a C ``strtol`` style ``0x`` prefix (``&#x0x41;`` is ``A``). A ``;`` is
required. Only one pass: ``&amp;amp;`` is ``&amp;``.
"""

from __future__ import annotations

import html.entities
import re
from dataclasses import dataclass, field

from oidcsetup.errors import InputError, ValidationError

# --- Matomo's value encoding --------------------------------------------------------------

# htmlentities(ENT_COMPAT) encodes &, ", <, > and every character with an HTML 4.01 name; the
# single quote is left alone under ENT_COMPAT. Python's codepoint2name is exactly that table.
_ENTITY_OF: dict[int, str] = {cp: f"&{name};" for cp, name in html.entities.codepoint2name.items()}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def htmlentities_compat(value: str) -> str:
    """PHP's ``htmlentities($value, ENT_COMPAT, 'UTF-8')`` for a valid UTF-8 string."""
    return "".join(_ENTITY_OF.get(ord(ch), ch) for ch in value)


def check_representable(value: str, what: str = "value") -> None:
    """Refuse what PHP's ini parser cannot give back: NUL bytes, invalid Unicode (surrogates)."""
    if "\x00" in value:
        raise ValidationError(
            f"{what} contains a NUL character, which PHP's ini parser cannot read",
            hint="remove the NUL character from the value",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{what} is not valid Unicode text (it holds a lone surrogate)",
            hint="give the value as valid UTF-8 text",
        ) from None


def encode_value(value: str, what: str = "value") -> str:
    """The double-quoted ini literal Matomo writes for a string: ``"&quot;a&amp;b&#36;"``."""
    check_representable(value, what)
    text = htmlentities_compat(value).replace("$", "&#36;")
    # After htmlentities no raw '"' is left; escape backslashes so that a value ending in "\"
    # cannot swallow the closing quote (PHP reads "\\" back as "\").
    return '"' + text.replace("\\", "\\\\") + '"'


def encode_bool(value: bool) -> str:
    """Matomo writes bools as unquoted 1/0 (a quoted "false" would read as true)."""
    return "1" if value else "0"


def check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name or ""):
        raise ValidationError(
            f"{name!r} is not a usable environment variable name",
            hint="use letters, digits and underscores, not starting with a digit, "
            "e.g. MATOMO_OIDC_CLIENT_SECRET",
        )
    return name


def encode_env_reference(name: str) -> str:
    """``"${NAME}"``: PHP's ini parser substitutes the variable when Matomo reads the file."""
    return '"${' + check_env_name(name) + '}"'


# --- html_entity_decode(ENT_COMPAT, UTF-8) --------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:#([0-9]+)|#[xX](?:0[xX])?([0-9a-fA-F]+)|([A-Za-z0-9]+));")


def _decodable(cp: int) -> bool:
    return (
        cp in (0x09, 0x0A, 0x0D)
        or (0x20 <= cp <= 0x7E and cp != 0x27)
        or 0xA0 <= cp <= 0xD7FF
        or 0xE000 <= cp <= 0x10FFFF
    )


def _decode_entity(match: re.Match[str]) -> str:
    dec, hexa, name = match.groups()
    if name is not None:
        cp = html.entities.name2codepoint.get(name)
        return chr(cp) if cp is not None else match.group(0)
    try:
        cp = int(dec) if dec is not None else int(hexa, 16)
    except ValueError:  # pragma: no cover - the pattern guarantees digits
        return match.group(0)
    return chr(cp) if _decodable(cp) else match.group(0)


def html_entity_decode_compat(text: str) -> str:
    """PHP's ``html_entity_decode($text, ENT_COMPAT, 'UTF-8')``."""
    if "&" not in text:
        return text
    return _ENTITY_RE.sub(_decode_entity, text)


# --- reading PHP ini text ------------------------------------------------------------------


@dataclass(frozen=True)
class IniValue:
    """A value as PHP reads it, before html_entity_decode.

    ``text`` keeps ``${NAME}`` references unexpanded (they are resolved by PHP at run time);
    ``env_refs`` names them. ``quoted`` is False for a bare word (true, 1, abc).
    """

    text: str
    env_refs: tuple[str, ...] = ()
    quoted: bool = True

    @property
    def decoded(self) -> str:
        """What Matomo sees (env references left as ``${NAME}``)."""
        return html_entity_decode_compat(self.text)

    @property
    def is_env_reference(self) -> bool:
        """True when the whole value is one ``${NAME}`` reference."""
        return len(self.env_refs) == 1 and self.text == "${" + self.env_refs[0] + "}"


@dataclass
class IniEntry:
    """One ``key = value`` (or ``key[] = value``) spanning lines ``start`` to ``end`` inclusive."""

    section: str | None
    key: str  # without the [] suffix
    array: bool  # "key[] = ..." or "key[x] = ..."
    value: IniValue
    start: int
    end: int


@dataclass
class IniSection:
    name: str
    header: int  # index of the "[name]" line
    entries: list[IniEntry] = field(default_factory=list)


@dataclass
class IniDocument:
    lines: list[str]  # each with its own line ending
    sections: list[IniSection]
    preamble: list[IniEntry]  # entries before the first section

    def section(self, name: str) -> IniSection | None:
        """The section PHP reads for this name: the LAST one.

        ``parse_ini_string($text, true)`` replaces a repeated section as a whole (checked with
        php 8.2: ``[A] a=1 b=2 [A] a=3`` reads as ``A = {a: 3}``; tests/test_matomo_inifile.py
        repeats it), and Matomo's IniReader calls exactly that. Earlier ones are dead text.
        """
        found = None
        for section in self.sections:
            if section.name == name:
                found = section
        return found

    def sections_named(self, name: str) -> list[IniSection]:
        return [s for s in self.sections if s.name == name]

    def values(self, name: str) -> dict[str, IniValue]:
        """Scalar keys of the section as PHP reads it (its last occurrence; later keys win)."""
        result: dict[str, IniValue] = {}
        section = self.section(name)
        for entry in section.entries if section is not None else ():
            if not entry.array:
                result[entry.key] = entry.value
            else:
                result.pop(entry.key, None)
        return result

    def array(self, section: str, key: str) -> list[str] | None:
        """``key[] = v`` lines of the section PHP reads (decoded), or None when absent."""
        items: list[str] | None = None
        sec = self.section(section)
        for entry in sec.entries if sec is not None else ():
            if entry.key == key and entry.array:
                items = [] if items is None else items
                items.append(entry.value.decoded)
        return items


_BARE_CONSTANTS = {
    "true": "1",
    "on": "1",
    "yes": "1",
    "false": "",
    "off": "",
    "no": "",
    "none": "",
    "null": "",
}
_KEY_RE = re.compile(r"""\s*([^=\[\];\s"'][^=\[\]"']*?)\s*(\[[^\]]*\])?\s*=(.*)\Z""", re.DOTALL)
_SECTION_RE = re.compile(r"\s*\[([^\]\n]*)\]\s*(?:;.*)?\Z", re.DOTALL)
# PHP's scanner rejects these in a bare value (``|``, ``&``, ``^`` are constant expressions
# there, which Matomo never writes: such a value is read as its text, an approximation).
_CHARS_FORBIDDEN_BARE = set("~!()=")
# Inside double quotes only these need a look: escapes, the end, ${NAME}, NUL (an error).
_DOUBLE_PLAIN = re.compile(r'[^\\"$\x00]+')
# A whole value that _ValueReader would read as exactly the text between the quotes.
_SIMPLE_QUOTED = re.compile(r'[ \t]*"([^\\"$\x00\r\n]*)"[ \t]*(?:;[^\r\n]*)?(?:\r\n|\n|\r)?\Z')


def split_lines(text: str) -> list[str]:
    """Lines with their endings (\\n, \\r\\n or a lone \\r as PHP's scanner counts them)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z", text)


def _strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


class _ValueReader:
    """Reads one value starting right after ``=``, possibly over several lines."""

    def __init__(self, lines: list[str], index: int, rest: str, where: str) -> None:
        self.lines = lines
        self.index = index
        self.buf = rest  # the current line's remainder, with its line ending
        self.pos = 0
        self.where = where

    def _error(self, message: str) -> InputError:
        return InputError(
            f"{self.where} (line {self.index + 1}): {message}",
            hint="fix the line so PHP (and Matomo) can read the file",
        )

    def _next_line(self) -> bool:
        if self.index + 1 >= len(self.lines):
            return False
        self.index += 1
        self.buf += self.lines[self.index]
        return True

    def _char(self) -> str | None:
        while self.pos >= len(self.buf):
            return None
        return self.buf[self.pos]

    def read(self) -> tuple[IniValue, int]:
        text_parts: list[str] = []
        env_refs: list[str] = []
        quoted = False
        bare_parts: list[str] = []
        while True:
            ch = self._char()
            if ch is None or ch in "\r\n" or ch == ";":
                break
            if ch in " \t":
                if bare_parts:
                    bare_parts.append(ch)
                self.pos += 1
                continue
            if ch == '"':
                quoted = True
                if bare_parts:
                    text_parts.append("".join(bare_parts).strip())
                    bare_parts = []
                self.pos += 1
                self._read_double(text_parts, env_refs)
                continue
            if ch == "'":
                quoted = True
                if bare_parts:
                    text_parts.append("".join(bare_parts).strip())
                    bare_parts = []
                self.pos += 1
                self._read_single(text_parts)
                continue
            if ch == "$" and self.buf.startswith("${", self.pos):
                self.pos += 2
                env_refs.append(self._read_env_name())
                text_parts.append("${" + env_refs[-1] + "}")
                quoted = True
                continue
            if ch in _CHARS_FORBIDDEN_BARE:
                raise self._error(f"character {ch!r} is not allowed in an unquoted value")
            bare_parts.append(ch)
            self.pos += 1
        bare = "".join(bare_parts).strip()
        if not quoted:
            lowered = bare.lower()
            text = _BARE_CONSTANTS.get(lowered, bare)
            return IniValue(text, (), False), self.index
        if bare:
            text_parts.append(bare)
        return IniValue("".join(text_parts), tuple(env_refs), True), self.index

    def _read_env_name(self) -> str:
        end = self.buf.find("}", self.pos)
        if end < 0 or "\n" in self.buf[self.pos : end] or "\r" in self.buf[self.pos : end]:
            raise self._error("an unclosed ${ breaks the whole file for PHP")
        name = self.buf[self.pos : end]
        self.pos = end + 1
        return name

    def _read_double(self, out: list[str], env_refs: list[str]) -> None:
        chunk: list[str] = []
        while True:
            if self.pos >= len(self.buf):
                if not self._next_line():
                    raise self._error("a double-quoted value is never closed")
                continue
            plain = _DOUBLE_PLAIN.match(self.buf, self.pos)
            if plain is not None:  # a run of characters that stand for themselves, at once
                chunk.append(plain.group())
                self.pos = plain.end()
                continue
            ch = self.buf[self.pos]
            if ch == "\x00":
                raise self._error("NUL character in a value")
            if ch == "\\":
                nxt = self.buf[self.pos + 1] if self.pos + 1 < len(self.buf) else None
                if nxt is None and self._next_line():
                    continue
                if nxt == "\\":
                    chunk.append("\\")
                    self.pos += 2
                    continue
                if nxt == '"':
                    # PHP: a \" directly before the end of a line closes the string (the
                    # backslash is kept); elsewhere it is an escaped quote.
                    after = self.buf[self.pos + 2 : self.pos + 3]
                    if after in ("\n", "\r") or (after == "" and self.index + 1 >= len(self.lines)):
                        chunk.append("\\")
                        self.pos += 2
                        break
                    chunk.append('"')
                    self.pos += 2
                    continue
                chunk.append("\\")
                self.pos += 1
                continue
            if ch == '"':
                self.pos += 1
                break
            if ch == "$" and self.buf.startswith("${", self.pos):
                self.pos += 2
                name = self._read_env_name()
                env_refs.append(name)
                chunk.append("${" + name + "}")
                continue
            chunk.append(ch)
            self.pos += 1
        out.append("".join(chunk))

    def _read_single(self, out: list[str]) -> None:
        while True:
            end = self.buf.find("'", self.pos)
            if end >= 0:
                out.append(self.buf[self.pos : end])
                self.pos = end + 1
                return
            if not self._next_line():
                raise self._error("a single-quoted value is never closed")


def parse_ini(text: str, where: str = "the ini file") -> IniDocument:
    """Parse PHP ini text into positions and values. Raises InputError where PHP would fail.

    Covers what Matomo and people write in config.ini.php: sections, ``key = value``,
    ``key[] = value``, comments (``;`` and ``#``), quoted values over several lines, ``${ENV}``.
    """
    lines = split_lines(text)
    sections: list[IniSection] = []
    preamble: list[IniEntry] = []
    i = 0
    while i < len(lines):
        raw = _strip_eol(lines[i])
        stripped = raw.strip()
        if not stripped or stripped[0] in ";#":
            i += 1
            continue
        if stripped.startswith("["):
            match = _SECTION_RE.match(raw)
            if not match:
                raise InputError(
                    f"{where} (line {i + 1}): malformed section header {stripped[:40]!r}",
                    hint="a section header looks like [Name]",
                )
            sections.append(IniSection(name=match.group(1).strip(), header=i))
            i += 1
            continue
        if "=" not in raw and not set(stripped) & set("\"'"):
            i += 1  # PHP ignores a bare word without "=" (no value, no key)
            continue
        match = _KEY_RE.match(raw)
        if not match:
            raise InputError(
                f"{where} (line {i + 1}): expected 'key = value', found {stripped[:40]!r}",
                hint="fix or comment out the line",
            )
        key, brackets = match.group(1).strip(), match.group(2)
        eq = raw.index("=", match.start(3) - 1)
        rest = lines[i][eq + 1 :]
        simple = _SIMPLE_QUOTED.match(rest)
        if simple is not None:  # the usual `key = "value"`: no escape, no ${, on one line
            value, end = IniValue(simple.group(1)), i
        else:
            value, end = _ValueReader(lines, i, rest, where).read()
        entry = IniEntry(
            section=sections[-1].name if sections else None,
            key=key,
            array=brackets is not None,
            value=value,
            start=i,
            end=end,
        )
        (sections[-1].entries if sections else preamble).append(entry)
        i = end + 1
    return IniDocument(lines=lines, sections=sections, preamble=preamble)
