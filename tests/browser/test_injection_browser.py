"""User text is data, never markup: an injected script in a scenario name does not run."""
from __future__ import annotations

from playwright.sync_api import expect

EVIL = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"\'><b>bold</b>'


def test_injected_script_in_a_name_does_not_run(dash):
    p = dash.page
    dash.open({"name": EVIL, "ops": [{"op": "add_memory", "start": "0x100000000", "size": "128M"}]})
    expect(p.locator("#scenario-name")).to_have_text(EVIL)               # shown as text, verbatim
    assert p.evaluate("window.__xss") is None
    assert p.locator("#scenario-name img, #scenario-name script, #scenario-name b").count() == 0
    # the exported scenario keeps the name as data
    with p.expect_download() as dl:
        p.click("#export")
    assert EVIL in open(dl.value.path(), encoding="utf-8").read().replace('\\"', '"')
