"""Rewrite a YAML file the user keeps (authentik blueprint, Dex config) without touching the
rest of it: ruamel's round trip keeps comments, quotes and custom tags (``!Find``, ``!Env``...),
but not every layout, so a file is first round-tripped unchanged under the layouts we know, and
one that none of them reproduces byte for byte is refused rather than reformatted.

(Authelia's merge splices text instead: its planner knows Authelia's templates and digests;
these two files need no such knowledge, and the byte-identity guard keeps the same promise.)
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oidcsetup.errors import InputError

# (mapping, sequence, offset) indentations; the first is the one we write new files with.
LAYOUTS: tuple[tuple[int, int, int], ...] = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0))


def yaml_processor(layout: tuple[int, int, int] = LAYOUTS[0]) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: unknown tags kept as tagged nodes, comments kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def dump(document: Any, layout: tuple[int, int, int] = LAYOUTS[0]) -> str:
    stream = io.StringIO()
    yaml_processor(layout).dump(document, stream)
    return stream.getvalue()


def plain_nodes(value: Any) -> Any:
    """Dicts and lists as ruamel round-trip nodes (block style when dumped)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = plain_nodes(item)
        return node
    if isinstance(value, list):
        return CommentedSeq([plain_nodes(item) for item in value])
    return value


def same_node(a: Any, b: Any) -> bool:
    """Equal content, tags included (layout and comments not)."""
    return dump({"x": a}) == dump({"x": b})


@dataclass(frozen=True)
class KeptFile:
    path: Path
    text: str | None  # None: the file does not exist (or is empty)
    document: Any
    layout: tuple[int, int, int]

    def dump(self) -> str:
        return dump(self.document, self.layout)


def read_kept(path: Path, fix_hint: str) -> KeptFile:
    """The file's document and the layout that reproduces it byte for byte; refused otherwise."""
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KeptFile(path, None, None, LAYOUTS[0])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if not text.strip():
        return KeptFile(path, None, None, LAYOUTS[0])
    for layout in LAYOUTS:
        try:
            document = yaml_processor(layout).load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise InputError(
                f"{path} is not valid YAML{where}", hint="fix the file, then run again"
            ) from None
        if dump(document, layout) == text:
            return KeptFile(path, text, document, layout)
    raise InputError(
        f"{path} uses a layout oidcsetup cannot keep byte for byte, so it is not rewritten",
        hint=fix_hint,
    )


def masked_diff(path: Path, old: str | None, new: str, secrets: tuple[str, ...] = ()) -> str:
    text = "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=str(path),
            tofile=str(path),
        )
    )
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text
