"""Mask every secret-bearing value of an Authelia configuration for display (diffs, dry runs).

Which values: Authelia names its security-sensitive options ``secret``, ``key``, ``password``,
``token`` or ``certificate_chain``, or with ``_`` plus one of those as a suffix
(docs: configuration/prologue/security-sensitive-values): ``client_secret``, ``hmac_secret``,
``jwks[].key``, ``storage.encryption_key``, ``notifier.smtp.password``... Every scalar under such
a key is masked, whoever's it is, and so is any scalar that looks like a client secret digest
(``$pbkdf2...``, ``$plaintext$...``) or a PEM block wherever it stands. A value written as a
template or ``${VAR}`` is a reference, not a secret, and stays readable.

The masked text keeps its line count, so a diff of masked texts has the true line numbers.
"""

from __future__ import annotations

import re
from typing import Any

from oidcsetup.providers.authelia import yamltext as yt
from oidcsetup.providers.authelia.templates import is_reference

MASK = "********"

_SENSITIVE = ("secret", "key", "password", "token", "certificate_chain")
_SECRET_LOOKING = re.compile(r"^\s*(\$[a-z0-9-]+\$|-----BEGIN )")
# Line-based fallback for a text that does not parse: ``name: value`` with a sensitive name.
_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?['\"]?(?P<name>[A-Za-z0-9_.-]+)['\"]?[ \t]*:[ \t]+)"
    r"(?P<value>[^#\r\n]*?)(?P<tail>[ \t]+#.*)?$",
    re.MULTILINE,
)


def is_sensitive_name(name: str) -> bool:
    lowered = name.lower()
    return any(lowered == word or lowered.endswith("_" + word) for word in _SENSITIVE)


def redact_secrets(text: str) -> str:
    """``text`` with every secret-bearing value replaced by ``********`` (line count kept)."""
    from oidcsetup.errors import InputError

    try:
        parsed = yt.parse_text(text, "text")
    except InputError:
        return _redact_lines(text)
    if parsed.root is None:
        return text
    spans = sorted(_secret_spans(parsed.root, text))
    out: list[str] = []
    position = 0
    for start, end in spans:
        if start < position:
            continue
        out.append(text[position:start])
        out.append(_masked(text[start:end]))
        position = end
    out.append(text[position:])
    return "".join(out)


def _secret_spans(root: Any, text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    sensitive_until = -1  # end of the value of the last sensitive key met
    for node, key in yt.walk(root):
        if key is not None and yt.is_scalar(key) and is_sensitive_name(str(key.value)):
            sensitive_until = max(sensitive_until, yt.content_end(node))
        if not yt.is_scalar(node) or node.value == "":
            continue
        inside = yt.start(node) < sensitive_until
        if not inside and not _SECRET_LOOKING.match(str(node.value)):
            continue
        if is_reference(text[yt.start(node) : int(node.end_mark.index)]):
            continue
        spans.append(_value_span(node, text))
    return spans


def _value_span(node: Any, text: str) -> tuple[int, int]:
    begin, end = yt.start(node), yt.trim_breaks(text, int(node.end_mark.index))
    if node.style in ("|", ">"):
        # keep the block scalar's header (| or >-), mask its lines
        newline = text.find("\n", begin, end)
        return (newline + 1, end) if newline >= 0 else (begin, end)
    if node.style in ("'", '"'):
        return begin + 1, end - 1
    return begin, end


def _masked(chunk: str) -> str:
    """Each line's visible text replaced by the mask, indentation and line breaks kept."""
    lines = chunk.split("\n")
    out = []
    for line in lines:
        body = line.rstrip("\r")
        stripped = body.lstrip(" \t")
        lead = body[: len(body) - len(stripped)]
        out.append((lead + MASK if stripped else body) + line[len(body) :])
    return "\n".join(out)


def _redact_lines(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group("value")
        sensitive = is_sensitive_name(match.group("name")) or _SECRET_LOOKING.match(value)
        if not value.strip() or not sensitive or is_reference(value):
            return match.group(0)
        return match.group("lead") + MASK + (match.group("tail") or "")

    return _LINE.sub(replace, text)
