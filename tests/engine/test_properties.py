"""Property tests on random scenarios: random op sequences over small machines.

Ops that the engine rejects as malformed (ScenarioError at ("ops", i, ...), e.g. onlining a block
that was never added) are dropped and the scenario is replayed again, so every example is a
valid scenario. Bounded: <= 40 examples per property, no deadline.
"""
from __future__ import annotations

import os
from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.codes import ROLE_CODE
from engine.mm_types import POOL_COLUMNS, block_fields

IN_CI = os.environ.get("CI") == "true"
SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MiB, GiB = 1 << 20, 1 << 30
# name: (machine, page size, boot RAM start, hot-add area start, huge page sizes)
MACHINES = {
    "x86": ({"arch": "x86_64"}, 4096, 0, GiB, [2 * MiB, GiB]),
    "x86-l5": ({"arch": "x86_64", "paging_levels": 5}, 4096, 0, GiB, [2 * MiB, GiB]),
    "arm64-4K": ({"arch": "arm64", "page_size": "4K"}, 4096, GiB, 2 * GiB,
                 [64 << 10, 2 * MiB, 32 * MiB, GiB]),
    "arm64-16K": ({"arch": "arm64", "page_size": "16K"}, 16384, GiB, 2 * GiB, [2 * MiB, 32 * MiB]),
}
KERNELS = ["5.13", "5.17", "5.19", "6.0", "6.1", "6.2", "6.6", "6.7", "6.8", "6.8", "6.12", "6.12"]
POLICIES = ["merged", "section_flag", "first_page_maps_to_itself", "block_first_pfn_flag", "none"]
BLOCK = 128 * MiB
SLOTS = 8                                  # hot-add area: 8 blocks of 128 MiB after boot RAM


def core_import_error() -> str | None:
    try:
        from engine import _query_c, _replay_c  # noqa: F401
    except ImportError as e:
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="module")
def core() -> None:
    """Both implementations must be there: skip without the extension, fail under CI=true."""
    err = core_import_error()
    if err is not None:
        if IN_CI:
            pytest.fail(f"engine._query_c and engine._replay_c must be importable under CI=true ({err})", pytrace=False)
        pytest.skip(f"engine._query_c not built ({err})")


@st.composite
def scenarios(draw) -> dict:
    name = draw(st.sampled_from(["x86", "x86", "x86-l5", "arm64-4K", "arm64-4K", "arm64-16K"]))
    machine, ps, boot, hot, sizes = MACHINES[name]
    area_end = hot + SLOTS * BLOCK

    def rng():
        slot = draw(st.integers(0, SLOTS - 1))
        n = draw(st.sampled_from([1, 1, 1, 2, 3, SLOTS - slot]))
        n = max(1, min(n, SLOTS - slot))
        return hex(hot + slot * BLOCK), f"{n * 128}M"

    def aligned_addr(size: int) -> str:
        lo, hi = -(-boot // size), (area_end - size) // size
        return hex(draw(st.integers(lo, max(lo, hi))) * size)

    ops = []
    if draw(st.booleans()):   # huge pages in boot RAM first: HVO at work before any hotplug
        ops.append({"op": "alloc_hugepages", "size": 2 * MiB, "count": draw(st.integers(1, 8))})
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["add", "add+online", "add+online", "add+online", "online",
                                     "offline", "offline", "remove", "offline+remove", "cycle", "hps", "hps", "hps", "hp", "hp",
                                     "free", "free1", "swap", "sysctl"]))
        if kind.startswith("add"):
            start, size = rng()
            ops.append({"op": "add_memory", "start": start, "size": size,
                        "memmap_on_memory": draw(st.booleans()) or draw(st.booleans()),
                        "altmap_scope": draw(st.sampled_from(["block", "block", "block", "range"]))})
            if kind == "add+online":
                ops.append({"op": "online", "start": start, "size": size,
                            "zone": draw(st.sampled_from(["normal", "normal", "movable"]))})
        elif kind == "cycle":     # a whole life: add, online, huge pages in it, offline, remove
            start, size = rng()
            ops += [{"op": "add_memory", "start": start, "size": size,
                     "memmap_on_memory": draw(st.booleans())},
                    {"op": "online", "start": start, "size": size,
                     "zone": draw(st.sampled_from(["normal", "movable", "movable"]))},
                    {"op": "alloc_hugepages", "size": 2 * MiB, "count": draw(st.integers(1, 8))},
                    {"op": "offline", "start": start, "size": size},
                    {"op": "remove_memory", "start": start, "size": size}]
        elif kind == "offline+remove":
            start, size = rng()
            ops += [{"op": "offline", "start": start, "size": size},
                    {"op": "remove_memory", "start": start, "size": size}]
        elif kind in ("online", "offline", "remove"):
            start, size = rng()
            op = {"op": {"remove": "remove_memory"}.get(kind, kind), "start": start, "size": size}
            if kind == "online":
                op["zone"] = draw(st.sampled_from(["normal", "normal", "movable"]))
            ops.append(op)
        elif kind == "hps":
            ops.append({"op": "alloc_hugepages", "size": draw(st.sampled_from(sizes)),
                        "count": draw(st.integers(0, 80))})
        elif kind == "hp":
            size = draw(st.sampled_from(sizes))
            ops.append({"op": "alloc_hugepage", "size": size, "at": aligned_addr(size)})
        elif kind == "free":
            ops.append({"op": "free_hugepages", "size": draw(st.sampled_from(sizes)),
                        "count": draw(st.integers(0, 40))})
        elif kind == "free1":
            ops.append({"op": "free_hugepage", "at": aligned_addr(draw(st.sampled_from(sizes)))})
        elif kind == "swap":
            ops.append({"op": "swapcache_page", "pfn": draw(st.integers(boot // ps, area_end // ps - 1))})
        else:
            ops.append({"op": "sysctl", draw(st.sampled_from(["hugetlb_optimize_vmemmap", "movable_gigantic_pages"])):
                        draw(st.booleans())})
    return {
        "name": name,
        "kernel": draw(st.sampled_from(KERNELS)),
        "machine": machine,
        "params": {"memmap_on_memory": draw(st.sampled_from(["on", "on", "on", "force", "off"])),
                   "hugetlb_free_vmemmap": draw(st.sampled_from([True, True, True, False])),
                   "selfhosted_check": draw(st.sampled_from(POLICIES)),
                   "memhp_default_state": draw(st.sampled_from(["offline", "offline", "offline", "online"]))},
        "boot_memory": [{"start": boot, "size": "1G"}],
        "ops": ops,
    }


def replay(s: dict, impl: str):
    """Evaluate, dropping ops the engine rejects as malformed; returns (machine, scenario)."""
    ops = list(s["ops"])
    while True:
        sc = {**s, "ops": ops}
        try:
            return engine.evaluate(sc, impl=impl), sc
        except engine.ScenarioError as e:
            if len(e.loc) >= 2 and e.loc[0] == "ops":
                del ops[e.loc[1]]
                continue
            raise


def interesting_pfns(m, draw_pfns: list[int]) -> list[int]:
    out = list(draw_pfns)
    for b in m.blocks():
        s, e = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
        out += [s, s + 1, e - 1, min(e - 1, s + 512), max(s, e - 513)]
    for p in m.hugepages():
        h = int(p["head_pfn"], 16)
        out += [h, h + 1, h + 63, h + 64, h + 511, h + 512, max(0, h - 1)]
    return out


def bin_edges(start: int, end: int, bins: int) -> list[int]:
    w = end - start
    return [start + i * w // bins for i in range(bins + 1)]


pfn_lists = st.lists(st.integers(0, (4 * GiB) // 4096), min_size=1, max_size=200)


# ------------------------------------------------------------------ (a) python == cython
@SETTINGS
@given(s=scenarios(), pfns=pfn_lists, win=st.tuples(st.integers(0, 1 << 20), st.integers(1, 1 << 20),
                                                   st.integers(1, 3000)))
def test_python_and_cython_agree(core, s, pfns, win):
    mp, sc = replay(s, "python")
    mc = engine.evaluate(sc, impl="cython")
    assert (mp.implementation, mc.implementation) == ("python", "cython")
    pts = array("q", interesting_pfns(mp, pfns))
    a, b = mp.resolve_columns(pts), mc.resolve_columns(pts)
    assert sorted(a) == sorted(b)
    for col in a:
        assert list(a[col]) == list(b[col]), col
        assert a[col].typecode == b[col].typecode, col
    start, width, bins = win
    for lo, hi, nb in ((start, start + width, bins), (0, 0x80000, 64), (start, start + 1, 1)):
        wa, wb = mp.window(lo, hi, nb), mc.window(lo, hi, nb)
        assert {k: list(v) for k, v in wa["counts"].items()} == {k: list(v) for k, v in wb["counts"].items()}
        assert list(wa["dominant"]) == list(wb["dominant"])
        assert wa["bins"] == wb["bins"]


# ------------------------------------------------------------------ (b) bins add up
@SETTINGS
@given(s=scenarios(), win=st.tuples(st.integers(0, 1 << 20), st.integers(1, 1 << 20),
                                    st.integers(1, 5000)))
def test_window_counts_fill_every_bin(impl, s, win):
    m, _ = replay(s, impl)
    start, width, bins = win
    w = m.window(start, start + width, bins)
    nb = w["bins"]
    assert nb == min(bins, width)
    edges = bin_edges(start, start + width, nb)
    totals = [0] * nb
    for role, col in w["counts"].items():
        assert role in w["roles"]
        assert len(col) == nb
        assert min(col) >= 0
        for i, c in enumerate(col):
            totals[i] += c
    assert totals == [edges[i + 1] - edges[i] for i in range(nb)]
    # the dominant role of a bin holds at least as many pages as any other role there
    for i, d in enumerate(w["dominant"]):
        best = max(col[i] for col in w["counts"].values())
        assert w["counts"][w["roles"][d]][i] == best


# ------------------------------------------------------------------ (c) the fixed point
@SETTINGS
@given(s=scenarios())
def test_self_hosted_block_has_exactly_one_self_mapping_pfn(impl, s):
    m, _ = replay(s, impl)
    own, foreign = [], []     # memmap in the block's own altmap / in another block's (shared) altmap
    for b in m.blocks():
        if b["state"] == "online" and b["memmap"]["where"] == "self":
            (own if b["memmap"]["holder_block"] == b["id"] else foreign).append(b)
    if impl == "python":      # a full scan is 32768 pfns per block: keep the Python twin quick
        own, foreign = own[:1] + own[1:][-1:], foreign[:1]
    for b in own + foreign:
        start, end = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
        cols = m.resolve_columns(range(start, end))
        fixed = [start + k for k, f in enumerate(cols["backing"]) if f == start + k]
        if b in own:
            assert fixed == [start], (b["name"], [hex(p) for p in fixed[:5]])
            assert b["self_mapping_pfn"] == hex(start)
            assert cols["role"][0] == ROLE_CODE["memmap_self"]
        else:                 # why policy B misses a shared altmap (TV-18)
            assert fixed == [], (b["name"], [hex(p) for p in fixed[:5]])
            assert b["self_mapping_pfn"] is None
    # hot-added memory whose memmap came from the buddy allocator never maps onto itself
    for b in m.blocks():
        if not b["boot"] and b["memmap"]["where"] == "buddy":
            assert m.resolve([int(b["start_pfn"], 16)])[0]["maps_to_itself"] is False
            assert b["self_mapping_pfn"] is None


# ------------------------------------------------------------------ (d) resolve == window
@SETTINGS
@given(s=scenarios(), n=st.integers(1, 400), where=st.integers(0, 10_000), pick=st.integers(0, 1 << 16))
def test_resolve_agrees_with_single_page_window(impl, s, n, where, pick):
    m, _ = replay(s, impl)
    anchors = interesting_pfns(m, [where])
    start = max(0, anchors[pick % len(anchors)] - n // 2)
    w = m.window(start, start + n, n)
    assert w["bins"] == n
    roles = [r["role"] for r in m.resolve(range(start, start + n))]
    cols = {k: list(v) for k, v in w["counts"].items()}
    for i in range(n):
        present = [k for k, v in cols.items() if v[i]]
        assert present == [roles[i]], (hex(start + i), present, roles[i])
        assert cols[roles[i]][i] == 1
        assert w["roles"][w["dominant"][i]] == roles[i]


# ------------------------------------------------------------------ (e) no frame is free twice
@SETTINGS
@given(s=scenarios())
def test_free_pages_match_the_frame_map(impl, s):
    """What the allocator holds equals the usable frames of the map (+ HVO-freed vmemmap frames,
    which the summary counts as free): a double free or a leak breaks the equality. Scenarios with
    a HAZARD (HVO freed self-hosted memmap, policy none/B/C) are exempt: there the kernel, too,
    ends up with buddy pages inside offline memory."""
    m, _ = replay(s, impl)
    if any(b["hazards"] for b in m.blocks()) or any(
            e["outcome"] == "hazard" or "HAZARD" in e["message"] for e in m.events()):
        return
    _, ps, _, hot, _ = MACHINES[s["name"]]
    w = m.window(0, (hot + SLOTS * BLOCK) // ps, 1)["counts"]
    count = lambda role: w[role][0] if role in w else 0  # noqa: E731
    assert m.summary()["free_pages"] == count("usable") + count("hvo_freed")


# ------------------------------------------------------------------ (d) bins wider than 2**31 pages
def test_window_with_bins_of_more_than_2_31_pages_agrees(core):
    """The core counts in int32 unless a bin can reach 2**31 pages; past that it must switch."""
    sc = {"machine": {"arch": "x86_64", "paging_levels": 5}, "kernel": "6.8",
          "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
          "ops": [{"op": "add_memory", "start": "0x100000000000", "size": "1G", "node": 0},
                  {"op": "online", "start": "0x100000000000", "size": "1G"},
                  {"op": "alloc_hugepages", "size": "2M", "count": 3, "node": 0}]}
    end = 1 << 36                                  # 256 TiB of pfns: 2**34 pages per bin
    mp, mc = engine.evaluate(sc, impl="python"), engine.evaluate(sc, impl="cython")
    wp, wc = mp.window(0, end, 4), mc.window(0, end, 4)
    assert {k: list(v) for k, v in wp["counts"].items()} == {k: list(v) for k, v in wc["counts"].items()}
    assert list(wp["dominant"]) == list(wc["dominant"])
    assert sum(sum(v) for v in wc["counts"].values()) == end
    assert wc["counts"]["hole"][0] > 1 << 31
    assert wc["roles"][wc["dominant"][0]] == "hole"


# ------------------------------------------------------------------ (f) the replays agree
def replay_state(m) -> dict:
    """Everything a replay leaves behind, through the public API and in the range tables."""
    mm = m.m
    summary = dict(m.summary())
    summary.pop("implementation")
    return {"summary": summary, "events": m.events(), "blocks": m.blocks(), "hugepages": m.hugepages(),
            "roles": [list(c) for c in (mm.roles.starts, mm.roles.ends, mm.roles.vals)],
            "hvo_freed": [list(c) for c in (mm.hvo_freed.starts, mm.hvo_freed.ends, mm.hvo_freed.vals)],
            "split_pmds": dict(mm.split_pmds), "boot_memmap_freed": mm.boot_memmap_freed,
            "free": {k: (list(fl.starts), list(fl.ends)) for k, fl in mm.buddy.lists.items()},
            "tables": {k: list(v) for k, v in vars(m.tables).items() if isinstance(v, array)},
            # the huge page pool's rows (runs of pages), dead rows and the order of rows included
            "pool": {c: list(getattr(mm.hugetlb, c)) for c in POOL_COLUMNS} | {"nr_alive": mm.hugetlb.nr_alive},
            "block_objects": [block_fields(b) for b in mm.sorted_blocks()]}


@SETTINGS
@given(s=scenarios())
def test_python_and_cython_replays_agree(core, s):
    """The twin allocates and optimises one huge page at a time and adds it to the pool; the core
    cuts runs into pieces that share a verdict, adds a piece HVO leaves alone as one run and
    optimises a piece in one loop. Same machine either way, the same pool rows too (runs cut by
    frees, dissolves and offlines included)."""
    mp, sc = replay(s, "python")
    mc = engine.evaluate(sc, impl="cython")
    a, b = replay_state(mp), replay_state(mc)
    for key in a:
        assert a[key] == b[key], key


@pytest.mark.parametrize("kernel", ["6.1", "6.6", "6.8"])
def test_replays_agree_when_hvo_runs_out_of_frames(core, kernel):
    """Huge pages take every aligned 2 MiB run, so HVO's PTE tables and head copies come from the
    few order-0 fragments left and run out: the core must hand those pages to the page-by-page path."""
    sc = {"kernel": kernel, "boot_memory": [{"start": "0x0", "size": "1G", "node": 0}],
          "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 10_000, "node": 0}]}
    mp, mc = engine.evaluate(sc, impl="python"), engine.evaluate(sc, impl="cython")
    a, b = replay_state(mp), replay_state(mc)
    for key in a:
        assert a[key] == b[key], key
    reasons = {p["reason"].split(";")[-1].strip() for p in mc.hugepages()}
    short = [r for r in reasons if "could not be allocated" in r or "-ENOMEM" in r]
    assert short, sorted(reasons)[:3]
