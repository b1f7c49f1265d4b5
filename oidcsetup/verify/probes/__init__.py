"""``check``'s probes, one module per subject; each returns a ``verify.result.ProbeResult``."""
