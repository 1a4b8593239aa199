"""Boot and replay: build a Machine from a scenario and apply its ops in order.

boot() is the kernel's early memory setup as far as the vmemmap sees it: memblock ranges become
online boot memory blocks, sparse_init() places each node's memmap in a memblock buffer, the rest
goes to the buddy allocator. replay() dispatches each op to the kernel-function module that models
it, under the time budget. The accelerator (engine/_replay_c.pyx) is used only for kernels whose
switches it names (kernel.SWITCHES); otherwise the Python model replays alone.
"""
from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from .arch import Arch, arch_for, check_phys_range, probe_memory_block_size, zone_of_boot_pfn
from .budget import Budget
from .codes import MAX_BLOCKS, MEMMAP_BOOT
from .errors import ScenarioError
from .hugetlb import alloc_hugepage, alloc_hugepages, free_hugepage, free_hugepages
from .hvo import sysctl
from .kernel import Kernel, kernel_for
from .machine import Machine
from .memmap import sparse_init_nid
from .memory import add_memory, offline, online, remove_memory, swapcache_page
from .scenario import Scenario
from .units import human_size

__all__ = ["boot", "replay", "OPS", "bulk_for"]

GiB = 1 << 30
MAX_EFFECTS = 8          # side effects spelled out in an event's message (the rest in its `effects`)

# op name -> the function that models it (each returns the op's event)
OPS = {"add_memory": add_memory, "online": online, "offline": offline, "remove_memory": remove_memory,
       "alloc_hugepages": alloc_hugepages, "alloc_hugepage": alloc_hugepage, "free_hugepage": free_hugepage,
       "free_hugepages": free_hugepages, "sysctl": sysctl, "swapcache_page": swapcache_page}


def bulk_for(kernel: Kernel, bulk: ModuleType | None) -> ModuleType | None:
    """The accelerator, if it names every switch this kernel has on; else None (the Python model)."""
    if bulk is None or not kernel.on <= frozenset(bulk.SWITCHES):
        return None
    return bulk


def boot(scenario: Scenario, budget: Budget | None = None, bulk: ModuleType | None = None) -> Machine:
    """The machine as it is after boot, before the first op."""
    ms = scenario.machine
    try:
        arch = arch_for(ms.arch, ms.page_size, ms.paging_levels)
    except ValueError as e:
        raise ScenarioError(("machine",), str(e)) from None
    try:
        kernel = kernel_for(scenario.kernel)
    except ValueError as e:
        raise ScenarioError(("kernel",), str(e)) from None
    arch = _with_va_bits(arch, kernel, ms.va_bits)
    m = Machine(scenario, arch, kernel, budget or Budget(), bulk_for(kernel, bulk))
    _boot_memory(m)
    m.boot_memmap_pages = sum(e - s for s, e, r in zip(m.roles.starts, m.roles.ends, m.roles.vals)
                              if r == MEMMAP_BOOT)
    m.hvo_enabled = bool(m.params.hugetlb_free_vmemmap and kernel.hvo_available(arch))
    _boot_messages(m)
    return m


def _with_va_bits(arch: Arch, kernel: Kernel, va_bits: int | None) -> Arch:
    """The configuration for this VA size and release: the vmemmap region (VMEMMAP_START moved below
    -1 GiB in 6.9 on arm64) and the physical address limit (52-bit VA comes with 52-bit PA)."""
    va = va_bits or arch.va_bits[0]
    if va not in arch.va_bits:
        raise ScenarioError(("machine", "va_bits"), f"{arch.key} offers VA_BITS {' or '.join(map(str, arch.va_bits))}"
                            + (" (x86_64 chooses with paging_levels)" if arch.vmemmap_formula == "constant" else ""))
    if va == 52 and arch.page_size < 64 << 10 and not kernel.arm64_52bit_small_pages:
        raise ScenarioError(("machine", "va_bits"), f"52-bit VA with {arch.page_size >> 10}K pages came in 6.9 "
                            "(\"arm64: Enable 52-bit virtual addressing for 4k and 16k granule configs\")")
    start, size = arch.vmemmap_region(va, kernel.arm64_vmemmap_below_1g)
    if (start, size, va) == (arch.vmemmap_start, arch.vmemmap_size, arch.va_bits[0]):
        return arch
    return replace(arch, key=arch.key + (f"-VA{va}" if va != arch.va_bits[0] else ""), vmemmap_start=start,
                   vmemmap_size=size, max_physmem_bits=max(arch.max_physmem_bits, va if va > 48 else 0))


def replay(m: Machine) -> Machine:
    """Apply the scenario's ops in order, one event each."""
    m.budget.check()
    for i, op in enumerate(m.scenario.ops):
        m.op_index, m.op_name = i, op.op
        m.budget.where = ("ops", i)
        m.effects = []
        ev = OPS[op.op](m, ("ops", i), op)
        if m.effects:
            shown = m.effects[:MAX_EFFECTS] + ([f"... and {len(m.effects) - MAX_EFFECTS} more"]
                                               if len(m.effects) > MAX_EFFECTS else [])
            ev["message"] += "; " + "; ".join(shown)
            ev["effects"] = m.effects
        m.events.append(ev)
        m.budget.check()
    m.op_index, m.op_name = -1, ""
    return m


def _boot_memory(m: Machine) -> None:
    """memblock ranges -> boot memory blocks (online), sparse_init() per node, the rest to buddy."""
    ms = m.scenario.machine
    a = m.arch
    ranges = []
    for i, r in enumerate(m.scenario.boot_memory):
        loc = ("boot_memory", i)
        if r.size == 0:
            raise ScenarioError(loc + ("size",), "must not be 0")
        if r.start % a.page_size or r.size % a.page_size:
            raise ScenarioError(loc + ("start" if r.start % a.page_size else "size",),
                                f"not aligned to the {human_size(a.page_size)} page size")
        check_phys_range(a, loc, r.start, r.size)
        ranges.append((r.start // a.page_size, (r.start + r.size) // a.page_size, r.node, i))
    ranges.sort()
    for (s0, e0, _, i0), (s1, _, _, i1) in zip(ranges, ranges[1:]):
        if s1 < e0:
            raise ScenarioError(("boot_memory", i1, "start"), f"overlaps boot_memory[{i0}]")
    # the linear map's base (memstart) and the vmemmap base, as the architecture chooses them
    if not a.vmemmap_randomised:
        if ms.vmemmap_base is not None:
            raise ScenarioError(("machine", "vmemmap_base"), f"{a.name} does not randomise VMEMMAP_START; "
                                "set memstart instead")
        lo = ranges[0][0] * a.page_size
        memstart = ms.memstart if ms.memstart is not None else lo // a.memstart_align * a.memstart_align
        if memstart % a.memstart_align:
            raise ScenarioError(("machine", "memstart"), f"not aligned to {a.name.upper()}_MEMSTART_ALIGN "
                                f"({human_size(a.memstart_align)})")
        if memstart > lo:
            raise ScenarioError(("machine", "memstart"), "above the lowest boot RAM")
        m.memstart = memstart
        m.pfn_offset = memstart // a.page_size
        m.vmemmap_start = a.vmemmap_start
    else:
        if ms.memstart is not None:
            raise ScenarioError(("machine", "memstart"), f"memstart does not apply to {a.name}: its vmemmap "
                                "is indexed from pfn 0 (set vmemmap_base instead)")
        base = ms.vmemmap_base if ms.vmemmap_base is not None else a.vmemmap_start
        if base % GiB or base < (1 << 63):
            raise ScenarioError(("machine", "vmemmap_base"), "must be a 1 GiB (PUD) aligned kernel "
                                "address (KASLR rounds vmemmap_base to a PUD)")
        if base + a.vmemmap_size > (1 << 64):
            raise ScenarioError(("machine", "vmemmap_base"), "the vmemmap region would wrap past 2^64")
        m.vmemmap_start = base
    boot_end = max(e for _, e, _, _ in ranges) * a.page_size
    section = 1 << a.section_size_bits
    if ms.memory_block_size == "auto":
        bsz = probe_memory_block_size(a, boot_end, ms.hypervisor)
    else:
        bsz = ms.memory_block_size
        if bsz < section or bsz & (bsz - 1) or bsz > max(2 * GiB, section):
            raise ScenarioError(("machine", "memory_block_size"), f"must be a power of two from one "
                                f"section ({human_size(section)}) to {human_size(max(2 * GiB, section))}")
    m.block_size = bsz
    m.block_pages = bsz // a.page_size
    # boot blocks
    by_block: dict[int, list[tuple[int, int, int]]] = {}
    for s, e, node, _ in ranges:
        p = s
        while p < e:
            bid = p // m.block_pages
            q = min(e, (bid + 1) * m.block_pages)
            by_block.setdefault(bid, []).append((p, q, node))
            p = q
    if len(by_block) > MAX_BLOCKS:
        raise ScenarioError(("boot_memory",), f"{len(by_block)} memory blocks of {human_size(bsz)}: the "
                            f"simulator holds at most {MAX_BLOCKS} (choose a larger memory_block_size)")
    for bid, parts in sorted(by_block.items()):
        m.budget.tick()
        nodes = {n for _, _, n in parts}
        if len(nodes) > 1:
            raise ScenarioError(("boot_memory",), f"memory{bid} would span nodes {sorted(nodes)}: "
                                "align node boundaries to the memory block size")
        b = m.Block(id=bid, start=bid * m.block_pages, nr_pages=m.block_pages, node=parts[0][2],
                    boot=True, present=[(p, q) for p, q, _ in parts], state="online",
                    memmap_where="memblock", mmo_reason="boot memory")
        zones = sorted({zone_of_boot_pfn(a, p) for p, q, _ in parts} |
                       {zone_of_boot_pfn(a, q - 1) for p, q, _ in parts})
        b.zone = "+".join(zones)
        m.add_block(b)
    # sparse_init(): one memblock buffer per node
    shift = a.pfn_section_shift
    for node in sorted({n for _, _, n, _ in ranges}):
        nr = [(s, e) for s, e, n, _ in ranges if n == node]
        secs = sorted({sec for s, e in nr for sec in range(s >> shift, ((e - 1) >> shift) + 1)})
        placed = sparse_init_nid(m, node, secs, nr)
        if placed is None:
            raise ScenarioError(("boot_memory",), f"node {node}'s boot memory cannot hold its own "
                                "memmap (sparse_init would panic)")
    for bid in m._block_ids:
        b = m.blocks[bid]
        for s, e in b.present:
            cur = s
            for rs, re_, _ in list(m.roles.overlapping(s, e)):
                m.free_to_buddy(b, cur, rs)
                cur = re_
            m.free_to_buddy(b, cur, e)

def _boot_messages(m: Machine) -> None:
    a, k = m.arch, m.kernel
    if a.memory_block_probe == "x86":
        m.dmesg.append(f"x86/mm: Memory block size: {m.block_size >> 20}MB")
    if m.hvo_enabled and not (m.struct_page_size & (m.struct_page_size - 1)):
        for size in a.hugetlb_sizes:
            n = (m.struct_page_size * (size // a.page_size)) // a.page_size
            free = n - k.hvo_reserve_pages
            if free > 0 and not k.at_least(6, 0):
                # 5.19 (HV-5.19): pr_info("can optimize %d vmemmap pages for %s", .., h->name);
                # 5.14-5.18 said "can free" (kernel-model.md 4, M)
                verb = "optimize" if k.hvo_sysctl else "free"
                m.dmesg.append(f"HugeTLB: can {verb} {free} vmemmap pages for hugepages-{size >> 10}kB")
            elif free > 0:
                m.dmesg.append(f"HugeTLB: {free * a.page_size >> 10} KiB vmemmap can be freed "
                               f"for a {size / (1 << 30) if size >= GiB else size / (1 << 20):.2f} "
                               f"{'GiB' if size >= GiB else 'MiB'} page")
    if m.params.memmap_on_memory == "force" and k.mmo_force:
        nr = m.block_pages * m.struct_page_size // a.page_size
        pad = -(-nr // a.pageblock_nr_pages) * a.pageblock_nr_pages - nr
        m.dmesg.append(f"Memory hotplug will waste {pad} pages in each memory block")
