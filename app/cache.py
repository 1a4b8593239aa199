"""Evaluated machines by content, so zoom and hover queries never replay a scenario.

An LRU bounded by entry count and by bytes (EvaluatedMachine.nbytes, the tables' estimate; default
384 MiB, VMEMSCOPE_CACHE_BYTES). The key is the hash of the normalised scenario document, whatever
route it came by: an inline document and the same document saved under an id share one machine,
so one dashboard edit (save, then evaluate by id) replays once. Saved ids map to their content key
through a small alias table. Concurrent requests for one key wait for one evaluation.
An evicted machine is dropped at once: the cache holds the only reference, and the engine's
machines hold no reference cycles, so its memory returns without waiting for a full GC.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from engine import EvaluatedMachine

__all__ = ["MachineCache", "DEFAULT_BYTES"]

DEFAULT_BYTES = 384 << 20
MAX_ALIASES = 65_536


class MachineCache:
    def __init__(self, max_entries: int = 32, max_bytes: int = DEFAULT_BYTES, budget_s: float | None = None) -> None:
        self.budget_s = budget_s          # CPU time one replay may take (engine.budget)
        self.max_entries = max(1, max_entries)
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[EvaluatedMachine, int]] = OrderedDict()
        self._aliases: OrderedDict[str, str] = OrderedDict()     # saved id -> content key
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self.hits = self.misses = self.evictions = 0

    def get_or_evaluate(self, key: str, build: Callable[[], EvaluatedMachine]) -> EvaluatedMachine:
        """The machine under `key`, or build() it once (misses counts the replays)."""
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
                self._put(key, m)       # cached before the gate goes: a latecomer finds it, not a new gate
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
            return m

    def peek(self, key: str) -> EvaluatedMachine | None:
        """The cached machine, or None (never evaluates: safe on the event loop)."""
        with self._lock:
            return self._take(key)

    def alias(self, sid: str, key: str) -> None:
        """Remember that saved scenario `sid` has content key `key` (saved documents never change)."""
        with self._lock:
            self._aliases[sid] = key
            self._aliases.move_to_end(sid)
            while len(self._aliases) > MAX_ALIASES:
                self._aliases.popitem(last=False)

    def key_of(self, sid: str) -> str | None:
        with self._lock:
            return self._aliases.get(sid)

    def _take(self, key: str) -> EvaluatedMachine | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def _put(self, key: str, m: EvaluatedMachine) -> None:
        size = m.nbytes
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (m, size)
            self._bytes += size
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, (_, old) = self._items.popitem(last=False)
                self._bytes -= old
                self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "bytes": self._bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses, "evictions": self.evictions}
