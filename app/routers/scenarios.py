"""Saved scenarios: POST /scenarios, GET /scenarios/{id}, GET /scenarios (pinned, then newest first).

Immutable and content-addressed: the id is a hash of the canonical JSON, so GETs can be cached
forever (ETag = id) and a shared link can never change under its reader. The list and the save are
the `default` workspace's (app/routers/workspaces.py has every workspace's); a document is
readable by its id whichever workspaces list it."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

import anyio
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from engine import ScenarioError
from engine import Scenario
from engine import ADDR_PATTERN, parse_addr

from ..deps import CacheDep, StoreDep, machine_async, run_engine
from ..export import ExportBusy, build_view, check_size, export_slot, size_of, to_image
from ..outage import run_db
from ..store import DEFAULT_WORKSPACE
from ..errors import ScenarioLookupError, located
from ..schemas import SavedScenario, ScenarioId, ScenarioList, ScenarioRef
from .workspaces import LISTED, list_of, save_into

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"])
IMMUTABLE = "public, max-age=31536000, immutable"


def _not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match", "")
    return any(t.strip() in (etag, "*", "W/" + etag) for t in inm.split(","))


@router.post("", response_model=SavedScenario, status_code=201,
             responses={200: {"model": SavedScenario, "description": "Already saved (same document)"},
                        400: {"description": "Body is not parseable JSON"},
                        413: {"description": "Body over the size limit"},
                        503: {"description": "The store cannot be written now (down, read-only, full disk)"}})
async def save_scenario(scenario: Scenario, request: Request, store: StoreDep, cache: CacheDep,
                        listed: Annotated[bool, LISTED] = True) -> JSONResponse:
    """Save a scenario document (it must evaluate) into the default workspace. 201 with its id, or 200 if it was saved before."""
    return await save_into(DEFAULT_WORKSPACE, scenario, request, store, cache, listed)


@router.get("/{scenario_id}", response_model=Scenario,
            responses={304: {"description": "Not modified (If-None-Match)"}, 404: {"description": "Unknown id"}})
async def get_scenario(scenario_id: Annotated[ScenarioId, Path()], request: Request, store: StoreDep) -> Response:
    """The saved document, byte for byte as stored (canonical JSON)."""
    etag = f'"{scenario_id}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    row = await run_db(store.get, scenario_id)
    if row is None:
        raise ScenarioLookupError(f"scenario {scenario_id} not found")
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(row["body"].encode(), media_type="application/json", headers=headers)


@router.get("", response_model=ScenarioList, responses={304: {"description": "Not modified (If-None-Match)"}})
async def list_scenarios(request: Request, store: StoreDep,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                   offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """The default workspace's saved scenarios, pinned first then newest first, without their bodies."""
    return await list_of(DEFAULT_WORKSPACE, request, store, limit, offset)


FIGURE_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


@router.get("/{scenario_id}/figure.{fmt}", response_class=Response,
            responses={200: {"content": {t: {} for t in FIGURE_TYPES.values()}, "description": "The figure"},
                       404: {"description": "Unknown id"},
                       503: {"description": "Every figure export slot is busy (Retry-After)"}})
async def scenario_figure(scenario_id: Annotated[ScenarioId, Path()], fmt: Annotated[Literal["svg", "png", "pdf"], Path()],
                          store: StoreDep, cache: CacheDep,
                          view: Literal["map", "memmap", "hvo"] = "map",
                          block: Annotated[Optional[int], Query(ge=0, le=1 << 40)] = None,
                          start_pfn: Annotated[Optional[str], Query(pattern=ADDR_PATTERN, max_length=40)] = None,
                          end_pfn: Annotated[Optional[str], Query(pattern=ADDR_PATTERN, max_length=40)] = None,
                          head_pfn: Annotated[Optional[str], Query(
                              pattern=ADDR_PATTERN, max_length=40, description="Head pfn of the huge page (view hvo)")] = None,
                          hugepage: Annotated[Optional[str], Query(
                              pattern=ADDR_PATTERN, max_length=40, deprecated=True, description="Old name of head_pfn")] = None,
                          width: Annotated[Optional[int], Query(ge=200, le=4000)] = None,
                          height: Annotated[Optional[int], Query(ge=150, le=4000)] = None,
                          scale: Annotated[Optional[float], Query(ge=0.25, le=4)] = None) -> Response:
    """The same figure as the dashboard's, exported by Plotly (kaleido): `view` map (a pfn range,
    default the hot-plugged memory), memmap (a block's vmemmap) or hvo (a huge page's vmemmap).
    width and height are CSS pixels (default: the figure's own size), `scale` multiplies them (default
    1); width x height x scale^2 is capped, and at most a few exports run at once (else 503)."""
    scale = 1.0 if scale is None else scale
    try:                                   # the size caps, before any work
        check_size(*size_of({"layout": {}}, fmt, width, height, scale))
    except ScenarioError as e:
        raise located(e, where="query") from None
    try:
        with export_slot():             # at most EXPORT_SLOTS figure requests at work, the rest 503 at once
            ref = ScenarioRef(scenario_id=scenario_id)
            m = await machine_async(ref, store, cache)
            rng = None
            if (start_pfn is None) != (end_pfn is None):
                raise located(ScenarioError(("start_pfn",), "give both start_pfn and end_pfn, or neither"),
                              where="query")
            if start_pfn is not None:
                rng = (parse_addr(start_pfn), parse_addr(end_pfn))
            hp = parse_addr(head_pfn or hugepage) if (head_pfn or hugepage) is not None else None

            def build() -> dict:
                try:
                    fig = build_view(m, view, block=block, pfn_range=rng, head_pfn=hp)
                    check_size(*size_of(fig, fmt, width, height, scale))
                    return fig
                except ScenarioError as e:
                    raise located(e, where="query") from None
            fig = await run_engine(build)
            # Chromium does the drawing: a plain thread, so an export never holds an engine thread
            body = await anyio.to_thread.run_sync(lambda: to_image(fig, fmt, width, height, scale, slotted=True))
    except ExportBusy as e:
        raise HTTPException(503, str(e), headers={"Retry-After": str(e.retry_after)}) from None
    return Response(body, media_type=FIGURE_TYPES[fmt],
                    headers={"Cache-Control": IMMUTABLE, "Content-Disposition": f'inline; filename="{scenario_id}-{view}.{fmt}"'})
