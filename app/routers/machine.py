"""POST /evaluate, /resolve and /window: ask an evaluated machine (inline or saved scenario).

Small queries on a cached machine are answered on the event loop (the Cython loops take
microseconds); anything that replays a scenario or builds a large answer runs on an engine thread.
"""
from __future__ import annotations

from typing import Iterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from engine import FIXED_POINT_WHY, EvaluatedMachine, ScenarioError

from ..errors import located
from ..deps import CacheDep, StoreDep, machine_async, run_engine
from ..figures import MAX_FIGURE_BINS, map_figure, vmemmap_figure
from ..schemas import (RESOLVE_EXAMPLES, ChainRequest, ChainResponse, ErrorResponse, EvaluateRequest,
                       EvaluateResponse, ResolveColumnsResponse, ResolveRequest, ResolveResponse, VmemmapRequest,
                       VmemmapResponse, WindowRequest, WindowResponse)

router = APIRouter(prefix="/api/v1", tags=["machine"])
BAD_BODY = {400: {"model": ErrorResponse, "description": "Body is not parseable JSON"},
            404: {"model": ErrorResponse, "description": "Unknown scenario_id"},
            413: {"model": ErrorResponse, "description": "Body over the size limit"}}
INLINE_PFNS = 2_000          # answer on the event loop up to this many pfns ...
INLINE_BINS = 20_000         # ... or bins
INLINE_BLOCKS = 512          # ... or memory blocks (evaluate lists every block)
NDJSON_CHUNK = 2_000         # pfns resolved per streamed chunk


def _json(doc: dict) -> Response:
    """Serialise directly (the shapes are the documented models; validating a million ints twice
    would cost more than computing them)."""
    return Response(orjson.dumps(doc), media_type="application/json")


async def _answer(small: bool, fn, *args) -> Response:
    return _json(fn(*args) if small else await run_engine(fn, *args))


def _pfn_ranges(m: EvaluatedMachine) -> dict:
    return {k: [hex(s), hex(e)] if r else None for k, r in m.pfn_ranges().items() for s, e in [r or (0, 0)]}


DASHBOARD_HUGEPAGES = 500    # huge pages the dashboard lists (static/js/main.js asks for as many)


def evaluate_answer(m: EvaluatedMachine, req: EvaluateRequest) -> dict:
    """The /evaluate answer (the dashboard's page carries it for the document it opens: pages.py)."""
    blocks = m.blocks(req.blocks_offset, req.blocks_limit)
    span = (int(blocks[0]["start_pfn"], 16), int(blocks[-1]["end_pfn"], 16)) if blocks else (0, 0)
    return {"scenario_id": req.scenario_id, "implementation": m.implementation,
            "blocks": blocks, "blocks_total": m.nr_blocks,
            "pfn_ranges": _pfn_ranges(m),
            "hugepages": m.hugepages(req.hugepages_offset, req.hugepages_limit),
            "hugepages_total": m.nr_hugepages, "totals": m.summary(),
            "fixed_points": m.fixed_points(*span),
            "fixed_point_notes": FIXED_POINT_WHY, "events": m.events()}


@router.post("/evaluate", response_model=EvaluateResponse, responses=BAD_BODY)
async def evaluate(req: EvaluateRequest, store: StoreDep, cache: CacheDep) -> Response:
    """Replay a scenario: memory blocks with their memmap placement and self-mapping pfn, huge pages
    with their HVO state and reason, totals, and one event per op (refusals are outcomes, not errors)."""
    m = await machine_async(req, store, cache)
    small = min(m.nr_blocks, req.blocks_limit) <= INLINE_BLOCKS and req.hugepages_limit <= 1000 \
        and m.nr_events <= 1000
    return await _answer(small, evaluate_answer, m, req)


def _resolve(m: EvaluatedMachine, req: ResolveRequest) -> dict:
    try:
        if req.format == "columns":
            return _resolve_columns(m, req)         # resolve_fields checks the pfns itself
        m.check_pfns(req.pfns)
    except ScenarioError as e:
        raise located(e)
    return {"scenario_id": req.scenario_id, "pages": m.resolve(req.pfns)}


def _hexs(xs: list) -> list:
    return [None if x is None else hex(x) for x in xs]


def _resolve_columns(m: EvaluatedMachine, req: ResolveRequest) -> dict:
    f = m.resolve_fields(req.pfns)
    hp, d = f["hugepages"], f["derived"]
    cols = {k: f[k] for k in ("node", "zone", "block", "state", "mapping", "role", "self_hosted",
                              "maps_to_itself", "hugepage", "kpageflags")}
    return {"scenario_id": req.scenario_id, "format": "columns", "count": len(f["pfn"]),
            "columns": {"pfn": list(map(hex, f["pfn"])), "backing_pfn": _hexs(f["backing_pfn"]), **cols},
            "hugepages": {**hp, "head_pfn": list(map(hex, hp["head_pfn"]))}, "legend": f["legend"],
            "derived": {**d, "vmemmap_base": hex(d["vmemmap_base"]), "memstart_pfn": hex(d["memstart_pfn"])}}


def _ndjson(m: EvaluatedMachine, pfns: list[int]) -> Iterator[bytes]:
    """One page object per line, resolved NDJSON_CHUNK pfns at a time (the first line leaves at once)."""
    for i in range(0, len(pfns), NDJSON_CHUNK):
        yield b"".join(orjson.dumps(p, option=orjson.OPT_APPEND_NEWLINE) for p in m.resolve(pfns[i: i + NDJSON_CHUNK]))


NDJSON = "application/x-ndjson"
RESOLVE_DOC = {
    "content": {
        "application/json": {"examples": {
            "pages": {"summary": 'format "pages" (default): one object per pfn', "value": RESOLVE_EXAMPLES["pages"]},
            "columns": {"summary": 'format "columns": one array per field', "value": RESOLVE_EXAMPLES["columns"]}}},
        NDJSON: {"schema": {"type": "string", "description": "One page object (as in `pages`) per line"},
                 "example": RESOLVE_EXAMPLES["ndjson"]}},
    "description": "The pfns resolved, as `pages` or `columns`, or streamed as NDJSON (Accept: application/x-ndjson)"}


@router.post("/resolve", response_model=ResolveResponse | ResolveColumnsResponse,
             responses={**BAD_BODY, 200: RESOLVE_DOC})
async def resolve(req: ResolveRequest, request: Request, store: StoreDep, cache: CacheDep) -> Response:
    """pfn -> struct page address -> backing pfn (PMD or PTE mapped), with role, zone, block,
    section and huge page, for up to 100,000 pfns: one object per pfn, one array per field
    (`"format": "columns"`), or streamed one line per pfn (`Accept: application/x-ndjson`)."""
    m = await machine_async(req, store, cache)
    if NDJSON in request.headers.get("accept", ""):
        try:
            m.check_pfns(req.pfns)
        except ScenarioError as e:
            raise located(e)
        return StreamingResponse(_ndjson(m, req.pfns), media_type=NDJSON)
    return await _answer(len(req.pfns) <= INLINE_PFNS, _resolve, m, req)


def _window(m: EvaluatedMachine, req: WindowRequest) -> dict:
    if req.figure and req.bins > MAX_FIGURE_BINS:
        raise located(ScenarioError(("bins",), f"at most {MAX_FIGURE_BINS} with a figure"))
    try:
        w = m.window(req.start_pfn, req.end_pfn, req.bins)
        fig = map_figure(m, req.start_pfn, req.end_pfn, req.bins) if req.figure else None
    except ScenarioError as e:
        raise located(e)
    return {"scenario_id": req.scenario_id, "start_pfn": hex(w["start_pfn"]), "end_pfn": hex(w["end_pfn"]),
            "bins": w["bins"], "roles": w["roles"], "dominant": w["dominant"].tolist(),
            "counts": {k: v.tolist() for k, v in w["counts"].items()}, "figure": fig}


@router.post("/window", response_model=WindowResponse, responses=BAD_BODY)
async def window(req: WindowRequest, store: StoreDep, cache: CacheDep) -> Response:
    """Pages of each role in `bins` equal bins over [start_pfn, end_pfn), columnar, for plotting;
    binned on the server so any zoom level costs the same."""
    m = await machine_async(req, store, cache)
    return await _answer(req.bins <= INLINE_BINS and not req.figure, _window, m, req)


def _vmemmap(m: EvaluatedMachine, req: VmemmapRequest) -> dict:
    try:
        vm = m.vmemmap(block=req.block, head_pfn=req.head_pfn)
    except ScenarioError as e:
        raise located(e)
    pages = vm["pages"]
    end = len(pages) if req.limit is None else req.offset + req.limit
    return {"scenario_id": req.scenario_id, **vm, "pages": pages[req.offset: end], "pages_total": len(pages),
            "offset": req.offset, "figure": vmemmap_figure(vm, m) if req.figure else None}


@router.post("/vmemmap", response_model=VmemmapResponse, responses=BAD_BODY)
async def vmemmap(req: VmemmapRequest, store: StoreDep, cache: CacheDep) -> Response:
    """The vmemmap pages of a memory block or a huge page: which pfns each describes, the frame
    backing it, PMD or PTE, and for HVO the tails remapped read-only and the frames freed (every
    page, or `limit` of them from `offset`; `pages_total` counts them)."""
    m = await machine_async(req, store, cache)
    return await _answer(False, _vmemmap, m, req)


def _chain(m: EvaluatedMachine, req: ChainRequest) -> dict:
    try:
        chain = m.chain(req.pfn)
    except ScenarioError as e:
        raise located(e)
    last = chain[-1]
    fixed = last["pfn"] if last["backing_pfn"] == last["pfn"] else None
    return {"scenario_id": req.scenario_id, "chain": chain, "fixed_point": fixed}


@router.post("/chain", response_model=ChainResponse, responses=BAD_BODY)
async def chain(req: ChainRequest, store: StoreDep, cache: CacheDep) -> Response:
    """pfn -> struct page address -> backing pfn -> its struct page ... until a pfn whose struct
    page lives in itself (the self-mapping page of a self-hosted memmap) or no memmap."""
    m = await machine_async(req, store, cache)
    return await _answer(True, _chain, m, req)
