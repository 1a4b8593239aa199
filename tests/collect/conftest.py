"""Fixtures of the collector tests: private sysroot trees, and the real app over a temporary data
directory (as tests/api/conftest.py)."""
from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

from sysroot_util import tree


@pytest.fixture()
def make_tree(tmp_path):
    """make_tree(name, kpageflags=True): a private copy of a sysroot tree."""
    return lambda name, kpageflags=True: tree(tmp_path, name, kpageflags)


@pytest.fixture()
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "data")), raise_server_exceptions=False) as c:
        yield c
