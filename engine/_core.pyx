# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The hot query loops in Cython: the same algorithms as _twin.py, over the same Tables columns,
with typed memoryviews and without the GIL, so the server stays responsive; and the builders of
those columns."""
from array import array

from engine._replay import (add_hugepage_run, alloc_hugepages, new_blocks,   # the replay's hot loops
                           online_blocks, populate_altmaps)

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


from libc.stdlib cimport malloc, free, qsort
from cpython cimport array as carray

cdef carray.array Q_TEMPLATE = carray.array("q", [])
cdef carray.array B_TEMPLATE = carray.array("B", [])
cdef carray.array I_TEMPLATE = carray.array("i", [])

cdef struct Col:
    # a sorted start column with a bucket index: L[b] = number of starts below b << shift, so a
    # search for x only bisects the few entries of bucket x >> shift (the columns of a 64 TiB
    # machine hold a million entries; a plain bisection is twenty cache misses per lookup)
    const i64* s
    Py_ssize_t n
    int shift
    i64 nb
    i64* L


cdef inline Py_ssize_t upper(const Col* c, i64 x) noexcept nogil:
    """bisect_right(starts, x)."""
    cdef Py_ssize_t lo, hi, mid
    cdef i64 b
    if x < 0:
        return 0
    b = x >> c.shift
    if b < c.nb:
        lo = c.L[b]
        hi = c.L[b + 1]
    else:
        lo = c.L[c.nb]
        hi = c.n
    while lo < hi:
        mid = (lo + hi) >> 1
        if c.s[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class Index:
    """Bucket indexes over the sorted columns of one Tables (built once, cached on it)."""
    cdef Col pr, rl, hp, vm, ov, sp
    cdef list keep

    def __cinit__(self):
        self.keep = []
        self.pr.L = self.rl.L = self.hp.L = self.vm.L = self.ov.L = self.sp.L = NULL

    def __init__(self, t):
        self._build(&self.pr, t.pr_start)
        self._build(&self.rl, t.rl_start)
        self._build(&self.hp, t.hp_head)
        self._build(&self.vm, t.vm_vstart)
        self._build(&self.ov, t.ov_vstart)
        self._build(&self.sp, t.sp)

    cdef _build(self, Col* c, starts):
        cdef col_t S = starts
        cdef Py_ssize_t n = S.shape[0], j = 0
        cdef i64 top = S[n - 1] if n else 0, b, nb_want = 1024
        self.keep.append(starts)
        while nb_want < n and nb_want < (1 << 20):
            nb_want <<= 1
        c.n = n
        c.s = &S[0] if n else NULL
        c.shift = 0
        while (top >> c.shift) + 1 > nb_want:
            c.shift += 1
        c.nb = (top >> c.shift) + 1
        c.L = <i64*> malloc((c.nb + 1) * sizeof(i64))
        if c.L == NULL:
            raise MemoryError()
        for b in range(c.nb + 1):
            while j < n and S[j] < (b << c.shift):
                j += 1
            c.L[b] = j

    def __dealloc__(self):
        free(self.pr.L); free(self.rl.L); free(self.hp.L)
        free(self.vm.L); free(self.ov.L); free(self.sp.L)


cdef Index index_of(t):
    ix = getattr(t, "_core_index", None)
    if ix is None:
        ix = Index(t)
        t._core_index = ix
    return ix


cdef inline Py_ssize_t find(const Col* c, col_t ends, i64 x) noexcept nogil:
    """Index of the range holding x, or -1 (bisect_right - 1)."""
    cdef Py_ssize_t i = upper(c, x) - 1
    if i >= 0 and x < ends[i]:
        return i
    return -1


cdef inline Py_ssize_t find_hp(const Col* c, col_t order, i64 x) noexcept nogil:
    """Index of the live huge page holding x, or -1."""
    cdef Py_ssize_t i = upper(c, x) - 1
    if i >= 0 and x < c.s[i] + (<i64>1 << order[i]):
        return i
    return -1


def resolve_columns(t, pfns):
    """See _twin.resolve_columns."""
    cdef col_t P = pfns
    cdef Index ix = index_of(t)
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
            pi = find(&ix.pr, pr_end, pfn)
            o_present[k] = pi
            hi = find_hp(&ix.hp, hp_order, pfn)
            o_hp[k] = hi
            if hi >= 0:
                r = HEAD if pfn == hp_head[hi] else TAIL
            else:
                ri = find(&ix.rl, rl_end, pfn)
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
                        vi = find(&ix.vm, vm_vend, v)
                        if vi >= 0:
                            b = vm_backing[vi] + v - vm_vstart[vi]
                    else:
                        b = hp_tail[hi]
                    mp = PTE
                else:
                    oi = find(&ix.ov, ov_vend, v)
                    if oi >= 0:
                        b = ov_backing[oi] + v - ov_vstart[oi]
                        mp = PTE
                    else:
                        vi = find(&ix.vm, vm_vend, v)
                        if vi >= 0:
                            b = vm_backing[vi] + v - vm_vstart[vi]
                            mp = vm_mapping[vi]
                            if mp == PMD:
                                pmd = v // pmd_pages
                                si = upper(&ix.sp, pmd) - 1
                                if si >= 0 and sp[si] == pmd:
                                    mp = PTE
            o_backing[k] = b
            o_mapping[k] = mp
            o_self[k] = 0
            if b >= 0:
                ri = find(&ix.rl, rl_end, b)
                if ri >= 0 and rl_role[ri] == MEMMAP_SELF:
                    o_self[k] = 1
    return out


cdef inline i64 min2(i64 a, i64 b) noexcept nogil:
    return a if a < b else b


cdef i64 next_segment(Index ix, i64 p, i64 end, col_t pr_start, col_t pr_end, col_t pr_state,
                      col_t rl_start, col_t rl_end, col_t rl_role,
                      col_t hp_head, col_t hp_order, i64* role) noexcept nogil:
    """Role of pfn p and the end of the piece [p, q) that shares it (hugepage > role > present)."""
    cdef Py_ssize_t hi, ri, pi
    cdef i64 q = end
    hi = upper(&ix.hp, p) - 1
    if hi >= 0 and p < hp_head[hi] + (<i64>1 << hp_order[hi]):
        if p == hp_head[hi]:
            role[0] = HEAD
            return p + 1
        role[0] = TAIL
        return min2(hp_head[hi] + (<i64>1 << hp_order[hi]), end)
    if hi + 1 < hp_head.shape[0]:
        q = min2(q, hp_head[hi + 1])
    ri = upper(&ix.rl, p) - 1
    if ri >= 0 and p < rl_end[ri]:
        role[0] = rl_role[ri]
        return min2(q, rl_end[ri])
    if ri + 1 < rl_start.shape[0]:
        q = min2(q, rl_start[ri + 1])
    pi = upper(&ix.pr, p) - 1
    if pi >= 0 and p < pr_end[pi]:
        role[0] = USABLE if pr_state[pi] == 1 else OFFLINE
        return min2(q, pr_end[pi])
    role[0] = HOLE
    if pi + 1 < pr_start.shape[0]:
        q = min2(q, pr_start[pi + 1])
    return q


def window_counts(t, i64 start, i64 end, i64 bins, int nroles):
    """See _twin.window_counts. One sweep over the pieces of [start, end); a role's column is
    allocated when the role first occurs (int32 when no bin can reach 2**31 pages), and the bin
    edges start + (i+1)*W // bins advance by quotient and remainder, without a division per bin."""
    cdef col_t pr_start = t.pr_start, pr_end = t.pr_end, pr_state = t.pr_state
    cdef col_t rl_start = t.rl_start, rl_end = t.rl_end, rl_role = t.rl_role
    cdef col_t hp_head = t.hp_head, hp_order = t.hp_order
    cdef Index ix = index_of(t)
    cdef i64 p, q, r, width = end - start, i, edge, c, qd, rem, step, rstep, best, n
    cdef void* ptr[64]
    cdef int k, nk = 0
    cdef int codes[64]
    cdef bint wide = width // bins + 1 >= (<i64>1 << 31)
    cdef carray.array col, template = Q_TEMPLATE if wide else I_TEMPLATE
    cols = {}
    for k in range(64):
        ptr[k] = NULL
    with nogil:
        step = width // bins
        rstep = width % bins
        i = 0
        qd = step
        rem = rstep
        edge = start + qd
        p = start
        while p < end:
            q = next_segment(ix, p, end, pr_start, pr_end, pr_state, rl_start, rl_end, rl_role,
                             hp_head, hp_order, &r)
            if ptr[r] == NULL:
                with gil:
                    col = carray.clone(template, bins, True)
                    cols[r] = col
                    ptr[r] = col.data.as_voidptr
            while p < q:
                while p >= edge:
                    i += 1
                    qd += step
                    rem += rstep
                    if rem >= bins:
                        rem -= bins
                        qd += 1
                    edge = start + qd
                c = min2(q, edge)
                if wide:
                    (<i64*> ptr[r])[i] += c - p
                else:
                    (<int*> ptr[r])[i] += <int> (c - p)
                p = c
    for k in range(nroles):
        if ptr[k] != NULL:
            codes[nk] = k
            nk += 1
    cdef carray.array dominant = carray.clone(B_TEMPLATE, bins, True)
    cdef unsigned char* D = dominant.data.as_uchars
    with nogil:
        # dominant role per bin, ties to the lower role code
        for i in range(bins):
            best = 0
            for k in range(nk):
                n = (<i64*> ptr[codes[k]])[i] if wide else (<int*> ptr[codes[k]])[i]
                if n > best:
                    best = n
                    D[i] = <unsigned char> codes[k]
    return {k: cols[k] for k in sorted(cols)}, dominant


# ---------------------------------------------------------------------------- building Tables
cdef i64 ZONE_MOVABLE = 4          # tables.ZONE_NAMES
# The same builders as engine/tables.py (the twin's), over the same machine state.

def present_columns(m):
    """See tables.present_columns."""
    from engine.tables import ZONE_CODE
    blocks = m.sorted_blocks()
    cdef Py_ssize_t cap = 3 * sum([len(b.present) for b in blocks]), no = 0, c
    cols = tuple(carray.clone(Q_TEMPLATE, cap, False) for _ in range(6))
    cdef i64* O[6]
    for c in range(6):
        O[c] = (<carray.array> cols[c]).data.as_longlongs
    cdef i64 s, e, node, bid, zone
    cdef bint online, boot
    for b in blocks:
        online = b.state == "online"
        boot = b.boot
        node, bid = b.node, b.id
        zone = ZONE_CODE.get(b.zone, 0)
        for s, e in b.present:
            if not online or not boot or zone == ZONE_MOVABLE:
                O[0][no], O[1][no], O[2][no], O[3][no] = s, e, node, zone if online else 0
                O[4][no], O[5][no] = 1 if online else 2, bid
                no += 1
            else:
                for p, q, zn in m._zone_pieces(b, s, e):
                    O[0][no], O[1][no], O[2][no], O[3][no] = p, q, node, ZONE_CODE.get(zn, 0)
                    O[4][no], O[5][no] = 1, bid
                    no += 1
    for c in range(6):
        carray.resize(cols[c], no)
    return cols


def live_by_head(hp):
    """See tables.live_by_head: a natural merge sort of the live rows by head pfn (rows come in
    a few ascending runs, one per allocation)."""
    cdef const i64[::1] head = hp.head, alive = hp.alive
    cdef Py_ssize_t n = head.shape[0], i, k = 0
    cdef carray.array idx = carray.clone(Q_TEMPLATE, n, False)
    cdef i64* I = idx.data.as_longlongs
    for i in range(n):
        if alive[i]:
            I[k] = i
            k += 1
    carray.resize(idx, k)
    I = idx.data.as_longlongs
    cdef i64* tmp = <i64*> malloc((k + 1) * sizeof(i64))
    if tmp == NULL:
        raise MemoryError()
    try:
        _merge_sort(I, tmp, k, &head[0] if n else NULL)
    finally:
        free(tmp)
    return idx


cdef void _merge_sort(i64* I, i64* tmp, Py_ssize_t k, const i64* key) noexcept nogil:
    """Sort I (row numbers) by key[I[i]]: merge ascending runs pairwise until one is left."""
    cdef Py_ssize_t lo, mid, hi, a, b, o
    cdef bint done = False
    cdef i64* src = I
    cdef i64* dst = tmp
    cdef i64* t
    while not done:
        done = True
        lo = 0
        o = 0
        while lo < k:
            mid = lo + 1
            while mid < k and key[src[mid - 1]] <= key[src[mid]]:
                mid += 1
            hi = mid + 1 if mid < k else mid
            while hi < k and key[src[hi - 1]] <= key[src[hi]]:
                hi += 1
            if mid < k:
                done = False
            a, b = lo, mid
            while a < mid and b < hi:
                if key[src[b]] < key[src[a]]:
                    dst[o] = src[b]; b += 1
                else:
                    dst[o] = src[a]; a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]; a += 1; o += 1
            while b < hi:
                dst[o] = src[b]; b += 1; o += 1
            lo = hi
        t = src; src = dst; dst = t
    if src != I:
        for a in range(k):
            I[a] = src[a]


def gather(col, idx):
    """col[i] for i in idx."""
    cdef const i64[::1] C = col, X = idx
    cdef Py_ssize_t n = X.shape[0], i
    cdef carray.array out = carray.clone(Q_TEMPLATE, n, False)
    cdef i64* O = out.data.as_longlongs
    for i in range(n):
        O[i] = C[X[i]]
    return out


def merge_overlay(base, top):
    """See tables.merge_overlay: flatten two range maps, top winning where both have a value."""
    if not len(top):
        return base.starts[:], base.ends[:], base.vals[:]
    cdef const i64[::1] bs = base.starts, be = base.ends, bv = base.vals
    cdef const i64[::1] ts = top.starts, te = top.ends, tv = top.vals
    cdef Py_ssize_t nb = bs.shape[0], nt = ts.shape[0], np_ = 0, i = 0, j = 0, x, no = 0
    cdef i64* pts = <i64*> malloc((2 * (nb + nt) + 1) * sizeof(i64))
    if pts == NULL:
        raise MemoryError()
    cols = [carray.clone(Q_TEMPLATE, 2 * (nb + nt), False) for _ in range(3)]
    cdef i64* os_ = (<carray.array> cols[0]).data.as_longlongs
    cdef i64* oe = (<carray.array> cols[1]).data.as_longlongs
    cdef i64* ov = (<carray.array> cols[2]).data.as_longlongs
    cdef i64 p, q, v
    cdef bint have
    try:
        for x in range(nb):
            pts[np_] = bs[x]; pts[np_ + 1] = be[x]; np_ += 2
        for x in range(nt):
            pts[np_] = ts[x]; pts[np_ + 1] = te[x]; np_ += 2
        qsort(pts, np_, sizeof(i64), _cmp_i64)
        for x in range(np_ - 1):
            p, q = pts[x], pts[x + 1]
            if p == q:
                continue
            while i < nb and be[i] <= p:
                i += 1
            while j < nt and te[j] <= p:
                j += 1
            have = True
            if j < nt and ts[j] <= p:
                v = tv[j]
            elif i < nb and bs[i] <= p:
                v = bv[i]
            else:
                have = False
            if not have:
                continue
            if no and oe[no - 1] == p and ov[no - 1] == v:
                oe[no - 1] = q
            else:
                os_[no] = p; oe[no] = q; ov[no] = v
                no += 1
    finally:
        free(pts)
    for c in cols:
        carray.resize(c, no)
    return cols[0], cols[1], cols[2]


cdef int _cmp_i64(const void* a, const void* b) noexcept nogil:
    cdef i64 x = (<const i64*> a)[0], y = (<const i64*> b)[0]
    return (x > y) - (x < y)
