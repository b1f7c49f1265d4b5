"""authentik as the OpenID provider: a blueprint (OAuth2 provider + application) for Matomo,
its validation against the rules of authentik's blueprint schema, the YAML, and the merge into
a blueprint the user keeps. Pure functions of (Integration, redirect URIs, secret); ruamel is
imported inside the functions that need it.
"""

from __future__ import annotations

from oidcsetup.providers.authentik.blueprint import (
    Blueprint,
    Env,
    Find,
    KeyOf,
    build_blueprint,
    default_slug,
    issuer_for,
)
from oidcsetup.providers.authentik.merge import (
    BlueprintMerge,
    plan_blueprint_merge,
    write_blueprint_merge,
)
from oidcsetup.providers.authentik.render import render_blueprint
from oidcsetup.providers.authentik.validate import validate_blueprint

__all__ = [
    "Blueprint",
    "BlueprintMerge",
    "Env",
    "Find",
    "KeyOf",
    "build_blueprint",
    "default_slug",
    "issuer_for",
    "plan_blueprint_merge",
    "render_blueprint",
    "validate_blueprint",
    "write_blueprint_merge",
]
