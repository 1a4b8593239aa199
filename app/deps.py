"""Typed dependencies: the store, the machine cache, and turning a request into an evaluated machine.

Replays run on a few engine threads (VMEMSCOPE_EVAL_THREADS) behind a bounded queue
(VMEMSCOPE_EVAL_QUEUE): when it is full the request answers 503 with Retry-After at once instead of
stretching everyone's latency. Database reads go through outage.run_db, never an engine thread.
"""
from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any, Callable, TypeVar

import anyio

from fastapi import Depends, Request

import engine
from engine import EvaluatedMachine, ScenarioError
from engine import Scenario

from .cache import MachineCache
from .errors import ScenarioLookupError, located
from .outage import Busy, run_db
from .schemas import ScenarioRef
from .store import Store

__all__ = ["StoreDep", "CacheDep", "machine_async", "run_engine", "load_saved", "content_key",
           "evaluate_cached", "configure"]

T = TypeVar("T")


class _Pool:
    threads = 2          # the machine has 2 cores; the replay holds the GIL
    queue = 32
    pending = 0          # running + waiting (touched on the event loop only)
    limiter: anyio.CapacityLimiter | None = None


def configure(threads: int, queue: int) -> None:
    _Pool.threads, _Pool.queue, _Pool.limiter = max(1, threads), max(0, queue), None


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


def content_key(sc: Scenario) -> str:
    """One key per normalised document (its name aside: names do not change the machine), whichever
    route (inline, saved id, save) brought it."""
    return hashlib.sha256(sc.model_dump_json(exclude={"name"}).encode()).hexdigest()


def _replay(sc: Scenario, budget_s: float | None) -> EvaluatedMachine:
    """Replay and totals, both on this thread and both charged to one CPU-time budget."""
    t0 = time.thread_time()
    m = engine.evaluate(sc, budget_s=budget_s)
    m.summary()                         # computed once here, not later on the event loop
    used = time.thread_time() - t0
    if budget_s is not None and used > budget_s:
        raise ScenarioError(("ops",), f"evaluation stopped after {used:.2f} s of CPU time (the totals "
                            f"took it past {budget_s:g} s): this scenario needs more time than one request "
                            "may take (fewer blocks or huge pages)")
    return m


def evaluate_cached(cache: MachineCache, sc: Scenario) -> EvaluatedMachine:
    """The machine of a document, replayed at most once while it stays cached (call off the loop)."""
    return cache.get_or_evaluate(content_key(sc), lambda: _replay(sc, cache.budget_s))


async def run_engine(fn: Callable[..., T], *args: Any) -> T:
    """CPU-heavy engine work on an engine thread; 503 (Busy) when the queue is full."""
    if _Pool.pending >= _Pool.threads + _Pool.queue:
        raise Busy(f"the server is busy: {_Pool.threads} evaluations running and {_Pool.queue} waiting; "
                   "try again shortly")
    if _Pool.limiter is None:
        _Pool.limiter = anyio.CapacityLimiter(_Pool.threads)
    _Pool.pending += 1
    try:
        return await anyio.to_thread.run_sync(fn, *args, limiter=_Pool.limiter)
    finally:
        _Pool.pending -= 1


async def _saved_key(sid: str, store: Store, cache: MachineCache) -> tuple[str, Scenario | None]:
    key = cache.key_of(sid)
    if key is not None:
        return key, None
    sc = await run_db(load_saved, store, sid)
    key = content_key(sc)
    cache.alias(sid, key)
    return key, sc


async def machine_async(ref: ScenarioRef, store: Store, cache: MachineCache) -> EvaluatedMachine:
    """A cached machine without leaving the event loop; otherwise evaluate on an engine thread.
    Engine refusals of the document become 422 at the field that caused them."""
    sc = ref.scenario
    key = content_key(sc) if sc is not None else None
    if sc is None:
        key, sc = await _saved_key(ref.scenario_id, store, cache)
    m = cache.peek(key)
    if m is not None:
        return m
    if sc is None:                      # an alias to a machine the cache has since evicted
        sc = await run_db(load_saved, store, ref.scenario_id)
    try:
        return await run_engine(evaluate_cached, cache, sc)
    except ScenarioError as e:
        raise located(e, ("scenario",) if ref.scenario is not None else ("scenario_id",))
