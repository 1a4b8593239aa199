"""The saved-scenario database: its tables, their schema version and migrations, and opening one
safely. The schema is created on first run under a lock, so several servers may start at once on an
empty database (an advisory lock on PostgreSQL, a lock on the data directory for SQLite); a corrupt,
foreign or newer database is refused (never overwritten); an SQLite file that cannot be written is
served read-only. app/store.py reads and writes through what open_database() returns."""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NamedTuple

from sqlalchemy import (Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, and_,
                        create_engine, event, exists, inspect, literal, select)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

__all__ = ["StoreError", "StoreUnavailable", "Opened", "open_database", "SCHEMA_VERSION", "ID_HEX",
           "DEFAULT_WORKSPACE", "MIGRATIONS", "meta", "scenarios", "workspace_scenarios", "reason_of"]

SCHEMA_VERSION = 2   # 1: scenarios; 2: + workspace_scenarios (lists per workspace, pins)
ID_HEX = 24          # 96 bits of sha256: ids stay short in links, collisions are checked anyway
DEFAULT_WORKSPACE = "default"

metadata = MetaData()
meta = Table("vmemscope_meta", metadata,
             Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
scenarios = Table("scenarios", metadata,
                  Column("id", String(ID_HEX), primary_key=True),
                  Column("name", String(200), nullable=False),
                  Column("body", Text, nullable=False),
                  Column("bytes", Integer, nullable=False),
                  Column("created_at", Float, nullable=False, index=True))
# one row per entry of a workspace's list; pinned_at is NULL unless a trainer pinned it there
workspace_scenarios = Table("workspace_scenarios", metadata,
                            Column("workspace", String(32), primary_key=True),
                            Column("scenario_id", String(ID_HEX), ForeignKey("scenarios.id"), primary_key=True),
                            Column("added_at", Float, nullable=False),
                            Column("pinned_at", Float, nullable=True),
                            Index("workspace_scenarios_by_time", "workspace", "added_at"))


class StoreError(RuntimeError):
    """The database cannot be used as it is (corrupt, newer schema, wrong content): refuse to start."""


class StoreUnavailable(RuntimeError):
    """The database cannot answer now (down, hung, read-only or full disk): 503 with Retry-After.
    The text is safe to show a client: it never names the host, port or password."""


SCHEMA_LOCK = 0x766D656D73636F70     # pg_advisory_xact_lock key ("vmemscop") for schema creation
def _migrate_1_to_2(c) -> None:
    """Schema 2 (workspaces): the membership table; every scenario saved before joins the default
    workspace's list, unpinned, at the time it was first saved. Idempotent, so a migration that a
    crash interrupted (before its commit) is simply done again."""
    workspace_scenarios.create(c, checkfirst=True)
    m = workspace_scenarios.c
    listed = exists().where(and_(m.workspace == DEFAULT_WORKSPACE, m.scenario_id == scenarios.c.id))
    c.execute(workspace_scenarios.insert().from_select(
        ["workspace", "scenario_id", "added_at"],
        select(literal(DEFAULT_WORKSPACE), scenarios.c.id, scenarios.c.created_at).where(~listed)))


MIGRATIONS = {1: _migrate_1_to_2}      # from version k to k + 1, run in one transaction under the schema lock


class Opened(NamedTuple):
    engine: Engine
    read_only: bool          # the data directory could not be written at start
    schema_version: int      # of the open database (1 only when opened read-only)


def open_database(url: str, safe_url: str, connect_timeout_s: float, statement_timeout_s: float) -> Opened:
    """Create the database on first run, migrate an older one; StoreError for one we must not use."""
    return _Opener(url, safe_url, connect_timeout_s, statement_timeout_s).open()


class _Opener:
    """One opening of one database: its settings, and what it found (read-only, schema version)."""

    def __init__(self, url: str, safe_url: str, connect_timeout_s: float, statement_timeout_s: float) -> None:
        self.url, self.safe_url = url, safe_url
        self.sqlite = url.startswith("sqlite")
        self.connect_timeout_s, self.statement_timeout_s = connect_timeout_s, statement_timeout_s
        self.read_only, self.schema_version = False, SCHEMA_VERSION

    def open(self) -> Opened:
        eng = self._open()
        return Opened(eng, self.read_only, self.schema_version)

    def _create_engine(self) -> Engine:
        if self.sqlite:
            return create_engine(self.url, connect_args={"timeout": self.statement_timeout_s})
        if not self.url.startswith("postgresql"):
            return create_engine(self.url, pool_pre_ping=True)
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError(f"database {self.safe_url} needs the PostgreSQL driver: "
                             "pip install 'vmemscope[postgres]'; refusing to start") from None
        # libpq's connect_timeout bounds a connection to a hung server; statement_timeout a slow query;
        # a server that stops answering mid-query is bounded by the app (app/outage.py)
        return create_engine(self.url, pool_pre_ping=True, pool_timeout=self.connect_timeout_s,
                             connect_args={"connect_timeout": max(1, round(self.connect_timeout_s)),
                                           "options": f"-c statement_timeout={int(self.statement_timeout_s * 1000)}"})

    def _open(self) -> Engine:
        sqlite = self.sqlite
        if sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        eng = self._create_engine()
        if sqlite:
            @event.listens_for(eng, "connect")
            def _pragmas(dbapi_conn, _record) -> None:      # per connection (busy_timeout, synchronous)
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={int(self.statement_timeout_s * 1000)}")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        try:
            with self._schema_lock(eng):
                self._check_and_create(eng)
        except StoreError:
            eng.dispose()
            raise
        except SQLAlchemyError as e:
            eng.dispose()
            path = self.url.split("///", 1)[-1] if sqlite else ""
            if isinstance(e, DBAPIError) and path and Path(path).is_file():
                return self._open_read_only(path, e)
            raise StoreError(f"cannot open database {self.safe_url}: {reason_of(e)}; refusing to start") from e
        return eng

    @contextmanager
    def _schema_lock(self, eng: Engine) -> Iterator[None]:
        """Serialise the look-then-create of the schema between servers starting at once: a lock on
        the SQLite file's directory, or a PostgreSQL advisory lock held by a session for the duration."""
        if self.sqlite:
            path = self.url.split("///", 1)[-1]
            if not path or path == ":memory:" or path.startswith("file:"):
                yield
                return
            fd = os.open(Path(path).parent, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)
            return
        if not self.url.startswith("postgresql"):
            yield
            return
        with eng.connect() as c:
            c.exec_driver_sql(f"SELECT pg_advisory_lock({SCHEMA_LOCK})")
            try:
                yield
            finally:
                c.exec_driver_sql(f"SELECT pg_advisory_unlock({SCHEMA_LOCK})")
                c.commit()

    def _check_and_create(self, eng: Engine) -> set[str]:
        sqlite = self.sqlite
        version = None
        with eng.connect() as c:               # look before writing anything
            if sqlite:
                ok = c.exec_driver_sql("PRAGMA quick_check").scalar()
                if ok != "ok":
                    raise StoreError(f"database {self.safe_url} fails its integrity check ({ok}); "
                                     "refusing to start (move it away or restore a backup)")
            names = set(inspect(c).get_table_names())
            if "vmemscope_meta" in names:
                version = self._version(c)
            elif names:
                raise StoreError(f"database {self.safe_url} holds tables that are not vmemscope's "
                                 f"({', '.join(sorted(names))}); refusing to start")
            c.rollback()
        if version == SCHEMA_VERSION:
            self.schema_version = version
            if sqlite:
                with eng.begin() as c:
                    c.exec_driver_sql("PRAGMA journal_mode=WAL")
            return names
        with eng.begin() as c:
            if sqlite:
                c.exec_driver_sql("PRAGMA journal_mode=WAL")
                # pysqlite begins a transaction only before DML: BEGIN here, so that the tables, the rows
                # copied into them and schema_version commit together or not at all
                c.exec_driver_sql("BEGIN IMMEDIATE")
            if version is None:
                metadata.create_all(c)
                c.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            else:
                for v in range(version, SCHEMA_VERSION):
                    MIGRATIONS[v](c)
                c.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
        self.schema_version = SCHEMA_VERSION
        return names

    def _version(self, c) -> int:
        """The schema version of an existing database; StoreError if it is missing or newer than ours."""
        v = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        if v is None or not str(v).isdigit():
            raise StoreError(f"database {self.safe_url} has no valid schema_version; refusing to start")
        if int(v) > SCHEMA_VERSION:
            raise StoreError(f"database {self.safe_url} has schema version {v}, newer than this "
                             f"vmemscope understands ({SCHEMA_VERSION}); refusing to start "
                             "(upgrade vmemscope)")
        return int(v)

    def _open_read_only(self, path: str, why: Exception) -> Engine:
        """A data directory we cannot write (read-only mount, immutable files): serve the saved
        scenarios read-only; saves answer 503. A schema-1 database cannot be migrated here: its
        scenarios are listed as the default workspace's, as the migration would list them."""
        eng = create_engine(f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true")
        try:
            with eng.connect() as c:
                v = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        except DBAPIError as e:
            eng.dispose()
            raise StoreError(f"cannot open database {self.safe_url}: {reason_of(why)}; refusing to start") from e
        if v is None or not str(v).isdigit() or int(v) > SCHEMA_VERSION:
            eng.dispose()
            raise StoreError(f"database {self.safe_url} has schema version {v}; refusing to start")
        self.read_only = True
        self.schema_version = int(v)
        return eng


def reason_of(e: BaseException) -> str:
    """The driver's one-line reason (SQLAlchemy adds SQL and a link after it)."""
    orig = getattr(e, "orig", None) or e
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
