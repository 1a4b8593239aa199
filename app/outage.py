"""Answers when the server cannot do the work now: the database is down or hung, or the engine's
queue is full. Both are 503 with Retry-After and a `message` that names no host, port or password;
the log says each distinct reason once per interval, not once per request.

Database calls run on their own few threads under a deadline (run_db): a hung server (stopped
processes: libpq's timeouts cannot see it) costs a request VMEMSCOPE_DB_TIMEOUT seconds, never the
threads that serve pages, static files or cached queries.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .errors import error_response
from .store import StoreError, StoreUnavailable

__all__ = ["Busy", "run_db", "configure", "install", "RateLimitedLog"]

log = logging.getLogger("vmemscope")
T = TypeVar("T")


class Busy(RuntimeError):
    """Every engine thread is busy and the queue behind them is full."""


class _Db:
    timeout_s = 5.0
    threads = 8
    retry_after_s = 5
    limiter: anyio.CapacityLimiter | None = None


def configure(timeout_s: float, threads: int, retry_after_s: int) -> None:
    _Db.timeout_s, _Db.threads, _Db.retry_after_s, _Db.limiter = timeout_s, threads, retry_after_s, None


async def run_db(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) on a database thread; StoreUnavailable after VMEMSCOPE_DB_TIMEOUT seconds (the
    thread is left to finish or fail on its own; at most VMEMSCOPE_DB_THREADS are ever busy)."""
    if _Db.limiter is None:
        _Db.limiter = anyio.CapacityLimiter(_Db.threads)
    with anyio.move_on_after(_Db.timeout_s) as scope:
        return await anyio.to_thread.run_sync(fn, *args, limiter=_Db.limiter, abandon_on_cancel=True)
    assert scope.cancelled_caught
    raise StoreUnavailable(f"the database did not answer within {_Db.timeout_s:g} s; try again later")


class RateLimitedLog(logging.Filter):
    """Lets one record of each distinct message through per `interval` seconds and counts the rest
    (the next one that passes says how many were held back)."""

    def __init__(self, interval: float = 10.0) -> None:
        super().__init__()
        self.interval = interval
        self._seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = f"{record.name}:{record.levelno}:{record.getMessage()}"
        now = time.monotonic()
        last, held = self._seen.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self._seen[key] = (last, held + 1)
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.interval:g} s)"
        return True


def _unavailable(where: str, message: str, type_: str) -> JSONResponse:
    """503 in the one error shape (app/errors.py: detail as a list of {loc, msg, type}, and message)."""
    return error_response(503, [where], message, type_, {"Retry-After": str(_Db.retry_after_s)})


def install(app: FastAPI) -> None:
    """503 for database failures and a full queue (these handlers replace app.errors' ones)."""
    if not any(isinstance(f, RateLimitedLog) for f in log.filters):
        log.addFilter(RateLimitedLog())

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("database unavailable on %s: %s", request.url.path, exc)
        return _unavailable("store", str(exc), "store_unavailable")

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.warning("database error on %s: %s", request.url.path, exc)
        return _unavailable("store", "the scenario database cannot serve this request now; try again later",
                            "store_error")

    @app.exception_handler(Busy)
    async def _busy(_: Request, exc: Busy) -> JSONResponse:
        log.warning("%s", exc)
        return _unavailable("engine", str(exc), "engine_busy")
