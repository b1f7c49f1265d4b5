"""The plan for our client at Glewlwyd: what is created or changed, and the JSON to send.
Reads nothing and writes nothing: ``adminapi`` does both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oidcsetup.providers.glewlwyd.client import SECRET_KEYS, WRITE_ONLY_KEYS

MASK = "********"


@dataclass(frozen=True)
class Change:
    field: str
    old: Any  # None: absent
    new: Any  # None: removed

    def shown(self, show_secrets: bool) -> dict[str, Any]:
        hide = self.field in SECRET_KEYS and not show_secrets
        return {
            "field": self.field,
            "old": MASK if hide and self.old is not None else self.old,
            "new": MASK if hide and self.new is not None else self.new,
        }


@dataclass(frozen=True)
class GlewlwydPlan:
    client_id: str
    action: str  # "create", "update", "delete" or "none"
    changes: tuple[Change, ...]
    body: dict[str, Any] | None  # what POST/PUT sends (None: nothing to send, or a delete)

    @property
    def in_sync(self) -> bool:
        return self.action == "none"


def _same(old: Any, new: Any) -> bool:
    # Lists are sets to Login OIDC and to Glewlwyd (it checks membership): order is not drift.
    if isinstance(old, list) and isinstance(new, list):
        return sorted(map(str, old)) == sorted(map(str, new))
    return bool(old == new)


def plan_client(live: dict[str, Any] | None, desired: dict[str, Any]) -> GlewlwydPlan:
    """Make the live client carry ``desired``'s values; its other properties are kept (Glewlwyd's
    PUT replaces the whole client, so they are sent back). Write-only fields (the hashed
    ``password``) cannot be compared: they are sent with every write, never a reason for one."""
    client_id = str(desired["client_id"])
    if live is None:
        changes = tuple(
            Change(name, None, value)
            for name, value in desired.items()
            if name not in WRITE_ONLY_KEYS
        )
        return GlewlwydPlan(client_id, "create", changes, dict(desired))
    changes = tuple(
        Change(name, live.get(name), value)
        for name, value in desired.items()
        if name not in WRITE_ONLY_KEYS and not _same(live.get(name), value)
    )
    if not changes:
        return GlewlwydPlan(client_id, "none", (), None)
    return GlewlwydPlan(client_id, "update", changes, {**live, **desired})


def plan_restore(
    client_id: str, live: dict[str, Any] | None, saved: dict[str, Any] | None
) -> GlewlwydPlan:
    """Put back the client a backup holds exactly (or remove ours when there was none)."""
    if saved is None:
        if live is None:
            return GlewlwydPlan(client_id, "none", (), None)
        changes = tuple(Change(name, value, None) for name, value in live.items())
        return GlewlwydPlan(client_id, "delete", changes, None)
    names = list(saved) + [name for name in (live or {}) if name not in saved]
    changes = tuple(
        Change(name, (live or {}).get(name), saved.get(name))
        for name in names
        if live is None or not _same(live.get(name), saved.get(name))
    )
    if live is not None and not changes:
        return GlewlwydPlan(client_id, "none", (), None)
    return GlewlwydPlan(client_id, "create" if live is None else "update", changes, dict(saved))
