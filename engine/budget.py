"""A time budget for one evaluation, so no scenario can hold a server worker for long: the replay
ticks it in its per-block and per-huge-page loops and stops with a ScenarioError at the op that
ran out of time. Reading the clock is the engine's only contact with the outside world."""
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
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.n = 0
        self.where: tuple = ("boot_memory",)

    def tick(self) -> None:
        """Cheap enough for inner loops: looks at the clock every 8 calls (one call may be a 1 GiB
        page's HVO, so coarser steps would overshoot)."""
        self.n += 1
        if self.deadline is not None and not self.n & 7:
            self.check()

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OverBudget(self.where, f"evaluation stopped here after {self.seconds:g} s: this scenario "
                             "needs more time than one request may take (fewer blocks or huge pages, or "
                             "a larger memory_block_size)")
