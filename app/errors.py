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

from engine import ADDR_PATTERN, ScenarioError, parse_addr

from .store import WORKSPACE_PATTERN, WORKSPACE_RULE

__all__ = ["located", "install", "format_loc", "error_doc", "BodyLimit", "ScenarioLookupError"]

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
    msg = err.get("msg", "")
    if err.get("type") == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == WORKSPACE_PATTERN:
        msg = f"{WORKSPACE_RULE}, not {str(err.get('input'))[:40]!r}"
    if err.get("type") == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == ADDR_PATTERN:
        try:                            # a query parameter's address: say why, as a body field would
            parse_addr(err.get("input"), "pfn" if str(loc[-1]).endswith("pfn") or loc[-1] == "hugepage" else "address")
        except ValueError as e:
            msg = str(e)
    return {"loc": loc, "msg": msg, "type": err.get("type", "value_error")}


def error_doc(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The one error shape of every 4xx/5xx: `detail` (FastAPI's list of {loc, msg, type}) and
    `message`, one line naming the first error's place and rule."""
    first = errors[0] if errors else {"loc": ["body"], "msg": "invalid request"}
    msg = f"{format_loc(first['loc'])}: {first['msg']}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    return {"detail": errors, "message": msg}


def unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(error_doc(errors), status_code=422)


def error_response(status: int, loc: list[Any], msg: str, type_: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_doc([{"loc": loc, "msg": msg, "type": type_}]), status_code=status, headers=headers)


def _invalid_json(err: dict[str, Any], body: Any) -> dict[str, Any]:
    """FastAPI reports a JSON syntax error at loc ("body", <char offset>): say line and column."""
    pos = err["loc"][1] if len(err.get("loc", ())) > 1 and isinstance(err["loc"][1], int) else 0
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    line, col = text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1
    why = (err.get("ctx") or {}).get("error", "JSON decode error")
    return {"loc": ["body", f"line {line}, column {col} (char {pos})"], "msg": f"invalid JSON: {why}",
            "type": "json_invalid"}


def _http_loc(request: Request, status: int) -> tuple[list[Any], str]:
    if status == 404:
        return ["path", request.url.path], "not_found"
    if status == 405:
        return ["method"], "method_not_allowed"
    if status == 413:
        return ["body"], "body_too_large"
    return ["body" if request.method not in ("GET", "HEAD") else "path"], "http_error"


def located(e: ScenarioError, prefix: tuple = (), where: str = "body") -> ScenarioError:
    """The engine's error placed in the request: its loc goes under `where` ("body", "query", "path")
    and `prefix` (e.g. ("scenario",) for an inline document, () for a query's own fields)."""
    e.prefix, e.where = prefix, where
    return e


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return unprocessable([_invalid_json(e, exc.body) if e.get("type") == "json_invalid" else _clean(e)
                              for e in exc.errors()][:50])

    @app.exception_handler(ScenarioError)
    async def _scenario(_: Request, exc: ScenarioError) -> JSONResponse:
        loc = [getattr(exc, "where", "body"), *getattr(exc, "prefix", ("scenario",)), *exc.loc]
        return unprocessable([{"loc": loc, "msg": exc.msg, "type": "scenario_error"}])

    @app.exception_handler(ScenarioLookupError)
    async def _unknown(request: Request, exc: ScenarioLookupError) -> JSONResponse:
        where = "path" if "scenario_id" in request.path_params else "body"
        return error_response(404, [where, "scenario_id"], str(exc), "not_found")

    # the store's and the engine's 503s (Retry-After, a rate-limited log): app/outage.py
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        loc, type_ = _http_loc(request, exc.status_code)
        msg = str(exc.detail)
        if exc.status_code == 404 and msg == "Not Found":
            msg = f"no such path ({request.method})"
        if exc.status_code == 405:      # Starlette names only the first route's methods
            # (StaticFiles, the one mount that answers 405, serves GET and HEAD)
            headers["Allow"] = ", ".join(_allowed_methods(request) or ["GET", "HEAD"])
            msg = f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
        return error_response(exc.status_code, loc, msg, type_, headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, ["server"], "internal error (logged on the server)", "internal_error")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this path (routes of included routers carry no `methods`:
    ask each route whether it fully matches the path with each method)."""
    from starlette.routing import Match
    return [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            if any(route.matches({**request.scope, "method": m})[0] == Match.FULL for route in request.app.routes)]


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
        loc, type_ = (["body"], "body_too_large") if status == 413 else (["header", "content-length"], "bad_header")
        body = json.dumps(error_doc([{"loc": loc, "msg": detail, "type": type_}])).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
