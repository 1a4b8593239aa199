"""vmemscope engine: a simulator of Linux's vmemmap, memory hotplug, memmap_on_memory and HVO.

Pure computation, no I/O. `evaluate(scenario)` replays a scenario document and returns a
`Machine` that answers `resolve`, `window` and `summary`.
"""
from __future__ import annotations

from .errors import ScenarioError
from .scenario import Scenario
from .api import EvaluatedMachine, evaluate, implementation

__all__ = ["evaluate", "EvaluatedMachine", "Scenario", "ScenarioError", "implementation"]
