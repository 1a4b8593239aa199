"""Frozen, sorted column tables of an evaluated machine: the input of the hot query loops.

Both implementations (_twin.py in Python, _core.pyx in Cython) read exactly these columns.
"""
from __future__ import annotations

from array import array
from itertools import compress
from types import ModuleType
from typing import TYPE_CHECKING

from .roles import ROLE_CODE

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["Tables", "ZONE_NAMES", "ZONE_CODE", "STATE_NAMES", "present_columns", "merge_overlay",
           "live_by_head", "gather"]

ZONE_NAMES = ("", "DMA", "DMA32", "Normal", "Movable")
ZONE_CODE = {z: i for i, z in enumerate(ZONE_NAMES)}
STATE_NAMES = ("", "online", "offline")
HVO_FREED = ROLE_CODE["hvo_freed"]


def _q(values=()) -> array:
    return array("q", values)


class Tables:
    """Columns: present ranges (pr_*), frame roles (rl_*), live huge pages (hp_*: head, order,
    HVO state, v0/tail frames, kept pages),
    vmemmap runs (vm_*), remap overlay (ov_*), split PMDs (sp)."""

    def __init__(self, m: "Machine", core: ModuleType) -> None:
        a = m.arch
        self.page_shift = a.page_shift
        self.struct_page_size = m.struct_page_size
        self.pfn_offset = m.pfn_offset
        self.pmd_pages = a.ptrs_per_pte
        (self.pr_start, self.pr_end, self.pr_node, self.pr_zone, self.pr_state,
         self.pr_block) = core.present_columns(m)
        # frame roles: roles overlaid by hvo_freed
        self.rl_start, self.rl_end, self.rl_role = core.merge_overlay(m.roles, m.hvo_freed)
        # live huge pages sorted by head
        hp = m.hugetlb
        self.hp_idx = core.live_by_head(hp)
        for name in ("head", "order", "state", "v0", "tail", "nkeep"):
            setattr(self, "hp_" + name, core.gather(getattr(hp, name), self.hp_idx))
        # vmemmap
        vm, ov = m.vmemmap, m.overlay
        self.vm_vstart, self.vm_vend, self.vm_backing = vm.vstart[:], vm.vend[:], vm.backing[:]
        self.vm_mapping, self.vm_kind = vm.mapping[:], vm.kind[:]
        self.ov_vstart, self.ov_vend, self.ov_backing = ov.vstart[:], ov.vend[:], ov.backing[:]
        self.sp = _q(sorted(m.split_pmds))


# The builders below are the Python twin's (engine/_twin.py); engine/_replay.pyx has the same in C.

def present_columns(m: "Machine") -> tuple[array, ...]:
    """Present ranges, split at zone boundaries: start, end, node, zone, state, block."""
    cols = tuple(_q() for _ in range(6))
    for b in m.sorted_blocks():
        for s, e in b.present:
            for p, q, zone in (m._zone_pieces(b, s, e) if b.state == "online" else [(s, e, "")]):
                for col, v in zip(cols, (p, q, b.node, ZONE_CODE.get(zone, 0),
                                         1 if b.state == "online" else 2, b.id)):
                    col.append(v)
    return cols


def live_by_head(hp) -> array:
    """Indexes of the live huge pages, in head order."""
    n = len(hp.head)
    if hp.nr_alive == n and _is_sorted(hp.head):
        return _q(range(n))
    return _q(sorted(compress(range(n), hp.alive), key=hp.head.__getitem__))


def gather(col: array, idx: array) -> array:
    return _q(col[i] for i in idx)


def _is_sorted(col: array) -> bool:
    return all(map(int.__le__, col, col[1:])) if len(col) > 1 else True


def merge_overlay(base, top) -> tuple[array, array, array]:
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
