"""Frozen, sorted column tables of an evaluated machine: the input of the hot query loops.

Both implementations (_twin.py in Python, _core.pyx in Cython) read exactly these columns.
"""
from __future__ import annotations

from array import array
from itertools import compress
from operator import itemgetter
from typing import TYPE_CHECKING

from .roles import ROLE_CODE

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["Tables", "ZONE_NAMES", "STATE_NAMES"]

ZONE_NAMES = ("", "DMA", "DMA32", "Normal", "Movable")
STATE_NAMES = ("", "online", "offline")
HVO_FREED = ROLE_CODE["hvo_freed"]


def _q(values=()) -> array:
    return array("q", values)


class Tables:
    """Columns: present ranges (pr_*), frame roles (rl_*), live huge pages (hp_*: head, order,
    HVO state, v0/tail frames, kept pages),
    vmemmap runs (vm_*), remap overlay (ov_*), split PMDs (sp)."""

    def __init__(self, m: "Machine") -> None:
        a = m.arch
        self.page_shift = a.page_shift
        self.struct_page_size = m.struct_page_size
        self.pfn_offset = m.pfn_offset
        self.pmd_pages = a.ptrs_per_pte
        # present ranges, split at zone boundaries
        self.pr_start, self.pr_end, self.pr_node = _q(), _q(), _q()
        self.pr_zone, self.pr_state, self.pr_block = _q(), _q(), _q()
        for b in m.sorted_blocks():
            for s, e in b.present:
                for p, q, zone in (m._zone_pieces(b, s, e) if b.state == "online" else [(s, e, "")]):
                    self.pr_start.append(p); self.pr_end.append(q); self.pr_node.append(b.node)
                    self.pr_zone.append(ZONE_NAMES.index(zone) if zone in ZONE_NAMES else 0)
                    self.pr_state.append(1 if b.state == "online" else 2)
                    self.pr_block.append(b.id)
        # frame roles: roles overlaid by hvo_freed
        self.rl_start, self.rl_end, self.rl_role = _merge_overlay(m.roles, m.hvo_freed)
        # live huge pages sorted by head (plain copies in the common all-alive, sorted case)
        hp = m.hugetlb
        n = len(hp.head)
        if hp.nr_alive == n and _is_sorted(hp.head):
            self.hp_idx = _q(range(n))
            for name in ("head", "order", "state", "v0", "tail", "nkeep"):
                setattr(self, "hp_" + name, _q(getattr(hp, name)))
        else:
            live = sorted(compress(range(n), hp.alive), key=hp.head.__getitem__)
            self.hp_idx = _q(live)
            pick = itemgetter(*live) if len(live) > 1 else (lambda col: tuple(col[i] for i in live))
            for name in ("head", "order", "state", "v0", "tail", "nkeep"):
                setattr(self, "hp_" + name, _q(pick(getattr(hp, name))))
        # vmemmap
        vm, ov = m.vmemmap, m.overlay
        self.vm_vstart, self.vm_vend, self.vm_backing = _q(vm.vstart), _q(vm.vend), _q(vm.backing)
        self.vm_mapping = _q(vm.mapping)
        self.ov_vstart, self.ov_vend, self.ov_backing = _q(ov.vstart), _q(ov.vend), _q(ov.backing)
        self.sp = _q(sorted(m.split_pmds))


def _is_sorted(col: array) -> bool:
    return all(map(int.__le__, col, col[1:])) if len(col) > 1 else True


def _merge_overlay(base, top) -> tuple[array, array, array]:
    """Flatten two RangeMaps, `top` winning where both have a value."""
    out_s, out_e, out_v = _q(), _q(), _q()
    bs, be, bv = base.starts, base.ends, base.vals
    ts, te, tv = top.starts, top.ends, top.vals
    if not len(ts):
        return _q(bs), _q(be), _q(bv)
    pts = sorted(set(bs) | set(be) | set(ts) | set(te))
    i = j = 0
    for p, q in zip(pts, pts[1:]):
        while i < len(bs) and be[i] <= p:
            i += 1
        while j < len(ts) and te[j] <= p:
            j += 1
        if j < len(ts) and ts[j] <= p:
            v = tv[j]
        elif i < len(bs) and bs[i] <= p:
            v = bv[i]
        else:
            continue
        if out_s and out_e[-1] == p and out_v[-1] == v:
            out_e[-1] = q
        else:
            out_s.append(p); out_e.append(q); out_v.append(v)
    return out_s, out_e, out_v
