#!/usr/bin/env python3
"""Import a real machine: read its memory blocks, hotplug parameters and HugeTLB pools from sysfs and
procfs (read-only) into a snapshot, and turn the snapshot into a scenario document (schema_version 1).

Standard library only, so `python3 app/collect.py` runs on any Linux host without the project's
dependencies. Two steps, kept apart so the REST API can rebuild a scenario from an uploaded snapshot:
`snapshot(sysroot)` records raw values as read; `build(snapshot)` derives the scenario and says which
facts were observed and which inferred (boot vs hot-added memory, add_memory ranges, struct page size).

A sysroot other than "/" is a copied tree (sys/..., proc/...); its page size is read from a `page_size`
file at the tree's root (a vmemscope convention; 4096 if absent, noted as inferred).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from array import array
from typing import Any, Iterable

__all__ = ["CollectError", "collect", "snapshot", "build", "from_lsmem", "main", "SNAPSHOT_FORMAT"]

SNAPSHOT_FORMAT = "vmemscope-snapshot"
KERNEL_RANGE = ((5, 13), (7, 3))          # engine.kernel.KERNELS[0] and [-1] (a test keeps them equal)
DEFAULT_KERNEL = "6.8"                     # engine.scenario.Scenario's default, for sources without uname
GiB = 1 << 30
# HugeTLB sizes per (arch, page size), as engine.arch.ARCHES offers them (a test keeps them equal)
HUGETLB_SIZES = {("x86_64", 4096): (2 << 20, GiB),
                 ("arm64", 4096): (64 << 10, 2 << 20, 32 << 20, GiB),
                 ("arm64", 16384): (2 << 20, 32 << 20, GiB),
                 ("arm64", 65536): (2 << 20, 512 << 20, 16 * GiB)}
KPF_COMPOUND_HEAD, KPF_HUGE, KPF_OWNER_PRIVATE = 15, 17, 37     # fs/proc/page.c, kernel-page-flags.h
MEMORY = "/sys/devices/system/memory"
NODES = "/sys/devices/system/node"
HEAD_SCAN_PFNS = 1 << 24                   # scan kpageflags for HugeTLB heads over at most 64 GiB (4K pages)
MAX_HEADS = 100_000
STATES = ("online", "offline", "going-offline")
MAX_LSMEM_BLOCKS = 65_536


class CollectError(ValueError):
    """A required file is missing or holds garbage; `loc` is the snapshot field (for the API's 422)."""

    def __init__(self, msg: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(msg)
        self.msg, self.loc = msg, loc


# ------------------------------------------------------------------------------------------- reading
class _Reader:
    """Reads files under a sysroot; optional ones that fail are noted in `unreadable`, never raised."""

    def __init__(self, sysroot: str) -> None:
        self.root = sysroot
        self.unreadable: list[dict[str, str]] = []

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel.lstrip("/"))

    def _fail(self, rel: str, e: OSError, required: bool, note_absent: bool) -> None:
        if isinstance(e, FileNotFoundError):
            reason = "missing"
        elif isinstance(e, PermissionError):
            reason = "permission denied: needs root"
        else:
            reason = (os.strerror(e.errno) if e.errno else str(e)).lower()
        if required:
            raise CollectError(f"{rel}: {reason}") from None
        if note_absent or not isinstance(e, FileNotFoundError):
            self.unreadable.append({"path": rel, "reason": reason})

    def text(self, rel: str, required: bool = False, note_absent: bool = True) -> str | None:
        try:
            with open(self.path(rel), encoding="utf-8", errors="replace") as f:
                return f.read(1 << 20).strip()
        except OSError as e:
            self._fail(rel, e, required, note_absent)
            return None

    def listdir(self, rel: str, required: bool = False) -> list[str]:
        try:
            return sorted(os.listdir(self.path(rel)))
        except OSError as e:
            self._fail(rel, e, required, note_absent=False)
            return []


def _block_id(name: str) -> int | None:
    m = re.fullmatch(r"memory(\d+)", name)
    return int(m.group(1)) if m else None


def _node_of(r: _Reader, name: str) -> int | None:
    """The nodeK entry (a symlink) inside memoryN, else memoryN inside some nodeK directory."""
    for e in r.listdir(f"{MEMORY}/{name}"):
        if re.fullmatch(r"node\d+", e):
            return int(e[4:])
    for n in r.listdir(NODES):
        if re.fullmatch(r"node\d+", n) and os.path.lexists(r.path(f"{NODES}/{n}/{name}")):
            return int(n[4:])
    return None


def _pools(r: _Reader) -> list[dict[str, int]]:
    """nr_hugepages per node and size; without NUMA sysfs, the global pools count as node 0."""
    out = []
    nodes = [n for n in r.listdir(NODES) if re.fullmatch(r"node\d+", n)]
    where = [(int(n[4:]), f"{NODES}/{n}/hugepages") for n in nodes] or [(0, "/sys/kernel/mm/hugepages")]
    for node, d in where:
        for e in r.listdir(d):
            m = re.fullmatch(r"hugepages-(\d+)kB", e)
            nr = r.text(f"{d}/{e}/nr_hugepages") if m else None
            if m and nr is not None and nr.isdigit():
                out.append({"node": node, "size_kb": int(m.group(1)), "nr_hugepages": int(nr)})
    return out


def _iomem(r: _Reader) -> list[list[str]] | None:
    """Top-level "System RAM" resources (one per boot RAM range or hot-added range); None when the
    kernel hides the addresses (they read as zero without CAP_SYS_ADMIN)."""
    text = r.text("/proc/iomem")
    if text is None:
        return None
    out, seen_nonzero = [], False
    for line in text.splitlines():
        m = re.fullmatch(r"([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)", line)
        if not m:
            continue
        seen_nonzero |= int(m.group(2), 16) != 0
        if m.group(3).startswith("System RAM"):
            out.append([hex(int(m.group(1), 16)), hex(int(m.group(2), 16))])
    if not seen_nonzero:
        r.unreadable.append({"path": "/proc/iomem", "reason": "addresses read as zero: needs root"})
        return None
    return out


def _kpageflags(r: _Reader, blocks: list[dict[str, Any]], block_pages: int | None,
                pools: list[dict[str, int]], page_size: int) -> dict[str, Any] | None:
    """Each block's first pfns (bit 37, PG_owner_priv_1 = PG_vmemmap_self_hosted, marks a self-hosted
    memmap) and, when pools are not empty, HugeTLB heads (bits 15 and 17) at pool-size strides."""
    rel = "/proc/kpageflags"
    try:
        f = open(r.path(rel), "rb")
    except OSError as e:
        r._fail(rel, e, required=False, note_absent=True)
        return None

    def read(pfn: int, n: int) -> array:
        f.seek(pfn * 8)
        raw = f.read(n * 8)
        a = array("Q")
        a.frombytes(raw[: len(raw) // 8 * 8])
        if sys.byteorder == "big":
            a.byteswap()                   # the file is little-endian u64 on x86_64 and arm64
        return a

    heads: list[str] = []
    scanned = 0
    try:
        with f:
            if block_pages:
                n = max(1, block_pages * 64 // page_size)    # the memmap of 64-byte struct pages
                for b in blocks:
                    a = read(b["id"] * block_pages, 1)
                    if a and a[0] >> KPF_OWNER_PRIVATE & 1:
                        a = read(b["id"] * block_pages, n)
                    b["kpageflags_first"] = hex(a[0]) if a else None
                    run = 0
                    while run < len(a) and a[run] >> KPF_OWNER_PRIVATE & 1:
                        run += 1
                    b["owner_private_run"] = run if a else None
            sizes = [p["size_kb"] << 10 for p in pools if p["nr_hugepages"] > 0]
            stride = min(sizes) // page_size if sizes else 0
            if block_pages and stride >= 1:
                want = 1 << KPF_COMPOUND_HEAD | 1 << KPF_HUGE
                for b in blocks:
                    if b["state"] != "online" or scanned + block_pages > HEAD_SCAN_PFNS:
                        continue
                    base = b["id"] * block_pages
                    for off in range(0, block_pages, 1 << 16):
                        a = read(base + off, min(1 << 16, block_pages - off))[::stride]
                        heads += [hex(base + off + i * stride) for i, v in enumerate(a) if v & want == want]
                    scanned += block_pages
    except OSError as e:
        r._fail(rel, e, required=False, note_absent=True)
        return None
    total = sum(block_pages or 0 for b in blocks if b["state"] == "online")
    return {"head_stride_pages": stride, "heads": heads[:MAX_HEADS] if stride else None,
            "heads_complete": bool(stride) and scanned >= total and len(heads) <= MAX_HEADS}


def snapshot(sysroot: str = "/") -> dict[str, Any]:
    """Every raw value read under sysroot, as strings where the kernel prints them (hex stays hex)."""
    r = _Reader(sysroot)
    live = os.path.realpath(sysroot) == "/"
    bsz_text = r.text(f"{MEMORY}/block_size_bytes", required=True) or ""
    names = [n for n in r.listdir(MEMORY, required=True) if _block_id(n) is not None]
    if not names:
        raise CollectError(f"{MEMORY}: no memoryN blocks (kernel without CONFIG_MEMORY_HOTPLUG sysfs?)")
    blocks = []
    for name in sorted(names, key=_block_id):
        d = f"{MEMORY}/{name}"
        state = r.text(f"{d}/state", required=True)
        zones = r.text(f"{d}/valid_zones", note_absent=False)
        if zones is None:
            zones = r.text(f"{d}/zones", note_absent=False)
        blocks.append({"id": _block_id(name), "state": state, "valid_zones": zones,
                       "phys_index": r.text(f"{d}/phys_index", note_absent=False), "node": _node_of(r, name),
                       "removable": r.text(f"{d}/removable", note_absent=False)})
    release = r.text("/proc/sys/kernel/osrelease")
    machine = r.text("/proc/sys/kernel/arch", note_absent=not live)
    if live:
        u = os.uname()
        release, machine = release or u.release, machine or u.machine
    page_size: int | None = os.sysconf("SC_PAGE_SIZE") if live else None
    if not live:
        ps = r.text("/page_size", note_absent=False)
        page_size = int(ps) if ps and ps.isdigit() else None
    cpuinfo = r.text("/proc/cpuinfo") or ""
    flags = next((ln.split(":", 1)[1].split() for ln in cpuinfo.splitlines() if ln.startswith("flags")), [])
    pools = _pools(r)
    try:
        bpages = int(bsz_text, 16) // (page_size or 4096)
    except ValueError:
        bpages = None                      # build() names the garbage
    kpf = _kpageflags(r, blocks, bpages, pools, page_size or 4096)
    return {
        "format": SNAPSHOT_FORMAT, "version": 1, "sysroot": sysroot,
        "uname": {"release": release, "machine": machine}, "page_size": page_size,
        "block_size_bytes": bsz_text, "memory_blocks": blocks,
        "auto_online_blocks": r.text(f"{MEMORY}/auto_online_blocks"),
        "memmap_on_memory": r.text("/sys/module/memory_hotplug/parameters/memmap_on_memory"),
        "hugetlb_optimize_vmemmap": r.text("/proc/sys/vm/hugetlb_optimize_vmemmap"),
        "cmdline": r.text("/proc/cmdline"),
        "cpu_flags": {"la57": "la57" in flags, "hypervisor": "hypervisor" in flags} if flags else None,
        "hugetlb_pools": pools, "iomem_system_ram": _iomem(r), "kpageflags": kpf,
        "unreadable": r.unreadable,
    }


# ------------------------------------------------------------------------------------------- lsmem
def _lsmem_int(v: Any, what: str, loc: tuple) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).strip().isdigit():
        raise CollectError(f"{what} {v!r} is not a number", loc)
    return int(v)


def from_lsmem(doc: dict[str, Any]) -> dict[str, Any]:
    """`lsmem --json --all [--output-all]` as a snapshot: blocks, states, nodes and zones only."""
    rows = doc.get("memory")
    if not isinstance(rows, list) or not rows:
        raise CollectError("no memory rows (give the output of `lsmem --json --all`)", ("memory",))
    blocks, sizes = [], set()
    for i, row in enumerate(rows):
        loc = ("memory", i)
        m = re.fullmatch(r"\s*0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\s*", str(row.get("range", "")))
        if not m:
            raise CollectError(f"range {row.get('range')!r} is not like 0x0-0x7ffffff", loc + ("range",))
        start, end = int(m.group(1), 16), int(m.group(2), 16) + 1
        if end <= start:
            raise CollectError(f"range {row['range']} ends before it starts", loc + ("range",))
        blk = str(row.get("block", "")).strip()
        bm = re.fullmatch(r"(\d+)(?:-(\d+))?", blk)
        if not bm:
            raise CollectError(f"block {row.get('block')!r} is not N or N-M", loc + ("block",))
        first, last = int(bm.group(1)), int(bm.group(2) or bm.group(1))
        if last < first or (end - start) % (last - first + 1):
            raise CollectError(f"range {row['range']} does not split into blocks {blk}", loc + ("range",))
        bsz = (end - start) // (last - first + 1)
        if start != first * bsz:
            raise CollectError(f"range {row['range']} does not start at memory{first}", loc + ("range",))
        sizes.add(bsz)
        if len(blocks) + last - first + 1 > MAX_LSMEM_BLOCKS:
            raise CollectError(f"more than {MAX_LSMEM_BLOCKS} memory blocks", loc + ("block",))
        state = "going-offline" if row.get("state") == "on->off" else row.get("state")
        if state not in STATES:
            raise CollectError(f"state {row.get('state')!r} is not online, offline or on->off", loc + ("state",))
        node = row.get("node")
        node = _lsmem_int(node, "node", loc + ("node",)) if node not in (None, "", "-") else None
        zones = row.get("zones")
        zones = " ".join(re.split(r"[\s/,]+", zones.strip())) if isinstance(zones, str) else None
        removable = None if row.get("removable") is None else str(row["removable"])
        for bid in range(first, last + 1):
            blocks.append({"id": bid, "state": state, "node": node, "phys_index": None, "valid_zones": zones,
                           "removable": removable})
    if len(sizes) != 1:
        raise CollectError(f"rows imply different block sizes ({', '.join(map(hex, sorted(sizes)))})", ("memory",))
    return {"format": SNAPSHOT_FORMAT, "version": 1, "sysroot": None, "uname": {"release": None, "machine": None},
            "page_size": None, "block_size_bytes": f"{sizes.pop():x}", "memory_blocks": blocks,
            "auto_online_blocks": None, "memmap_on_memory": None, "hugetlb_optimize_vmemmap": None,
            "cmdline": None, "cpu_flags": None, "hugetlb_pools": [], "iomem_system_ram": None,
            "kpageflags": None, "unreadable": [], "source": "lsmem"}


# ------------------------------------------------------------------------------------------- building
def fmt_size(n: int) -> str:
    for suffix, unit in (("T", 1 << 40), ("G", GiB), ("M", 1 << 20), ("K", 1 << 10)):
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return hex(n)


def _names(ids: list[int]) -> str:
    """memory40..memory47, memory32 (runs of consecutive ids)."""
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(f"memory{ids[i]}" + (f"..memory{ids[j]}" if j > i else ""))
        i = j + 1
    return ", ".join(out) or "none"


def _kernel(release: str | None, notes: list[str]) -> str:
    m = re.match(r"(\d+)\.(\d+)", release or "")
    if not m:
        notes.append(f"kernel release {release!r} unknown: evaluating as {DEFAULT_KERNEL}" if release else
                     f"kernel release not recorded (lsmem does not say): evaluating as {DEFAULT_KERNEL}")
        return DEFAULT_KERNEL
    v = (int(m.group(1)), int(m.group(2)))
    lo, hi = KERNEL_RANGE
    c = min(max(v, lo), hi)
    if c != v:
        notes.append(f"kernel {release} is outside the modelled releases {lo[0]}.{lo[1]}..{hi[0]}.{hi[1]}: "
                     f"evaluating as {c[0]}.{c[1]}")
    elif release != f"{v[0]}.{v[1]}":
        notes.append(f"kernel {release} is modelled as mainline {v[0]}.{v[1]}")
    return f"{c[0]}.{c[1]}"


def _zone(valid_zones: str | None) -> str:
    """The block's zone (an online block's valid_zones is its zone; an offline one lists the default first)."""
    first = (valid_zones or "").split()
    return "movable" if first and first[0].lower() == "movable" else "normal"


def _boot_ids(ids: list[int], bsz: int, arch: str, self_hosted: set[int]) -> list[int]:
    """The lowest run of consecutive blocks, across the x86 PCI hole (a gap from >= 2 GiB up to 4 GiB),
    stopping at a block whose memmap is self-hosted (only hot-added memory has one)."""
    boot: list[int] = []
    for bid in ids:
        if bid in self_hosted:
            break
        if boot and bid != boot[-1] + 1:
            gap_lo, gap_hi = (boot[-1] + 1) * bsz, bid * bsz
            if not (arch == "x86_64" and gap_lo >= 2 * GiB and gap_hi == 4 * GiB):
                break
        boot.append(bid)
    return boot


def _groups(hot: list[dict[str, Any]], bsz: int, iomem: list[list[str]] | None,
            split_self_hosted: bool) -> list[list[dict[str, Any]]]:
    """add_memory() ranges: consecutive blocks on one node with the same memmap placement, split at
    /proc/iomem "System RAM" resource boundaries (each hot-added range is one resource)."""
    starts = {int(s, 16) for s, _ in iomem or []}
    groups: list[list[dict[str, Any]]] = []
    for b in hot:
        g = groups[-1] if groups else None
        if (g and b["id"] == g[-1]["id"] + 1 and b["node"] == g[-1]["node"]
                and b["self_hosted"] == g[-1]["self_hosted"] and b["id"] * bsz not in starts
                and not (split_self_hosted and b["self_hosted"])):
            g.append(b)
        else:
            groups.append([b])
    return groups


def _flag(text: str | None, table: dict[str, Any], what: str, loc: tuple) -> Any:
    if text is None:
        return None
    if text.strip().lower() not in table:
        raise CollectError(f"{what}: {text!r} is not one of {', '.join(table)}", loc)
    return table[text.strip().lower()]


def build(snap: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str], list[str]]:
    """Scenario document, observed facts, inferred facts and notes from a snapshot (or from_lsmem)."""
    observed: list[str] = []
    inferred: list[str] = []
    notes: list[str] = [f"{u['path']}: {u['reason']}" for u in snap.get("unreadable") or []]
    src = "lsmem" if snap.get("source") == "lsmem" else "sysfs"
    # machine
    raw_bsz = str(snap.get("block_size_bytes") or "").strip()
    if not re.fullmatch(r"(0[xX])?[0-9a-fA-F]{1,16}", raw_bsz) or int(raw_bsz, 16) == 0:
        raise CollectError(f"{MEMORY}/block_size_bytes: {raw_bsz!r} is not a hex number of bytes",
                           ("block_size_bytes",))
    bsz = int(raw_bsz, 16)
    if bsz & (bsz - 1):
        raise CollectError(f"{MEMORY}/block_size_bytes: {raw_bsz} is not a power of two", ("block_size_bytes",))
    observed.append(f"memory block size {fmt_size(bsz)} ({src})")
    uname = snap.get("uname") or {}
    mach = uname.get("machine")
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(mach or "")
    if mach is None:
        arch = "x86_64"
        inferred.append("arch x86_64 (not recorded)")
    elif arch is None:
        raise CollectError(f"machine {mach!r} is not modelled (x86_64 and arm64 are)", ("uname", "machine"))
    else:
        observed.append(f"arch {arch} (uname machine {mach})")
    page_size = snap.get("page_size")
    if page_size is None:
        page_size = 4096
        inferred.append("page size 4K (not recorded)")
    else:
        observed.append(f"page size {fmt_size(page_size)}")
    kernel = _kernel(uname.get("release"), notes)
    kv = tuple(int(x) for x in kernel.split("."))
    if uname.get("release"):
        observed.append(f"kernel {uname['release']} (modelled as {kernel})")
    cpu = snap.get("cpu_flags") or {}
    cmdline = snap.get("cmdline") or ""
    machine: dict[str, Any] = {"arch": arch, "page_size": fmt_size(page_size), "memory_block_size": fmt_size(bsz)}
    if arch == "x86_64" and cpu:
        machine["paging_levels"] = 5 if cpu.get("la57") and "no5lvl" not in cmdline.split() else 4
        machine["hypervisor"] = bool(cpu.get("hypervisor"))
        inferred.append(f"{machine['paging_levels']}-level paging (cpu flag la57 "
                        f"{'set' if cpu.get('la57') else 'clear'}); hypervisor {machine['hypervisor']} (cpu flags)")
    inferred.append("struct page size 64 bytes (sizeof(struct page) needs BTF to read)")
    # parameters
    loc = ("memmap_on_memory",)
    mmo = _flag(snap.get("memmap_on_memory"), {"y": "on", "1": "on", "n": "off", "0": "off", "force": "force"},
                "memmap_on_memory", loc)
    if mmo is None:
        mmo = "off"
        inferred.append("memmap_on_memory off (no memory_hotplug.memmap_on_memory parameter: the kernel default)")
    else:
        observed.append(f"memmap_on_memory={snap['memmap_on_memory']} (module parameter)")
    hvo = _flag(snap.get("hugetlb_optimize_vmemmap"), {"1": True, "0": False}, "hugetlb_optimize_vmemmap",
                ("hugetlb_optimize_vmemmap",))
    if hvo is not None:
        observed.append(f"vm.hugetlb_optimize_vmemmap={snap['hugetlb_optimize_vmemmap']} (sysctl)")
    else:
        m = re.search(r"(?:^|\s)hugetlb_free_vmemmap=(\S+)", cmdline)
        hvo = bool(m and m.group(1).lower() in ("on", "y", "1"))
        (observed if m else inferred).append(f"hugetlb_free_vmemmap {'on' if hvo else 'off'} ("
                                             + ("kernel command line)" if m else "no sysctl: the kernel default)"))
    # blocks
    blocks, seen = [], set()
    unlinked: list[int] = []
    for i, b in enumerate(snap.get("memory_blocks") or []):
        path = f"{MEMORY}/memory{b['id']}"
        if b["id"] in seen:
            raise CollectError(f"memory{b['id']} is listed twice", ("memory_blocks", i, "id"))
        seen.add(b["id"])
        state = (b.get("state") or "").strip()
        if state not in STATES:
            raise CollectError(f"{path}/state: {state!r} is not one of {', '.join(STATES)}",
                               ("memory_blocks", i, "state"))
        if state == "going-offline":
            notes.append(f"memory{b['id']} was going offline: modelled as online")
        if (b["id"] + 1) * bsz > 1 << 64:
            raise CollectError(f"memory{b['id']} lies beyond 64-bit physical addresses", ("memory_blocks", i, "id"))
        # PG_vmemmap_self_hosted (v6.0) is set when the block is onlined; a run of half the memmap
        # of 64-byte struct pages is no coincidence (a lone owner-private page may be swap cache)
        run = b.get("owner_private_run")
        known = run is not None and state != "offline" and kv >= (6, 0)
        blocks.append({**b, "state": "offline" if state == "offline" else "online",
                       "node": b["node"] if b.get("node") is not None else 0,
                       "self_hosted": run >= max(1, bsz // page_size * 64 // page_size // 2) if known else None})
        if b.get("node") is None:
            unlinked.append(b["id"])
    if not blocks:
        raise CollectError(f"{MEMORY}: no memory blocks", ("memory_blocks",))
    blocks.sort(key=lambda b: b["id"])
    ids = [b["id"] for b in blocks]
    if unlinked:                                 # one line for all of them, not one per block
        inferred.append(f"{len(unlinked)} memory block{'s' if len(unlinked) > 1 else ''} {_names(unlinked)} "
                        "on node 0 (no node link)")
    observed.append(f"{len(blocks)} memory blocks {_names(ids)}: state, node and zone ({src})")
    hosted = {b["id"] for b in blocks if b["self_hosted"]}
    if any(b["self_hosted"] is not None for b in blocks):
        observed.append(f"self-hosted memmap (kpageflags bit 37 on the first pfn): {_names(sorted(hosted))}")
    boot = set(_boot_ids(ids, bsz, arch, hosted))
    if not boot:
        raise CollectError(f"memory{ids[0]}, the lowest block, has a self-hosted memmap: no boot memory",
                           ("memory_blocks",))
    hot = [b for b in blocks if b["id"] not in boot]
    hole = len(boot) > 1 and max(boot) - min(boot) + 1 > len(boot)
    inferred.append(f"boot memory: {_names(sorted(boot))} (the lowest run of blocks"
                    + (", across the PCI hole below 4 GiB" if hole else "") + ")")
    inferred.append(f"hot-added: {_names([b['id'] for b in hot])} (blocks above the boot run)")
    # boot_memory: runs of consecutive boot blocks on one node
    boot_memory: list[dict[str, Any]] = []
    for b in blocks:
        if b["id"] not in boot:
            continue
        last = boot_memory[-1] if boot_memory else None
        if last and last["_end"] == b["id"] and last["node"] == b["node"]:
            last["_end"] += 1
        else:
            boot_memory.append({"start": hex(b["id"] * bsz), "_end": b["id"] + 1, "node": b["node"]})
    for r in boot_memory:
        r["size"] = fmt_size((r.pop("_end") * bsz) - int(r["start"], 16))
    boot_memory = [{"start": r["start"], "size": r["size"], "node": r["node"]} for r in boot_memory]
    # ops: hot-added ranges in address order, each added then onlined (the kernel's auto-online, or udev)
    ops: list[dict[str, Any]] = []
    pre_per_block = kv < (6, 8)
    for g in _groups(hot, bsz, snap.get("iomem_system_ram"), pre_per_block):
        s, size = g[0]["id"] * bsz, len(g) * bsz
        sh = g[0]["self_hosted"]
        ops.append({"op": "add_memory", "start": hex(s), "size": fmt_size(size), "node": g[0]["node"],
                    "memmap_on_memory": True if sh is None else sh})
        k = 0
        while k < len(g):
            j = k
            while (j + 1 < len(g) and g[j + 1]["state"] == g[k]["state"] == "online"
                   and _zone(g[j + 1]["valid_zones"]) == _zone(g[k]["valid_zones"])):
                j += 1
            if g[k]["state"] == "online":
                ops.append({"op": "online", "start": hex(g[k]["id"] * bsz), "size": fmt_size((j - k + 1) * bsz),
                            "zone": _zone(g[k]["valid_zones"])})
            k = j + 1
    if hot:
        src_ranges = "/proc/iomem System RAM resources" if snap.get("iomem_system_ram") else "contiguous blocks"
        inferred.append(f"add_memory ranges from {src_ranges} on one node; memmap_on_memory requested "
                        + ("as observed in kpageflags" if any(b["self_hosted"] is not None for b in hot)
                           else "(as ACPI DIMMs do)"))
    for b in blocks:
        if b["id"] in boot and b["state"] == "offline":
            ops.append({"op": "offline", "start": hex(b["id"] * bsz), "size": fmt_size(bsz)})
    # HugeTLB pools
    offered = HUGETLB_SIZES.get((arch, page_size), ())
    nodes = {b["node"] for b in blocks}
    for p in sorted(snap.get("hugetlb_pools") or [], key=lambda p: (-p["size_kb"], p["node"])):   # gigantic first
        size = p["size_kb"] << 10
        if p["nr_hugepages"] == 0:
            continue
        if size not in offered or p["node"] not in nodes:
            notes.append(f"node{p['node']} hugepages-{p['size_kb']}kB: {p['nr_hugepages']} pages left out ("
                         + ("size not modelled" if size not in offered else "node has no memory blocks") + ")")
            continue
        ops.append({"op": "alloc_hugepages", "size": fmt_size(size), "count": p["nr_hugepages"],
                    "node": p["node"]})
    if snap.get("hugetlb_pools"):
        observed.append("HugeTLB pool sizes per node (nr_hugepages)")
        inferred.append("HugeTLB page placement: the simulator's allocator (only the counts are observed)")
    kpf = snap.get("kpageflags") or {}
    if kpf.get("heads") is not None:
        observed.append(f"{len(kpf['heads'])} HugeTLB heads in kpageflags (bits 15 and 17)"
                        + ("" if kpf.get("heads_complete") else ", scan incomplete"))
    if snap.get("auto_online_blocks"):
        observed.append(f"auto_online_blocks={snap['auto_online_blocks']} (the scenario onlines blocks explicitly)")
    release = uname.get("release") or "unknown kernel"
    scenario = {
        "schema_version": 1, "name": f"imported: Linux {release} {mach or arch}"[:200],
        "machine": machine, "kernel": kernel,
        "params": {"memmap_on_memory": mmo, "hugetlb_free_vmemmap": hvo},
        "boot_memory": boot_memory, "ops": ops,
    }
    return scenario, observed, inferred, notes


def collect(sysroot: str = "/") -> tuple[dict[str, Any], dict[str, Any]]:
    """(scenario document, snapshot) of the machine under sysroot; read-only."""
    snap = snapshot(sysroot)
    scenario, observed, inferred, notes = build(snap)
    snap.update(observed=observed, inferred=inferred, notes=notes)
    return scenario, snap


# ------------------------------------------------------------------------------------------- CLI
def _write(path: str | None, doc: Any) -> None:
    text = json.dumps(doc, indent=1) + "\n"
    if path in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def run(sysroot: str, out: str | None, snapshot_out: str | None) -> str:
    """collect() and write the scenario (stdout by default) and the snapshot; returns a summary line."""
    scenario, snap = collect(sysroot)
    _write(out, scenario)
    if snapshot_out:
        _write(snapshot_out, snap)
    adds = sum(op["op"] == "add_memory" for op in scenario["ops"])
    return (f"kernel {scenario['kernel']}, {len(snap['memory_blocks'])} blocks, {len(scenario['boot_memory'])} "
            f"boot range(s), {adds} hot-added range(s); {len(snap['unreadable'])} unreadable")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="collect.py", description="Read this machine's memory blocks, "
                                 "hotplug parameters and HugeTLB pools into a vmemscope scenario (read-only)")
    ap.add_argument("--sysroot", default="/", help="root of a copied /sys and /proc tree (default: /)")
    ap.add_argument("--out", help="scenario JSON file (default: stdout)")
    ap.add_argument("--snapshot", help="also write the raw snapshot (with observed/inferred) here")
    return ap


def main(argv: Iterable[str] | None = None) -> int:
    a = build_parser().parse_args(None if argv is None else list(argv))
    try:
        summary = run(a.sysroot, a.out, a.snapshot)
    except (CollectError, OSError) as e:
        print(f"collect: error: {e}", file=sys.stderr)
        return 2
    if a.out not in (None, "-"):
        print(f"collect: wrote {a.out}: {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
