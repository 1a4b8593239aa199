"""Saved scenarios: immutable, content-addressed documents in SQLite (WAL) or any SQLAlchemy URL.

The id is a hash of the canonical JSON (sorted keys, no whitespace), so the same document always
gets the same id and a shared link can never be changed; "editing" saves a new document. The stored
text is exactly the canonical JSON, returned byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, create_engine, event,
                        inspect, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

__all__ = ["Store", "StoreError", "StoreUnavailable", "canonical_json", "scenario_id", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
ID_HEX = 24          # 96 bits of sha256: ids stay short in links, collisions are checked anyway

metadata = MetaData()
meta = Table("vmemscope_meta", metadata,
             Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
scenarios = Table("scenarios", metadata,
                  Column("id", String(ID_HEX), primary_key=True),
                  Column("name", String(200), nullable=False),
                  Column("body", Text, nullable=False),
                  Column("bytes", Integer, nullable=False),
                  Column("created_at", Float, nullable=False, index=True))


class StoreError(RuntimeError):
    """The database cannot be used as it is (corrupt, newer schema, wrong content): refuse to start."""


class StoreUnavailable(RuntimeError):
    """A save cannot be written now (read-only or full disk); reads may still work."""


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def scenario_id(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_HEX]


class Store:
    """Thread-safe: SQLAlchemy pools one SQLite connection per thread; every write is one statement
    in its own transaction, so concurrent saves neither lose nor corrupt each other."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.read_only = False             # the data directory could not be written at start

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """Create the database on first run; refuse a corrupt or newer-schema one (never overwrite)."""
        with self._lock:
            if self._engine is None:
                self._engine = self._open()

    def _open(self) -> Engine:
        sqlite = self.url.startswith("sqlite")
        if sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(self.url, connect_args={"timeout": 5} if sqlite else {})
        if sqlite:
            @event.listens_for(eng, "connect")
            def _pragmas(dbapi_conn, _record) -> None:      # per connection (busy_timeout, synchronous)
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=5000")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        try:
            with eng.connect() as c:               # look before writing anything
                if sqlite:
                    ok = c.exec_driver_sql("PRAGMA quick_check").scalar()
                    if ok != "ok":
                        raise StoreError(f"database {self.url} fails its integrity check ({ok}); "
                                         "refusing to start (move it away or restore a backup)")
                names = set(inspect(c).get_table_names())
                if "vmemscope_meta" in names:
                    v = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
                    if v is None or not str(v).isdigit():
                        raise StoreError(f"database {self.url} has no valid schema_version; refusing to start")
                    if int(v) > SCHEMA_VERSION:
                        raise StoreError(f"database {self.url} has schema version {v}, newer than this "
                                         f"vmemscope understands ({SCHEMA_VERSION}); refusing to start "
                                         "(upgrade vmemscope)")
                elif names:
                    raise StoreError(f"database {self.url} holds tables that are not vmemscope's "
                                     f"({', '.join(sorted(names))}); refusing to start")
                c.rollback()
            with eng.begin() as c:
                if sqlite:
                    c.exec_driver_sql("PRAGMA journal_mode=WAL")
                if "vmemscope_meta" not in names:
                    metadata.create_all(c)
                    c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        except StoreError:
            eng.dispose()
            raise
        except DBAPIError as e:
            eng.dispose()
            path = self.url.split("///", 1)[-1] if sqlite else ""
            if path and Path(path).is_file():
                return self._open_read_only(path, e)
            raise StoreError(f"cannot open database {self.url}: {e.orig}; refusing to start") from e
        return eng

    def _open_read_only(self, path: str, why: Exception) -> Engine:
        """A data directory we cannot write (read-only mount, immutable files): serve the saved
        scenarios read-only; saves answer 503."""
        eng = create_engine(f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true")
        try:
            with eng.connect() as c:
                v = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        except DBAPIError as e:
            eng.dispose()
            raise StoreError(f"cannot open database {self.url}: {getattr(why, 'orig', why)}; refusing to start") from e
        if v is None or not str(v).isdigit() or int(v) > SCHEMA_VERSION:
            eng.dispose()
            raise StoreError(f"database {self.url} has schema version {v}; refusing to start")
        self.read_only = True
        return eng

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.open()
        assert self._engine is not None
        return self._engine

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # ------------------------------------------------------------------ data
    def save(self, doc: Any, name: str) -> tuple[str, bool]:
        """Store a document; returns (id, created). Saving the same document again is a no-op."""
        body = canonical_json(doc)
        sid = scenario_id(body)
        if self.engine is not None and self.read_only:
            raise StoreUnavailable(f"the data directory of {self.url} is read-only: saved scenarios can be "
                                   "read, new ones cannot be saved")
        row = {"id": sid, "name": name[:200], "body": body, "bytes": len(body.encode()),
               "created_at": time.time()}
        try:
            with self.engine.begin() as c:
                c.execute(scenarios.insert().values(**row))
            return sid, True
        except IntegrityError:
            got = self.get(sid)
            if got is not None and got["body"] == body:
                return sid, False
            raise StoreError(f"scenario id {sid} collides with a different document")
        except OperationalError as e:
            raise StoreUnavailable(f"cannot save the scenario now ({e.orig}); saved scenarios can still "
                                   "be read") from e

    def get(self, sid: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            r = c.execute(select(scenarios).where(scenarios.c.id == sid)).mappings().first()
        return dict(r) if r else None

    def list(self, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Newest first, without bodies; and the total count."""
        cols = [scenarios.c.id, scenarios.c.name, scenarios.c.bytes, scenarios.c.created_at]
        with self.engine.connect() as c:
            rows = c.execute(select(*cols).order_by(scenarios.c.created_at.desc(), scenarios.c.id)
                             .limit(limit).offset(offset)).mappings().all()
            total = c.execute(text("SELECT count(*) FROM scenarios")).scalar() or 0
        return [dict(r) for r in rows], int(total)

    def integrity(self) -> str:
        with self.engine.connect() as c:
            return str(c.exec_driver_sql("PRAGMA integrity_check").scalar())
