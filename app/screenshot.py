"""Screenshots of the dashboard for docs: a private server on 127.0.0.1 (in a thread) and Debian's
Chromium driven by Playwright; the shot is taken once the page has drawn its map."""
from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import uvicorn

__all__ = ["LiveServer", "live_server", "screenshot", "CHROMIUM", "CHROMIUM_ARGS"]

CHROMIUM = os.environ.get("VMEMSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class LiveServer(uvicorn.Server):
    """uvicorn.Server that signals an Event once it listens (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@contextmanager
def live_server(app=None) -> Iterator[str]:
    """Serve the app on a free 127.0.0.1 port for the duration of the block; yields the base URL."""
    if app is None:
        from app.main import app
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = LiveServer(uvicorn.Config(app, log_level="warning"))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    try:
        if not server.ready.wait(30):
            raise RuntimeError("the server did not start within 30 s")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        th.join(10)


def _save(base: str, scenario: dict) -> str:
    """POST the scenario to the private server (stdlib urllib: no HTTP client dependency); its id."""
    req = urllib.request.Request(base + "/api/v1/scenarios", data=json.dumps(scenario).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["id"]
    except urllib.error.HTTPError as e:
        body = json.loads(e.read() or b"{}")
        raise RuntimeError(f"scenario: {body.get('message') or body.get('detail') or e}") from None


def screenshot(url: str | None, scenario: dict | None, out: str, width: int = 1280, height: int = 720,
               full_page: bool = False) -> None:
    """A PNG of the dashboard: `url` (a path such as /walkthroughs/hvo/2), or `scenario` opened by its
    saved id, or the start page."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from app.main import create_app
    from app.settings import Settings
    # a throw-away store: a screenshot shows the scenario, never the saved lists of whoever runs it
    with tempfile.TemporaryDirectory() as data, live_server(create_app(Settings(data_dir=Path(data)))) as base, \
            sync_playwright() as pw:
        path = url or "/"
        if scenario is not None:
            path = f"/?s={_save(base, scenario)}"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            resp = page.goto(base + path if path.startswith("/") else path)
            if resp is None or resp.status >= 400:
                raise RuntimeError(f"{path}: HTTP {resp.status if resp else '?'}")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out, full_page=full_page)
        finally:
            browser.close()
