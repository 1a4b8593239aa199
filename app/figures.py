"""Plotly figures as plain dicts: one builder for the dashboard (sent as JSON) and for static export
(kaleido), so a picture in the docs is the picture in the browser.

map:     the physical memory map: a strip of bins coloured by their dominant frame role, memory
         block boundaries and `memoryN` labels, the self-mapping page marked; hover tells the bin's
         pages by role and its first pfn resolved (struct page address, backing pfn, mapping ...).
vmemmap: the vmemmap pages of one block or huge page against the frame backing each; HVO's
         fan-in (tails remapped read-only to one frame) is a flat line, a self-hosted memmap the
         diagonal through its own pfns.
"""
from __future__ import annotations

from html import escape
from typing import Any

from engine import EvaluatedMachine
from engine import ROLES

from .hvo_diagram import hvo_diagram
from .memmap_diagram import MAX_SIDE_BY_SIDE, memmap_diagram

__all__ = ["PALETTE", "map_figure", "vmemmap_figure", "role_legend", "MAX_FIGURE_BINS"]

MAX_FIGURE_BINS = 4096
# Okabe-Ito plus Paul Tol's colour-blind-safe additions; greys for ordinary RAM and holes
PALETTE: dict[str, str] = {
    "hole": "#f4f4f4", "usable": "#c9d3da", "offline": "#7f7f7f",
    "memmap_boot": "#0072b2", "memmap_buddy": "#56b4e9", "memmap_self": "#e69f00",
    "altmap_reserved": "#f0e442", "hugetlb_head": "#882255", "hugetlb_tail": "#cc79a7",
    "hvo_freed": "#009e73", "hvo_freed_selfhosted": "#d55e00", "page_table": "#332288",
    "vmemmap_hvo_head": "#117733", "vmemmap_restored": "#44aa99", "swapcache": "#999933",
}
ROLE_NAMES = [name for name, _ in ROLES]
ROLE_HELP = dict(ROLES)
FONT = {"family": "DejaVu Sans, Liberation Sans, Arial, sans-serif", "size": 13}


def role_legend() -> list[dict[str, str]]:
    return [{"role": r, "colour": PALETTE[r], "help": ROLE_HELP[r]} for r in ROLE_NAMES]


def _colorscale() -> list[list[Any]]:
    """Discrete: code k occupies [k, k+1) / n of the scale."""
    n = len(ROLE_NAMES)
    out: list[list[Any]] = []
    for k, r in enumerate(ROLE_NAMES):
        out += [[k / n, PALETTE[r]], [(k + 1) / n, PALETTE[r]]]
    return out


def _hex_ticks(start: int, end: int, page_shift: int, n: int = 5) -> tuple[list[float], list[str]]:
    span = end - start
    step = max(1, span // n)
    # round the step up to a power of two in pages so ticks land on aligned addresses
    step = 1 << (step - 1).bit_length()
    first = -(-start // step) * step
    vals = list(range(first, end + 1, step))[:12]
    return vals, [hex(v << page_shift) for v in vals]


def _page_text(p: dict[str, Any]) -> str:
    hp = p["hugepage"]
    lines = [f"pfn {p['pfn']}  phys {p['phys_addr']}",
             f"memory{p['block']}  section {p['section']}  node {p['node']}  zone {p['zone']}"
             if p["block"] is not None else "no memory block",
             f"struct page {p['struct_page_vaddr']} -> pfn {p['backing_pfn']} ({p['mapping']})",
             f"role {p['role']}" + ("  <b>maps to itself</b>" if p["maps_to_itself"] else "")
             + ("  (self-hosted memmap)" if p["self_hosted"] and not p["maps_to_itself"] else "")]
    if hp:
        lines.append(f"huge page {hp['head_pfn']} ({hp['size']}): HVO {hp['hvo']}")
    return "<br>".join(escape(x, quote=False).replace("&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>")
                       for x in lines)


def map_figure(m: EvaluatedMachine, start_pfn: int, end_pfn: int, bins: int, title: str = "",
               height: int = 300) -> dict[str, Any]:
    """The physical memory map over [start_pfn, end_pfn) in at most `bins` bins."""
    bins = max(1, min(bins, MAX_FIGURE_BINS))
    w = m.window(start_pfn, end_pfn, bins)
    nb, width = w["bins"], end_pfn - start_pfn
    edges = [start_pfn + i * width // nb for i in range(nb + 1)]
    counts = w["counts"]
    firsts = m.resolve(edges[:-1])
    z, text = [], []
    for i in range(nb):
        z.append(w["dominant"][i])
        parts = sorted(((c[i], r) for r, c in counts.items() if c[i]), reverse=True)
        n = edges[i + 1] - edges[i]
        head = (f"pfns {hex(edges[i])}-{hex(edges[i + 1] - 1)} ({n} pages)<br>"
                + ", ".join(f"{r} {c}" for c, r in parts[:4]) + "<br>") if n > 1 else ""
        text.append(head + _page_text(firsts[i]))
    x = [(edges[i] + edges[i + 1] - 1) / 2 for i in range(nb)]
    ncodes = len(ROLE_NAMES)
    data: list[dict[str, Any]] = [{
        "type": "heatmap", "name": "frames", "x": x, "y": [0], "z": [z], "text": [text],
        "customdata": [[hex(edges[i]) for i in range(nb)]],
        "hovertemplate": "%{text}<extra></extra>", "colorscale": _colorscale(), "zmin": 0, "zmax": ncodes,
        "showscale": False, "xgap": 0, "ygap": 0, "hoverongaps": False,
    }]
    # legend: one empty trace per role present in the window
    for r in [r for r in ROLE_NAMES if r in counts]:
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": r,
                     "marker": {"color": PALETTE[r], "size": 12, "symbol": "square",
                                "line": {"color": "#555", "width": 1}},
                     "hoverinfo": "skip", "showlegend": True})
    shapes, annotations = [], []
    ps = m.arch.page_shift
    blocks = m.block_spans(start_pfn, end_pfn)
    if len(blocks) <= 200:
        for edge in sorted({e for b in blocks for e in (b.start, b.end) if start_pfn < e < end_pfn}):
            shapes.append({"type": "line", "x0": edge - 0.5, "x1": edge - 0.5, "y0": -0.5, "y1": 0.5,
                           "line": {"color": "#222", "width": 1}})
        sec = 1 << m.arch.pfn_section_shift
        if sec < m.block_pages and width // sec <= 64:       # sections inside blocks (e.g. 2 GiB blocks)
            for edge in range(-(-start_pfn // sec) * sec, end_pfn, sec):
                if start_pfn < edge and edge % m.block_pages:
                    shapes.append({"type": "line", "x0": edge - 0.5, "x1": edge - 0.5, "y0": -0.5, "y1": 0.5,
                                   "line": {"color": "#555", "width": 1, "dash": "dot"}})
        if len(blocks) <= 32:
            for b in blocks:
                mid = (max(b.start, start_pfn) + min(b.end, end_pfn)) / 2
                annotations.append({"x": mid, "y": 0.46, "yanchor": "top", "text": f"memory{b.id}",
                                    "showarrow": False, "font": {"size": 12}, "bgcolor": "rgba(255,255,255,0.75)"})
    marks = []
    for b in blocks:
        if b.holds_altmap and start_pfn <= b.start < end_pfn:
            r = m.resolve([b.start])[0]
            if r["maps_to_itself"]:
                marks.append(b.start)
                annotations.append({
                    "x": b.start + 0.5 if nb >= width else x[(b.start - start_pfn) * nb // width],
                    "y": 0.5, "ax": 30, "ay": -34, "showarrow": True, "xanchor": "left", "arrowhead": 2, "arrowwidth": 2,
                    "arrowcolor": "#000", "bgcolor": "#fff7d6", "bordercolor": "#000",
                    "text": f"struct page of pfn {hex(b.start)} lives in pfn {hex(b.start)}",
                    "name": "self-mapping", "captureevents": True, "font": {"size": 13}})
    tickvals, ticktext = _hex_ticks(start_pfn, end_pfn, ps)
    layout = {
        "title": {"text": escape(title), "x": 0.01, "y": 0.98, "yref": "container", "yanchor": "top",
                  "font": {"size": 16}} if title else None,
        "height": height, "margin": {"l": 20, "r": 20, "t": 96 if title else 56, "b": 100},
        "font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "xaxis": {"range": [start_pfn - 0.5, end_pfn - 0.5], "tickvals": tickvals, "ticktext": ticktext,
                  "title": {"text": "physical address"}, "showgrid": False, "zeroline": False,
                  "tickangle": 0, "ticks": "outside"},
        "yaxis": {"visible": False, "range": [-0.5, 0.5], "fixedrange": True},
        "legend": {"orientation": "h", "y": -0.62, "x": 0, "font": {"size": 12}},
        "shapes": shapes, "annotations": annotations, "uirevision": "map", "dragmode": "zoom",
        "meta": {"start_pfn": hex(start_pfn), "end_pfn": hex(end_pfn), "bins": nb,
                 "self_mapping_pfns": [hex(p) for p in marks]},
    }
    layout = {k: v for k, v in layout.items() if v is not None}
    return {"data": data, "layout": layout}


def _altmap_neighbours(m: EvaluatedMachine, block: int) -> tuple[list[int], int]:
    """The block and its contiguous neighbours that hold their own altmap (6.8+ per-block altmaps of one
    range), at most MAX_SIDE_BY_SIDE of them, and how many more there are."""
    bp = m.block_pages
    spans = m.block_spans(max(0, (block - 64) * bp), (block + 65) * bp)
    me = next((i for i, b in enumerate(spans) if b.id == block), None)
    if me is None or not spans[me].holds_altmap:
        return [block], 0
    lo = hi = me
    while lo > 0 and spans[lo - 1].holds_altmap and spans[lo - 1].end == spans[lo].start:
        lo -= 1
    while hi + 1 < len(spans) and spans[hi + 1].holds_altmap and spans[hi + 1].start == spans[hi].end:
        hi += 1
    first = min(me, max(lo, hi + 1 - MAX_SIDE_BY_SIDE))
    ids = [b.id for b in spans[first: min(hi + 1, first + MAX_SIDE_BY_SIDE)]]
    return ids, hi - lo + 1 - len(ids)


def vmemmap_figure(vm: dict[str, Any], m: EvaluatedMachine, title: str = "") -> dict[str, Any]:
    """The diagram of a vmemmap() answer: HVO of a huge page, or the memmap of a block (with its
    per-block-altmap neighbours side by side)."""
    t = vm["target"]
    kib = m.arch.page_size >> 10
    if t["kind"] == "hugepage":
        head = int(t["head_pfn"], 16)
        return hvo_diagram([(vm, m.hugepage(head))], m.kernel, m.arch.key, title=title, page_kib=kib)
    ids, more = _altmap_neighbours(m, t["block"])
    vms = [vm if b == t["block"] else m.vmemmap(block=b) for b in ids]
    return memmap_diagram(vms, m.kernel, m.arch.key, title=title, more=more, page_kib=kib)
