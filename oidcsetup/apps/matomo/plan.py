"""Change and Plan: what an apply would do to a target, shared by the config file and database."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from oidcsetup.secretref import mask

SECRET_SETTINGS = frozenset({"clientSecret"})
# Words that make any setting name secret-bearing, compared case-insensitively: a hand-typed
# `clientsecret` row (which Matomo ignores, and --prune removes) holds the secret all the same.
# (Not "token" alone: tokenUrl is an endpoint.)
_SECRET_WORDS = ("secret", "passw", "pwd", "apikey", "privatekey", "accesstoken", "refreshtoken")


def looks_secret(setting: str) -> bool:
    """True for clientSecret and any setting whose name looks secret-bearing (masked in output)."""
    folded = setting.casefold()
    return setting in SECRET_SETTINGS or any(word in folded for word in _SECRET_WORDS)


class Action(StrEnum):
    ADD = "added"
    CHANGE = "changed"
    UNCHANGED = "unchanged"
    REMOVE = "removed"


@dataclass(frozen=True)
class Change:
    setting: str
    action: Action
    old: str | None  # the stored form (bools as "0"/"1"), None when absent
    new: str | None  # None for a removal

    @property
    def is_secret(self) -> bool:
        return looks_secret(self.setting)

    def shown(self, value: str | None, show_secrets: bool = False) -> str | None:
        if value is None or show_secrets or not self.is_secret:
            return value
        return mask(value)

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "action": self.action.value,
            "old": self.shown(self.old, show_secrets),
            "new": self.shown(self.new, show_secrets),
        }


@dataclass(frozen=True)
class Plan:
    target: str  # e.g. "config:/var/www/matomo/config/config.ini.php" or "db:matomo_plugin_setting"
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.UNCHANGED)

    @property
    def in_sync(self) -> bool:
        return not self.pending

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            "target": self.target,
            "in_sync": self.in_sync,
            "changes": [c.to_json(show_secrets) for c in self.changes],
        }


def diff_settings(
    current: dict[str, str],
    desired: dict[str, str],
    *,
    prune: bool = False,
    target: str,
) -> Plan:
    """Compare stored values with desired ones (both in their stored string form)."""
    changes: list[Change] = []
    for name, new in desired.items():
        old = current.get(name)
        if old is None:
            changes.append(Change(name, Action.ADD, None, new))
        elif old == new:
            changes.append(Change(name, Action.UNCHANGED, old, new))
        else:
            changes.append(Change(name, Action.CHANGE, old, new))
    if prune:
        for name, old in current.items():
            if name not in desired:
                changes.append(Change(name, Action.REMOVE, old, None))
    return Plan(target=target, changes=tuple(changes))
