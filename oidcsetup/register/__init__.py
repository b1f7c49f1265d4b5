"""Dynamic client registration (RFC 7591) and its management (RFC 7592) for Login OIDC.

``register_client`` creates the client at the provider's ``registration_endpoint`` (or updates
the one already registered, in place), ``check_registration`` reads it back and compares,
``delete_registration`` removes it. The redirect URIs come from the caller (the app side
computes them); credentials are stored by :mod:`oidcsetup.register.store`.
"""

from oidcsetup.register.metadata import Difference, compare, requested_metadata
from oidcsetup.register.operation import (
    RegistrationError,
    RegistrationReport,
    check_registration,
    delete_registration,
    initial_access_token,
    register_client,
)

__all__ = [
    "Difference",
    "RegistrationError",
    "RegistrationReport",
    "check_registration",
    "compare",
    "delete_registration",
    "initial_access_token",
    "register_client",
    "requested_metadata",
]
