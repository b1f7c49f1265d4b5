"""Where things are in a YAML text: ruamel.yaml's composed nodes, their offsets, and the text's
own layout (line ending, indentation steps). The merge edits text at these offsets instead of
dumping the document again, so what it does not own stays byte for byte.

Offsets are character indexes into the (template-masked) text; ruamel.yaml counts ``\\r\\n`` as
two characters and skips a leading BOM without shifting them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from oidcsetup.errors import InputError
from oidcsetup.providers.authelia.templates import has_templates, mask_templates


@dataclass(frozen=True)
class ParsedText:
    """A YAML text as the merge sees it."""

    text: str  # the original, BOM and line endings included
    masked: str  # the same with template actions masked (see templates.py)
    root: Any  # ruamel.yaml composed node of the document, or None when it is empty
    data: Any  # the loaded document (merge keys applied), or None

    @property
    def newline(self) -> str:
        first = self.text.find("\n")
        return "\r\n" if first > 0 and self.text[first - 1] == "\r" else "\n"


def parse_text(text: str, where: str) -> ParsedText:
    """Parse ``text`` (templates read as placeholders); InputError naming the problem if not YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    masked = mask_templates(text)
    try:
        root = YAML(typ="rt").compose(masked)
        data = YAML(typ="rt").load(masked)
    except YAMLError as exc:
        if has_templates(text):
            raise InputError(
                f"{where} is not valid YAML even with its Authelia templates ({{{{ ... }}}}) "
                f"read as placeholders: {yaml_problem(exc)}; nothing was written",
                hint="check the rendered file with `authelia config template "
                "--config.experimental.filters=template --config FILE`, or paste the fragment "
                "printed without --merge",
            ) from None
        raise InputError(
            f"{where} is not valid YAML: {yaml_problem(exc)}",
            hint="fix the syntax (Authelia would not start either), then run again",
        ) from None
    return ParsedText(text=text, masked=masked, root=root, data=data)


def yaml_problem(exc: Exception) -> str:
    """One line: what is wrong and where (line and column), without ruamel's source excerpt."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if not problem:
        lines = str(exc).strip().splitlines()
        return lines[0].strip() if lines else type(exc).__name__
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(str(problem).split()) + where


# --- nodes -------------------------------------------------------------------------------


def is_mapping(node: Any) -> bool:
    return type(node).__name__ == "MappingNode"


def is_sequence(node: Any) -> bool:
    return type(node).__name__ == "SequenceNode"


def is_scalar(node: Any) -> bool:
    return type(node).__name__ == "ScalarNode"


def is_merge_key(node: Any) -> bool:
    return is_scalar(node) and (node.tag == "tag:yaml.org,2002:merge" or node.value == "<<")


def start(node: Any) -> int:
    return int(node.start_mark.index)


def own_pairs(mapping: Any) -> list[tuple[Any, Any]]:
    """The mapping's own (key, value) pairs, merge keys (``<<``) left out."""
    return [(k, v) for k, v in mapping.value if not is_merge_key(k)]


def own_value(mapping: Any, key: str) -> tuple[Any, Any] | None:
    for key_node, value in own_pairs(mapping):
        if is_scalar(key_node) and key_node.value == key:
            return key_node, value
    return None


def is_alias_at(node: Any, position: int) -> bool:
    """True when ``node``, met at text offset ``position``, is an alias of an earlier anchor
    (ruamel gives an alias the node it names, whose offsets are those of the anchor)."""
    return start(node) < position


def walk(node: Any, floor: int = 0) -> Iterator[tuple[Any, Any]]:
    """(node, key node or None) for ``node`` and every node written inside it, in text order;
    aliases (nodes anchored before ``floor``) are not entered."""
    yield node, None
    yield from _walk_children(node, max(floor, start(node)))


def _walk_children(node: Any, floor: int) -> Iterator[tuple[Any, Any]]:
    if is_mapping(node):
        for key, value in node.value:
            if start(key) >= floor:
                yield key, None
            if start(value) >= floor:
                yield value, key
                yield from _walk_children(value, start(value))
    elif is_sequence(node):
        for item in node.value:
            if start(item) >= floor:
                yield item, None
                yield from _walk_children(item, start(item))


def content_end(node: Any) -> int:
    """Offset just after the last character written for ``node`` (trailing line breaks, comments
    and blank lines left out; a block collection's own end mark includes them)."""
    end = start(node)
    for child, _ in walk(node):
        if is_scalar(child) or getattr(child, "flow_style", False):
            end = max(end, int(child.end_mark.index))
    return end


# --- text --------------------------------------------------------------------------------


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def trim_breaks(text: str, end: int) -> int:
    """``end`` moved back over line breaks (a block scalar's end includes its last one)."""
    while end > 0 and text[end - 1] in "\r\n":
        end -= 1
    return end


def after_line(text: str, end: int) -> int:
    """Offset of the line after the one that holds the character before ``end`` (len(text) when
    that is the last line and has no line break)."""
    newline = text.find("\n", trim_breaks(text, end))
    return len(text) if newline < 0 else newline + 1


def column(text: str, index: int) -> int:
    return index - line_start(text, index)


_SEQ_ITEM = re.compile(r"[ \t]*-[ \t]+")


def dash_prefix(text: str, item: Any) -> str | None:
    """The ``      - `` that introduces a block sequence item, when it sits alone before it."""
    begin = line_start(text, start(item))
    prefix = text[begin : start(item)]
    return prefix if _SEQ_ITEM.fullmatch(prefix) else None


def sequence_offset(text: str, root: Any, default: int = 2) -> int:
    """How far the file indents a block list's ``-`` past its key (0, 2 or 4...): the first
    block list under a block mapping key in ``root`` decides."""
    if root is None:
        return default
    for node, key in walk(root):
        if key is not None and is_sequence(node) and not node.flow_style and node.value:
            first = node.value[0]
            prefix = dash_prefix(text, first)
            if prefix is not None:
                return max(0, len(prefix.rstrip(" \t")) - 1 - column(text, start(key)))
    return default


def mapping_offset(text: str, root: Any, default: int = 2) -> int:
    """How far the file indents a nested block mapping's keys past its parent key."""
    if root is None:
        return default
    for node, key in walk(root):
        if key is not None and is_mapping(node) and not node.flow_style and node.value:
            step = column(text, start(node.value[0][0])) - column(text, start(key))
            if step > 0 and line_start(text, start(node)) != line_start(text, start(key)):
                return step
    return default
