"""The test vectors TV-1 ... TV-18 of kernel-model.md section 6.

Every expected number below is copied from the reference (kernel-derived), never computed with
engine code. Machine: x86_64 4-level, no KASLR, 64 B struct page, kernel 6.8, boot RAM 0-4 GiB
(128 MiB blocks) unless a vector says otherwise.
"""
from __future__ import annotations

import pytest

GiB = 1 << 30
BYTES = {"128M": 128 << 20, "256M": 256 << 20, "512M": 512 << 20, "1G": GiB, "2G": 2 * GiB}
ADD_4G = {"op": "add_memory", "start": "0x100000000", "size": "128M"}
ONLINE_4G = {"op": "online", "start": "0x100000000", "size": "128M"}


def scen(*ops, **kw) -> dict:
    return {"kernel": kw.pop("kernel", "6.8"), "ops": list(ops), **kw}


def hp(size: str, at: str) -> dict:
    return {"op": "alloc_hugepage", "size": size, "at": at}


def block(m, bid: int) -> dict:
    return next(b for b in m.blocks() if b["id"] == bid)


def one(m, pfn: int) -> dict:
    return m.resolve([pfn])[0]


def backing(m, pfns) -> list[int]:
    return [int(r["backing_pfn"], 16) for r in m.resolve(pfns)]


def outcomes(m) -> list[str]:
    return [e["outcome"] for e in m.events()]


# --------------------------------------------------------------------------- TV-1
class TestTV1:
    """128 MiB block at 0x100000000 with memmap_on_memory."""

    @pytest.fixture()
    def m(self, ev):
        return ev(scen(ADD_4G, ONLINE_4G))

    def test_block_geometry(self, m):
        b = block(m, 32)
        assert b["name"] == "memory32"
        assert f"{b['id']:08x}" == "00000020"            # phys_index
        assert (b["start_pfn"], b["end_pfn"]) == ("0x100000", "0x108000")
        assert b["present_pages"] == 32768
        assert b["memmap_on_memory"]["used"] is True
        assert one(m, 0x100000)["section"] == 32 and one(m, 0x107fff)["section"] == 32
        assert m.summary()["memory_block_size"] == "128M"

    def test_memmap_is_512_pages_at_block_start(self, m):
        mm = block(m, 32)["memmap"]
        assert mm["where"] == "self"
        assert mm["start_pfn"] == "0x100000" and mm["nr_pages"] == 512 and mm["mapping"] == "pmd"
        rs = m.resolve([0x100000, 0x1001ff, 0x100200, 0x107fff])
        assert [r["role"] for r in rs] == ["memmap_self", "memmap_self", "usable", "usable"]
        w = m.window(0x100000, 0x108000, 1)["counts"]
        assert w["memmap_self"][0] == 512 and w["usable"][0] == 32256
        assert sum(c[0] for c in w.values()) == 32768

    def test_struct_page_va_and_backing(self, m):
        first, last = m.resolve([0x100000, 0x107fff])
        assert first["struct_page_vaddr"] == "0xffffea0004000000"
        assert first["backing_pfn"] == "0x100000" and first["mapping"] == "pmd"
        assert first["maps_to_itself"] is True
        assert last["struct_page_vaddr"] == "0xffffea00041fffc0"
        assert last["backing_pfn"] == "0x1001ff" and last["maps_to_itself"] is False

    def test_backing_formula_over_the_whole_block(self, m):
        # backing_pfn(P) = B + floor((P - B) * 64 / 4096)   (kernel-model.md 2(c))
        B = 0x100000
        pfns = range(B, B + 32768)
        got = m.resolve_columns(pfns)["backing"]
        assert list(got) == [B + (p - B) * 64 // 4096 for p in pfns]

    def test_first_pfn_is_the_only_self_mapping_pfn(self, m):
        pfns = list(range(0x100000, 0x100200)) + list(range(0x100200, 0x108000, 97)) + [0x107fff]
        selfmap = [r["pfn"] for r in m.resolve(pfns) if r["maps_to_itself"]]
        assert selfmap == ["0x100000"]
        cols = m.resolve_columns(range(0x100000, 0x108000))
        fixed = [0x100000 + k for k, b in enumerate(cols["backing"]) if b == 0x100000 + k]
        assert fixed == [0x100000]
        assert block(m, 32)["self_mapping_pfn"] == "0x100000"

    def test_boot_block_has_no_self_mapping_pfn(self, m):
        b = block(m, 8)
        assert b["boot"] is True and b["self_mapping_pfn"] is None
        assert not any(r["maps_to_itself"] for r in m.resolve(range(0x40000, 0x48000, 512)))


# --------------------------------------------------------------------------- TV-2
def test_tv2_chain_of_struct_pages(ev):
    m = ev(scen(ADD_4G, ONLINE_4G))
    chain = m.chain(0x100200)
    assert [(c["pfn"], c["backing_pfn"]) for c in chain] == [
        ("0x100200", "0x100008"), ("0x100008", "0x100000"), ("0x100000", "0x100000")]
    # the memmap pages' own struct pages live in 0x100000-0x100007
    assert sorted(set(backing(m, range(0x100000, 0x100200)))) == list(range(0x100000, 0x100008))


# --------------------------------------------------------------------------- TV-3
class TestTV3:
    def test_accounting_with_memmap_on_memory(self, ev):
        base = ev(scen()).summary()
        added = ev(scen(ADD_4G)).summary()
        on = ev(scen(ADD_4G, ONLINE_4G)).summary()
        # add: nothing taken from the buddy allocator
        assert added["free_pages"] == base["free_pages"]
        assert added["mem_total_kb"] == base["mem_total_kb"]
        assert on["present_pages"] - base["present_pages"] == 32768
        assert on["managed_pages"] - base["managed_pages"] == 32256
        assert on["mem_total_kb"] - base["mem_total_kb"] == 129024
        assert on["self_hosted_pages"] == 512           # PG_owner_priv_1 (kpageflags bit 37)

    def test_accounting_without_memmap_on_memory(self, ev):
        add = dict(ADD_4G, memmap_on_memory=False)
        base = ev(scen()).summary()
        added = ev(scen(add)).summary()
        on = ev(scen(add, ONLINE_4G)).summary()
        assert (added["free_pages"] - base["free_pages"]) * 4 == -2048    # MemFree -2048 kB at add
        assert on["mem_total_kb"] - base["mem_total_kb"] == 131072
        assert on["present_pages"] - base["present_pages"] == 32768
        assert on["self_hosted_pages"] == 0


# --------------------------------------------------------------------------- TV-4
def test_tv4_2m_page_in_self_hosted_block_is_refused(ev):
    m = ev(scen(ADD_4G, ONLINE_4G, hp("2M", "0x100200000")))
    assert outcomes(m) == ["ok", "ok", "ok"]
    head = one(m, 0x100200)
    assert head["struct_page_vaddr"] == "0xffffea0004008000"
    assert head["mapping"] == "pmd"                      # PMD leaf, not split
    assert head["backing_pfn"] == "0x100008"
    assert int(head["struct_page_vaddr"], 16) >> 12 & 511 == 8   # pte_index
    (p,) = m.hugepages()
    assert p["hvo"] == "refused" and p["freed_pages"] == 0 and p["pmd_splits"] == 0
    assert "0x100008" in p["reason"]
    assert m.summary()["page_table_pages"] == 0 and m.summary()["hvo_freed_pages"] == 0
    # its 8 vmemmap pages are frames 0x100008-0x10000f
    assert backing(m, [0x100200 + k * 64 for k in range(8)]) == list(range(0x100008, 0x100010))


# --------------------------------------------------------------------------- TV-5
class TestTV5:
    def test_hot_added_without_mmo_is_optimised(self, ev):
        m = ev(scen(dict(ADD_4G, memmap_on_memory=False), ONLINE_4G, hp("2M", "0x100200000")))
        (p,) = m.hugepages()
        assert p["hvo"] == "optimized"
        assert p["vmemmap_pages"] == 8 and p["freed_pages"] == 7 and p["pmd_splits"] == 1
        s = m.summary()
        assert s["page_table_pages"] == 1 and s["hvo_freed_pages"] == 7
        # 6.2+: the head vmemmap page is replaced by a new page, all 8 originals are freed
        assert s["role_pages"]["vmemmap_hvo_head"] == 1 and s["role_pages"]["hvo_freed"] == 8
        vm = m.resolve([0x100200 + k * 64 for k in range(8)])
        assert len({r["backing_pfn"] for r in vm}) == 1             # V0..V7 -> one page N
        assert {r["mapping"] for r in vm} == {"pte"}
        assert vm[0]["role"] == "hugetlb_head"

    def test_boot_memory_is_optimised(self, ev):
        m = ev(scen(hp("2M", "0x40200000")))
        (p,) = m.hugepages()
        assert (p["hvo"], p["freed_pages"], p["pmd_splits"]) == ("optimized", 7, 1)

    def test_one_pte_table_per_vmemmap_pmd_shared_by_64_pages(self, ev):
        m = ev(scen(*[hp("2M", hex(0x40000000 + k * (2 << 20))) for k in range(64)]))
        pages = m.hugepages()
        assert len(pages) == 64 and {p["hvo"] for p in pages} == {"optimized"}
        assert sum(p["pmd_splits"] for p in pages) == 1
        assert m.summary()["page_table_pages"] == 1
        assert m.summary()["hvo_freed_pages"] == 64 * 7


# --------------------------------------------------------------------------- TV-6
BOOT_HVO = {"params": {"memmap_on_memory": "off", "hugetlb_free_vmemmap": True}}


@pytest.mark.parametrize("kernel,freed_2m,freed_1g", [
    ("5.14", 6, 4094), ("5.17", 6, 4094),
    ("5.18", 7, 4095), ("5.19", 7, 4095), ("6.0", 7, 4095), ("6.2", 7, 4095), ("6.8", 7, 4095),
])
def test_tv6_freed_pages_by_version(ev, kernel, freed_2m, freed_1g):
    m = ev(scen(hp("2M", "0x40000000"), hp("1G", "0x80000000"), kernel=kernel, **BOOT_HVO))
    two, gig = m.hugepages()
    assert (two["size"], two["hvo"], two["freed_pages"]) == ("2M", "optimized", freed_2m)
    assert (gig["size"], gig["hvo"], gig["freed_pages"]) == ("1G", "optimized", freed_1g)
    assert m.summary()["hvo_freed_pages"] == freed_2m + freed_1g


@pytest.mark.parametrize("kernel", ["6.2", "6.8", "6.12"])
def test_tv6_dmesg_6x(ev, kernel):
    d = ev(scen(kernel=kernel, **BOOT_HVO)).summary()["dmesg"]
    assert "HugeTLB: 28 KiB vmemmap can be freed for a 2.00 MiB page" in d
    assert "HugeTLB: 16380 KiB vmemmap can be freed for a 1.00 GiB page" in d


def test_tv6_dmesg_5_19_wording(ev):
    # kernel-model.md 4: 5.19 printed "can optimize N vmemmap pages for hugepages-..." [H HV-5.19]
    d = ev(scen(kernel="5.19", **BOOT_HVO)).summary()["dmesg"]
    assert any(x.startswith("HugeTLB: can optimize 7 vmemmap pages for hugepages-") for x in d)
    assert not any("KiB vmemmap can be freed" in x for x in d)


# --------------------------------------------------------------------------- TV-7
class TestTV7:
    def test_1g_boot_page(self, ev):
        m = ev(scen(hp("1G", "0x40000000")))
        (p,) = m.hugepages()
        assert p["vmemmap_vaddr"] == "0xffffea0001000000"
        assert p["vmemmap_pages"] == 4096
        assert (p["hvo"], p["pmd_splits"], p["freed_pages"]) == ("optimized", 8, 4095)
        assert m.summary()["page_table_pages"] == 8
        # vmemmap VA [0xffffea0001000000, 0xffffea0002000000)
        first, last = m.resolve([0x40000, 0x7ffff])
        assert first["struct_page_vaddr"] == "0xffffea0001000000"
        assert int(last["struct_page_vaddr"], 16) + 64 == 0xffffea0002000000

    def test_two_2m_pages_share_one_vmemmap_pmd(self, ev):
        m = ev(scen(hp("2M", "0x40000000"), hp("2M", "0x40200000")))
        a, b = m.hugepages()
        assert (a["vmemmap_vaddr"], b["vmemmap_vaddr"]) == ("0xffffea0001000000", "0xffffea0001008000")
        assert [int(x["vmemmap_vaddr"], 16) >> 12 & 511 for x in (a, b)] == [0, 8]   # pte_index
        assert (a["pmd_splits"], b["pmd_splits"]) == (1, 0)
        assert m.summary()["page_table_pages"] == 1


# --------------------------------------------------------------------------- TV-8
class TestTV8:
    def test_5_level(self, ev):
        m = ev(scen(ADD_4G, ONLINE_4G, machine={"paging_levels": 5}))
        r = one(m, 0x100000)
        assert r["struct_page_vaddr"] == "0xffd4000004000000" and r["backing_pfn"] == "0x100000"
        assert m.summary()["vmemmap_base"] == "0xffd4000000000000"

    def test_kaslr_base(self, ev):
        m = ev(scen(ADD_4G, ONLINE_4G, machine={"vmemmap_base": "0xffffd1a240000000"}))
        first, last = m.resolve([0x100000, 0x107fff])
        assert first["struct_page_vaddr"] == "0xffffd1a244000000"
        assert first["backing_pfn"] == "0x100000" and last["backing_pfn"] == "0x1001ff"
        assert m.summary()["vmemmap_base"] == "0xffffd1a240000000"


# --------------------------------------------------------------------------- TV-9
BARE_96G = [{"start": 0, "size": "4G"}, {"start": "0x1780000000", "size": "2G"}]   # boot end 96 GiB
ADD_64G = {"op": "add_memory", "start": "0x1000000000", "size": "2G"}
ONLINE_64G = {"op": "online", "start": "0x1000000000", "size": "2G"}


class TestTV9:
    def test_2g_block(self, ev):
        base = ev(scen(boot_memory=BARE_96G)).summary()
        m = ev(scen(ADD_64G, ONLINE_64G, boot_memory=BARE_96G))
        s = m.summary()
        assert s["memory_block_size"] == "2G"
        b = block(m, 32)
        assert b["name"] == "memory32" and (b["start_pfn"], b["end_pfn"]) == ("0x1000000", "0x1080000")
        assert one(m, 0x1000000)["section"] == 512 and one(m, 0x107ffff)["section"] == 527
        mm = b["memmap"]
        assert (mm["where"], mm["start_pfn"], mm["nr_pages"], mm["mapping"]) == ("self", "0x1000000", 8192, "pmd")
        assert [r["role"] for r in m.resolve([0x1001fff, 0x1002000])] == ["memmap_self", "usable"]
        assert one(m, 0x1000000)["struct_page_vaddr"] == "0xffffea0040000000"
        # 16 PMD leaves: the struct pages of each 128 MiB start a new 2 MiB frame run
        rs = m.resolve([0x1000000 + k * 32768 for k in range(16)])
        assert [int(r["backing_pfn"], 16) for r in rs] == [0x1000000 + k * 512 for k in range(16)]
        assert {r["mapping"] for r in rs} == {"pmd"}
        assert s["managed_pages"] - base["managed_pages"] == 516096      # 2016 MiB usable

    def test_1g_page_refused_and_none_in_first_gib(self, ev):
        m = ev(scen(ADD_64G, ONLINE_64G, hp("1G", "0x1000000000"), hp("1G", "0x1040000000"),
                    boot_memory=BARE_96G))
        assert outcomes(m) == ["ok", "ok", "refused", "ok"]
        (p,) = m.hugepages()
        assert p["head_pfn"] == "0x1040000" and p["vmemmap_vaddr"] == "0xffffea0041000000"
        assert p["hvo"] == "refused" and p["freed_pages"] == 0
        assert one(m, 0x1040000)["backing_pfn"] == "0x1001000"
        cols = m.resolve_columns([0x1040000 + k * 64 for k in range(4096)])
        assert list(cols["backing"]) == list(range(0x1001000, 0x1002000))


# --------------------------------------------------------------------------- TV-10
ADD_DIMM = {"op": "add_memory", "start": "0x100000000", "size": "1G"}
ONLINE_DIMM = {"op": "online", "start": "0x100000000", "size": "1G"}


class TestTV10:
    def test_6_8_eight_altmaps(self, ev):
        base = ev(scen()).summary()
        m = ev(scen(ADD_DIMM, ONLINE_DIMM, hp("1G", "0x100000000"),
                    {"op": "alloc_hugepages", "size": "2M", "count": 504}))
        assert [b["name"] for b in m.blocks() if not b["boot"]] == [f"memory{i}" for i in range(32, 40)]
        for k, bid in enumerate(range(32, 40)):
            mm = block(m, bid)["memmap"]
            assert (mm["where"], mm["start_pfn"], mm["nr_pages"]) == ("self", hex(0x100000 + k * 0x8000), 512)
            assert one(m, 0x100000 + k * 0x8000 + 0x1ff)["role"] == "memmap_self"
            assert one(m, 0x100000 + k * 0x8000)["maps_to_itself"] is True
        s = m.summary()
        assert s["self_hosted_pages"] == 4096
        assert s["present_pages"] - base["present_pages"] == 262144
        assert s["managed_pages"] - base["managed_pages"] == 258048
        assert m.events()[2]["outcome"] == "refused"            # no 1G HugeTLB possible
        dimm = [p for p in m.hugepages() if p["block"] is not None and 32 <= p["block"] < 40]
        assert len(dimm) == 504 and {p["size"] for p in dimm} == {"2M"}
        assert {p["hvo"] for p in dimm} == {"refused"}           # every 2M page refused

    @pytest.mark.parametrize("kernel", ["5.13", "6.0", "6.7"])
    def test_before_6_8_memmap_from_buddy(self, ev, kernel):
        base = ev(scen(kernel=kernel)).summary()
        m = ev(scen(ADD_DIMM, ONLINE_DIMM, kernel=kernel))
        dimm = [b for b in m.blocks() if not b["boot"]]
        assert len(dimm) == 8
        assert {b["memmap"]["where"] for b in dimm} == {"buddy"}
        assert sum(b["memmap"]["nr_pages"] for b in dimm) == 4096
        assert not any(b["memmap_on_memory"]["used"] for b in dimm)
        s = m.summary()
        assert s["self_hosted_pages"] == 0
        assert s["managed_pages"] - base["managed_pages"] == 262144

    @pytest.mark.parametrize("kernel", ["6.0", "6.7"])
    def test_before_6_8_hvo_optimises_normally(self, ev, kernel):
        m = ev(scen(ADD_DIMM, ONLINE_DIMM, hp("1G", "0x100000000"), kernel=kernel))
        (p,) = m.hugepages()
        assert (p["hvo"], p["freed_pages"]) == ("optimized", 4095)
        m = ev(scen(ADD_DIMM, ONLINE_DIMM, hp("2M", "0x100200000"), kernel=kernel))
        (p,) = m.hugepages()
        assert (p["hvo"], p["freed_pages"]) == ("optimized", 7)


# --------------------------------------------------------------------------- TV-11
@pytest.mark.parametrize("kernel", ["6.6", "6.8", "6.12"])
def test_tv11_force_mode_x86(ev, kernel):
    m = ev(scen(ADD_4G, ONLINE_4G, kernel=kernel, params={"memmap_on_memory": "force"}))
    mm = block(m, 32)["memmap"]
    assert (mm["where"], mm["nr_pages"], mm["reserved_pages"]) == ("self", 512, 512)
    s = m.summary()
    assert "Memory hotplug will waste 0 pages in each memory block" in s["dmesg"]
    assert s["role_pages"]["altmap_reserved"] == 0


# --------------------------------------------------------------------------- TV-12
def arm64(page_size: str, *ops, kernel: str = "6.9", **kw) -> dict:
    return scen(*ops, kernel=kernel,
                machine={"arch": "arm64", "page_size": page_size, "memstart": "0x40000000"},
                boot_memory=kw.pop("boot_memory", [{"start": "0x40000000", "size": "2G"}]), **kw)


class TestTV12:
    def test_arm64_4k(self, ev):
        m = ev(arm64("4K", ADD_4G, ONLINE_4G))
        r = one(m, 0x100000)
        assert r["struct_page_vaddr"] == "0xfffffdffc3000000"
        assert r["backing_pfn"] == "0x100000" and r["mapping"] == "pmd" and r["maps_to_itself"]
        mm = block(m, 32)["memmap"]
        assert (mm["where"], mm["start_pfn"], mm["nr_pages"], mm["mapping"]) == ("self", "0x100000", 512, "pmd")
        assert one(m, 0x1001ff)["role"] == "memmap_self" and one(m, 0x100200)["role"] == "usable"
        assert block(m, 32)["self_mapping_pfn"] == "0x100000"
        assert m.summary()["memstart"] == "0x40000000"

    @pytest.mark.parametrize("page_size,size,pfn,va", [
        ("16K", "128M", 0x40000, "0xffffff7fc0c00000"),
        ("64K", "512M", 0x10000, "0xffffffdfc0300000"),
    ])
    def test_arm64_16k_64k(self, ev, page_size, size, pfn, va):
        add = {"op": "add_memory", "start": "0x100000000", "size": size}
        m = ev(arm64(page_size, add))
        assert outcomes(m) == ["ok"]
        r = one(m, pfn)
        assert r["struct_page_vaddr"] == va
        assert r["mapping"] == "pte"                     # 16K/64K vmemmap: PTEs only


# --------------------------------------------------------------------------- TV-13
class TestTV13:
    def test_16k_default_refused_pageblock(self, ev):
        m = ev(arm64("16K", ADD_4G))
        b = block(m, 32)
        assert b["memmap_on_memory"]["used"] is False
        assert "2048" in b["memmap_on_memory"]["reason"]           # pageblock_nr_pages
        assert b["memmap"]["nr_pages"] == 32 and b["memmap"]["where"] == "buddy"

    def test_16k_force_refused_pmd(self, ev):
        m = ev(arm64("16K", ADD_4G, params={"memmap_on_memory": "force"}))
        b = block(m, 32)
        assert b["memmap_on_memory"]["used"] is False
        assert "PMD" in b["memmap_on_memory"]["reason"]
        assert "Memory hotplug will waste 2016 pages in each memory block" in m.summary()["dmesg"]

    def test_64k_default_refused_pageblock(self, ev):
        m = ev(arm64("64K", {"op": "add_memory", "start": "0x100000000", "size": "512M"}))
        b = block(m, 8)
        assert m.summary()["memory_block_size"] == "512M"
        assert b["memmap_on_memory"]["used"] is False and "8192" in b["memmap_on_memory"]["reason"]
        assert b["memmap"]["nr_pages"] == 8

    def test_64k_force_refused_no_usable_memory(self, ev):
        m = ev(arm64("64K", {"op": "add_memory", "start": "0x100000000", "size": "512M"},
                     params={"memmap_on_memory": "force"}))
        b = block(m, 8)
        assert b["memmap_on_memory"]["used"] is False
        assert "no usable memory" in b["memmap_on_memory"]["reason"]


# --------------------------------------------------------------------------- TV-14
@pytest.mark.parametrize("bs,nr,accepted", [
    ("128M", 640, False), ("256M", 1280, False), ("512M", 2560, True), ("1G", 5120, True),
    ("2G", 10240, True),
])
def test_tv14_struct_page_80(ev, bs, nr, accepted):
    m = ev(scen({"op": "add_memory", "start": "0x100000000", "size": bs}, hp("2M", "0x40000000"),
                {"op": "sysctl", "hugetlb_optimize_vmemmap": True},
                machine={"struct_page_size": 80, "memory_block_size": bs}))
    assert m.summary()["memory_block_size"] == bs
    b = block(m, 4 * GiB // BYTES[bs])
    assert b["memmap_on_memory"]["used"] is accepted
    assert b["memmap"]["nr_pages"] == nr
    assert b["memmap"]["where"] == ("self" if accepted else "buddy")
    # HVO disabled entirely: 80 is not a power of two
    (p,) = m.hugepages()
    assert p["hvo"] == "not_optimizable" and "power of two" in p["reason"]
    assert not any("vmemmap" in line for line in m.summary()["dmesg"])
    assert m.events()[2]["outcome"] == "refused"                 # no sysctl registered


def test_tv14_force_128m_still_refused(ev):
    m = ev(scen(ADD_4G, machine={"struct_page_size": 80}, params={"memmap_on_memory": "force"}))
    b = block(m, 32)
    assert b["memmap_on_memory"]["used"] is False and "PMD" in b["memmap_on_memory"]["reason"]


# --------------------------------------------------------------------------- TV-15
@pytest.mark.parametrize("boot,hypervisor,mb", [
    ([(0, 16 * GiB)], False, 128),
    ([(0, 4 * GiB), (92 * GiB, 4 * GiB)], False, 2048),
    ([(0, 4 * GiB), (0x10A0000000 - GiB, GiB)], True, 512),
    ([(0, 4 * GiB), (0x1880000000 - GiB, GiB)], True, 2048),
    ([(0, 4 * GiB), (0x1008000000 - (128 << 20), 128 << 20)], True, 128),
])
def test_tv15_block_size_probe(ev, boot, hypervisor, mb):
    m = ev(scen(machine={"hypervisor": hypervisor},
                boot_memory=[{"start": s, "size": z} for s, z in boot]))
    s = m.summary()
    assert s["dmesg"][0] == f"x86/mm: Memory block size: {mb}MB"
    assert s["memory_block_size"] == (f"{mb >> 10}G" if mb >= 1024 else f"{mb}M")


# --------------------------------------------------------------------------- TV-16
ARM_HVO = {
    # page size: (boot RAM from 0x40000000, [(size, at, expected freed or None = not optimisable)])
    "4K": ("8G", [("64K", "0x80000000", None), ("2M", "0x80200000", 7), ("32M", "0x82000000", 127),
                  ("1G", "0xc0000000", 4095)]),
    "16K": ("8G", [("2M", "0x80000000", None), ("32M", "0x82000000", 7), ("1G", "0xc0000000", 255)]),
    "64K": ("40G", [("2M", "0x80000000", None), ("512M", "0xa0000000", 7), ("16G", "0x400000000", 255)]),
}


@pytest.mark.parametrize("kernel", ["5.19", "6.2"])
@pytest.mark.parametrize("page_size", ["4K", "16K", "64K"])
def test_tv16_arm64_hvo_sizes(ev, kernel, page_size):
    ram, pages = ARM_HVO[page_size]
    m = ev(arm64(page_size, *[hp(s, at) for s, at, _ in pages], kernel=kernel,
                 boot_memory=[{"start": "0x40000000", "size": ram}]))
    assert outcomes(m) == ["ok"] * len(pages)
    got = {p["size"]: p for p in m.hugepages()}
    for size, _, freed in pages:
        p = got[size]
        if freed is None:
            assert (p["hvo"], p["freed_pages"]) == ("not_optimizable", 0), size
        else:
            assert (p["hvo"], p["freed_pages"]) == ("optimized", freed), size


@pytest.mark.parametrize("kernel", ["5.18", "6.3", "6.8"])
def test_tv16_arm64_hvo_unavailable(ev, kernel):
    ram, pages = ARM_HVO["4K"]
    m = ev(arm64("4K", *[hp(s, at) for s, at, _ in pages], kernel=kernel,
                 boot_memory=[{"start": "0x40000000", "size": ram}]))
    assert {p["hvo"] for p in m.hugepages()} == {"not_optimizable"}
    assert all("arm64" in p["reason"] for p in m.hugepages())
    assert m.summary()["hvo_freed_pages"] == 0 and m.summary()["hvo_enabled"] is False


# --------------------------------------------------------------------------- TV-17
class TestTV17:
    @pytest.mark.parametrize("size,span,restored", [("2M", "128M", 7), ("1G", "1G", 4095)])
    def test_dissolve_for_offline(self, ev, size, span, restored):
        m = ev(scen(hp(size, "0x40000000"), {"op": "offline", "start": "0x40000000", "size": span}))
        assert outcomes(m) == ["ok", "ok"]
        assert m.hugepages() == []
        assert block(m, 8)["state"] == "offline"
        assert m.summary()["role_pages"]["vmemmap_restored"] == restored

    def test_dissolve_failure_aborts_offline(self, ev):
        # The huge page pool takes every 2 MiB the buddy allocator has left, and the head copies
        # and PTE tables take the rest: the vmemmap restore (7 order-0 pages) cannot be allocated.
        # NB: the engine never hands HVO-freed vmemmap frames back to the allocator (they count in
        # free_pages but stay coloured hvo_freed); a kernel could use them for the restore, so on a
        # real machine this needs more pressure (slab, page cache) than the ops can express.
        m = ev(scen(hp("2M", "0x40000000"), {"op": "alloc_hugepages", "size": "2M", "count": 100000},
                    {"op": "offline", "start": "0x40000000", "size": "128M"}))
        off = m.events()[2]
        assert off["outcome"] == "refused"
        assert "failure to dissolve huge pages" in off["message"] and "7" in off["message"]
        p = next(p for p in m.hugepages() if p["head_pfn"] == "0x40000")
        assert p["hvo"] == "optimized"                   # kept as a HugeTLB page
        assert block(m, 8)["state"] == "online"


# --------------------------------------------------------------------------- TV-18
SHARED = [{"op": "add_memory", "start": "0x100000000", "size": "1G", "altmap_scope": "range"},
          ONLINE_DIMM, hp("2M", "0x118200000")]


class TestTV18:
    def test_shared_altmap_geometry(self, ev):
        m = ev(scen(*SHARED))
        assert one(m, 0x100fff)["role"] == "memmap_self" and one(m, 0x101000)["role"] == "usable"
        assert m.summary()["self_hosted_pages"] == 4096
        assert one(m, 0x118200)["backing_pfn"] == "0x100608"
        first35 = one(m, 0x118000)
        assert first35["block"] == 35
        assert first35["backing_pfn"] == "0x100600" and first35["maps_to_itself"] is False
        assert first35["role"] == "usable"                      # C tests a usable, unflagged pfn

    @pytest.mark.parametrize("policy,verdict", [
        ("merged", "refused"), ("section_flag", "refused"),
        ("first_page_maps_to_itself", "optimized"), ("block_first_pfn_flag", "optimized"),
    ])
    def test_policies(self, ev, policy, verdict):
        m = ev(scen(*SHARED, params={"selfhosted_check": policy}))
        (p,) = m.hugepages()
        assert p["hvo"] == verdict
        freed_self = m.summary()["role_pages"]["hvo_freed_selfhosted"]
        if verdict == "optimized":     # B and C free frames that belong to the altmap
            assert freed_self > 0 and block(m, 32)["hazards"]
            assert "HAZARD" in p["reason"] and policy in p["reason"] and "0x100608" in p["reason"]
        else:
            assert freed_self == 0 and not block(m, 32)["hazards"]
