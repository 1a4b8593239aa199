"""Every step of every walkthrough evaluates, and every fact it claims holds in the engine."""
from __future__ import annotations

import pytest

import engine
from app import walkthroughs as W

STEPS = [(slug, i) for slug in W.slugs() for i in range(len(W.load(slug)["steps"]))]


def test_the_seven_walkthroughs_of_the_brief_exist():
    assert W.slugs() == ["struct-page-basics", "hotplug-without-memmap-on-memory", "memmap-on-memory", "hvo",
                         "selfhosted-check-2022", "force-and-per-block", "other-architectures"]


@pytest.mark.parametrize("slug,i", STEPS, ids=[f"{s}-{i + 1}" for s, i in STEPS])
def test_step_claims_hold(slug, i, impl):
    wt = W.load(slug)
    step = wt["steps"][i]
    assert step["title"] and step["narrative"] and step["claims"], "every step explains and claims something"
    m = engine.evaluate(W.step_scenario(wt, i), impl=impl)
    results = W.check_step(wt, i, m)
    failed = [r for r in results if not r["holds"]]
    assert failed == [], failed
    view = step["view"]
    assert view["panel"] in ("map", "vmemmap")
    start, end = (int(x, 16) for x in view["range"])
    m.window(start, end, 64)                       # the view's range is a valid window
    if "select" in view:
        m.vmemmap(**{k: (int(v, 16) if isinstance(v, str) else v) for k, v in view["select"].items()})


def test_claims_read_like_the_brief():
    assert W.claim_text({"block": 32, "field": "self_mapping_pfn", "equals": "0x100000"}) == \
        "self_mapping_pfn of memory32 == 0x100000"
    assert W.claim_text({"hugepage": "0x100200", "field": "hvo", "equals": "refused"}) == \
        "hvo of huge page 0x100200 == refused"


def test_a_false_claim_is_reported():
    wt = W.load("memmap-on-memory")
    wt["steps"][0]["claims"] = [{"block": 32, "field": "self_mapping_pfn", "equals": "0x100001"}]
    (r,) = W.check_step(wt, 0)
    assert r["holds"] is False and r["actual"] == "0x100000"
