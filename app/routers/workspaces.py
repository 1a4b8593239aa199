"""Workspaces: each class, team or trainee has its own list of saved scenarios.

A workspace is a short name in the path (`/api/v1/workspaces/class-a/scenarios`); nothing creates it,
saving into it does. Ids stay content hashes: the same document saved in two workspaces has one id and
one stored copy, listed in both. Removing an entry takes it off that workspace's list only (the
document stays at /api/v1/scenarios/{id}, so no link breaks). A trainer pins entries: pinned ones are
listed first and cannot be removed until unpinned; with VMEMSCOPE_TRAINER_TOKEN set, pinning and
unpinning need that token in the X-Trainer-Token header. /api/v1/scenarios is the `default` workspace.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Optional

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from engine import Scenario, ScenarioError

from ..deps import CacheDep, StoreDep, content_key, evaluate_cached, run_engine
from ..errors import ScenarioLookupError, error_response, located
from ..outage import run_db
from ..schemas import ErrorResponse, SavedScenario, ScenarioId, ScenarioList, Workspace, rfc3339
from ..store import Store, check_name

__all__ = ["router", "save_into", "list_of", "entry_doc"]

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])
TOKEN_HEADER = "X-Trainer-Token"

WorkspacePath = Annotated[Workspace, Path(description="The workspace", examples=["class-a"])]
TrainerToken = Annotated[Optional[str], Header(
    alias=TOKEN_HEADER, max_length=256,
    description="The trainer's token: needed to pin and unpin when the server has VMEMSCOPE_TRAINER_TOKEN set")]
SCENARIO_EXAMPLE = {"name": "class A: memmap_on_memory", "kernel": "6.8", "ops": [
    {"op": "add_memory", "start": "0x100000000", "size": "128M", "memmap_on_memory": True},
    {"op": "online", "start": "0x100000000", "size": "128M", "zone": "movable"}]}
SAVE_EXAMPLES = {"class-a": {"summary": "A hot-added block with memmap_on_memory", "value": SCENARIO_EXAMPLE}}
ENTRY_EXAMPLE = {"id": "3f2a9c0d1e4b5a6978877665", "name": "class A: memmap_on_memory", "bytes": 203,
                 "created_at": "2026-11-30T19:04:05.123Z", "url": "/api/v1/scenarios/3f2a9c0d1e4b5a6978877665",
                 "workspace": "class-a", "added_at": "2026-11-30T19:04:05.123Z", "pinned": True,
                 "pinned_at": "2026-11-30T19:10:00.000Z"}
E = ErrorResponse
NOT_LISTED = {404: {"model": E, "description": "The workspace does not list this scenario"}}
TOKEN = {403: {"model": E, "description": "VMEMSCOPE_TRAINER_TOKEN is set and X-Trainer-Token is missing or wrong"}}
DOWN = {503: {"model": E, "description": "The store cannot answer or be written now (Retry-After)"}}


def entry_doc(row: dict) -> dict:
    """A store entry as the API shows it (times in RFC 3339)."""
    return {"id": row["id"], "name": row["name"], "bytes": row["bytes"], "created_at": rfc3339(row["created_at"]),
            "url": f"/api/v1/scenarios/{row['id']}", "workspace": row["workspace"],
            "added_at": rfc3339(row["added_at"]), "pinned": row["pinned_at"] is not None,
            "pinned_at": rfc3339(row["pinned_at"]) if row["pinned_at"] is not None else None, "listed": True}


def _not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match", "")
    return any(t.strip() in (etag, "*", "W/" + etag) for t in inm.split(","))


LISTED = Query(description="false: store the document (its id and permalink work) without adding it to the "
                           "workspace's list; the dashboard keeps every state it shows that way and lists only "
                           "what people save. An entry already listed stays listed.")


async def save_into(workspace: str, scenario: Scenario, request: Request, store: Store, cache,
                    listed: bool = True) -> JSONResponse:
    """Evaluate, store and (listed) list a document in a workspace: 201 if new to the list (or, not
    listed, to the store), else 200."""
    raw = json.loads(await request.body())
    try:
        check_name(scenario.name)
        await run_engine(evaluate_cached, cache, scenario)
    except ScenarioError as e:
        raise located(e)
    sid, new = await run_db(store.save, raw, scenario.name, workspace, listed)
    cache.alias(sid, content_key(scenario))        # evaluating it by id later replays nothing
    row = await run_db(store.entry, workspace, sid)
    body = entry_doc(row) if row else unlisted_doc(await run_db(store.get, sid), workspace)
    return JSONResponse(body, status_code=201 if new else 200, headers={"Location": f"/api/v1/scenarios/{sid}"})


def unlisted_doc(row: dict, workspace: str) -> dict:
    """A stored document that the workspace does not list (saved with listed=false)."""
    return {"id": row["id"], "name": row["name"], "bytes": row["bytes"], "created_at": rfc3339(row["created_at"]),
            "url": f"/api/v1/scenarios/{row['id']}", "workspace": workspace, "listed": False,
            "added_at": None, "pinned": False, "pinned_at": None}


async def list_of(workspace: str, request: Request, store: Store, limit: int, offset: int) -> Response:
    """A workspace's list, with a weak ETag of its body (304 when unchanged)."""
    rows, total = await run_db(store.list, workspace, limit, offset)
    doc = {"workspace": workspace, "items": [entry_doc(r) for r in rows], "total": total, "limit": limit,
           "offset": offset, "trainer_token_required": bool(request.app.state.settings.trainer_token)}
    body = json.dumps(doc, separators=(",", ":")).encode()
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _trainer_refusal(request: Request, token: str | None) -> JSONResponse | None:
    want = request.app.state.settings.trainer_token
    if not want:
        return None
    if token is None:
        why = f"pinning needs the trainer's token in {TOKEN_HEADER} (this server sets VMEMSCOPE_TRAINER_TOKEN)"
    elif not hmac.compare_digest(token.encode(), want.encode()):
        why = "this is not the trainer's token"
    else:
        return None
    return error_response(403, ["header", TOKEN_HEADER.lower()], why, "trainer_token")


@router.get("/{workspace}/scenarios", response_model=ScenarioList,
            responses={304: {"description": "Not modified (If-None-Match)"}, **DOWN})
async def list_workspace(workspace: WorkspacePath, request: Request, store: StoreDep,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """A workspace's saved scenarios, pinned first then newest first, without their bodies."""
    return await list_of(workspace, request, store, limit, offset)


@router.post("/{workspace}/scenarios", response_model=SavedScenario, status_code=201,
             responses={200: {"model": SavedScenario, "description": "This workspace lists it already (same document)"},
                        400: {"model": E, "description": "Body is not parseable JSON"},
                        413: {"model": E, "description": "Body over the size limit"}, **DOWN})
async def save_to_workspace(workspace: WorkspacePath, request: Request, store: StoreDep, cache: CacheDep,
                            scenario: Annotated[Scenario, Body(openapi_examples=SAVE_EXAMPLES)],
                            listed: Annotated[bool, LISTED] = True) -> JSONResponse:
    """Save a scenario document (it must evaluate) into a workspace's list; the id is its content hash."""
    return await save_into(workspace, scenario, request, store, cache, listed)


@router.get("/{workspace}/scenarios/{scenario_id}", response_model=SavedScenario,
            responses={200: {"content": {"application/json": {"example": ENTRY_EXAMPLE}}}, **NOT_LISTED, **DOWN})
async def get_entry(workspace: WorkspacePath, scenario_id: Annotated[ScenarioId, Path()], store: StoreDep) -> dict:
    """One entry of a workspace's list (the document itself is at its `url`)."""
    row = await run_db(store.entry, workspace, scenario_id)
    if row is None:
        raise ScenarioLookupError(f"workspace {workspace} does not list scenario {scenario_id}")
    return entry_doc(row)


@router.delete("/{workspace}/scenarios/{scenario_id}", status_code=204, response_class=Response,
               responses={**NOT_LISTED, 409: {"model": E, "description": "Pinned: unpin it first"}, **DOWN})
async def remove_entry(workspace: WorkspacePath, scenario_id: Annotated[ScenarioId, Path()],
                       store: StoreDep) -> Response:
    """Take a scenario off a workspace's list (other workspaces and its id keep working)."""
    got = await run_db(store.remove, workspace, scenario_id)
    if got == "absent":
        raise ScenarioLookupError(f"workspace {workspace} does not list scenario {scenario_id}")
    if got == "pinned":
        return error_response(409, ["path", "scenario_id"], f"scenario {scenario_id} is pinned in workspace "
                              f"{workspace}: unpin it first", "pinned")
    return Response(status_code=204)


@router.put("/{workspace}/scenarios/{scenario_id}/pin", response_model=SavedScenario,
            responses={200: {"content": {"application/json": {"example": ENTRY_EXAMPLE}}},
                       404: {"model": E, "description": "No saved scenario has this id"}, **TOKEN, **DOWN})
async def pin_entry(workspace: WorkspacePath, scenario_id: Annotated[ScenarioId, Path()], request: Request,
                    store: StoreDep, token: TrainerToken = None) -> Response:
    """Pin a saved scenario in a workspace (listing it there if it was not): first in the list, kept."""
    return await _pin(workspace, scenario_id, request, store, token, True)


@router.delete("/{workspace}/scenarios/{scenario_id}/pin", response_model=SavedScenario,
               responses={**NOT_LISTED, **TOKEN, **DOWN})
async def unpin_entry(workspace: WorkspacePath, scenario_id: Annotated[ScenarioId, Path()], request: Request,
                      store: StoreDep, token: TrainerToken = None) -> Response:
    """Unpin a scenario in a workspace: it stays listed, by the time it was added, and can be removed."""
    return await _pin(workspace, scenario_id, request, store, token, False)


async def _pin(workspace: str, sid: str, request: Request, store: Store, token: str | None, on: bool) -> Response:
    refused = _trainer_refusal(request, token)
    if refused is not None:
        return refused
    if not await run_db(store.pin, workspace, sid, on):
        raise ScenarioLookupError(f"scenario {sid} not found" if on else f"workspace {workspace} does not list "
                                  f"scenario {sid}")
    return JSONResponse(entry_doc(await run_db(store.entry, workspace, sid)))

