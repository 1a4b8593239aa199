"""HTML pages and their assets: the dashboard (server-rendered summary, then ES modules), static
files, and Plotly.js from the installed plotly package (classrooms are offline: no CDN)."""
from __future__ import annotations

import json
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from engine import DEFAULT_SCENARIO
from engine import Scenario

from ..assets import TEMPLATES  # in the package (wheel, image) or the checkout
from ..deps import CacheDep, evaluate_cached

templates = Jinja2Templates(directory=str(TEMPLATES))
router = APIRouter(include_in_schema=False)
PLOTLY_JS = files("plotly") / "package_data" / "plotly.min.js"


def _json_script(doc: object) -> str:
    """JSON for a <script type="application/json"> block: '</' cannot close the element."""
    return json.dumps(doc).replace("</", "<\\/")


@router.get("/", response_class=HTMLResponse)
def index(request: Request, cache: CacheDep) -> HTMLResponse:
    m = evaluate_cached(cache, Scenario.model_validate(DEFAULT_SCENARIO))
    blocks = [b for b in m.blocks() if not b["boot"]]
    marks = [f"struct page of pfn {b['self_mapping_pfn']} lives in pfn {b['self_mapping_pfn']}"
             for b in blocks if b["self_mapping_pfn"]]
    return templates.TemplateResponse(request, "index.html", {
        "scenario": DEFAULT_SCENARIO, "summary": m.summary(), "blocks": blocks,
        "hugepages": m.hugepages(), "events": m.events(), "marks": marks,
        "default_json": _json_script(DEFAULT_SCENARIO)})


@router.get("/walkthroughs/{slug}/{step}", response_class=HTMLResponse)
def walkthrough_page(request: Request, cache: CacheDep, slug: str, step: int) -> HTMLResponse:
    """A deep link to one walkthrough step: the dashboard in walkthrough mode (steps count from 1)."""
    from .. import walkthroughs as W
    try:
        wt = W.load(slug)
    except W.WalkthroughError as e:
        raise HTTPException(404, str(e)) from None
    if not 1 <= step <= len(wt["steps"]):
        raise HTTPException(404, f"walkthrough {slug} has steps 1-{len(wt['steps'])}")
    return index(request, cache)


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(str(PLOTLY_JS), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
