"""Every failure becomes a precise 4xx (or 503) JSON body naming the field and the rule; never a
traceback. 422 bodies keep FastAPI's documented shape ({"detail": [{loc, msg, type}]}) and add a
one-line `message` such as `scenario.ops[3].start: not aligned to the 128 MiB memory block size`."""
from __future__ import annotations

import logging
from typing import Any, Iterable

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import ScenarioError

from .store import StoreError, StoreUnavailable

__all__ = ["install", "format_loc", "BodyLimit", "ScenarioLookupError"]

log = logging.getLogger("vmemscope")


class ScenarioLookupError(LookupError):
    """An unknown saved-scenario id (404)."""


def format_loc(loc: Iterable[Any]) -> str:
    """("body", "scenario", "ops", 3, "start") -> "scenario.ops[3].start"."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _clean(err: dict[str, Any]) -> dict[str, Any]:
    """loc/msg/type only: no echo of the input (it may be megabytes) and no unserialisable ctx.
    Literal/union discriminator tags that pydantic adds to a loc are dropped."""
    loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))]
    return {"loc": loc, "msg": err.get("msg", ""), "type": err.get("type", "value_error")}


def unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    first = errors[0] if errors else {"loc": ["body"], "msg": "invalid request"}
    msg = f"{format_loc(first['loc'])}: {first['msg']}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    return JSONResponse({"detail": errors, "message": msg}, status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return unprocessable([_clean(e) for e in exc.errors()][:50])

    @app.exception_handler(ScenarioError)
    async def _scenario(_: Request, exc: ScenarioError) -> JSONResponse:
        loc = [getattr(exc, "where", "body"), *getattr(exc, "prefix", ("scenario",)), *exc.loc]
        return unprocessable([{"loc": loc, "msg": exc.msg, "type": "scenario_error"}])

    @app.exception_handler(ScenarioLookupError)
    async def _unknown(_: Request, exc: ScenarioLookupError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "60"})

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:      # Starlette names only the first route's methods
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (logged on the server)"}, status_code=500)


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        route_methods = getattr(route, "methods", None)
        if route_methods and match != Match.NONE:
            for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
                if route.matches({**request.scope, "method": m})[0] == Match.FULL:
                    methods.add(m)
    return sorted(methods)


class _TooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reader passes it on (it turns other errors into 400)."""


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413, before parsing them
    (by Content-Length when given, else while streaming)."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    return await self._reply(send, 400, "Content-Length is not a number")
                if n > self.limit:
                    return await self._reply(send, 413, self._why(n))
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(413, self._why(seen))
            return msg

        async def tracking_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reply(send, 413, self._why(seen))

    def _why(self, n: int) -> str:
        return (f"request body of {n} bytes is over the limit of {self.limit} bytes "
                "(VMEMSCOPE_MAX_BODY); a scenario holds at most 10,000 ops")

    @staticmethod
    async def _reply(send, status: int, detail: str) -> None:
        import json
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
