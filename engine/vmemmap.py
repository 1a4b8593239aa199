"""The vmemmap page table: which frame backs each page of the struct page array, and how it is mapped.

Indexed by vmemmap page number v = (VA - VMEMMAP_START) >> PAGE_SHIFT, where
VA(pfn) = VMEMMAP_START + (pfn - memstart_pfn) * sizeof(struct page)  (asm-generic/memory_model.h).
A run maps [vstart, vend) to consecutive frames from `backing`; PMD leaves are runs aligned to a PMD.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right

__all__ = ["VmemmapRuns", "PMD", "PTE"]

PMD, PTE = 1, 2


class VmemmapRuns:
    """Sorted runs (vstart, vend, backing pfn, kind = role of the frames, mapping PMD/PTE)."""

    def __init__(self) -> None:
        self.vstart = array("q")
        self.vend = array("q")
        self.backing = array("q")
        self.kind = array("q")
        self.mapping = array("q")

    def __len__(self) -> int:
        return len(self.vstart)

    def find(self, v: int) -> int:
        i = bisect_right(self.vstart, v) - 1
        return i if i >= 0 and v < self.vend[i] else -1

    def lookup(self, v: int) -> tuple[int, int, int]:
        """(backing pfn, kind, mapping) of vmemmap page v, or (-1, -1, 0) if unmapped."""
        i = self.find(v)
        if i < 0:
            return -1, -1, 0
        return self.backing[i] + v - self.vstart[i], self.kind[i], self.mapping[i]

    def is_mapped(self, vstart: int, vend: int) -> bool:
        """True if every page of [vstart, vend) is mapped."""
        v = vstart
        while v < vend:
            i = self.find(v)
            if i < 0:
                return False
            v = self.vend[i]
        return True

    def unmapped(self, vstart: int, vend: int) -> list[tuple[int, int]]:
        """The holes of [vstart, vend)."""
        out, v = [], vstart
        i = max(bisect_right(self.vstart, vstart) - 1, 0)
        n = len(self.vstart)
        while v < vend:
            while i < n and self.vend[i] <= v:
                i += 1
            if i >= n or self.vstart[i] >= vend:
                out.append((v, vend))
                break
            if self.vstart[i] > v:
                out.append((v, self.vstart[i]))
            v = self.vend[i]
        return out

    def add(self, vstart: int, vend: int, backing: int, kind: int, mapping: int) -> None:
        """Map [vstart, vend) (must be unmapped); merges with a contiguous predecessor."""
        n = len(self.vstart)
        i = n if n == 0 or vstart >= self.vend[n - 1] else bisect_right(self.vstart, vstart)
        if (i > 0 and self.vend[i - 1] == vstart and self.kind[i - 1] == kind
                and self.mapping[i - 1] == mapping
                and self.backing[i - 1] + (vstart - self.vstart[i - 1]) == backing):
            self.vend[i - 1] = vend
            return
        for col, val in ((self.vstart, vstart), (self.vend, vend), (self.backing, backing),
                         (self.kind, kind), (self.mapping, mapping)):
            if i == n:
                col.append(val)
            else:
                col.insert(i, val)

    def remove(self, vstart: int, vend: int) -> list[tuple[int, int, int]]:
        """Unmap [vstart, vend); returns the frames released as (pfn, nr, kind)."""
        released = []
        i = max(bisect_right(self.vstart, vstart) - 1, 0)
        while i < len(self.vstart) and self.vstart[i] < vend:
            s, e = self.vstart[i], self.vend[i]
            lo, hi = max(s, vstart), min(e, vend)
            if lo >= hi:
                i += 1
                continue
            b, k, m = self.backing[i], self.kind[i], self.mapping[i]
            released.append((b + lo - s, hi - lo, k))
            pieces = []
            if s < lo:
                pieces.append((s, lo, b))
            if hi < e:
                pieces.append((hi, e, b + hi - s))
            for col in (self.vstart, self.vend, self.backing, self.kind, self.mapping):
                del col[i]
            for ps, pe, pb in pieces:
                for col, val in ((self.vstart, ps), (self.vend, pe), (self.backing, pb),
                                 (self.kind, k), (self.mapping, m)):
                    col.insert(i, val)
                i += 1
        return released
