"""API tests go through the real ASGI stack (routing, validation, middleware, lifespan) with the real
engine and a real SQLite store in a temporary data directory."""
from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from engine.presets import DEFAULT_SCENARIO


def open_client(data_dir: Path, **kw) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, **kw)), raise_server_exceptions=False)


@pytest.fixture()
def client(tmp_path):
    with open_client(tmp_path) as c:
        yield c


@pytest.fixture()
def make_client():
    """open_client(data_dir): a fresh app over a data directory (to test restarts)."""
    return open_client


@pytest.fixture()
def default() -> dict:
    return copy.deepcopy(DEFAULT_SCENARIO)
