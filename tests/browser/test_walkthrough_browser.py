"""A walkthrough end to end in Chromium: deep links, progress, narrative beside the picture, leaving the
script and coming back; and the `vmemscope screenshot` command."""
from __future__ import annotations

import struct
import subprocess
import sys

from playwright.sync_api import expect

from app import walkthroughs as W


def test_memmap_on_memory_walkthrough_end_to_end(dash):
    p = dash.page
    wt = W.load("memmap-on-memory")
    n = len(wt["steps"])
    dash.open("/walkthroughs/memmap-on-memory/1")
    for k in range(1, n + 1):
        step = wt["steps"][k - 1]
        expect(p.locator("#wt-title")).to_have_text(f"{k}. {step['title']}")
        expect(p.locator("#wt-count")).to_have_text(f"Step {k} of {n}")
        assert p.locator("#wt-progress").get_attribute("value") == str(k)
        expect(p.locator("#wt-claims li")).to_have_count(len(step["claims"]))
        assert p.url.endswith(f"/walkthroughs/memmap-on-memory/{k}")       # the deep link stays
        if k == 1:
            expect(p.locator("#wt-prev")).to_have_count(0)
            expect(p.locator("#marks")).to_contain_text("struct page of pfn 0x100000 lives in pfn 0x100000")
            expect(p.locator("#add-memory")).to_be_disabled()
        if k == 3:
            # the step's view: the vmemmap of the refused huge page
            expect(p.locator("#vmemmap-title")).to_contain_text("0x100200")
            expect(p.locator("#vmemmap-reason")).to_contain_text("PageVmemmapSelfHosted")
            # leave the script: allocate more huge pages, then come back
            p.click("#wt-try")
            expect(p.locator("#add-memory")).to_be_enabled()
            p.fill("#huge-count", "2")
            dash.after(lambda: p.click("#alloc-huge"))
            expect(p.locator("#hugepages tr[data-head]")).to_have_count(3)
            expect(p.locator("#wt-back")).to_be_visible()
            p.click("#wt-back")
            p.wait_for_selector("body[data-ready=true]")
            expect(p.locator("#hugepages tr[data-head]")).to_have_count(1)
            expect(p.locator("#wt-title")).to_have_text(f"3. {step['title']}")
        if k < n:
            p.click("#wt-next")
            p.wait_for_url(f"**/walkthroughs/memmap-on-memory/{k + 1}")
            p.wait_for_selector("body[data-ready=true]")
    expect(p.locator("#wt-next")).to_have_count(0)                         # the last step has no next
    expect(p.locator("#blocks tr[data-block='32']")).to_have_count(0)        # removed in step 4


def test_screenshot_command(tmp_path):
    """The installed command, as a doc writer runs it (its own process, its own server and browser)."""
    out = tmp_path / "step.png"
    cmd = [sys.executable, "-m", "app.cli", "screenshot", "--walkthrough", "hvo", "--step", "2", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 720)
    cmd[cmd.index("2")] = "99"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "HTTP 404" in r.stderr and r.stderr.strip().count("\n") == 0
