"""The physical memory map: categorical bands (one rect shape per run of bins sharing a dominant frame
role, binned server-side by EvaluatedMachine.window), memory block and section edges as lines,
`memoryN` labels, and the fixed points ("struct page of pfn X lives in pfn X") as callouts that
never overlap: inline when there is room, else numbered markers with a numbered key below.

For the dashboard (interactive=True) a transparent heatmap on top carries the hover text and clicks;
an export leaves it out, so the SVG holds only vector shapes and text.
"""
from __future__ import annotations

from html import escape
from typing import Any

from engine import ROLES, EvaluatedMachine

from .diagram_kit import FONT

__all__ = ["PALETTE", "ROLE_NAMES", "ROLE_HELP", "MAX_FIGURE_BINS", "map_figure", "role_legend"]

MAX_FIGURE_BINS = 4096
# Okabe-Ito plus Paul Tol's colour-blind-safe additions; greys for ordinary RAM and holes
PALETTE: dict[str, str] = {
    "hole": "#f4f4f4", "usable": "#c9d3da", "offline": "#7f7f7f",
    "memmap_boot": "#0072b2", "memmap_buddy": "#56b4e9", "memmap_self": "#e69f00",
    "altmap_reserved": "#f0e442", "hugetlb_head": "#882255", "hugetlb_tail": "#cc79a7",
    "hvo_freed": "#009e73", "hvo_freed_selfhosted": "#d55e00", "page_table": "#332288",
    "vmemmap_hvo_head": "#117733", "vmemmap_restored": "#44aa99", "swapcache": "#999933",
    "vmemmap_hvo_tail": "#aa4499",
}
ROLE_NAMES = [name for name, _ in ROLES]
ROLE_HELP = dict(ROLES)


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


# narrow roles that must never vanish inside a wider neighbour (static/js/map.js EMPHASIS, for exports)
EMPHASIS = ("hugetlb_head", "hvo_freed_selfhosted")
MIN_PX = 4               # their least drawn width
DARK = {"memmap_boot", "hugetlb_head", "page_table", "offline", "vmemmap_hvo_head"}
PLOT_PX = 1160           # the plot area's width at the default export width, for placing callouts
CALLOUT_PX = 7.2         # an average character at 13 px


def _bands(dominant: list[int], edges: list[int]) -> list[tuple[int, int, str]]:
    """(first pfn, end pfn, role) of each run of bins with the same dominant role."""
    out: list[list[Any]] = []
    for i, code in enumerate(dominant):
        role = ROLE_NAMES[code]
        if out and out[-1][2] == role:
            out[-1][1] = edges[i + 1]
        else:
            out.append([edges[i], edges[i + 1], role])
    return [tuple(b) for b in out]  # type: ignore[misc]


def _emphasis(counts: dict[str, list[int]], edges: list[int]) -> list[dict[str, Any]]:
    """Outlined rects, at least MIN_PX wide at the export's plot width, over the bins that hold an
    EMPHASIS role: a 1-pfn huge page head stays visible beside its 511 tails (the dashboard adds the
    same marks at the plot's real width, static/js/map.js emphasis)."""
    width = edges[-1] - edges[0]
    min_pfns = MIN_PX * width / PLOT_PX
    shapes = []
    for role in EMPHASIS:
        c = counts.get(role)
        if not c:
            continue
        runs: list[list[int]] = []
        for i, n in enumerate(c):
            if not n:
                continue
            if runs and edges[i] - runs[-1][1] < min_pfns:      # closer than MIN_PX: one mark
                runs[-1][1] = edges[i + 1]
            else:
                runs.append([edges[i], edges[i + 1]])
        for a, b in runs[:400]:
            pad = max(0.0, (min_pfns - (b - a)) / 2)
            shapes.append({"type": "rect", "x0": a - 0.5 - pad, "x1": b - 0.5 + pad, "y0": -0.5, "y1": 0.5,
                           "layer": "above", "fillcolor": PALETTE[role], "line": {"color": "#000", "width": 1.5},
                           "name": f"emphasis:{role}"})
    return shapes


def _callouts(marks: list[int], start: int, width: int, inline: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Annotations for the fixed points, and the extra bottom margin their key needs. `inline`: always
    callouts with arrows (the dashboard places them on the drawn plot, static/js/map.js declutter)."""
    px = [(p - start) / width * PLOT_PX for p in marks]
    text = [f"struct page of pfn {p:#x} lives in pfn {p:#x}" for p in marks]
    room = all(b - a > CALLOUT_PX * len(t) + 40 for a, b, t in zip(px, px[1:], text)) and \
        (not px or px[-1] + CALLOUT_PX * len(text[-1]) < PLOT_PX + 200)
    common = {"y": 0.5, "showarrow": True, "arrowhead": 2, "arrowwidth": 2, "arrowcolor": "#000",
              "bgcolor": "#fff7d6", "bordercolor": "#000", "captureevents": True, "font": {"size": 13}}
    if room or inline:
        return [{**common, "x": p + 0.5, "ax": 30, "ay": -34, "xanchor": "left", "text": t, "name": "self-mapping"}
                for p, t in zip(marks, text)], 0
    out = []
    for k, (p, t) in enumerate(zip(marks, text)):
        close = k and px[k] - px[k - 1] < 28
        out.append({**common, "x": p + 0.5, "ax": 0, "ay": -30 - (22 if close and k % 2 else 0),
                    "text": f"{k + 1}", "name": f"self-mapping-marker:{k + 1}"})
        out.append({"xref": "paper", "yref": "paper", "x": (k % 3) / 3, "y": 0, "yshift": -18 * (k // 3) - 112,
                    "xanchor": "left", "yanchor": "top", "showarrow": False, "text": f"{k + 1}: {t}",
                    "name": "self-mapping", "captureevents": True, "font": {"size": 12}})
    return out, 18 * (-(-len(marks) // 3)) + 20


def map_figure(m: EvaluatedMachine, start_pfn: int, end_pfn: int, bins: int, title: str = "",
               height: int = 300, subtitle: str = "", interactive: bool = True) -> dict[str, Any]:
    """The physical memory map over [start_pfn, end_pfn) in at most `bins` bins."""
    bins = max(1, min(bins, MAX_FIGURE_BINS))
    w = m.window(start_pfn, end_pfn, bins)
    nb, width = w["bins"], end_pfn - start_pfn
    edges = [start_pfn + i * width // nb for i in range(nb + 1)]
    counts = w["counts"]
    dominant = list(w["dominant"])
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for s, e, role in _bands(dominant, edges):
        shapes.append({"type": "rect", "x0": s - 0.5, "x1": e - 0.5, "y0": -0.5, "y1": 0.5, "layer": "below",
                       "fillcolor": PALETTE[role], "line": {"width": 0}, "name": f"band:{role}"})
        if (e - s) / width * PLOT_PX > CALLOUT_PX * len(role) + 16:       # name the band in words
            annotations.append({"x": (s + e - 1) / 2, "y": -0.3, "text": role, "showarrow": False,
                                "font": {"size": 12, "color": "#000" if role not in DARK else "#fff"},
                                "name": f"band-label:{role}"})
    data: list[dict[str, Any]] = []
    if interactive:
        firsts = m.resolve(edges[:-1])
        text = []
        for i in range(nb):
            parts = sorted(((c[i], r) for r, c in counts.items() if c[i]), reverse=True)
            n = edges[i + 1] - edges[i]
            head = (f"pfns {hex(edges[i])}-{hex(edges[i + 1] - 1)} ({n} pages)<br>"
                    + ", ".join(f"{r} {c}" for c, r in parts[:4]) + "<br>") if n > 1 else ""
            text.append(head + _page_text(firsts[i]))
        data.append({
            "type": "heatmap", "name": "frames", "uid": "frames", "x": [(edges[i] + edges[i + 1] - 1) / 2 for i in range(nb)],
            "y": [0], "z": [dominant], "text": [text], "customdata": [[hex(edges[i]) for i in range(nb)]],
            "hovertemplate": "%{text}<extra></extra>", "colorscale": _colorscale(), "zmin": 0,
            "zmax": len(ROLE_NAMES), "showscale": False, "xgap": 0, "ygap": 0, "hoverongaps": False,
            "opacity": 0})
    # legend: one empty trace per role present in the window
    for r in [r for r in ROLE_NAMES if r in counts]:
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": r, "uid": f"role-{r}",
                     "marker": {"color": PALETTE[r], "size": 12, "symbol": "square",
                                "line": {"color": "#555", "width": 1}},
                     "hoverinfo": "skip", "showlegend": True})
    blocks = m.block_spans(start_pfn, end_pfn)
    if len(blocks) <= 200:
        for edge in sorted({e for b in blocks for e in (b.start, b.end) if start_pfn < e < end_pfn}):
            shapes.append({"type": "line", "x0": edge - 0.5, "x1": edge - 0.5, "y0": -0.5, "y1": 0.5,
                           "line": {"color": "#222", "width": 1}, "name": f"block-edge:{edge:#x}"})
        sec = 1 << m.arch.pfn_section_shift
        if sec < m.block_pages and width // sec <= 64:       # sections inside blocks (e.g. 2 GiB blocks)
            for edge in range(-(-start_pfn // sec) * sec, end_pfn, sec):
                if start_pfn < edge and edge % m.block_pages:
                    shapes.append({"type": "line", "x0": edge - 0.5, "x1": edge - 0.5, "y0": -0.5, "y1": 0.5,
                                   "line": {"color": "#555", "width": 1, "dash": "dot"},
                                   "name": f"section-edge:{edge:#x}"})
        if len(blocks) <= 32:
            for b in blocks:
                mid = (max(b.start, start_pfn) + min(b.end, end_pfn)) / 2
                annotations.append({"x": mid, "y": 0.46, "yanchor": "top", "text": f"memory{b.id}",
                                    "showarrow": False, "font": {"size": 12}, "bgcolor": "rgba(255,255,255,0.75)",
                                    "name": f"block-label:{b.id}"})
    marks = []
    if len(blocks) <= 64:
        cands = [b.start for b in blocks if b.holds_altmap and start_pfn <= b.start < end_pfn]
        marks = [r for r, x in zip(cands, m.resolve(cands)) if x["maps_to_itself"]]
    if not interactive:
        shapes += _emphasis(counts, edges)
    notes, extra_b = _callouts(marks, start_pfn, width, inline=interactive)
    annotations += notes
    tickvals, ticktext = _hex_ticks(start_pfn, end_pfn, m.arch.page_shift)
    if not interactive:       # an exported map always says what it shows
        title = title or f"Physical memory map, pfns {start_pfn:#x}-{end_pfn - 1:#x}"
    top = (110 if subtitle else 96) if title else 56
    layout = {
        "title": {"text": escape(title), "x": 0.01, "y": 0.98, "yref": "container", "yanchor": "top",
                  "font": {"size": 16}, **({"subtitle": {"text": escape(subtitle)}} if subtitle else {})}
        if title else None,
        "height": height + extra_b + top - 56, "margin": {"l": 20, "r": 20, "t": top, "b": 100 + extra_b},
        "font": {**FONT, "size": 13}, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "xaxis": {"range": [start_pfn - 0.5, end_pfn - 0.5], "tickvals": tickvals, "ticktext": ticktext,
                  "title": {"text": "physical address"}, "showgrid": False, "zeroline": False,
                  "tickangle": 0, "ticks": "outside"},
        "yaxis": {"visible": False, "range": [-0.5, 0.5], "fixedrange": True},
        "legend": {"orientation": "h", "y": -0.62, "x": 0, "font": {"size": 12}},
        "shapes": shapes, "annotations": annotations, "uirevision": "map", "dragmode": "zoom",
        "meta": {"start_pfn": hex(start_pfn), "end_pfn": hex(end_pfn), "bins": nb,
                 "self_mapping_pfns": [hex(p) for p in marks]},
    }
    return {"data": data, "layout": {k: v for k, v in layout.items() if v is not None}}
