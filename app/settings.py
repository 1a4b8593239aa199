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


@dataclass(frozen=True)
class Settings:
    """data_dir holds scenarios.db; database_url overrides it (e.g. PostgreSQL for several servers).
    cache_entries/cache_weight bound the LRU of evaluated machines (weight: table rows).
    cors_origins: origins allowed cross-site (none by default). eval_budget_s: CPU time one
    scenario replay may take before it is refused."""
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    cache_entries: int = field(default_factory=lambda: _int("VMEMSCOPE_CACHE_ENTRIES", 32))
    cache_weight: int = field(default_factory=lambda: _int("VMEMSCOPE_CACHE_WEIGHT", 4_000_000))
    max_body_bytes: int = field(default_factory=lambda: _int("VMEMSCOPE_MAX_BODY", 4 << 20))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip() for o in os.environ.get("VMEMSCOPE_CORS_ORIGINS", "").split(",") if o.strip()))
    eval_budget_s: float = field(default_factory=lambda: float(os.environ.get("VMEMSCOPE_EVAL_BUDGET", "1.2")))

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'scenarios.db'}"
