# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The replay's hot loops in Cython: huge-page allocation and HVO over many pages.

Same results as _twin_replay.py, which does everything one page at a time. Here a run of new pages
is cut into pieces that share one HVO verdict (HugePages.segments); a piece HVO refuses is recorded
with a few column extends, and a piece it optimises is done in one C loop: the page-table and
head-copy frames the pages need are taken from the allocator in one go (the same frames, in the
same order, as one allocation per page), and the new frame roles are merged in one pass.
"""
from array import array

from libc.stdlib cimport free, malloc

from engine import hvo
from engine.buddy import GFP_KERNEL_ZONES
from engine.roles import ROLE_CODE

ctypedef long long i64
ctypedef const long long[::1] ccol
ctypedef long long[::1] mcol

cdef i64 PMD = 1
cdef i64 OPTIMIZED = hvo.OPTIMIZED
cdef i64 MEMMAP_SELF = ROLE_CODE["memmap_self"]
cdef i64 MEMMAP_BOOT = ROLE_CODE["memmap_boot"]
cdef i64 HVO_FREED = ROLE_CODE["hvo_freed"]
cdef i64 HVO_FREED_SELF = ROLE_CODE["hvo_freed_selfhosted"]
cdef i64 PAGE_TABLE = ROLE_CODE["page_table"]
cdef i64 HVO_HEAD = ROLE_CODE["vmemmap_hvo_head"]
cdef int CHECK_EVERY = 4096          # pages between looks at the time budget


cdef inline Py_ssize_t find(ccol starts, ccol ends, i64 x) noexcept nogil:
    """Index of the range holding x, or -1."""
    cdef Py_ssize_t lo = 0, hi = starts.shape[0], mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if starts[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
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


cdef inline Py_ssize_t run_find(const Runs* r, i64 v) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = r.n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if r.vs[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
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


def alloc_hugepages(hp, int node, int order, i64 count):
    """Up to count new pages on node (lowest free aligned runs, zone by zone); (allocated, optimised)."""
    m, nr = hp.m, <i64>1 << order
    runs = []
    cdef i64 got = 0
    for zone in hp.zones_for(order):
        fl = m.buddy.lists.get((node, zone))
        if fl is None or count - got <= 0:
            continue
        for run in fl.alloc_many(nr, nr, count - got):
            runs.append(run)
            got += len(run)
    return got, sum([add_hugepage_run(hp, run, order, node) for run in runs])


def add_hugepage_run(hp, heads, int order, int node):
    """Record pages already taken from the allocator; returns how many HVO optimised."""
    m, nr = hp.m, <i64>1 << order
    m.mark_hugepage(heads.start, heads.stop - heads.step + nr)
    cdef i64 optimised = 0
    for seg, state, reason, detail in hp.segments(heads, order):
        m.budget.tick()
        if state == OPTIMIZED:
            optimised += _optimize_piece(hp, seg, order, node, reason, detail)
        else:
            hp._extend(seg, order, node, state, reason, detail)
    return optimised


cdef i64 _optimize_piece(hp, seg, int order, int node, int reason, detail) except -1:
    """hvo.optimize() for every page of seg, in order, in one loop."""
    m = hp.m
    k_ = m.kernel
    cdef i64 k = len(seg), nr = <i64>1 << order, h0 = seg.start
    cdef i64 S = m.struct_page_size, shift = m.arch.page_shift, off = m.pfn_offset
    cdef i64 g = m.arch.ptrs_per_pte, nkeep = k_.hvo_reserve_pages
    cdef i64 n = (S << order) >> shift
    cdef bint head_copy = k_.hvo_head_copy
    cdef dict split = m.split_pmds
    cdef list keep = []
    cdef Runs vm = runs_of(m.vmemmap, keep), ov = runs_of(m.overlay, keep)
    cdef i64 j, vh, pmd, last = -1, need = 0, c = 0, pfn, nrun, q
    cdef i64 i, ns, copy, f, run_f, run_n, nfreed, boot_freed = 0, x, idx
    cdef i64* F
    cdef mcol v0, tail, kept, freed, splits
    cdef ccol ro_s, ro_e, ro_v
    # 1. how many order-0 frames the pieces' PMD splits and head copies take
    for j in range(k):
        vh = ((h0 + j * nr - off) * S) >> shift
        for pmd in range(vh // g, (vh + n - 1) // g + 1):
            if pmd != last and pmd_leaf(&vm, pmd * g) and pmd not in split:
                need += 1
                last = pmd
        need += head_copy
    # one allocation per page would take the lowest free frames of this node in zonelist order:
    # so does one allocation of them all. If the node runs short, some page would fall back to
    # another node or fail (-ENOMEM): leave that to the page-by-page path.
    taken = m.buddy.alloc_pages(node, need, GFP_KERNEL_ZONES, True) if need else []
    if taken is None:
        for head in seg:
            i = hp._append(head, order, node)
            hp._prepare(i)
        return sum([1 for i in range(len(hp.head) - k, len(hp.head)) if hp.state[i] == OPTIMIZED])
    F = <i64*> malloc((need + 1) * sizeof(i64))
    if F == NULL:
        raise MemoryError()
    for pfn, nrun in taken:
        for q in range(nrun):
            F[c] = pfn + q
            c += 1
    i0 = len(hp.head)
    hp._extend(seg, order, node, OPTIMIZED, reason, detail)
    v0, tail, kept, freed, splits = hp.v0, hp.tail, hp.nkeep, hp.freed, hp.splits
    ro_s, ro_e, ro_v = m.roles.starts, m.roles.ends, m.roles.vals
    new_roles = (array("q"), array("q"), array("q"))
    new_freed = (array("q"), array("q"), array("q"))
    hazards = []
    try:
        c = 0
        last = -1
        for j in range(k):
            if j and j % CHECK_EVERY == 0:
                m.budget.check()
            i = i0 + j
            vh = ((h0 + j * nr - off) * S) >> shift
            ns = 0
            for pmd in range(vh // g, (vh + n - 1) // g + 1):
                if pmd != last and pmd_leaf(&vm, pmd * g) and pmd not in split:
                    split[pmd] = F[c]
                    _push(new_roles, F[c], F[c] + 1, PAGE_TABLE)
                    c += 1
                    ns += 1
                    last = pmd
            splits[i] = ns
            copy = -1
            if head_copy:
                copy = F[c]
                c += 1
                _push(new_roles, copy, copy + 1, HVO_HEAD)
                v0[i] = copy
                tail[i] = copy
            else:
                v0[i] = backing(&ov, &vm, vh)
                tail[i] = backing(&ov, &vm, vh + nkeep - 1)
            kept[i] = nkeep
            # hvo.freed_runs(): the original frames of vmemmap pages 0 (if copied) and nkeep..n-1
            nfreed = 0
            run_f = -1
            run_n = 0
            for idx in range(0 if copy >= 0 else nkeep, n):
                if 0 < idx < nkeep:
                    continue
                f = backing(&ov, &vm, vh + idx)
                if run_n and run_f + run_n == f:
                    run_n += 1
                    continue
                if run_n:
                    boot_freed += _freed_run(new_freed, hazards, ro_s, ro_e, ro_v, run_f, run_n, h0 + j * nr)
                    nfreed += run_n
                run_f, run_n = f, 1
            if run_n:
                boot_freed += _freed_run(new_freed, hazards, ro_s, ro_e, ro_v, run_f, run_n, h0 + j * nr)
                nfreed += run_n
            freed[i] = nfreed - (1 if copy >= 0 else 0)
    finally:
        free(F)
    merge_ranges(m.roles, *new_roles)
    merge_ranges(m.hvo_freed, *new_freed)
    m.boot_memmap_freed += boot_freed
    for f, x, head in hazards:
        hvo.note_hazard(m, f, x, head)
    return k


cdef inline void _push(tuple cols, i64 s, i64 e, i64 v):
    (<object>cols[0]).append(s)
    (<object>cols[1]).append(e)
    (<object>cols[2]).append(v)


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
    out = [array("q", bytes(8 * (na + n_new))) for _ in range(3)]
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
