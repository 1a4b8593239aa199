"""The Dockerfile, read as the image builder would (there is no Docker daemon in CI): a pinned base,
locked dependency versions that match the development venv, Chromium and fonts for export, the
PostgreSQL driver, a HEALTHCHECK, and assets through the package (the wheel test serves them)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _lock_script():
    spec = importlib.util.spec_from_file_location("lock_requirements", ROOT / "scripts" / "lock_requirements.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stages() -> list[str]:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[1:]


def test_the_base_image_is_pinned():
    base = re.search(r"(?m)^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert all(s.startswith("${PYTHON_IMAGE}") for s in stages())


def test_the_runtime_stage_has_chromium_the_driver_a_healthcheck_and_serves_through_the_cli():
    runtime = stages()[-1]
    assert re.search(r"apt-get install [^\n]*\bchromium\b[^\n]*\bfonts-liberation\b", runtime)
    assert '-c /tmp/requirements.lock "vmemscope[postgres]"' in runtime
    assert re.search(r"(?m)^HEALTHCHECK .*\n\s+CMD .*/healthz", runtime)
    assert re.search(r'(?m)^CMD \["vmemscope", "serve"', runtime)
    assert "COPY static" not in runtime and "COPY templates" not in runtime     # they come in the wheel


def test_the_lock_file_pins_every_package_of_the_runtime_closure():
    """Every run-time dependency (as resolved in this venv) has one exact pin; the versions are the
    development venv's when the lock was written (CI's unpinned install may be newer)."""
    lock = [ln for ln in (ROOT / "requirements.lock").read_text().splitlines() if ln and not ln.startswith("#")]
    pinned = dict(ln.split("==") for ln in lock)
    assert all(re.fullmatch(r"[a-z0-9-]+==[\w.+!-]+", ln) for ln in lock), lock
    assert set(pinned) == set(_lock_script().closure("vmemscope", {"postgres"})), "run `make lock`"
    assert {"psycopg", "psycopg-binary", "fastapi", "uvicorn", "sqlalchemy", "kaleido"} <= set(pinned)
