"""Provider sides: one module per OpenID provider that can be configured from an Integration."""
