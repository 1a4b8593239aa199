# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The hot query loops in Cython: the same algorithms as _twin.py, over the same Tables columns,
with typed memoryviews and without the GIL, so the server stays responsive."""
from array import array

IMPLEMENTATION = "cython"

ctypedef long long i64
ctypedef const long long[::1] col_t

# role codes (engine/roles.py)
cdef enum:
    HOLE = 0
    USABLE = 1
    OFFLINE = 2
    MEMMAP_SELF = 5
    HEAD = 7
    TAIL = 8
    PMD = 1
    PTE = 2


cdef inline Py_ssize_t upper(col_t starts, i64 x) noexcept nogil:
    """bisect_right(starts, x)."""
    cdef Py_ssize_t lo = 0, hi = starts.shape[0], mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if starts[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t find(col_t starts, col_t ends, i64 x) noexcept nogil:
    """Index of the range holding x, or -1 (bisect_right - 1)."""
    cdef Py_ssize_t i = upper(starts, x) - 1
    if i >= 0 and x < ends[i]:
        return i
    return -1


cdef inline Py_ssize_t find_hp(col_t head, col_t order, i64 x) noexcept nogil:
    """Index of the live huge page holding x, or -1."""
    cdef Py_ssize_t i = upper(head, x) - 1
    if i >= 0 and x < head[i] + (<i64>1 << order[i]):
        return i
    return -1


def resolve_columns(t, pfns):
    """See _twin.resolve_columns."""
    cdef col_t P = pfns
    cdef Py_ssize_t n = P.shape[0], k
    out = {name: array("q", bytes(8 * n)) for name in
           ("present", "role", "backing", "mapping", "hugepage", "self_hosted")}
    cdef i64[::1] o_present = out["present"], o_role = out["role"], o_backing = out["backing"]
    cdef i64[::1] o_mapping = out["mapping"], o_hp = out["hugepage"], o_self = out["self_hosted"]
    cdef col_t pr_start = t.pr_start, pr_end = t.pr_end, pr_state = t.pr_state
    cdef col_t rl_start = t.rl_start, rl_end = t.rl_end, rl_role = t.rl_role
    cdef col_t hp_head = t.hp_head, hp_order = t.hp_order, hp_state = t.hp_state, hp_v0 = t.hp_v0
    cdef col_t hp_tail = t.hp_tail, hp_nkeep = t.hp_nkeep
    cdef col_t vm_vstart = t.vm_vstart, vm_vend = t.vm_vend, vm_backing = t.vm_backing
    cdef col_t vm_mapping = t.vm_mapping, ov_vstart = t.ov_vstart, ov_vend = t.ov_vend
    cdef col_t ov_backing = t.ov_backing, sp = t.sp
    cdef i64 page_shift = t.page_shift, spsize = t.struct_page_size, off = t.pfn_offset
    cdef i64 pmd_pages = t.pmd_pages
    cdef i64 pfn, v, b, mp, r, i, pmd
    cdef Py_ssize_t pi, hi, ri, oi, vi, si
    with nogil:
        for k in range(n):
            pfn = P[k]
            pi = find(pr_start, pr_end, pfn)
            o_present[k] = pi
            hi = find_hp(hp_head, hp_order, pfn)
            o_hp[k] = hi
            if hi >= 0:
                r = HEAD if pfn == hp_head[hi] else TAIL
            else:
                ri = find(rl_start, rl_end, pfn)
                if ri >= 0:
                    r = rl_role[ri]
                elif pi >= 0:
                    r = USABLE if pr_state[pi] == 1 else OFFLINE
                else:
                    r = HOLE
            o_role[k] = r
            b = -1
            mp = 0
            if pfn >= off:
                v = ((pfn - off) * spsize) >> page_shift
                if hi >= 0 and hp_state[hi] == 1:
                    i = v - (((hp_head[hi] - off) * spsize) >> page_shift)
                    if i == 0:
                        b = hp_v0[hi]
                    elif i < hp_nkeep[hi]:
                        vi = find(vm_vstart, vm_vend, v)
                        if vi >= 0:
                            b = vm_backing[vi] + v - vm_vstart[vi]
                    else:
                        b = hp_tail[hi]
                    mp = PTE
                else:
                    oi = find(ov_vstart, ov_vend, v)
                    if oi >= 0:
                        b = ov_backing[oi] + v - ov_vstart[oi]
                        mp = PTE
                    else:
                        vi = find(vm_vstart, vm_vend, v)
                        if vi >= 0:
                            b = vm_backing[vi] + v - vm_vstart[vi]
                            mp = vm_mapping[vi]
                            if mp == PMD:
                                pmd = v // pmd_pages
                                si = upper(sp, pmd) - 1
                                if si >= 0 and sp[si] == pmd:
                                    mp = PTE
            o_backing[k] = b
            o_mapping[k] = mp
            o_self[k] = 0
            if b >= 0:
                ri = find(rl_start, rl_end, b)
                if ri >= 0 and rl_role[ri] == MEMMAP_SELF:
                    o_self[k] = 1
    return out


cdef inline i64 min2(i64 a, i64 b) noexcept nogil:
    return a if a < b else b


cdef i64 next_segment(i64 p, i64 end, col_t pr_start, col_t pr_end, col_t pr_state,
                      col_t rl_start, col_t rl_end, col_t rl_role,
                      col_t hp_head, col_t hp_order, i64* role) noexcept nogil:
    """Role of pfn p and the end of the piece [p, q) that shares it (hugepage > role > present)."""
    cdef Py_ssize_t hi, ri, pi
    cdef i64 q = end
    hi = upper(hp_head, p) - 1
    if hi >= 0 and p < hp_head[hi] + (<i64>1 << hp_order[hi]):
        if p == hp_head[hi]:
            role[0] = HEAD
            return p + 1
        role[0] = TAIL
        return min2(hp_head[hi] + (<i64>1 << hp_order[hi]), end)
    if hi + 1 < hp_head.shape[0]:
        q = min2(q, hp_head[hi + 1])
    ri = upper(rl_start, p) - 1
    if ri >= 0 and p < rl_end[ri]:
        role[0] = rl_role[ri]
        return min2(q, rl_end[ri])
    if ri + 1 < rl_start.shape[0]:
        q = min2(q, rl_start[ri + 1])
    pi = upper(pr_start, p) - 1
    if pi >= 0 and p < pr_end[pi]:
        role[0] = USABLE if pr_state[pi] == 1 else OFFLINE
        return min2(q, pr_end[pi])
    role[0] = HOLE
    if pi + 1 < pr_start.shape[0]:
        q = min2(q, pr_start[pi + 1])
    return q


def window_counts(t, i64 start, i64 end, i64 bins, int nroles):
    """See _twin.window_counts."""
    cdef col_t pr_start = t.pr_start, pr_end = t.pr_end, pr_state = t.pr_state
    cdef col_t rl_start = t.rl_start, rl_end = t.rl_end, rl_role = t.rl_role
    cdef col_t hp_head = t.hp_head, hp_order = t.hp_order
    cdef i64 p, q, r, width = end - start, i, edge, c
    cdef char seen[64]
    cdef int k
    for k in range(64):
        seen[k] = 0
    # pass 1: which roles occur
    with nogil:
        p = start
        while p < end:
            q = next_segment(p, end, pr_start, pr_end, pr_state, rl_start, rl_end, rl_role,
                             hp_head, hp_order, &r)
            seen[r] = 1
            p = q
    present = [k for k in range(nroles) if seen[k]]
    cols = {k: array("q", bytes(8 * bins)) for k in present}
    # one flat buffer indexed [slot * bins + bin]
    flat = array("q", bytes(8 * bins * max(len(present), 1)))
    cdef i64[::1] F = flat
    cdef i64 slot_of[64]
    for k in range(64):
        slot_of[k] = -1
    for k in range(len(present)):
        slot_of[present[k]] = k
    dominant = array("B", bytes(bins))
    cdef unsigned char[::1] D = dominant
    cdef i64 base, best, nslots = len(present), s
    with nogil:
        p = start
        while p < end:
            q = next_segment(p, end, pr_start, pr_end, pr_state, rl_start, rl_end, rl_role,
                             hp_head, hp_order, &r)
            base = slot_of[r] * bins
            while p < q:
                i = ((p - start + 1) * bins - 1) // width
                edge = start + ((i + 1) * width) // bins
                c = min2(q, edge)
                F[base + i] += c - p
                p = c
        for i in range(bins):
            best = 0
            for s in range(nslots):
                if F[s * bins + i] > best:
                    best = F[s * bins + i]
                    D[i] = <unsigned char> present_code(slot_of, s)
    for k in range(len(present)):
        cols[present[k]] = flat[k * bins:(k + 1) * bins]
    return cols, dominant


cdef inline int present_code(i64* slot_of, i64 s) noexcept nogil:
    cdef int k
    for k in range(64):
        if slot_of[k] == s:
            return k
    return 0
