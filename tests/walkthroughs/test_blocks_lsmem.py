"""Memory blocks in lsmem's terms (issue 14 §6), and where a block's memmap really is when one altmap
serves a whole range (altmap_scope "range", the selfhosted-check-2022 walkthrough's step 5): from the
reference (kernel-model.md §6), block 32+k's 512 pages of struct pages follow those of the blocks
before it in memory32's altmap, at 0x100000 + k * 0x200."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

import engine
from app import walkthroughs as W

RANGE_STEP = W.step_scenario(W.load("selfhosted-check-2022"), 4)
BLOCK_MEMMAP_PAGES = 0x8000 * 64 // 4096          # a 128 MiB block's struct pages, in 4 KiB pages


def lsmem_range(block: int) -> str:
    start = block * 128 << 20
    return f"0x{start:016x}-0x{start + (128 << 20) - 1:016x}"


@pytest.mark.parametrize("k", range(8), ids=[f"memory{32 + k}" for k in range(8)])
def test_each_block_of_a_range_altmap_says_where_its_memmap_is(k, impl):
    m = engine.evaluate(RANGE_STEP, impl=impl)
    b = next(b for b in m.blocks() if b["id"] == 32 + k)
    assert b["memmap"]["where"] == "self" and b["memmap"]["holder_block"] == 32
    assert b["memmap"]["start_pfn"] == hex(0x100000 + k * BLOCK_MEMMAP_PAGES)
    assert b["range"] == lsmem_range(32 + k) and b["removable"] is True
    assert (b["state"], b["zones"], b["node"], b["size"]) == ("online", "Movable", 0, "128M")


def test_boot_block_spanning_two_zones_reads_none_like_lsmem(impl):
    m = engine.evaluate(RANGE_STEP, impl=impl)
    b0 = m.blocks()[0]
    assert b0["range"] == lsmem_range(0) and b0["zones"] == "None"     # DMA and DMA32: valid_zones "none"


def test_evaluate_answers_the_lsmem_fields():
    from app.main import create_app
    with TestClient(create_app()) as c:
        r = c.post("/api/v1/evaluate", json={"scenario": RANGE_STEP})
    assert r.status_code == 200
    b = next(b for b in r.json()["blocks"] if b["id"] == 35)
    assert (b["range"], b["removable"], b["zones"], b["memmap"]["start_pfn"]) == \
        (lsmem_range(35), True, "Movable", "0x100600")


def test_vmemscope_evaluate_prints_lsmem_columns(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(RANGE_STEP))
    r = subprocess.run([sys.executable, "-m", "app.cli", "evaluate", str(f)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(ln for ln in lines if ln.startswith("RANGE"))
    assert head.split()[:7] == ["RANGE", "SIZE", "STATE", "REMOVABLE", "BLOCK", "NODE", "ZONES"]
    row = next(ln for ln in lines if ln.startswith(lsmem_range(33)))
    assert row.split()[1:9] == ["128M", "online", "yes", "33", "0", "Movable", "self", "0x100200"]
