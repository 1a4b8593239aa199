"""A control edits only its own field of the scenario document: an imported machine with boot memory
around the PCI hole, on two nodes, survives every control, undo and the permalink (issue 14 §3)."""
from __future__ import annotations

import json

from playwright.sync_api import expect

# lsmem --json of a 25 GiB machine: 0-3G, the PCI hole, 4G-25G, the last 9 GiB on node 1
LSMEM = {"memory": [
    {"range": "0x0000000000000000-0x00000000bfffffff", "size": "3G", "state": "online", "removable": False,
     "block": "0-23", "node": 0},
    {"range": "0x0000000100000000-0x00000003ffffffff", "size": "12G", "state": "online", "removable": True,
     "block": "32-127", "node": 0},
    {"range": "0x0000000400000000-0x000000063fffffff", "size": "9G", "state": "online", "removable": True,
     "block": "128-199", "node": 1}]}
BOOT = [{"start": "0x0", "size": "3G", "node": 0}, {"start": "0x100000000", "size": "12G", "node": 0},
        {"start": "0x400000000", "size": "9G", "node": 1}]


def boot(dash) -> list[dict]:
    return dash.page.evaluate("window.vmemscope.state.history.doc.boot_memory")


def test_imported_boot_memory_survives_every_control(dash, new_dashboard, tmp_path):
    p = dash.page
    dash.open("/")
    f = tmp_path / "lsmem.json"
    f.write_text(json.dumps(LSMEM))
    dash.after(lambda: p.set_input_files("#import", str(f)))
    assert boot(dash) == BOOT
    expect(p.locator("#boot-size")).to_have_value("24G")
    expect(p.locator("#boot-note")).to_have_text("3 ranges on 2 nodes: kept as imported")

    def apply(**controls):
        for sel, value in controls.items():
            if sel == "hvo":
                p.set_checked("#hvo", value)
            else:
                p.select_option(f"#{sel}", value)
        dash.after(lambda: p.click("#machine-form button[type=submit]"))
        assert boot(dash) == BOOT or controls.get("machine-preset")

    apply(kernel="6.1")
    assert p.evaluate("window.vmemscope.state.history.doc.kernel") == "6.1"
    apply(policy="none")
    apply(mmo="force")
    apply(hvo=True)
    dash.after(lambda: p.click("#add-memory"))          # after the highest boot range: 25G
    assert p.evaluate("window.vmemscope.state.history.doc.ops[0].start") == "0x640000000"
    assert boot(dash) == BOOT
    p.fill("#huge-count", "2")
    dash.after(lambda: p.click("#alloc-huge"))
    assert boot(dash) == BOOT
    # another architecture keeps the shape of the memory (shifted to arm64's memstart)
    apply(**{"machine-preset": "arm64-4K"})
    base = 0x40000000
    assert boot(dash) == [{**r, "start": hex(int(r["start"], 16) + base)} for r in BOOT]
    for _ in range(6):
        dash.after(lambda: p.click("#undo"))
        assert boot(dash) == BOOT
    dash.after(lambda: p.click("#redo"))
    assert boot(dash) == BOOT
    # the permalink carries the whole document
    p.click("#permalink")
    other = new_dashboard()
    other.open(p.locator("#permalink-text").input_value())
    assert boot(other) == BOOT
    expect(other.page.locator("#boot-size")).to_have_value("24G")
    other.assert_clean()
