"""The one place the version lives; artifacts record it."""

__version__ = "0.2.0"
