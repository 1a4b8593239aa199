"""Pick the implementation: the Cython pair (_query_c for queries, _replay_c for the replay's bulk
loops), or the pure-Python model when forced (VMEMSCOPE_IMPL=python) or not built.

The only module that imports the twins; every other module gets them passed in.
"""
from __future__ import annotations

import os
from types import ModuleType

__all__ = ["pick"]


def pick(name: str | None = None) -> tuple[ModuleType, ModuleType | None]:
    """(query loops, replay accelerator or None) for "cython", "python" or None (VMEMSCOPE_IMPL,
    else Cython if it was built)."""
    name = name or os.environ.get("VMEMSCOPE_IMPL") or "auto"
    if name != "python":
        try:
            from . import _query_c, _replay_c
            return _query_c, _replay_c
        except ImportError:
            if name == "cython":
                raise
    from . import _query_py
    return _query_py, None
