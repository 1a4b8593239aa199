"""Huge pages kept as runs (issue 16): a pool row holds pages allocated together, with the fields that
differ per page as progressions. Every answer must be the one a row per page gives. The reference
is the Python model whose pool never extends a row (HugePool._continues always False: one row per
page); the Python model and the C replay with runs must answer the same, on machines whose runs
frees, dissolves and offlines cut, and on an XL-like machine (2 GiB blocks, every free 2 MiB in a
huge page) small enough for the Python model."""
from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from test_properties import SETTINGS, core, replay, scenarios  # noqa: F401  (core: a fixture)

import engine
from engine.mm_types import POOL_COLUMNS, HugePool

MiB, GiB = 1 << 20, 1 << 30


def evaluate_one_row_per_page(sc: dict, monkeypatch=pytest.MonkeyPatch) -> engine.EvaluatedMachine:
    """The Python model with a pool of one row per page (what the pool was before issue 16)."""
    with monkeypatch.context() as mp:
        mp.setattr(HugePool, "_continues", lambda self, r, p: False)
        m = engine.evaluate(sc, impl="python")
    assert m.m.hugetlb.nr_rows >= m.nr_hugepages
    return m


def heads_of(m) -> list[int]:
    return [int(p["head_pfn"], 16) for p in m.hugepages()]


def probe_pfns(m) -> array:
    """Heads, first and last tails, pages around them, block edges, memmap frames: where runs could
    answer differently from single pages."""
    out = []
    for h in heads_of(m):
        out += [h, h + 1, h + 8, h + 63, h + 64, h + 511, h + 512, max(0, h - 1)]
    for b in m.blocks():
        s, e = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
        out += [s, s + 1, s + 7, s + 8191, s + 8192, e - 1]
    return array("q", out)


def answers(m, pfns: array) -> dict:
    """What the API says of the machine and of these pfns."""
    summary = dict(m.summary())
    summary.pop("implementation")
    heads = heads_of(m)
    some = heads[:: max(1, len(heads) // 23)] + heads[-3:]
    top = max(int(b["end_pfn"], 16) for b in m.blocks())
    cols = m.resolve_columns(pfns)
    fields = m.resolve_fields(pfns)
    return {
        "summary": summary, "events": m.events(), "blocks": m.blocks(), "nr": m.nr_hugepages,
        "hugepages": m.hugepages(), "tail": m.hugepages(max(0, m.nr_hugepages - 5), 10),
        "resolve_columns": {k: list(v) for k, v in cols.items()},
        "resolve": m.resolve(list(pfns)[:: max(1, len(pfns) // 300)]),
        "fields": {k: v for k, v in fields.items() if k != "legend"},
        "vmemmap": [m.vmemmap(head_pfn=h) for h in some],
        "hugepage": [m.hugepage(h) for h in some] + [m.hugepage(h + 512) for h in some] + [m.hugepage(h + 1) for h in some],
        "heads": [m.hugepage_heads(h - 1, h + 3000, 7) for h in some] + [m.hugepage_heads(0, top, 50)],
        "windows": [(lambda w: ({k: list(v) for k, v in w["counts"].items()}, list(w["dominant"])))(
            m.window(lo, hi, n)) for lo, hi, n in ((0, top, 997), (0, top, 1), (some[0] - 700, some[0] + 1500, 2200),
                                                   (some[0] + 5, some[0] + 200, 7), (some[-1] + 1, some[-1] + 513, 3))
                    if lo >= 0] if some else [],
        "shared_tails": m.shared_tails(),
    }


def scenario(kernel: str, ops: list[dict], boot: str = "1G", **extra) -> dict:
    return {"kernel": kernel, "boot_memory": [{"start": "0x0", "size": boot, "node": 0}], "ops": ops, **extra}


ADD = {"op": "add_memory", "start": "0x40000000", "size": "1G", "memmap_on_memory": False}
ONLINE = {"op": "online", "start": "0x40000000", "size": "1G", "zone": "movable"}

CASES = {
    # HVO off: 500 pages in one run across blocks (memmap from buddy), cut by a free in the middle,
    # shortened from the top, cut twice by offlining a block in the middle (dissolve), refilled
    "hvo off, one run cut by free, free_hugepages, offline": scenario(
        "6.8", [ADD, ONLINE, {"op": "alloc_hugepages", "size": "2M", "count": 500},
                {"op": "free_hugepage", "at": "0x50200000"},
                {"op": "free_hugepages", "size": "2M", "count": 7},
                {"op": "offline", "start": "0x60000000", "size": "128M"},
                {"op": "alloc_hugepages", "size": "2M", "count": 3},
                {"op": "free_hugepage", "at": "0x40000000"}],
        params={"hugetlb_free_vmemmap": False}),
    # HVO on: boot pages optimised (rows of up to 64 pages between PMD splits, v0/tail stepping by
    # one frame), a free restores one in the middle, an offline dissolves and restores a block's
    "hvo on, optimised runs restored by free and offline": scenario(
        "6.8", [{"op": "alloc_hugepages", "size": "2M", "count": 300},
                {"op": "free_hugepage", "at": "0x10400000"},
                {"op": "offline", "start": "0x20000000", "size": "128M"},
                {"op": "free_hugepages", "size": "2M", "count": 5},
                {"op": "alloc_hugepages", "size": "2M", "count": 2}], boot="2G"),
    # 5.18 layout (no head copy): v0 and tail step by the 8 vmemmap frames of a page
    "hvo on, 5.19, no head copy": scenario(
        "5.19", [{"op": "alloc_hugepages", "size": "2M", "count": 200},
                 {"op": "free_hugepage", "at": "0x8600000"},
                 {"op": "free_hugepages", "size": "2M", "count": 3}], boot="1G",
        params={"memmap_on_memory": "off"}),
    # self-hosted blocks: refused pages whose detail (the frame backing the head) steps by 8, a
    # run per block, cut by offlining and by a free; 1 GiB pages between
    "refused runs in self-hosted blocks": scenario(
        "6.12", [{**ADD, "memmap_on_memory": True}, ONLINE,
                 {"op": "alloc_hugepages", "size": "1G", "count": 1},
                 {"op": "alloc_hugepages", "size": "2M", "count": 700},
                 {"op": "offline", "start": "0x48000000", "size": "128M"},
                 {"op": "free_hugepage", "at": "0x52400000"},
                 {"op": "free_hugepages", "size": "2M", "count": 9}]),
    # 7.1+: every optimised page maps the zone's shared tail page (tail constant, v0 stepping)
    "shared tails (7.1)": scenario(
        "7.1", [{"op": "alloc_hugepages", "size": "2M", "count": 150},
                {"op": "free_hugepage", "at": "0x10800000"},
                {"op": "free_hugepages", "size": "2M", "count": 4}], boot="2G"),
    # the v2 policy names the page's first flagged section: the C replay must cut runs at sections
    # when a block holds several (2 GiB blocks of 16 sections here)
    "section_flag policy, 2 GiB blocks": scenario(
        "6.8", [{"op": "add_memory", "start": "0x100000000", "size": "2G"},
                {"op": "online", "start": "0x100000000", "size": "2G", "zone": "movable"},
                {"op": "alloc_hugepages", "size": "2M", "count": 200},
                {"op": "free_hugepage", "at": "0x112000000"}], boot="4G",
        machine={"memory_block_size": "2G"}, params={"selfhosted_check": "section_flag"}),
    # the sysctl turns HVO off halfway: two runs of one allocation order, different states
    "sysctl between allocations": scenario(
        "6.8", [{"op": "alloc_hugepages", "size": "2M", "count": 70},
                {"op": "sysctl", "hugetlb_optimize_vmemmap": False},
                {"op": "alloc_hugepages", "size": "2M", "count": 70},
                {"op": "offline", "start": "0x8000000", "size": "128M"}], boot="1G"),
}


def xl_like(blocks: int = 24) -> dict:
    """Scenario XL at a size the Python model replays quickly: 4-level paging, 2 GiB blocks with
    memmap_on_memory, nr_hugepages asking for more 2 MiB pages than there is memory, HVO on."""
    size = f"{blocks * 2}G"
    return {"kernel": "6.8", "machine": {"arch": "x86_64", "paging_levels": 4, "memory_block_size": "2G"},
            "params": {"memmap_on_memory": "on", "hugetlb_free_vmemmap": True},
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": size, "node": 0},
                    {"op": "online", "start": "0x100000000", "size": size, "zone": "normal"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 10_000_000, "node": 0}]}


@pytest.mark.parametrize("case", list(CASES))
def test_runs_answer_as_one_row_per_page(impl, monkeypatch, case):
    sc = CASES[case]
    ref = evaluate_one_row_per_page(sc, monkeypatch)
    m = engine.evaluate(sc, impl=impl)
    assert m.m.hugetlb.nr_rows < m.nr_hugepages       # there are runs
    pfns = probe_pfns(ref)
    a, b = answers(ref, pfns), answers(m, pfns)
    for key in a:
        assert a[key] == b[key], key


@pytest.mark.parametrize("case", list(CASES))
def test_runs_are_cut_where_pages_left(impl, case):
    """Frees, dissolves and offlines leave rows that hold exactly the live pages, none twice."""
    m = engine.evaluate(CASES[case], impl=impl)
    hp = m.m.hugetlb
    pages = sorted(p.head for p in hp.pages())
    assert len(pages) == len(set(pages)) == hp.nr_alive == m.nr_hugepages == sum(hp.count)
    assert pages == heads_of(m)


def test_pools_of_both_replays_are_the_same_rows(core):
    """The C replay adds runs whole (RowBuf), the Python model page by page (HugePool.add): the same
    rows, in the same order, on every case and on the XL-like machine."""
    for sc in [*CASES.values(), xl_like(8)]:
        mp, mc = engine.evaluate(sc, impl="python"), engine.evaluate(sc, impl="cython")
        assert {c: list(getattr(mp.m.hugetlb, c)) for c in POOL_COLUMNS} == \
            {c: list(getattr(mc.m.hugetlb, c)) for c in POOL_COLUMNS}


def test_xl_like_machine_resolves_the_same_in_both(core, monkeypatch):
    """An XL-like machine (24 blocks of 2 GiB, every free 2 MiB in a huge page, ~26,000 pages in a
    few dozen runs) answers the same in the Python model, in the C replay, and with one row per page."""
    sc = xl_like(24)
    mp, mc = engine.evaluate(sc, impl="python"), engine.evaluate(sc, impl="cython")
    hp = mc.m.hugetlb
    assert mc.nr_hugepages > 24 * 1000 and hp.nr_rows < 40
    # every page refused: in hot-added blocks (self-hosted vmemmap), and in boot memory, where no
    # frame is left to split a vmemmap PMD (-ENOMEM)
    assert mc.summary()["hugepages"]["2M"]["refused"] == mc.nr_hugepages
    reasons = [p["reason"] for p in mc.hugepages()]
    assert sum("PageVmemmapSelfHosted" in r for r in reasons) == 24 * 1008
    assert sum("-ENOMEM allocating a PTE table" in r for r in reasons) == mc.nr_hugepages - 24 * 1008
    pfns = probe_pfns(mp)
    top = max(int(b["end_pfn"], 16) for b in mp.blocks())
    pfns.extend(range(0, top, 9973))
    a, b = answers(mp, pfns), answers(mc, pfns)
    for key in a:
        assert a[key] == b[key], key
    ref = evaluate_one_row_per_page(sc, monkeypatch)
    assert answers(ref, pfns) == a


@SETTINGS
@given(s=scenarios())
def test_random_scenarios_answer_as_one_row_per_page(impl, s):
    """The random scenarios of test_properties (frees, dissolves, offlines, removes, sysctls, every
    policy and many kernels): runs answer as rows of one page."""
    m, sc = replay(s, impl)
    ref = evaluate_one_row_per_page(sc)
    pfns = probe_pfns(ref)
    a, b = answers(ref, pfns), answers(m, pfns)
    for key in a:
        assert a[key] == b[key], key
