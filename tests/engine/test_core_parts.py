"""The Cython core's one-pass helpers against the Python operations they replace, on random input:
merging ranges into a RangeMap, runs into VmemmapRuns, free ranges into a FreeList, taking aligned
runs, the query-table builders (merge_overlay, live_by_head, gather), live_on, and whole runs of huge
pages added to the pool (RowBuf) against HugePool.add() page by page."""
from __future__ import annotations

import os
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from types import SimpleNamespace

from engine import _query_py, hugetlb
from engine.mm_types import POOL_COLUMNS, HugePage, HugePool
from engine.rangemap import FreeList, RangeMap
from engine.vmemmap import VmemmapRuns

SETTINGS = settings(max_examples=150, deadline=None, database=None)


@pytest.fixture(scope="module")
def cy():
    """The compiled modules: skipped without the extension, a failure under CI=true."""
    try:
        from engine import _query_c, _replay_c
    except ImportError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"engine._query_c and engine._replay_c must be importable under CI=true ({e})", pytrace=False)
        pytest.skip(f"engine._query_c not built ({e})")
    return _query_c, _replay_c


def disjoint(draw, n_max: int, lo: int = 0, gap_max: int = 5, len_max: int = 6) -> list[tuple[int, int]]:
    """Sorted disjoint [s, e) ranges; gaps of 0 make neighbours touch."""
    out, p = [], lo
    for _ in range(draw(st.integers(0, n_max))):
        p += draw(st.integers(0, gap_max))
        e = p + draw(st.integers(1, len_max))
        out.append((p, e))
        p = e
    return out


@st.composite
def range_maps(draw):
    """A canonical RangeMap built by assign, plus new ranges (some overlapping it) to merge."""
    rm = RangeMap()
    for s, e in disjoint(draw, 12):
        rm.assign(s, e, draw(st.integers(0, 2)))
    new = [(s, e, draw(st.integers(0, 2))) for s, e in disjoint(draw, 12)]
    if draw(st.booleans()):
        new.reverse()                      # unsorted input must be sorted first
    return rm, new


def copy_map(rm: RangeMap) -> RangeMap:
    out = RangeMap()
    out.starts, out.ends, out.vals = rm.starts[:], rm.ends[:], rm.vals[:]
    return out


@SETTINGS
@given(case=range_maps())
def test_merge_ranges_is_assign_of_each(cy, case):
    _, rp = cy
    rm, new = case
    want = copy_map(rm)
    for s, e, v in new:
        want.assign(s, e, v)
    got = copy_map(rm)
    rp.merge_ranges(got, *(array("q", col) for col in zip(*new)) if new else (array("q"),) * 3)
    assert (list(got.starts), list(got.ends), list(got.vals)) == \
        (list(want.starts), list(want.ends), list(want.vals))


@st.composite
def free_lists(draw):
    """A FreeList and new ranges that are not free yet (so FreeList.free's precondition holds)."""
    rs = disjoint(draw, 20, len_max=4)
    fl, new = FreeList(), []
    for r in rs:
        if draw(st.booleans()):
            new.append(r)
        else:
            fl.free(*r)
    return fl, new


@SETTINGS
@given(case=free_lists())
def test_merge_free_is_free_of_each(cy, case):
    _, rp = cy
    fl, new = case
    want = FreeList()
    want.starts, want.ends = fl.starts[:], fl.ends[:]
    for s, e in new:
        want.free(s, e)
    rp.merge_free(fl, array("q", [s for s, _ in new]), array("q", [e for _, e in new]))
    assert (list(fl.starts), list(fl.ends)) == (list(want.starts), list(want.ends))


@SETTINGS
@given(data=st.data())
def test_merge_runs_is_add_of_each(cy, data):
    """Runs merge into a contiguous predecessor only, as VmemmapRuns.add does; overlaps fall back."""
    _, rp = cy
    draw = data.draw
    spans = disjoint(draw, 16, gap_max=2)
    old, new = VmemmapRuns(), []
    for s, e in spans:
        row = (s, e, draw(st.sampled_from([100 + s, 100 + s + 1, 900])), draw(st.integers(4, 5)),
               draw(st.integers(1, 2)))
        if draw(st.booleans()):
            new.append(row)
        else:
            old.add(*row)
    want = VmemmapRuns()
    for col in ("vstart", "vend", "backing", "kind", "mapping"):
        setattr(want, col, getattr(old, col)[:])
    for row in new:
        want.add(*row)
    rp.merge_runs(old, *(array("q", c) for c in zip(*new)) if new else (array("q"),) * 5)
    for col in ("vstart", "vend", "backing", "kind", "mapping"):
        assert list(getattr(old, col)) == list(getattr(want, col)), col


@SETTINGS
@given(data=st.data())
def test_take_aligned_is_alloc_many(cy, data):
    _, rp = cy
    draw = data.draw
    nr = draw(st.sampled_from([1, 2, 4, 8]))
    fl = FreeList()
    for s, e in disjoint(draw, 15, gap_max=9, len_max=20):
        fl.free(s, e)
    want = draw(st.integers(0, 40))
    ref = FreeList()
    ref.starts, ref.ends = fl.starts[:], fl.ends[:]
    expect = ref.alloc_many(nr, nr, want)
    runs: list[range] = []
    got = rp.take_aligned(fl, nr, want, runs)
    assert runs == expect
    assert got == sum(len(r) for r in expect)
    assert (list(fl.starts), list(fl.ends)) == (list(ref.starts), list(ref.ends))


@SETTINGS
@given(case=range_maps(), top=st.data())
def test_merge_overlay_matches_python(cy, case, top):
    c, _ = cy
    base, new = case
    over = RangeMap()
    for s, e in disjoint(top.draw, 10, lo=1, gap_max=7):
        over.assign(s, e, 9)
    assert [list(x) for x in c.merge_overlay(base, over)] == \
        [list(x) for x in _query_py.merge_overlay(base, over)]


class Pool:
    """The columns of a HugePool that the row sorts read: rows of count 0 are empty."""
    def __init__(self, head: list[int], count: list[int], node: list[int]) -> None:
        self.head, self.count = array("q", head), array("q", count)
        self.node, self.order = array("q", node), array("q", [9] * len(head))
        self.nr_alive = sum(count)

    rows_on = HugePool.rows_on


@SETTINGS
@given(heads=st.lists(st.integers(0, 10_000), unique=True, max_size=300), data=st.data())
def test_live_by_head_and_gather_match_python(cy, heads, data):
    c, _ = cy
    runs = sorted(heads)
    cut = data.draw(st.integers(0, len(runs)))
    heads = runs[cut:] + runs[:cut]          # two ascending runs, as two allocations leave them
    count = data.draw(st.lists(st.sampled_from([1, 3, 1, 0]), min_size=len(heads), max_size=len(heads)))
    node = data.draw(st.lists(st.sampled_from([0, 1]), min_size=len(heads), max_size=len(heads)))
    pool = Pool(heads, count, node)
    idx = c.live_by_head(pool)
    assert list(idx) == list(_query_py.live_by_head(pool))
    assert list(c.gather(pool.head, idx)) == list(_query_py.gather(pool.head, idx))
    oracle = hugetlb.live_by_head_desc(SimpleNamespace(bulk=None, hugetlb=pool), 1, 9)
    assert list(c.live_by_head_desc(pool, 1, 9)) == list(oracle)


@st.composite
def page_runs(draw):
    """Runs of huge pages as the replay adds them: mostly contiguous (each continuing the last or
    not), the stepped fields on small progressions that sometimes match the last row's steps."""
    runs, head = [], draw(st.integers(0, 64)) * 512
    for _ in range(draw(st.integers(1, 12))):
        head += draw(st.sampled_from([0, 0, 0, 512, 4096]))
        k = draw(st.integers(1, 5))
        shared = (9, 0, draw(st.sampled_from([1, 2, 2])), draw(st.sampled_from([6, 12, 12])), 0, 0, 0)
        stepped = [draw(st.sampled_from([0, 8, 8, 100])) for _ in range(3)]
        steps = [draw(st.sampled_from([0, 1, 8])) for _ in range(3)]
        order, node, state, reason, nkeep, freed, splits = shared
        runs.append((head, k, order, node, state, reason, stepped[0], steps[0], stepped[1], steps[1],
                     stepped[2], steps[2], nkeep, freed, splits))
        head += k * 512
    return runs


def pool_columns(hp) -> dict:
    return {c: list(getattr(hp, c)) for c in POOL_COLUMNS} | {"nr_alive": hp.nr_alive}


@SETTINGS
@given(before=page_runs(), runs=page_runs(), cut=st.integers(0, 40))
def test_rowbuf_adds_runs_as_hugepool_adds_pages(cy, before, runs, cut):
    """A run of k pages added whole by the C replay leaves the rows that k HugePool.add() calls
    leave, also after pages left the pool (remove() cuts rows) and when the run extends a row."""
    _, rp = cy
    want, got = HugePool(), HugePool()
    for hp in (want, got):
        for r in before:
            for c in range(r[1]):
                hp.add(HugePage(r[0] + c * 512, r[2], r[3], r[4], r[5], r[6] + c * r[7], r[8] + c * r[9],
                                r[10] + c * r[11], r[12], r[13], r[14]))
        if hp.nr_alive:
            row = cut % hp.nr_rows
            if hp.count[row]:
                hp.remove(row, cut % hp.count[row])
    for r in runs:
        for c in range(r[1]):
            want.add(HugePage(r[0] + c * 512, r[2], r[3], r[4], r[5], r[6] + c * r[7], r[8] + c * r[9],
                              r[10] + c * r[11], r[12], r[13], r[14]))
    rp.add_runs(got, runs)
    assert pool_columns(got) == pool_columns(want)
    assert [p for p in got.pages()] == [p for p in want.pages()]


def test_hugepool_spells_out_its_columns():
    """HugePool.add and _continues name the columns one by one: they must be POOL_COLUMNS, SHARED and
    STEPPED, in that order."""
    import inspect
    import re

    from engine.mm_types import SHARED, STEPPED
    add = inspect.getsource(HugePool.add)
    assert re.findall(r"\(self\.(\w+), ", add) == list(POOL_COLUMNS)
    cont = inspect.getsource(HugePool._continues)
    assert re.findall(r"p\.(\w+) != self\.\1\[r\]", cont) == ["head", *SHARED]
    assert re.findall(r"p\.(\w+) == self\.\1\[r\] \+ n \* self\.\1_step\[r\]", cont) == list(STEPPED)
