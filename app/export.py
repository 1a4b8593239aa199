"""Static export of the figures in app/figures.py with Plotly's own exporter (kaleido driving the
installed Chromium; no browser download, no MathJax from a CDN), and the views the CLI and the REST
API name: map (a pfn range), memmap (a block's vmemmap), hvo (a huge page's vmemmap)."""
from __future__ import annotations

import atexit
import threading
import warnings
from typing import Any, Literal

from engine import EvaluatedMachine, ScenarioError

from .figures import map_figure, vmemmap_figure

__all__ = ["build_view", "to_image", "FORMATS", "View"]

FORMATS = ("svg", "png", "pdf")
View = Literal["map", "memmap", "hvo"]
_lock = threading.Lock()
_started = False


def _ensure_server() -> None:
    """One kaleido browser per process: the first export pays ~3 s, later ones ~0.3 s."""
    global _started
    if not _started:
        import kaleido
        kaleido.start_sync_server(mathjax=False)
        atexit.register(kaleido.stop_sync_server)
        _started = True


def to_image(fig: dict[str, Any], fmt: str, width: int = 1200, height: int | None = None,
             scale: float = 1.0) -> bytes:
    import plotly.io as pio
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    height = height or fig["layout"].get("height") or 400
    with _lock, warnings.catch_warnings():  # kaleido's sync server takes one job at a time
        # plotly passes kaleido options a server ignores; say nothing about it
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        _ensure_server()
        return pio.to_image(fig, format=fmt, width=width, height=height, scale=scale)


def _first_hugepage(m: EvaluatedMachine, lo: int, hi: int) -> int:
    for h in m.hugepages(0, None):
        p = int(h["head_pfn"], 16)
        if lo <= p < hi:
            return p
    raise ScenarioError(("hugepage",), f"no huge page with its head in pfns {hex(lo)}-{hex(hi)}")


def build_view(m: EvaluatedMachine, view: View, block: int | None = None,
               pfn_range: tuple[int, int] | None = None, hugepage: int | None = None,
               bins: int = 1200, title: str = "") -> dict[str, Any]:
    """The figure of one view. map: pfn_range, else the block, else the hot-plugged memory (or all);
    memmap: the block (default: the first hot-added one); hvo: the huge page (default: the first one
    in the block or range)."""
    blocks = m.blocks()
    if block is not None and not any(b["id"] == block for b in blocks):
        raise ScenarioError(("block",), f"memory{block} does not exist")
    if view == "map":
        if pfn_range is None:
            chosen = [b for b in blocks if b["id"] == block] if block is not None else \
                ([b for b in blocks if not b["boot"]] or blocks)
            pfn_range = (min(int(b["start_pfn"], 16) for b in chosen), max(int(b["end_pfn"], 16) for b in chosen))
        return map_figure(m, pfn_range[0], pfn_range[1], bins, title=title)
    if view == "memmap":
        if block is None:
            hot = [b for b in blocks if not b["boot"]] or blocks
            block = hot[0]["id"]
        return vmemmap_figure(m.vmemmap(block=block), m, title=title)
    if view == "hvo":
        if hugepage is None:
            if block is not None:
                b = next(b for b in blocks if b["id"] == block)
                lo, hi = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
            else:
                lo, hi = pfn_range or (0, 1 << 62)
            hugepage = _first_hugepage(m, lo, hi)
        return vmemmap_figure(m.vmemmap(head_pfn=hugepage), m, title=title)
    raise ScenarioError(("view",), "must be map, memmap or hvo")
