"""Pick the hot-loop implementation: the Cython core, or the Python twin when forced or missing."""
from __future__ import annotations

import os
from types import ModuleType

__all__ = ["load"]


def load(name: str | None = None) -> ModuleType:
    """name: "cython", "python" or None (VMEMSCOPE_IMPL, else Cython if it was built)."""
    name = name or os.environ.get("VMEMSCOPE_IMPL") or "auto"
    if name == "python":
        from . import _twin
        return _twin
    try:
        from . import _core
        return _core
    except ImportError:
        if name == "cython":
            raise
        from . import _twin
        return _twin
