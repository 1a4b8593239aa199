"""`vmemscope serve` on 127.0.0.1 as its own process, for tests that kill it, starve it or share its
database (tests/faults, tests/storage)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["Server", "free_port", "ROOT"]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """Started with `env` over this process's environment; waits until uvicorn listens."""

    def __init__(self, env: dict[str, str], preexec=None) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--log-level", "info"],
            cwd=ROOT, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
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
