"""Helpers of the storage suite (its conftest and tests import them): a throw-away PostgreSQL
cluster of Debian's server binaries (/usr/lib/postgresql/*/bin) on 127.0.0.1, a free port and a
temporary directory, run as the `postgres` system user (initdb refuses root)."""
from __future__ import annotations

import glob
import os
import pwd
import subprocess
import time
import uuid
from pathlib import Path

from app_server import free_port

IN_CI = os.environ.get("CI") == "true"


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
