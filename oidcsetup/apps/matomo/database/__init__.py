"""Matomo's database as an apply target: ``<prefix>plugin_setting`` and ``<prefix>loginoidc_provider``.

One module per job: ``dsn`` (where the database is), ``guard`` (verified TLS, no password to an
unverified server), ``connection`` (statements, errors, the locked transaction), ``schema``
(which tables and columns exist), ``rows`` (reading the settings as Matomo does, the plan),
``write`` (apply exactly the plan, restore), ``links`` (plugin state, account links),
``backup`` (the rows saved before each write). :class:`MatomoDatabase` is all of them on one
connection.
"""

from __future__ import annotations

from oidcsetup.apps.matomo.database.links import AccountLinks
from oidcsetup.apps.matomo.database.write import SettingsWriter


class MatomoDatabase(SettingsWriter, AccountLinks):
    """One connection to Matomo's database: read, plan, write and restore the plugin's
    settings, link accounts. Use as a context manager (``MatomoDatabase.connect(settings)``),
    or call ``close``."""
