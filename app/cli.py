"""The `vmemscope` command: serve, evaluate, resolve, render, render-walkthrough, screenshot, collect.

Every subcommand has --help; an error is one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]


class CliError(Exception):
    pass


def _load(path: str | None) -> dict:
    from engine import DEFAULT_SCENARIO
    if not path:
        return DEFAULT_SCENARIO
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CliError(f"{path} is not JSON: {e}") from None


def _evaluate(doc: dict):
    import engine
    from pydantic import ValidationError
    try:
        return engine.evaluate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        from app.errors import format_loc
        raise CliError(f"scenario: {format_loc(err['loc'])}: {err['msg']}") from None
    except engine.ScenarioError as e:
        from app.errors import format_loc
        raise CliError(f"scenario: {format_loc(e.loc)}: {e.msg}") from None


def _range(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    from engine import parse_addr
    a, sep, b = text.partition("-")
    if not sep:
        raise CliError(f"--range {text!r}: give START-END pfns, e.g. 0x100000-0x108000")
    try:
        lo, hi = parse_addr(a, "pfn", decimal=True), parse_addr(b, "pfn", decimal=True)
    except ValueError as e:
        raise CliError(f"--range {text!r}: {e}") from None
    if hi <= lo:
        raise CliError(f"--range {text!r}: END must be above START")
    return lo, hi


def cmd_serve(a) -> None:
    from app import serving
    from app.settings import Settings
    from app.store import StoreError
    settings = Settings()
    store = settings.store()          # a corrupt, newer, unreachable or hung database stops us here
    try:
        serving.open_store_or_fail(store, settings.db_connect_timeout_s + settings.db_timeout_s)
    except StoreError as e:
        raise CliError(str(e)) from None
    if store.read_only:
        print(f"vmemscope serve: warning: {store.safe_url} is read-only; saving scenarios is off", file=sys.stderr)
    store.close()
    serving.run(settings, a.host, a.port, a.log_level)


def cmd_evaluate(a) -> None:
    m = _evaluate(_load(a.scenario))
    s = m.summary()
    if a.json:
        print(json.dumps({"totals": s, "blocks": m.blocks(), "hugepages": m.hugepages(0, None),
                          "events": m.events()}, indent=1))
        return
    rows = [("arch", s["arch"]), ("kernel", s["kernel"]), ("memory block size", s["memory_block_size"]),
            ("blocks", f"{s['blocks']} ({s['blocks_online']} online)"), ("present pages", s["present_pages"]),
            ("managed pages", s["managed_pages"]), ("memmap pages", s["memmap_pages"]),
            ("self-hosted pages", s["self_hosted_pages"]), ("HVO freed pages", s["hvo_freed_pages"])]
    for k, v in rows:
        print(f"{k:20} {v}")
    hot = [b for b in m.blocks() if not b["boot"]]
    if hot:                                      # lsmem's columns and names, then the memmap's place
        print(f"\n{'RANGE':37} {'SIZE':5} {'STATE':7} {'REMOVABLE':9} {'BLOCK':5} {'NODE':4} {'ZONES':7} "
              f"{'MEMMAP':22} SELF-MAPPING PFN")
        for b in hot:
            mm = b["memmap"]
            print(f"{b['range']:37} {b['size']:5} {b['state']:7} {'yes' if b['removable'] else 'no':9} {b['id']:<5} "
                  f"{b['node']:<4} {b['zones'] or '-':7} {mm['where'] + ' ' + (mm['start_pfn'] or ''):22} "
                  f"{b['self_mapping_pfn'] or '-'}")
    hps = m.hugepages(0, 50)
    if hps:
        print(f"\n{'huge page':10} {'size':5} {'HVO':16} reason")
        for h in hps:
            print(f"{h['head_pfn']:10} {h['size']:5} {h['hvo']:16} {h['reason']}")
    print()
    for e in m.events():
        print(f"[{e['index']}] {e['outcome']:8} {e['message']}")


def cmd_resolve(a) -> None:
    from engine import ScenarioError, parse_addr
    m = _evaluate(_load(a.scenario))
    try:
        pfns = [parse_addr(p, "pfn", decimal=True) for p in a.pfns]
    except ValueError as e:
        raise CliError(f"pfn: {e}") from None
    try:
        m.check_pfns(pfns)
    except ScenarioError as e:
        raise CliError(f"pfn: {e.msg}") from None
    pages = m.resolve(pfns)
    if a.json:
        print(json.dumps(pages, indent=1))
        return
    for r in pages:
        print(f"pfn {r['pfn']} -> struct page {r['struct_page_vaddr']} -> pfn {r['backing_pfn']} "
              f"({r['mapping']}, {r['role']}{', maps to itself' if r['maps_to_itself'] else ''})")


def _write(fig: dict, out: str, fmt: str | None, width: int | None, height: int | None,
           scale: float | None) -> str:
    from app.export import FORMATS, to_image
    from engine import ScenarioError
    fmt = fmt or Path(out).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise CliError(f"--format: give one of {', '.join(FORMATS)} (or an --out file ending in one)")
    try:
        data = to_image(fig, fmt, width=width, height=height, scale=scale)
    except ScenarioError as e:
        raise CliError(f"--{e.loc[0]}: {e.msg}") from None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(data)
    return fmt


# the option of `render` that gave each engine field (the REST and Python names), for error messages
RENDER_FLAGS = {"head_pfn": "--head_pfn", "hugepage": "--head_pfn", "start_pfn": "--range", "end_pfn": "--range",
                "bins": "--range", "block": "--block"}


def cmd_render(a) -> None:
    from app.export import build_view
    import engine
    m = _evaluate(_load(a.scenario))
    try:
        hp = engine.parse_addr(a.head_pfn, "pfn", decimal=True) if a.head_pfn else None
    except ValueError as e:
        raise CliError(f"--head_pfn: {e}") from None
    try:
        fig = build_view(m, a.view, block=a.block, pfn_range=_range(a.range), head_pfn=hp, title=a.title or "")
    except engine.ScenarioError as e:
        raise CliError(f"{RENDER_FLAGS.get(str(e.loc[0]), '--' + str(e.loc[0]))}: {e.msg}") from None
    if a.format and len(a.out) > 1:
        raise CliError("--format: give it with one --out only (several --out files take their suffixes)")
    for out in a.out:                      # one figure, several files, one Chromium
        fmt = _write(fig, out, a.format, a.width, a.height, a.scale)
        print(f"wrote {out} ({fmt}, view {a.view})")


def _progress(i: int, n: int, width: int = 20) -> str:
    done = round(width * i / n)
    return "[" + "#" * done + "." * (width - done) + f"] {i}/{n}"


def _step_figure(wt: dict, i: int, m) -> dict:
    """The figure of walkthrough step i: the panel the step shows (map, a huge page's HVO, a block's memmap)."""
    from app.export import build_view
    step = wt["steps"][i]
    v = step["view"]
    sel = v.get("select", {})
    title = f"{i + 1}. {step['title']}"
    if v["panel"] == "vmemmap" and "head_pfn" in sel:
        return build_view(m, "hvo", head_pfn=int(sel["head_pfn"], 16), title=title)
    if v["panel"] == "vmemmap":
        return build_view(m, "memmap", block=sel.get("block"), title=title)
    lo, hi = (int(x, 16) for x in v["range"])
    return build_view(m, "map", pfn_range=(lo, hi), title=title)


def _shown(path: Path) -> str:
    """A path as the user should retype it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _render_walkthrough(W, slug: str, out: Path, a) -> int:
    try:
        wt = W.load(slug)
    except W.WalkthroughError as e:
        raise CliError(str(e)) from None
    out.mkdir(parents=True, exist_ok=True)
    n = len(wt["steps"])
    lines = [f"# {wt['title']}", "", f"*{wt['audience']}*", "",
             f"Regenerate with `vmemscope render-walkthrough {wt['slug']} --out {_shown(out)}`.", ""]
    for i, step in enumerate(wt["steps"]):
        m = _evaluate(W.step_scenario(wt, i))
        name = f"step-{i + 1:02d}.{a.format}"
        _write(_step_figure(wt, i, m), str(out / name), a.format, a.width, None, a.scale)
        bar = "▰" * (i + 1) + "▱" * (n - i - 1)
        lines += [f"## Step {i + 1} of {n}: {step['title']}", "", f"`{bar}` {i + 1}/{n}", "",
                  f"![{step['title']}]({name})", "", step["narrative"], "", "Claims (checked against the engine):", ""]
        lines += [f"- {r['claim']}: {'holds' if r['holds'] else 'DOES NOT HOLD'}" for r in W.check_step(wt, i, m)]
        lines.append("")
        print(f"\r{_progress(i + 1, n)} {slug}/{name}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    (out / "index.md").write_text("\n".join(lines), encoding="utf-8")
    return n


def cmd_render_walkthrough(a) -> None:
    """One walkthrough, or --all of them (into OUT/<slug>/, with an index): one Chromium for the batch."""
    from app import walkthroughs as W
    if a.all == bool(a.slug):
        raise CliError("give a walkthrough slug or --all, not both or neither")
    out = Path(a.out)
    if not a.all:
        n = _render_walkthrough(W, a.slug, out, a)
        print(f"wrote {n} figures and {out / 'index.md'}")
        return
    total, index = 0, ["# Walkthroughs", "", "Regenerate with `vmemscope render-walkthrough --all --out "
                       f"{_shown(out)}`.", ""]
    for slug in W.slugs():
        n = _render_walkthrough(W, slug, out / slug, a)
        total += n
        index.append(f"- [{W.load(slug)['title']}]({slug}/index.md): {n} steps")
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"wrote {total} figures in {len(W.slugs())} walkthroughs and {out / 'index.md'}")


def cmd_screenshot(a) -> None:
    from app.screenshot import screenshot
    url = a.url
    if a.walkthrough:
        url = f"/walkthroughs/{a.walkthrough}/{a.step}"
    screenshot(url=url, scenario=_load(a.scenario) if a.scenario else None, out=a.out, width=a.width,
               height=a.height, full_page=a.full_page)
    print(f"wrote {a.out}")


def cmd_collect(a) -> None:
    from app import collect
    try:
        summary = collect.run(a.sysroot, a.out, a.snapshot)
    except collect.CollectError as e:
        raise CliError(str(e)) from None
    if a.out not in (None, "-"):
        print(f"wrote {a.out}: {summary}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vmemscope", description="Linux vmemmap simulator: struct pages of "
                                 "hot-plugged memory, memmap_on_memory and HVO")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sp = sub.add_parser("serve", help="run the dashboard and REST API on 127.0.0.1")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    sp.set_defaults(fn=cmd_serve)
    ev = sub.add_parser("evaluate", help="replay a scenario and print its summary")
    ev.add_argument("scenario", nargs="?", help="scenario JSON file (default: the built-in one)")
    ev.add_argument("--json", action="store_true", help="print totals, blocks, huge pages and events as JSON")
    ev.set_defaults(fn=cmd_evaluate)
    rs = sub.add_parser("resolve", help="pfn -> struct page -> backing pfn")
    rs.add_argument("pfns", nargs="+", help="pfns, hex (0x...) or decimal")
    rs.add_argument("--scenario", help="scenario JSON file (default: the built-in one)")
    rs.add_argument("--json", action="store_true")
    rs.set_defaults(fn=cmd_resolve)
    rd = sub.add_parser("render", help="export a figure (the dashboard's) as SVG, PNG or PDF")
    rd.add_argument("scenario", help="scenario JSON file")
    rd.add_argument("--view", choices=("map", "memmap", "hvo"), default="map")
    g = rd.add_mutually_exclusive_group()
    g.add_argument("--block", type=int, help="memory block N (memoryN)")
    g.add_argument("--range", help="pfn range START-END, e.g. 0x100000-0x108000")
    rd.add_argument("--head_pfn", "--head-pfn", "--hugepage", dest="head_pfn", metavar="PFN",
                    help="head pfn of the huge page, hex (0x...) or decimal (view hvo; the REST field "
                    "head_pfn; --hugepage is the old spelling)")
    rd.add_argument("--format", choices=("svg", "png", "pdf"), help="default: from --out's suffix")
    rd.add_argument("--out", required=True, action="append", help="output file; repeat for several formats")
    rd.add_argument("--title")
    rd.add_argument("--width", type=int, help="CSS pixels (default: the figure's own width, else 1200)")
    rd.add_argument("--height", type=int, help="CSS pixels (default: the figure's own height)")
    rd.add_argument("--scale", type=float, help="pixel density (default: 2 for PNG, 1 for SVG and PDF)")
    rd.set_defaults(fn=cmd_render)
    rw = sub.add_parser("render-walkthrough", help="one figure per step of a walkthrough, and an index.md")
    rw.add_argument("slug", nargs="?", help="walkthrough slug (see GET /api/v1/walkthroughs)")
    rw.add_argument("--all", action="store_true", help="every walkthrough, into OUT/<slug>/ (one browser for all)")
    rw.add_argument("--out", required=True, help="output directory")
    rw.add_argument("--format", choices=("svg", "png", "pdf"), default="svg")
    rw.add_argument("--width", type=int, help="CSS pixels (default: each figure's own width, else 1200)")
    rw.add_argument("--scale", type=float, help="pixel density (default: 2 for PNG, 1 for SVG and PDF)")
    rw.set_defaults(fn=cmd_render_walkthrough)
    sc = sub.add_parser("screenshot", help="a PNG of the dashboard or a walkthrough step (headless Chromium)")
    src = sc.add_mutually_exclusive_group()
    src.add_argument("--scenario", help="scenario JSON file to open")
    src.add_argument("--walkthrough", help="walkthrough slug")
    src.add_argument("--url", help="a path on the dashboard, e.g. /?s=ID")
    sc.add_argument("--step", type=int, default=1, help="walkthrough step (from 1)")
    sc.add_argument("--out", required=True)
    sc.add_argument("--width", type=int, default=1280)
    sc.add_argument("--height", type=int, default=720)
    sc.add_argument("--full-page", action="store_true")
    sc.set_defaults(fn=cmd_screenshot)
    co = sub.add_parser("collect", help="read this machine's memory blocks, hotplug parameters and HugeTLB "
                        "pools into a scenario (read-only; also `python3 app/collect.py`)")
    co.add_argument("--sysroot", default="/", help="root of a copied /sys and /proc tree (default: /)")
    co.add_argument("--out", help="scenario JSON file (default: stdout)")
    co.add_argument("--snapshot", help="also write the raw snapshot, with observed and inferred facts")
    co.set_defaults(fn=cmd_collect)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed `vmemscope` command."""
    a = build_parser().parse_args(argv)
    try:
        a.fn(a)
        return 0
    except (CliError, OSError, ValueError, RuntimeError) as e:
        print(f"vmemscope {a.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
