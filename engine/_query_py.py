"""The hot query loops in plain Python: the readable oracle that _query_c.pyx mirrors line for line.

A leaf: it imports nothing from the package. The codes it needs come with the tables (`t.codes`,
engine/codes.py), the builders' inputs are plain range maps and pool columns.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import compress

__all__ = ["resolve_columns", "window_counts", "prepare", "merge_overlay", "live_by_head", "gather",
           "IMPLEMENTATION"]

IMPLEMENTATION = "python"


def _q(values=()) -> array:
    return array("q", values)


def prepare(t) -> None:
    """The twin bisects the Tables columns directly: nothing to build."""


def _find_hp(t, pfn: int) -> int:
    """Index of the run of live huge pages holding pfn, or -1."""
    i = bisect_right(t.hp_head, pfn) - 1
    return i if i >= 0 and pfn < t.hp_head[i] + (t.hp_count[i] << t.hp_order[i]) else -1


def _hp_page(t, hi: int, pfn: int) -> int:
    """Which page of run hi holds pfn."""
    return (pfn - t.hp_head[hi]) >> t.hp_order[hi]


def _find(starts, ends, x: int) -> int:
    i = bisect_right(starts, x) - 1
    return i if i >= 0 and x < ends[i] else -1


def _frame_role(t, f: int) -> int:
    i = _find(t.rl_start, t.rl_end, f)
    return t.rl_role[i] if i >= 0 else -1


def _role(t, pfn: int, hi: int, pi: int) -> int:
    """The map's role of pfn, given its huge page (hi) and present range (pi) indexes."""
    c = t.codes
    if hi >= 0:
        return c.HUGETLB_TAIL if (pfn - t.hp_head[hi]) & ((1 << t.hp_order[hi]) - 1) else c.HUGETLB_HEAD
    ri = _find(t.rl_start, t.rl_end, pfn)
    if ri >= 0:
        return t.rl_role[ri]
    if pi >= 0:
        return c.USABLE if t.pr_state[pi] == c.BLOCK_ONLINE else c.OFFLINE
    return c.HOLE


def _base_backing(t, v: int) -> tuple[int, int]:
    i = _find(t.vm_vstart, t.vm_vend, v)
    if i < 0:
        return -1, 0
    mapping = t.vm_mapping[i]
    if mapping == t.codes.PMD:
        k = bisect_right(t.sp, v // t.pmd_pages) - 1
        if k >= 0 and t.sp[k] == v // t.pmd_pages:
            mapping = t.codes.PTE
    return t.vm_backing[i] + v - t.vm_vstart[i], mapping


def resolve_columns(t, pfns) -> dict[str, array]:
    """Per pfn: present-range index, role, backing frame of its struct page, mapping, huge page
    number (live huge pages counted in head order), whether that frame is self-hosted memmap."""
    c = t.codes
    PTE, OPTIMIZED, MEMMAP_SELF = c.PTE, c.HVO_OPTIMIZED, c.MEMMAP_SELF
    n = len(pfns)
    out = {k: array(code, bytes(array(code).itemsize * n)) for k, code in c.RESOLVE_TYPES.items()}
    present, role, backing = out["present"], out["role"], out["backing"]
    mapping, hugepage, selfh = out["mapping"], out["hugepage"], out["self_hosted"]
    for k in range(n):
        pfn = pfns[k]
        pi = _find(t.pr_start, t.pr_end, pfn)
        present[k] = pi
        hi = _find_hp(t, pfn)
        j = _hp_page(t, hi, pfn) if hi >= 0 else 0          # page j of run hi
        hugepage[k] = t.hp_first[hi] + j if hi >= 0 else -1
        role[k] = _role(t, pfn, hi, pi)
        b, mp = -1, 0
        if pfn >= t.pfn_offset:
            v = ((pfn - t.pfn_offset) * t.struct_page_size) >> t.page_shift
            if hi >= 0 and t.hp_state[hi] == OPTIMIZED:
                head = t.hp_head[hi] + (j << t.hp_order[hi])
                i = v - (((head - t.pfn_offset) * t.struct_page_size) >> t.page_shift)
                if i == 0:
                    b = t.hp_v0[hi] + j * t.hp_v0_step[hi]
                elif i < t.hp_nkeep[hi]:
                    b = _base_backing(t, v)[0]
                else:
                    b = t.hp_tail[hi] + j * t.hp_tail_step[hi]
                mp = PTE
            else:
                oi = _find(t.ov_vstart, t.ov_vend, v)
                if oi >= 0:
                    b, mp = t.ov_backing[oi] + v - t.ov_vstart[oi], PTE
                else:
                    b, mp = _base_backing(t, v)
        backing[k] = b
        mapping[k] = mp
        selfh[k] = 1 if b >= 0 and _frame_role(t, b) == MEMMAP_SELF else 0
    return out


def _segments(t, start: int, end: int):
    """(a, b, role) pieces covering [start, end) in order."""
    pts = {start, end}
    for starts, ends in ((t.pr_start, t.pr_end), (t.rl_start, t.rl_end)):
        i = max(bisect_right(starts, start) - 1, 0)
        while i < len(starts) and starts[i] < end:
            for p in (starts[i], ends[i]):
                if start < p < end:
                    pts.add(p)
            i += 1
    i = max(bisect_right(t.hp_head, start) - 1, 0)       # every page of the runs: head, first tail, end
    while i < len(t.hp_head) and t.hp_head[i] < end:
        nr = 1 << t.hp_order[i]
        for j in range(max(0, (start - t.hp_head[i]) // nr), t.hp_count[i]):
            h = t.hp_head[i] + j * nr
            if h >= end:
                break
            pts.update(p for p in (h, h + 1, h + nr) if start < p < end)
        i += 1
    pts = sorted(pts)
    for a, b in zip(pts, pts[1:]):
        yield a, b, _role(t, a, _find_hp(t, a), _find(t.pr_start, t.pr_end, a))


def window_counts(t, start: int, end: int, bins: int, nroles: int) -> tuple[dict[int, array], array]:
    """Pages of each role in each of `bins` bins over [start, end); bin i starts at
    start + i*W // bins. Returns ({role: counts per bin} for roles present, dominant role per bin;
    ties go to the lower role code)."""
    width = end - start
    counts: dict[int, array] = {}
    for a, b, r in _segments(t, start, end):
        col = counts.get(r)
        if col is None:
            col = counts[r] = array("q", bytes(8 * bins))
        p = a
        while p < b:
            i = ((p - start + 1) * bins - 1) // width
            edge = start + ((i + 1) * width) // bins
            q = min(b, edge)
            col[i] += q - p
            p = q
    dominant = array("B", bytes(bins))
    best = array("q", bytes(8 * bins))
    for r in sorted(counts):
        col = counts[r]
        for i in range(bins):
            if col[i] > best[i]:
                best[i], dominant[i] = col[i], r
    return dict(sorted(counts.items())), dominant


def live_by_head(hp) -> array:
    """Indexes of the pool's rows that hold live huge pages, in head order."""
    n = len(hp.head)
    if all(hp.count) and _is_sorted(hp.head):
        return _q(range(n))
    return _q(sorted(compress(range(n), hp.count), key=hp.head.__getitem__))


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
