"""Typed dependencies: the store, the machine cache, and turning a request into an evaluated machine."""
from __future__ import annotations

import hashlib
from typing import Annotated

import anyio

from fastapi import Depends, Request

import engine
from engine import EvaluatedMachine, ScenarioError
from engine import Scenario

from .cache import MachineCache
from .errors import ScenarioLookupError
from .schemas import ScenarioRef
from .store import Store

__all__ = ["StoreDep", "CacheDep", "machine_for", "machine_async", "run_engine", "load_saved", "cache_key"]

ENGINE_THREADS = 2          # the machine has 2 cores
_LIMITER: anyio.CapacityLimiter | None = None


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_cache(request: Request) -> MachineCache:
    return request.app.state.cache


StoreDep = Annotated[Store, Depends(get_store)]
CacheDep = Annotated[MachineCache, Depends(get_cache)]


def load_saved(store: Store, sid: str) -> Scenario:
    row = store.get(sid)
    if row is None:
        raise ScenarioLookupError(f"scenario {sid} not found")
    return Scenario.model_validate_json(row["body"])


def cache_key(ref: ScenarioRef) -> str:
    """Saved scenarios by id (they never change); inline ones by their normalised document, so equal
    scenarios share a machine."""
    if ref.scenario is None:
        return "id:" + ref.scenario_id
    return hashlib.sha256(ref.scenario.model_dump_json().encode()).hexdigest()


def evaluate_cached(cache: MachineCache, sc: Scenario) -> EvaluatedMachine:
    return cache.get_or_evaluate(cache_key(ScenarioRef(scenario=sc)),
                                 lambda: engine.evaluate(sc, budget_s=cache.budget_s))


async def run_engine(fn, *args):
    """CPU-heavy engine work goes to worker threads, at most ENGINE_THREADS at a time: the replay holds
    the GIL, and twenty replaying threads would starve the event loop (health checks, cached queries)."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_limiter())


def _limiter() -> anyio.CapacityLimiter:
    global _LIMITER
    if _LIMITER is None:
        _LIMITER = anyio.CapacityLimiter(ENGINE_THREADS)
    return _LIMITER


async def machine_async(ref: ScenarioRef, store: Store, cache: MachineCache) -> EvaluatedMachine:
    """A cached machine without leaving the event loop; otherwise evaluate on an engine thread."""
    m = cache.peek(cache_key(ref))
    return m if m is not None else await run_engine(machine_for, ref, store, cache)


def machine_for(ref: ScenarioRef, store: Store, cache: MachineCache) -> EvaluatedMachine:
    """The machine of an inline scenario or a saved one (cached by id: saved documents never change);
    engine refusals of the document become 422 at the field that caused them."""
    try:
        if ref.scenario is not None:
            return evaluate_cached(cache, ref.scenario)
        sid = ref.scenario_id
        return cache.get_or_evaluate(
            cache_key(ref), lambda: engine.evaluate(load_saved(store, sid), budget_s=cache.budget_s))
    except ScenarioError as e:
        e.prefix = ("scenario",) if ref.scenario is not None else ("scenario_id",)
        raise
