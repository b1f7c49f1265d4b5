"""App sides: one package per application that logs in through the provider."""
