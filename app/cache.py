"""Evaluated machines by scenario id, so zoom and hover queries never replay a scenario.

An LRU bounded by entry count and by weight (rows of the frozen query tables: a 64 TiB machine
with a million huge pages weighs about 1.1 M). Concurrent requests for the same id wait for one
evaluation instead of each replaying it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from engine import EvaluatedMachine

__all__ = ["MachineCache"]


def weight(m: EvaluatedMachine) -> int:
    t = m.tables
    return 1 + len(t.pr_start) + len(t.rl_start) + len(t.hp_head) + len(t.vm_vstart) + len(t.ov_vstart)


class MachineCache:
    def __init__(self, max_entries: int = 32, max_weight: int = 4_000_000, budget_s: float | None = None) -> None:
        self.budget_s = budget_s          # CPU time one replay may take (engine.budget)
        self.max_entries = max(1, max_entries)
        self.max_weight = max_weight
        self._items: OrderedDict[str, tuple[EvaluatedMachine, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self.hits = self.misses = 0

    def get_or_evaluate(self, key: str, build: Callable[[], EvaluatedMachine]) -> EvaluatedMachine:
        with self._lock:
            hit = self._take(key)
            if hit is not None:
                return hit
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:                      # one evaluation per key; latecomers find it cached
            with self._lock:
                hit = self._take(key)
                if hit is not None:
                    return hit
                self.misses += 1
            try:
                m = build()
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            self._put(key, m)
            return m

    def peek(self, key: str) -> EvaluatedMachine | None:
        """The cached machine, or None (never evaluates: safe on the event loop)."""
        with self._lock:
            return self._take(key)

    def _take(self, key: str) -> EvaluatedMachine | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def _put(self, key: str, m: EvaluatedMachine) -> None:
        w = weight(m)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (m, w)
            self._weight += w
            while len(self._items) > 1 and (len(self._items) > self.max_entries
                                            or self._weight > self.max_weight):
                _, (_, ow) = self._items.popitem(last=False)
                self._weight -= ow

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "weight": self._weight, "hits": self.hits,
                    "misses": self.misses}
