"""The `vmemscope` command line (serve, evaluate, resolve)."""
from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _load(path: str | None) -> dict:
    from engine.presets import DEFAULT_SCENARIO
    if not path:
        return DEFAULT_SCENARIO
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the installed `vmemscope` command."""
    ap = argparse.ArgumentParser(prog="vmemscope", description="Linux vmemmap simulator")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve", help="run the web service on 127.0.0.1")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    ev = sub.add_parser("evaluate", help="replay a scenario and print its summary")
    ev.add_argument("scenario", nargs="?", help="scenario JSON file (default: the built-in one)")
    ev.add_argument("--json", action="store_true")
    rs = sub.add_parser("resolve", help="pfn -> struct page -> backing pfn")
    rs.add_argument("pfns", nargs="+", help="pfns, hex (0x...) or decimal")
    rs.add_argument("--scenario")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "serve":
            import uvicorn
            uvicorn.run("app.main:app", host=args.host, port=args.port)
            return 0
        import engine
        m = engine.evaluate(_load(args.scenario))
        if args.cmd == "evaluate":
            s = m.summary()
            if args.json:
                print(json.dumps({"summary": s, "blocks": m.blocks(), "events": m.events()}, indent=1))
            else:
                for k in ("arch", "kernel", "memory_block_size", "blocks", "present_pages", "managed_pages",
                          "memmap_pages", "self_hosted_pages", "hvo_freed_pages"):
                    print(f"{k:20} {s[k]}")
                for e in m.events():
                    print(f"[{e['index']}] {e['outcome']:8} {e['message']}")
            return 0
        from engine.units import parse_addr
        for r in m.resolve([parse_addr(p) for p in args.pfns]):
            print(f"pfn {r['pfn']} -> struct page {r['struct_page_vaddr']} -> pfn {r['backing_pfn']} "
                  f"({r['mapping']}, {r['role']}{', maps to itself' if r['maps_to_itself'] else ''})")
        return 0
    except (OSError, ValueError) as e:
        print(f"vmemscope: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
