"""Authelia's configuration templates (``{{ ... }}``), read as placeholders so the file parses.

Authelia 4.38+ can pass configuration.yml through a Go text/template filter
(``X_AUTHELIA_CONFIG_FILTERS=template``, ``--config.experimental.filters``) before it reads
the YAML: ``key: {{ secret "/path" | mindent 10 "|" | msquote }}``, or a whole line
``{{- fileContent "/path" | nindent 10 }}`` whose ``-`` trims the line break before it. Such a
file need not be valid YAML before rendering, and oidcsetup never renders it (the files named
live where Authelia runs). Instead every action is masked, position for position:

- an action that shares its line with YAML text becomes the same number of ``TEMPLATE_CHAR``
  (a private-use character, legal in a plain scalar), so ``key: {{ ... }}`` reads as a scalar;
- a line made of actions only becomes a comment line (``#`` then ``TEMPLATE_CHAR``s), which is
  also what it is inside a block scalar: text.

The masked text has the same length and the same line breaks as the original, so every offset
that ruamel.yaml reports in it is an offset in the original: the merge edits the original text at
those offsets and never rewrites a template.
"""

from __future__ import annotations

import re

TEMPLATE_CHAR = "\ue000"

# Go's text/template delimiters; an action may span lines (Go 1.16+).
_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_BLANK = " \t\r"


def template_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every ``{{ ... }}`` action in ``text``."""
    return [match.span() for match in _ACTION.finditer(text)]


def has_templates(text: str) -> bool:
    return _ACTION.search(text) is not None


def mask_templates(text: str) -> str:
    """``text`` with every template action masked (same length, same line breaks)."""
    spans = template_spans(text)
    if not spans:
        return text
    chars = list(text)
    inside = bytearray(len(text))
    for start, end in spans:
        for index in range(start, end):
            if text[index] not in "\r\n":
                chars[index] = TEMPLATE_CHAR
                inside[index] = 1
    line_start = 0
    while line_start < len(text):
        newline = text.find("\n", line_start)
        line_end = len(text) if newline < 0 else newline
        solid = [i for i in range(line_start, line_end) if text[i] not in _BLANK]
        if solid and all(inside[i] for i in solid):
            chars[solid[0]] = "#"
        line_start = line_end + 1
    return "".join(chars)


# Authelia's deprecated ``expand-env`` filter runs Go's os.Expand over the file: ``${NAME}``
# anywhere, or a whole value ``$NAME`` (its own test configuration has both); a digest such as
# ``$pbkdf2-sha512$...`` is not a whole ``$NAME``.
_ENV_NAME = re.compile(r"['\"]?\$[A-Za-z_][A-Za-z0-9_]*['\"]?")


def is_reference(value: object) -> bool:
    """True for a value the user wrote as a reference: a template action (masked or not) or an
    environment expansion (``${NAME}``, or the whole value ``$NAME``)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return (
        TEMPLATE_CHAR in text
        or has_templates(text)
        or "${" in text
        or _ENV_NAME.fullmatch(text) is not None
    )
