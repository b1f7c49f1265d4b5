"""Add or replace our entry (by ``id``) in ``staticClients`` of the Dex config the user keeps,
keeping every other byte (yamlroundtrip.py refuses a layout it cannot keep)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oidcsetup.errors import InputError
from oidcsetup.providers.dex.client import DexClient
from oidcsetup.providers.yamlroundtrip import masked_diff, plain_nodes, read_kept, same_node


@dataclass(frozen=True)
class DexMerge:
    path: Path
    old_text: str
    new_text: str
    action: str  # "added", "updated", "unchanged"

    @property
    def in_sync(self) -> bool:
        return self.old_text == self.new_text

    def diff(self) -> str:
        # secretEnv names a variable: no secret can appear in this file through us
        return masked_diff(self.path, self.old_text, self.new_text)


def plan_dex_merge(path: Path, client: DexClient) -> DexMerge:
    kept = read_kept(
        path, "add the entry printed by `oidcsetup gen dex` under staticClients by hand"
    )
    if kept.text is None:
        raise InputError(
            f"{path} does not exist or is empty",
            hint="name Dex's configuration file (the one with issuer:, storage:, ...)",
        )
    document = kept.document
    if not hasattr(document, "get") or "issuer" not in document:
        raise InputError(
            f"{path} is not a Dex configuration (no top-level issuer:)",
            hint="name Dex's configuration file",
        )
    clients = document.get("staticClients")
    if clients is None:
        document["staticClients"] = clients = plain_nodes([])
    if not isinstance(clients, list):
        raise InputError(f"{path}: staticClients is not a list", hint="fix the file first")
    ours = plain_nodes(client.entry)
    at = next(
        (i for i, c in enumerate(clients) if hasattr(c, "get") and c.get("id") == client.client_id),
        None,
    )
    if at is None:
        clients.append(ours)
        action = "added"
    elif same_node(clients[at], ours):
        action = "unchanged"
    else:
        # keep keys the user added to the entry (trustedPeers, logoURL, ...)
        for key, value in ours.items():
            clients[at][key] = value
        if "secret" in clients[at]:
            del clients[at]["secret"]  # secretEnv replaces a plaintext secret
        action = "updated"
    new_text = kept.dump()
    if new_text == kept.text:
        action = "unchanged"
    return DexMerge(path, kept.text, new_text, action)


def write_dex_merge(merge: DexMerge) -> Path | None:
    from oidcsetup.fileio import atomic_write_text, file_lock

    if merge.in_sync:
        return None
    with file_lock(merge.path):
        return atomic_write_text(merge.path, merge.new_text)
