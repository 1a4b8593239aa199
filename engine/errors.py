"""Errors the engine raises for input it cannot model (the API turns them into 422)."""
from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """A scenario that is malformed for this machine; `loc` is the field path, e.g. ("ops", 3, "start")."""

    def __init__(self, loc: tuple[str | int, ...], msg: str) -> None:
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}")
        self.loc = loc
        self.msg = msg
