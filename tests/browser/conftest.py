"""Browser tests drive Debian's /usr/bin/chromium (never a downloaded browser) against a live
uvicorn on 127.0.0.1. Under CI=true a missing browser is an error, never a skip."""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from app.screenshot import CHROMIUM, CHROMIUM_ARGS as ARGS
from app.screenshot import live_server as serve


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (run `make test`)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def live_server():
    with serve() as base:
        yield base


@pytest.fixture()
def shot_dir() -> Path:
    d = Path(os.environ.get("VMEMSCOPE_TEST_OUTPUT", "test-output")) / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


class Dashboard:
    """Drives the dashboard like a person (forms, buttons, mouse on the map) and waits on the page's
    own render counter (window.vmemscope.renders), never on time."""

    def __init__(self, page, base: str) -> None:
        self.page, self.base = page, base
        self.offsite: list[str] = []
        self.errors: list[str] = []
        self.expected_errors: list[str] = []    # substrings of console errors a test provokes on purpose
        page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"),
                   lambda route: (self.offsite.append(route.request.url), route.abort()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def save(self, scenario: dict) -> str:
        r = httpx.post(self.base + "/api/v1/scenarios", json=scenario, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()["id"]

    def open(self, url_or_scenario) -> None:
        url = url_or_scenario if isinstance(url_or_scenario, str) else f"/?s={self.save(url_or_scenario)}"
        self.page.goto(url if url.startswith("http") else self.base + url)
        self.page.wait_for_selector("body[data-ready=true]", timeout=20_000)

    @property
    def renders(self) -> int:
        return self.page.evaluate("window.vmemscope.renders")

    def after(self, action) -> None:
        """Run an action and wait until the map has been redrawn for it."""
        n = self.renders
        action()
        # a selector wait (not wait_for_function: the page's CSP forbids eval, as it should)
        self.page.wait_for_selector(f"body[data-renders]:not([data-renders='{n}'])", timeout=20_000)

    def window(self) -> dict:
        return self.page.evaluate("window.vmemscope.lastWindow")

    def x_of(self, pfn: float) -> tuple[float, float]:
        """Viewport coordinates of pfn on the map (from Plotly's own axis transform), scrolled into view
        as a person would."""
        return self.page.evaluate(
            """(pfn) => { const gd = document.getElementById('map'); const L = gd._fullLayout;
                 gd.scrollIntoView({block: 'center'});
                 const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
                 return [r.left + L.xaxis.l2p(pfn), r.top + r.height / 2]; }""", pfn)

    def drag_zoom(self, pfn_a: float, pfn_b: float) -> None:
        (xa, y), (xb, _) = self.x_of(pfn_a), self.x_of(pfn_b)
        m = self.page.mouse

        def drag():
            m.move(xa, y)
            m.down()
            m.move((xa + xb) / 2, y, steps=4)
            m.move(xb, y, steps=4)
            m.up()
        self.after(drag)

    def shot(self, shot_dir: Path, name: str) -> None:
        self.page.screenshot(path=str(shot_dir / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert self.offsite == [], self.offsite
        unexpected = [e for e in self.errors if not any(x in e for x in self.expected_errors)]
        assert unexpected == [], unexpected


@pytest.fixture()
def dash(page, live_server, shot_dir, request):
    page.set_viewport_size({"width": 1280, "height": 720})
    d = Dashboard(page, live_server)
    yield d
    d.shot(shot_dir, request.node.name.replace("[chromium]", ""))
    d.assert_clean()


@pytest.fixture()
def new_dashboard(browser, live_server):
    """Dashboards on fresh browser contexts (a permalink opened elsewhere), closed afterwards; on the
    session's live server unless given another base URL."""
    contexts = []

    def make(base: str | None = None, width: int = 1280, height: int = 720) -> Dashboard:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        return Dashboard(ctx.new_page(), base or live_server)
    yield make
    for ctx in contexts:
        ctx.close()
