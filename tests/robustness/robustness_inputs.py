"""Generated command texts that leanon must refuse: every one is invalid by construction.

The same strategies feed the core, the console, Slack and Discord tests.
"""

from __future__ import annotations

from hypothesis import strategies as st

from bot.commands import (
    ChangeConfig,
    CreateAsk,
    ForgetMe,
    NudgeNow,
    NudgeOff,
    SetNamed,
    SetNudge,
    ThankMembers,
)
from tests.robustness.robustness_testing import NASTY, nasty_text, word

# The tables a command may change when it succeeds; any other command changes nothing.
MAY_CHANGE: dict[type, set[str]] = {
    SetNamed: {"members"}, ChangeConfig: {"workspaces"}, SetNudge: {"schedules"},
    NudgeOff: {"schedules"}, NudgeNow: {"schedules"}, ForgetMe: {"asks", "thanks", "members"},
    CreateAsk: {"asks"}, ThankMembers: {"thanks"},
}

KNOWN_SUBCOMMANDS = ("help", "stats", "asks", "leaderboard", "named", "config", "forget-me",
                     "forgetme", "nudge", "export")


def _words(max_size: int = 3) -> st.SearchStrategy[str]:
    return st.lists(word(), max_size=max_size).map(" ".join)


def _marked(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Words that can be nothing leanon knows: a "!" after them, and no "/"."""
    return strategy.map(lambda w: w.replace("/", "") + "!")


# A "timezone" zoneinfo looks up one package level per "/": deeper than Python's recursion
# limit, even the higher one hypothesis sets while it runs a test.
DEEP_ZONE = "a/" * 2900 + "b"
unknown_subcommand = word().filter(lambda w: w.lower() not in KNOWN_SUBCOMMANDS)

# Parts of a valid schedule, any of which may stand next to the bad part.
_WEEKDAY = st.sampled_from(["monday", "Tue", "fridays", "SUN", "thurs"])
_TIME = st.sampled_from(["09:30", "7.15", "23h59", "0:00", "12:00"])
_ZONE = st.sampled_from(["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
BAD_SCHEDULE_WORDS = (
    "25:00", "9:60", "24:00", "12:5", "1230", "12:30:00", "-1:00", "09:30am", "٢٥:٠٠", "funday",
    "mon-fri", "weekly", "Mars/Olympus", "../../etc/localtime", "/etc/localtime", "Europe/",
    "Europe//Berlin", "Europe/../Europe/Berlin", "Etc/GMT+99", "utc/", "UTC+2", "GMT", "\x00/\x00",
    "Europe/Berlin\x00", "Europe/Ber\u200dlin", "Europe/Berlin\u202e", "..", "/", "./UTC",
)
bad_schedule_word = st.one_of(
    st.sampled_from(BAD_SCHEDULE_WORDS),
    _marked(word()),                                                   # not a weekday, time or zone
    st.integers(1, 2900).map(lambda n: "a/" * n + "b"),                # very deep "zones"
    st.integers(1, 300).map(lambda n: "Europe/" + "x" * n),            # very long ones
    st.tuples(word(), word()).map(lambda t: f"{t[0]}/{t[1]}🙂"),        # no zone has an emoji
)


@st.composite
def bad_nudge(draw: st.DrawFn) -> str:
    """`nudge here` with at least one word that is no weekday, time or timezone."""
    parts = [draw(s) for s in (_WEEKDAY, _TIME, _ZONE) if draw(st.booleans())]
    parts.insert(draw(st.integers(0, len(parts))), draw(bad_schedule_word))
    return "nudge here " + " ".join(parts)


def _nudge_usage() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("nudge"),
        word().filter(lambda w: w.lower() not in {"here", "off", "preview", "now"})
              .map(lambda w: f"nudge {w}"),
        st.tuples(st.sampled_from(["off", "preview", "now"]), word())
          .map(lambda t: f"nudge {t[0]} {t[1]}"),
    )


_ON_OFF = st.one_of(st.sampled_from(["maybe", "2", "onn", "0ff", "oui", "ja", "-1", "ON!"]),
                    _marked(word()))
_DURATION_BAD = st.one_of(
    st.sampled_from(["abc", "2x", "0m", "-5m", "h", "²m", "1.5h", "m2", "2 hours", "1e3m"]),
    st.integers(20, 6000).map(lambda n: "9" * n + "d"),                # more than a timedelta holds
    _marked(word()),
)
_EMOJI_NAMES = ["pray", "clap", "tada", "+1", "fire", "100", "rocket", "eyes", "star", "muscle",
                "heart", "sparkles", "trophy"]
BAD_SETTINGS: dict[str, st.SearchStrategy[str]] = {
    "thanks-emoji": st.one_of(
        st.tuples(st.text("abcxyz_", min_size=1, max_size=8), st.sampled_from("!$<>.*?#%&=/"))
          .map("".join),
        st.lists(st.sampled_from(_EMOJI_NAMES), min_size=11, unique=True).map(",".join),
        st.integers(65, 300).map(lambda n: "x" * n),
        st.integers(9, 20).map(lambda n: "🙏🏽" * n),
        st.sampled_from([":", ",", ":,:", "::"]),
    ),
    "anonymous-asks": _ON_OFF,
    "receiver-dm": _ON_OFF,
    "leaderboard": _ON_OFF,
    "suggestions": _ON_OFF,
    "daily-allowance": st.one_of(
        st.sampled_from(["0", "1001", "-1", "1.5", "1e3", "²", "٠", "10000", "0000", "none!",
                         "½", "1,000", "one"]),
        st.integers(10, 6000).map(lambda n: "9" * n),
        _marked(word()),
    ),
    "stale-after": st.one_of(_DURATION_BAD, st.sampled_from(["9m", "8d", "2w", "5m"])),
    "tips-after": st.one_of(_DURATION_BAD, st.sampled_from(["4m", "2d", "25h", "1w", "offf"])),
    "request-after": st.one_of(_DURATION_BAD, st.sampled_from(["9m", "3d", "49h", "offf"])),
    "escalate-after": st.one_of(_DURATION_BAD, st.sampled_from(["29m", "8d", "2w", "5m"])),
    "daily-requests": st.sampled_from(["0", "11", "-1", "1.5", "²", "٠", "off", "100", "two"]),
    "expire-after": st.one_of(_DURATION_BAD, st.sampled_from(["59m", "366d", "53w", "30m"])),
}
bad_setting_key = st.one_of(
    st.sampled_from(["thanks_emojis", "anonymous", "stale", "LEADERBOARDS", "daily",
                     "expire-after-", "receiver dm", "receiver\u200b-dm", "ｌｅａｄｅｒｂｏａｒｄ"]),
    _marked(word()),
).filter(lambda k: " " not in k)


@st.composite
def bad_config_set(draw: st.DrawFn) -> str:
    """`config set <setting> <value>` with a setting that doesn't exist or a value it can't take."""
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(BAD_SETTINGS)))
        value = draw(BAD_SETTINGS[key])
    else:
        key, value = draw(bad_setting_key), draw(word())
    return f"config set {key} {value}"


def bad_leanon_text() -> st.SearchStrategy[str]:
    """Text after `/leanon` that the parser must refuse (ParseError), with a helpful message."""
    return st.one_of(
        st.tuples(unknown_subcommand, _words()).map(" ".join),
        st.sampled_from(["named", "named on off", "named yes", "config show", "config set",
                         "config set leaderboard", "forget-me now", "forgetme please"]),
        st.tuples(st.sampled_from(["named", "forget-me"]), _marked(word()))
          .map(" ".join),
        _nudge_usage(),
        bad_nudge(),
    )


def any_leanon_text() -> st.SearchStrategy[str]:
    """Any text after `/leanon`: known subcommands with hostile arguments, or hostile text."""
    return st.one_of(
        nasty_text(),
        st.tuples(st.sampled_from(KNOWN_SUBCOMMANDS), _words(4)).map(" ".join),
        st.tuples(st.sampled_from(["nudge here", "config set", "asks", "export"]),
                  st.lists(st.one_of(word(), st.sampled_from(NASTY), bad_schedule_word),
                           max_size=4).map(" ".join)).map(" ".join),
        bad_leanon_text(),
        bad_config_set(),
    )
