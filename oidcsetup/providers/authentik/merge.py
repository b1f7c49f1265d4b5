"""Merge our two entries into a blueprint the user keeps: add them, or replace the ones with
the same identifiers, and keep every other byte (yamlroundtrip.py: a layout that cannot be kept
byte for byte is refused)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oidcsetup.errors import ApplyError, InputError
from oidcsetup.providers.authentik.blueprint import (
    APPLICATION_MODEL,
    PROVIDER_MODEL,
    Blueprint,
    KeyOf,
)
from oidcsetup.providers.authentik.render import render_blueprint, to_nodes
from oidcsetup.providers.yamlroundtrip import masked_diff, read_kept, same_node


@dataclass(frozen=True)
class BlueprintMerge:
    path: Path
    old_text: str | None  # None: the file does not exist yet
    new_text: str
    action: str  # "created" (file), "added", "updated", "unchanged", "replaced"
    secret: str | None  # a plaintext secret the diff must mask

    @property
    def in_sync(self) -> bool:
        return self.old_text == self.new_text

    def diff(self, show_secrets: bool = False) -> str:
        hidden = () if show_secrets or not self.secret else (self.secret,)
        return masked_diff(self.path, self.old_text, self.new_text, hidden)


def _find(entries: Any, model: str, key: str, value: str) -> int | None:
    for index, entry in enumerate(entries):
        if not hasattr(entry, "get") or entry.get("model") != model:
            continue
        identifiers = entry.get("identifiers")
        if hasattr(identifiers, "get") and identifiers.get(key) == value:
            return index
    return None


def plan_blueprint_merge(path: Path, blueprint: Blueprint, secret: str | None) -> BlueprintMerge:
    """What the file would hold with our entries in it; reads only."""
    kept = read_kept(
        path,
        "add the entries printed by `oidcsetup gen authentik` by hand, or keep ours in a "
        "blueprint file of their own (--output FILE)",
    )
    if kept.text is None:
        return BlueprintMerge(path, kept.text, render_blueprint(blueprint), "created", secret)
    document = kept.document
    if not hasattr(document, "get") or not isinstance(document.get("entries", []), list):
        raise InputError(
            f"{path} is not an authentik blueprint (no mapping with a list of entries)",
            hint="name the blueprint file that should hold the Matomo provider",
        )
    if "entries" not in document:
        document["entries"] = to_nodes([])
    entries = document["entries"]
    provider = dict(blueprint.provider)
    application = dict(blueprint.application)
    name = provider["identifiers"]["name"]
    at_provider = _find(entries, PROVIDER_MODEL, "name", name)
    at_application = _find(entries, APPLICATION_MODEL, "slug", blueprint.slug)
    if at_provider is not None and entries[at_provider].get("id"):
        # keep the id the file already uses, so other entries' !KeyOf still resolve
        provider["id"] = str(entries[at_provider]["id"])
        application["attrs"] = {**application["attrs"], "provider": KeyOf(provider["id"])}
    for index, entry in ((at_application, application), (at_provider, provider)):
        if index is not None and not same_node(entries[index], to_nodes(entry)):
            entries[index] = to_nodes(entry)
    if at_provider is None:
        # !KeyOf resolves an entry applied before it: the provider goes before its application
        where = at_application if at_application is not None else len(entries)
        entries.insert(where, to_nodes(provider))
    if at_application is None:
        entries.append(to_nodes(application))
    new_text = kept.dump()
    if new_text == kept.text:
        action = "unchanged"
    elif at_provider is None and at_application is None:
        action = "added"
    else:
        action = "updated"
    return BlueprintMerge(path, kept.text, new_text, action, secret)


def write_blueprint_merge(merge: BlueprintMerge) -> Path | None:
    """Write the merged file atomically with a backup; a plaintext secret only into a file no
    one else can read (mode 0600 when new). Returns the backup."""
    from oidcsetup.fileio import atomic_write_text, file_lock

    if merge.in_sync:
        return None
    if merge.secret is not None and merge.old_text is not None:
        mode = stat.S_IMODE(os.stat(merge.path).st_mode)
        if mode & 0o077:
            raise ApplyError(
                f"{merge.path} is readable by others (mode {mode:04o}) and would hold the client "
                "secret in clear; nothing was written",
                hint="chmod 600 it, or pass --secret-env NAME so that authentik reads the "
                "secret from its environment",
            )
    with file_lock(merge.path):
        return atomic_write_text(
            merge.path, merge.new_text, mode=0o600 if merge.old_text is None else None
        )
