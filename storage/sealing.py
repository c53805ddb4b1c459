"""Secrets at rest: Slack bot tokens sealed with the Fernet keys of LEANON_SECRET_KEYS.

`LEANON_SECRET_KEYS` holds one or more Fernet keys, comma-separated, newest first: new
tokens are sealed with the first, and any of them opens a stored token, so a key is
rotated by putting a new one in front, restarting (every stored token is sealed again
with it, see `SqlInstallationStore.seal_stored`) and then dropping the old one.
A sealed value is `fernet:<token>`; a value without the prefix is a token stored in clear
(before a key was set), opened as it is and sealed at the next start.

`cryptography` (some 6 MB of a process) is imported only when there is a key.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import ConfigError, StorageError

PREFIX = "fernet:"


class TokenCipher:
    """Seals and opens stored tokens with the configured keys (the first one seals)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigError("LEANON_SECRET_KEYS: no key given")
        from cryptography.fernet import Fernet, InvalidToken, MultiFernet

        self._invalid = InvalidToken
        try:
            self._fernets = [Fernet(key.strip().encode()) for key in keys]
        except ValueError:
            raise ConfigError("LEANON_SECRET_KEYS: each key must be a Fernet key (44 characters of "
                              "url-safe base64; make one with `leanon secret-key`)") from None
        self._multi = MultiFernet(self._fernets)

    @classmethod
    def from_setting(cls, value: str | None) -> TokenCipher | None:
        """The cipher of a LEANON_SECRET_KEYS value, or None when it is unset or empty."""
        keys = [key for key in (value or "").split(",") if key.strip()]
        return cls(keys) if keys else None

    @staticmethod
    def new_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def seal(self, token: str) -> str:
        return PREFIX + self._multi.encrypt(token.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._multi.decrypt(stored[len(PREFIX):].encode()).decode()
        except self._invalid:
            raise StorageError("a stored bot token opens with none of LEANON_SECRET_KEYS "
                               "(was the key that sealed it removed?)") from None

    def reseal(self, stored: str) -> str | None:
        """`stored` sealed with the newest key, or None when it already is."""
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        token = stored[len(PREFIX):].encode()
        try:
            self._fernets[0].decrypt(token)
            return None
        except self._invalid:
            pass
        try:
            return PREFIX + self._multi.rotate(token).decode()
        except self._invalid:
            raise StorageError("a stored bot token opens with none of LEANON_SECRET_KEYS "
                               "(was the key that sealed it removed?)") from None


def open_token(cipher: TokenCipher | None, stored: str) -> str:
    """The token of a stored value (sealed or in clear)."""
    if cipher is not None:
        return cipher.open(stored)
    if stored.startswith(PREFIX):
        raise StorageError("bot tokens in the database are sealed: set LEANON_SECRET_KEYS")
    return stored
