"""Typed dependencies: the store, the machine cache, and turning a request into an evaluated machine."""
from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request

import engine
from engine import EvaluatedMachine, ScenarioError
from engine.scenario import Scenario

from .cache import MachineCache
from .errors import ScenarioLookupError
from .schemas import ScenarioRef
from .store import Store

__all__ = ["StoreDep", "CacheDep", "machine_for", "load_saved"]


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_cache(request: Request) -> MachineCache:
    return request.app.state.cache


StoreDep = Annotated[Store, Depends(get_store)]
CacheDep = Annotated[MachineCache, Depends(get_cache)]


def load_saved(store: Store, sid: str) -> Scenario:
    row = store.get(sid)
    if row is None:
        raise ScenarioLookupError(f"scenario {sid} not found")
    return Scenario.model_validate_json(row["body"])


def evaluate_cached(cache: MachineCache, sc: Scenario) -> EvaluatedMachine:
    """Evaluate through the cache, keyed by the normalised document: equal scenarios share a machine."""
    key = hashlib.sha256(sc.model_dump_json().encode()).hexdigest()
    return cache.get_or_evaluate(key, lambda: engine.evaluate(sc))


def machine_for(ref: ScenarioRef, store: Store, cache: MachineCache) -> EvaluatedMachine:
    """The machine of an inline scenario or a saved one; engine refusals of the document become 422
    at the field that caused them."""
    if ref.scenario is not None:
        sc, prefix = ref.scenario, ("scenario",)
    else:
        sc, prefix = load_saved(store, ref.scenario_id), ("scenario_id",)
    try:
        return evaluate_cached(cache, sc)
    except ScenarioError as e:
        e.prefix = prefix
        raise
