"""The insights page's drawing: colours that pass WCAG AA, nothing a member wrote ever
read as markup, gaps where a number is withheld."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.web import charts
from adapters.web.insights import render, table
from bot.domain import Platform, WorkspaceRef
from bot.insights import ChannelNumbers, Insights, Ladder, WaitingAsk, WeekNumbers

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(colour: str, background: str = "#ffffff") -> float:
    light, dark = sorted((luminance(colour), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_colours_pass_wcag_aa_on_white() -> None:
    for text in (charts.INK, charts.MUTED):
        assert contrast(text) >= 4.5
    for graphic in (charts.BLUE, charts.ORANGE):
        assert contrast(graphic) >= 4.5  # they also colour the value labels' bars
    assert contrast(charts.GRID) >= 3.0
    assert contrast("#ffffff", "#1f5fa8") >= 4.5  # the buttons' white text


def numbers(text: str = "<script>alert(1)</script> & more") -> Insights:
    week = WeekNumbers(NOW - timedelta(days=7), 6, 2, timedelta(minutes=30), 0.25, 3, None, None, 1)
    return Insights(
        workspace=WorkspaceRef(Platform.SLACK, "T1"), weeks_count=4, channel=None,
        since=NOW - timedelta(days=28), until=NOW, weeks=[week] * 4,
        channels=[ChannelNumbers('C"><img src=x>', None, None, None, None, None)],
        all_channels=['C"><img src=x>'],
        waiting=[WaitingAsk(7, "C1", text, timedelta(hours=30), "javascript:alert(1)")],
        recurring=[text], ladder=Ladder(2, 1, 0))


def test_nothing_a_member_wrote_is_read_as_markup() -> None:
    page = render(numbers())
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert '<img src=x>' not in page and "&quot;&gt;&lt;img src=x&gt;" in page
    assert "javascript:" not in page  # only web addresses are linked


def test_withheld_numbers_show_as_gaps_and_fewer_than_5() -> None:
    page = render(numbers())
    assert page.count('data-value="">–</text>') == 8  # first-time askers and the top-3 share
    rows = table(numbers(), "first-time")
    assert rows is not None and [r[1] for r in rows[1:]] == ["fewer than 5"] * 4
    channels = table(numbers(), "channels")
    assert channels is not None and channels[1][1:] == ["fewer than 5"] * 5
    assert table(numbers(), "nothing") is None


def test_axis_steps_are_round_and_distinct() -> None:
    svg = charts.chart("k", "t", ["a", "b"], [charts.Series("s", [3, 1])])
    labels = [part.split(">")[1].split("<")[0] for part in svg.split('text-anchor="end"')[1:]]
    assert labels == ["0", "1", "2", "3", "4"]
