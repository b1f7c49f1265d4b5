"""Insert or update one client (by client_id) in an existing Authelia configuration.yml.

The merge edits the file's text, never re-dumps the document: it parses a template-masked copy
(templates.py) to learn where our client entry is, then replaces only the spans of the keys whose
value differs and inserts the keys (or the whole entry) that are missing. Every byte outside
those spans stays as it was: other clients, comments, anchors, aliases and merge keys, Authelia
templates, quoting, the line ending (LF or CRLF) and a BOM. A value of ours written as a
reference (a template, ``${VAR}``) is kept and reported, not replaced.

Idempotent: when every generated value is already there, nothing is written; a digest already
there that verifies the same plaintext secret is kept, not re-salted. Keys the user added to
the entry (audience, claims_policy, ...) are kept. The result is parsed again and our entry
checked before anything may be written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from oidcsetup.errors import ApplyError, InputError, SecretError
from oidcsetup.providers.authelia import yamltext as yt
from oidcsetup.providers.authelia.entry import ClientEntry
from oidcsetup.providers.authelia.model import RENAMED_IN_438, model_for
from oidcsetup.providers.authelia.render import block_item_lines, flow_mapping, yaml_scalar
from oidcsetup.providers.authelia.templates import TEMPLATE_CHAR, is_reference

Action = Literal["added", "updated", "unchanged"]

_SECTIONS = ("identity_providers", "oidc", "clients")


@dataclass(frozen=True)
class MergeResult:
    path: Path
    action: Action
    before: str
    after: str
    entry: dict[str, Any]  # the client as it is in ``after`` (templates as written)
    changed_keys: tuple[str, ...] = ()
    kept_digest: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Keys of ours whose value the user wrote as a reference (template, ${VAR}): kept as is.
    kept_references: tuple[str, ...] = ()
    # The entry with our generated values standing in for kept references (what to validate:
    # oidcsetup cannot know what a template renders to).
    checked_entry: dict[str, Any] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        return self.action == "unchanged"

    def diff(self, show_secrets: bool = False) -> str:
        """Unified diff; every secret-bearing value of the file masked unless ``show_secrets``.

        The lines to show are found on the real texts (a replaced secret is a changed line even
        when both sides print as ``********``), then printed from the masked ones (same lines).
        """
        from oidcsetup.providers.authelia.redact import redact_secrets

        real_a = self.before.splitlines(keepends=True)
        real_b = self.after.splitlines(keepends=True)
        shown_a, shown_b = real_a, real_b
        if not show_secrets:
            shown_a = redact_secrets(self.before).splitlines(keepends=True)
            shown_b = redact_secrets(self.after).splitlines(keepends=True)
        if len(shown_a) != len(real_a) or len(shown_b) != len(real_b):  # pragma: no cover
            real_a, real_b = shown_a, shown_b
        return _unified_diff(
            real_a, real_b, shown_a, shown_b, str(self.path), f"{self.path} (merged)"
        )


def _unified_diff(
    real_a: list[str],
    real_b: list[str],
    shown_a: list[str],
    shown_b: list[str],
    name_a: str,
    name_b: str,
) -> str:
    """A unified diff of ``real_a`` -> ``real_b`` that prints the ``shown_*`` lines instead."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=real_a, b=real_b, autojunk=False)
    for group in matcher.get_grouped_opcodes(3):
        if not out:
            out += [f"--- {name_a}\n", f"+++ {name_b}\n"]
        first, last = group[0], group[-1]
        a_len, b_len = last[2] - first[1], last[4] - first[3]
        a_start = first[1] + 1 if a_len else first[1]
        b_start = first[3] + 1 if b_len else first[3]
        out.append(f"@@ -{_range(a_start, a_len)} +{_range(b_start, b_len)} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in shown_a[i1:i2]]
                continue
            out += ["-" + line for line in shown_a[i1:i2]]
            out += ["+" + line for line in shown_b[j1:j2]]
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def _range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


@dataclass
class _Edits:
    """Text replacements on the original: (start, end) -> new text; inserts at one offset
    keep the order they were added in."""

    text: str
    newline: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def replace(self, start: int, end: int, new: str) -> None:
        self.spans.append((start, end, new.replace("\n", self.newline)))

    def insert_lines(self, at: int, lines: Sequence[str]) -> None:
        block = "\n".join(lines) + "\n"
        if at == len(self.text) and self.text and not self.text.endswith("\n"):
            block = "\n" + block
        self.replace(at, at, block)

    def apply(self) -> str:
        out: list[str] = []
        position = 0
        for start, end, new in sorted(self.spans, key=lambda s: (s[0], s[1] != s[0])):
            if start < position:  # pragma: no cover - a bug in the planner, never written
                raise ApplyError("internal error: overlapping edits in the Authelia merge")
            out.append(self.text[position:start])
            out.append(new)
            position = end
        out.append(self.text[position:])
        return "".join(out)


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist",
            hint="give the path of Authelia's configuration.yml, or leave out --merge to print "
            "the fragment",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot read {path}: not UTF-8 (byte {exc.start})",
            hint="Authelia reads its configuration as UTF-8; convert the file",
        ) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _same(existing: Any, desired: Any) -> bool:
    return bool(_plain(existing) == _plain(desired))


def _verifies(plaintext: str, digest: str) -> bool:
    from oidcsetup.secrets import verify_secret

    return verify_secret(plaintext, digest)


def _refuse(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}: {what}; nothing was written",
        hint="add the client by hand from the fragment printed without --merge",
    )


def _render_value(value: Any, flow: bool, key_col: int, seq_offset: int) -> str:
    """The text after ``key:`` (leading space included) for one of our values."""
    if isinstance(value, (list, tuple)):
        if flow or not value:
            return " [" + ", ".join(yaml_scalar(v) for v in value) + "]"
        pad = " " * (key_col + seq_offset)
        return "".join(f"\n{pad}- {yaml_scalar(v)}" for v in value)
    return " " + yaml_scalar(value)


_COLON_NULL = re.compile(r"[ \t]*:[ \t]*(?:~|null|Null|NULL)?")
_COLON_ALIAS = re.compile(r"[ \t]*:[ \t]*\*[^\s,\[\]{}]+")


class _Planner:
    def __init__(
        self, path: Path, parsed: yt.ParsedText, entry: ClientEntry, plaintext: str | None
    ):
        self.path = path
        self.parsed = parsed
        self.text = parsed.text
        self.entry = entry
        self.plaintext = plaintext
        self.model = model_for(entry.version)
        self.edits = _Edits(parsed.text, parsed.newline)
        self.notes: list[str] = []
        self.changed: list[str] = []
        self.kept: list[str] = []
        self.kept_digest = False
        self.desired = dict(entry.values)
        self.seq_offset = yt.sequence_offset(parsed.text, parsed.root)
        self.map_offset = yt.mapping_offset(parsed.text, parsed.root)

    # -- where the clients are ------------------------------------------------------------

    def plan(self) -> Action:
        root = self.parsed.root
        if root is None:
            self.notes.append(self._no_oidc_note())
            self._create(list(_SECTIONS), at=len(self.text), column=0)
            return "added"
        if not yt.is_mapping(root):
            raise InputError(f"{self.path} does not hold a YAML mapping at its top level")
        if root.flow_style:
            raise _refuse(self.path, "the top-level mapping is written in flow style ({...})")
        node, data = root, self.parsed.data
        for depth, name in enumerate(_SECTIONS):
            found = yt.own_value(node, name)
            if found is None:
                if isinstance(data, Mapping) and name in data:
                    raise _refuse(self.path, f"'{name}' comes from a YAML merge key (<<: *anchor)")
                if depth < 2:
                    self.notes.append(self._no_oidc_note())
                if node.flow_style:
                    raise _refuse(self.path, f"'{_SECTIONS[depth - 1]}' is written in flow style")
                first_key = yt.own_pairs(node)[0][0] if yt.own_pairs(node) else None
                col = yt.column(self.text, yt.start(first_key)) if first_key is not None else 0
                at = yt.after_line(self.text, yt.content_end(node))
                self._create(list(_SECTIONS[depth:]), at=at, column=col)
                return "added"
            key, value = found
            if yt.is_alias_at(value, yt.start(key)):
                raise _refuse(self.path, f"'{name}' is a YAML alias (*anchor) of another part")
            child = data.get(name) if isinstance(data, Mapping) else None
            if yt.is_scalar(value) and value.tag.endswith(":null"):
                if depth < 2:
                    self.notes.append(self._no_oidc_note())
                self._fill_null(key, list(_SECTIONS[depth:]))
                return "added"
            if depth < 2 and not yt.is_mapping(value):
                raise InputError(
                    f"{self.path}: '{name}' is not a mapping",
                    hint="fix the file so identity_providers.oidc is a YAML mapping",
                )
            if depth == 2 and not yt.is_sequence(value):
                raise InputError(
                    f"{self.path}: identity_providers.oidc.clients is not a list",
                    hint="write the clients as a YAML sequence (- client_id: ...)",
                )
            node, data = value, child
        return self._merge_into(node, data)

    def _no_oidc_note(self) -> str:
        return (
            "the file had no identity_providers.oidc section: Authelia also needs its "
            "hmac_secret and jwks there (https://www.authelia.com/c/oidc)"
        )

    def _create(self, sections: list[str], at: int, column: int) -> None:
        """Insert the missing ``sections`` (ending with ``clients``) and our entry at ``at``."""
        lines: list[str] = []
        col = column
        for name in sections:
            lines.append(" " * col + f"{name}:")
            if name != "clients":
                col += self.map_offset
        dash = col + self.seq_offset
        lines += block_item_lines(self.desired, " " * dash + "- ", dash + 2, self.seq_offset)
        self.edits.insert_lines(at, lines)
        self.changed = list(self.desired)

    def _fill_null(self, key: Any, sections: list[str]) -> None:
        """``key:`` (or ``key: ~``) with no value: our sections go under it."""
        match = _COLON_NULL.match(self.text, int(key.end_mark.index))
        if match is None:
            raise _refuse(self.path, f"cannot find the value of '{key.value}'")
        self.edits.replace(int(key.end_mark.index), match.end(), ":")
        col = yt.column(self.text, yt.start(key))
        at = yt.after_line(self.text, match.end())
        rest = sections[1:]
        if rest:
            self._create(rest, at=at, column=col + self.map_offset)
        else:  # the clients key itself
            dash = col + self.seq_offset
            lines = block_item_lines(self.desired, " " * dash + "- ", dash + 2, self.seq_offset)
            self.edits.insert_lines(at, lines)
            self.changed = list(self.desired)

    # -- our entry --------------------------------------------------------------------------

    def _id_keys(self) -> tuple[str, ...]:
        id_key = self.model.key_name("client_id")
        return (id_key,) if self.model.legacy_names else (id_key, "id")

    def _merge_into(self, seq: Any, clients: Any) -> Action:
        if not isinstance(clients, list):
            raise InputError(
                f"{self.path}: identity_providers.oidc.clients is not a list",
                hint="write the clients as a YAML sequence (- client_id: ...)",
            )
        client_id = self.entry.client_id
        id_keys = self._id_keys()
        found = [
            i
            for i, item in enumerate(clients)
            if isinstance(item, Mapping) and any(str(item.get(k, "")) == client_id for k in id_keys)
        ]
        if len(found) > 1:
            raise InputError(
                f"{self.path}: client '{client_id}' is defined {len(found)} times",
                hint="Authelia refuses duplicate client ids; remove the extra entries",
            )
        if not found:
            self._append(seq)
            return "added"
        index = found[0]
        item = seq.value[index]
        floor = yt.start(seq)
        if index:
            floor = max(floor, yt.content_end(seq.value[index - 1]))
        if yt.is_alias_at(item, floor):
            raise _refuse(
                self.path,
                f"client '{client_id}' is a YAML alias (*anchor) of an entry written elsewhere",
            )
        if not yt.is_mapping(item):  # pragma: no cover - found by its keys, so a mapping
            raise _refuse(self.path, f"client '{client_id}' is not a mapping")
        self._update(item, clients[index])
        return "updated" if self.edits.spans else "unchanged"

    def _append(self, seq: Any) -> None:
        text = self.text
        if seq.flow_style:
            close = int(seq.end_mark.index) - 1
            if text[close] != "]":  # pragma: no cover - ruamel's flow sequences end at ']'
                raise _refuse(self.path, "cannot find the end of the clients list")
            separator = ", " if seq.value else ""
            self.edits.replace(close, close, separator + flow_mapping(self.desired))
        else:
            first = seq.value[0]
            prefix = yt.dash_prefix(text, first)
            if prefix is None:
                prefix = " " * yt.column(text, yt.start(seq)) + "- "
            key_col = len(prefix.expandtabs())
            lines = block_item_lines(self.desired, prefix, key_col, self.seq_offset)
            self.edits.insert_lines(yt.after_line(text, yt.content_end(seq)), lines)
        self.changed = list(self.desired)

    def _update(self, item: Any, loaded: Mapping[str, Any]) -> None:
        text = self.text
        flow = bool(item.flow_style)
        pairs = yt.own_pairs(item)
        key_col = yt.column(text, yt.start(pairs[0][0])) if pairs else 0
        own: dict[str, tuple[Any, Any]] = {}
        renamed: dict[str, str] = {}
        for key_node, value_node in pairs:
            if yt.is_scalar(key_node):
                own[str(key_node.value)] = (key_node, value_node)
        if not self.model.legacy_names:
            for new, old in RENAMED_IN_438.items():
                if old in own and new not in own:
                    own[new] = own.pop(old)
                    renamed[new] = old
        secret_key = self.model.key_name("client_secret")
        inserts: dict[int, list[str]] = {}
        anchor: int | None = None
        replaced: set[str] = set()
        for name, value in self.desired.items():
            if name in own:
                key_node, value_node = own[name]
                value_end = self._value_end(key_node, value_node)
                anchor = value_end if flow else yt.after_line(text, value_end)
                written = text[yt.start(value_node) : value_end]
                if not yt.is_alias_at(value_node, yt.start(key_node)) and is_reference(written):
                    self.kept.append(name)
                    self.notes.append(self._reference_note(name, written.strip(), secret_key))
                    continue
                existing = loaded.get(renamed.get(name, name))
                if name == secret_key:
                    value = self._secret_value(existing, value)
                    self.desired[name] = value
                if _same(existing, value):
                    continue
                new_key = (
                    name if name in renamed else text[yt.start(key_node) : key_node.end_mark.index]
                )
                prefix = ""
                if not yt.is_alias_at(value_node, yt.start(key_node)) and value_node.anchor:
                    prefix = f" &{value_node.anchor}"
                is_flow_value = bool(getattr(value_node, "flow_style", False))
                rendered = prefix + _render_value(
                    value, flow or is_flow_value, key_col, self.seq_offset
                )
                self.edits.replace(yt.start(key_node), value_end, f"{new_key}:{rendered}")
                replaced.add(name)
                self.changed.append(name)
                continue
            if name in loaded and _same(loaded.get(name), value):
                continue  # given by a merge key (<<: *anchor)
            where = anchor
            if where is None and flow:  # before the closing brace
                where = int(item.end_mark.index) - 1
            elif where is None:
                where = yt.after_line(text, yt.content_end(item))
            if flow:
                piece = f", {name}:{_render_value(value, True, key_col, self.seq_offset)}"
            else:
                piece = (
                    " " * key_col
                    + f"{name}:{_render_value(value, False, key_col, self.seq_offset)}"
                )
            inserts.setdefault(where, []).append(piece)
            self.changed.append(name)
        for new, old in renamed.items():
            self.changed.insert(0, f"{old}->{new}")
            if new not in replaced:
                key_node = own[new][0]
                self.edits.replace(yt.start(key_node), int(key_node.end_mark.index), new)
        for where, pieces in inserts.items():
            if flow:
                self.edits.replace(where, where, "".join(pieces))
            else:
                self.edits.insert_lines(where, "\n".join(pieces).split("\n"))

    def _value_end(self, key_node: Any, value_node: Any) -> int:
        key_end = int(key_node.end_mark.index)
        if yt.is_alias_at(value_node, yt.start(key_node)):
            match = _COLON_ALIAS.match(self.text, key_end)
            if match is None:
                raise _refuse(self.path, f"cannot find the alias that '{key_node.value}' names")
            return match.end()
        if yt.is_scalar(value_node) and value_node.value == "" and value_node.style is None:
            match = _COLON_NULL.match(self.text, key_end)
            return match.end() if match else key_end
        return yt.trim_breaks(self.text, yt.content_end(value_node))

    def _secret_value(self, existing: Any, desired: Any) -> Any:
        if not (isinstance(existing, str) and existing and self.plaintext):
            return desired
        try:
            self.kept_digest = _verifies(self.plaintext, existing)
        except SecretError as exc:
            self.notes.append(
                f"the existing {self.model.key_name('client_secret')} is replaced: {exc.message}"
            )
        return existing if self.kept_digest else desired

    def _reference_note(self, name: str, written: str, secret_key: str) -> str:
        shown = written if len(written) <= 80 else written[:77] + "..."
        if name == secret_key:
            return (
                f"kept {name}: {shown}, a reference you chose (Authelia renders it); it must give "
                "the digest of this client secret (`oidcsetup secret hash`), which oidcsetup "
                "cannot check"
            )
        return f"kept {name}: {shown}, a reference you chose; oidcsetup cannot check its value"


def existing_client(path: Path, version: str, client_id: str) -> dict[str, Any] | None:
    """The client ``client_id`` as the file holds it now (None when absent), read-only."""
    path = Path(path)
    parsed = yt.parse_text(_read(path), str(path))
    id_key = model_for(version).key_name("client_id")
    data: Any = parsed.data
    for name in _SECTIONS:
        data = data.get(name) if isinstance(data, Mapping) else None
    for item in data if isinstance(data, list) else ():
        if isinstance(item, Mapping) and str(item.get(id_key, "")) == client_id:
            found: dict[str, Any] = _plain(item)
            return found
    return None


def _entry_after(path: Path, after: str, entry: ClientEntry) -> tuple[dict[str, Any], Any]:
    """Our client as the merged text holds it (templates as written) and its composed node."""
    try:
        parsed = yt.parse_text(after, str(path))
    except InputError as exc:  # pragma: no cover - a planner bug; refuse rather than write
        raise ApplyError(
            f"internal error: the merged {path} would not parse ({exc.message}); "
            "nothing was written",
            hint="paste the fragment printed without --merge, and report this file's shape",
        ) from None
    model = model_for(entry.version)
    id_key = model.key_name("client_id")
    data = parsed.data
    node = parsed.root
    for name in _SECTIONS:
        data = data.get(name) if isinstance(data, Mapping) else None
        found = yt.own_value(node, name) if node is not None and yt.is_mapping(node) else None
        node = found[1] if found else None
    if not isinstance(data, list) or node is None:  # pragma: no cover - planner bug
        raise ApplyError(f"internal error: the merged {path} lost its clients; nothing was written")
    for index, item in enumerate(data):
        if isinstance(item, Mapping) and str(item.get(id_key, "")) == entry.client_id:
            plain = _plain(item)
            _restore_templates(plain, node.value[index], after)
            return plain, node.value[index]
    raise ApplyError(  # pragma: no cover - planner bug
        f"internal error: the merged {path} does not hold client '{entry.client_id}'; "
        "nothing was written"
    )


def _restore_templates(plain: dict[str, Any], item: Any, text: str) -> None:
    """Masked template values back to what the file says (a plain or quoted scalar's text)."""
    for key_node, value_node in yt.own_pairs(item):
        name = str(key_node.value)
        value = plain.get(name)
        if isinstance(value, str) and TEMPLATE_CHAR in value:
            plain[name] = _scalar_text(value_node, text)
        elif isinstance(value, list) and yt.is_sequence(value_node):
            plain[name] = [
                _scalar_text(node, text) if isinstance(v, str) and TEMPLATE_CHAR in v else v
                for v, node in zip(value, value_node.value, strict=False)
            ]


def _scalar_text(node: Any, text: str) -> str:
    written = text[yt.start(node) : int(node.end_mark.index)].strip()
    if len(written) >= 2 and written[0] == written[-1] and written[0] in "'\"":
        written = written[1:-1]
    return written


def plan_merge(path: Path, entry: ClientEntry, plaintext: str | None) -> MergeResult:
    """What merging ``entry`` into the file at ``path`` gives (nothing is written)."""
    path = Path(path)
    before = _read(path)
    parsed = yt.parse_text(before, str(path))
    planner = _Planner(path, parsed, entry, plaintext)
    action = planner.plan()
    after = planner.edits.apply() if planner.edits.spans else before
    if after == before:
        action = "unchanged"
    merged, _ = _entry_after(path, after, entry)
    for name, value in planner.desired.items():
        if name not in planner.kept and not _same(merged.get(name), value):
            raise ApplyError(  # pragma: no cover - planner bug; never write a wrong entry
                f"internal error: the merged {path} would hold {name} = {merged.get(name)!r}; "
                "nothing was written",
                hint="paste the fragment printed without --merge, and report this file's shape",
            )
    checked = dict(merged)
    for name in planner.kept:
        checked[name] = planner.desired[name]
    return MergeResult(
        path=path,
        action=action,
        before=before,
        after=after,
        entry=merged,
        changed_keys=tuple(planner.changed) if action != "unchanged" else (),
        kept_digest=planner.kept_digest,
        notes=tuple(planner.notes),
        kept_references=tuple(planner.kept),
        checked_entry=checked,
    )


def write_merge(result: MergeResult, keep_backups: int | None = None) -> Path | None:
    """Write ``result.after`` atomically with a backup, under a lock; returns the backup path.

    Refuses when the file changed since ``plan_merge`` read it (another writer). Through the
    safe writer (``fileio.open_target``): the symlink resolved once, the folder locked, the
    file read and replaced through the folder's descriptor, never through a planted link.
    ``keep_backups``: the newest backups kept (default ``fileio.DEFAULT_KEEP_BACKUPS``).
    """
    from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, open_target

    if result.in_sync:
        return None
    with open_target(result.path, lock=True) as target:
        if target.read() != result.before.encode("utf-8"):
            raise ApplyError(
                f"{result.path} changed while oidcsetup was merging; nothing was written",
                hint="run the command again",
            )
        return target.replace(
            result.after.encode("utf-8"),
            backup=True,
            keep_backups=DEFAULT_KEEP_BACKUPS if keep_backups is None else keep_backups,
        )
