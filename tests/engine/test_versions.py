"""Release history of memmap_on_memory and HVO (kernel-model.md sections 3 and 4)."""
from __future__ import annotations

import pytest

ADD = {"op": "add_memory", "start": "0x100000000", "size": "128M"}
ONLINE = {"op": "online", "start": "0x100000000", "size": "128M"}
ADD2 = {"op": "add_memory", "start": "0x100000000", "size": "256M"}
HP_BLOCK = {"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}   # in the hot-added block
HP_BOOT = {"op": "alloc_hugepage", "size": "2M", "at": "0x40000000"}


def sysctl(on: bool) -> dict:
    return {"op": "sysctl", "hugetlb_optimize_vmemmap": on}


def scen(kernel: str, *ops, hvo: bool = True, mmo: str = "on", **kw) -> dict:
    return {"kernel": kernel, "params": {"memmap_on_memory": mmo, "hugetlb_free_vmemmap": hvo},
            "ops": list(ops), **kw}


def mmo(m, bid: int = 32) -> dict:
    return next(b for b in m.blocks() if b["id"] == bid)["memmap_on_memory"]


def hvo_of(m, head: str) -> dict:
    return next(p for p in m.hugepages() if p["head_pfn"] == head)


# ------------------------------------------------------------------ 5.13: introduced
class Test513:
    def test_single_block_uses_mmo(self, ev):
        m = ev(scen("5.13", ADD))
        assert mmo(m)["used"] is True
        b = next(b for b in m.blocks() if b["id"] == 32)
        assert (b["memmap"]["where"], b["memmap"]["nr_pages"]) == ("self", 512)

    def test_two_block_range_does_not(self, ev):
        m = ev(scen("5.13", ADD2))
        for bid in (32, 33):
            assert mmo(m, bid)["used"] is False
            assert "exactly one memory block" in mmo(m, bid)["reason"]
        assert {b["memmap"]["where"] for b in m.blocks() if not b["boot"]} == {"buddy"}

    def test_no_hvo_in_5_13(self, ev):
        m = ev(scen("5.13", HP_BOOT, sysctl(True)))
        assert hvo_of(m, "0x40000")["hvo"] == "not_optimizable"
        assert m.events()[1]["outcome"] == "refused"
        assert not any("vmemmap" in d for d in m.summary()["dmesg"])

    def test_mmo_param_off(self, ev):
        m = ev(scen("5.13", ADD, mmo="off"))
        assert mmo(m)["used"] is False and "memmap_on_memory=N" in mmo(m)["reason"]


# ------------------------------------------------------------------ 5.14-5.18: mutual exclusion
@pytest.mark.parametrize("kernel", ["5.14", "5.16", "5.18"])
def test_5_14_to_5_18_mmo_refused_when_hvo_on(ev, kernel):
    m = ev(scen(kernel, ADD, ONLINE, HP_BLOCK))
    assert mmo(m)["used"] is False and "hugetlb_free_vmemmap" in mmo(m)["reason"]
    assert hvo_of(m, "0x100200")["hvo"] == "optimized"       # memmap came from the buddy allocator
    m = ev(scen(kernel, ADD, ONLINE, HP_BLOCK, hvo=False))
    assert mmo(m)["used"] is True
    assert hvo_of(m, "0x100200")["hvo"] == "off"


@pytest.mark.parametrize("kernel", ["5.14", "5.18"])
def test_no_sysctl_before_5_19(ev, kernel):
    m = ev(scen(kernel, sysctl(True)))
    assert m.events()[0]["outcome"] == "refused" and "5.19" in m.events()[0]["message"]


# ------------------------------------------------------------------ 5.19: precedence
class Test519:
    def test_hvo_on_overrides_mmo(self, ev):
        m = ev(scen("5.19", ADD, ONLINE, HP_BLOCK))
        assert mmo(m)["used"] is False and "precedence" in mmo(m)["reason"]
        assert hvo_of(m, "0x100200")["hvo"] == "optimized"

    def test_sysctl_not_registered_when_mmo_on_and_hvo_off(self, ev):
        m = ev(scen("5.19", ADD, ONLINE, sysctl(True), HP_BLOCK, hvo=False))
        assert mmo(m)["used"] is True
        e = m.events()[2]
        assert e["outcome"] == "refused" and "not registered" in e["message"]
        assert hvo_of(m, "0x100200")["hvo"] == "off"

    def test_sysctl_registered_when_mmo_force_is_invalid(self, ev):
        # "force" is not a boolean before 6.6: the parameter stays N, so the sysctl exists
        m = ev(scen("5.19", ADD, sysctl(True), hvo=False, mmo="force"))
        assert mmo(m)["used"] is False
        assert m.events()[1]["outcome"] == "ok"

    def test_sysctl_registered_when_both_off(self, ev):
        m = ev(scen("5.19", sysctl(True), HP_BOOT, hvo=False, mmo="off"))
        assert m.events()[0]["outcome"] == "ok"
        assert hvo_of(m, "0x40000")["hvo"] == "optimized"


# ------------------------------------------------------------------ 6.0: per-page refusal
@pytest.mark.parametrize("kernel", ["6.0", "6.1", "6.7", "6.8", "6.19"])
def test_6_0_per_page_refusal(ev, kernel):
    m = ev(scen(kernel, ADD, ONLINE, HP_BLOCK, HP_BOOT))
    assert mmo(m)["used"] is True                              # no mutual exclusion any more
    assert hvo_of(m, "0x100200")["hvo"] == "refused"
    assert hvo_of(m, "0x40000")["hvo"] == "optimized"         # boot memory unaffected


def test_sysctl_affects_later_pages_only(ev):
    m = ev(scen("6.8", HP_BOOT, sysctl(False),
                {"op": "alloc_hugepage", "size": "2M", "at": "0x40200000"}, sysctl(True),
                {"op": "alloc_hugepage", "size": "2M", "at": "0x40400000"}))
    assert [e["outcome"] for e in m.events()] == ["ok"] * 5
    assert [p["hvo"] for p in m.hugepages()] == ["optimized", "off", "optimized"]
    assert "hugetlb_optimize_vmemmap=0" in hvo_of(m, "0x40200")["reason"]


# ------------------------------------------------------------------ 6.2: head copy
@pytest.mark.parametrize("kernel,head_copy", [("5.18", False), ("6.1", False), ("6.2", True),
                                               ("6.8", True)])
def test_6_2_head_vmemmap_page_copy(ev, kernel, head_copy):
    m = ev(scen(kernel, HP_BOOT, mmo="off"))
    p = hvo_of(m, "0x40000")
    assert (p["hvo"], p["freed_pages"]) == ("optimized", 7)                   # net 7 either way
    roles = m.summary()["role_pages"]
    assert roles["vmemmap_hvo_head"] == (1 if head_copy else 0)
    assert roles["hvo_freed"] == (8 if head_copy else 7)                      # originals freed
    head = m.resolve([0x40000])[0]
    assert head["role"] == "hugetlb_head"
    kept = m.resolve(list(range(0x40000, 0x40200, 64)))
    assert len({r["backing_pfn"] for r in kept}) == 1                         # V0..V7 -> one page
    frame = int(head["backing_pfn"], 16)
    assert m.resolve([frame])[0]["role"] == ("vmemmap_hvo_head" if head_copy else "memmap_boot")


# ------------------------------------------------------------------ 6.6: force
@pytest.mark.parametrize("kernel", ["6.0", "6.5"])
def test_force_invalid_before_6_6(ev, kernel):
    m = ev(scen(kernel, ADD, mmo="force"))
    assert mmo(m)["used"] is False and "6.6" in mmo(m)["reason"]
    assert not any("waste" in d for d in m.summary()["dmesg"])


def test_force_valid_from_6_6(ev):
    m = ev(scen("6.6", ADD, mmo="force"))
    assert mmo(m)["used"] is True
    assert any("will waste 0 pages" in d for d in m.summary()["dmesg"])


# ------------------------------------------------------------------ 6.8: multi-block ranges
@pytest.mark.parametrize("kernel,used", [("6.6", False), ("6.7", False), ("6.8", True), ("6.12", True)])
def test_6_8_multi_block_ranges(ev, kernel, used):
    m = ev(scen(kernel, ADD2))
    assert [mmo(m, b)["used"] for b in (32, 33)] == [used, used]
    if used:
        starts = [next(b for b in m.blocks() if b["id"] == i)["memmap"]["start_pfn"] for i in (32, 33)]
        assert starts == ["0x100000", "0x108000"]


# ------------------------------------------------------------------ arm64 HVO: 5.19-6.2 only
@pytest.mark.parametrize("kernel,available", [
    ("5.14", False), ("5.18", False), ("5.19", True), ("6.1", True), ("6.2", True), ("6.3", False),
    ("6.8", False),
])
def test_arm64_hvo_window(ev, kernel, available):
    m = ev({"kernel": kernel, "machine": {"arch": "arm64", "page_size": "4K"},
            "params": {"memmap_on_memory": "off"},
            "boot_memory": [{"start": "0x40000000", "size": "2G"}],
            "ops": [{"op": "alloc_hugepage", "size": "2M", "at": "0x60000000"}, sysctl(True)]})
    (p,) = m.hugepages()
    assert p["hvo"] == ("optimized" if available else "not_optimizable")
    assert m.summary()["hvo_enabled"] is available
    assert m.events()[1]["outcome"] == ("ok" if available else "refused")


def test_x86_hvo_from_5_14(ev):
    for kernel, state in (("5.13", "not_optimizable"), ("5.14", "optimized")):
        (p,) = ev(scen(kernel, HP_BOOT, mmo="off")).hugepages()
        assert p["hvo"] == state, kernel


def test_unknown_kernel_version_list():
    import engine
    with pytest.raises(engine.ScenarioError) as ei:
        engine.evaluate({"kernel": "5.12"})
    assert ei.value.loc == ("kernel",) and "5.13" in ei.value.msg
