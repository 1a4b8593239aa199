"""Memory sections as the kernel keeps them (struct mem_section, mm/sparse.c), like crash's kmem -n:
number, pfn range, the address of its first struct page (its mem_map), the memory block, the
section_mem_map flags, and, under the `section_flag` policy, the 2022 v2 proposal's
SECTION_CANNOT_OPTIMIZE_VMEMMAP."""
from __future__ import annotations

from typing import Any, Iterator

from .codes import SECTION_FLAGS
from .machine import Machine
from .mm_types import Block

__all__ = ["nr_present_sections", "for_each_present_section", "section_flags"]


def _sections_of(m: Machine, b: Block) -> list[int]:
    shift = m.arch.pfn_section_shift
    return sorted({sec for s, e in b.present for sec in range(s >> shift, ((e - 1) >> shift) + 1)})


def nr_present_sections(m: Machine, below: int | None = None) -> int:
    """How many sections are present (every section of every memory block that has memory), or how
    many of them end at or below pfn `below`."""
    if below is None:
        return sum(len(_sections_of(m, b)) for b in m.blocks.values())
    shift = m.arch.pfn_section_shift
    return sum(1 for b in m.blocks_in(0, below) for sec in _sections_of(m, b) if (sec + 1) << shift <= below)


def section_flags(m: Machine, b: Block) -> list[str]:
    """The flags of each section of block b: present with a memmap (sparse_init / section_activate),
    online while its block is, early for boot memory."""
    flags = ["SECTION_MARKED_PRESENT", "SECTION_HAS_MEM_MAP"]
    if b.state == "online":
        flags.append("SECTION_IS_ONLINE")
    if b.boot:
        flags.append("SECTION_IS_EARLY")
    if b.section_flag and m.params.selfhosted_check == "section_flag":
        flags.append("SECTION_CANNOT_OPTIMIZE_VMEMMAP")
    return flags


def for_each_present_section(m: Machine, offset: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Present sections in pfn order, from the offset-th, at most limit of them."""
    shift, n, skipped = m.arch.pfn_section_shift, 0, 0
    for b in m.sorted_blocks():
        secs = _sections_of(m, b)
        if skipped + len(secs) <= offset:
            skipped += len(secs)
            continue
        flags = section_flags(m, b)
        bits = sum(SECTION_FLAGS.get(f, 0) for f in flags)
        for sec in secs[max(0, offset - skipped):]:
            if limit is not None and n >= limit:
                return
            start = sec << shift
            yield {"section": sec, "start_pfn": start, "end_pfn": start + (1 << shift),
                   "mem_map": m.pfn_to_page(start) if start >= m.pfn_offset else None, "block": b.id,
                   "node": b.node, "flags": flags, "flag_bits": bits}
            n += 1
        skipped += len(secs)
