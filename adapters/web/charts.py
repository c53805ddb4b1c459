"""Charts as inline SVG, drawn on the server: no script, no network, readable at any width.

Each chart is a `<figure>` with a title, an SVG scaled by its viewBox, the values written
on the chart, and a caption. A value that is not shown (None: no data, or fewer than 5
people behind it) leaves a gap marked "–" rather than a zero. Colours pass WCAG AA
against the white background (4.5:1 for text, 3:1 for graphics), and the two series of a
chart differ in shape as well as colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

INK = "#1b1b1b"  # text: 16.9:1 on white
MUTED = "#4d4d4d"  # axis labels: 8.4:1
BLUE = "#1f5fa8"  # the first series: 6.3:1
ORANGE = "#a8430a"  # the second series: 5.9:1
GRID = "#8c8c8c"  # grid lines: 3.4:1

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 20, 40


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str = BLUE


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "h":
        return f"{value:.1f}h" if value < 10 else f"{value:.0f}h"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _scale(series: Sequence[Series], unit: str) -> float:
    """The top of the axis: 100% for shares; otherwise four steps of a round size (1, 2, 5
    and their tenths and tens) that reach past the highest value, so every label differs."""
    if unit == "%":
        return 1.0
    top = max((v for s in series for v in s.values if v is not None), default=0.0)
    steps = [m * 10.0 ** e for e in range(-1, 7) for m in (1.0, 2.0, 2.5, 5.0)]
    if unit != "h":  # counts: whole steps
        steps = [step for step in steps if step >= 1 and step == int(step)]
    step = next((step for step in steps if 4 * step >= top * 1.1), steps[-1])
    return float(4 * step)


def chart(key: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
          kind: str = "bar", unit: str = "", note: str = "", csv_href: str = "") -> str:
    """One chart: `kind` "bar" (series side by side) or "line"; `unit` "%", "h" or ""."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _scale(series, unit)
    n = max(len(labels), 1)
    slot = plot_w / n
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{key}-title" '
             f'data-chart="{key}" preserveAspectRatio="xMidYMid meet">']
    for i in range(5):  # grid and its labels
        level = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="{1 if i else 1.5}" '
                     f'stroke-dasharray="{"" if i == 0 else "2 4"}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="15" '
                     f'fill="{MUTED}">{escape(_fmt(level, unit))}</text>')
    every = max(1, -(-n // 6))  # at most 6 week labels: readable on a phone
    for i, label in enumerate(labels):
        if (n - 1 - i) % every == 0:  # the latest week always, then evenly back
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                         f'font-size="15" fill="{MUTED}">{escape(label)}</text>')
    for s_index, s in enumerate(series):
        points: list[tuple[float, float] | None] = []
        for i, value in enumerate(s.values):
            x = LEFT + slot * (i + 0.5)
            if value is None:
                parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h - 4}" text-anchor="middle" '
                             f'font-size="14" fill="{MUTED}" data-value="">–</text>')
                points.append(None)
                continue
            y = TOP + plot_h - plot_h * (value / top if top else 0)
            shown = escape(_fmt(value, unit))
            if kind == "bar":
                width = slot * 0.8 / len(series)
                bx = LEFT + slot * i + slot * 0.1 + width * s_index
                parts.append(f'<rect x="{bx:.1f}" y="{y:.1f}" width="{width:.1f}" '
                             f'height="{TOP + plot_h - y:.1f}" fill="{s.colour}">'
                             f'<title>{escape(labels[i])}: {shown} {escape(s.name)}</title></rect>')
                if n <= 26:
                    parts.append(f'<text x="{bx + width / 2:.1f}" y="{y - 4:.1f}" '
                                 f'text-anchor="middle" font-size="13" fill="{INK}" '
                                 f'data-value="{shown}">{shown}</text>')
            else:
                points.append((x, y))
                mark = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{s.colour}"/>'
                        if s_index == 0 else
                        f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{s.colour}"/>')
                parts.append(mark)
                if n <= 26:
                    parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" '
                                 f'font-size="13" fill="{INK}" data-value="{shown}">{shown}</text>')
        if kind == "line":
            run: list[str] = []
            for point in [*points, None]:
                if point is None:
                    if len(run) > 1:
                        parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                                     f'stroke="{s.colour}" stroke-width="2.5"/>')
                    run = []
                else:
                    run.append(f"{point[0]:.1f},{point[1]:.1f}")
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{s.colour}"></span>'
        f'{escape(s.name)}</span>' for s in series) if len(series) > 1 else ""
    download = f' <a class="csv" href="{escape(csv_href)}" download>Download CSV</a>' if csv_href else ""
    caption = f"<figcaption>{escape(note)}{download}</figcaption>" if note or download else ""
    return (f'<figure class="chart" id="{key}"><h2 id="{key}-title">{escape(title)}</h2>'
            f'{legend}{"".join(parts)}{caption}</figure>')
