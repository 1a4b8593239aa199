"""Sorted, non-overlapping [start, end) ranges with a value each: the simulator's only state shape.

Memory is described by ranges, never by an array per pfn, so a 64 TiB machine costs what its
ranges cost.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Iterator

__all__ = ["RangeMap", "FreeList"]


class RangeMap:
    """[start, end) -> int value; assign() overwrites, adjacent equal values merge."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.vals = array("q")

    def __len__(self) -> int:
        return len(self.starts)

    def find(self, x: int) -> int:
        """Index of the range holding x, or -1."""
        i = bisect_right(self.starts, x) - 1
        if i >= 0 and x < self.ends[i]:
            return i
        return -1

    def get(self, x: int, default: int = -1) -> int:
        i = self.find(x)
        return self.vals[i] if i >= 0 else default

    def overlapping(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(start, end, value) of the pieces inside [start, end)."""
        i = max(bisect_right(self.starts, start) - 1, 0)
        n = len(self.starts)
        while i < n and self.starts[i] < end:
            s, e = max(self.starts[i], start), min(self.ends[i], end)
            if s < e:
                yield s, e, self.vals[i]
            i += 1

    def clear(self, start: int, end: int) -> None:
        if start >= end:
            return
        i = max(bisect_right(self.starts, start) - 1, 0)
        j = i
        n = len(self.starts)
        keep_s, keep_e, keep_v = [], [], []
        while j < n and self.starts[j] < end:
            s, e, v = self.starts[j], self.ends[j], self.vals[j]
            if e <= start:
                keep_s.append(s); keep_e.append(e); keep_v.append(v)
            else:
                if s < start:
                    keep_s.append(s); keep_e.append(start); keep_v.append(v)
                if e > end:
                    keep_s.append(end); keep_e.append(e); keep_v.append(v)
            j += 1
        self.starts[i:j] = array("q", keep_s)
        self.ends[i:j] = array("q", keep_e)
        self.vals[i:j] = array("q", keep_v)

    def assign(self, start: int, end: int, value: int) -> None:
        if start >= end:
            return
        n = len(self.starts)
        if n == 0 or start >= self.ends[n - 1]:          # fast path: append
            if n and self.ends[n - 1] == start and self.vals[n - 1] == value:
                self.ends[n - 1] = end
            else:
                self.starts.append(start); self.ends.append(end); self.vals.append(value)
            return
        self.clear(start, end)
        i = bisect_right(self.starts, start)
        # merge with neighbours holding the same value
        if i > 0 and self.ends[i - 1] == start and self.vals[i - 1] == value:
            i -= 1
            start = self.starts[i]
            del self.starts[i], self.ends[i], self.vals[i]
        if i < len(self.starts) and self.starts[i] == end and self.vals[i] == value:
            end = self.ends[i]
            del self.starts[i], self.ends[i], self.vals[i]
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.vals.insert(i, value)

    def total(self, value: int | None = None) -> int:
        return sum(e - s for s, e, v in zip(self.starts, self.ends, self.vals)
                   if value is None or v == value)


class FreeList:
    """Free pfn ranges of one (node, zone): a deterministic, lowest-address-first allocator."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")

    def __len__(self) -> int:
        return len(self.starts)

    def nr_free(self) -> int:
        return sum(self.ends) - sum(self.starts)

    def free(self, start: int, end: int) -> None:
        """Give [start, end) back, merging with neighbours (the range must not be free already)."""
        if start >= end:
            return
        n = len(self.starts)
        if n == 0 or start > self.ends[n - 1]:            # fast path: append
            self.starts.append(start); self.ends.append(end)
            return
        i = bisect_right(self.starts, start)
        if i > 0 and self.ends[i - 1] == start:
            i -= 1
            self.ends[i] = end
        else:
            self.starts.insert(i, start)
            self.ends.insert(i, end)
        if i + 1 < len(self.starts) and self.starts[i + 1] == self.ends[i]:
            self.ends[i] = self.ends[i + 1]
            del self.starts[i + 1], self.ends[i + 1]

    def take(self, start: int, end: int) -> int:
        """Remove whatever is free in [start, end); returns how many pages were taken."""
        taken = 0
        i = max(bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            s, e = self.starts[i], self.ends[i]
            lo, hi = max(s, start), min(e, end)
            if lo >= hi:
                i += 1
                continue
            taken += hi - lo
            if s < lo and e > hi:
                self.ends[i] = lo
                self.starts.insert(i + 1, hi)
                self.ends.insert(i + 1, e)
                i += 2
            elif s < lo:
                self.ends[i] = lo
                i += 1
            elif e > hi:
                self.starts[i] = hi
                i += 1
            else:
                del self.starts[i], self.ends[i]
        return taken

    def is_free(self, start: int, end: int) -> bool:
        i = bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def alloc(self, nr: int, align: int = 1) -> int:
        """Lowest naturally aligned free run of nr pages; -1 if none."""
        for i in range(len(self.starts)):
            s = self.starts[i]
            a = (s + align - 1) // align * align
            if a + nr <= self.ends[i]:
                self.take(a, a + nr)
                return a
        return -1

    def alloc_many(self, nr: int, align: int, count: int) -> list[range]:
        """Up to count aligned runs of nr pages, lowest first, as ranges of head pfns."""
        out: list[range] = []
        i = 0
        while count > 0 and i < len(self.starts):
            s, e = self.starts[i], self.ends[i]
            a = (s + align - 1) // align * align
            k = min((e - a) // nr, count) if e > a else 0
            if k <= 0:
                i += 1
                continue
            out.append(range(a, a + k * nr, nr))
            count -= k
            before = len(self.starts)
            self.take(a, a + k * nr)
            i += len(self.starts) - before + 1
        return out
