"""Fixtures of the storage suite: a throw-away PostgreSQL cluster for the session (Debian's server
binaries, 127.0.0.1, a free port, a temporary directory, run as the `postgres` user since tests run
as root), a fresh database of each kind per test, and app servers as processes. Under CI=true a
missing PostgreSQL fails, never skips (`make test` installs it)."""
from __future__ import annotations

import glob
import pwd
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from app_server import Server
from storage_helpers import IN_CI, PgCluster


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    try:
        pwd.getpwnam("postgres")
        import psycopg  # noqa: F401
    except (KeyError, ImportError):
        return None
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = _pg_bindir()
    if bindir is None:
        why = "PostgreSQL (Debian's postgresql package, the postgres user) or psycopg is missing; `make test` installs them"
        if IN_CI:
            pytest.fail(why + " (CI=true: this must not be skipped)", pytrace=False)
        pytest.skip(why)
    root = Path(tempfile.mkdtemp(prefix="vmemscope-pg-"))
    cluster = PgCluster(bindir, root)
    cluster.init()
    yield cluster
    cluster.signal_all(signal.SIGCONT)
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    """A URL of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'scenarios.db'}"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture()
def serve(tmp_path):
    """serve(url, **env) starts a server on that database."""
    started: list[Server] = []

    def start(url: str, **env: str) -> Server:
        started.append(Server({"DATABASE_URL": url, "VMEMSCOPE_DATA_DIR": str(tmp_path / "data"), **env}))
        return started[-1]
    yield start
    for s in started:
        s.stop()
