"""A small valid profile (oidcsetup.toml) with explicit endpoints: no provider is contacted."""

from __future__ import annotations


def minimal_profile(secret_reference: str | None = None) -> str:
    secret = f'secret = "{secret_reference}"\n' if secret_reference else ""
    return (
        '[provider]\nissuer = "https://auth.example.com"\n'
        'authorization_endpoint = "https://auth.example.com/authorize"\n'
        'token_endpoint = "https://auth.example.com/token"\n'
        'userinfo_endpoint = "https://auth.example.com/userinfo"\n'
        f'[client]\nid = "matomo"\n{secret}'
        '[app.matomo]\nurl = "https://matomo.example.com"\n'
    )
