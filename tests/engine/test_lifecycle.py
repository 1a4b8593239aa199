"""Memory block life cycle (add / online / offline / remove): preconditions, kernel messages,
accounting, and the ScenarioError cases for input the engine cannot model."""
from __future__ import annotations

import pytest

import engine
from engine import ScenarioError

M128 = 32768          # pages in a 128 MiB block


def add(start: str, size: str = "128M", **kw) -> dict:
    return {"op": "add_memory", "start": start, "size": size, **kw}


def online(start: str, size: str = "128M", zone: str = "normal") -> dict:
    return {"op": "online", "start": start, "size": size, "zone": zone}


def offline(start: str, size: str = "128M") -> dict:
    return {"op": "offline", "start": start, "size": size}


def remove(start: str, size: str = "128M") -> dict:
    return {"op": "remove_memory", "start": start, "size": size}


def scen(*ops, **kw) -> dict:
    return {"kernel": kw.pop("kernel", "6.8"), "ops": list(ops), **kw}


def outcomes(m) -> list[str]:
    return [e["outcome"] for e in m.events()]


def ids(m) -> list[int]:
    return [b["id"] for b in m.blocks() if not b["boot"]]


# ------------------------------------------------------------------ preconditions and messages
def test_online_twice_is_refused(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000"), online("0x100000000")))
    assert outcomes(m) == ["ok", "ok", "refused"]
    assert "already online" in m.events()[2]["message"] and "-EINVAL" in m.events()[2]["message"]


def test_online_partially_refused_range(ev):
    m = ev(scen(add("0x100000000", "256M"), online("0x100000000"), online("0x100000000", "256M")))
    assert outcomes(m) == ["ok", "ok", "partial"]
    assert "memory33" in m.events()[2]["message"] and "memory32 is already online" in m.events()[2]["message"]


def test_offline_twice_is_refused(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000"), offline("0x100000000"),
                offline("0x100000000")))
    assert outcomes(m) == ["ok", "ok", "ok", "refused"]
    assert "already offline" in m.events()[3]["message"]


def test_remove_needs_offline(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000"), remove("0x100000000"),
                offline("0x100000000"), remove("0x100000000")))
    assert outcomes(m) == ["ok", "ok", "refused", "ok", "ok"]
    msg = m.events()[2]["message"]
    assert "-EBUSY" in msg and "onlined" in msg and "memory32" in msg
    assert ids(m) == []
    r = m.resolve([0x100000, 0x107fff])
    assert [x["state"] for x in r] == ["absent", "absent"]
    assert [x["backing_pfn"] for x in r] == [None, None]


def test_offline_fails_when_block_holds_another_blocks_memmap(ev):
    a, b = "0x100000000", "0x108000000"
    m = ev(scen(add(a, memmap_on_memory=False), online(a), add(b, memmap_on_memory=False),
                offline(a), remove(b), offline(a), remove(a)))
    # memory33's memmap (an order-9 buddy page) was allocated in ZONE_NORMAL = memory32
    e = m.events()[3]
    assert e["outcome"] == "refused"
    assert "failure to isolate range" in e["message"]
    assert "memmap_buddy" in e["message"] and "memory33" in e["message"]
    assert outcomes(m)[4:] == ["ok", "ok", "ok"]            # once memory33 is gone it works
    assert ids(m) == []


def test_memmap_of_a_later_block_lands_in_earlier_block(ev):
    a, b = "0x100000000", "0x108000000"
    m = ev(scen(add(a, memmap_on_memory=False), online(a), add(b, memmap_on_memory=False)))
    blk33 = next(x for x in m.blocks() if x["id"] == 33)
    assert blk33["memmap"]["where"] == "buddy" and blk33["memmap"]["nr_pages"] == 512
    assert m.resolve([0x108000])[0]["backing_pfn"] == "0x100000"
    assert m.resolve([0x100000])[0]["role"] == "memmap_buddy"


def test_offline_of_boot_block_with_boot_memmap_fails(ev):
    m = ev(scen(offline("0xf8000000")))       # memory31: the node's memblock memmap buffer
    e = m.events()[0]
    assert e["outcome"] == "refused" and "failure to isolate range" in e["message"]
    assert "memmap_boot" in e["message"]


def test_boot_memory_cannot_be_removed(ev):
    m = ev(scen(offline("0x40000000"), remove("0x40000000")))
    assert outcomes(m) == ["ok", "refused"]
    assert "boot memory" in m.events()[1]["message"]


def test_shared_altmap_must_be_removed_whole(ev):
    m = ev(scen(add("0x100000000", "1G", altmap_scope="range"), remove("0x138000000"),
                remove("0x100000000"), remove("0x100000000", "1G")))
    assert outcomes(m) == ["ok", "refused", "refused", "ok"]
    assert "altmap" in m.events()[1]["message"]
    assert "memory33" in m.events()[2]["message"] and "-EBUSY" in m.events()[2]["message"]
    assert ids(m) == []


def test_swapcache_page_is_migrated_on_offline(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000", zone="movable"),
                {"op": "swapcache_page", "pfn": "0x100300"}, offline("0x100000000")))
    assert outcomes(m) == ["ok", "ok", "ok", "ok"]
    assert m.resolve([0x100300])[0]["role"] == "offline"
    assert m.summary()["role_pages"]["swapcache"] == 1      # it moved, it did not vanish


def test_swapcache_on_a_busy_pfn_is_refused(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000"), {"op": "swapcache_page", "pfn": "0x100000"}))
    assert outcomes(m)[2] == "refused"


def test_hugepage_in_offline_memory_is_refused(ev):
    m = ev(scen(add("0x100000000"), {"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}))
    assert outcomes(m) == ["ok", "refused"]
    assert m.hugepages() == []


def test_auto_online(ev):
    m = ev(scen(add("0x100000000"), params={"memhp_default_state": "online_movable"}))
    assert "auto-onlined (movable)" in m.events()[0]["message"]
    b = next(x for x in m.blocks() if x["id"] == 32)
    assert b["state"] == "online" and b["zone"] == "Movable"
    assert m.resolve([0x100200])[0]["zone"] == "Movable"
    r = m.resolve([0x100000])[0]                               # vmemmap pages sit in ZONE_MOVABLE too
    assert (r["role"], r["zone"]) == ("memmap_self", "Movable")


def test_gigantic_page_not_in_movable(ev):
    m = ev(scen(add("0x100000000", "1G", memmap_on_memory=False), online("0x100000000", "1G", "movable"),
                {"op": "alloc_hugepage", "size": "1G", "at": "0x100000000"}))
    assert outcomes(m)[2] == "refused" and "ZONE_MOVABLE" in m.events()[2]["message"]


def test_offline_keeps_the_memmap_mapped(ev):
    # offline: the vmemmap stays mapped (only remove unmaps it)
    a = "0x100000000"
    m = ev(scen(add(a), online(a), offline(a)))
    first, usable = m.resolve([0x100000, 0x100200])
    assert first["role"] == "memmap_self" and first["backing_pfn"] == "0x100000"
    assert usable["role"] == "offline" and usable["backing_pfn"] == "0x100008"


def test_readd_after_remove(ev):
    a = "0x100000000"
    m = ev(scen(add(a), online(a), offline(a), remove(a), add(a), online(a)))
    assert outcomes(m) == ["ok"] * 6
    assert m.resolve([0x100000])[0]["maps_to_itself"] is True


# ------------------------------------------------------------------ accounting
@pytest.mark.parametrize("mmo,managed", [(True, M128 - 512), (False, M128)])
def test_accounting_through_the_life_cycle(ev, mmo, managed):
    a = "0x100000000"
    ops = [add(a, memmap_on_memory=mmo), online(a), offline(a), remove(a)]
    base = ev(scen()).summary()
    steps = [ev(scen(*ops[:k])).summary() for k in range(1, 5)]
    d = [(s["present_pages"] - base["present_pages"], s["managed_pages"] - base["managed_pages"],
          s["offline_pages"] - base["offline_pages"]) for s in steps]
    assert d == [(0, 0, M128), (M128, managed, 0), (0, 0, M128), (0, 0, 0)]
    assert [s["blocks"] - base["blocks"] for s in steps] == [1, 1, 1, 0]
    assert [s["blocks_online"] - base["blocks_online"] for s in steps] == [0, 1, 0, 0]
    # memmap: 512 pages while the block exists, none after remove
    assert [s["memmap_pages"] - base["memmap_pages"] for s in steps] == [512, 512, 512, 0]
    # the buddy allocator gets the struct pages back when the block goes
    assert steps[3]["free_pages"] == base["free_pages"]


@pytest.mark.parametrize("kernel", ["5.17", "6.1", "6.8"])
@pytest.mark.parametrize("free_first", [True, False])
def test_remove_after_hvo_restore_frees_each_frame_once(ev, kernel, free_first):
    # memory64's memmap comes from boot ZONE_NORMAL; its 2M page is optimised, then the vmemmap
    # is restored (free, or dissolve on offline); remove must not free the originals again
    a = "0x200000000"
    ops = [add(a, memmap_on_memory=False), online(a),
           {"op": "alloc_hugepage", "size": "2M", "at": "0x200200000"}]
    ops += [{"op": "free_hugepage", "at": "0x200200000"}] if free_first else []
    ops += [offline(a), remove(a)]
    boot = [{"start": 0, "size": "8G"}]
    base = ev(scen(boot_memory=boot, kernel=kernel)).summary()
    m = ev(scen(*ops, boot_memory=boot, kernel=kernel))
    assert set(outcomes(m)) == {"ok"}
    assert m.hugepages() == [] and ids(m) == []
    s = m.summary()
    # every frame the block borrowed is back: restored vmemmap, head copy, PTE table, memmap
    assert s["free_pages"] == base["free_pages"]
    assert s["managed_pages"] == base["managed_pages"]
    w = m.window(0, 0x200000, 1)["counts"]
    assert w["usable"][0] == s["free_pages"]


def test_online_message_reports_present_and_managed(ev):
    m = ev(scen(add("0x100000000"), online("0x100000000")))
    msg = m.events()[1]["message"]
    assert "present +128 MiB" in msg and "managed +126 MiB" in msg


def test_offline_with_optimised_hugepage_restores_accounting(ev):
    base = ev(scen()).summary()
    m = ev(scen({"op": "alloc_hugepage", "size": "2M", "at": "0x40000000"}, offline("0x40000000"),
                online("0x40000000")))
    s = m.summary()
    assert outcomes(m) == ["ok", "ok", "ok"]
    assert s["hugetlb_pages"] == 0 and s["hvo_freed_pages"] == 0
    assert s["present_pages"] == base["present_pages"]


# ------------------------------------------------------------------ ScenarioError
def err(scenario: dict) -> engine.ScenarioError:
    with pytest.raises(engine.ScenarioError) as ei:
        engine.evaluate(scenario, impl="python")
    return ei.value


@pytest.mark.parametrize("scenario,loc,words", [
    (scen(add("0x100100000")), ("ops", 0, "start"), ["not aligned", "memory block size"]),
    (scen(add("0x100000000", "64M")), ("ops", 0, "size"), ["not aligned", "128 MiB"]),
    (scen(add("0x100000000", "0")), ("ops", 0, "size"), ["must not be 0"]),
    (scen(add("0x0")), ("ops", 0, "start"), ["overlaps memory0"]),
    (scen(add("0x100000000", "256M"), add("0x108000000")), ("ops", 1, "start"), ["overlaps memory33"]),
    (scen(add("0x3ffff8000000", "256M")), ("ops", 0, "size"), ["46-bit", "physical address limit"]),
    ({"boot_memory": [{"start": 0, "size": "0x400008000000"}]}, ("boot_memory", 0, "size"), ["46-bit"]),
    ({"boot_memory": [{"start": 0, "size": "2G"}, {"start": "0x40000000", "size": "2G"}]},
     ("boot_memory", 1, "start"), ["overlaps boot_memory[0]"]),
    ({"boot_memory": [{"start": "0x1800", "size": "1G"}]}, ("boot_memory", 0, "start"), ["page size"]),
    ({"kernel": "5.10"}, ("kernel",), ["unknown kernel", "5.10"]),
    ({"kernel": "7.4"}, ("kernel",), ["unknown kernel"]),
    (scen({"op": "alloc_hugepages", "size": "4M", "count": 1}), ("ops", 0, "size"), ["2M, 1G"]),
    (scen({"op": "alloc_hugepage", "size": "64K", "at": "0x40000000"}), ("ops", 0, "size"), ["HugeTLB sizes"]),
    (scen({"op": "alloc_hugepage", "size": "2M", "at": "0x40100000"}), ("ops", 0, "at"), ["not aligned"]),
    (scen({"op": "free_hugepage", "at": "0x40000000"}), ("ops", 0, "at"), ["no HugeTLB page"]),
    (scen({"op": "alloc_hugepages", "size": "2M", "count": 1, "node": 3}), ("ops", 0, "node"), ["node 3"]),
    (scen(online("0x200000000")), ("ops", 0, "start"), ["memory64 does not exist"]),
    (scen(offline("0x200000000")), ("ops", 0, "start"), ["memory64 does not exist"]),
    (scen(remove("0x200000000")), ("ops", 0, "start"), ["memory64 does not exist"]),
    (scen(online("0x100000000", "64M")), ("ops", 0, "size"), ["not a multiple"]),
    (scen(add("0x100000000", "1G", altmap_scope="range", memmap_on_memory=False)),
     ("ops", 0, "altmap_scope"), ["needs memmap_on_memory"]),
    ({"machine": {"memory_block_size": "96M"}}, ("machine", "memory_block_size"), ["power of two"]),
    ({"machine": {"vmemmap_base": "0xffffd1a240001000"}}, ("machine", "vmemmap_base"), ["1 GiB"]),
    ({"machine": {"arch": "arm64", "vmemmap_base": "0xffffd1a240000000"},
      "boot_memory": [{"start": "0x40000000", "size": "1G"}]}, ("machine", "vmemmap_base"), ["memstart"]),
    ({"machine": {"arch": "arm64"}, "boot_memory": [{"start": "0x40000000", "size": "1G"}],
      "ops": [add("0x0")]}, ("ops", 0, "start"), ["below memstart"]),
    ({"machine": {"arch": "x86_64", "page_size": "16K"}}, ("machine",), ["4K"]),
])
def test_scenario_errors(scenario, loc, words):
    e = err(scenario)
    assert e.loc == loc, e
    for w in words:
        assert w in e.msg, (w, e.msg)
    assert str(e).startswith(".".join(map(str, loc)) + ":")


def test_5_level_accepts_what_4_level_rejects(ev):
    s = scen(add("0x3ffff8000000", "256M"))
    assert err(s).loc == ("ops", 0, "size")
    m = ev(dict(s, machine={"paging_levels": 5}))
    assert outcomes(m) == ["ok"]


def test_query_errors(ev):
    m = ev(scen())
    with pytest.raises(engine.ScenarioError) as ei:
        m.resolve([1 << 34])                         # pfn of 2^46
    assert ei.value.loc == ("pfns",)
    with pytest.raises(engine.ScenarioError) as ei:
        m.window(10, 10, 1)
    assert ei.value.loc == ("end_pfn",)
    with pytest.raises(engine.ScenarioError) as ei:
        m.window(0, 10, 0)
    assert ei.value.loc == ("bins",)


def test_refusals_are_events_not_exceptions(ev):
    m = ev(scen(remove("0x40000000"), {"op": "sysctl", "hugetlb_optimize_vmemmap": True},
                kernel="5.18"))
    assert outcomes(m) == ["refused", "refused"]


def test_simulator_limits_are_scenario_errors(impl):
    """Inputs that would cost unbounded time or memory are refused with the field and the limit."""
    too_many_blocks = {"machine": {"memory_block_size": "128M"}, "boot_memory": [{"start": 0, "size": "16T"}]}
    with pytest.raises(ScenarioError) as e:
        engine.evaluate(too_many_blocks, impl=impl)
    assert e.value.loc == ("boot_memory",) and "at most 65536" in e.value.msg
    add = {"ops": [{"op": "add_memory", "start": "0x100000000", "size": "8T"}],
           "machine": {"memory_block_size": "128M"}}
    with pytest.raises(ScenarioError) as e:
        engine.evaluate(add, impl=impl)
    assert e.value.loc == ("ops", 0, "size") and "at most 65536" in e.value.msg


def test_live_hugepage_limit(impl, monkeypatch):
    from engine import hugetlb
    monkeypatch.setattr(hugetlb, "MAX_HUGEPAGES", 10)
    ok = {"ops": [{"op": "alloc_hugepages", "size": "2M", "count": 10}]}
    assert engine.evaluate(ok, impl=impl).summary()["hugetlb_pages"] == 10 * 512
    bad = {"ops": [{"op": "alloc_hugepages", "size": "2M", "count": 6}] * 2}
    with pytest.raises(ScenarioError) as e:
        engine.evaluate(bad, impl=impl)
    assert e.value.loc == ("ops", 1, "count") and "at most 10 live huge pages" in e.value.msg
