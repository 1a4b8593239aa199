"""A small deterministic physical page allocator per node and zone (the behaviour of mm/page_alloc.c
that matters here, not its data structures).

Policy, chosen to be predictable and close to what the recorded 6.1/6.12 kernels did: within a zone
the lowest free, naturally aligned run wins; zones are tried in zonelist order (highest first);
nodes in order of distance (|a - b|, then id) unless the request is __GFP_THISNODE.
"""
from __future__ import annotations

from .rangemap import FreeList

__all__ = ["Buddy", "GFP_KERNEL_ZONES", "GFP_MOVABLE_ZONES", "ZONES"]

ZONES = ("DMA", "DMA32", "Normal", "Movable")
# ZONE_DMA is kept for DMA here (lowmem_reserve); kernel allocations never use ZONE_MOVABLE.
GFP_KERNEL_ZONES = ("Normal", "DMA32")
GFP_MOVABLE_ZONES = ("Movable", "Normal", "DMA32")


class Buddy:
    """Free lists keyed by (node, zone)."""

    def __init__(self, dma_fallback: bool = False) -> None:
        self.lists: dict[tuple[int, str], FreeList] = {}
        # arm64: ZONE_DMA spans the RAM below 4 GiB (ZONE_DMA32 is empty) and is an ordinary
        # fallback zone; x86's 16 MiB ZONE_DMA stays kept back by lowmem_reserve.
        self.dma_fallback = dma_fallback

    def zonelist(self, zones: tuple[str, ...]) -> tuple[str, ...]:
        return zones + ("DMA",) if self.dma_fallback and "DMA" not in zones else zones

    def freelist(self, node: int, zone: str) -> FreeList:
        fl = self.lists.get((node, zone))
        if fl is None:
            fl = self.lists[(node, zone)] = FreeList()
        return fl

    def nodes(self) -> list[int]:
        return sorted({n for n, _ in self.lists})

    def node_order(self, node: int, thisnode: bool) -> list[int]:
        if thisnode:
            return [node]
        others = [n for n in self.nodes() if n != node]
        return [node] + sorted(others, key=lambda n: (abs(n - node), n))

    def alloc(self, node: int, nr: int, zones: tuple[str, ...] = GFP_KERNEL_ZONES,
              thisnode: bool = False, align: int | None = None) -> tuple[int, int]:
        """Allocate nr pages (aligned to nr unless told); returns (pfn, node) or (-1, -1)."""
        align = nr if align is None else align
        for n in self.node_order(node, thisnode):
            for z in self.zonelist(zones):
                fl = self.lists.get((n, z))
                if fl is not None and len(fl):
                    pfn = fl.alloc(nr, align)
                    if pfn >= 0:
                        return pfn, n
        return -1, -1

    def alloc_pages(self, node: int, count: int, zones: tuple[str, ...] = GFP_KERNEL_ZONES,
                    thisnode: bool = False) -> list[tuple[int, int]] | None:
        """count order-0 pages as runs [(pfn, nr)], lowest first; None (nothing taken) if short."""
        runs: list[tuple[int, int]] = []
        need = count
        for n in self.node_order(node, thisnode):
            for z in self.zonelist(zones):
                fl = self.lists.get((n, z))
                if fl is None:
                    continue
                starts, ends = fl.starts, fl.ends      # read only here: nothing is taken until the end
                i = 0
                while need and i < len(starts):
                    k = min(ends[i] - starts[i], need)
                    runs.append((starts[i], k, n, z))
                    need -= k
                    i += 1
                if need == 0:
                    break
            if need == 0:
                break
        if need:
            return None
        for s, k, n, z in runs:
            self.lists[(n, z)].take(s, s + k)
        return [(s, k) for s, k, _, _ in runs]

    def zone_of_free(self, pfn: int) -> tuple[int, str] | None:
        for key, fl in self.lists.items():
            if fl.is_free(pfn, pfn + 1):
                return key
        return None

    def nr_free(self) -> int:
        return sum(fl.nr_free() for fl in self.lists.values())
