"""The insights page over HTTP: sign-in by a one-time link, the session's cookie, the
page and its CSVs for the session's workspace only, refusals, sign-out."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import aiohttp

from tests.web.web_testing import OTHER, Served, served


def session() -> aiohttp.ClientSession:
    # The server is 127.0.0.1: aiohttp's jar keeps cookies of an IP address only when unsafe.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def signed_in(http: aiohttp.ClientSession, site: Served) -> aiohttp.ClientResponse:
    return await http.get(await site.link(), allow_redirects=True)


async def test_a_link_signs_in_once_with_a_strict_cookie(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        link = await site.link()
        async with http.get(link, allow_redirects=False) as first:
            assert first.status == 303 and first.headers["Location"] == "/insights"
            cookie = first.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/insights" in cookie
        assert "Secure" not in cookie  # plain HTTP here; behind HTTPS it is Secure
        async with http.get(f"{site.base}/insights") as page:
            body = await page.text()
            assert page.status == 200
            assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "leanon insights" in body and "fewer than 5" in body
        async with session() as stranger, stranger.get(link) as again:
            assert again.status == 403 and "This link does not work" in await again.text()
        async with http.get(f"{site.base}/insights", headers={"X-Forwarded-Proto": "https"}):
            pass
        async with session() as proxied, proxied.get(
                await site.link(), allow_redirects=False,
                headers={"X-Forwarded-Proto": "https"}) as secure:
            assert "Secure" in secure.headers["Set-Cookie"]


async def test_without_a_session_nothing_is_shown(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        for path in ("/insights", "/insights/data/asks.csv", "/insights/login/not-a-token",
                     "/insights/login/" + "x" * 500):
            async with http.get(site.base + path) as response:
                assert response.status in (401, 403), path
                assert "U_ASK" not in await response.text()
        http.cookie_jar.update_cookies({"leanon_insights": "forged-session-token"})
        async with http.get(f"{site.base}/insights") as forged:
            assert forged.status == 401


async def test_an_expired_link_is_refused(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        link = await site.link()
        site.clock.advance(timedelta(minutes=11))
        async with http.get(link) as response:
            assert response.status == 403


async def test_each_workspace_sees_its_own_numbers_only(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        async with http.get(await site.link(OTHER)) as page:
            body = await page.text()
        assert "C-else" in body and "C-help" not in body and "U_" not in body
        async with http.get(f"{site.base}/insights/data/channels.csv") as data:
            rows = list(csv.reader(io.StringIO(await data.text())))
        assert [r[0] for r in rows[1:]] == ["C-else"]
        async with http.get(f"{site.base}/insights?channel=C-help") as other_channel:
            assert other_channel.status == 404


async def test_the_csv_has_the_numbers_the_page_shows(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        async with await signed_in(http, site):
            pass
        async with http.get(f"{site.base}/insights/data/asks.csv?weeks=4") as data:
            assert data.headers["Content-Disposition"].startswith("attachment;")
            rows = list(csv.reader(io.StringIO(await data.text())))
        assert rows[0] == ["week starting", "asks opened", "asks resolved"]
        assert len(rows) == 5 and rows[-1][1:] == ["9", "4"]  # 6 in C-help, 2 in C-tiny, 1 more
        assert rows[-3][1:] == ["5", "0"]  # three weeks ago
        async with http.get(f"{site.base}/insights/data/first-time.csv?weeks=4") as data:
            first_time = list(csv.reader(io.StringIO(await data.text())))
        assert first_time[-1][1] == "8"  # the anonymous asker counts only in totals
        assert first_time[-2][1] == "fewer than 5"
        async with http.get(f"{site.base}/insights/data/channels.csv") as data:
            channels = {r[0]: r[1:] for r in csv.reader(io.StringIO(await data.text()))}
        assert channels["C-help"][:2] == ["11", "4"] and channels["C-help"][4] == "3"
        assert channels["C-tiny"] == ["fewer than 5"] * 5
        async with http.get(f"{site.base}/insights/data/waiting.csv") as data:
            waiting = list(csv.reader(io.StringIO(await data.text())))
        assert [r[1] for r in waiting[1:]].count("C-tiny") == 2
        assert "C-secret" not in {r[1] for r in waiting[1:]}  # a private channel's asks stay there
        async with http.get(f"{site.base}/insights?channel=C-tiny") as tiny:
            page = await tiny.text()
        assert "Fewer than 5 people asked or helped here" in page and "<svg" not in page
        async with http.get(f"{site.base}/insights/data/asks.csv?channel=C-tiny") as data:
            assert list(csv.reader(io.StringIO(await data.text()))) == [
                ["week starting", "asks opened", "asks resolved"]]
        assert all(r[3].startswith("https://example.slack.com/archives/") for r in waiting[1:])
        async with http.get(f"{site.base}/insights/data/nothing.csv") as missing:
            assert missing.status == 404


async def test_signing_out_ends_the_session(tmp_path: Path) -> None:
    async with served(tmp_path) as site, session() as http:
        async with await signed_in(http, site) as page:
            assert page.status == 200
        async with http.post(f"{site.base}/insights/logout") as out:
            assert out.status == 200 and "Signed out" in await out.text()
        async with http.get(f"{site.base}/insights") as after:
            assert after.status == 401
