"""Errors the core raises or understands."""


class LeanonError(Exception):
    """Base of leanon's own errors."""


class StorageError(LeanonError):
    """The database could not do what was asked (unreachable, locked, broken)."""


class ConfigError(LeanonError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class ChatError(LeanonError):
    """A chat platform refused or failed a call (channel gone, bot removed, outage).

    `permanent` errors will fail again however often they are tried (archived channel,
    bot removed, no permission); the others may pass later.
    """

    def __init__(self, message: str, *, permanent: bool = False, code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code  # the platform's own name for the error, when it gave one
