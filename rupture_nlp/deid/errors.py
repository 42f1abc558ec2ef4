"""The error raised when de-identification cannot run as asked."""


class MissingDependency(RuntimeError):
    """A library de-identification needs is not installed; the message says what to install."""
