"""Regenerate the sysroot trees under tests/collect/sysroots/ (committed; run this only to rebuild them).

    .venv/bin/python tests/collect/make_sysroots.py [--gt /work/shared/reference/kernel-gt]

gt-6.12-C and gt-6.1-C are the recorded QEMU guests (kernel-gt README) after the HugeTLB step
(guest_9_after_hugetlb.json, results.json): sysfs blocks, nodes, pools, parameters and /proc/iomem as
recorded. Their /proc/kpageflags is too large to commit (8 bytes per pfn up to 6 GiB), so
`<tree>.kpageflags.json` lists the recorded flags as [pfn, count, flags] runs and the tests write a
sparse file from it. /proc/cpuinfo holds only the flags the collector reads (la57 as recorded, the
hypervisor bit QEMU always sets). bare-metal-x86 is synthetic: two NUMA nodes of 64 GiB in 2 GiB
blocks, HugeTLB pools, HVO on, no kpageflags. bad-* are the malformed trees.
Also writes samples/lsmem-output-all-gt-6.12-C.json (the same guest as `lsmem --json --all --output-all`
would print it); samples/lsmem-*-host.json are real `lsmem` output of a 24 GiB x86 VM (kernel 6.18).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent / "sysroots"
MEM = "sys/devices/system/memory"
NODE = "sys/devices/system/node"
OWNER_PRIVATE, HEAD, HUGE = 1 << 37, 1 << 15, 1 << 17


def put(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text if text.endswith("\n") else text + "\n")


def block(root: Path, bid: int, state: str, zones: str, node: int, phys_index: str,
          removable: str | None = None) -> None:
    d = f"{MEM}/memory{bid}"
    put(root, f"{d}/state", state)
    put(root, f"{d}/valid_zones", zones)
    put(root, f"{d}/phys_index", phys_index)
    if removable is not None:
        put(root, f"{d}/removable", removable)
    (root / NODE / f"node{node}").mkdir(parents=True, exist_ok=True)
    (root / d / f"node{node}").symlink_to(f"../../node/node{node}")


def gt_tree(gt: Path, kernel: str, run: str, name: str) -> None:
    root = HERE / name
    shutil.rmtree(root, ignore_errors=True)
    res = json.loads((gt / kernel / run / "results.json").read_text())
    guest = json.loads((gt / kernel / run / "guest_9_after_hugetlb.json").read_text())
    put(root, f"{MEM}/block_size_bytes", res["block_size_bytes"])
    put(root, f"{MEM}/auto_online_blocks", res["auto_online_blocks"])
    for line in guest["blocks"].splitlines():
        m = re.fullmatch(r"memory(\d+) phys_index=(\w+) state=(\S+) zones='([^']*)' node=node(\d+)", line)
        block(root, int(m.group(1)), m.group(3), m.group(4), int(m.group(5)), m.group(2))
    for line in guest["hugepages"].splitlines():
        m = re.fullmatch(rf"/({NODE}/node\d+/hugepages/hugepages-\d+kB/nr_hugepages) (\d+)", line)
        if m:
            put(root, m.group(1), m.group(2))
    put(root, "sys/module/memory_hotplug/parameters/memmap_on_memory", res["param_memmap_on_memory"])
    put(root, "proc/sys/vm/hugetlb_optimize_vmemmap", res["sysctl_hugetlb_optimize_vmemmap"])
    uname = res["uname"].split()
    put(root, "proc/sys/kernel/osrelease", uname[2])
    put(root, "proc/sys/kernel/arch", uname[-2])
    put(root, "proc/cmdline", res["proc_cmdline"])
    put(root, "proc/iomem", guest["iomem"])
    put(root, "proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu de pse tsc msr pae cx8 apic sep pge cmov "
        + ("la57 " if res["cpu_flags_la57"] == "1" else "") + "hypervisor\n")
    put(root, "page_size", "4096")
    # kpageflags runs: the recorded first pfns of each hot-added block, then the HugeTLB heads
    runs: list[list[int]] = []
    for key in ("d1_kpageflags", "d2_kpageflags"):
        for b in res[key].values():
            first4 = int(b["flags_first4"][0][0], 16)
            owner = b["owner_private_pfns"]
            if owner:
                runs.append([owner[0], len(owner), first4])
            else:
                runs.append([b["first_pfn"], 4, first4])
            for pfn, flags, _ in b["flags_510_to_514"]:
                if pfn not in owner:
                    runs.append([pfn, 1, int(flags, 16)])
    for h in res["hugepages"]:
        runs.append([h["head_pfn"], 1, HEAD | HUGE])
    runs.sort()
    (HERE / f"{name}.kpageflags.json").write_text(
        "[\n" + ",\n".join(json.dumps(r) for r in runs) + "\n]\n")


def lsmem_sample(gt: Path) -> None:
    """`lsmem --json --all --output-all` (util-linux 2.38 shape) of the 6.12 C guest, from its blocks."""
    guest = json.loads((gt / "6.12" / "C_mmo1_hvo_off" / "guest_9_after_hugetlb.json").read_text())
    rows = []
    for line in guest["blocks"].splitlines():
        m = re.fullmatch(r"memory(\d+) phys_index=(\w+) state=(\S+) zones='([^']*)' node=node(\d+)", line)
        bid, bsz = int(m.group(1)), 0x8000000
        rows.append((bid, {"range": f"0x{bid * bsz:016x}-0x{(bid + 1) * bsz - 1:016x}", "size": "128M",
                           "state": m.group(3), "removable": True, "block": str(bid), "node": int(m.group(5)),
                           "zones": "None" if m.group(4) == "none" else m.group(4)}))
    doc = {"memory": [r for _, r in sorted(rows, key=lambda r: r[0])]}
    (HERE.parent / "samples" / "lsmem-output-all-gt-6.12-C.json").write_text(json.dumps(doc, indent=3) + "\n")


def bare_metal() -> None:
    """Two nodes of 64 GiB in 2 GiB blocks (x86 bare metal above 64 GiB), pools of 2M and 1G pages."""
    root = HERE / "bare-metal-x86"
    shutil.rmtree(root, ignore_errors=True)
    gib2 = 2 << 30
    put(root, f"{MEM}/block_size_bytes", f"{gib2:x}")
    put(root, f"{MEM}/auto_online_blocks", "offline")
    for bid in range(64):
        zone = "none" if bid < 2 else "Normal"           # blocks 0 and 1 span DMA/DMA32 (and the PCI hole)
        block(root, bid, "online", zone, bid // 32, f"{bid * 16:08x}", "1")
    for node, size, nr in ((0, 2048, 1024), (1, 2048, 512), (0, 1048576, 4), (1, 1048576, 2)):
        put(root, f"{NODE}/node{node}/hugepages/hugepages-{size}kB/nr_hugepages", str(nr))
    put(root, "sys/module/memory_hotplug/parameters/memmap_on_memory", "N")
    put(root, "proc/sys/vm/hugetlb_optimize_vmemmap", "1")
    put(root, "proc/sys/kernel/osrelease", "6.8.0-45-generic")
    put(root, "proc/sys/kernel/arch", "x86_64")
    put(root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.8.0-45-generic root=/dev/sda1 ro hugetlb_free_vmemmap=on")
    put(root, "proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu de pse tsc msr pae cx8 apic sep pge cmov pdpe1gb\n")
    put(root, "proc/iomem", "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n")   # as non-root
    put(root, "page_size", "4096")


def bad_trees() -> None:
    for name, bsz, state in (("bad-no-block-size", None, "online"), ("bad-block-size-zz", "zz", "online"),
                             ("bad-state-banana", "8000000", "banana")):
        root = HERE / name
        shutil.rmtree(root, ignore_errors=True)
        if bsz is not None:
            put(root, f"{MEM}/block_size_bytes", bsz)
        block(root, 0, "online", "DMA32", 0, "00000000")
        block(root, 1, state, "Normal", 0, "00000001")
        put(root, "proc/sys/kernel/osrelease", "6.12.0")
        put(root, "proc/sys/kernel/arch", "x86_64")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gt", type=Path, default=Path("/work/shared/reference/kernel-gt"))
    a = ap.parse_args()
    gt_tree(a.gt, "6.12", "C_mmo1_hvo_off", "gt-6.12-C")
    gt_tree(a.gt, "6.1", "C_mmo1_hvo_off", "gt-6.1-C")
    lsmem_sample(a.gt)
    bare_metal()
    bad_trees()


if __name__ == "__main__":
    main()
