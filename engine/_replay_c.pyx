# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""C versions of the kernel functions that loop over many blocks or pages (the replay accelerator).

Each function here implements the Python function of the same name, which is the oracle and
dispatches here in its first line when a machine has this accelerator (m.bulk):

  memory.create_memory_block_devices   blocks as C structs made from one template
  memory.online_memory_blocks          online_pages() of many blocks, free ranges merged per node
  memmap.vmemmap_populate_altmaps      vmemmap_populate_altmap() of many blocks, merged in one pass
  hugetlb.alloc_pool_huge_folios       the aligned runs taken in one pass over the free ranges
  hugetlb.prep_and_add_allocated_folios  runs cut into segments sharing one HVO verdict (the "merged"
                                       policy's vmemmap_should_optimize() in C, others through
                                       hvo.page_verdict), a pool row per segment HVO leaves alone
                                       (RowBuf: HugePool.add() of a whole run), then
                                       hvo.hugetlb_vmemmap_optimize_folio() of a whole piece in one loop
  hugetlb.live_by_head_desc            (from _query_c) a natural merge sort of the pool's rows
  tables.present_columns               read from the C blocks' fields

It implements only the kernel behaviour switches named in SWITCHES: a machine whose kernel has
another switch on is replayed by the Python model alone (replay.bulk_for). A property test
compares every table the two leave on random scenarios.
"""
from array import array

cimport cython
from engine._bisect cimport bisect_right
from engine.codes cimport (MEMMAP_SELF, MEMMAP_BOOT, HVO_FREED, HVO_FREED_SELF, PAGE_TABLE,
                           VMEMMAP_HVO_HEAD as HVO_HEAD, HVO_OPTIMIZED as OPTIMIZED, HVO_REFUSED as REFUSED,
                           R_SELFHOSTED as SELFHOSTED, R_HAZARD as HAZARD, R_OPTIMIZED, PMD, PTE,
                           ZONE_MOVABLE, BLOCK_ONLINE, BLOCK_OFFLINE)
from cpython cimport array as carray
from libc.stdlib cimport free, malloc, realloc

from engine import hvo
from engine.buddy import GFP_KERNEL_ZONES
from engine.codes import ZONE_CODE
from engine.hugetlb import htlb_alloc_zones
from engine.memory import online_pages
from engine.mm_types import POOL_COLUMNS, HugePage
from engine._query_c import live_by_head_desc

# The kernel.SWITCHES whose behaviour (on or off) these loops implement; with any other switch on,
# the Python model replays alone. Add a name here only with its C behaviour and a property test.
SWITCHES = ("mmo_excluded_by_hvo", "hvo_overrides_mmo", "selfhosted_refusal", "mmo_force",
            "mmo_per_block_altmap", "memmap_pages_offline", "hvo_free_2nd_vmemmap_page", "hvo_sysctl",
            "hvo_head_copy", "hvo_alloc_fallback", "hvo_check_in_split", "arm64_vmemmap_below_1g",
            "arm64_52bit_small_pages", "movable_gigantic_pages_sysctl")

ctypedef long long i64
ctypedef const long long[::1] ccol
ctypedef long long[::1] mcol

cdef carray.array Q = carray.array("q", [])     # template: carray.clone(Q, n, False) is an uninitialised array("q") of n

cdef int CHECK_EVERY = 4096          # blocks or pieces between looks at the time budget
cdef i64 WORK_BETWEEN_CHECKS = 1 << 16   # vmemmap pages HVO handles between looks (~1 ms)


cdef inline Py_ssize_t find(ccol starts, ccol ends, i64 x) noexcept nogil:
    """Index of the range holding x, or -1."""
    cdef Py_ssize_t lo = bisect_right(&starts[0], 0, starts.shape[0], x) if starts.shape[0] else 0
    if lo > 0 and x < ends[lo - 1]:
        return lo - 1
    return -1


cdef struct Runs:
    # a VmemmapRuns' columns, read-only while a piece is optimised (HVO never changes them)
    const i64* vs
    const i64* ve
    const i64* b
    const i64* mp
    Py_ssize_t n


cdef inline Py_ssize_t run_upper(const Runs* r, i64 v) noexcept nogil:
    """bisect_right(vstart, v)."""
    return bisect_right(r.vs, 0, r.n, v)


cdef inline Py_ssize_t run_find(const Runs* r, i64 v) noexcept nogil:
    cdef Py_ssize_t lo = run_upper(r, v)
    if lo > 0 and v < r.ve[lo - 1]:
        return lo - 1
    return -1


cdef inline i64 backing(const Runs* ov, const Runs* vm, i64 v) noexcept nogil:
    """Machine.backing_of_vpage(v)[0]: the overlay first, then the vmemmap as populated."""
    cdef Py_ssize_t i = run_find(ov, v)
    if i >= 0:
        return ov.b[i] + v - ov.vs[i]
    i = run_find(vm, v)
    if i >= 0:
        return vm.b[i] + v - vm.vs[i]
    return -1


cdef inline bint pmd_leaf(const Runs* vm, i64 v) noexcept nogil:
    cdef Py_ssize_t i = run_find(vm, v)
    return i >= 0 and vm.mp[i] == PMD


cdef Runs runs_of(object runs, list keep):
    cdef Runs r
    cdef ccol vs = runs.vstart, ve = runs.vend, b = runs.backing, mp = runs.mapping
    keep.extend((vs, ve, b, mp))
    r.n = vs.shape[0]
    r.vs = &vs[0] if r.n else NULL
    r.ve = &ve[0] if r.n else NULL
    r.b = &b[0] if r.n else NULL
    r.mp = &mp[0] if r.n else NULL
    return r


def alloc_pool_huge_folios(m, int node, int order, i64 count):
    """hugetlb.alloc_pool_huge_folios: up to count new pages on node (lowest free aligned runs, zone
    by zone); (allocated, optimised)."""
    nr = <i64>1 << order
    runs = []
    cdef i64 got = 0
    for zone in htlb_alloc_zones(m, order):
        fl = m.buddy.lists.get((node, zone))
        if fl is None or count - got <= 0:
            continue
        got += take_aligned(fl, nr, count - got, runs)
    return got, prep_and_add_allocated_folios(m, runs, order, node)


def take_aligned(fl, i64 nr, i64 want, list runs):
    """FreeList.alloc_many(nr, nr, want) in one pass over the free ranges; appends the runs of
    head pfns taken and returns how many pages that is."""
    cdef ccol s0 = fl.starts, e0 = fl.ends
    cdef Py_ssize_t n = s0.shape[0], i, no = 0
    out = [carray.clone(Q, (2 * n + 1), False) for _ in range(2)]
    cdef mcol os = out[0], oe = out[1]
    cdef i64 s, e, a, k, got = 0
    for i in range(n):
        s, e = s0[i], e0[i]
        a = (s + nr - 1) // nr * nr
        k = (e - a) // nr if e > a and got < want else 0
        if k > want - got:
            k = want - got
        if k <= 0:
            os[no], oe[no] = s, e
            no += 1
            continue
        runs.append(range(a, a + k * nr, nr))
        got += k
        if s < a:
            os[no], oe[no] = s, a
            no += 1
        if a + k * nr < e:
            os[no], oe[no] = a + k * nr, e
            no += 1
    del s0, e0, os, oe
    fl.starts, fl.ends = out[0][:no], out[1][:no]
    return got


cdef struct Geometry:
    i64 S, shift, off, bp, nr, step_frames


cdef inline i64 vpage(const Geometry* G, i64 pfn) noexcept nogil:
    return ((pfn - G.off) * G.S) >> G.shift


cdef inline i64 ceil_div(i64 a, i64 b) noexcept nogil:
    return -((-a) // b)


cdef i64 next_boundary(const Geometry* G, const Runs* vm, const Runs* ov, i64 h) noexcept nogil:
    """The next head pfn (h + k*nr, k >= 1) where a huge page's HVO verdict may differ from h's:
    hvo.page_verdict depends on the memory block of the head, and on the frame backing the head's
    struct page (its role, the state of its block). So: the next memory block, the end of the
    vmemmap (or overlay) run holding h's struct page, or the point where that run's frames cross
    into another memory block."""
    cdef i64 b = (h // G.bp + 1) * G.bp, v = vpage(G, h), vb, f
    cdef const Runs* r
    cdef Py_ssize_t i
    cdef int t
    for t in range(2):
        r = vm if t == 0 else ov
        i = run_upper(r, v) - 1
        if i >= 0 and v < r.ve[i]:
            f = r.b[i] + v - r.vs[i]
            vb = r.ve[i]
            if v + (f // G.bp + 1) * G.bp - f < vb:
                vb = v + (f // G.bp + 1) * G.bp - f
        elif i + 1 < r.n:
            vb = r.vs[i + 1]
        else:
            continue
        vb = ceil_div(vb << G.shift, G.S) + G.off
        if vb < b:
            b = vb
    vb = ceil_div(b - h, G.nr)
    return h + (vb if vb > 1 else 1) * G.nr


cdef struct Seg:
    # k pages at head, head + 2**order, ... that share one HVO verdict (detail steps per page)
    i64 head, k, state, reason, detail, detail_step


def prep_and_add_allocated_folios(m, list runs, int order, int node):
    """hugetlb.prep_and_add_allocated_folios: record the pages of the runs, then HVO on them.

    Each run is cut into segments that share one verdict (next_boundary). A segment HVO leaves
    alone is added to the pool whole (RowBuf.add: the rows HugePool.add() of each of its pages
    would leave, usually one); consecutive segments HVO optimises make a piece, optimised page by
    page in C (_optimize_piece)."""
    hp = m.hugetlb
    cdef Geometry G
    G.S, G.shift, G.off, G.bp = m.struct_page_size, m.arch.page_shift, m.pfn_offset, m.block_pages
    G.nr = <i64>1 << order
    G.step_frames = G.nr * G.S // m.arch.page_size
    cdef i64 h0, h, hend, k, frame, rr, nseg = 0, optimised = 0
    cdef i64 state, reason, detail, step
    cdef list keep = []
    cdef Runs vm = runs_of(m.vmemmap, keep), ov = runs_of(m.overlay, keep)
    ends = [array("q", [r.start for r in runs]), array("q", [r.stop - r.step + G.nr for r in runs])]
    merge_ranges(m.hp_map, ends[0], ends[1], array("q", [1]) * len(runs))   # Machine.mark_hugepage
    cdef Seg* segs = NULL
    cdef Seg* grown
    cdef Py_ssize_t ns = 0, cap = 0, j, j1
    rv = hvo.run_verdict(m, order)
    merged = m.params.selfhosted_check == "merged"
    # the section_flag policy names the page's first flagged section: cut at every section too
    cdef int sec_shift = m.arch.pfn_section_shift if m.params.selfhosted_check == "section_flag" else 0
    cdef ccol ro_s = m.roles.starts, ro_e = m.roles.ends, ro_v = m.roles.vals
    blocks = m.blocks
    cdef RowBuf buf = RowBuf(hp)
    cdef Pending pend
    try:
        for heads in runs:
            h0 = heads.start
            hend = h0 + len(heads) * G.nr
            h = h0
            while h < hend:
                nseg += 1
                if nseg % CHECK_EVERY == 0:
                    m.budget.check()
                if rv is not None:
                    k = (hend - h) // G.nr
                    state, reason, detail = rv
                else:
                    k = (min(next_boundary(&G, &vm, &ov, h), hend) - h) // G.nr
                    if sec_shift and (((h >> sec_shift) + 1) << sec_shift) - h < k * G.nr:
                        k = max(1, ((((h >> sec_shift) + 1) << sec_shift) - h) // G.nr)
                    if merged:            # hvo.page_verdict() for the default policy (PageVmemmapSelfHosted), in C
                        frame = backing(&ov, &vm, vpage(&G, h))
                        rr = find(ro_s, ro_e, frame) if frame >= 0 else -1
                        b = blocks.get(frame // G.bp) if rr >= 0 and ro_v[rr] == MEMMAP_SELF else None
                        if b is not None and b.state == "online":
                            state, reason, detail = REFUSED, SELFHOSTED, frame
                        else:
                            state, reason, detail = OPTIMIZED, R_OPTIMIZED, 0
                    else:
                        state, reason, detail = hvo.page_verdict(m, h, order)
                step = G.step_frames if rv is None and (reason == SELFHOSTED or reason == HAZARD) else 0
                if ns == cap:
                    cap = 2 * cap + 16
                    grown = <Seg*> realloc(segs, cap * sizeof(Seg))
                    if grown == NULL:
                        raise MemoryError()
                    segs = grown
                segs[ns].head, segs[ns].k, segs[ns].state = h, k, state
                segs[ns].reason, segs[ns].detail, segs[ns].detail_step = reason, detail, step
                ns += 1
                h += k * G.nr
        del ro_s, ro_e, ro_v
        m.budget.tick()
        pend = Pending()
        j = 0
        while j < ns:
            if segs[j].state != OPTIMIZED:
                buf.add(segs[j].head, segs[j].k, order, node, segs[j].state, segs[j].reason, segs[j].detail,
                        segs[j].detail_step, -1, 0, -1, 0, 0, 0, 0)
                j += 1
                continue
            j1 = j + 1                 # consecutive optimised segments make one piece
            while j1 < ns and segs[j1].state == OPTIMIZED:
                j1 += 1
            optimised += _optimize_piece(m, segs + j, j1 - j, order, node, pend, buf)
            j = j1
        buf.flush()
        pend.flush(m)
    finally:
        free(segs)
    return optimised


cdef struct PoolRow:
    # a HugePool row, its fields in POOL_COLUMNS order
    i64 head, count, order, node, state, reason, detail, detail_step, v0, v0_step, tail, tail_step
    i64 nkeep, freed, splits


cdef enum:
    NCOLS = 15           # len(POOL_COLUMNS)


cdef inline bint continues(const PoolRow* r, const PoolRow* p) noexcept nogil:
    """HugePool._continues: page p extends row r."""
    if r.count == 0 or p.head != r.head + (r.count << r.order):
        return False
    if (p.order != r.order or p.node != r.node or p.state != r.state or p.reason != r.reason
            or p.nkeep != r.nkeep or p.freed != r.freed or p.splits != r.splits):
        return False
    return r.count == 1 or (p.detail == r.detail + r.count * r.detail_step and p.v0 == r.v0 + r.count * r.v0_step
                            and p.tail == r.tail + r.count * r.tail_step)


cdef class RowBuf:
    """New pool rows gathered in C and written to the HugePool's columns in one go (flush). add() of
    a run of k pages (each field x + c * x_step for page c) leaves the rows that HugePool.add() of
    each page in turn would: the run extends the pool's last row as far as it continues it, and the
    rest makes one row."""
    cdef PoolRow* rows
    cdef Py_ssize_t n, cap, r0     # rows[0] is the pool's row r0 when loaded
    cdef bint loaded
    cdef i64 pages
    cdef object hp

    def __cinit__(self, hp):
        self.hp = hp
        self.rows = NULL
        self.n = self.cap = 0
        self.loaded = False
        self.pages = 0

    def __dealloc__(self):
        free(self.rows)

    cdef PoolRow* _push(self) except NULL:
        cdef PoolRow* grown
        if self.n == self.cap:
            self.cap = 2 * self.cap + 64
            grown = <PoolRow*> realloc(self.rows, self.cap * sizeof(PoolRow))
            if grown == NULL:
                raise MemoryError()
            self.rows = grown
        self.n += 1
        return &self.rows[self.n - 1]

    cdef int _load(self) except -1:
        """The pool's last row, the one a new page may extend."""
        cdef Py_ssize_t c, r = len(self.hp.head) - 1
        cdef i64* dst
        if r < 0:
            return 0
        dst = <i64*> self._push()
        for c, name in enumerate(POOL_COLUMNS):
            dst[c] = (<carray.array> getattr(self.hp, name)).data.as_longlongs[r]
        self.r0, self.loaded = r, True
        return 0

    cdef int add(self, i64 head, i64 k, i64 order, i64 node, i64 state, i64 reason, i64 detail,
                 i64 detail_step, i64 v0, i64 v0_step, i64 tail, i64 tail_step, i64 nkeep, i64 freed,
                 i64 splits) except -1:
        cdef PoolRow p
        cdef PoolRow* r
        p.head, p.count, p.order, p.node, p.state, p.reason = head, k, order, node, state, reason
        p.detail, p.detail_step, p.v0, p.v0_step = detail, detail_step, v0, v0_step
        p.tail, p.tail_step = tail, tail_step
        p.nkeep, p.freed, p.splits = nkeep, freed, splits
        if self.n == 0 and not self.loaded:
            self._load()
        self.pages += k
        while k > 0:
            r = &self.rows[self.n - 1] if self.n else NULL
            if r != NULL and continues(r, &p):
                if r.count == 1:             # a row of one page takes its steps from the second
                    r.detail_step, r.v0_step, r.tail_step = p.detail - r.detail, p.v0 - r.v0, p.tail - r.tail
                r.count += 1
                k -= 1
                if k and r.detail_step == p.detail_step and r.v0_step == p.v0_step and r.tail_step == p.tail_step:
                    r.count += k
                    k = 0
                p.head += <i64>1 << order    # the next page (it cannot continue r: it starts a row)
                p.detail += p.detail_step
                p.v0 += p.v0_step
                p.tail += p.tail_step
                continue
            p.count = k
            if k == 1:
                p.detail_step = p.v0_step = p.tail_step = 0
            self._push()[0] = p
            k = 0
        return 0

    cdef int flush(self) except -1:
        """Write the rows to the pool: rows[0] back to row r0 if loaded, the others appended."""
        cdef Py_ssize_t c, i, n0 = len(self.hp.head), first = 1 if self.loaded else 0
        cdef i64* col
        cdef i64* src = <i64*> self.rows
        for c, name in enumerate(POOL_COLUMNS):
            a = getattr(self.hp, name)
            if self.n > first:
                carray.resize_smart(a, n0 + self.n - first)
            col = (<carray.array> a).data.as_longlongs
            if self.loaded:
                col[self.r0] = src[c]
            for i in range(first, self.n):
                col[n0 + i - first] = src[i * NCOLS + c]
        self.hp.nr_alive += self.pages
        self.n, self.loaded, self.pages = 0, False, 0
        return 0


def add_runs(hp, runs):
    """HugePool.add() of every page of each run, through RowBuf: a run is (head, count, order, node,
    state, reason, detail, detail_step, v0, v0_step, tail, tail_step, nkeep, freed, splits), page c
    of it having head + c * 2**order and each stepped field x + c * x_step (the property tests hold
    this equal to HugePool.add() page by page)."""
    cdef RowBuf buf = RowBuf(hp)
    for r in runs:
        buf.add(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14])
    buf.flush()


cdef class Pending:
    """What optimised pieces leave for the tables: merged in one pass at the end (or before the
    page-by-page path runs, which writes to the same tables)."""
    cdef tuple roles, freed
    cdef list hazards
    cdef i64 boot_freed
    cdef i64 work            # vmemmap pages handled since the last look at the time budget

    def __cinit__(self):
        self.reset()

    cdef reset(self):
        self.roles = (array("q"), array("q"), array("q"))
        self.freed = (array("q"), array("q"), array("q"))
        self.hazards = []
        self.boot_freed = 0

    cdef flush(self, m):
        merge_ranges(m.roles, *self.roles)
        merge_ranges(m.hvo_freed, *self.freed)
        m.boot_memmap_freed += self.boot_freed
        for f, x, h in self.hazards:
            hvo.note_hazard(m, f, x, h)
        self.reset()


cdef inline i64 backing_span(const Runs* ov, const Runs* vm, i64 v, i64 vend, i64* count) noexcept nogil:
    """backing(v), and in count how many vmemmap pages from v (below vend) follow it in the same
    run, so their frames follow too."""
    cdef Py_ssize_t i = run_find(ov, v), lo
    cdef i64 end = vend
    if i >= 0:
        if ov.ve[i] < end:
            end = ov.ve[i]
        count[0] = end - v
        return ov.b[i] + v - ov.vs[i]
    lo = run_upper(ov, v)          # not in the overlay: up to the next overlay run at most
    if lo < ov.n and ov.vs[lo] < end:
        end = ov.vs[lo]
    i = run_find(vm, v)
    if i < 0:
        count[0] = 1
        return -1
    if vm.ve[i] < end:
        end = vm.ve[i]
    count[0] = end - v
    return vm.b[i] + v - vm.vs[i]


cdef i64 _optimize_piece(m, const Seg* segs, Py_ssize_t nseg, int order, int node, Pending pend,
                         RowBuf buf) except -1:
    """hvo.hugetlb_vmemmap_optimize_folio() for the pages of segments recorded as optimised, in
    order, in one loop, each page then added to the pool through buf; returns how many stay
    optimised."""
    hp = m.hugetlb
    k_ = m.kernel
    cdef i64 S = m.struct_page_size, shift = m.arch.page_shift, off = m.pfn_offset
    cdef i64 g = m.arch.ptrs_per_pte, nkeep = k_.hvo_reserve_pages, nr = <i64>1 << order
    cdef i64 n = (S << order) >> shift
    cdef bint head_copy = k_.hvo_head_copy
    cdef dict split = m.split_pmds
    cdef list keep = []
    cdef Runs vm = runs_of(m.vmemmap, keep), ov = runs_of(m.overlay, keep)
    cdef i64 j, vh, pmd, last = -1, need = 0, c = 0, pfn, nrun, q, head, a, b, span = 0, seg
    cdef i64 ns, copy, f, run_f, run_n, nfreed, v0, tail, total = 0, optimised
    cdef Py_ssize_t s
    cdef i64* F
    cdef ccol ro_s, ro_e, ro_v
    # 1. how many order-0 frames the pieces' PMD splits and head copies take (a piece can span
    # runs, so its pages' PMDs need not ascend: remember every PMD counted)
    counted = set()
    for s in range(nseg):
        total += segs[s].k
        for j in range(segs[s].k):
            vh = ((segs[s].head + j * nr - off) * S) >> shift
            for pmd in range(vh // g, (vh + n - 1) // g + 1):
                if pmd != last and pmd_leaf(&vm, pmd * g) and pmd not in split and pmd not in counted:
                    need += 1
                    counted.add(pmd)
                    last = pmd
            need += head_copy
    # one allocation per page would take the lowest free frames of this node in zonelist order:
    # so does one allocation of them all. If the node runs short, some page would fall back to
    # another node or fail (-ENOMEM): leave that to the page-by-page path.
    taken = m.buddy.alloc_pages(node, need, GFP_KERNEL_ZONES, True) if need else []
    if taken is None:
        buf.flush()
        pend.flush(m)
        optimised = 0
        for s in range(nseg):
            for j in range(segs[s].k):
                p = HugePage(segs[s].head + j * nr, order, node)
                optimised += hvo.hugetlb_vmemmap_optimize_folio(m, p)
                hp.add(p)
        return optimised
    F = <i64*> malloc((need + 1) * sizeof(i64))
    if F == NULL:
        raise MemoryError()
    for pfn, nrun in taken:
        for q in range(nrun):
            F[c] = pfn + q
            c += 1
    ro_s, ro_e, ro_v = m.roles.starts, m.roles.ends, m.roles.vals
    try:
        c = 0
        last = -1
        for s in range(nseg):
            for j in range(segs[s].k):
                pend.work += n
                if pend.work >= WORK_BETWEEN_CHECKS:
                    pend.work = 0
                    m.budget.check()
                head = segs[s].head + j * nr
                vh = ((head - off) * S) >> shift
                ns = 0
                for pmd in range(vh // g, (vh + n - 1) // g + 1):
                    if pmd != last and pmd_leaf(&vm, pmd * g) and pmd not in split:
                        split[pmd] = F[c]
                        _push(pend.roles, F[c], F[c] + 1, PAGE_TABLE)
                        c += 1
                        ns += 1
                        last = pmd
                copy = -1
                if head_copy:
                    copy = F[c]
                    c += 1
                    _push(pend.roles, copy, copy + 1, HVO_HEAD)
                    v0 = tail = copy
                else:
                    v0 = backing(&ov, &vm, vh)
                    tail = backing(&ov, &vm, vh + nkeep - 1)
                # hvo.freed_runs(): the original frames of vmemmap pages 0 (if copied) and nkeep..n-1,
                # a run of the vmemmap at a time
                nfreed = 0
                run_f = -1
                run_n = 0
                for seg in range(2):
                    # the indexes freed: [0, n) when the head was copied (nkeep 1), else [nkeep, n)
                    # (copied with nkeep 2 never happens: the copy came in 6.2, nkeep 1 in 5.18)
                    a = b = 0
                    if seg == 0 and copy >= 0:
                        b = 1 if nkeep > 1 else n
                    elif seg == 1:
                        a = n if copy >= 0 and nkeep == 1 else nkeep
                        b = n
                    while a < b:
                        f = backing_span(&ov, &vm, vh + a, vh + b, &span)
                        if run_n and run_f + run_n == f:
                            run_n += span
                        else:
                            if run_n:
                                pend.boot_freed += _freed_run(pend.freed, pend.hazards, ro_s, ro_e, ro_v,
                                                              run_f, run_n, head)
                                nfreed += run_n
                            run_f, run_n = f, span
                        a += span
                if run_n:
                    pend.boot_freed += _freed_run(pend.freed, pend.hazards, ro_s, ro_e, ro_v, run_f, run_n, head)
                    nfreed += run_n
                buf.add(head, 1, order, node, OPTIMIZED, segs[s].reason, segs[s].detail + j * segs[s].detail_step,
                        0, v0, 0, tail, 0, nkeep, nfreed - (1 if copy >= 0 else 0), ns)
    finally:
        free(F)
    return total


cdef inline void _append(carray.array a, i64 x) except *:
    """a.append(x) without a Python method call (resize_smart over-allocates, as append does)."""
    cdef Py_ssize_t n = len(a)
    carray.resize_smart(a, n + 1)
    a.data.as_longlongs[n] = x


cdef inline void _push(tuple cols, i64 s, i64 e, i64 v) except *:
    _append(<carray.array> cols[0], s)
    _append(<carray.array> cols[1], e)
    _append(<carray.array> cols[2], v)


cdef i64 _freed_run(tuple cols, list hazards, ccol ro_s, ccol ro_e, ccol ro_v, i64 f, i64 k,
                    i64 head) except -1:
    """Mark one run of freed frames; returns how many were boot memmap (managed pages grow)."""
    cdef Py_ssize_t ri = find(ro_s, ro_e, f)
    cdef i64 role = ro_v[ri] if ri >= 0 else -1
    _push(cols, f, f + k, HVO_FREED_SELF if role == MEMMAP_SELF else HVO_FREED)
    if role == MEMMAP_SELF:
        hazards.append((f, k, head))
    return k if role == MEMMAP_BOOT else 0


def merge_ranges(rm, ns, ne, nv):
    """rm.assign(s, e, v) for each new range, in one pass: the new ranges must not overlap rm's or
    each other (else each is assigned in turn). Adjacent ranges of one value merge, as assign does."""
    cdef Py_ssize_t n_new = len(ns), na = len(rm.starts), no
    if n_new == 0:
        return
    if not _is_sorted(ns):
        order = sorted(range(n_new), key=ns.__getitem__)
        ns = array("q", [ns[i] for i in order])
        ne = array("q", [ne[i] for i in order])
        nv = array("q", [nv[i] for i in order])
    out = [carray.clone(Q, (na + n_new), False) for _ in range(3)]
    no = _merge(rm.starts, rm.ends, rm.vals, ns, ne, nv, out[0], out[1], out[2])
    if no < 0:
        for s, e, v in zip(ns, ne, nv):
            rm.assign(s, e, v)
        return
    rm.starts, rm.ends, rm.vals = out[0][:no], out[1][:no], out[2][:no]


cdef bint _is_sorted(ccol a) noexcept:
    cdef Py_ssize_t i
    for i in range(1, a.shape[0]):
        if a[i] < a[i - 1]:
            return False
    return True


cdef Py_ssize_t _merge(ccol a_s, ccol a_e, ccol a_v, ccol b_s, ccol b_e, ccol b_v,
                       mcol o_s, mcol o_e, mcol o_v) noexcept:
    """Merge two sorted range lists into o_*, coalescing; the count, or -1 if two ranges overlap."""
    cdef Py_ssize_t na = a_s.shape[0], nb = b_s.shape[0], ia = 0, ib = 0, no = 0
    cdef i64 s, e, v
    while ia < na or ib < nb:
        if ib >= nb or (ia < na and a_s[ia] < b_s[ib]):
            s, e, v = a_s[ia], a_e[ia], a_v[ia]
            ia += 1
        else:
            s, e, v = b_s[ib], b_e[ib], b_v[ib]
            ib += 1
        if no and s < o_e[no - 1]:
            return -1
        if no and s == o_e[no - 1] and v == o_v[no - 1]:
            o_e[no - 1] = e
        else:
            o_s[no] = s
            o_e[no] = e
            o_v[no] = v
            no += 1
    return no


# ---------------------------------------------------------------------------- memory blocks
def vmemmap_populate_altmaps(m, bases, i64 npages):
    """memmap.vmemmap_populate_altmaps: vmemmap_populate_altmap() at each base pfn; the new
    vmemmap runs and memmap_self frames merged into the tables in one pass each."""
    cdef i64 S = m.struct_page_size, shift = m.arch.page_shift, off = m.pfn_offset
    cdef i64 used = npages * S // m.arch.page_size, mapping = PMD if m.arch.vmemmap_pmd else PTE
    cdef i64 start = bases.start, step = bases.step, n = len(bases), j, base, v0
    cols = [carray.clone(Q, n, False) for _ in range(5)]
    cdef mcol vs = cols[0], ve = cols[1], bk = cols[2], kind = cols[3], mp = cols[4]
    for j in range(n):
        base = start + j * step
        v0 = ((base - off) * S) >> shift
        vs[j], ve[j], bk[j], kind[j], mp[j] = v0, v0 + used, base, MEMMAP_SELF, mapping
    ends = array("q", bases)
    for j in range(n):
        ends[j] = ends[j] + used
    m.budget.check()
    merge_runs(m.vmemmap, *cols)
    merge_ranges(m.roles, array("q", bases), ends, cols[3])


def merge_runs(runs, ns, ne, nb, nk, nm):
    """VmemmapRuns.add() for each new run (sorted, unmapped), in one pass: like add, a new run
    merges into a contiguous predecessor and never into a successor."""
    cdef Py_ssize_t n = len(runs), k = len(ns)
    out = [carray.clone(Q, (n + k), False) for _ in range(5)]
    cdef Py_ssize_t no = _merge_runs(runs.vstart, runs.vend, runs.backing, runs.kind, runs.mapping,
                                     ns, ne, nb, nk, nm, out[0], out[1], out[2], out[3], out[4])
    if no < 0:
        for row in zip(ns, ne, nb, nk, nm):
            runs.add(*row)
        return
    runs.vstart, runs.vend, runs.backing, runs.kind, runs.mapping = (c[:no] for c in out)


cdef Py_ssize_t _merge_runs(ccol a0, ccol a1, ccol a2, ccol a3, ccol a4, ccol b0, ccol b1, ccol b2,
                            ccol b3, ccol b4, mcol o0, mcol o1, mcol o2, mcol o3, mcol o4) noexcept:
    cdef Py_ssize_t na = a0.shape[0], nb = b0.shape[0], ia = 0, ib = 0, no = 0
    cdef bint new
    cdef i64 s, e, bk, kd, mp
    while ia < na or ib < nb:
        new = ia >= na or (ib < nb and b0[ib] < a0[ia])
        if new:
            s, e, bk, kd, mp = b0[ib], b1[ib], b2[ib], b3[ib], b4[ib]
            if ib and b0[ib] < b0[ib - 1]:
                return -1                      # not sorted
            ib += 1
        else:
            s, e, bk, kd, mp = a0[ia], a1[ia], a2[ia], a3[ia], a4[ia]
            ia += 1
        if no and s < o1[no - 1]:
            return -1                          # overlaps: the per-run path says what happens
        if (new and no and o1[no - 1] == s and o3[no - 1] == kd and o4[no - 1] == mp
                and o2[no - 1] + (s - o0[no - 1]) == bk):
            o1[no - 1] = e
            continue
        o0[no], o1[no], o2[no], o3[no], o4[no] = s, e, bk, kd, mp
        no += 1
    return no


@cython.no_gc          # holds no cycles (ints, strings, lists of tuples): tens of thousands of
cdef class Block:      # blocks per machine stay out of every garbage-collection pass
    """mm_types.Block with its attributes in a C struct: same names, same defaults, same methods.
    The core's replay makes and walks tens of thousands of these per request."""
    cdef public i64 id, start, nr_pages, node, altmap_base, nr_vmemmap, nr_vmemmap_used
    cdef public bint boot, mmo_used, section_flag
    cdef public object state, zone, memmap_where, mmo_reason, group
    # present None: the whole block (every hot-added block); hazards None: none yet. Neither
    # costs a list per block until someone asks (the lists are what the garbage collector walks)
    cdef object _present, _hazards

    def __init__(self, id, start, nr_pages, node, boot, present, state="offline", zone=None,
                 memmap_where="memblock", mmo_used=False, mmo_reason="", altmap_base=-1, nr_vmemmap=0,
                 nr_vmemmap_used=0, group=(0, 0), section_flag=False, hazards=None):
        self.id, self.start, self.nr_pages, self.node, self.boot = id, start, nr_pages, node, boot
        self.present, self.state, self.zone, self.memmap_where = present, state, zone, memmap_where
        self.mmo_used, self.mmo_reason, self.altmap_base = mmo_used, mmo_reason, altmap_base
        self.nr_vmemmap, self.nr_vmemmap_used, self.group = nr_vmemmap, nr_vmemmap_used, group
        self.section_flag = section_flag
        self._hazards = hazards

    @property
    def present(self):
        return [(self.start, self.start + self.nr_pages)] if self._present is None else self._present

    @present.setter
    def present(self, value):
        self._present = value

    @property
    def hazards(self):
        if self._hazards is None:
            self._hazards = []
        return self._hazards

    @hazards.setter
    def hazards(self, value):
        self._hazards = value

    @property
    def end(self):
        return self.start + self.nr_pages

    def present_pages(self):
        return sum([e - s for s, e in self.present])

    def __repr__(self):
        return f"Block(id={self.id}, start={self.start:#x}, state={self.state!r}, zone={self.zone!r})"


def create_memory_block_devices(m, bases, dict first, dict rest):
    """memory.create_memory_block_devices: the C Blocks, copied from one template."""
    cdef i64 start = bases.start, step = bases.step, bs
    cdef Py_ssize_t n = len(bases), j
    cdef Block b, proto = Block(id=0, start=0, present=[], **{**rest, "altmap_base": -1})
    cdef bint own_base = rest["altmap_base"] is None
    if not own_base:
        proto.altmap_base = rest["altmap_base"]
    out = [Block(id=start // step, start=start, present=[(start, start + step)],
                 **{**first, "altmap_base": start if first["altmap_base"] is None else first["altmap_base"]})]
    for j in range(1, n):
        if j % CHECK_EVERY == 0:
            m.budget.check()
        bs = start + j * step
        b = Block.__new__(Block)
        b.id, b.start, b.nr_pages, b.node, b.boot = bs // step, bs, proto.nr_pages, proto.node, proto.boot
        b._present, b.state, b.zone, b.memmap_where = None, proto.state, proto.zone, proto.memmap_where
        b.mmo_used, b.mmo_reason = proto.mmo_used, proto.mmo_reason
        b.altmap_base = bs if own_base else proto.altmap_base
        b.nr_vmemmap, b.nr_vmemmap_used, b.group = proto.nr_vmemmap, proto.nr_vmemmap_used, proto.group
        b.section_flag, b._hazards = proto.section_flag, None
        out.append(b)
    return out


def online_memory_blocks(m, list blocks, str zone):
    """memory.online_memory_blocks: memory.online_pages() for each block. Hot-added blocks give
    their free frames to one free list per (node, zone), merged in one pass; boot blocks (zones by
    address) go one by one. Returns the (present, managed) pages they bring."""
    zname = "Movable" if zone == "movable" else "Normal"
    per_key = {}
    cdef ccol ro_s = m.roles.starts, ro_e = m.roles.ends
    cdef Py_ssize_t count = 0, k0
    cdef i64 s, e, present = 0, managed = 0, skip, node, last_node = -1
    cdef Block b
    cdef object fs = None, fe = None
    for b in blocks:
        count += 1
        if count % CHECK_EVERY == 0:
            m.budget.check()
        managed -= b.nr_vmemmap
        if b.boot:
            for s, e in b.present:
                present += e - s
            online_pages(m, b, zone)
            continue
        b.state = "online"
        b.zone = zname
        node = b.node
        if node != last_node:
            cols = per_key.get(node)
            if cols is None:
                cols = per_key[node] = (array("q"), array("q"), [False])
            fs, fe = cols[0], cols[1]
            last_node = node
        k0 = len(fs)
        skip = b.start + b.nr_vmemmap
        if b._present is None:
            present += b.nr_pages
            _free_range(fs, fe, ro_s, ro_e, max(b.start, skip), b.start + b.nr_pages)
        else:
            for s, e in b._present:
                present += e - s
                _free_range(fs, fe, ro_s, ro_e, max(s, skip), e)
        if len(fs) > k0 and not per_key[node][2][0]:
            m.buddy.freelist(node, zname)      # created when first used, as the per-block path does
            per_key[node][2][0] = True
    for node, (fs, fe, _) in per_key.items():
        merge_free(m.buddy.freelist(node, zname), fs, fe)
    return present, present + managed


cdef void _free_range(carray.array fs, carray.array fe, ccol ro_s, ccol ro_e, i64 s, i64 e) except *:
    """Append the pieces of [s, e) that hold no frame in use (a role) to fs/fe."""
    cdef Py_ssize_t ri, nr = ro_s.shape[0]
    cdef i64 cur = s
    if s >= e:
        return
    ri = find_after(ro_s, ro_e, s)
    while ri < nr and ro_s[ri] < e:
        if ro_s[ri] > cur:
            _append(fs, cur)
            _append(fe, ro_s[ri])
        cur = max(cur, ro_e[ri])
        ri += 1
    if cur < e:
        _append(fs, cur)
        _append(fe, e)


def present_columns(m):
    """tables.present_columns, from the C blocks' fields."""
    blocks = m.sorted_blocks()
    cdef Py_ssize_t cap = 3 * sum([1 if (<Block> b)._present is None else len((<Block> b)._present)
                                   for b in blocks]), no = 0, c
    cols = tuple(carray.clone(Q, cap, False) for _ in range(6))
    cdef i64* O[6]
    for c in range(6):
        O[c] = (<carray.array> cols[c]).data.as_longlongs
    cdef i64 s, e, zone
    cdef bint online
    cdef Block b
    for b in blocks:
        online = b.state == "online"
        zone = ZONE_CODE.get(b.zone, 0)
        if b._present is None:          # a whole hot-added block: one piece, one zone
            O[0][no], O[1][no], O[2][no], O[3][no] = b.start, b.start + b.nr_pages, b.node, zone if online else 0
            O[4][no], O[5][no] = BLOCK_ONLINE if online else BLOCK_OFFLINE, b.id
            no += 1
            continue
        for s, e in b._present:
            if not online or not b.boot or zone == ZONE_MOVABLE:
                O[0][no], O[1][no], O[2][no], O[3][no] = s, e, b.node, zone if online else 0
                O[4][no], O[5][no] = BLOCK_ONLINE if online else BLOCK_OFFLINE, b.id
                no += 1
            else:
                for p, q, zn in m._zone_pieces(b, s, e):
                    O[0][no], O[1][no], O[2][no], O[3][no] = p, q, b.node, ZONE_CODE.get(zn, 0)
                    O[4][no], O[5][no] = BLOCK_ONLINE, b.id
                    no += 1
    for c in range(6):
        carray.resize(cols[c], no)
    return cols


cdef inline Py_ssize_t find_after(ccol starts, ccol ends, i64 x) noexcept:
    """Index of the first range that ends after x."""
    cdef Py_ssize_t i = find(starts, ends, x)
    if i >= 0:
        return i
    return bisect_right(&starts[0], 0, starts.shape[0], x) if starts.shape[0] else 0


def merge_free(fl, fs, fe):
    """FreeList.free() for each new range (sorted, none free yet), in one pass."""
    cdef Py_ssize_t n = len(fl.starts), k = len(fs)
    if k == 0:
        return
    out = [carray.clone(Q, (n + k), False) for _ in range(2)]
    cdef Py_ssize_t no = _merge_free(fl.starts, fl.ends, fs, fe, out[0], out[1])
    if no < 0:
        for s, e in zip(fs, fe):
            fl.free(s, e)
        return
    fl.starts, fl.ends = out[0][:no], out[1][:no]


cdef Py_ssize_t _merge_free(ccol a0, ccol a1, ccol b0, ccol b1, mcol o0, mcol o1) noexcept:
    cdef Py_ssize_t na = a0.shape[0], nb = b0.shape[0], ia = 0, ib = 0, no = 0
    cdef i64 s, e
    while ia < na or ib < nb:
        if ia >= na or (ib < nb and b0[ib] < a0[ia]):
            if ib and b0[ib] < b1[ib - 1]:
                return -1
            s, e = b0[ib], b1[ib]
            ib += 1
        else:
            s, e = a0[ia], a1[ia]
            ia += 1
        if no and s < o1[no - 1]:
            return -1
        if no and s == o1[no - 1]:
            o1[no - 1] = e
        else:
            o0[no], o1[no] = s, e
            no += 1
    return no
