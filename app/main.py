"""Build the ASGI app (`app.main:app`): a thin shell of routers over the engine.

create_app(settings) builds one with its own store and cache (tests use a temporary data
directory); the module-level `app` reads the environment.
"""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from . import deps, errors, outage
from .assets import STATIC
from .cache import MachineCache
from .routers import imports, machine, meta, pages, scenarios, sections, walkthroughs, workspaces
from .security import SecurityHeaders
from .settings import Settings

__all__ = ["create_app", "app"]

DESCRIPTION = """How Linux lays out the `struct page` array (the vmemmap) of hot-plugged memory:
memory blocks, memmap_on_memory, HugeTLB Vmemmap Optimization (HVO) and the self-hosted check.

Every call takes a scenario document inline (`scenario`) or a saved one (`scenario_id`).
64-bit values are `0x`-prefixed lower-case hex strings; sizes are short forms ("2M", "128M").
Bad input answers 422 with `detail[].loc` (the field path) and a one-line `message`.

Saved scenarios belong to workspaces (`/api/v1/workspaces/{workspace}/scenarios`, one list per class,
team or trainee; `/api/v1/scenarios` is the `default` workspace); their ids are content hashes."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = settings.store()
    deps.configure(settings.eval_threads, settings.eval_queue)
    outage.configure(settings.db_timeout_s, settings.db_threads, settings.retry_after_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        store.open()                 # a corrupt or newer-schema database stops the start here
        yield
        store.close()

    # no /docs or /redoc: their pages load Swagger/ReDoc from a CDN (classrooms are offline);
    # the OpenAPI document itself is at /openapi.json
    app = FastAPI(title="vmemscope", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, debug=False)
    app.state.settings = settings
    app.state.store = store
    app.state.cache = MachineCache(settings.cache_entries, settings.cache_bytes, settings.eval_budget_s)
    errors.install(app)
    outage.install(app)
    for r in (meta.router, machine.router, sections.router, scenarios.router, workspaces.router, imports.router,
              walkthroughs.router, pages.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["content-type", "if-none-match", "x-trainer-token"], expose_headers=["etag", "location"])
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
