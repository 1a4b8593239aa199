"""Walkthrough narratives through CommonMark (markdown-it-py), raw HTML escaped."""
from __future__ import annotations

import pytest

from app import walkthroughs as W
from app.walkthroughs.markdown import to_html


def test_an_asterisk_between_numbers_is_text():
    assert to_html("fill 512 * 64 B = 32 KiB: **8 vmemmap pages**. All tail *pages*") == \
        "<p>fill 512 * 64 B = 32 KiB: <strong>8 vmemmap pages</strong>. All tail <em>pages</em></p>\n"


def test_bold_code_has_no_visible_backticks():
    assert to_html("in pfn **`0xfff00`**.") == "<p>in pfn <strong><code>0xfff00</code></strong>.</p>\n"


@pytest.mark.parametrize("raw", ['<img src=x onerror="alert(1)">', "<script>alert(1)</script>",
                                 '<a href="javascript:alert(1)">x</a>'])
def test_raw_html_is_escaped_text(raw):
    html = to_html(f"before {raw} after")
    assert "<img" not in html and "<script" not in html and "<a " not in html
    assert "&lt;" in html


def test_javascript_links_are_not_links():
    assert "href" not in to_html("[x](javascript:alert(1)) [y](data:text/html,hi)")


def test_every_narrative_renders_without_stray_markup_characters():
    for slug in W.slugs():
        for s in W.load(slug)["steps"]:
            html = to_html(s["narrative"])
            assert "`" not in html and "**" not in html, (slug, s["title"])
