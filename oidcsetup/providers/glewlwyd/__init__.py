"""Glewlwyd as the OpenID provider: the client JSON for Matomo (``gen glewlwyd``) and its
application through Glewlwyd's admin REST API (``apply glewlwyd``): plan, write, backup.
Never imports an app package."""

from __future__ import annotations

from oidcsetup.providers.glewlwyd.client import (
    SECRET_KEYS,
    WRITE_ONLY_KEYS,
    build_client,
    shown,
    validate_client,
)
from oidcsetup.providers.glewlwyd.plan import Change, GlewlwydPlan, plan_client, plan_restore

__all__ = [
    "SECRET_KEYS",
    "WRITE_ONLY_KEYS",
    "Change",
    "GlewlwydPlan",
    "build_client",
    "plan_client",
    "plan_restore",
    "shown",
    "validate_client",
]
