"""The recorded kernel runs (../shared/reference/kernel-gt, extracted into fixtures/) as engine
scenarios, and their facts."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"      # from extract_fixtures.py
GT = FIXTURES
RUNS = [("6.1", "B_mmo0_hvo_on"), ("6.1", "C_mmo1_hvo_off"), ("6.12", "B_mmo0_hvo_on"),
        ("6.12", "C_mmo1_hvo_off"), ("6.12", "F_mmo0_hvo_on_movable"), ("7.3", "B_mmo0_hvo_on"),
        ("7.3", "C_mmo1_hvo_off"), ("7.3", "F_mmo0_hvo_on_movable"), ("7.3", "G_mmo0_hvo_on_movable_gigantic")]
D1, D2 = 0x100000, 0x140000                 # pfns of the two DIMMs (128 MiB, 1 GiB), node 1
STEPS = {"1_after_d1": 1, "2_after_d2": 2, "9_after_hugetlb": 5, "10_after_free": 7}   # ops applied
HUGETLB_OPS = 2                             # the HugeTLB steps start after the two add_memory ops


@lru_cache(maxsize=None)
def _load(kernel: str, name: str) -> dict:
    return json.loads((FIXTURES / f"{kernel}_{name}.json").read_text())


def results(kernel: str, name: str) -> dict:
    """The recorded facts (names as in results.json where they exist)."""
    d = _load(kernel, name)
    return {"kernel_cmdline": d["kernel_cmdline"], "block_size_bytes": d["block_size_bytes"],
            "hugetlb_alloc": d["hugetlb_alloc"], "hvo_summary": d["hvo_summary"],
            "meminfo_table": {s: {"MemTotal": v} for s, v in d["memtotal_kb"].items()},
            "d1_kpageflags": {b: {"owner_private_summary": v} for b, v in d["owner_private"]["d1_kpageflags"].items()},
            "d2_kpageflags": {b: {"owner_private_summary": v} for b, v in d["owner_private"]["d2_kpageflags"].items()},
            "pre_hugetlb": d.get("pre_hugetlb", "")}


def kpageflags(kernel: str, name: str) -> dict[int, int]:
    """pfn -> /proc/kpageflags after d2 was added, for each hot-added block's first pages."""
    return {int(p, 16): int(f, 16) for p, f in _load(kernel, name)["kpageflags"].items()}


def leaves(kernel: str, name: str, step: str) -> list[dict]:
    return [{k: (int(v, 16) if v.startswith("0x") else int(v)) for k, v in r.items()}
            for r in _load(kernel, name)["vmemmap_leaves"][step]]


def hugepages(kernel: str, name: str) -> list[dict]:
    return [{k: v for k, v in h.items() if v != ""} for h in _load(kernel, name)["hugepages"]]


def scenario(kernel: str, name: str) -> dict:
    """The same machine and steps as the recorded run (README: QEMU pc, 1 GiB on node 0 at boot,
    d1 and d2 hot-plugged on node 1 and auto-onlined, then HugeTLB allocations and frees)."""
    r = results(kernel, name)
    cmd = r["kernel_cmdline"]
    mmo = "memory_hotplug.memmap_on_memory=1" in cmd
    hvo = "hugetlb_free_vmemmap=on" in cmd
    movable = "memhp_default_state=online_movable" in cmd
    return {
        "name": f"kernel-gt {kernel} {name}", "kernel": kernel,
        "machine": {"arch": "x86_64", "memory_block_size": hex(int(r["block_size_bytes"], 16)), "hypervisor": True},
        "params": {"memmap_on_memory": "on" if mmo else "off", "hugetlb_free_vmemmap": hvo,
                   "memhp_default_state": "online_movable" if movable else "online"},
        "boot_memory": [{"start": "0x0", "size": "1G", "node": 0}],
        "ops": [
            # ACPI DIMMs: acpi_memhotplug asks for MHP_MEMMAP_ON_MEMORY; the parameter decides
            {"op": "add_memory", "start": hex(D1 << 12), "size": "128M", "node": 1, "memmap_on_memory": True},
            {"op": "add_memory", "start": hex(D2 << 12), "size": "1G", "node": 1, "memmap_on_memory": True},
            {"op": "alloc_hugepages", "size": "1G", "count": 1, "node": 1},
            {"op": "alloc_hugepages", "size": "2M", "count": 32, "node": 0},
            {"op": "alloc_hugepages", "size": "2M", "count": 2000, "node": 1},
            {"op": "free_hugepages", "size": "1G", "count": 1, "node": 1},
            {"op": "free_hugepages", "size": "2M", "count": 32, "node": 0},
        ]}


def scenario_ops(kernel: str, name: str) -> dict:
    """scenario() with the sysctls the run wrote before its HugeTLB steps (G: movable_gigantic_pages)."""
    doc = scenario(kernel, name)
    if "movable_gigantic_pages" in results(kernel, name)["pre_hugetlb"]:
        ops = doc["ops"]
        doc["ops"] = ops[:HUGETLB_OPS] + [{"op": "sysctl", "movable_gigantic_pages": True}] + ops[HUGETLB_OPS:]
    return doc


def ops_at(kernel: str, name: str, step: str) -> int:
    """How many of scenario_ops()'s ops the recorded step had applied."""
    n = STEPS.get(step, 0)
    extra = len(scenario_ops(kernel, name)["ops"]) - len(scenario(kernel, name)["ops"])
    return n + extra if n > HUGETLB_OPS else n


def prefix(doc: dict, ops: int) -> dict:
    return {**doc, "ops": doc["ops"][:ops]}
