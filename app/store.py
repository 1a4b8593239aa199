"""Saved scenarios: immutable, content-addressed documents in SQLite (WAL) or PostgreSQL (psycopg 3).

The id is a hash of the canonical JSON (sorted keys, no whitespace), so the same document always
gets the same id and a shared link can never be changed; "editing" saves a new document. The stored
text is exactly the canonical JSON, returned byte for byte. Each workspace has its own list of them.

Any database failure after start-up is a StoreUnavailable (the API answers 503 with Retry-After)
whose text names no host, port or password. The tables, their migrations and opening a database
safely (several servers at once, corrupt or newer ones refused, read-only files) are app/store_db.py.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import unicodedata
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Table, and_, exists, func, literal, null, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from engine import ScenarioError

from .store_db import (DEFAULT_WORKSPACE, ID_HEX, SCHEMA_VERSION, StoreError, StoreUnavailable,
                       open_database, reason_of, scenarios, workspace_scenarios)

__all__ = ["Store", "StoreError", "StoreUnavailable", "canonical_json", "scenario_id", "SCHEMA_VERSION",
           "normalise_url", "redact_url", "check_name", "check_workspace", "DEFAULT_WORKSPACE",
           "WORKSPACE_PATTERN", "WORKSPACE_RULE"]

WORKSPACE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
WORKSPACE_RULE = ("a workspace name is 1 to 32 characters of a-z, 0-9 and '-', starting with a letter or a "
                  f"digit ({WORKSPACE_PATTERN})")
PG_SCHEMES = ("postgresql://", "postgres://")


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// (libpq's spellings) use SQLAlchemy's psycopg 3 dialect."""
    for scheme in PG_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs and start-up errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:                       # not a URL at all: say nothing of it
        return "<DATABASE_URL>"


def check_name(name: str) -> None:
    """Scenario names are text for people: NUL and other control characters are refused (422) on
    every store (PostgreSQL cannot hold NUL in text at all)."""
    for k, ch in enumerate(name):
        if unicodedata.category(ch) == "Cc":
            raise ScenarioError(("name",), f"control character U+{ord(ch):04X} at offset {k} is not "
                                "allowed in a scenario name")


def check_workspace(workspace: str) -> None:
    """Workspace names travel in URLs: short, lower-case, no escaping needed (422 otherwise)."""
    if not isinstance(workspace, str) or not re.fullmatch(WORKSPACE_PATTERN, workspace):
        raise ScenarioError(("workspace",), WORKSPACE_RULE)


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def scenario_id(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:ID_HEX]


class Store:
    """Thread-safe: SQLAlchemy pools one SQLite connection per thread; every write is one short
    transaction of INSERT ... ON CONFLICT DO NOTHING, UPDATE or DELETE statements (a save: the document,
    then its workspace's entry), so concurrent saves neither lose nor corrupt each other nor fail."""

    def __init__(self, url: str, connect_timeout_s: float = 3.0, statement_timeout_s: float = 5.0) -> None:
        self.url = normalise_url(url)
        self.safe_url = redact_url(self.url)
        self.sqlite = self.url.startswith("sqlite")
        self.connect_timeout_s = connect_timeout_s
        self.statement_timeout_s = statement_timeout_s
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.read_only = False             # the data directory could not be written at start
        self.schema_version = SCHEMA_VERSION  # of the open database (1 only when opened read-only)

    # ------------------------------------------------------------------ opening
    def open(self) -> None:
        """Create the database on first run; refuse a corrupt or newer-schema one (never overwrite)."""
        with self._lock:
            if self._engine is None:
                opened = open_database(self.url, self.safe_url, self.connect_timeout_s, self.statement_timeout_s)
                self._engine, self.read_only, self.schema_version = opened

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
    @contextmanager
    def _unavailable(self, what: str) -> Iterator[None]:
        """Any database failure becomes StoreUnavailable with a text safe for clients: SQLite's own
        reasons (disk full, read-only) are kept, a server's (which name its host and port) are not."""
        try:
            yield
        except (StoreError, StoreUnavailable):
            raise
        except SQLAlchemyError as e:
            reason = reason_of(e) if self.sqlite else "the database server does not answer"
            raise StoreUnavailable(f"cannot {what} now ({reason}); try again later") from e

    def _writable(self) -> None:
        if self.engine is not None and self.read_only:
            raise StoreUnavailable("the data directory is read-only: saved scenarios can be read, new ones "
                                   "cannot be saved")

    def _insert_ignore(self, c, table: Table, row: dict[str, Any]) -> bool:
        """INSERT that does nothing when the primary key exists; whether it inserted. One statement,
        so concurrent saves of one document never fail each other's transaction (RETURNING says what
        happened: psycopg's rowcount of an INSERT ... ON CONFLICT is not to be trusted)."""
        name = self.engine.dialect.name
        first = list(table.primary_key.columns)[0]
        if name in ("sqlite", "postgresql"):
            mod = __import__(f"sqlalchemy.dialects.{name}", fromlist=["insert"])
            stmt = mod.insert(table).values(**row).on_conflict_do_nothing().returning(first)
            return c.execute(stmt).first() is not None
        pk = and_(*(col == row[col.name] for col in table.primary_key.columns))
        return c.execute(table.insert().from_select(list(row), select(*(literal(v) for v in row.values()))
                                                    .where(~exists().where(pk)))).rowcount == 1

    def save(self, doc: Any, name: str, workspace: str = DEFAULT_WORKSPACE, listed: bool = True) -> tuple[str, bool]:
        """Store a document and (listed) list it in a workspace; returns (id, new). new: the workspace's
        list gained it (listed), or the store gained the document (not listed: the dashboard keeps every
        state it shows for its permalink, and lists only what people save). Saving again changes nothing."""
        check_workspace(workspace)
        check_name(name)
        body = canonical_json(doc)
        sid = scenario_id(body)
        self._writable()
        now = time.time()
        row = {"id": sid, "name": name[:200], "body": body, "bytes": len(body.encode()), "created_at": now}
        with self._unavailable("save the scenario"), self.engine.begin() as c:
            stored = self._insert_ignore(c, scenarios, row)
            if not stored and c.execute(select(scenarios.c.body).where(scenarios.c.id == sid)).scalar() != body:
                raise StoreError(f"scenario id {sid} collides with a different document")
            if not listed:
                return sid, stored
            new = self._insert_ignore(c, workspace_scenarios, {
                "workspace": workspace, "scenario_id": sid, "added_at": now, "pinned_at": None})
        return sid, new

    def get(self, sid: str) -> dict[str, Any] | None:
        with self._unavailable("read the scenario"), self.engine.connect() as c:
            r = c.execute(select(scenarios).where(scenarios.c.id == sid)).mappings().first()
        return dict(r) if r else None

    def _members(self):
        """The membership table; on a schema-1 database (read-only, not migrated) every scenario as an
        unpinned entry of the default workspace, as the migration would list it."""
        if self.schema_version >= 2:
            return workspace_scenarios
        s = scenarios.c
        return select(literal(DEFAULT_WORKSPACE).label("workspace"), s.id.label("scenario_id"),
                      s.created_at.label("added_at"), null().label("pinned_at")).subquery("workspace_scenarios")

    def _entries(self, workspace: str):
        m = self._members()
        return (select(scenarios.c.id, scenarios.c.name, scenarios.c.bytes, scenarios.c.created_at,
                       m.c.workspace, m.c.added_at, m.c.pinned_at)
                .join_from(m, scenarios, m.c.scenario_id == scenarios.c.id).where(m.c.workspace == workspace))

    def list(self, workspace: str = DEFAULT_WORKSPACE, limit: int = 50, offset: int = 0
             ) -> tuple[list[dict[str, Any]], int]:
        """A workspace's entries, without bodies: pinned first (in the order they were pinned), then
        newest first; and the workspace's total count."""
        check_workspace(workspace)
        m = self._members()
        q = self._entries(workspace).order_by(m.c.pinned_at.is_(None), m.c.pinned_at, m.c.added_at.desc(),
                                              scenarios.c.id)
        with self._unavailable("list the scenarios"), self.engine.connect() as c:
            rows = c.execute(q.limit(limit).offset(offset)).mappings().all()
            total = c.execute(select(func.count()).select_from(m).where(m.c.workspace == workspace)).scalar()
        return [dict(r) for r in rows], int(total or 0)

    def entry(self, workspace: str, sid: str) -> dict[str, Any] | None:
        """One entry of a workspace's list (None if that workspace does not list it)."""
        check_workspace(workspace)
        with self._unavailable("read the scenario"), self.engine.connect() as c:
            r = c.execute(self._entries(workspace).where(scenarios.c.id == sid)).mappings().first()
        return dict(r) if r else None

    def remove(self, workspace: str, sid: str) -> str:
        """Take a scenario off a workspace's list (the document itself stays): "removed", "pinned"
        (a pinned entry stays until it is unpinned) or "absent"."""
        check_workspace(workspace)
        self._writable()
        m = workspace_scenarios.c
        here = and_(m.workspace == workspace, m.scenario_id == sid)
        with self._unavailable("remove the scenario"), self.engine.begin() as c:
            if c.execute(workspace_scenarios.delete().where(here, m.pinned_at.is_(None))).rowcount == 1:
                return "removed"
            return "pinned" if c.execute(select(m.pinned_at).where(here)).first() else "absent"

    def pin(self, workspace: str, sid: str, pinned: bool = True) -> bool:
        """Pin (listing it there if it was not) or unpin a saved scenario in a workspace; False if there
        is no such scenario (pin) or the workspace does not list it (unpin). Pinning again keeps the
        first pin's time, and so the entry's place."""
        check_workspace(workspace)
        self._writable()
        m = workspace_scenarios.c
        here = and_(m.workspace == workspace, m.scenario_id == sid)
        now = time.time()
        with self._unavailable("pin the scenario"), self.engine.begin() as c:
            if not pinned:
                return c.execute(workspace_scenarios.update().where(here).values(pinned_at=None)).rowcount == 1
            if c.execute(select(scenarios.c.id).where(scenarios.c.id == sid)).first() is None:
                return False
            self._insert_ignore(c, workspace_scenarios, {
                "workspace": workspace, "scenario_id": sid, "added_at": now, "pinned_at": now})
            c.execute(workspace_scenarios.update().where(here, m.pinned_at.is_(None)).values(pinned_at=now))
        return True

    def ping(self) -> None:
        """One round trip to the database (readiness); StoreUnavailable if it does not answer."""
        with self._unavailable("reach the database"), self.engine.connect() as c:
            c.exec_driver_sql("SELECT 1").scalar()

    def integrity(self) -> str:
        with self.engine.connect() as c:
            return str(c.exec_driver_sql("PRAGMA integrity_check").scalar())


