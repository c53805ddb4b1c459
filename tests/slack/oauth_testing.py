"""OAuth installs in the Slack tests: the installer's browser, and leanon in OAuth mode."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from storage.slack_installations import SqlInstallationStore
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.slack.slack_testing import Harness, MovableClock

STATE_COOKIE = "slack-app-oauth-state"


@dataclass
class Page:
    status: int
    text: str
    url: str = ""
    cookie: str | None = None


@dataclass
class Browser:
    """An installer's browser visiting leanon at `base` (and Slack's authorize page)."""

    session: aiohttp.ClientSession
    base: str

    async def get(self, path_or_url: str, cookie: str | None = None,
                  **params: str) -> Page:
        """One browser GET, redirects not followed; `cookie` is the state cookie it holds."""
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        headers = {"Cookie": f"{STATE_COOKIE}={cookie}"} if cookie else {}
        async with self.session.get(url, params=params, headers=headers,
                                          allow_redirects=False) as response:
            set_cookie = response.cookies.get(STATE_COOKIE)
            return Page(response.status, await response.text(), response.headers.get("Location", ""),
                        set_cookie.value if set_cookie is not None else None)

    async def start(self, team: str = TEAM) -> tuple[str, str]:
        """/slack/install: the "Add to Slack" link and the state cookie it set."""
        page = await self.get("/slack/install", team=team)
        assert page.status == 200 and "Add to Slack" in page.text, page
        found = re.search(r'<a href="([^"]+)"', page.text)
        assert found and page.cookie
        return html.unescape(found.group(1)), page.cookie

    async def approve(self, link: str) -> str:
        """The installer allows leanon at Slack; the URL Slack sends the browser back to."""
        page = await self.get(link)
        assert page.status == 302, page
        return page.url

    async def install(self, team: str = TEAM) -> Page:
        """The whole install, as a browser goes through it."""
        link, cookie = await self.start(team)
        return await self.get(await self.approve(link), cookie=cookie)


@dataclass
class Installs(Browser):
    """leanon in HTTP mode with OAuth installs (`slack` sends Slack's requests to it)."""

    slack: Harness
    states_clock: MovableClock
    installations: SqlInstallationStore

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    async def bot_token(self, team: str) -> str | None:
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        return bot.bot_token if bot is not None else None


def web_api_calls(fake: FakeSlack) -> list[Any]:
    """Calls to Slack's Web API (not response_urls, uploads or the authorize page)."""
    return [c for c in fake.calls if c.method not in {"response_url", "file.upload", "oauth.authorize"}]
