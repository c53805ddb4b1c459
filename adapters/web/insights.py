"""The insights page's routes on leanon's HTTP server.

- `GET /insights/login/{token}`: a one-time link from `/leanon insights`; starts a session
  (cookie `leanon_insights`: HttpOnly, SameSite=Lax, Path=/insights, Secure behind HTTPS)
  and goes on to the page. An unknown, used or expired link gets 403 and a way back.
- `GET /insights?weeks=12&channel=C1`: the page, for the session's workspace only.
- `GET /insights/data/{chart}.csv`: a chart's numbers, as shown.
- `POST /insights/logout`: ends the session.

Without a session every path but the login answers 401 with how to sign in. The numbers
and who may see them are the core's (`bot.insights`); this module draws them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from aiohttp import web

from adapters.web.charts import BLUE, ORANGE, Series, chart
from bot import insights as core
from bot.deps import Deps
from bot.domain import Signed
from bot.insights import FEWEST, Insights, WeekNumbers

COOKIE = "leanon_insights"
FEWER = f"fewer than {FEWEST}"
PRIVACY = (f"No number here is about one person: groups of fewer than {FEWEST} people show as "
           f"“{FEWER}”, and anonymous asks count only in totals.")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def install(application: web.Application, deps: Deps) -> None:
    pages = _Pages(deps)
    application.router.add_get("/insights/login/{token}", pages.login)
    application.router.add_get("/insights", pages.page)
    application.router.add_get("/insights/data/{chart}.csv", pages.csv)
    application.router.add_post("/insights/logout", pages.logout)


def _html(body: str, status: int = 200, title: str = "leanon insights") -> web.Response:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head>
<body><main>{body}</main></body></html>"""
    return web.Response(text=document, content_type="text/html", status=status, headers=HEADERS)


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _hours(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds() / 3600


def _label(start: datetime) -> str:
    return f"{start:%d %b}"


def _shown(value: object, withheld: str = FEWER) -> str:
    if value is None:
        return withheld
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 3600:.2f}"
    return str(value)


# Each chart's CSV: its columns and, for a week, the values (None: not shown).
WEEKLY: dict[str, tuple[list[str], Callable[[WeekNumbers], list[object]]]] = {
    "asks": (["asks opened", "asks resolved"], lambda w: [w.opened, w.resolved]),
    "first-offer": (["median hours to a first offer"], lambda w: [w.median_first_offer]),
    "unanswered": (["share of asks with no offer after 24 hours"], lambda w: [w.unanswered_share]),
    "thanks": (["thanks given"], lambda w: [w.thanks]),
    "first-time": (["first-time askers"], lambda w: [w.first_time_askers]),
    "concentration": (["share of offers by the 3 busiest helpers"], lambda w: [w.top_three_share]),
    "memory": (["asks answered from memory"], lambda w: [w.from_memory]),
}


class _Pages:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _signed(self, request: web.Request) -> Signed | None:
        session = request.cookies.get(COOKIE, "")
        if not session or len(session) > 100 or not set(session) <= TOKEN_CHARS:
            return None
        return await core.signed_in(self.deps, session)

    async def login(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        started = None
        if len(token) <= 100 and set(token) <= TOKEN_CHARS:
            started = await core.sign_in(self.deps, token)
        if started is None:
            return _html("<h1>This link does not work</h1><p>A sign-in link works once, for "
                         f"{core.LINK_MINUTES} minutes. Ask for a new one in chat with "
                         "<code>/leanon insights</code>.</p>", status=403,
                         title="leanon insights: link refused")
        session, signed = started
        response = web.Response(status=303, headers={**HEADERS, "Location": "/insights"})
        response.set_cookie(COOKIE, session, path="/insights", httponly=True, samesite="Lax",
                            secure=_secure(request),
                            max_age=int((signed.expires_at - self.deps.clock.now()).total_seconds()))
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = request.cookies.get(COOKIE, "")
        if session and len(session) <= 100 and set(session) <= TOKEN_CHARS:
            await core.sign_out(self.deps, session)
        response = _html("<h1>Signed out</h1><p>Your session has ended. <code>/leanon "
                         "insights</code> in chat gives a new link.</p>", title="leanon insights: signed out")
        response.del_cookie(COOKIE, path="/insights")
        return response

    async def _numbers(self, request: web.Request) -> Insights | web.Response:
        signed = await self._signed(request)
        if signed is None:
            return _html("<h1>Sign in first</h1><p>Admins get a private sign-in link in chat "
                         "with <code>/leanon insights</code>.</p>", status=401,
                         title="leanon insights: sign in")
        weeks = request.query.get("weeks", str(core.DEFAULT_WEEKS))
        channel = request.query.get("channel") or None
        numbers = await core.insights(self.deps, signed.workspace,
                                      int(weeks) if weeks.isdecimal() and len(weeks) < 3
                                      else core.DEFAULT_WEEKS, None)
        if channel is not None:
            if channel not in numbers.all_channels:
                return _html("<h1>No such channel</h1><p>That channel has no asks or thanks in "
                             "this workspace in the period. <a href=\"/insights\">All channels"
                             "</a></p>", status=404, title="leanon insights: no such channel")
            numbers = await core.insights(self.deps, signed.workspace, numbers.weeks_count, channel)
        return numbers

    async def page(self, request: web.Request) -> web.StreamResponse:
        numbers = await self._numbers(request)
        if isinstance(numbers, web.Response):
            return numbers
        return _html(render(numbers))

    async def csv(self, request: web.Request) -> web.StreamResponse:
        numbers = await self._numbers(request)
        if isinstance(numbers, web.Response):
            return numbers
        name = request.match_info["chart"]
        rows = table(numbers, name)
        if rows is None:
            raise web.HTTPNotFound(text="no such chart")
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        where = numbers.channel or "all-channels"
        return web.Response(text=out.getvalue(), content_type="text/csv", headers={
            **HEADERS, "Content-Disposition":
            f'attachment; filename="leanon-{name}-{where}-{numbers.weeks_count}w.csv"'})


def table(numbers: Insights, name: str) -> list[list[str]] | None:
    """A chart's CSV rows (the header first), as the page shows them; None: no such chart."""
    if name in WEEKLY:
        columns, values = WEEKLY[name]
        return [["week starting", *columns], *(
            [f"{w.start:%Y-%m-%d}", *(_shown(v) for v in values(w))] for w in numbers.weeks)]
    if name == "channels":
        return [["channel", "asks opened", "asks resolved", "median hours to a first offer",
                 "share with no offer after 24 hours", "thanks given"], *(
            [c.channel_id, *(_shown(v) for v in (c.opened, c.resolved, c.median_first_offer,
                                                 c.unanswered_share, c.thanks))]
            for c in numbers.channels)]
    if name == "waiting":
        return [["ask", "channel", "hours waiting", "link", "question"], *(
            [str(a.id), a.channel_id, f"{a.waited.total_seconds() / 3600:.1f}", a.url or "", a.text]
            for a in numbers.waiting)]
    return None


def _query(numbers: Insights, **changes: Any) -> str:
    values = {"weeks": numbers.weeks_count, "channel": numbers.channel, **changes}
    return "&".join(f"{k}={escape(str(v))}" for k, v in values.items() if v)


def _csv_href(numbers: Insights, name: str) -> str:
    return f"/insights/data/{name}.csv?{_query(numbers)}"


def _percent(value: float | None) -> str:
    return FEWER if value is None else f"{value * 100:.0f}%"


def render(numbers: Insights) -> str:
    weeks = numbers.weeks
    labels = [_label(w.start) for w in weeks]

    def one(key: str, title: str, values: Sequence[float | None], **kw: Any) -> str:
        return chart(key, title, labels, [Series(title, values)], csv_href=_csv_href(numbers, key), **kw)

    charts = [
        chart("asks", "Asks opened and resolved", labels,
              [Series("opened", [w.opened for w in weeks], BLUE),
               Series("resolved", [w.resolved for w in weeks], ORANGE)],
              csv_href=_csv_href(numbers, "asks")),
        one("first-offer", "Median time to a first offer (hours)",
            [_hours(w.median_first_offer) for w in weeks], kind="line", unit="h",
            note="A gap: no ask of that week got an offer."),
        one("unanswered", "Asks with no offer after 24 hours",
            [w.unanswered_share for w in weeks], kind="line", unit="%"),
        one("thanks", "Thanks given", [w.thanks for w in weeks]),
        one("first-time", "First-time askers", [w.first_time_askers for w in weeks],
            note=f"Is asking becoming normal? A gap: {FEWER} people that week."),
        one("concentration", "Share of help given by the 3 busiest helpers",
            [w.top_three_share for w in weeks], kind="line", unit="%",
            note=f"Lower is healthier: help spread over more people. Never a ranking. A gap: "
                 f"{FEWER} helpers that week."),
        one("memory", "Asks answered from memory", [w.from_memory for w in weeks],
            note="Asks resolved with “This solved it”: an earlier answer that leanon remembered."),
    ]
    options = "".join(
        f'<option value="{w}"{" selected" if w == numbers.weeks_count else ""}>last {w} weeks</option>'
        for w in core.PERIODS)
    channel_options = '<option value="">all channels</option>' + "".join(
        f'<option value="{escape(c)}"{" selected" if c == numbers.channel else ""}>{escape(c)}</option>'
        for c in numbers.all_channels)
    channel_rows = "".join(
        f"<tr><td>{escape(c.channel_id)}</td>" + "".join(
            f"<td>{escape(v)}</td>" for v in (
                _shown(c.opened), _shown(c.resolved),
                FEWER if c.opened is None else (
                    "–" if c.median_first_offer is None else
                    f"{c.median_first_offer.total_seconds() / 3600:.1f} h"),
                FEWER if c.opened is None else (
                    "–" if c.unanswered_share is None else _percent(c.unanswered_share)),
                _shown(c.thanks))) + "</tr>"
        for c in numbers.channels)
    waiting = "".join(
        ("<li>" + (f'<a href="{escape(a.url)}" rel="noreferrer">{escape(a.text)}</a>'
                   if a.url and a.url.startswith(("https://", "http://")) else escape(a.text))
         + f' <span class="meta">#{a.id} · {escape(a.channel_id)} · waiting '
           f'{_waited(a.waited)}</span></li>')
        for a in numbers.waiting) or "<li>No open asks right now.</li>"
    recurring = "".join(f"<li>{escape(q)}</li>" for q in numbers.recurring) or (
        "<li>None: every answer suggested more than once has a note on what solved it.</li>")
    ladder = numbers.ladder
    charts_or_withheld = (
        f'<p class="withheld">{FEWER.capitalize()} people asked or helped here in this period, '
        "so its numbers are not shown.</p>" if numbers.withheld
        else f'<section class="charts">{"".join(charts)}</section>')
    where = "all channels" if numbers.channel is None else escape(numbers.channel)
    return f"""
<header><h1>leanon insights</h1>
<p class="meta">{escape(str(numbers.workspace))} · {where} · the {numbers.weeks_count} weeks to
{numbers.until:%d %B %Y}</p>
<form method="post" action="/insights/logout"><button type="submit">Sign out</button></form>
</header>
<p class="privacy">{escape(PRIVACY)}</p>
<form class="choose" method="get" action="/insights">
<label>Period <select name="weeks">{options}</select></label>
<label>Channel <select name="channel">{channel_options}</select></label>
<button type="submit">Show</button></form>
{charts_or_withheld}
<section><h2>Help arrives: the escalation ladder</h2>
<table>
<tr><th>asks whose helpers were asked to look</th>
<td data-number="requested">{ladder.requested}</td></tr>
<tr><th>of those, asks that then got an offer</th>
<td data-number="offered-after">{ladder.offered_after}</td></tr>
<tr><th>asks posted in the escalation channel</th>
<td data-number="escalated">{ladder.escalated}</td></tr>
</table></section>
<section><h2>Topics that keep coming back</h2><p class="meta">Suggested again and again, and
nobody has written down what solved them.</p><ul>{recurring}</ul></section>
<section><h2>Open asks waiting now</h2><ul class="waiting">{waiting}</ul>
<p><a class="csv" href="{_csv_href(numbers, "waiting")}" download>Download CSV</a></p></section>
<section><h2>By channel</h2><div class="scroll"><table class="channels">
<tr><th>channel</th><th>asks opened</th><th>resolved</th><th>median to a first offer</th>
<th>no offer after 24 h</th><th>thanks</th></tr>{channel_rows}</table></div>
<p><a class="csv" href="{_csv_href(numbers, "channels")}" download>Download CSV</a></p></section>
"""


def _waited(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


STYLE = """
:root { color: #1b1b1b; background: #ffffff; font: 16px/1.5 system-ui, sans-serif; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1rem; }
header h1 { margin: 0; font-size: 1.6rem; }
header form { margin-left: auto; }
.meta { color: #4d4d4d; }
.privacy { background: #eef3fa; border-left: 4px solid #1f5fa8; padding: .5rem .75rem; }
.choose { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; margin: 1rem 0; }
select, button { font: inherit; padding: .35rem .6rem; border: 1px solid #4d4d4d;
  border-radius: 4px; background: #ffffff; color: #1b1b1b; }
button { background: #1f5fa8; color: #ffffff; border-color: #1f5fa8; cursor: pointer; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr));
  gap: 1rem; }
.chart { margin: 0; padding: .75rem; border: 1px solid #c7c7c7; border-radius: 6px; }
.chart h2 { font-size: 1.05rem; margin: 0 0 .25rem; }
.chart svg { width: 100%; height: auto; display: block; }
figcaption { color: #4d4d4d; font-size: .9rem; }
.key { margin-right: 1rem; font-size: .9rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
  vertical-align: -1px; }
a { color: #1a4f8c; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #c7c7c7; }
.scroll { overflow-x: auto; }
section { margin-top: 1.5rem; }
"""
