"""LemonLDAP::NG as the OpenID provider: the relying party for Matomo (configuration JSON and
``lemonldap-ng-cli`` commands), and its application into the File configuration backend as
LemonLDAP::NG's own tools do (a new lmConf-N.json). Never imports an app package."""

from __future__ import annotations

from oidcsetup.providers.lemonldap.client import LemonClient, build_client
from oidcsetup.providers.lemonldap.confdir import LiveConf, read_live, save_next
from oidcsetup.providers.lemonldap.plan import Change, LemonPlan, plan_client
from oidcsetup.providers.lemonldap.render import cli_commands, render_json
from oidcsetup.providers.lemonldap.validate import validate_client

__all__ = [
    "Change",
    "LemonClient",
    "LemonPlan",
    "LiveConf",
    "build_client",
    "cli_commands",
    "plan_client",
    "read_live",
    "render_json",
    "save_next",
    "validate_client",
]
