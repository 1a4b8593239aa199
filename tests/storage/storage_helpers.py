"""Helpers of the storage suite (imported by its conftest and tests): the suite runs against SQLite and a real PostgreSQL: a throw-away cluster of Debian's
server binaries (/usr/lib/postgresql/*/bin) on 127.0.0.1, a free port and a temporary directory,
started once per session as the `postgres` system user (initdb refuses root) and removed at the end.
`make test` installs the package; under CI=true a missing PostgreSQL fails the tests, never skips."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout: float, what: str, every: float = 0.05):
    """Poll cond() until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


class PgCluster:
    """pg_ctl start/stop, and SIGSTOP/SIGCONT of every server process (a hung database)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root, self.data = bindir, root, root / "data"
        self.port = free_port()
        self.user = pwd.getpwnam("postgres")

    def _as_postgres(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        def demote() -> None:
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)
        pre = demote if os.geteuid() == 0 else None
        return subprocess.run([str(self.bindir / cmd[0]), *cmd[1:]], preexec_fn=pre, capture_output=True,
                              text=True, check=check, timeout=120, cwd="/")

    def init(self) -> None:
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._as_postgres("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--no-sync")
        self.start()

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c max_connections=200")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                          "-t", "60", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def pids(self) -> list[int]:
        master = int((self.data / "postmaster.pid").read_text().split()[0])
        kids = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                kids.append(int(stat.split("/")[2]))
        return [master, *kids]

    def signal_all(self, sig: int) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def url(self, db: str = "postgres", user: str = "postgres", password: str = "") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh empty database; its postgresql:// URL."""
        import psycopg
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class Server:
    """`vmemscope serve` on 127.0.0.1 as its own process (it can be killed)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--log-level", "info"],
            cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        for line in self.proc.stderr:                   # uvicorn says when it listens
            self.log.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise RuntimeError("server exited: " + "".join(self.log))
        self.base = f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 20) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=timeout)

    def rest_of_log(self) -> list[str]:
        """Stop the server and return everything it logged."""
        self.stop()
        self.log.extend(self.proc.stderr.readlines())
        return self.log

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
