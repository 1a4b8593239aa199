"""The start page in a real Chromium: the self-mapping mark is visible, nothing leaves 127.0.0.1."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_start_page_offline_and_marked(page: Page, live_server: str, shot_dir) -> None:
    offsite, errors = [], []
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"),
               lambda route: (offsite.append(route.request.url), route.abort()))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server + "/")
    expect(page.locator("#self-mapping")).to_have_text("struct page of pfn 0x100000 lives in pfn 0x100000")
    expect(page.locator("#hugepages")).to_contain_text("refused")
    page.screenshot(path=str(shot_dir / "start_page.png"), full_page=True)
    assert offsite == []
    assert errors == []
