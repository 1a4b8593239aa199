"""Fault tests run the real server as a separate process (uvicorn on 127.0.0.1) so it can be killed,
starved of disk, or refused its data directory."""
from __future__ import annotations

from pathlib import Path

import pytest

from app_server import Server


@pytest.fixture()
def servers():
    started: list[Server] = []

    def start(data_dir: Path, preexec=None, **env: str) -> Server:
        started.append(Server({"VMEMSCOPE_DATA_DIR": str(data_dir), **env}, preexec))
        return started[-1]
    yield start
    for s in started:
        s.stop()
