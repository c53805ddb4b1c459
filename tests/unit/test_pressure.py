"""bot.inbox.Pressure: answers per second over a sliding window of two one-second buckets."""

from __future__ import annotations

import pytest

from bot.inbox import Pressure


def test_the_rate_counts_the_last_second_and_forgets_older_ones() -> None:
    now = [100.0]
    pressure = Pressure(high=50, clock=lambda: now[0])
    assert pressure.rate() == 0 and not pressure.high_now
    pressure.note(60)
    assert pressure.rate() == 60 and pressure.high_now
    now[0] = 101.25  # a quarter into the next second: 3/4 of the last one still counts
    assert pressure.rate() == pytest.approx(45)
    assert not pressure.high_now
    pressure.note(10)
    assert pressure.rate() == pytest.approx(55) and pressure.high_now
    now[0] = 103.0  # two seconds on: nothing counts
    assert pressure.rate() == 0 and not pressure.high_now
