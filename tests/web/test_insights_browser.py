"""The insights page in a real browser: Debian's Chromium, headless, driven by Selenium.

Sign-in through a link → every chart drawn with the seeded numbers → a CSV downloaded
with the same numbers → an expired link, a reused link and another workspace's link
refused or kept to their own workspace → sign-out ends the session. A full-page
screenshot (desktop and phone width) is saved under `test-output/` for a reviewer.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.web_testing import CHROMEDRIVER, CHROMIUM, OTHER, Served, browser_or_skip, served

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
CHARTS = ["asks", "first-offer", "unanswered", "thanks", "first-time", "concentration", "memory"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    browser_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(tmp_path / "downloads"),
        "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def values(driver: webdriver.Chrome, chart: str) -> list[str]:
    found = driver.find_elements(By.CSS_SELECTOR, f'svg[data-chart="{chart}"] [data-value]')
    return [str(e.get_attribute("data-value")) for e in found]


def full_page(driver: webdriver.Chrome, path: Path, width: int) -> None:
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    shot: dict[str, Any] = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def downloaded(folder: Path, within: float = 20) -> list[Path]:
    """The finished downloads in `folder`, once there is one (Chrome writes .crdownload first)."""
    for _ in range(int(within / 0.1)):
        if found := list(folder.glob("*.csv")):
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing downloaded within {within} s")


async def test_the_page_in_a_browser(browser: webdriver.Chrome, tmp_path: Path) -> None:
    async with served(tmp_path) as site:
        links = {"first": await site.link(), "used": await site.link(),
                 "other": await site.link(OTHER), "expired": await site.link()}
        # The browser is driven from a thread: its calls wait for pages that the server,
        # on this event loop, must be free to serve.
        await asyncio.to_thread(drive, browser, site, links, tmp_path)


def drive(browser: webdriver.Chrome, site: Served, links: dict[str, str], tmp_path: Path) -> None:
    browser.get(links["first"])
    assert browser.current_url == f"{site.base}/insights"
    assert browser.find_element(By.TAG_NAME, "h1").text == "leanon insights"
    assert "fewer than 5 people show as" in browser.find_element(By.CLASS_NAME, "privacy").text
    drawn = [e.get_attribute("data-chart") for e in browser.find_elements(By.CSS_SELECTOR, "svg")]
    assert drawn == CHARTS
    for chart in CHARTS:  # drawn, not empty: visible in the page's layout
        svg = browser.find_element(By.CSS_SELECTOR, f'svg[data-chart="{chart}"]')
        assert svg.size["width"] > 200 and svg.size["height"] > 60, chart
    # The last 12 weeks: this week 9 asks opened and 4 resolved; 3 weeks ago 5 opened.
    asks = values(browser, "asks")  # opened, week by week, then resolved
    assert asks[11] == "9" and asks[-1] == "4" and asks[9] == "5"
    assert values(browser, "thanks")[-1] == "3"
    assert values(browser, "first-time")[-1] == "8"
    assert values(browser, "first-offer")[-1] == "0.5h"
    assert values(browser, "concentration")[-1] == "50%"  # 6 helpers, one offer each
    waiting = browser.find_elements(By.CSS_SELECTOR, ".waiting a")
    assert len(waiting) >= 2 and all(
        str(a.get_attribute("href")).startswith("https://example.slack.com/") for a in waiting)
    cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")]
             for r in browser.find_elements(By.CSS_SELECTOR, "table.channels tr")[1:]]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["C-tiny"] == ["fewer than 5"] * 5 and rows["C-help"][:2] == ["11", "4"]

    OUTPUT.mkdir(exist_ok=True)
    full_page(browser, OUTPUT / "insights-desktop.png", 1280)
    full_page(browser, OUTPUT / "insights-phone.png", 390)
    # At phone width nothing runs off the side.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # A CSV, downloaded by the browser, holds the numbers the chart shows.
    browser.find_element(By.CSS_SELECTOR, "#asks a.csv").click()
    [saved] = downloaded(tmp_path / "downloads")
    rows_csv = list(csv.reader(saved.open()))
    assert [r[1] for r in rows_csv[1:]] == asks[:12]
    assert [r[2] for r in rows_csv[1:]] == asks[12:]

    # Signing out ends the session.
    browser.find_element(By.CSS_SELECTOR, "header form button").click()
    WebDriverWait(browser, 20).until(expected_conditions.title_contains("signed out"))
    assert "Signed out" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(f"{site.base}/insights")
    assert "Sign in first" in browser.find_element(By.TAG_NAME, "h1").text

    # A link used once is refused the second time.
    browser.get(links["used"])
    browser.get(links["used"])
    assert "This link does not work" in browser.find_element(By.TAG_NAME, "h1").text
    # Another workspace's link shows that workspace, and only it.
    browser.get(links["other"])
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "C-else" in text and "C-help" not in text
    # A link past its 10 minutes is refused.
    site.clock.advance(timedelta(minutes=11))
    browser.get(links["expired"])
    assert "This link does not work" in browser.find_element(By.TAG_NAME, "h1").text
