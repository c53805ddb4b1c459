"""Text helpers: mention neutralisation, the "be specific" check, short previews."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from datetime import timedelta

ZWSP = "\u200b"

# Mention markup: Slack <@U1>, <!here>, <!subteam^S1>, <#C1>; Discord <@1>, <@!1>, <@&1>.
_MARKUP = re.compile(r"<([@!#&]{1,2})([^<>\s]{0,80})>")
# Any other "<" before a sigil (markup with spaces or over 80 characters, or left behind
# by the substitution above, as in "<<@U1>>"): it gets a zero-width space after the "<".
_OPENER = re.compile(r"<(?=[@!#&])")
# Bare broadcast words: @here, @channel, @everyone, @all (any case).
_BROADCAST = re.compile(r"@(?=(here|channel|everyone|all)\b)", re.IGNORECASE)
# Control characters other than newline and tab.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# English words too common to tell one question from another: the search leaves them out
# of the words it compares and of full-text queries (PostgreSQL's english configuration
# drops the like; SQLite's FTS5 keeps every word).
COMMON_WORDS = frozenset((
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "down", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here",
    "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
    "our", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to",
    "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your",
))


def neutralise_mentions(text: str) -> str:
    """Make user text unable to ping anyone on any platform.

    Mention markup loses its angle brackets and gets a zero-width space after the
    sigil; any other `<` before a sigil gets a zero-width space after it; bare
    `@here`-style words get a zero-width space after the `@`.
    """
    text = _MARKUP.sub(lambda m: f"{m.group(1)}{ZWSP}{m.group(2)}", text)
    text = _OPENER.sub("<" + ZWSP, text)
    return _BROADCAST.sub("@" + ZWSP, text)


# NFC takes time that grows with the square of a run of combining marks, and it never
# makes text more than three times shorter: text over three times its limit is refused
# before it is normalised (a quarter megabyte of crafted marks cost 18 s of CPU).
NFC_MAX_SHRINK = 3


def too_long(text: str, limit: int) -> bool:
    """Whether `text` is over `limit` characters however it normalises (checked first)."""
    return len(text) > NFC_MAX_SHRINK * limit


def clean_user_text(text: str) -> str:
    """Normalise what a member typed: NFC, no control characters, trimmed. Check
    `too_long` first."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


_QUESTION_WORDS = {
    "how", "what", "why", "where", "when", "who", "which", "can", "could", "should",
    "would", "is", "are", "does", "do", "did", "anyone", "anybody", "help", "stuck",
    "error", "fails", "failing", "broken", "need", "know", "idea", "ideas", "advice",
    "review", "explain", "understand", "best", "way", "wondering",
}


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def needs_specific_tip(text: str) -> bool:
    """True when an ask is very short or has nothing question-like in it."""
    words = [w.lower() for w in re.findall(r"\w+", text)]
    if len(words) < 6:
        return True
    return "?" not in text and not _QUESTION_WORDS.intersection(words)


def quoted(text: str, limit: int = 40) -> str:
    """What a member wrote, cut short to be quoted back in an error message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def preview(text: str, limit: int = 80) -> str:
    """The first line of a text, cut to `limit` characters with an ellipsis."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the word that goes with it: 1 ask, 2 asks, 0 asks (`words` when not word+s)."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def were(n: int) -> str:
    return "was" if n == 1 else "were"


def ago(delta: timedelta) -> str:
    """How long ago: just now, 45m ago, 2h ago."""
    return "just now" if delta < timedelta(minutes=1) else f"{format_duration(delta)} ago"


def format_duration(delta: timedelta) -> str:
    """A short human duration: 45m, 2h, 3d, 1h30m."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 60 * 24:
        hours, rest = divmod(minutes, 60)
        return f"{hours}h" + (f"{rest}m" if rest else "")
    days, rest = divmod(minutes, 60 * 24)
    return f"{days}d" + (f"{rest // 60}h" if rest // 60 else "")


_DURATION = re.compile(r"(\d+)\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


DURATION_MAX_CHARS = 32


def parse_duration(text: str) -> timedelta | None:
    """Parse `90m`, `2h`, `1h30m`, `14d`, `2w`; None when it is not a duration (or longer
    than any: the pattern's backtracking grows with the square of a run of digits)."""
    if len(text) > DURATION_MAX_CHARS:
        return None
    compact = text.strip().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        return None
    try:
        seconds = sum(int(n) * _UNITS[u.lower()] for n, u in _DURATION.findall(compact))
        return timedelta(seconds=seconds) if seconds > 0 else None
    except (OverflowError, ValueError):  # more digits than int() or timedelta take
        return None


# Longer than any IANA name; zoneinfo recurses once per "/" and fails on very long ones.
TIMEZONE_MAX_CHARS = 64


@functools.cache
def _zones_by_lower_case() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def zone_name(name: str) -> str | None:
    """The IANA timezone `name` stands for, in any case (europe/berlin is Europe/Berlin);
    None when there is none."""
    name = name.strip()
    if not name or len(name) > TIMEZONE_MAX_CHARS:
        return None
    for candidate in (name, _zones_by_lower_case().get(name.lower())):
        if candidate is not None:
            try:
                return zoneinfo.ZoneInfo(candidate).key
            except (ValueError, KeyError):
                continue
    return None
