"""The start page and health check, through the real ASGI app and the real engine."""
from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_healthz_reports_engine() -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["engine"] in ("cython", "python")


def test_start_page_marks_the_self_mapping_page() -> None:
    r = client.get("/")
    assert r.status_code == 200
    # TV-1: the built-in scenario hot-adds 128 MiB at 0x100000000 with memmap_on_memory
    assert "struct page of pfn 0x100000 lives in pfn 0x100000" in r.text
    assert "PageVmemmapSelfHosted" in r.text           # TV-4: the 2 MiB page in it is refused


def test_presets_list_machines_and_kernels() -> None:
    r = client.get("/api/v1/presets").json()
    keys = {m["key"] for m in r["machines"]}
    assert {"x86_64-4K-L4", "x86_64-4K-L5", "arm64-4K", "arm64-16K", "arm64-64K"} <= keys
    assert r["kernels"][0] == "5.13" and "6.8" in r["kernels"]
    x86 = next(m for m in r["machines"] if m["key"] == "x86_64-4K-L4")
    assert x86["vmemmap_start"] == "0xffffea0000000000" and x86["section_size"] == "128M"


def test_every_module_main_js_imports_is_preloaded() -> None:
    """The browser learns of main.js's imports, and theirs, level by level; the page names them all at
    once (modulepreload), so the first load asks for every module in one round."""
    import re
    from pathlib import Path
    js = Path(__file__).resolve().parents[2] / "static" / "js"
    seen, todo = set(), ["main.js"]
    while todo:
        name = todo.pop()
        for dep in re.findall(r'^import .* from "\./([\w-]+\.js)";$', (js / name).read_text(), re.M):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/v/[0-9a-f]+/js/([\w-]+\.js)">', client.get("/").text))
    assert len(seen) > 10 and seen == preloaded
