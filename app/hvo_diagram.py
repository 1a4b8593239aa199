"""The HVO diagram of Documentation/mm/vmemmap_dedup.rst, drawn from EvaluatedMachine.vmemmap():
a huge page's vmemmap pages (virtual) and the frames backing them, before and after HVO.

Built generically from the page list (backing frame, original frame, state per vmemmap page), so
every release's layout follows from the data: <=5.17 two pages kept, 5.18-6.1 the tails remapped
read-only onto the head's frame, 6.2+ the head copied to a new frame, and a frame that belongs to
none of the drawn pages' originals (7.x: the zone's shared tail page) drawn once with an arrow from
every vmemmap page, of every huge page drawn, that maps it. A refused page keeps its PMD.
"""
from __future__ import annotations

import textwrap
from typing import Any, Sequence

from .diagram_kit import INK, Canvas, esc

__all__ = ["hvo_diagram", "HVO_FULL_ROWS"]

HVO_FULL_ROWS = 16          # up to this many vmemmap pages, one box each (the 2 MiB case: 8)
ROW, BOX = 40, 32
# columns: before (vmemmap, frame), after (vmemmap, frame now, freed frame)
A, B, C, D, E = (24, 254), (318, 488), (560, 790), (858, 1028), (1062, 1186)
RO = "#a8307b"             # read-only remaps (also labelled RO in words)
WIDTH = 1210


def _rows(pages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One row per page, or for large pages runs of pages alike (same state, consecutive originals,
    one shared backing frame or consecutive ones)."""
    if len(pages) <= HVO_FULL_ROWS:
        return [[p] for p in pages]
    rows: list[list[dict[str, Any]]] = []
    for p in pages:
        if rows:
            q = rows[-1][-1]
            same = p["state"] == q["state"] and p["freed"] == q["freed"] and _n(p["original_pfn"]) == \
                _n(q["original_pfn"]) + 1 and _n(p["backing_pfn"]) in (_n(q["backing_pfn"]), _n(q["backing_pfn"]) + 1)
            if same and p["index"] > 1:
                rows[-1].append(p)
                continue
        rows.append([p])
    return rows


def _n(h: str | None) -> int:
    return int(h, 16) if h else -1


def _span(a: str, b: str) -> str:
    return a if a == b else f"{a}-{b}"


def _holds(row: list[dict[str, Any]]) -> str:
    p, q = row[0], row[-1]
    if p["index"] == 0 and len(row) == 1:
        return f"head {p['first_pfn']} + tails to {p['last_pfn']}"
    return f"tail struct pages {p['first_pfn']}-{q['last_pfn']}"


def _va(row: list[dict[str, Any]]) -> str:
    return row[0]["vaddr"] if len(row) == 1 else f"{row[0]['vaddr']} (+{len(row) - 1} pages)"


def _frame_kind(states: set[str], is_original: bool) -> tuple[str, str]:
    if "head_copied" in states:
        return "new", "new page: copy of the head"
    if is_original and states & {"head", "kept"}:
        return "kept", "kept" + (", tails map it RO" if "remapped_ro" in states else "")
    if not is_original:
        return "shared", "shared tail page (RO)"
    return "kept", "kept"


def hvo_diagram(items: Sequence[tuple[dict[str, Any], dict[str, Any] | None]], kernel: str, arch: str,
                title: str = "", page_kib: int = 4, vmemmap_pmd: bool = True) -> dict[str, Any]:
    """items: (vmemmap(head_pfn=...) output, hugepage() dict or None) per huge page, drawn stacked;
    a frame several of them map is one box with every arrow into it. vmemmap_pmd: the architecture
    maps the vmemmap with PMD leaves (x86_64, arm64 4K), else with PTEs from the start."""
    cv = Canvas(WIDTH)
    y = 112
    first_row: dict[tuple[int, int], float] = {}           # backing frame range -> y of its box
    into: dict[tuple[int, int], list[tuple[float, bool, int]]] = {}   # -> (y, read-only, pages) per arrow
    users: dict[tuple[int, int], set[str]] = {}
    states: dict[tuple[int, int], set[str]] = {}
    originals: set[int] = set()
    frames_meta: dict[str, str] = {}
    footer: list[str] = []
    pmd_before = False
    for vm, hp in items:
        t = vm["target"]
        pages = vm["pages"]
        originals |= {_n(p["original_pfn"]) for p in pages}
        optimised = t["hvo"] == "optimized"
        if len(items) > 1:
            cv.text(A[0], y + 6, f"<b>huge page {t['head_pfn']} ({_size(t['size'])})</b>", anchor="left",
                    name=f"hugepage:{t['head_pfn']}")
            y += 24
        for row in _rows(pages):
            p, q = row[0], row[-1]
            mid = y + BOX / 2
            va = p["vaddr"]
            cv.box(A[0], y, A[1], y + BOX, "virtual", f"vmemmap-before:{va}", [_va(row), _holds(row)])
            o0, o1 = p["original_pfn"], q["original_pfn"]
            self_hosted = any(r["self_hosted"] for r in row)
            kind = "self" if self_hosted else "frame"
            cv.box(B[0], y, B[1], y + BOX, kind, f"frame-before:{o0}",
                   [("pfn " if o0 == o1 else "pfns ") + _span(o0 or "none", o1 or "none"),
                    "self-hosted memmap" if self_hosted else (f"{len(row)} frames" if len(row) > 1 else "vmemmap frame")])
            cv.arrow(A[1], mid, B[0], mid, f"map-before:{va}->{o0}")
            if optimised:
                cv.box(C[0], y, C[1], y + BOX, "virtual", f"vmemmap:{va}", [_va(row), _holds(row)])
                key = (_n(p["backing_pfn"]), _n(q["backing_pfn"]))
                first_row.setdefault(key, y)
                into.setdefault(key, []).append((mid, p["state"] == "remapped_ro", len(row)))
                users.setdefault(key, set()).add(t["head_pfn"])
                states.setdefault(key, set()).update(r["state"] for r in row)
                if p["freed"]:
                    cv.box(E[0], y, E[1], y + BOX, "freed", f"freed:{o0}",
                           [("pfn " if o0 == o1 else "pfns ") + _span(o0, o1), "freed"], dash=True)
                    for r in row:
                        frames_meta[r["original_pfn"]] = "freed"
            y += ROW
        splits = (hp or {}).get("pmd_splits", 0)
        was_pmd = any(p["mapping"] == "pmd" for p in pages) or splits > 0
        pmd_before |= was_pmd
        cv.box(A[0], y, A[1], y + BOX, "table", f"pmd:{t['head_pfn']}",
               ["page table: PMD leaf entries" if was_pmd else "page table: PTEs",
                "each maps 2 MiB of vmemmap, no PTE table" if was_pmd else
                ("the PMD was split earlier" if vmemmap_pmd else "vmemmap PTE-mapped from the start")])
        if optimised:
            cv.box(C[0], y, C[1], y + BOX, "table", f"pte-table:{t['head_pfn']}:{splits}",
                   [f"PTE table: +{_pages(splits)} ({page_kib * splits} KiB)" if splits else "PTE table: +0 pages",
                    f"allocated to split {'the PMD' if splits == 1 else f'{splits} PMDs'}" if splits
                    else ("the PMD was split by a neighbour" if vmemmap_pmd else "no PMD to split")],
                   dash=not splits)
        y += ROW
        if optimised:
            freed = t.get("freed_pages", 0)
            table = (f"PMD split: +{_pages(splits)} of PTE table ({page_kib * splits} KiB)" if splits else
                     "PMD already split (PTE table shared with a neighbour): +0 pages" if vmemmap_pmd else
                     "vmemmap PTE-mapped from the start: no split, +0 pages")
            footer.append(f"{t['head_pfn']}: {freed} vmemmap frames freed ({page_kib * freed} KiB); {table}; "
                          f"net {freed - splits} pages returned")
        else:
            footer.append(f"{t['head_pfn']}: {t.get('reason', '')}. "
                          + ("PMD intact, " if was_pmd else "") + "nothing freed")
        y += 12
    for key, ys in into.items():
        y0 = first_row[key]
        kind, label = _frame_kind(states[key], key[0] in originals)
        pfn = _span(hex(key[0]), hex(key[1]))
        shared = len(users[key]) > 1
        npages = sum(k[2] for k in ys)
        extra = f"mapped by {npages} vmemmap page{'s' if npages > 1 else ''}" + \
            (f" of {len(users[key])} huge pages" if shared else "")
        cv.box(D[0], y0, D[1], y0 + BOX, kind, f"frame:{pfn}:{kind}", [f"pfn {pfn}", label])
        if npages > 1:
            cv.text(D[0] + 2, y0 + BOX + 1, esc(extra), anchor="left", valign="top", size=9,
                    name=f"frame-users:{pfn}")
        frames_meta[pfn] = kind
        n = len(ys)
        for k, (ya, ro, _) in enumerate(ys):
            tip = y0 + 4 + (BOX - 8) * (k + 0.5) / n
            cv.arrow(C[1], ya, D[0], tip, f"map:{ya}->{pfn}:{'ro' if ro else 'rw'}", colour=RO if ro else INK,
                     width=1.2 if ro else 1.6)
    # column headers
    cv.text((A[0] + B[1]) / 2, 72, "<b>before HVO</b>: " + ("vmemmap mapped by PMD leaves (2 MiB each)" if pmd_before
            else "vmemmap mapped by PTEs"), size=12, name="panel-before")
    cv.text(A[0] + 4, 96, "vmemmap pages (virtual)", anchor="left", size=11)
    cv.text(B[0] + 4, 96, "frames (physical)", anchor="left", size=11)
    if into:
        cv.text((C[0] + E[1]) / 2, 72, "<b>after HVO</b>: " + ("the PMD split into a PTE table, " if pmd_before
                else "") + f"one {page_kib} KiB PTE per vmemmap page", size=12, name="panel-after")
        cv.text(C[0] + 4, 96, "vmemmap pages (virtual)", anchor="left", size=11)
        cv.text(D[0] + 4, 96, "frames now", anchor="left", size=11)
        cv.text(E[0] + 4, 96, "frames freed", anchor="left", size=11)
        cv.text(C[1] + 6, y + 4, f"<span style='color:{RO}'>→ RO</span>: tail remapped read-only;  "
                "→ RW: a kept mapping", anchor="left", size=10, name="key")
    else:
        t0 = items[0][0]["target"]
        cv.box(C[0], 112, E[1], 112 + 4 * ROW, "refused", "refused",
               [f"HVO {t0['hvo']}: the vmemmap stays as it is", *textwrap.wrap(t0.get("reason", ""), 80),
                "no PTE table, no remap, no frame freed"])
    for k, line in enumerate(footer):
        cv.text(A[0], y + 24 + 18 * k, esc(line), anchor="left", size=11, name="footer")
    y += 24 + 18 * len(footer) + 10
    vm0 = items[0][0]["target"]
    head = title or (f"HVO of the {_size(vm0['size'])} huge page at pfn {vm0['head_pfn']}" if len(items) == 1
                     else f"HVO of {len(items)} huge pages")
    sub = f"Linux {kernel}, {arch}: " + (f"HVO {vm0['hvo']}, the vmemmap stays as it was" if not into
                                          else _version_story(states, originals))
    return cv.figure(y, head, sub, meta={"frames": frames_meta, "kernel": kernel, "arch": arch})


def _pages(n: int) -> str:
    return f"{n} page" + ("s" if n != 1 else "")


def _size(short: str) -> str:
    return short[:-1] + " " + {"K": "KiB", "M": "MiB", "G": "GiB"}.get(short[-1], short[-1])


def _version_story(states: dict[tuple[int, int], set[str]], originals: set[int]) -> str:
    """The layout in words, from the data (which release did it is in the title)."""
    every = set().union(*states.values()) if states else set()
    if any(k[0] not in originals and "head_copied" not in s for k, s in states.items()):
        return "tail vmemmap pages remapped read-only to a shared tail page"
    if "head_copied" in every:
        return "head vmemmap page copied to a new page, every tail remapped read-only to the copy"
    if "kept" in every:
        return "head and 2nd vmemmap pages kept, the other tails remapped read-only to the 2nd"
    return "head vmemmap page kept, the tails remapped read-only to its frame"
