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
from engine.roles import ROLE_CODE

IN_CI = os.environ.get("CI") == "true"
SETTINGS = settings(max_examples=30, deadline=None, database=None,
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
KERNELS = ["5.13", "5.17", "5.19", "6.0", "6.1", "6.2", "6.6", "6.7", "6.8", "6.12"]
POLICIES = ["merged", "section_flag", "first_page_maps_to_itself", "block_first_pfn_flag", "none"]
BLOCK = 128 * MiB
SLOTS = 8                                  # hot-add area: 8 blocks of 128 MiB after boot RAM


def core_import_error() -> str | None:
    try:
        from engine import _core  # noqa: F401
    except ImportError as e:
        return f"{type(e).__name__}: {e}"
    return None


def need_core() -> None:
    err = core_import_error()
    if err is not None:
        if IN_CI:
            pytest.fail(f"engine._core must be importable under CI=true ({err})", pytrace=False)
        pytest.skip(f"engine._core not built ({err})")


@st.composite
def scenarios(draw) -> dict:
    name = draw(st.sampled_from(sorted(MACHINES)))
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
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["add", "add", "add", "online", "online", "offline", "remove",
                                     "hps", "hps", "hp", "free", "free1", "swap", "sysctl"]))
        if kind == "add":
            start, size = rng()
            ops.append({"op": "add_memory", "start": start, "size": size,
                        "memmap_on_memory": draw(st.booleans()) or draw(st.booleans()),
                        "altmap_scope": draw(st.sampled_from(["block", "block", "range"]))})
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
            ops.append({"op": "sysctl", "hugetlb_optimize_vmemmap": draw(st.booleans())})
    return {
        "name": name,
        "kernel": draw(st.sampled_from(KERNELS)),
        "machine": machine,
        "params": {"memmap_on_memory": draw(st.sampled_from(["on", "on", "force", "off"])),
                   "hugetlb_free_vmemmap": draw(st.booleans()),
                   "selfhosted_check": draw(st.sampled_from(POLICIES)),
                   "memhp_default_state": draw(st.sampled_from(["offline", "offline", "online"]))},
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
def test_python_and_cython_agree(s, pfns, win):
    need_core()
    mp, sc = replay(s, "python")
    mc = engine.evaluate(sc, impl="cython")
    assert (mp.implementation, mc.implementation) == ("python", "cython")
    pts = array("q", interesting_pfns(mp, pfns))
    a, b = mp.resolve_columns(pts), mc.resolve_columns(pts)
    assert sorted(a) == sorted(b)
    for col in a:
        assert list(a[col]) == list(b[col]), col
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
    checked = 0
    for b in m.blocks():
        if b["state"] != "online" or b["memmap"]["where"] != "self":
            continue
        start, end = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
        cols = m.resolve_columns(range(start, end))
        fixed = [start + k for k, f in enumerate(cols["backing"]) if f == start + k]
        assert fixed == [start], (b["name"], [hex(p) for p in fixed[:5]])
        assert b["self_mapping_pfn"] == hex(start)
        assert cols["role"][0] == ROLE_CODE["memmap_self"]
        checked += 1
    # hot-added memory whose memmap lives elsewhere never maps onto itself at its first pfn
    for b in m.blocks():
        if not b["boot"] and b["memmap"]["where"] in ("buddy",):
            r = m.resolve([int(b["start_pfn"], 16)])[0]
            assert r["maps_to_itself"] is False


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
