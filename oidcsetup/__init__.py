"""oidcsetup: wire an OpenID Connect provider to an application, correctly the first time."""

__version__ = "0.1.0"
