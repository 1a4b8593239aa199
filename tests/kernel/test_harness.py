"""The QEMU harness's own parts, without QEMU: the guest initramfs, the engine scenario it derives,
and the comparison, on facts a live 6.1 run recorded (fixtures/live_6.1_C_facts.json)."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

from validate import harness as H

FACTS = json.loads((Path(__file__).parent / "fixtures" / "live_6.1_C_facts.json").read_text())


def test_initramfs_is_a_newc_cpio_with_busybox_and_init(tmp_path):
    p = tmp_path / "i.cpio.gz"
    H.build_initramfs(p)
    data, names, off = gzip.decompress(p.read_bytes()), {}, 0
    while True:
        assert data[off:off + 6] == b"070701"
        size, namesize = int(data[off + 54:off + 62], 16), int(data[off + 94:off + 102], 16)
        mode = int(data[off + 14:off + 22], 16)
        name = data[off + 110:off + 110 + namesize - 1].decode()
        off += 110 + namesize + (-(110 + namesize) % 4)
        if name == "TRAILER!!!":
            break
        names[name] = (mode, data[off:off + size])
        off += size + (-size % 4)
    assert names["init"][0] == 0o100755 and names["init"][1].startswith(b"#!/bin/busybox sh")
    assert names["bin/busybox"][1][:4] == b"\x7fELF"


def test_engine_scenario_follows_the_command_line():
    doc = H.engine_scenario(H.DEFAULT, "6.1.0-56-amd64")
    assert doc["kernel"] == "6.1" and doc["params"]["memmap_on_memory"] == "on"
    assert doc["params"]["hugetlb_free_vmemmap"] is False and doc["params"]["memhp_default_state"] == "online"
    assert [op["op"] for op in doc["ops"]] == ["add_memory"] * 2 + ["alloc_hugepages"] * 3


def test_recorded_live_run_agrees():
    r = H.compare(H.DEFAULT, FACTS)
    assert r["kernel"] == "6.1.0-56-amd64" and r["mismatches"] == []
    d1 = next(s for s in r["steps"] if s["step"] == "d1")
    assert d1["kernel"]["memory32_selfhosted"] == {"count": 512, "first": "0x100000"}
    assert d1["kernel"]["memtotal_delta_kb"] == 129024


def test_a_kernel_that_disagrees_is_reported():
    facts = copy.deepcopy(FACTS)
    facts["d1"]["selfhosted"]["32"] = {"count": 0, "first": -1, "last": -1}
    facts["d2"]["memtotal_kb"] += 4
    r = H.compare(H.DEFAULT, facts)
    assert any("memory32 self-hosted memmap pages" in m for m in r["mismatches"])
    assert any("d2: MemTotal changed by" in m for m in r["mismatches"])
