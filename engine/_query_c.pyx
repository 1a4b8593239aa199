# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The hot query loops in Cython: the same algorithms as _query_py.py, over the same Tables
columns, with typed memoryviews and without the GIL, so the server stays responsive; and the
column builders (merge_overlay, live_by_head, gather).

A leaf: it imports nothing from the package at run time (codes.pxd and _bisect.pxd are
compile-time declarations); resolve_columns' typecodes come with the tables (t.codes).
"""
from array import array

IMPLEMENTATION = "cython"

ctypedef long long i64
ctypedef const long long[::1] col_t

from engine.codes cimport (HOLE, USABLE, OFFLINE, MEMMAP_SELF, HVO_FREED_SELF, BLOCK_ONLINE, HUGETLB_HEAD as HEAD,
                           HUGETLB_TAIL as TAIL, PMD, PTE)
from engine._bisect cimport bisect_right
from libc.stdint cimport INT64_MAX
from libc.stdlib cimport calloc, malloc, free, qsort
from cpython cimport array as carray

cdef carray.array Q_TEMPLATE = carray.array("q", [])
cdef carray.array B_TEMPLATE = carray.array("B", [])
cdef carray.array I_TEMPLATE = carray.array("i", [])

cdef extern from "stdlib.h" nogil:
    void* aligned_alloc(size_t alignment, size_t size)


cdef inline void* alloc_table(size_t size) noexcept nogil:
    """Cache-line aligned (aligned_alloc wants a multiple of the alignment)."""
    return aligned_alloc(64, (size + 63) // 64 * 64 + 64)


cdef struct Col:
    # One table as packed rows of 1 << ws values, [start, end, ...] (a row's fields share a cache
    # line), sorted by start, with a bucket index over the dense starts: L[b] = number of starts
    # below b << shift, so a search for x only bisects the few starts of bucket x >> shift (the
    # tables of a 64 TiB machine hold a million rows; a plain bisection is twenty cache misses).
    i64* R
    int ws
    const i64* s        # the starts again, dense, for the bisection
    Py_ssize_t n
    int shift
    i64 nb
    int* L               # bucket starts as int32: half the cache footprint (tables hold < 2**31 rows)


# row layouts
cdef enum:
    START = 0
    END = 1
    VAL = 2          # pr: state (1 online, 2 offline); rl: role; vm/ov: backing frame
    MAPPING = 3      # vm: PMD/PTE | role of the backing frames << 8


cdef struct HpRow:
    # a run of live huge pages (Tables.hp_*) in one cache line: pages head + j << order, j < count
    i64 head
    i64 count
    i64 first        # the number of the run's first page (live huge pages counted in head order)
    i64 v0           # frame of page j's head vmemmap page once HVO optimised it: v0 + j * v0_step
    i64 v0_step
    i64 tail         # frame page j's tail vmemmap pages are remapped to: tail + j * tail_step
    i64 tail_step
    int order
    unsigned char optimized
    unsigned char nkeep


cdef inline const i64* row(const Col* c, Py_ssize_t i) noexcept nogil:
    return c.R + (i << c.ws)


cdef inline Py_ssize_t upper(const Col* c, i64 x) noexcept nogil:
    """bisect_right(starts, x)."""
    cdef Py_ssize_t lo, hi
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
    return bisect_right(c.s, lo, hi, x)


cdef inline i64 min2(i64 a, i64 b) noexcept nogil:
    return a if a < b else b



def _present_and_roles(t):
    """The pieces of the present ranges and the frame-role ranges together, so one lookup
    answers both: start, end, present row (or -1), role + 1 (0: none) | present state << 8."""
    cdef col_t ps = t.pr_start, pe = t.pr_end, pst = t.pr_state
    cdef col_t rs = t.rl_start, re = t.rl_end, rv = t.rl_role
    cdef Py_ssize_t np_ = ps.shape[0], nr = rs.shape[0], i = 0, j = 0, no = 0
    cols = [carray.clone(Q_TEMPLATE, 2 * (np_ + nr) + 1, False) for _ in range(4)]
    cdef i64* O0 = (<carray.array> cols[0]).data.as_longlongs
    cdef i64* O1 = (<carray.array> cols[1]).data.as_longlongs
    cdef i64* O2 = (<carray.array> cols[2]).data.as_longlongs
    cdef i64* O3 = (<carray.array> cols[3]).data.as_longlongs
    cdef i64 p, q, pi, val
    with nogil:
        p = min2(ps[0] if np_ else INT64_MAX, rs[0] if nr else INT64_MAX)
        while i < np_ or j < nr:
            while i < np_ and pe[i] <= p:
                i += 1
            while j < nr and re[j] <= p:
                j += 1
            if i >= np_ and j >= nr:
                break
            # the piece [p, q): up to the next start or end of either table
            q = INT64_MAX
            pi, val = -1, 0
            if i < np_:
                if ps[i] <= p:
                    pi, val = i, pst[i] << 8
                    q = pe[i]
                else:
                    q = ps[i]
            if j < nr:
                if rs[j] <= p:
                    val |= rv[j] + 1
                    q = min2(q, re[j])
                else:
                    q = min2(q, rs[j])
            if pi >= 0 or val & 0xff:
                if no and O1[no - 1] == p and O2[no - 1] == pi and O3[no - 1] == val:
                    O1[no - 1] = q
                else:
                    O0[no], O1[no], O2[no], O3[no] = p, q, pi, val
                    no += 1
            p = q
    for c in cols:
        carray.resize(c, no)
    return tuple(cols)


cdef inline Py_ssize_t find(const Col* c, i64 x) noexcept nogil:
    """Index of the row whose [start, end) holds x, or -1."""
    cdef Py_ssize_t i = upper(c, x) - 1
    if i >= 0 and x < c.R[(i << c.ws) + END]:
        return i
    return -1


cdef inline const i64* run_backing(const Col* c, i64 v, i64* b) noexcept nogil:
    """The vmemmap (or overlay) run holding page v, or NULL; b = the frame backing v there."""
    cdef Py_ssize_t i = find(c, v)
    if i < 0:
        return NULL
    cdef const i64* V = row(c, i)
    b[0] = V[VAL] + v - V[START]
    return V


cdef inline bint may_be_hugepage(Index ix, i64 x) noexcept nogil:
    cdef i64 g = x >> ix.gs
    return x >= 0 and g < ix.ng and (ix.hpmap[g >> 3] >> (g & 7)) & 1


cdef inline Py_ssize_t find_hp(Index ix, i64 x) noexcept nogil:
    """Index of the run of live huge pages holding pfn x, or -1."""
    if not may_be_hugepage(ix, x):
        return -1
    cdef Py_ssize_t i = upper(&ix.hp, x) - 1
    if i >= 0 and x < ix.H[i].head + (ix.H[i].count << ix.H[i].order):
        return i
    return -1


cdef class Index:
    """The tables of one Tables as packed rows with bucket indexes (built once, cached on it)."""
    cdef Col pf              # present ranges and frame roles merged: [start, end, pr row, role+1 | state << 8]
    cdef Col hp, vm, ov, sp
    cdef HpRow* H            # rows of hp (its Col holds only the heads and their buckets)
    # one bit per granule of 1 << gs pfns: set where a live huge page overlaps it. Most pfns of
    # a large machine are in no huge page, and this 1 MiB map answers that without touching the
    # huge-page table (tens of MiB on L).
    cdef unsigned char* hpmap
    cdef int gs
    cdef i64 ng
    cdef bint freed_self     # some self-hosted memmap frame was freed by HVO (a hazard)
    cdef list keep

    def __cinit__(self):
        self.hp.R = self.vm.R = self.ov.R = self.sp.R = self.pf.R = NULL
        self.hp.L = self.vm.L = self.ov.L = self.sp.L = self.pf.L = NULL
        self.H = NULL
        self.hpmap = NULL

    def __init__(self, t):
        cdef Py_ssize_t i, n = len(t.hp_head)
        cdef col_t head = t.hp_head, count = t.hp_count, first = t.hp_first, order = t.hp_order
        cdef col_t state = t.hp_state, v0 = t.hp_v0, v0_step = t.hp_v0_step, tail = t.hp_tail
        cdef col_t tail_step = t.hp_tail_step, nkeep = t.hp_nkeep
        self.keep = []
        self.H = <HpRow*> alloc_table(n * sizeof(HpRow))
        if self.H == NULL:
            raise MemoryError()
        with nogil:
            for i in range(n):
                self.H[i].head, self.H[i].count, self.H[i].first = head[i], count[i], first[i]
                self.H[i].v0, self.H[i].v0_step = v0[i], v0_step[i]
                self.H[i].tail, self.H[i].tail_step = tail[i], tail_step[i]
                self.H[i].order, self.H[i].optimized = order[i], state[i] == 1
                self.H[i].nkeep = nkeep[i]
        self._map_hugepages(n)
        sp_end = array("q", t.sp)
        cdef i64[::1] P = sp_end
        for i in range(P.shape[0]):
            P[i] += 1
        self._build(&self.hp, -1, (t.hp_head,))
        vm_mk = array("q", t.vm_kind)         # mapping | role of the frames << 8
        cdef i64[::1] MK = vm_mk
        cdef col_t MP = t.vm_mapping, RL = t.rl_role
        for i in range(MK.shape[0]):
            MK[i] = MP[i] | (MK[i] << 8)
        self.freed_self = False
        for i in range(RL.shape[0]):
            if RL[i] == HVO_FREED_SELF:
                self.freed_self = True
        self._build(&self.vm, 2, (t.vm_vstart, t.vm_vend, t.vm_backing, vm_mk))
        self._build(&self.ov, 2, (t.ov_vstart, t.ov_vend, t.ov_backing))
        self._build(&self.sp, 1, (t.sp, sp_end))
        self._build(&self.pf, 2, _present_and_roles(t))

    cdef _build(self, Col* c, int ws, tuple cols):
        cdef col_t S = cols[0]
        cdef Py_ssize_t n = S.shape[0], j = 0
        cdef i64 top = S[n - 1] if n else 0, b, nb_want = 1024
        c.ws, c.n = ws, n
        c.s = &S[0] if n else NULL
        self.keep.append(cols[0])
        if ws >= 0:                         # ws < 0: the starts only, rows kept elsewhere
            self._rows(c, cols)
        while nb_want < n and nb_want < (1 << 20):

            nb_want <<= 1
        c.shift = 0
        while (top >> c.shift) + 1 > nb_want:
            c.shift += 1
        c.nb = (top >> c.shift) + 1
        c.L = <int*> alloc_table((c.nb + 1) * sizeof(int))
        if c.L == NULL:
            raise MemoryError()
        for b in range(c.nb + 1):
            while j < n and S[j] < (b << c.shift):
                j += 1
            c.L[b] = j

    cdef _map_hugepages(self, Py_ssize_t n):
        cdef i64 top = 0, g, end
        cdef Py_ssize_t i
        cdef int smallest = 63
        for i in range(n):
            end = self.H[i].head + (self.H[i].count << self.H[i].order)
            if end > top:
                top = end
            if self.H[i].order < smallest:
                smallest = self.H[i].order
        self.gs = smallest if n else 0        # a granule no smaller than the smallest huge page,
        while (top >> self.gs) >= (<i64>1 << 23):   # and at most 2**23 of them (1 MiB)
            self.gs += 1
        self.ng = (top >> self.gs) + 1
        self.hpmap = <unsigned char*> calloc((self.ng >> 3) + 1, 1)
        if self.hpmap == NULL:
            raise MemoryError()
        with nogil:
            for i in range(n):
                end = self.H[i].head + (self.H[i].count << self.H[i].order)
                for g in range(self.H[i].head >> self.gs, ((end - 1) >> self.gs) + 1):
                    self.hpmap[g >> 3] |= <unsigned char> (1 << (g & 7))

    cdef _rows(self, Col* c, tuple cols):
        cdef Py_ssize_t n = c.n, i, k, w = 1 << c.ws, ncols = len(cols)
        cdef const i64* src[8]
        cdef i64* dst
        cdef col_t F
        c.R = <i64*> alloc_table(n * w * sizeof(i64))
        if c.R == NULL:
            raise MemoryError()
        for k in range(ncols):
            self.keep.append(cols[k])
            F = cols[k]
            src[k] = &F[0] if n else NULL
        with nogil:
            for i in range(n):              # row by row: one pass over the rows
                dst = c.R + (i << c.ws)
                for k in range(ncols):
                    dst[k] = src[k][i]
                for k in range(ncols, w):
                    dst[k] = 0

    def __dealloc__(self):
        free(self.H)
        free(self.hpmap)
        free(self.hp.R); free(self.vm.R); free(self.ov.R); free(self.sp.R); free(self.pf.R)
        free(self.hp.L); free(self.vm.L); free(self.ov.L); free(self.sp.L); free(self.pf.L)


cdef extern from *:
    void prefetch "__builtin_prefetch" (const void* addr) nogil


cdef inline Py_ssize_t bucket(const Col* c, i64 x) noexcept nogil:
    cdef i64 b = x >> c.shift
    return b if b < c.nb else c.nb


cdef inline void prefetch_buckets(const Col* c, i64 x) noexcept nogil:
    if c.n and x >= 0:
        prefetch(&c.L[bucket(c, x)])


cdef inline void prefetch_rows(const Col* c, i64 x) noexcept nogil:
    """With L[bucket] cached, fetch the first start of the bucket and the row before it."""
    cdef Py_ssize_t lo
    if c.n and x >= 0:
        lo = c.L[bucket(c, x)]
        prefetch(&c.s[lo if lo < c.n else c.n - 1])
        if lo > 0 and c.R != NULL:
            prefetch(c.R + ((lo - 1) << c.ws))


def prepare(t) -> None:
    """Build the lookup index of a Tables now (resolve and window would build it on first use)."""
    index_of(t)


cdef Index index_of(t):
    ix = getattr(t, "_core_index", None)
    if ix is None:
        ix = Index(t)
        t._core_index = ix
    return ix


def resolve_columns(t, pfns):
    """See _query_py.resolve_columns."""
    cdef col_t P = pfns
    cdef Index ix = index_of(t)
    cdef Py_ssize_t n = P.shape[0], k
    out = {name: carray.clone(carray.array(code, []), n, False) for name, code in t.codes.RESOLVE_TYPES.items()}
    cdef int[::1] o_present = out["present"], o_hp = out["hugepage"]
    cdef signed char[::1] o_role = out["role"], o_mapping = out["mapping"], o_self = out["self_hosted"]
    cdef i64[::1] o_backing = out["backing"]
    cdef i64 page_shift = t.page_shift, spsize = t.struct_page_size, off = t.pfn_offset
    cdef i64 pmd_pages = t.pmd_pages
    cdef i64 pfn, v, b, mp, r, i, pmd, kind, val, j, hhead
    cdef Py_ssize_t pi, hi, ri, oi, vi, si
    cdef const HpRow* H
    cdef const i64* V
    cdef Py_ssize_t lo
    with nogil:
        for k in range(n):
            # random pfns make every lookup a cache miss: fetch the buckets of the pfn 16 ahead
            # and, their buckets now cached, the starts and rows of the pfn 8 ahead (its present
            # range, huge page, frame role and vmemmap run)
            if k + 16 < n:
                pfn = P[k + 16]
                if may_be_hugepage(ix, pfn):
                    prefetch_buckets(&ix.hp, pfn)
                prefetch_buckets(&ix.pf, pfn)
                if pfn >= off:
                    prefetch_buckets(&ix.vm, ((pfn - off) * spsize) >> page_shift)
            if k + 8 < n:
                pfn = P[k + 8]
                if may_be_hugepage(ix, pfn):
                    prefetch_rows(&ix.hp, pfn)
                    lo = ix.hp.L[bucket(&ix.hp, pfn)] if ix.hp.n else 0
                    if lo > 0:
                        prefetch(&ix.H[lo - 1])
                prefetch_rows(&ix.pf, pfn)
                if pfn >= off:
                    prefetch_rows(&ix.vm, ((pfn - off) * spsize) >> page_shift)
            pfn = P[k]
            si = find(&ix.pf, pfn)
            pi = -1
            val = 0
            if si >= 0:
                pi = row(&ix.pf, si)[2]
                val = row(&ix.pf, si)[3]
            o_present[k] = pi
            hi = find_hp(ix, pfn)
            H = &ix.H[hi] if hi >= 0 else NULL
            j = hhead = 0
            if hi >= 0:                  # page j of run hi
                j = (pfn - H.head) >> H.order
                hhead = H.head + (j << H.order)
            o_hp[k] = H.first + j if hi >= 0 else -1
            if hi >= 0:
                r = HEAD if pfn == hhead else TAIL
            elif val & 0xff:
                r = (val & 0xff) - 1
            elif pi >= 0:
                r = USABLE if val >> 8 == BLOCK_ONLINE else OFFLINE
            else:
                r = HOLE
            o_role[k] = r
            b = -1
            mp = 0
            kind = -1
            if pfn >= off:
                v = ((pfn - off) * spsize) >> page_shift
                if hi >= 0 and H.optimized:
                    i = v - (((hhead - off) * spsize) >> page_shift)
                    if i == 0:
                        b = H.v0 + j * H.v0_step
                    elif i < H.nkeep:
                        run_backing(&ix.vm, v, &b)
                    else:
                        b = H.tail + j * H.tail_step
                    mp = PTE
                else:
                    if run_backing(&ix.ov, v, &b) != NULL:
                        mp = PTE
                    else:
                        V = run_backing(&ix.vm, v, &b)
                        if V != NULL:
                            mp = V[MAPPING] & 0xff
                            kind = V[MAPPING] >> 8
                            if mp == PMD:
                                pmd = v // pmd_pages
                                if find(&ix.sp, pmd) >= 0:
                                    mp = PTE
            o_backing[k] = b
            o_mapping[k] = mp
            o_self[k] = 0
            if kind >= 0 and not ix.freed_self:
                # a frame backing a vmemmap run as populated has the run's role (only HVO can
                # give it another: hvo_freed_selfhosted, absent here), so no frame-role lookup
                o_self[k] = kind == MEMMAP_SELF
            elif b >= 0:
                ri = find(&ix.pf, b)
                if ri >= 0 and (row(&ix.pf, ri)[3] & 0xff) == MEMMAP_SELF + 1:
                    o_self[k] = 1
    return out




cdef enum:
    IN_RUN = -1      # next_segment: [p, q) lies in a run of huge pages (heads and tails, counted apart)


cdef i64 next_segment(Index ix, i64 p, i64 end, i64* role, Py_ssize_t* run) noexcept nogil:
    """Role of pfn p and the end of the piece [p, q) that shares it (hugepage > role > present); in a
    run of huge pages, IN_RUN, the run's index (run) and the end of the run."""
    cdef Py_ssize_t hi, si
    cdef i64 val
    cdef i64 q = end
    cdef const i64* X
    cdef i64 hend
    hi = upper(&ix.hp, p) - 1
    if hi >= 0:
        hend = ix.H[hi].head + (ix.H[hi].count << ix.H[hi].order)
        if p < hend:
            role[0] = IN_RUN
            run[0] = hi
            return min2(hend, end)
    if hi + 1 < ix.hp.n:
        q = min2(q, ix.hp.s[hi + 1])
    si = upper(&ix.pf, p) - 1
    if si >= 0:
        X = row(&ix.pf, si)
        if p < X[END]:
            val = X[3]
            role[0] = (val & 0xff) - 1 if val & 0xff else (USABLE if val >> 8 == 1 else OFFLINE)
            return min2(q, X[END])
    role[0] = HOLE
    if si + 1 < ix.pf.n:
        q = min2(q, row(&ix.pf, si + 1)[START])
    return q


def window_counts(t, i64 start, i64 end, i64 bins, int nroles):
    """See _query_py.window_counts. One sweep over the pieces of [start, end); a role's column is
    allocated when the role first occurs (int32 when no bin can reach 2**31 pages), and the bin
    edges start + (i+1)*W // bins advance by quotient and remainder, without a division per bin. A
    run of huge pages is one piece: each bin gets its heads and tails by arithmetic, not page by page."""
    cdef Index ix = index_of(t)
    cdef i64 p, q, r, width = end - start, i, edge, c, qd, rem, step, rstep, best, n, h, mask, heads
    cdef int o
    cdef Py_ssize_t run = -1
    cdef void* ptr[64]
    cdef bint used[64]       # a role had pages counted (the run path allocates HEAD and TAIL together)
    cdef int k, nk = 0
    cdef int codes[64]
    cdef bint wide = width // bins + 1 >= (<i64>1 << 31)
    cdef carray.array col, template = Q_TEMPLATE if wide else I_TEMPLATE
    cols = {}
    for k in range(64):
        ptr[k] = NULL
        used[k] = False
    with nogil:
        step = width // bins
        rstep = width % bins
        i = 0
        qd = step
        rem = rstep
        edge = start + qd
        p = start
        while p < end:
            q = next_segment(ix, p, end, &r, &run)
            if r == IN_RUN:
                # a run of huge pages: per bin, its heads in [p, c) (one pfn each), the rest tails;
                # the run's heads below x: (x - h + 2**order - 1) >> order
                h, o = ix.H[run].head, ix.H[run].order
                mask = (<i64>1 << o) - 1
                heads = (p - h + mask) >> o
                n = ((q - h + mask) >> o) - heads          # heads in [p, q): HEAD and TAIL counted if any
                used[HEAD] = used[HEAD] or n > 0
                used[TAIL] = used[TAIL] or q - p > n
                for r in range(HEAD, TAIL + 1):          # (a role with nothing counted is dropped below)
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
                    n = (c - h + mask) >> o
                    if wide:
                        (<i64*> ptr[HEAD])[i] += n - heads
                        (<i64*> ptr[TAIL])[i] += c - p - (n - heads)
                    else:
                        (<int*> ptr[HEAD])[i] += <int> (n - heads)
                        (<int*> ptr[TAIL])[i] += <int> (c - p - (n - heads))
                    heads = n
                    p = c
                continue
            used[r] = True
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
        if ptr[k] != NULL and used[k]:
            codes[nk] = k
            nk += 1
        elif ptr[k] != NULL:
            del cols[k]
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
# (present_columns, which walks the core's Blocks, is in _replay.pyx)
# The same builders as _query_py.py, over the same machine state.

def live_by_head(hp):
    """See _query_py.live_by_head: a natural merge sort of the live rows by head pfn (rows come in
    a few ascending runs, one per allocation)."""
    return _live_sorted(hp, -1, -1)


def live_by_head_desc(hp, i64 node, i64 order):
    """See hugetlb.live_by_head_desc: the live rows of one size on one node, highest head first."""
    idx = _live_sorted(hp, node, order)
    cdef i64* I = (<carray.array> idx).data.as_longlongs
    cdef Py_ssize_t k = len(idx), a
    for a in range(k // 2):
        I[a], I[k - 1 - a] = I[k - 1 - a], I[a]
    return idx


cdef carray.array _live_sorted(hp, i64 node, i64 order):
    """Live rows (of node and order, unless -1) in ascending head order."""
    cdef const i64[::1] head = hp.head, alive = hp.count, nodes, orders
    cdef Py_ssize_t n = head.shape[0], i, k = 0
    if node >= 0:
        nodes, orders = hp.node, hp.order
    cdef carray.array idx = carray.clone(Q_TEMPLATE, n, False)
    cdef i64* I = idx.data.as_longlongs
    for i in range(n):
        if alive[i] and (node < 0 or (nodes[i] == node and orders[i] == order)):
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
    """col[i] for i in idx; col itself when idx is 0, 1, 2, ... over all of it (the usual case:
    every row of huge pages live, allocated in head order), since the replay is over and nothing
    changes the machine's columns any more."""
    cdef const i64[::1] C = col, X = idx
    cdef Py_ssize_t n = X.shape[0], i
    if n == C.shape[0]:
        for i in range(n):
            if X[i] != i:
                break
        else:
            return col
    cdef carray.array out = carray.clone(Q_TEMPLATE, n, False)
    cdef i64* O = out.data.as_longlongs
    for i in range(n):
        O[i] = C[X[i]]
    return out


def merge_overlay(base, top):
    """See _query_py.merge_overlay: flatten two range maps, top winning where both have a value."""
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
