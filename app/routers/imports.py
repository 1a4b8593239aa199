"""POST /api/v1/import: a real machine as a scenario, from a snapshot (app/collect.py on the machine)
or from `lsmem --json --all` when running the collector is not an option.

The scenario is derived by app.collect.build (the same code the collector runs), then evaluated:
an import that the engine cannot replay is a 422 naming the field, never a half-usable document.
"""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from engine import MAX_BLOCKS, Scenario, ScenarioError

from .. import collect
from ..deps import CacheDep, evaluate_cached, run_engine
from ..errors import located
from ..schemas_import import ImportRequest, ImportResponse

router = APIRouter(prefix="/api/v1", tags=["import"])


def _import(req: ImportRequest, cache) -> dict:
    where = "snapshot" if req.snapshot is not None else "lsmem"
    try:
        snap = (req.snapshot.model_dump() if req.snapshot is not None
                else collect.from_lsmem(req.lsmem.model_dump(by_alias=True)))
        if len(snap["memory_blocks"]) > MAX_BLOCKS:
            raise collect.CollectError(f"more than {MAX_BLOCKS} memory blocks", ("memory",))
        doc, observed, inferred, notes = collect.build(snap)
    except collect.CollectError as e:
        raise located(ScenarioError(e.loc, e.msg), (where,)) from None
    try:
        sc = Scenario.model_validate(doc)
    except ValidationError as e:           # e.g. more ops or boot ranges than a scenario holds
        first = e.errors()[0]
        raise ScenarioError(tuple(first["loc"]), first["msg"]) from None
    evaluate_cached(cache, sc)             # a ScenarioError here is a 422 at scenario.<field>
    return {"scenario": doc, "observed": observed, "inferred": inferred, "notes": notes}


@router.post("/import", response_model=ImportResponse,
             responses={400: {"description": "Body is not parseable JSON"},
                        413: {"description": "Body over the size limit"}})
async def import_machine(req: ImportRequest, cache: CacheDep) -> JSONResponse:
    """A real machine as a scenario: memory blocks (boot or hot-added, inferred), their nodes, zones and
    states, memmap_on_memory and HVO settings, HugeTLB pools; with what was observed and what inferred.
    The scenario is evaluated before it is returned (422 if the engine cannot replay it)."""
    return JSONResponse(await run_engine(_import, req, cache))
