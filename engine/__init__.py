"""vmemscope engine: a simulator of Linux's vmemmap, memory hotplug, memmap_on_memory and HVO.

Pure computation, no I/O. `evaluate(scenario)` replays a scenario document and returns an
`EvaluatedMachine` that answers `resolve`, `window`, `vmemmap`, `chain` and `summary`.
This module is the engine's whole public face: the app imports nothing else from the package.
"""
from __future__ import annotations

from .errors import ScenarioError
from .scenario import Addr, Pfn, PfnList, Scenario
from .units import ADDR_PATTERN, format_size, parse_addr, parse_size
from .codes import KPF, MAPPINGS, MAX_BLOCKS, ROLES
from .presets import DEFAULT_SCENARIO, presets
from .api import FIXED_POINT_WHY, MAX_BINS, MAX_RESOLVE, EvaluatedMachine, evaluate, implementation

__all__ = ["evaluate", "EvaluatedMachine", "Scenario", "ScenarioError", "implementation", "Addr", "Pfn", "PfnList",
           "ADDR_PATTERN", "parse_addr", "parse_size", "format_size", "ROLES", "MAPPINGS", "KPF", "MAX_BLOCKS",
           "DEFAULT_SCENARIO", "presets", "MAX_BINS", "MAX_RESOLVE", "FIXED_POINT_WHY"]
