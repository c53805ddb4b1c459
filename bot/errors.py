"""Errors the core raises or understands."""


class LeanonError(Exception):
    """Base of leanon's own errors."""


class StorageError(LeanonError):
    """The database could not do what was asked (unreachable, locked, broken)."""


class ConfigError(LeanonError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class ChatError(LeanonError):
    """A chat platform refused or failed a call (channel gone, bot removed, outage)."""
