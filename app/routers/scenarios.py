"""Saved scenarios: POST /scenarios, GET /scenarios/{id}, GET /scenarios (newest first).

Immutable and content-addressed: the id is a hash of the canonical JSON, so GETs can be cached
forever (ETag = id) and a shared link can never change under its reader."""
from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from engine import ScenarioError
from engine.scenario import Scenario

from ..deps import CacheDep, StoreDep, evaluate_cached, run_engine
from ..errors import ScenarioLookupError
from ..schemas import SavedScenario, ScenarioId, ScenarioList

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"])
IMMUTABLE = "public, max-age=31536000, immutable"


def _saved(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "bytes": row["bytes"], "created_at": row["created_at"],
            "url": f"/api/v1/scenarios/{row['id']}"}


def _not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match", "")
    return any(t.strip() in (etag, "*", "W/" + etag) for t in inm.split(","))


@router.post("", response_model=SavedScenario, status_code=201,
             responses={200: {"model": SavedScenario, "description": "Already saved (same document)"},
                        400: {"description": "Body is not parseable JSON"},
                        413: {"description": "Body over the size limit"},
                        503: {"description": "The store cannot be written (read-only or full disk)"}})
async def save_scenario(scenario: Scenario, request: Request, store: StoreDep, cache: CacheDep) -> JSONResponse:
    """Save a scenario document (it must evaluate). 201 with its id, or 200 if it was saved before."""
    raw = json.loads(await request.body())
    try:
        await run_engine(evaluate_cached, cache, scenario)
    except ScenarioError as e:
        e.prefix = ()
        raise
    sid, created = await run_in_threadpool(store.save, raw, scenario.name)
    row = await run_in_threadpool(store.get, sid)
    url = f"/api/v1/scenarios/{sid}"
    return JSONResponse(_saved(row), status_code=201 if created else 200, headers={"Location": url})


@router.get("/{scenario_id}", response_model=Scenario,
            responses={304: {"description": "Not modified (If-None-Match)"}, 404: {"description": "Unknown id"}})
def get_scenario(scenario_id: Annotated[ScenarioId, Path()], request: Request, store: StoreDep) -> Response:
    """The saved document, byte for byte as stored (canonical JSON)."""
    etag = f'"{scenario_id}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    row = store.get(scenario_id)
    if row is None:
        raise ScenarioLookupError(f"scenario {scenario_id} not found")
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(row["body"].encode(), media_type="application/json", headers=headers)


@router.get("", response_model=ScenarioList, responses={304: {"description": "Not modified (If-None-Match)"}})
def list_scenarios(request: Request, store: StoreDep,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """Saved scenarios, newest first, without their bodies."""
    rows, total = store.list(limit, offset)
    doc = {"items": [_saved(r) for r in rows], "total": total, "limit": limit, "offset": offset}
    body = json.dumps(doc, separators=(",", ":")).encode()
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
