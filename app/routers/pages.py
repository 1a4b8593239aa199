"""HTML pages: the start page renders the built-in scenario with its self-mapping page marked."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from engine.presets import DEFAULT_SCENARIO
from engine.scenario import Scenario

from ..deps import CacheDep, evaluate_cached

ROOT = Path(__file__).resolve().parent.parent.parent
templates = Jinja2Templates(directory=str(ROOT / "templates"))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, cache: CacheDep) -> HTMLResponse:
    m = evaluate_cached(cache, Scenario.model_validate(DEFAULT_SCENARIO))
    blocks = [b for b in m.blocks() if not b["boot"]]
    marks = [f"struct page of pfn {b['self_mapping_pfn']} lives in pfn {b['self_mapping_pfn']}"
             for b in blocks if b["self_mapping_pfn"]]
    return templates.TemplateResponse(request, "index.html", {
        "scenario": DEFAULT_SCENARIO, "summary": m.summary(), "blocks": blocks,
        "hugepages": m.hugepages(), "events": m.events(), "marks": marks})
