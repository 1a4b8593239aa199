"""Memory sections of an evaluated machine (crash's kmem -n): POST with the scenario inline or by id,
GET by the id of a saved scenario."""
from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from ..deps import CacheDep, StoreDep, machine_async, run_engine
from ..schemas import ScenarioId, SectionsRequest, SectionsResponse

router = APIRouter(prefix="/api/v1", tags=["sections"])
RESPONSES = {400: {"description": "Body is not parseable JSON"}, 404: {"description": "Unknown scenario_id"}}


async def _sections(req: SectionsRequest, store, cache) -> Response:
    m = await machine_async(req, store, cache)
    doc = await run_engine(m.sections, req.offset, req.limit, req.start_pfn)
    return Response(orjson.dumps({"scenario_id": req.scenario_id, **doc}), media_type="application/json")


@router.post("/sections", response_model=SectionsResponse, responses=RESPONSES)
async def sections(req: SectionsRequest, store: StoreDep, cache: CacheDep) -> Response:
    """List present memory sections: number, pfn range, mem_map address, memory block, node and flags."""
    return await _sections(req, store, cache)


@router.get("/sections", response_model=SectionsResponse, responses=RESPONSES)
async def sections_of_saved(scenario_id: ScenarioId, store: StoreDep, cache: CacheDep,
                            offset: Annotated[int, Query(ge=0, le=1 << 40)] = 0,
                            limit: Annotated[int, Query(ge=1, le=4096)] = 256) -> Response:
    """List the present memory sections of a saved scenario, a page at a time."""
    req = SectionsRequest.model_validate({"scenario_id": scenario_id, "offset": offset, "limit": limit})
    return await _sections(req, store, cache)
