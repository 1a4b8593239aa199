"""GET /healthz and GET /api/v1/presets."""
from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

import engine
from engine import presets

from ..deps import CacheDep, StoreDep
from ..outage import run_db
from ..figures import role_legend
from ..schemas import Health, Presets

router = APIRouter()
PRESETS_JSON = json.dumps({**presets(), "roles": role_legend()}, separators=(",", ":")).encode()
_PRESETS_ETAG = '"' + hashlib.sha256(PRESETS_JSON).hexdigest()[:24] + '"'


@router.get("/healthz", tags=["health"], response_model=Health)
async def healthz(cache: CacheDep) -> dict:
    """Liveness: the process answers (never touches the database; readiness is /readyz); which engine
    implementation it runs; the machine cache's counters."""
    return {"status": "ok", "engine": engine.implementation(), "cache": cache.stats()}


@router.get("/readyz", tags=["health"],
            responses={503: {"description": "Not ready: the scenario database does not answer"}})
async def readyz(store: StoreDep) -> JSONResponse:
    """Ready for traffic: the scenario database answers (503 with Retry-After while it does not)."""
    await run_db(store.ping)
    return JSONResponse({"status": "ready"})


@router.get("/api/v1/presets", tags=["presets"], response_model=Presets,
            responses={304: {"description": "Not modified (If-None-Match)"}})
async def get_presets(request: Request) -> Response:
    """The machines and kernel versions offered, with their constants."""
    headers = {"ETag": _PRESETS_ETAG, "Cache-Control": "public, max-age=3600"}
    if _PRESETS_ETAG in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(PRESETS_JSON, media_type="application/json", headers=headers)
