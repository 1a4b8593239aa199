"""One place for the service's configuration, read from the environment once per app."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """$VMEMSCOPE_DATA_DIR, else $XDG_DATA_HOME/vmemscope, else ~/.local/share/vmemscope."""
    if os.environ.get("VMEMSCOPE_DATA_DIR"):
        return Path(os.environ["VMEMSCOPE_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "vmemscope"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    """data_dir holds scenarios.db; database_url overrides it (PostgreSQL for several servers).
    cache_entries/cache_bytes bound the LRU of evaluated machines (bytes: EvaluatedMachine.nbytes).
    cors_origins: origins allowed cross-site (none by default). eval_budget_s: CPU time (of the
    evaluating thread) one replay may take before it is refused; eval_threads replay at once and
    eval_queue more may wait, beyond that 503. db_connect_timeout_s/db_timeout_s bound a connection
    and a database call (then 503); retry_after_s is what a 503 asks clients to wait.
    max_header_bytes, header_timeout_s, body_timeout_s, keep_alive_s: what one client may hold
    (app/serving.py). trainer_token: when set, pinning and unpinning a workspace's scenarios need it in
    the X-Trainer-Token header.
    Every limit is listed in docs/operations.md."""
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    cache_entries: int = field(default_factory=lambda: _int("VMEMSCOPE_CACHE_ENTRIES", 32))
    cache_bytes: int = field(default_factory=lambda: _int("VMEMSCOPE_CACHE_BYTES", 384 << 20))
    max_body_bytes: int = field(default_factory=lambda: _int("VMEMSCOPE_MAX_BODY", 4 << 20))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip() for o in os.environ.get("VMEMSCOPE_CORS_ORIGINS", "").split(",") if o.strip()))
    eval_budget_s: float = field(default_factory=lambda: _float("VMEMSCOPE_EVAL_BUDGET", 1.2))
    # one CPU is left to the event loop: the Cython replay holds the GIL in stretches of ~10-20 ms, and two
    # replaying threads on a 2-CPU host kept /healthz waiting behind both (p95 60-90 ms under 8 clients)
    eval_threads: int = field(default_factory=lambda: _int("VMEMSCOPE_EVAL_THREADS",
                                                           max(1, min(4, (os.cpu_count() or 2) - 1))))
    eval_queue: int = field(default_factory=lambda: _int("VMEMSCOPE_EVAL_QUEUE", 32))
    db_connect_timeout_s: float = field(default_factory=lambda: _float("VMEMSCOPE_DB_CONNECT_TIMEOUT", 3.0))
    db_timeout_s: float = field(default_factory=lambda: _float("VMEMSCOPE_DB_TIMEOUT", 5.0))
    db_threads: int = field(default_factory=lambda: _int("VMEMSCOPE_DB_THREADS", 8))
    retry_after_s: int = field(default_factory=lambda: _int("VMEMSCOPE_RETRY_AFTER", 5))
    max_header_bytes: int = field(default_factory=lambda: _int("VMEMSCOPE_MAX_HEADER", 64 << 10))
    header_timeout_s: float = field(default_factory=lambda: _float("VMEMSCOPE_HEADER_TIMEOUT", 10.0))
    body_timeout_s: float = field(default_factory=lambda: _float("VMEMSCOPE_BODY_TIMEOUT", 30.0))
    keep_alive_s: int = field(default_factory=lambda: _int("VMEMSCOPE_KEEP_ALIVE", 5))
    trainer_token: str | None = field(default_factory=lambda: os.environ.get("VMEMSCOPE_TRAINER_TOKEN") or None)
    switch_interval_s: float = field(default_factory=lambda: _float("VMEMSCOPE_SWITCH_INTERVAL", 0.001))

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'scenarios.db'}"

    def store(self):
        """The Store these settings describe (not opened)."""
        from .store import Store
        return Store(self.url, self.db_connect_timeout_s, self.db_timeout_s)
