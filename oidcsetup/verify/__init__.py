"""Verifying a setup for real: ``check``'s probes and the real login.

- ``probes/`` (one module per subject: discovery, redirect, client_auth, claims, matomo), each
  returning a ``result.ProbeResult``; ``expected.py`` is what the probes compare with;
  ``runner.py`` runs them in order (``run_checks``) into a ``CheckReport``.
- The login (``login.run_login``): ``authorization`` (the request, its callback), ``callback``
  (the loopback server), ``headless`` (following redirects) or ``browser`` (a headless
  browser with a test user), ``tokens`` (code exchange, id_token, userinfo), over ``oauth``
  (the HTTP client and the client's authentication); ``authpage`` reads an authorization
  endpoint's answer.
"""
