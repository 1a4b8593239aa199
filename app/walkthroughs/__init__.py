"""Guided walkthroughs: data files (one JSON per walkthrough) of steps, each a scenario state, a view,
a narrative and the facts it claims, checked against the engine (tests run every claim).

A step's scenario is the walkthrough's base scenario with `set` merged in (e.g. another kernel or
policy) and its first `ops` operations applied. Claims name what they check:
  {"block": 32, "field": "self_mapping_pfn", "equals": "0x100000"}
  {"hugepage": "0x100200", "field": "hvo", "equals": "refused"}
  {"pfn": "0x100000", "field": "backing_pfn", "equals": "0x100000"}   (also backing_role)
  {"event": 2, "field": "outcome", "equals": "refused"}              (-1: the last)
  {"totals": "hvo_freed_pages", "equals": 7}
  {"chain": "0x100200", "equals": ["0x100200", "0x100008", "0x100000"]}
  {"expr": "0xfc000 + 31 * 0x200", "equals": "0xffe00"}             (arithmetic the text does)
with `equals`, `contains` (substring or list item) or `exists` (a block or huge page is there or not).
Every number a narrative states (a hex value, a size, a count of pages) appears in a claim of its step
(tests/walkthroughs/test_narrative_facts.py).
"""
from __future__ import annotations

import ast
import copy
import json
import operator
from functools import lru_cache
from importlib.resources import files
from typing import Any

import engine
from engine import EvaluatedMachine

__all__ = ["slugs", "load", "step_scenario", "check_step", "claim_text", "WalkthroughError"]


class WalkthroughError(LookupError):
    pass


@lru_cache(maxsize=None)
def _all() -> dict[str, dict[str, Any]]:
    out = {}
    for f in sorted(files(__package__).iterdir(), key=lambda p: p.name):
        if f.name.endswith(".json"):
            doc = json.loads(f.read_text(encoding="utf-8"))
            out[doc["slug"]] = doc
    return dict(sorted(out.items(), key=lambda kv: kv[1].get("order", 99)))


def slugs() -> list[str]:
    return list(_all())


def load(slug: str) -> dict[str, Any]:
    try:
        return copy.deepcopy(_all()[slug])
    except KeyError:
        raise WalkthroughError(f"no walkthrough {slug!r}; there are: {', '.join(_all())}") from None


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def step_scenario(wt: dict[str, Any], i: int) -> dict[str, Any]:
    step = wt["steps"][i]
    doc = _merge(wt["scenario"], step.get("set", {}))
    if "ops" in step:
        doc["ops"] = doc["ops"][: step["ops"]]
    doc["name"] = f"{wt['title']}: step {i + 1}"
    return doc


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else None
    return obj


def _actual(m: EvaluatedMachine, c: dict[str, Any]) -> Any:
    if "block" in c:
        b = next((b for b in m.blocks() if b["id"] == c["block"]), None)
        return b is not None if "exists" in c else (_get(b, c["field"]) if b else None)
    if "hugepage" in c:
        h = next((h for h in m.hugepages(0, None) if h["head_pfn"] == c["hugepage"]), None)
        return h is not None if "exists" in c else (_get(h, c["field"]) if h else None)
    if "pfn" in c:
        r = m.resolve([int(c["pfn"], 16)])[0]
        if c["field"] == "backing_role":
            return m.resolve([int(r["backing_pfn"], 16)])[0]["role"] if r["backing_pfn"] else None
        return _get(r, c["field"])
    if "event" in c:
        return _get(m.events()[c["event"]], c["field"])
    if "totals" in c:
        return _get(m.summary(), c["totals"])
    if "chain" in c:
        return [x["pfn"] for x in m.chain(int(c["chain"], 16))]
    if "expr" in c:
        v = _arith(ast.parse(c["expr"], mode="eval").body)
        return hex(v) if isinstance(c["equals"], str) else v
    raise WalkthroughError(f"claim {c} names nothing to check")


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.LShift: operator.lshift, ast.RShift: operator.rshift}


def _arith(node: ast.AST) -> int:
    """Integer arithmetic of an `expr` claim (+ - * // << >> on literals), nothing else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    raise WalkthroughError(f"expr claims are integer arithmetic, not {ast.dump(node)}")


def claim_text(c: dict[str, Any]) -> str:
    """The claim as a person reads it: `self_mapping_pfn of memory32 == 0x100000`."""
    if "block" in c:
        what = f"memory{c['block']}" if "exists" in c else f"{c['field']} of memory{c['block']}"
    elif "hugepage" in c:
        what = f"huge page {c['hugepage']}" if "exists" in c else f"{c['field']} of huge page {c['hugepage']}"
    elif "pfn" in c:
        what = f"{c['field']} of pfn {c['pfn']}"
    elif "event" in c:
        what = f"{c['field']} of event {c['event']}"
    elif "totals" in c:
        what = c["totals"]
    elif "expr" in c:
        what = c["expr"]
    else:
        what = f"chain from pfn {c['chain']}"
    if "exists" in c:
        return f"{what} {'exists' if c['exists'] else 'does not exist'}"
    if "contains" in c:
        return f"{what} contains {c['contains']!r}"
    v = c["equals"]
    return f"{what} == {' -> '.join(v) if isinstance(v, list) else v}"


def check_step(wt: dict[str, Any], i: int, m: EvaluatedMachine | None = None) -> list[dict[str, Any]]:
    """Every claim of step i with what the engine says and whether it holds."""
    m = m or engine.evaluate(step_scenario(wt, i))
    out = []
    for c in wt["steps"][i].get("claims", []):
        got = _actual(m, c)
        if "exists" in c:
            ok = got == c["exists"]
        elif "contains" in c:
            ok = got is not None and c["contains"] in got
        else:
            ok = got == c["equals"]
        out.append({"claim": claim_text(c), "holds": bool(ok), "actual": got})
    return out
