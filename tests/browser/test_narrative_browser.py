"""Walkthrough narratives in the browser: the server's CommonMark HTML, exactly as written."""
from __future__ import annotations

from playwright.sync_api import expect


def test_multiplication_is_not_italic(dash):
    p = dash.page
    dash.open("/walkthroughs/hvo/1")
    n = p.locator("#wt-narrative")
    expect(n).to_contain_text("512 * 64 B = 32 KiB: 8 vmemmap pages.")
    expect(n.locator("strong", has_text="8 vmemmap pages")).to_have_count(1)
    assert n.locator("em").count() == 0


def test_bold_code_shows_no_backticks(dash):
    p = dash.page
    dash.open("/walkthroughs/struct-page-basics/3")
    n = p.locator("#wt-narrative")
    expect(n.locator("strong > code")).to_have_text("0xfff00")
    assert "`" not in n.inner_text() and "**" not in n.inner_text()
