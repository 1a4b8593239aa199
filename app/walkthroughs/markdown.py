"""Walkthrough narratives as HTML: CommonMark (markdown-it-py) rendered on the server, with raw HTML
off, so text from the JSON files is escaped, never markup ("512 * 64 B" stays text, `**`x`**` is bold
code). Link targets pass markdown-it's own check (no javascript:, vbscript:, file: or data: but images)."""
from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt

__all__ = ["to_html"]

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@lru_cache(maxsize=256)
def to_html(text: str) -> str:
    """CommonMark text -> sanitised HTML (raw HTML in the text is shown, escaped, as text)."""
    return _MD.render(text)
