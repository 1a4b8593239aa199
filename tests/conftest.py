"""Shared fixtures: every engine test runs against both hot-loop implementations.

`impl` is "python" (engine/_query_py.py and the Python model) or "cython" (engine/_query_c and
engine/_replay_c). The cython parameter is skipped
only when the extensions cannot be imported on a developer machine; under CI=true a missing or
broken extension fails loudly instead.
"""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("VMEMSCOPE_TEST_OUTPUT", "test-output")
# the module-level app (browser tests, start page) must not write into the user's data directory
os.environ.setdefault("VMEMSCOPE_DATA_DIR", tempfile.mkdtemp(prefix="vmemscope-test-"))

import pytest  # noqa: E402

import engine  # noqa: E402

IN_CI = os.environ.get("CI") == "true"


def core_import_error() -> str | None:
    """None if the Cython extensions import, else why not."""
    try:
        from engine import _query_c, _replay_c  # noqa: F401
    except ImportError as e:
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="session", params=["python", "cython"])
def impl(request) -> str:
    if request.param == "cython":
        err = core_import_error()
        if err is not None:
            if IN_CI:
                pytest.fail(f"engine._query_c and engine._replay_c must be importable under CI=true ({err}); "
                            "build it with `make build-ext`", pytrace=False)
            pytest.skip(f"engine._query_c not built ({err}); run `make build-ext`")
    return request.param


@pytest.fixture()
def ev(impl):
    """ev(scenario_dict) -> EvaluatedMachine replayed with the selected implementation."""
    def run(scenario: dict):
        m = engine.evaluate(scenario, impl=impl)
        assert m.implementation == impl, f"asked for {impl}, got {m.implementation}"
        return m
    return run
