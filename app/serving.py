"""`vmemscope serve`: check the database once (fail fast, one line, password redacted), then run
uvicorn with limits on what a client may hold: request headers (VMEMSCOPE_MAX_HEADER bytes, 400
beyond), the time to send them (VMEMSCOPE_HEADER_TIMEOUT) and the body (VMEMSCOPE_BODY_TIMEOUT),
and idle keep-alive connections (VMEMSCOPE_KEEP_ALIVE). uvicorn itself has no read timeouts, so a
slow client (slowloris) would hold a connection forever: SlowClientGuard closes it."""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import threading

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings
from .store import Store, StoreError

__all__ = ["open_store_or_fail", "run", "SlowClientGuard", "return_freed_memory"]

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8        # glibc's mallopt parameters (malloc.h)


def return_freed_memory() -> bool:
    """Make glibc give large freed blocks back to the system at once: the engine's tables are big
    arrays; after the first one is freed glibc would raise its mmap threshold (up to 32 MiB) and keep
    later ones in the heap, so an evicted machine's memory stayed in the RSS. A fixed 128 KiB threshold
    and two malloc arenas (not 8 per core for the worker threads) keep RSS near what is in use.
    Returns False where this is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 128 << 10)) and bool(libc.mallopt(M_ARENA_MAX, 2))
    except (OSError, AttributeError):
        return False


def open_store_or_fail(store: Store, timeout_s: float) -> None:
    """Open (create, check) the store; StoreError with one line if it fails or does not answer in
    timeout_s (a hung server: its processes stopped, a firewall dropping packets)."""
    err: list[BaseException] = []

    def target() -> None:
        try:
            store.open()
        except BaseException as e:          # noqa: BLE001 - handed to the caller
            err.append(e)
    t = threading.Thread(target=target, daemon=True, name="store-open")
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        raise StoreError(f"database {store.safe_url} did not answer within {timeout_s:g} s; refusing to start")
    if err:
        e = err[0]
        if isinstance(e, StoreError):
            raise e
        raise StoreError(f"cannot open database {store.safe_url}: {type(e).__name__}; refusing to start") from e


class SlowClientGuard(H11Protocol):
    """uvicorn's h11 protocol with read deadlines: a request's headers must arrive within
    header_timeout_s of its first byte, its body within body_timeout_s of its headers; else the
    connection is closed."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: object = None

    def _arm(self, what: object, seconds: float) -> None:
        self._disarm()
        self._waiting_for = what
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection from %s: %s not received in time", self.client,
                             "request headers" if self._waiting_for is h11.IDLE else "request body")
            self.transport.close()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(h11.IDLE, self.header_timeout_s)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm(h11.IDLE, self.header_timeout_s)          # the first byte of the next request
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._waiting_for is not h11.SEND_BODY:
            self._arm(h11.SEND_BODY, self.body_timeout_s)
        elif state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()                                        # the whole request is in

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()


def run(settings: Settings, host: str, port: int, log_level: str) -> None:
    import sys

    import uvicorn
    return_freed_memory()
    # the replay holds the GIL; a shorter switch interval lets the event loop thread (health checks,
    # cached queries) take it back sooner from the engine threads
    sys.setswitchinterval(settings.switch_interval_s)
    SlowClientGuard.header_timeout_s = settings.header_timeout_s
    SlowClientGuard.body_timeout_s = settings.body_timeout_s
    uvicorn.run("app.main:app", host=host, port=port, log_level=log_level, http=SlowClientGuard,
                h11_max_incomplete_event_size=settings.max_header_bytes,
                timeout_keep_alive=settings.keep_alive_s)
