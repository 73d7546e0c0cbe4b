"""The one exception type a user can cause; the CLIs print it without a traceback."""


class SynthError(Exception):
    """Bad input with a fix: the message says what was wrong and what to do."""
