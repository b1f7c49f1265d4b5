"""Matomo with the Login OIDC plugin."""
