"""The memmap of a memory block as a box-and-arrow diagram, from EvaluatedMachine.vmemmap(block=...):
the block's vmemmap (virtual) above, its pfns below, arrows from the vmemmap to the frames backing
it. With memmap_on_memory those frames are the block's own first pages, and the struct page of the
first pfn lives in that very pfn: the loop is drawn. 6.8+ ranges of several blocks (one altmap
each) are drawn side by side.
"""
from __future__ import annotations

from typing import Any, Sequence

from .diagram_kit import Canvas, esc

__all__ = ["memmap_diagram", "runs", "MAX_SIDE_BY_SIDE"]

MAX_SIDE_BY_SIDE = 3
WIDTH = 1210
LOOP = "#d55e00"


def runs(pages: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """(first page index, last, first backing pfn, last): consecutive pages on consecutive frames."""
    out: list[list[int]] = []
    for p in pages:
        b = int(p["backing_pfn"], 16) if p["backing_pfn"] else -1
        if out and b >= 0 and out[-1][3] == b - 1 and out[-1][1] == p["index"] - 1:
            out[-1][1], out[-1][3] = p["index"], b
        else:
            out.append([p["index"], p["index"], b, b])
    return [tuple(r) for r in out]  # type: ignore[misc]


def _column(cv: Canvas, vm: dict[str, Any], x0: float, x1: float, page_kib: int) -> dict[str, Any]:
    t, pages = vm["target"], vm["pages"]
    s, e = int(t["start_pfn"], 16), int(t["end_pfn"], 16)
    rs = runs(pages)
    inside = [r for r in rs if s <= r[2] and r[3] < e]
    outside = [r for r in rs if r[2] >= 0 and r not in inside]
    w = x1 - x0
    small = 10 if w < 500 else 11
    name = t["name"]
    mib = (e - s) * page_kib // 1024
    cv.text((x0 + x1) / 2, 84, f"<b>{esc(name)}</b>: pfns {s:#x}-{e - 1:#x} ({mib} MiB)", size=12,
            name=f"block:{name}")
    # the vmemmap of the block (virtual), with the struct page of its first pfn
    vy0, vy1 = 110, 170
    bw = min(0.3 * w, 130)
    cv.box(x0, vy0, x1, vy1, "virtual", f"vmemmap:{name}", [])
    mapping = (pages[0]["mapping"] or "un").upper()
    cv.text((x0 + bw + 6 + x1) / 2, (vy0 + vy1) / 2, "<b>vmemmap of " + esc(name) + "</b><br>" + esc(
        f"from {pages[0]['vaddr']}") + "<br>" + esc(f"{len(pages)} pages, {mapping}-mapped"),
        size=small, name=f"vmemmap:{name}:label")
    cv.box(x0 + 6, vy0 + 8, x0 + bw, vy1 - 8, "new", f"struct-page:{s:#x}", ["struct page", f"of pfn {s:#x}"],
           size=10)
    # the block's pfns (physical), not to scale: the memmap part made readable
    py0, py1 = 300, 350
    bx1 = x1 if not outside else x0 + w * 0.55
    meta = {"block": name, "self_hosted": bool(inside) and not outside, "loop": False,
            "memmap_runs": [[hex(r[2]), hex(r[3])] for r in rs if r[2] >= 0]}
    below = []
    if inside:
        m0, m1 = inside[0][2], inside[-1][3]
        split = x0 + (bx1 - x0) * 0.55
        cv.box(x0, py0, split, py1, "memmap", f"memmap:{name}", [])
        cv.text((x0 + bw + split) / 2, (py0 + py1) / 2, "<b>memmap</b>", size=small, name=f"memmap:{name}:label")
        cv.box(split, py0, bx1, py1, "usable", f"usable:{name}", ["usable"], size=small)
        cv.box(x0 + 6, py0 + 8, x0 + bw, py1 - 8, "self", f"pfn:{s:#x}", [f"pfn {s:#x}"], size=10)
        cv.arrow(split - 14, vy1, split - 14, py0, f"backing:{name}->{m0:#x}-{m1:#x}")
        cv.text(split - 10, (vy1 + py0) / 2, esc(f"backed by {m1 - m0 + 1} frames"), anchor="left", size=10)
        below += [f"memmap: pfns {m0:#x}-{m1:#x} ({m1 - m0 + 1} pages)",
                  f"usable: pfns {m1 + 1:#x}-{e - 1:#x} ({e - m1 - 1} pages)"]
        if m0 == s:         # the fixed point: pfn s describes itself
            meta["loop"] = True
            xa, xb = x0 + 6 + bw * 0.3, x0 + 6 + bw * 0.7
            cv.arrow(xa, py0 + 8, xa, vy1 - 8, f"pfn_to_page:{s:#x}", colour=LOOP, width=2)
            cv.arrow(xb, vy1 - 8, xb, py0 + 8, f"stored-in:{s:#x}", colour=LOOP, width=2)
            cv.text(xb + 6, vy1 + 30, "\u2191 pfn_to_page()", anchor="left", size=10, color=LOOP)
            cv.text(xb + 6, py0 - 30, "\u2193 stored in", anchor="left", size=10, color=LOOP)
    else:
        cv.box(x0, py0, bx1, py1, "usable", f"usable:{name}", ["pfns of " + name, f"{s:#x}-{e - 1:#x}"],
               size=small)
    if outside:
        o0, o1 = outside[0][2], outside[0][3]
        total = sum(r[3] - r[2] + 1 for r in outside)
        where = {"buddy": "buddy allocator", "memblock": "boot memblock"}.get(t.get("memmap_where", ""),
                                                                                 t.get("memmap_where", ""))
        ex0 = bx1 + 16
        cv.box(ex0, py0, x1, py1, "elsewhere", f"elsewhere:{name}", ["memmap elsewhere", f"from the {where}"],
               size=small)
        cv.arrow((ex0 + x1) / 2, vy1, (ex0 + x1) / 2, py0, f"backing:{name}->{o0:#x}-{o1:#x}")
        below.append(f"memmap: {total} frames elsewhere in {len(outside)} run{'s' if len(outside) > 1 else ''}, "
                     f"first {o0:#x}-{o1:#x}")
    for k, line in enumerate(below):
        cv.text(x0, py1 + 16 + 16 * k, esc(line), anchor="left", size=small, name=f"below:{name}")
    yl = py1 + 22 + 16 * len(below)
    if meta["loop"]:
        cv.text(x0, yl, f"<b>struct page of pfn {s:#x} lives in pfn {s:#x}</b>", anchor="left", size=small,
                color=LOOP, name=f"loop:{s:#x}")
    elif outside:
        cv.text(x0, yl, esc(f"struct page of pfn {s:#x} lives in pfn {o0:#x}, outside {name}"), anchor="left",
                size=small, name=f"noloop:{s:#x}")
    return meta


def memmap_diagram(vms: Sequence[dict[str, Any]], kernel: str, arch: str, title: str = "",
                   more: int = 0, page_kib: int = 4) -> dict[str, Any]:
    """One column per block (the vmemmap(block=...) outputs, side by side); `more` blocks alike not drawn."""
    cv = Canvas(WIDTH)
    k = len(vms)
    gap = 28
    cw = (WIDTH - 24 - gap * (k - 1)) / k
    metas = [_column(cv, vm, 12 + i * (cw + gap), 12 + i * (cw + gap) + cw, page_kib) for i, vm in enumerate(vms)]
    y = 440
    if more:
        cv.text(WIDTH / 2, y, esc(f"... and {more} more blocks alike, each with its own altmap"), size=11,
                name="more")
        y += 22
    cv.text(12, y, esc("Not to scale: the memmap segment is drawn wide enough to read."), anchor="left", size=10,
            color="#555555", name="note")
    names = [vm["target"]["name"] for vm in vms]
    where = "per-block altmaps" if k > 1 else vms[0]["target"].get("memmap_where", "")
    head = title or (f"The memmap of {names[0]}" if k == 1 else f"The memmaps of {names[0]}-{names[-1]}")
    sub = f"Linux {kernel}, {arch}: memmap " + {"self": "self-hosted (memmap_on_memory)",
                                                 "per-block altmaps": "self-hosted, one altmap per memory block",
                                                 "buddy": "from the buddy allocator",
                                                 "memblock": "in the boot memblock buffer"}.get(where, where)
    return cv.figure(y + 24, head, sub, meta={"blocks": metas, "kernel": kernel, "arch": arch})
