"""HTML pages and their assets: the dashboard (server-rendered summary and the data its first views
ask for, then ES modules), static files, and Plotly.js from the installed plotly package or its partial
bundle in static/vendor (classrooms are offline: no CDN)."""
from __future__ import annotations

import json

import orjson

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from engine import DEFAULT_SCENARIO
from engine import Scenario

from .. import assets
from ..deps import CacheDep, evaluate_cached
from ..schemas import EvaluateRequest
from . import machine, meta, walkthroughs
from .machine import DASHBOARD_HUGEPAGES

STATIC = assets.STATIC
templates = Jinja2Templates(directory=str(assets.TEMPLATES))     # in the package (wheel, image) or the checkout
templates.env.globals["asset"] = assets.url
templates.env.globals["plotly"] = assets.dashboard_plotly()
router = APIRouter(include_in_schema=False)
YEAR = "public, max-age=31536000, immutable"


def _json_script(doc: object) -> str:
    """JSON for a <script type="application/json"> block: '</' cannot close the element."""
    return json.dumps(doc).replace("</", "<\\/")


PRESETS = json.loads(meta.PRESETS_JSON)


def _served(cache: CacheDep, doc: dict | None, walkthrough: dict | None = None) -> str:
    """What the page's scripts ask for first, answered in the page (static/js/main.js takes them from
    there): the presets, the /evaluate answer for the document it opens (as /evaluate gives it, from the
    same cached machine), the walkthrough. The first views are then asked for without a round trip."""
    out: dict = {"presets": PRESETS}
    if doc is not None:
        req = EvaluateRequest(scenario=doc, hugepages_limit=DASHBOARD_HUGEPAGES)
        out["evaluated"] = {"scenario": doc, "answer": machine.evaluate_answer(evaluate_cached(cache, req.scenario), req)}
    if walkthrough is not None:
        out["walkthrough"] = walkthrough
    return orjson.dumps(out).decode().replace("</", "<\\/")      # as _json_script: '</' cannot close it


def _page(request: Request, cache: CacheDep, served: str) -> HTMLResponse:
    assets.warm_up()
    m = evaluate_cached(cache, Scenario.model_validate(DEFAULT_SCENARIO))
    blocks = [b for b in m.blocks() if not b["boot"]]
    marks = [f"struct page of pfn {b['self_mapping_pfn']} lives in pfn {b['self_mapping_pfn']}"
             for b in blocks if b["self_mapping_pfn"]]
    return templates.TemplateResponse(request, "index.html", {
        "scenario": DEFAULT_SCENARIO, "summary": m.summary(), "blocks": blocks,
        "hugepages": m.hugepages(), "events": m.events(), "marks": marks,
        "default_json": _json_script(DEFAULT_SCENARIO), "served_json": served})


@router.get("/", response_class=HTMLResponse)
def index(request: Request, cache: CacheDep) -> HTMLResponse:
    # a permalink (?s=) names a saved document: the page does not read the database, the script asks
    shown = None if request.query_params.get("s") else DEFAULT_SCENARIO
    return _page(request, cache, _served(cache, shown))


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
    full = walkthroughs.full(slug)
    return _page(request, cache, _served(cache, full["steps"][step - 1]["scenario"], full))


def _asset(request: Request, name: str, cache_control: str) -> Response:
    path = assets.find(name)
    if path is None:
        raise HTTPException(404, f"no static asset {name!r}")
    etag = f'"{assets.VERSION}-{name}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"etag": etag, "cache-control": cache_control})
    body, coding, media = assets.encoded(path, request.headers.get("accept-encoding", ""))
    headers = {"cache-control": cache_control, "etag": etag, "vary": "Accept-Encoding"}
    if coding:
        headers["content-encoding"] = coding
    return Response(body, media_type=media, headers=headers)


@router.get("/static/v/{version}/{name:path}")
def versioned_asset(request: Request, version: str, name: str) -> Response:
    """A static asset under its content hash: cached for a year (another hash: this one, not cached)."""
    return _asset(request, name, YEAR if version == assets.VERSION else "no-cache")


@router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    return _asset(request, "vendor/plotly.min.js", "no-cache")
