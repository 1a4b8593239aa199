"""Frozen, sorted column tables of an evaluated machine: the input of the hot query loops.

Both query implementations (_query_py.py in Python, _query_c.pyx in Cython) read exactly these
columns, and take the codes they need from `t.codes` (the twins import nothing from the package).
"""
from __future__ import annotations

from array import array
from itertools import accumulate
from types import ModuleType

from . import codes
from .codes import BLOCK_OFFLINE, BLOCK_ONLINE, ZONE_CODE
from .machine import Machine

__all__ = ["Tables", "present_columns"]


def _q(values=()) -> array:
    return array("q", values)


class Tables:
    """Columns: present ranges (pr_*), frame roles (rl_*), live huge pages as runs sorted by head
    (hp_*: the pool rows' first head, count, order, HVO state, v0/tail frames and their steps, kept
    pages; hp_first: the number of the run's first page, counting pages in head order), vmemmap runs
    (vm_*), remap overlay (ov_*), split PMDs (sp)."""

    def __init__(self, m: Machine, query: ModuleType) -> None:
        a = m.arch
        self.codes = codes
        self.page_shift = a.page_shift
        self.struct_page_size = m.struct_page_size
        self.pfn_offset = m.pfn_offset
        self.pmd_pages = a.ptrs_per_pte
        self.pfn_section_shift = a.pfn_section_shift      # PFN_SECTION_SHIFT: the C twin's mem_section table
        (self.pr_start, self.pr_end, self.pr_node, self.pr_zone, self.pr_state,
         self.pr_block) = present_columns(m)
        # frame roles: roles overlaid by hvo_freed
        self.rl_start, self.rl_end, self.rl_role = query.merge_overlay(m.roles, m.hvo_freed)
        # live huge pages: the pool's rows sorted by head, and where each row's pages begin in the
        # numbering of all pages by head (a resolve's `hugepage` column)
        hp = m.hugetlb
        self.hp_idx = query.live_by_head(hp)
        for name in ("head", "count", "order", "state", "v0", "v0_step", "tail", "tail_step", "nkeep"):
            setattr(self, "hp_" + name, query.gather(getattr(hp, name), self.hp_idx))
        self.hp_first = _q(accumulate(self.hp_count, initial=0))
        self.hp_first.pop()
        # vmemmap
        vm, ov = m.vmemmap, m.overlay
        self.vm_vstart, self.vm_vend, self.vm_backing = vm.vstart[:], vm.vend[:], vm.backing[:]
        self.vm_mapping, self.vm_kind = vm.mapping[:], vm.kind[:]
        self.ov_vstart, self.ov_vend, self.ov_backing = ov.vstart[:], ov.vend[:], ov.backing[:]
        self.sp = _q(sorted(m.split_pmds))


def present_columns(m: Machine) -> tuple[array, ...]:
    """Present ranges, split at zone boundaries: start, end, node, zone, state, block. C version:
    _replay_c.present_columns (it reads the C Blocks' fields directly)."""
    if m.bulk is not None:
        return m.bulk.present_columns(m)
    cols = tuple(_q() for _ in range(6))
    for b in m.sorted_blocks():
        for s, e in b.present:
            for p, q, zone in (m._zone_pieces(b, s, e) if b.state == "online" else [(s, e, "")]):
                for col, v in zip(cols, (p, q, b.node, ZONE_CODE.get(zone, 0),
                                         BLOCK_ONLINE if b.state == "online" else BLOCK_OFFLINE, b.id)):
                    col.append(v)
    return cols
