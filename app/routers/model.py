"""POST /evaluate, /resolve and /window: ask an evaluated machine (inline or saved scenario)."""
from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from engine import ScenarioError

from ..deps import CacheDep, StoreDep, machine_for
from ..schemas import (EvaluateRequest, EvaluateResponse, ResolveRequest, ResolveResponse, WindowRequest,
                       WindowResponse)

router = APIRouter(prefix="/api/v1", tags=["machine"])
BAD_BODY = {400: {"description": "Body is not parseable JSON"},
            404: {"description": "Unknown scenario_id"},
            413: {"description": "Body over the size limit"}}


def _json(doc: dict) -> Response:
    """Serialise directly (the shapes are the documented models; validating a million ints twice
    would cost more than computing them)."""
    return Response(json.dumps(doc, separators=(",", ":")), media_type="application/json")


def _query_error(e: ScenarioError) -> ScenarioError:
    e.prefix = ()
    return e


@router.post("/evaluate", response_model=EvaluateResponse, responses=BAD_BODY)
def evaluate(req: EvaluateRequest, store: StoreDep, cache: CacheDep) -> Response:
    """Replay a scenario: memory blocks with their memmap placement and self-mapping pfn, huge pages
    with their HVO state and reason, totals, and one event per op (refusals are outcomes, not errors)."""
    m = machine_for(req, store, cache)
    off, lim = req.hugepages_offset, req.hugepages_limit
    return _json({"scenario_id": req.scenario_id, "implementation": m.implementation,
                  "blocks": m.blocks(), "hugepages": m.hugepages(off, lim),
                  "hugepages_total": len(m.tables.hp_idx), "totals": m.summary(), "events": m.events()})


@router.post("/resolve", response_model=ResolveResponse, responses=BAD_BODY)
def resolve(req: ResolveRequest, store: StoreDep, cache: CacheDep) -> Response:
    """pfn -> struct page address -> backing pfn (PMD or PTE mapped), with role, zone, block,
    section and huge page, for up to 100,000 pfns."""
    m = machine_for(req, store, cache)
    limit = m.m.arch.max_phys >> m.m.arch.page_shift
    for k, p in enumerate(req.pfns):
        if p >= limit:
            raise _query_error(ScenarioError(("pfns", k), f"pfn {hex(p)} is beyond the physical address "
                                             f"limit of {m.m.arch.key} ({m.m.arch.max_physmem_bits} bits)"))
    return _json({"scenario_id": req.scenario_id, "pages": m.resolve(req.pfns)})


@router.post("/window", response_model=WindowResponse, responses=BAD_BODY)
def window(req: WindowRequest, store: StoreDep, cache: CacheDep) -> Response:
    """Pages of each role in `bins` equal bins over [start_pfn, end_pfn), columnar, for plotting;
    binned on the server so any zoom level costs the same."""
    m = machine_for(req, store, cache)
    try:
        w = m.window(req.start_pfn, req.end_pfn, req.bins)
    except ScenarioError as e:
        raise _query_error(e)
    return _json({"scenario_id": req.scenario_id, "start_pfn": hex(w["start_pfn"]), "end_pfn": hex(w["end_pfn"]),
                  "bins": w["bins"], "roles": w["roles"], "dominant": w["dominant"].tolist(),
                  "counts": {k: v.tolist() for k, v in w["counts"].items()}})
