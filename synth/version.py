"""The one place the version lives; artifacts record it."""

__version__ = "0.9.0"
