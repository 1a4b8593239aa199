"""The wheel is the image's layout: built from the checkout, installed into a fresh venv outside it,
it serves the dashboard (static files and templates found through the package), /healthz and a
figure."""
from __future__ import annotations

import json
import re
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from engine import DEFAULT_SCENARIO

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv (outside the checkout) with only the vmemscope wheel installed; the dependencies come
    from this test's environment through a path entry (no network)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(out), str(ROOT)], check=True, cwd=out, timeout=600)
    wheel = next(out.glob("vmemscope-*.whl"))
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # a plain path line: our site-packages' own .pth files (the editable vmemscope) are not run
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, timeout=300)
    return env_dir


def test_the_wheel_holds_the_assets_and_no_generated_c(installed):
    py = installed / "bin" / "python"
    where = subprocess.run([str(py), "-c", "import app, app.assets as a; print(app.__file__); print(a.STATIC); "
                            "print(a.TEMPLATES)"], capture_output=True, text=True, check=True,
                           cwd=installed).stdout.split()
    assert all(p.startswith(str(installed)) for p in where), where
    assert (Path(where[1]) / "js" / "main.js").is_file() and (Path(where[2]) / "index.html").is_file()
    assert not list(Path(where[0]).parent.parent.glob("engine/*.c"))


def test_the_installed_wheel_serves_pages_health_and_a_figure(installed, tmp_path):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = {**os.environ, "VMEMSCOPE_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([str(installed / "bin" / "vmemscope"), "serve", "--port", str(port)], cwd=tmp_path,
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        log = []
        for line in proc.stderr:
            log.append(line)
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("the server did not start: " + "".join(log))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            page = c.get("/")
            main_js = re.search(r'/static/v/[0-9a-f]+/js/main\.js', page.text)   # versioned asset URL
            assert page.status_code == 200 and main_js, page.text[:500]
            assert c.get(main_js.group(0)).status_code == 200
            assert c.get("/static/js/main.js").status_code == 200
            assert c.get("/healthz").json()["status"] == "ok"
            assert c.get("/readyz").status_code == 200
            sid = c.post("/api/v1/scenarios", content=json.dumps(DEFAULT_SCENARIO),
                         headers={"content-type": "application/json"}).json()["id"]
            fig = c.get(f"/api/v1/scenarios/{sid}/figure.svg")
            assert fig.status_code == 200 and fig.headers["content-type"].startswith("image/svg+xml")
            assert b"<svg" in fig.content[:500]
    finally:
        proc.terminate()
        proc.wait(10)
