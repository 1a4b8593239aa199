"""Static export of the figures in app/figures.py with Plotly's own exporter (kaleido driving the
installed Chromium; no browser download, no MathJax from a CDN), and the views the CLI and the REST
API name: map (a pfn range), memmap (a block's vmemmap), hvo (a huge page's vmemmap).

Exports are bounded: width x height x scale^2 at most MAX_EXPORT_PIXELS (a 422 naming the field and the
cap), at most EXPORT_SLOTS exports in flight per process (ExportBusy: a 503 with Retry-After), and a
view that cannot be drawn (no huge page in the range, a block that does not exist, a range beyond the
machine) is refused by look-ups that cost O(log n), before any listing or drawing.
"""
from __future__ import annotations

import atexit
import re
import threading
import warnings
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator, Literal

from engine import EvaluatedMachine, ScenarioError

from .figures import map_figure, vmemmap_figure

__all__ = ["build_view", "to_image", "check_size", "export_slot", "ExportBusy", "FORMATS", "View",
           "MAX_EXPORT_PIXELS", "MAX_SIDE", "MAX_SCALE", "EXPORT_SLOTS", "DEFAULT_SCALE", "DEFAULT_WIDTH"]

FORMATS = ("svg", "png", "pdf")
View = Literal["map", "memmap", "hvo"]
MAX_EXPORT_PIXELS = 16_000_000      # e.g. 2000 x 2000 at scale 2; Chromium holds 4 bytes a pixel
MAX_SIDE = 4000                     # width and height, CSS pixels
MAX_SCALE = 4.0
EXPORT_SLOTS = 2                    # one rendering in the single Chromium, one waiting
RETRY_AFTER_S = 2
DEFAULT_WIDTH = 1200                # when the figure does not fix its own width
DEFAULT_SCALE = {"png": 2.0, "svg": 1.0, "pdf": 1.0}   # PNG at 2x: sharp on slides and HiDPI screens
_lock = threading.Lock()
_slots = threading.BoundedSemaphore(EXPORT_SLOTS)
_started = False


class ExportBusy(RuntimeError):
    """Every export slot is taken: try again in `retry_after` seconds."""

    retry_after = RETRY_AFTER_S


def _ensure_server() -> None:
    """One kaleido browser per process: the first export pays ~3 s, later ones ~0.3 s (a batch such as
    render-walkthrough or make docs shares it)."""
    global _started
    if not _started:
        import kaleido
        kaleido.start_sync_server(mathjax=False)
        atexit.register(kaleido.stop_sync_server)
        _started = True


def check_size(width: int, height: int, scale: float) -> None:
    """ScenarioError naming the field and the cap when an export would be too large."""
    for field, v, cap in (("width", width, MAX_SIDE), ("height", height, MAX_SIDE), ("scale", scale, MAX_SCALE)):
        if not 0 < v <= cap:
            raise ScenarioError((field,), f"must be above 0 and at most {cap:g}")
    px = width * height * scale * scale
    if px > MAX_EXPORT_PIXELS:
        raise ScenarioError(("scale",), f"width x height x scale^2 = {width} x {height} x {scale:g}^2 = "
                            f"{px:,.0f} pixels is over the cap of {MAX_EXPORT_PIXELS:,} pixels")


@contextmanager
def export_slot() -> Iterator[None]:
    """Hold one of EXPORT_SLOTS for an export, or raise ExportBusy at once (never queue unboundedly)."""
    if not _slots.acquire(blocking=False):
        raise ExportBusy(f"all {EXPORT_SLOTS} figure export slots are busy; retry in {RETRY_AFTER_S} s")
    try:
        yield
    finally:
        _slots.release()


def size_of(fig: dict[str, Any], fmt: str, width: int | None, height: int | None,
            scale: float | None) -> tuple[int, int, float]:
    """The export size: the figure's own width/height where it fixes them (diagrams), else the defaults."""
    lay = fig["layout"]
    return (width or lay.get("width") or DEFAULT_WIDTH, height or lay.get("height") or 400,
            DEFAULT_SCALE.get(fmt, 1.0) if scale is None else scale)


def to_image(fig: dict[str, Any], fmt: str, width: int | None = None, height: int | None = None,
             scale: float | None = None, slotted: bool = False) -> bytes:
    """SVG, PNG or PDF bytes of a figure, within the size caps and an export slot (`slotted`: the
    caller holds one already)."""
    import plotly.io as pio
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    width, height, scale = size_of(fig, fmt, width, height, scale)
    check_size(width, height, scale)
    with (nullcontext() if slotted else export_slot()), _lock, warnings.catch_warnings():
        # kaleido's sync server takes one job at a time
        # plotly passes kaleido options a server ignores; say nothing about it
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        _ensure_server()
        # validate=False: the figures are our own dicts, checked by the tests; plotly's Python-side
        # validation of ~100 shapes and annotations costs ~50 ms per export
        data = pio.to_image(fig, format=fmt, width=width, height=height, scale=scale, validate=False)
    return _stable_ids(data) if fmt == "svg" else data


_UID = re.compile(rb'id="defs-([0-9a-f]+)"')


def _stable_ids(svg: bytes) -> bytes:
    """plotly.js names its clip paths and defs after a random per-plot uid; give them a fixed one so the
    same figure exports to the same bytes (the id is only ever referenced inside the file)."""
    m = _UID.search(svg)
    if not m:
        return svg
    uid = m.group(1)
    return re.sub(rb'(id="(?:top)?defs-|id="clip|id="legend|url\(#clip|url\(#legend)' + uid,
                  lambda x: x.group(1) + b"vmemscope", svg)


def _block_exists(m: EvaluatedMachine, block: int) -> bool:
    bp = m.block_pages
    return block * bp < m.max_pfn and any(b.id == block for b in m.block_spans(block * bp, (block + 1) * bp))


def build_view(m: EvaluatedMachine, view: View, block: int | None = None,
               pfn_range: tuple[int, int] | None = None, head_pfn: int | None = None,
               bins: int = 1200, title: str = "") -> dict[str, Any]:
    """The figure of one view. map: pfn_range, else the block, else the hot-plugged memory (or all);
    memmap: the block (default: the first hot-added one); hvo: the huge page (default: the first one
    in the block or range). Impossible requests fail fast, before any drawing."""
    bp = m.block_pages
    if block is not None and not _block_exists(m, block):
        raise ScenarioError(("block",), f"memory{block} does not exist")
    if pfn_range is not None:
        lo, hi = pfn_range
        if hi <= lo:
            raise ScenarioError(("end_pfn",), "must be greater than start_pfn")
        if hi > m.max_pfn:
            raise ScenarioError(("end_pfn",), f"{hi:#x} is beyond the physical address limit ({m.max_pfn:#x})")
    ranges = m.pfn_ranges()
    hot = ranges["hotplug"] or ranges["all"]
    if view == "map":
        if pfn_range is None:
            pfn_range = (block * bp, (block + 1) * bp) if block is not None else hot
        if pfn_range is None:
            raise ScenarioError(("start_pfn",), "the machine has no memory blocks to draw")
        return map_figure(m, pfn_range[0], pfn_range[1], bins, title=title, subtitle=_subtitle(m),
                          interactive=False)
    if view == "memmap":
        if block is None:
            if hot is None:
                raise ScenarioError(("block",), "the machine has no memory blocks")
            block = hot[0] // bp
        return vmemmap_figure(m.vmemmap(block=block), m, title=title)
    if view == "hvo":
        if head_pfn is None:
            lo, hi = (block * bp, (block + 1) * bp) if block is not None else (pfn_range or (0, m.max_pfn))
            heads = m.hugepage_heads(lo, hi, 1)
            if not heads:
                raise ScenarioError(("head_pfn",), f"no huge page with its head in pfns {lo:#x}-{hi - 1:#x}")
            head_pfn = heads[0]
        elif m.hugepage(head_pfn) is None:
            raise ScenarioError(("head_pfn",), f"no live huge page has head pfn {head_pfn:#x}")
        return vmemmap_figure(m.vmemmap(head_pfn=head_pfn), m, title=title)
    raise ScenarioError(("view",), "must be map, memmap or hvo")


def _subtitle(m: EvaluatedMachine) -> str:
    return f"{m.name}: Linux {m.kernel}, {m.arch.key}"
