"""A CPU-time budget for one evaluation, so no scenario can hold a server worker for long: the replay
ticks it in its per-block and per-huge-page loops and stops with a ScenarioError at the op that
ran out of time. Reading the clock is the engine's only contact with the outside world.

The clock is the evaluating thread's CPU time (time.thread_time), not wall time: a replay that waits
for the GIL or a core while other requests run is not charged for their work, so concurrency never
turns a valid scenario into a refusal. The budget must be created, ticked and checked on one thread.
"""
from __future__ import annotations

import time

from .errors import ScenarioError

__all__ = ["Budget", "OverBudget"]


class OverBudget(ScenarioError):
    """The scenario needs more CPU time than one request may take."""


class Budget:
    __slots__ = ("seconds", "deadline", "n", "where")

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        # a deadline on this thread's CPU clock
        self.deadline = None if seconds is None else time.thread_time() + seconds
        self.n = 0
        self.where: tuple = ("boot_memory",)

    @property
    def used(self) -> float:
        """CPU seconds this thread has spent since the budget started (0 without a limit)."""
        return 0.0 if self.deadline is None else time.thread_time() - (self.deadline - self.seconds)

    def tick(self) -> None:
        """Cheap enough for inner loops: looks at the clock every 8 calls (one call may be a 1 GiB
        page's HVO, so coarser steps would overshoot)."""
        self.n += 1
        if self.deadline is not None and not self.n & 7:
            self.check()

    def check(self) -> None:
        if self.deadline is not None and time.thread_time() > self.deadline:
            raise OverBudget(self.where, f"evaluation stopped here after {self.seconds:g} s of CPU time: this "
                             "scenario needs more time than one request may take (fewer blocks or huge pages, "
                             "or a larger memory_block_size)")
