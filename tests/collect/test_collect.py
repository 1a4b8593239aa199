"""app/collect.py against sysroot trees: the recorded Linux 6.12 and 6.1 QEMU guests (kernel-gt, scenario C:
memmap_on_memory=1, HVO off), a bare-metal-like x86 host, malformed trees, and this host itself.

Expectations come from the recordings (kernel-gt README and results.json), not from the collector:
which blocks exist on which node, what the parameters said, kpageflags bit 37 on each hot-added block's
first pfn, the HugeTLB pool sizes; and the engine, given the collected scenario, must reproduce them.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import engine
from app import cli, collect
from engine.arch import ARCHES
from engine.kernel import KERNELS

from sysroot_util import REPO, SYSROOTS, sample, tree

BOOT = list(range(8))                       # memory0..7: 1 GiB of boot RAM on node 0
D1, D2 = [32], list(range(40, 48))          # the 128 MiB DIMM at 4 GiB and the 1 GiB DIMM at 5 GiB, node 1
BSZ_PFNS = 0x8000
SELF_HOSTED = 1 << 37                       # PG_owner_priv_1 = PG_vmemmap_self_hosted
SCRIPT = REPO / "app" / "collect.py"


def by_name(m: engine.EvaluatedMachine) -> dict[str, dict]:
    return {b["name"]: b for b in m.blocks()}


# ------------------------------------------------------------------ the recorded 6.12 guest
def test_gt_612_snapshot_holds_the_recorded_sysfs_values(make_tree):
    scenario, snap = collect.collect(str(make_tree("gt-6.12-C")))
    blocks = {b["id"]: b for b in snap["memory_blocks"]}
    assert sorted(blocks) == BOOT + D1 + D2
    assert snap["block_size_bytes"] == "8000000"
    assert {i: blocks[i]["node"] for i in blocks} == {i: 0 if i < 8 else 1 for i in blocks}
    assert {b["state"] for b in blocks.values()} == {"online"}
    assert blocks[0]["valid_zones"] == "none" and blocks[1]["valid_zones"] == "DMA32"
    assert blocks[40]["valid_zones"] == "Normal" and blocks[40]["phys_index"] == "00000028"
    assert snap["memmap_on_memory"] == "Y" and snap["hugetlb_optimize_vmemmap"] == "0"
    assert snap["uname"] == {"release": "6.12.95+deb12-amd64", "machine": "x86_64"}
    assert snap["unreadable"] == []
    assert ["0x100000000", "0x107ffffff"] in snap["iomem_system_ram"]
    assert ["0x140000000", "0x17fffffff"] in snap["iomem_system_ram"]
    # kpageflags bit 37 on the first pfn of every hot-added block ("512 pfns [0x140000..0x1401ff]")
    for i in D1 + D2:
        assert int(blocks[i]["kpageflags_first"], 16) & SELF_HOSTED, i
        assert blocks[i]["owner_private_run"] == 512, i
    for i in BOOT:
        assert blocks[i]["owner_private_run"] == 0
    # recorded pools: node0 2M x 32, node1 2M x 542; kpageflags holds one HugeTLB head per page
    pools = {(p["node"], p["size_kb"]): p["nr_hugepages"] for p in snap["hugetlb_pools"]}
    assert pools == {(0, 2048): 32, (0, 1048576): 0, (1, 2048): 542, (1, 1048576): 0}
    heads = snap["kpageflags"]["heads"]
    assert len(heads) == 32 + 542 and snap["kpageflags"]["heads_complete"]
    assert all(int(h, 16) % 512 == 0 for h in heads)
    assert set(snap) >= {"observed", "inferred", "notes"}
    assert any("memmap_on_memory=Y" in o for o in snap["observed"])
    assert any(i.startswith("boot memory: memory0..memory7") for i in snap["inferred"])
    assert any(i.startswith("hot-added: memory32, memory40..memory47") for i in snap["inferred"])


def test_gt_612_scenario_reproduces_the_recorded_machine(make_tree):
    scenario, _ = collect.collect(str(make_tree("gt-6.12-C")))
    assert scenario["kernel"] == "6.12"
    assert scenario["machine"]["memory_block_size"] == "128M" and scenario["machine"]["arch"] == "x86_64"
    assert scenario["params"] == {"memmap_on_memory": "on", "hugetlb_free_vmemmap": False}
    assert scenario["boot_memory"] == [{"start": "0x0", "size": "1G", "node": 0}]
    m = engine.evaluate(scenario)
    blocks = by_name(m)
    assert sorted(b["id"] for b in blocks.values()) == BOOT + D1 + D2
    for i in BOOT:
        b = blocks[f"memory{i}"]
        assert (b["boot"], b["node"], b["state"], b["memmap"]["where"]) == (True, 0, "online", "memblock")
    # 6.12: every block of both DIMMs keeps its memmap in its own first 512 pfns; the first maps to itself
    assert blocks["memory40"]["self_mapping_pfn"] == "0x140000"
    assert blocks["memory32"]["self_mapping_pfn"] == "0x100000"
    for i in D1 + D2:
        b = blocks[f"memory{i}"]
        assert (b["boot"], b["node"], b["state"], b["zone"]) == (False, 1, "online", "Normal")
        assert b["memmap"]["where"] == "self" and b["memmap"]["nr_pages"] == 512
        assert b["self_mapping_pfn"] == hex(i * BSZ_PFNS)
    s = m.summary()
    assert s["hugepages"]["2M"]["off"] == 32 + 542 and not s["hvo_enabled"]
    assert all(e["outcome"] == "ok" for e in m.events())


def test_gt_61_the_1_gib_dimm_is_not_self_hosted_before_6_8(make_tree):
    """6.1 README: d1's memmap is self-hosted, d2 (8 blocks in one range) takes its memmap from buddy memory."""
    scenario, snap = collect.collect(str(make_tree("gt-6.1-C")))
    runs = {b["id"]: b["owner_private_run"] for b in snap["memory_blocks"]}
    assert runs[32] == 512 and all(runs[i] == 0 for i in D2)
    assert scenario["kernel"] == "6.1"
    adds = [op for op in scenario["ops"] if op["op"] == "add_memory"]
    assert [(op["start"], op["size"], op["node"]) for op in adds] == [("0x100000000", "128M", 1),
                                                                      ("0x140000000", "1G", 1)]
    blocks = by_name(engine.evaluate(scenario))
    assert blocks["memory32"]["self_mapping_pfn"] == "0x100000"
    for i in D2:
        assert blocks[f"memory{i}"]["memmap"]["where"] == "buddy"
        assert blocks[f"memory{i}"]["self_mapping_pfn"] is None
    # recorded: node1 1G x 1, node1 2M x 35, node0 2M x 32
    allocs = {(op["node"], op["size"]): op["count"] for op in scenario["ops"] if op["op"] == "alloc_hugepages"}
    assert allocs == {(1, "1G"): 1, (1, "2M"): 35, (0, "2M"): 32}


# ------------------------------------------------------------------ bare metal
def test_bare_metal_pools_and_hvo_with_no_kpageflags_and_hidden_iomem():
    scenario, snap = collect.collect(str(SYSROOTS / "bare-metal-x86"))
    assert scenario["boot_memory"] == [{"start": "0x0", "size": "64G", "node": 0},
                                       {"start": "0x1000000000", "size": "64G", "node": 1}]
    assert scenario["machine"]["memory_block_size"] == "2G" and scenario["machine"]["hypervisor"] is False
    assert scenario["params"] == {"memmap_on_memory": "off", "hugetlb_free_vmemmap": True}
    assert [op["op"] for op in scenario["ops"]] == ["alloc_hugepages"] * 4
    assert {u["path"]: u["reason"] for u in snap["unreadable"]} == {
        "/proc/kpageflags": "missing", "/proc/iomem": "addresses read as zero: needs root"}
    assert "/proc/kpageflags: missing" in snap["notes"]
    m = engine.evaluate(scenario)
    s = m.summary()
    assert s["blocks"] == 64 and s["hvo_enabled"]
    assert s["hugepages"]["2M"]["optimized"] == 1024 + 512 and s["hugepages"]["1G"]["optimized"] == 4 + 2
    nodes = {b["id"]: b["node"] for b in m.blocks()}
    assert nodes == {i: i // 32 for i in range(64)}


# ------------------------------------------------------------------ malformed trees
@pytest.mark.parametrize("name,words", [
    ("bad-no-block-size", ["/sys/devices/system/memory/block_size_bytes", "missing"]),
    ("bad-block-size-zz", ["/sys/devices/system/memory/block_size_bytes", "'zz'", "not a hex number"]),
    ("bad-state-banana", ["/sys/devices/system/memory/memory1/state", "'banana'", "online, offline"]),
])
def test_malformed_tree_is_one_clear_error(name, words):
    with pytest.raises(collect.CollectError) as e:
        collect.collect(str(SYSROOTS / name))
    assert all(w in str(e.value) for w in words), str(e.value)
    assert "\n" not in str(e.value)


def test_missing_memory_directory(tmp_path):
    with pytest.raises(collect.CollectError, match=r"^/sys/devices/system/memory/block_size_bytes: missing$"):
        collect.collect(str(tmp_path))
    (tmp_path / "sys/devices/system/memory").mkdir(parents=True)
    (tmp_path / "sys/devices/system/memory/block_size_bytes").write_text("8000000\n")
    with pytest.raises(collect.CollectError, match="no memoryN blocks"):
        collect.collect(str(tmp_path))


def _collect_as_nobody(root: Path) -> dict:
    """collect() in a forked child that dropped root (uid 65534), so /proc/kpageflags, mode 0400 like
    the real one, is refused by the kernel (root reads any file)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:                                             # child: never returns into pytest
        try:
            os.close(rfd)
            os.setgid(65534)
            os.setuid(65534)
            with os.fdopen(wfd, "w") as w:
                json.dump(collect.collect(str(root))[1], w)
        finally:
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_unreadable_kpageflags_is_a_note_not_an_error():
    tmp = Path(tempfile.mkdtemp(prefix="vmemscope-collect-"))
    try:
        root = tree(tmp, "gt-6.12-C")
        (root / "proc" / "kpageflags").chmod(0o400)
        if os.geteuid() == 0:
            for dirpath, _, _ in os.walk(tmp):
                os.chmod(dirpath, 0o755)
            snap = _collect_as_nobody(root)
        else:
            (root / "proc" / "kpageflags").chmod(0)
            _, snap = collect.collect(str(root))
    finally:
        shutil.rmtree(tmp)
    assert {"path": "/proc/kpageflags", "reason": "permission denied: needs root"} in snap["unreadable"]
    assert snap["kpageflags"] is None
    assert all("owner_private_run" not in b for b in snap["memory_blocks"])
    assert "/proc/kpageflags: permission denied: needs root" in snap["notes"]


def test_kpageflags_that_is_not_a_file_is_a_note(make_tree):
    root = make_tree("gt-6.12-C", kpageflags=False)
    (root / "proc" / "kpageflags").mkdir()
    scenario, snap = collect.collect(str(root))
    assert {"path": "/proc/kpageflags", "reason": "is a directory"} in snap["unreadable"]
    engine.evaluate(scenario)


@pytest.mark.parametrize("release,kernel", [("4.19.0-27-amd64", "5.13"), ("7.4.1", "7.3"), ("6.19.2", "6.19"),
                                            ("7.3.4+deb13-amd64", "7.3"), ("7.2.13-amd64", "7.2")])
def test_kernel_release_is_clamped_into_the_modelled_range_with_a_note(make_tree, release, kernel):
    root = make_tree("gt-6.12-C")
    (root / "proc/sys/kernel/osrelease").write_text(release + "\n")
    scenario, snap = collect.collect(str(root))
    assert scenario["kernel"] == kernel
    outside = release.startswith(("4.", "7.4"))
    assert any("outside the modelled releases" in n for n in snap["notes"]) == outside
    assert outside or any(f"{release} is modelled as mainline {kernel}" in n for n in snap["notes"])


def test_offline_hot_added_block_and_movable_zone(make_tree):
    root = make_tree("gt-6.12-C")
    mem = root / "sys/devices/system/memory"
    (mem / "memory47/state").write_text("offline\n")
    (mem / "memory47/valid_zones").write_text("Normal Movable\n")
    for i in range(40, 47):
        (mem / f"memory{i}/valid_zones").write_text("Movable\n")
    scenario, _ = collect.collect(str(root))
    onl = [(op["start"], op["size"], op["zone"]) for op in scenario["ops"] if op["op"] == "online"]
    assert onl == [("0x100000000", "128M", "normal"), ("0x140000000", "896M", "movable")]
    blocks = by_name(engine.evaluate(scenario))
    assert blocks["memory47"]["state"] == "offline" and blocks["memory46"]["zone"] == "Movable"


def test_the_collector_only_reads(make_tree):
    root = make_tree("gt-6.12-C")

    def digest() -> dict:
        return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
                for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}
    before = digest()
    collect.collect(str(root))
    assert digest() == before


# ------------------------------------------------------------------ kept equal to the engine
def test_modelled_kernels_and_hugetlb_sizes_match_the_engine():
    assert collect.KERNEL_RANGE == tuple(tuple(int(x) for x in k.split(".")) for k in (KERNELS[0], KERNELS[-1]))
    engine_sizes = {(a.name, a.page_size): a.hugetlb_sizes for a in ARCHES.values()}
    assert collect.HUGETLB_SIZES == engine_sizes


def test_collect_imports_only_the_standard_library():
    tree_ = ast.parse(SCRIPT.read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree_) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree_) if isinstance(n, ast.ImportFrom) and n.module}
    assert mods <= set(sys.stdlib_module_names), mods - set(sys.stdlib_module_names)


# ------------------------------------------------------------------ lsmem
def test_lsmem_of_a_vm_with_a_pci_hole_is_all_boot_memory():
    """Real `lsmem --json --all` of a 24 GiB VM: blocks 0-23 and 32-199; plain lsmem prints the two
    ranges 0x0-0xbfffffff (3G) and 0x100000000-0x63fffffff (21G)."""
    scenario, observed, inferred, notes = collect.build(collect.from_lsmem(sample("lsmem-all-host.json")))
    assert scenario["boot_memory"] == [{"start": "0x0", "size": "3G", "node": 0},
                                       {"start": "0x100000000", "size": "21G", "node": 0}]
    assert scenario["ops"] == []
    assert any("across the PCI hole" in i for i in inferred)
    assert engine.evaluate(scenario).summary()["blocks"] == 24 + 168


def test_lsmem_output_all_gives_nodes_and_zones():
    scenario, observed, inferred, notes = collect.build(collect.from_lsmem(sample("lsmem-output-all-gt-6.12-C.json")))
    adds = [(op["start"], op["size"], op["node"]) for op in scenario["ops"] if op["op"] == "add_memory"]
    assert adds == [("0x100000000", "128M", 1), ("0x140000000", "1G", 1)]
    assert any("memmap_on_memory off" in i for i in inferred)
    blocks = by_name(engine.evaluate(scenario))
    assert blocks["memory40"]["node"] == 1 and blocks["memory40"]["zone"] == "Normal"


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("python", [sys.executable, "/usr/bin/python3"])
def test_script_runs_on_a_plain_interpreter_without_site_packages(make_tree, tmp_path, python):
    if not os.access(python, os.X_OK):
        pytest.skip(f"no {python}")
    root = make_tree("gt-6.12-C")
    iso = subprocess.run([python, "-S", "-I", "-c", "import pydantic"], capture_output=True)
    assert iso.returncode != 0                               # no site-packages under -S -I
    out, snap_out = tmp_path / "scenario.json", tmp_path / "snapshot.json"
    r = subprocess.run([python, "-S", "-I", str(SCRIPT), "--sysroot", str(root), "--out", str(out),
                        "--snapshot", str(snap_out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("collect: wrote ") and r.stderr.count("\n") == 1
    scenario, snap = collect.collect(str(root))
    assert json.loads(out.read_text()) == scenario
    assert json.loads(snap_out.read_text())["memory_blocks"] == snap["memory_blocks"]
    bad = subprocess.run([python, "-S", "-I", str(SCRIPT), "--sysroot", str(SYSROOTS / "bad-block-size-zz")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == ("collect: error: /sys/devices/system/memory/block_size_bytes: 'zz' is not a hex "
                          "number of bytes\n")


def test_vmemscope_collect_subcommand(make_tree, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert cli.main(["collect", "--sysroot", str(make_tree("gt-6.12-C")), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["kernel"] == "6.12"
    assert cli.main(["collect", "--sysroot", str(SYSROOTS / "bad-state-banana")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("vmemscope collect: error: /sys/devices/system/memory/memory1/state: 'banana'")


@pytest.mark.skipif(not Path("/sys/devices/system/memory/block_size_bytes").exists(),
                    reason="no memory hotplug sysfs on this host")
def test_this_host_collects_and_evaluates():
    scenario, snap = collect.collect("/")
    names = [n for n in os.listdir("/sys/devices/system/memory") if n.startswith("memory") and n[6:].isdigit()]
    assert len(snap["memory_blocks"]) == len(names)
    assert snap["uname"]["release"] == os.uname().release and snap["page_size"] == os.sysconf("SC_PAGE_SIZE")
    m = engine.evaluate(scenario)
    states = {f"memory{b['id']}": b["state"] for b in snap["memory_blocks"]}
    assert {b["name"]: b["state"] for b in m.blocks()} == {k: ("offline" if v == "offline" else "online")
                                                           for k, v in states.items()}
