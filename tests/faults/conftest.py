"""Fault tests run the real server as a separate process (uvicorn on 127.0.0.1) so it can be killed,
starved of disk, or refused its data directory."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Server:
    def __init__(self, data_dir: Path, preexec=None, env: dict[str, str] | None = None) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        env = dict(os.environ, VMEMSCOPE_DATA_DIR=str(data_dir), **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--log-level", "info"],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
        self.log: list[str] = []
        for line in self.proc.stderr:                   # uvicorn says when it listens
            self.log.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise RuntimeError("server exited: " + "".join(self.log))
        self.base = f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture()
def servers():
    started: list[Server] = []

    def start(data_dir: Path, preexec=None, **env: str) -> Server:
        started.append(Server(data_dir, preexec, env))
        return started[-1]
    yield start
    for s in started:
        s.stop()
