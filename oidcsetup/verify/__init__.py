"""Verifying a setup for real: a headless-browser login (browser.py)."""
