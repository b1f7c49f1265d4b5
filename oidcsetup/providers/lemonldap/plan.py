"""The plan for our relying party in a LemonLDAP::NG configuration: what changes, and the
configuration with the changes made. Reads only; ``confdir.save_next`` writes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from oidcsetup.providers.lemonldap.client import SECRET_KEY, LemonClient


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "oidcRPMetaDataOptions/matomo/oidcRPMetaDataOptionsClientID"
    old: Any  # None: absent
    new: Any  # None: removed

    def shown(self, show_secrets: bool) -> dict[str, Any]:
        hide = self.path.endswith("/" + SECRET_KEY) and not show_secrets
        return {
            "path": self.path,
            "old": "********" if hide and self.old is not None else self.old,
            "new": "********" if hide and self.new is not None else self.new,
        }


@dataclass(frozen=True)
class LemonPlan:
    changes: tuple[Change, ...]
    conf: dict[str, Any]  # the whole configuration as it would be stored

    @property
    def in_sync(self) -> bool:
        return not self.changes


def _same(old: Any, new: Any) -> bool:
    # the manager stores booleans as 0/1 numbers or strings: compare their text
    return old is not None and str(old) == str(new)


def plan_client(conf: dict[str, Any], client: LemonClient) -> LemonPlan:
    desired = copy.deepcopy(conf)
    changes: list[Change] = []
    options = desired.setdefault("oidcRPMetaDataOptions", {}).setdefault(client.key, {})
    for name, value in client.options.items():
        old = options.get(name)
        if value is None:
            if name in options:
                changes.append(Change(f"oidcRPMetaDataOptions/{client.key}/{name}", old, None))
                del options[name]
        elif not _same(old, value):
            changes.append(Change(f"oidcRPMetaDataOptions/{client.key}/{name}", old, value))
            options[name] = value
    exported = desired.setdefault("oidcRPMetaDataExportedVars", {}).setdefault(client.key, {})
    for claim, attribute in client.exported_vars.items():
        if exported.get(claim) != attribute:
            changes.append(
                Change(
                    f"oidcRPMetaDataExportedVars/{client.key}/{claim}",
                    exported.get(claim),
                    attribute,
                )
            )
            exported[claim] = attribute
    return LemonPlan(tuple(changes), desired)
