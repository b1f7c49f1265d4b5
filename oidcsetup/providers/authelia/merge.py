"""Insert or update one client (by client_id) in an existing Authelia configuration.yml.

ruamel.yaml round trip: comments, key order, quoting and the other clients stay as they are;
the indentation style is the file's own (the candidate that reproduces the file best).
Idempotent: when every generated value is already there, nothing is written; a digest already
there that verifies the same plaintext secret is kept, not re-salted. Keys the user added to
the entry (audience, claims_policy, ...) are kept.
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from oidcsetup.errors import InputError, SecretError
from oidcsetup.providers.authelia.entry import ClientEntry
from oidcsetup.providers.authelia.model import RENAMED_IN_438, model_for

Action = Literal["added", "updated", "unchanged"]

# (mapping, sequence, offset) indentation styles tried, Authelia's docs style first.
_STYLES: tuple[tuple[int, int, int], ...] = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0))


@dataclass(frozen=True)
class MergeResult:
    path: Path
    action: Action
    before: str
    after: str
    entry: dict[str, Any]  # the client as it is in ``after`` (plain Python values)
    changed_keys: tuple[str, ...] = ()
    kept_digest: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def in_sync(self) -> bool:
        return self.action == "unchanged"

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=str(self.path),
                tofile=f"{self.path} (merged)",
            )
        )


def _yaml(style: tuple[int, int, int], explicit_start: bool) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long digest or URI
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = explicit_start
    return yaml


def _dump(yaml: Any, data: Any) -> str:
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _choose_style(text: str, explicit_start: bool) -> tuple[int, int, int]:
    """The indentation style whose round trip of the untouched file differs the least."""
    best: tuple[int, tuple[int, int, int]] | None = None
    for style in _STYLES:
        yaml = _yaml(style, explicit_start)
        try:
            dumped = _dump(yaml, yaml.load(text))
        except Exception:  # pragma: no cover - the file parsed once already
            continue
        if dumped == text:
            return style
        distance = sum(
            1
            for line in difflib.ndiff(text.splitlines(), dumped.splitlines())
            if line.startswith(("+ ", "- "))
        )
        if best is None or distance < best[0]:
            best = (distance, style)
    return best[1] if best else _STYLES[0]


def _to_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _to_yaml(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    if isinstance(value, (list, tuple)):
        seq = CommentedSeq([_to_yaml(v) for v in value])
        return seq
    if isinstance(value, str):
        return SingleQuotedScalarString(value)
    return value


def _same(existing: Any, desired: Any) -> bool:
    return bool(_to_plain(existing) == _to_plain(desired))


def _walk_clients(data: Any, path: Path) -> Any:
    """The ``identity_providers.oidc.clients`` sequence, created when missing."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = data
    for key in ("identity_providers", "oidc"):
        child = node.get(key)
        if child is None:
            child = CommentedMap()
            node[key] = child
        elif not isinstance(child, Mapping):
            raise InputError(
                f"{path}: '{key}' is not a mapping",
                hint="fix the file so identity_providers.oidc is a YAML mapping",
            )
        node = child
    clients = node.get("clients")
    if clients is None:
        clients = CommentedSeq()
        node["clients"] = clients
    elif not isinstance(clients, list):
        raise InputError(
            f"{path}: identity_providers.oidc.clients is not a list",
            hint="write the clients as a YAML sequence (- client_id: ...)",
        )
    return clients


def _matches(item: Any, client_id: str, id_keys: tuple[str, ...]) -> bool:
    return isinstance(item, Mapping) and any(str(item.get(k, "")) == client_id for k in id_keys)


def _deepest_slot(node: Any) -> tuple[Any, Any, int] | None:
    """Where ruamel keeps the comment that follows the last scalar of ``node``:
    (container, key or index, position in ``container.ca.items[key]``)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap) and len(node):
        key = list(node.keys())[-1]
        position = 2
    elif isinstance(node, CommentedSeq) and len(node):
        key = len(node) - 1
        position = 0
    else:
        return None
    child = node[key]
    if isinstance(child, (CommentedMap, CommentedSeq)) and len(child) and not child.fa.flow_style():
        return _deepest_slot(child)
    return node, key, position


def _move_trailing_comment(source: tuple[Any, Any, int] | None, new_node: Any) -> None:
    """Comment lines that followed the old last node (ruamel attaches them to it) move behind
    ``new_node``, so the new entry does not land between them and what they precede."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    target = _deepest_slot(new_node)
    if source is None or target is None:
        return
    container, key, position = source
    slots = container.ca.items.get(key)
    if not slots or len(slots) <= position or slots[position] is None:
        return
    token = slots[position]
    first, newline, rest = str(token.value).partition("\n")
    if not rest.strip():
        return
    token.value = first + newline
    t_container, t_key, t_position = target
    t_slots = t_container.ca.items.setdefault(t_key, [None] * (4 if t_position == 2 else 2))
    t_slots[t_position] = CommentToken("\n" + rest, CommentMark(0), None)


def _rename_in_place(mapping: Any, old: str, new: str) -> None:
    position = list(mapping.keys()).index(old)
    value = mapping[old]
    comment = mapping.ca.items.pop(old, None)
    del mapping[old]
    mapping.insert(position, new, value)
    if comment is not None:
        mapping.ca.items[new] = comment


def plan_merge(path: Path, entry: ClientEntry, plaintext: str | None) -> MergeResult:
    """What merging ``entry`` into the file at ``path`` gives (nothing is written)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    path = Path(path)
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist",
            hint="give the path of Authelia's configuration.yml, or leave out --merge to print "
            "the fragment",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    explicit_start = before.lstrip().startswith("---")
    try:
        data = _yaml(_STYLES[0], explicit_start).load(before)
    except YAMLError as exc:
        raise InputError(
            f"{path} is not valid YAML: {_yaml_problem(exc)}",
            hint="fix the syntax (Authelia would not start either), then run again",
        ) from None
    notes: list[str] = []
    if data is None:
        data = CommentedMap()
    if not isinstance(data, Mapping):
        raise InputError(f"{path} does not hold a YAML mapping at its top level")
    style = _choose_style(before, explicit_start) if before.strip() else _STYLES[0]
    yaml = _yaml(style, explicit_start)
    if before.strip():
        data = yaml.load(before)
    document_end = _deepest_slot(data)
    providers = data.get("identity_providers")
    oidc_before = providers.get("oidc") if isinstance(providers, Mapping) else None
    clients = _walk_clients(data, path)
    if not oidc_before:
        notes.append(
            "the file had no identity_providers.oidc section: Authelia also needs its "
            "hmac_secret and jwks there (https://www.authelia.com/c/oidc)"
        )

    model = model_for(entry.version)
    id_key = model.key_name("client_id")
    id_keys = (id_key,) if model.legacy_names else (id_key, "id")
    client_id = entry.client_id
    found = [i for i, item in enumerate(clients) if _matches(item, client_id, id_keys)]
    if len(found) > 1:
        raise InputError(
            f"{path}: client '{client_id}' is defined {len(found)} times",
            hint="Authelia refuses duplicate client ids; remove the extra entries",
        )

    desired = dict(entry.values)
    secret_key = model.key_name("client_secret")
    kept_digest = False
    changed: list[str] = []
    if not found:
        item = CommentedMap()
        for key, value in desired.items():
            item[key] = _to_yaml(value)
        previous_last = _deepest_slot(clients[-1]) if len(clients) else None
        clients.append(item)
        if previous_last is not None:
            _move_trailing_comment(previous_last, item)
        elif _deepest_slot(data) == _deepest_slot(item):
            _move_trailing_comment(document_end, item)
        action: Action = "added"
        changed = list(desired)
    else:
        item = clients[found[0]]
        if not model.legacy_names:
            for new, old in RENAMED_IN_438.items():
                if old in item and new not in item:
                    _rename_in_place(item, old, new)
                    changed.append(f"{old}->{new}")
        existing_secret = item.get(secret_key)
        if isinstance(existing_secret, str) and existing_secret and plaintext:
            try:
                kept_digest = _verifies(plaintext, existing_secret)
            except SecretError as exc:
                notes.append(f"the existing {secret_key} is replaced: {exc.message}")
            if kept_digest:
                desired[secret_key] = str(existing_secret)
        previous_index = -1
        for key, value in desired.items():
            if key in item:
                previous_index = list(item.keys()).index(key)
                if _same(item[key], value):
                    continue
                item[key] = _to_yaml(value)
                changed.append(key)
            else:
                previous_index += 1
                item.insert(previous_index, key, _to_yaml(value))
                changed.append(key)
        action = "updated" if changed else "unchanged"
    after = before if action == "unchanged" else _dump(yaml, data)
    merged = _to_plain(item)
    return MergeResult(
        path=path,
        action=action,
        before=before,
        after=after,
        entry=merged,
        changed_keys=tuple(changed),
        kept_digest=kept_digest,
        notes=tuple(notes),
    )


def _yaml_problem(exc: Exception) -> str:
    """One line: what is wrong and where (line and column), without ruamel's source excerpt."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if not problem:
        lines = str(exc).strip().splitlines()
        return lines[0].strip() if lines else type(exc).__name__
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return " ".join(str(problem).split()) + where


def _verifies(plaintext: str, digest: str) -> bool:
    from oidcsetup.secrets import verify_secret

    return verify_secret(plaintext, digest)


def write_merge(result: MergeResult) -> Path | None:
    """Write ``result.after`` atomically with a backup, under a lock; returns the backup path.

    Refuses when the file changed since ``plan_merge`` read it (another writer).
    """
    from oidcsetup.errors import ApplyError
    from oidcsetup.fileio import atomic_write_text, file_lock

    if result.in_sync:
        return None
    # Lock the real file: two writers reaching it through different symlinks must serialise.
    with file_lock(Path(os.path.realpath(result.path))):
        try:
            current = result.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ApplyError(f"cannot read {result.path}: {exc}") from None
        if current != result.before:
            raise ApplyError(
                f"{result.path} changed while oidcsetup was merging; nothing was written",
                hint="run the command again",
            )
        return atomic_write_text(result.path, result.after, backup=True)
