"""The click command-line layer: parse, build the Integration, call the library, render."""
