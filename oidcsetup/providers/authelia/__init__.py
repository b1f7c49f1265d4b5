"""Authelia as the OpenID provider: the client entry per version, its validation, the YAML
fragment to paste, and the merge into an existing configuration.yml.

Heavy imports (ruamel.yaml, argon2) happen inside the functions that need them.
"""

from __future__ import annotations

from oidcsetup.findings import Finding, has_errors
from oidcsetup.providers.authelia.entry import ClientEntry, build_client_entry
from oidcsetup.providers.authelia.merge import MergeResult, plan_merge, write_merge
from oidcsetup.providers.authelia.model import (
    DEFAULT_VERSION,
    SUPPORTED_VERSIONS,
    VersionModel,
    model_for,
)
from oidcsetup.providers.authelia.render import render_fragment
from oidcsetup.providers.authelia.validate import validate_entry

__all__ = [
    "DEFAULT_VERSION",
    "SUPPORTED_VERSIONS",
    "ClientEntry",
    "Finding",
    "MergeResult",
    "VersionModel",
    "build_client_entry",
    "has_errors",
    "model_for",
    "plan_merge",
    "render_fragment",
    "validate_entry",
    "write_merge",
]
