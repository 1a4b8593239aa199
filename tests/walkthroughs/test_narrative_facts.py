"""Every number a walkthrough step states is one of its checked claims (issue 14 §2): hex values, sizes
(2 MiB = "2M" = 2097152) and counts of pages must each appear in a claim of the step, and the claims are
checked against both engine implementations by test_walkthroughs.py. A sentence with a number nobody
checks is how step text and engine drifted apart."""
from __future__ import annotations

import json
import re

import pytest

from app import walkthroughs as W

UNITS = {"B": 1, "byte": 1, "bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
# a hex value, or a number with a unit; not the "9" of "order-9" nor the "5" of "5.14"
TOKEN = re.compile(r"(?<![\w.-])(0x[0-9a-f]+|\d+)(?:\s?(KiB|MiB|GiB|TiB|B|bytes?|pages?|frames?)\b)?(?![\w-]|\.\w)")
STEPS = [(slug, i) for slug in W.slugs() for i in range(len(W.load(slug)["steps"]))]


def facts(text: str) -> list[tuple[str, set[str]]]:
    """(token as written, the forms a claim may state it in) for each number with a unit or hex value."""
    out = []
    for m in TOKEN.finditer(text):
        num, unit = m.group(1), m.group(2)
        if num.startswith("0x"):
            out.append((m.group(0), {num}))
        elif unit in UNITS:
            n = int(num) * UNITS[unit]
            short = f"{num}{unit[0]}" if unit not in ("B", "byte", "bytes") else num
            out.append((m.group(0), {short, str(n), f"{num} {unit}"}))
        elif unit:                                                  # pages, frames
            out.append((m.group(0), {num}))
    return out


def stated(form: str, claims: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(form)}(?![\w.])", claims) is not None


@pytest.mark.parametrize("slug,i", STEPS, ids=[f"{s}-{i + 1}" for s, i in STEPS])
def test_every_number_in_the_text_is_claimed(slug, i):
    step = W.load(slug)["steps"][i]
    claims = " ".join(json.dumps(c) for c in step["claims"])
    text = re.sub(r'\("[^"]*"\)|"[^"]*"', "", step["narrative"])     # commit subjects are quotes, not facts
    missing = [tok for tok, forms in facts(text) if not any(stated(f, claims) for f in forms)]
    assert missing == [], f"{slug} step {i + 1} states {missing} without a claim"


def test_the_fact_finder_reads_units():
    assert facts("512 * 64 B = 32 KiB: 8 vmemmap pages at `0x100000`, an order-9 page, since 5.14.") == [
        ("64 B", {"64", "64 B"}), ("32 KiB", {"32K", "32768", "32 KiB"}), ("0x100000", {"0x100000"})]
    assert facts("needs 64 MiB. Then 2 pages.") == [("64 MiB", {"64M", "67108864", "64 MiB"}), ("2 pages", {"2"})]
