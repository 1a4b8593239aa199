"""Build the ASGI app: health check, presets and the start page with the built-in scenario.

The REST API v1 and the interactive dashboard are built on top of this (see the open issues).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import engine
from engine.presets import DEFAULT_SCENARIO, presets

ROOT = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(ROOT / "templates"))

app = FastAPI(title="vmemscope", version="0.1.0",
              description="How Linux lays out the struct page array (vmemmap) of hot-plugged memory.")


@app.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """Report that the service is up and which engine implementation it runs."""
    return {"status": "ok", "engine": engine.implementation()}


@app.get("/api/v1/presets", tags=["presets"])
def get_presets() -> dict:
    """List the machines and kernel versions offered, with their constants."""
    return presets()


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    m = engine.evaluate(DEFAULT_SCENARIO)
    blocks = [b for b in m.blocks() if not b["boot"]]
    marks = [f"struct page of pfn {b['self_mapping_pfn']} lives in pfn {b['self_mapping_pfn']}"
             for b in blocks if b["self_mapping_pfn"]]
    return templates.TemplateResponse(request, "index.html", {
        "scenario": DEFAULT_SCENARIO, "summary": m.summary(), "blocks": blocks,
        "hugepages": m.hugepages(), "events": m.events(), "marks": marks})
