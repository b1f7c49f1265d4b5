"""Names users rely on, shared by the library and the CLI (cheap to import)."""

DEFAULT_PROFILE = "oidcsetup.toml"
PROFILE_ENV = "OIDCSETUP_PROFILE"
SECRET_ENV = "OIDCSETUP_CLIENT_SECRET"
