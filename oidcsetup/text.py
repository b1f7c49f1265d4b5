"""Checks on text that ends up in files, commands and terminals, shared by both sides."""

from __future__ import annotations

import unicodedata


def has_control_character(text: str) -> bool:
    """True when ``text`` holds a control character, a line/paragraph separator or a format
    character (the bidi overrides that make a name read backwards).

    ZWNJ and ZWJ are allowed: several scripts and emoji sequences need them.
    """
    return any(
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\u200c\u200d"
        for ch in text
    )
