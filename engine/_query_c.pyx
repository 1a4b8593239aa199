# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The hot query loops in Cython: the same algorithms as _query_py.py, over the same Tables
columns, with typed memoryviews and without the GIL, so the server stays responsive; and the
column builders (merge_overlay, live_by_head, gather).

resolve_columns first asks a mem_section table (built with the index: __pfn_to_section,
__nr_to_section), which answers alone for a pfn whose section shares one present row, role and
vmemmap run and holds no huge page; other pfns search the tables as _query_py.py does.

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


cdef enum:
    # SECTIONS_PER_ROOT = PAGE_SIZE / sizeof(struct mem_section): 256 sections of 16 bytes a root
    SECTIONS_PER_ROOT_SHIFT = 8
    SECTION_ROOT_MASK = (1 << SECTIONS_PER_ROOT_SHIFT) - 1
    MAX_SECTION_ROOTS = 1 << 14     # 64 MiB of roots (512 TiB in 128 MiB sections): past it, no table
    # MemSection.flags: which answers every pfn of the section shares
    SECTION_PRESENT_ONE = 1         # one present row (or none), one role (two at a subsection boundary)
    SECTION_MEMMAP_ONE = 2          # one vmemmap run (or none) backs its struct pages, no overlay, no split PMD
    SECTION_NO_HUGEPAGE = 4         # no live huge page overlaps it
    SECTION_ONE = 7                 # all three: the section answers for every pfn of it
    SECTION_PRESENT_ROWS = 8        # else a few present/role rows share it
    SECTION_MEMMAP_SELF = 16        # MEMMAP_ONE: the frames backing its vmemmap are self-hosted memmap
    SECTION_MAPPING_SHIFT = 5       # MEMMAP_ONE: (flags >> 5) & 3 is its vmemmap's PMD/PTE (0: no vmemmap)
    SECTION_NO_MEMMAP_SELF = 128    # no frame of it is self-hosted memmap (what resolve asks of a backing frame)
    SECTION_FEW_ROWS = 4            # how many rows make a few
    SUBSECTION_SHIFT = 21           # SUBSECTION_SHIFT: 2 MiB, the hotplug granule below a section
    SECTION_AHEAD = 64              # resolve_columns fetches the mem_section of the pfn this far ahead


cdef struct MemSection:
    # struct mem_section as the query sees it: what every pfn of one section shares, where the flags
    # say it does (else the loop searches the tables). 16 bytes like the kernel's, a page per root.
    i64 memmap           # MEMMAP_ONE: vmemmap page v is backed by frame v + memmap (the way section_mem_map
                         # is encoded so that adding a pfn gives its struct page)
    int present          # PRESENT_ONE: the present row of its pfns (-1: none); PRESENT_ROWS: its first pf row
    unsigned char role   # PRESENT_ONE: the role of its pfns outside huge pages; PRESENT_ROWS: how many rows
    unsigned char role_below     # PRESENT_ONE: the role of those in its first `subsection` subsections
    unsigned char subsection     # (a block's altmap memmap at its start, then the rest: 0 if one role)
    unsigned char flags


cdef struct Sections:
    # mem_section[root][nr & SECTION_ROOT_MASK] over sections [0, nr_sections); a root is allocated only
    # where present/role rows are (SPARSEMEM_EXTREME), so a sparse machine pays for what it has
    MemSection** root
    MemSection* flat     # mem_section[0] when every root is there, in order: then one array
    i64 nr_sections
    int shift            # PFN_SECTION_SHIFT
    int subshift         # PFN_SUBSECTION_SHIFT


cdef inline MemSection* __nr_to_section(Sections S, i64 nr) noexcept nogil:
    """&mem_section[SECTION_NR_TO_ROOT(nr)][nr & SECTION_ROOT_MASK], or NULL outside the table."""
    cdef MemSection* root
    if <unsigned long long> nr >= <unsigned long long> S.nr_sections:      # a negative nr too
        return NULL
    if S.flat != NULL:
        return S.flat + nr
    root = S.root[nr >> SECTIONS_PER_ROOT_SHIFT]
    if root == NULL:
        return NULL
    return root + (nr & SECTION_ROOT_MASK)


cdef inline MemSection* __pfn_to_section(Sections S, i64 pfn) noexcept nogil:
    """__nr_to_section(pfn_to_section_nr(pfn))."""
    return __nr_to_section(S, pfn >> S.shift)


cdef inline int role_of(i64 pi, i64 val) noexcept nogil:
    """The map's role of a pfn in no huge page, from its present/role row (pi = -1, val = 0: none)."""
    if val & 0xff:
        return (val & 0xff) - 1
    if pi >= 0:
        return USABLE if val >> 8 == BLOCK_ONLINE else OFFLINE
    return HOLE


cdef inline int section_role(const MemSection* ms, Sections S, i64 pfn) noexcept nogil:
    """The role of a pfn outside huge pages, in a PRESENT_ONE section."""
    if (pfn & ((<i64>1 << S.shift) - 1)) < (<i64> ms.subsection << S.subshift):
        return ms.role_below
    return ms.role


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


cdef inline i64 max2(i64 a, i64 b) noexcept nogil:
    return a if a > b else b


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


cdef bint disjoint(const Col* c) noexcept nogil:
    """Whether the rows are sorted and do not overlap (the mem_section fill walks them so)."""
    cdef Py_ssize_t i
    for i in range(1, c.n):
        if row(c, i)[START] < row(c, i - 1)[END]:
            return False
    return True


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
    # mem_section: pfn >> PFN_SECTION_SHIFT indexes what a section's pfns share, so most pfns need
    # no search at all (the kernel does not bisect either: __pfn_to_section is a shift and a load)
    cdef Sections sections
    cdef Py_ssize_t nr_roots
    cdef MemSection* section_mem     # the roots' sections, one block
    cdef list keep

    def __cinit__(self):
        self.hp.R = self.vm.R = self.ov.R = self.sp.R = self.pf.R = NULL
        self.hp.L = self.vm.L = self.ov.L = self.sp.L = self.pf.L = NULL
        self.H = NULL
        self.hpmap = NULL
        self.sections.root = NULL
        self.sections.flat = NULL
        self.sections.nr_sections = 0
        self.nr_roots = 0
        self.section_mem = NULL

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
        self._sparse_init(t.pfn_section_shift, t.pfn_offset, t.struct_page_size, t.page_shift, t.pmd_pages)

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

    cdef _sparse_init(self, int shift, i64 off, i64 spsize, i64 page_shift, i64 pmd_pages):
        """Fill mem_section: per section of the present/role rows, the row, role, vmemmap run and huge
        pages that all its pfns share, where one does (the flags say which)."""
        cdef Sections* S = &self.sections
        cdef const Col* pf = &self.pf
        cdef const Col* vm = &self.vm
        cdef const Col* ov = &self.ov
        cdef const Col* sp = &self.sp
        cdef i64 top, nr, nr_sections, s, e, v0, v1, a, z, last = -1, need = 0
        cdef Py_ssize_t r, i = 0, j = 0, o = 0, q = 0, x
        cdef int rs = shift + SECTIONS_PER_ROOT_SHIFT, flags, mp
        cdef MemSection* ms
        cdef const i64* X
        S.shift = shift
        S.subshift = SUBSECTION_SHIFT - page_shift
        if pf.n == 0 or not (disjoint(pf) and disjoint(vm) and disjoint(ov) and disjoint(sp)):
            return                                          # no table: every pfn searches
        top = row(pf, pf.n - 1)[END]
        nr_sections = ((top - 1) >> shift) + 1
        for i in range(pf.n):                               # roots holding a row
            a, z = row(pf, i)[START] >> rs, (row(pf, i)[END] - 1) >> rs
            if a <= last:
                a = last + 1
            if z >= a:
                need += z - a + 1
                last = z
        if need > MAX_SECTION_ROOTS:
            return
        self.nr_roots = ((nr_sections - 1) >> SECTIONS_PER_ROOT_SHIFT) + 1
        S.root = <MemSection**> calloc(self.nr_roots, sizeof(MemSection*))
        if S.root == NULL:
            raise MemoryError()
        # the roots in one block, in order, on huge pages where the system has them (a dense machine's
        # table is then one array, and random pfns do not miss the TLB on every section)
        self.section_mem = <MemSection*> alloc_huge(need * (sizeof(MemSection) << SECTIONS_PER_ROOT_SHIFT))
        if self.section_mem == NULL:
            raise MemoryError()
        need = 0
        for i in range(pf.n):
            for r in range(row(pf, i)[START] >> rs, ((row(pf, i)[END] - 1) >> rs) + 1):
                if S.root[r] == NULL:
                    S.root[r] = self.section_mem + (need << SECTIONS_PER_ROOT_SHIFT)
                    need += 1
        i = 0
        with nogil:
            for r in range(self.nr_roots):
                if S.root[r] == NULL:
                    continue
                for nr in range(r << SECTIONS_PER_ROOT_SHIFT, min2((r + 1) << SECTIONS_PER_ROOT_SHIFT, nr_sections)):
                    ms = S.root[r] + (nr & SECTION_ROOT_MASK)
                    s = nr << shift
                    e = s + (<i64>1 << shift)
                    ms.memmap, ms.present, ms.role, ms.role_below, ms.subsection = 0, -1, HOLE, HOLE, 0
                    flags = 0
                    # the present/role rows over [s, e): none, one holding all of it, or two of one present
                    # row meeting at a subsection boundary (a block's altmap memmap, then the rest)
                    while i < pf.n and row(pf, i)[END] <= s:
                        i += 1
                    if i == pf.n or row(pf, i)[START] >= e:
                        flags |= SECTION_PRESENT_ONE
                    elif row(pf, i)[START] <= s and row(pf, i)[END] >= e:
                        ms.present = row(pf, i)[2]
                        ms.role = role_of(row(pf, i)[2], row(pf, i)[3])
                        flags |= SECTION_PRESENT_ONE
                    elif (i + 1 < pf.n and row(pf, i)[START] <= s and row(pf, i + 1)[END] >= e
                          and row(pf, i + 1)[START] == row(pf, i)[END] and row(pf, i + 1)[2] == row(pf, i)[2]
                          and ((row(pf, i)[END] - s) & ((<i64>1 << S.subshift) - 1)) == 0
                          and ((row(pf, i)[END] - s) >> S.subshift) < 256):
                        ms.present = row(pf, i)[2]
                        ms.role_below = role_of(row(pf, i)[2], row(pf, i)[3])
                        ms.role = role_of(row(pf, i + 1)[2], row(pf, i + 1)[3])
                        ms.subsection = (row(pf, i)[END] - s) >> S.subshift
                        flags |= SECTION_PRESENT_ONE
                    else:
                        ms.role = 1
                        while ms.role <= SECTION_FEW_ROWS and i + ms.role < pf.n and row(pf, i + ms.role)[START] < e:
                            ms.role += 1
                        if ms.role <= SECTION_FEW_ROWS:
                            ms.present = <int> i
                            flags |= SECTION_PRESENT_ROWS
                    # its struct pages, vmemmap pages [v0, v1]: no run, or one run, without overlay or split PMD
                    # (and no self-hosted frame freed by HVO, which makes the loop look up each frame's role)
                    if self.freed_self:
                        pass
                    elif e <= off:
                        flags |= SECTION_MEMMAP_ONE
                    elif s >= off:
                        v0 = ((s - off) * spsize) >> page_shift
                        v1 = ((e - 1 - off) * spsize) >> page_shift
                        while j < vm.n and row(vm, j)[END] <= v0:
                            j += 1
                        while o < ov.n and row(ov, o)[END] <= v0:
                            o += 1
                        if o == ov.n or row(ov, o)[START] > v1:
                            if j == vm.n or row(vm, j)[START] > v1:
                                flags |= SECTION_MEMMAP_ONE
                            elif row(vm, j)[START] <= v0 and row(vm, j)[END] > v1:
                                X = row(vm, j)
                                mp = X[MAPPING] & 0xff
                                if mp == PMD:
                                    while q < sp.n and row(sp, q)[END] <= v0 // pmd_pages:
                                        q += 1
                                    if q < sp.n and row(sp, q)[START] <= v1 // pmd_pages:
                                        mp = -1
                                if mp > 0:
                                    ms.memmap = X[VAL] - X[START]
                                    flags |= SECTION_MEMMAP_ONE | (mp << SECTION_MAPPING_SHIFT)
                                    if X[MAPPING] >> 8 == MEMMAP_SELF:
                                        flags |= SECTION_MEMMAP_SELF
                    if not self._may_hold_hugepage(s, e):
                        flags |= SECTION_NO_HUGEPAGE
                    x = i
                    while x < pf.n and row(pf, x)[START] < e and (row(pf, x)[3] & 0xff) != MEMMAP_SELF + 1:
                        x += 1
                    if x == pf.n or row(pf, x)[START] >= e:
                        flags |= SECTION_NO_MEMMAP_SELF
                    ms.flags = flags
        S.nr_sections = nr_sections
        if need == self.nr_roots:
            S.flat = self.section_mem

    cdef bint _may_hold_hugepage(self, i64 s, i64 e) noexcept nogil:
        """Whether a granule of [s, e) is marked in hpmap."""
        cdef i64 g = s >> self.gs, last = (e - 1) >> self.gs
        if last >= self.ng:
            last = self.ng - 1
        while g <= last:
            if (g & 7) == 0 and g + 8 <= last + 1 and self.hpmap[g >> 3] == 0:
                g += 8
            elif (self.hpmap[g >> 3] >> (g & 7)) & 1:
                return True
            else:
                g += 1
        return False

    def __dealloc__(self):
        free(self.sections.root)
        free(self.section_mem)
        free(self.H)
        free(self.hpmap)
        free(self.hp.R); free(self.vm.R); free(self.ov.R); free(self.sp.R); free(self.pf.R)
        free(self.hp.L); free(self.vm.L); free(self.ov.L); free(self.sp.L); free(self.pf.L)


cdef extern from *:
    void prefetch "__builtin_prefetch" (const void* addr) nogil


cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* Back a new column of `size` bytes at p before the loop writes it: transparent huge pages where
       it is 4 MiB or more (as numpy asks for its own arrays), and its page tables filled in one call
       (Linux 5.14+), instead of one fault per 4 KiB page as the loop first touches each. */
    static void vms_prefault_column(void *p, size_t size) {
    #if defined(__linux__)
        size_t a = ((size_t) p + 4095) & ~(size_t) 4095, e = ((size_t) p + size) & ~(size_t) 4095;
        if (e <= a)
            return;
    #ifdef MADV_HUGEPAGE
        if (size >= ((size_t) 4 << 20))
            madvise((void *) a, e - a, MADV_HUGEPAGE);
    #endif
    #ifdef MADV_POPULATE_WRITE
        madvise((void *) a, e - a, MADV_POPULATE_WRITE);
    #endif
    #endif
    }
    """
    void prefault_column "vms_prefault_column" (void* p, size_t size) nogil


cdef extern from *:
    """
    /* A table of `size` bytes (freed by free()) on transparent huge pages where there are some. */
    static void *vms_alloc_huge(size_t size) {
        size_t huge = (size_t) 2 << 20;
        void *p;
        if (size < huge)
            return aligned_alloc(64, (size + 63) & ~(size_t) 63);
        size = (size + huge - 1) & ~(huge - 1);
        p = aligned_alloc(huge, size);
    #if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p)
            madvise(p, size, MADV_HUGEPAGE);
    #endif
        return p;
    }
    """
    void* alloc_huge "vms_alloc_huge" (size_t size) nogil


cdef inline Py_ssize_t bucket(const Col* c, i64 x) noexcept nogil:
    cdef i64 b = x >> c.shift
    return b if b < c.nb else c.nb


# The prefetch helpers return the address to fetch and the loop issues the prefetch: GCC takes a function
# whose only effect is a prefetch for a pure one and drops the calls (it did, for all of them).

cdef inline const void* bucket_line(const Col* c, i64 x) noexcept nogil:
    """&L[bucket of x], or NULL (an empty table)."""
    return &c.L[bucket(c, x)] if c.n and x >= 0 else NULL


cdef inline const void* start_line(const Col* c, i64 x) noexcept nogil:
    """With L[bucket] cached, the first start of the bucket of x, or NULL."""
    cdef Py_ssize_t lo
    if c.n == 0 or x < 0:
        return NULL
    lo = c.L[bucket(c, x)]
    return &c.s[lo if lo < c.n else c.n - 1]


cdef inline const void* row_line(const Col* c, i64 x) noexcept nogil:
    """With L[bucket] cached, the row before the first start of the bucket of x, or NULL."""
    cdef Py_ssize_t lo
    if c.n == 0 or x < 0 or c.R == NULL:
        return NULL
    lo = c.L[bucket(c, x)]
    return c.R + ((lo - 1) << c.ws) if lo > 0 else NULL


cdef inline const void* hp_row_line(Index ix, i64 x) noexcept nogil:
    """With L[bucket] cached, the huge page row before the first head of the bucket of x, or NULL."""
    cdef Py_ssize_t lo
    if ix.hp.n == 0 or x < 0:
        return NULL
    lo = ix.hp.L[bucket(&ix.hp, x)]
    return &ix.H[lo - 1] if lo > 0 else NULL


def prepare(t) -> None:
    """Build the lookup index of a Tables now (resolve and window would build it on first use)."""
    index_of(t)


cdef Index index_of(t):
    ix = getattr(t, "_core_index", None)
    if ix is None:
        ix = Index(t)
        t._core_index = ix
    return ix


cdef struct Geometry:
    # what turns a pfn into its vmemmap page, and the hazard flag
    i64 off, spsize, page_shift, pmd_pages
    bint freed_self


cdef struct Out:
    # resolve_columns' columns, as pointers (a typed view's data pointer would be reloaded after
    # every byte store, which may alias it)
    int* present
    int* hugepage
    signed char* role
    i64* backing
    signed char* mapping
    signed char* self_hosted


cdef void resolve_pfn(Index ix, const MemSection* ms, Sections S, i64 pfn, Py_ssize_t k, Out o,
                      Geometry g) noexcept nogil:
    """Every column of one pfn, by the mem_section where it answers and the tables elsewhere."""
    cdef int flags = ms.flags if ms != NULL else 0
    cdef i64 v, b = -1, mp = 0, r, i, kind = -1, val = 0
    cdef Py_ssize_t pi = -1, si, ri
    cdef Py_ssize_t hi = -1 if flags & SECTION_NO_HUGEPAGE else find_hp(ix, pfn)
    cdef const HpRow* H = &ix.H[hi] if hi >= 0 else NULL
    cdef i64 j = 0, hhead = 0
    cdef const i64* V
    if hi >= 0:                          # page j of run hi
        j = (pfn - H.head) >> H.order
        hhead = H.head + (j << H.order)
    cdef int selfh = -1                  # self-hosted, where the section says
    if flags & SECTION_PRESENT_ONE:
        pi = ms.present
        r = section_role(ms, S, pfn)
    else:
        if flags & SECTION_PRESENT_ROWS:            # the row holding pfn among the section's few
            si = ms.present
            ri = si + ms.role
            while si < ri and row(&ix.pf, si)[END] <= pfn:
                si += 1
            if si == ri or row(&ix.pf, si)[START] > pfn:
                si = -1
        else:
            si = find(&ix.pf, pfn)
        if si >= 0:
            pi = row(&ix.pf, si)[2]
            val = row(&ix.pf, si)[3]
        r = role_of(pi, val)
    if hi >= 0:
        r = HEAD if pfn == hhead else TAIL
    o.present[k] = <int> pi
    o.hugepage[k] = <int> (H.first + j) if hi >= 0 else -1
    o.role[k] = <signed char> r
    if flags & SECTION_MEMMAP_ONE and (hi < 0 or not H.optimized):
        mp = (flags >> SECTION_MAPPING_SHIFT) & 3
        if mp:
            b = (((pfn - g.off) * g.spsize) >> g.page_shift) + ms.memmap
        selfh = (flags & SECTION_MEMMAP_SELF) != 0
    elif pfn >= g.off:
        v = ((pfn - g.off) * g.spsize) >> g.page_shift
        if hi >= 0 and H.optimized:
            i = v - (((hhead - g.off) * g.spsize) >> g.page_shift)
            if i == 0:
                b = H.v0 + j * H.v0_step
            elif i < H.nkeep:
                run_backing(&ix.vm, v, &b)
            else:
                b = H.tail + j * H.tail_step
            mp = PTE
        elif run_backing(&ix.ov, v, &b) != NULL:
            mp = PTE
        else:
            V = run_backing(&ix.vm, v, &b)
            if V != NULL:
                mp = V[MAPPING] & 0xff
                kind = V[MAPPING] >> 8
                if mp == PMD and find(&ix.sp, v // g.pmd_pages) >= 0:
                    mp = PTE
    o.backing[k] = b
    o.mapping[k] = <signed char> mp
    if selfh >= 0:
        o.self_hosted[k] = <signed char> selfh
    elif kind >= 0 and not g.freed_self:
        # a frame backing a vmemmap run as populated has the run's role (only HVO can
        # give it another: hvo_freed_selfhosted, absent here), so no frame-role lookup
        o.self_hosted[k] = kind == MEMMAP_SELF
    elif b >= 0:
        ms = __pfn_to_section(S, b)                 # the frame's section may say it is not memmap_self
        if ms != NULL and ms.flags & SECTION_NO_MEMMAP_SELF:
            o.self_hosted[k] = 0
        else:
            ri = find(&ix.pf, b)
            o.self_hosted[k] = ri >= 0 and (row(&ix.pf, ri)[3] & 0xff) == MEMMAP_SELF + 1
    else:
        o.self_hosted[k] = 0


def resolve_columns(t, pfns):
    """See _query_py.resolve_columns."""
    cdef col_t P = pfns
    cdef Index ix = index_of(t)
    cdef Py_ssize_t n = P.shape[0], k
    out = {name: carray.clone(carray.array(code, []), n, False) for name, code in t.codes.RESOLVE_TYPES.items()}
    if n == 0:
        return out
    cdef int[::1] present_v = out["present"], hp_v = out["hugepage"]        # (typed views check typecodes)
    cdef signed char[::1] role_v = out["role"], mapping_v = out["mapping"], self_v = out["self_hosted"]
    cdef i64[::1] backing_v = out["backing"]
    cdef Out o
    o.present, o.hugepage, o.backing = &present_v[0], &hp_v[0], &backing_v[0]
    o.role, o.mapping, o.self_hosted = &role_v[0], &mapping_v[0], &self_v[0]
    for col in out.values():
        prefault_column((<carray.array> col).data.as_voidptr, n * (<carray.array> col).ob_descr.itemsize)
    cdef Geometry g
    g.off, g.spsize, g.page_shift, g.pmd_pages = t.pfn_offset, t.struct_page_size, t.page_shift, t.pmd_pages
    g.freed_self = ix.freed_self
    cdef i64 pfn, b
    cdef Py_ssize_t hb, lo, hi, j
    cdef Sections sections = ix.sections
    cdef const MemSection* ms
    cdef const MemSection* nxt
    # the huge pages' buckets are fetched ahead where they are not in L2 (a million huge pages)
    cdef bint hp_far = (ix.hp.nb + 1) * sizeof(int) > (1 << 20)
    cdef const MemSection* ring[SECTION_AHEAD]      # the mem_section of pfn k in ring[k % SECTION_AHEAD]
    cdef int flags
    with nogil:
        for k in range(min2(n, SECTION_AHEAD)):
            ms = ring[k] = __pfn_to_section(sections, P[k])
            prefetch(ms)
        for k in range(n):
            # random pfns make every lookup a cache miss. Fetch the mem_section of the pfn 24 ahead;
            # where it does not answer alone, the buckets of the pfn 16 ahead and, their buckets now
            # cached, the starts and rows of the pfn 8 ahead (present range, huge page, vmemmap run)
            nxt = NULL
            if k + SECTION_AHEAD < n:
                nxt = __pfn_to_section(sections, P[k + SECTION_AHEAD])
                prefetch(nxt)
            if k + 32 < n:
                ms = ring[(k + 32) & (SECTION_AHEAD - 1)]
                flags = ms.flags if ms != NULL else 0
                if flags & SECTION_ONE != SECTION_ONE:
                    pfn = P[k + 32]
                    if hp_far and not flags & SECTION_NO_HUGEPAGE and may_be_hugepage(ix, pfn):
                        prefetch(bucket_line(&ix.hp, pfn))
                    if flags & SECTION_PRESENT_ROWS:
                        prefetch(row(&ix.pf, ms.present))
            if k + 16 < n:
                ms = ring[(k + 16) & (SECTION_AHEAD - 1)]
                flags = ms.flags if ms != NULL else 0
                if flags & SECTION_ONE != SECTION_ONE:
                    pfn = P[k + 16]
                    if not flags & SECTION_NO_HUGEPAGE and may_be_hugepage(ix, pfn):
                        hb = bucket(&ix.hp, pfn)
                        lo = ix.hp.L[hb]
                        hi = ix.hp.L[hb + 1] if hb < ix.hp.nb else ix.hp.n
                        prefetch(hp_row_line(ix, pfn))
                        for j in range(lo, min2(hi, lo + 32), 8):    # its bucket's heads: 4 lines at most
                            prefetch(&ix.hp.s[j])
            if k + 8 < n:
                ms = ring[(k + 8) & (SECTION_AHEAD - 1)]
                flags = ms.flags if ms != NULL else 0
                if flags & SECTION_ONE != SECTION_ONE:
                    pfn = P[k + 8]
                    if not flags & SECTION_NO_HUGEPAGE and may_be_hugepage(ix, pfn):
                        hb = bucket(&ix.hp, pfn)
                        lo = ix.hp.L[hb]
                        hi = ix.hp.L[hb + 1] if hb < ix.hp.nb else ix.hp.n
                        if hi - lo > 1:                     # many huge pages a bucket: the row of this one
                            prefetch(&ix.H[max2(bisect_right(ix.hp.s, lo, hi, pfn) - 1, 0)])
            ms = ring[k & (SECTION_AHEAD - 1)]
            ring[k & (SECTION_AHEAD - 1)] = nxt         # (the slot of pfn k + SECTION_AHEAD now)
            if ms != NULL and ms.flags & SECTION_ONE == SECTION_ONE:
                # the section answers: no huge page, one present row, one vmemmap run (or none)
                pfn = P[k]
                flags = ms.flags
                o.present[k] = ms.present
                o.hugepage[k] = -1
                o.role[k] = <signed char> section_role(ms, sections, pfn)
                b = -1
                if (flags >> SECTION_MAPPING_SHIFT) & 3:
                    b = (((pfn - g.off) * g.spsize) >> g.page_shift) + ms.memmap
                o.backing[k] = b
                o.mapping[k] = <signed char> ((flags >> SECTION_MAPPING_SHIFT) & 3)
                o.self_hosted[k] = (flags & SECTION_MEMMAP_SELF) != 0
            else:
                resolve_pfn(ix, ms, sections, P[k], k, o, g)
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
