"""Real components for tests and the demo: oidc-provider (node), MariaDB, PHP."""
