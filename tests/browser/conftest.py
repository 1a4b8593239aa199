"""Browser tests drive Debian's /usr/bin/chromium (never a downloaded browser) against a live
uvicorn on 127.0.0.1. Under CI=true a missing browser is an error, never a skip."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (run `make test`)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


class _Server(uvicorn.Server):
    """uvicorn.Server that signals an Event once it listens (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture(scope="session")
def live_server():
    from app.main import app
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning"))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    if not server.ready.wait(20):
        raise RuntimeError("uvicorn did not start within 20 s")
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    th.join(10)


@pytest.fixture()
def shot_dir() -> Path:
    d = Path(os.environ.get("VMEMSCOPE_TEST_OUTPUT", "test-output")) / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d
